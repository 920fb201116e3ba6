//! The engine on SQLite (bundled), each test in its own temp dir.
#![cfg(feature = "sqlite")]

mod common;

use common::TestDb;
use dbmigrate_runtime::{DatabaseUrl, Engine, Options, Target};

backend_tests!(TestDb::sqlite);

#[test]
fn single_transaction() {
    common::scenarios::single_transaction(&TestDb::sqlite("single"));
}

#[test]
fn lock_timeout() {
    let db = TestDb::sqlite("lock");
    let path = db.sqlite_path();
    common::scenarios::lock_timeout(&db, || {
        let mut p = path.into_os_string();
        p.push(".dbmigrate-lock");
        let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(p).expect("open");
        f.lock().expect("lock");
        Box::new(f)
    });
}

#[test]
fn vaultwarden_corpus() {
    common::scenarios::corpus(&TestDb::sqlite("vw"), "sqlite", Some("PRAGMA foreign_keys = OFF"));
}

#[test]
fn in_memory_database() {
    let url = DatabaseUrl::parse("sqlite::memory:", std::path::Path::new("/")).expect("url");
    let mut engine = Engine::connect(&url, Options::default()).expect("connect");
    let scripts = [common::script(1, "a", "CREATE TABLE t (x INT);", None)];
    assert_eq!(engine.run(&scripts, Target::Latest, &mut |_| {}).expect("run").migrations.len(), 1);
    assert_eq!(engine.current_version().expect("version"), Some(1));
}

#[test]
fn setup_sql_runs_outside_the_transaction() {
    // PRAGMA foreign_keys is a no-op inside a transaction: it only takes
    // effect if the set-up SQL runs before the migration's BEGIN.
    let db = TestDb::sqlite("setup");
    let scripts = [
        common::script(1, "parent", "CREATE TABLE p (id INTEGER PRIMARY KEY);", None),
        common::script(2, "child", "CREATE TABLE c (p INTEGER REFERENCES p(id)); INSERT INTO c VALUES (7);", None),
    ];
    let options = Options { setup_sql: Some("PRAGMA foreign_keys = ON".into()), ..db.options() };
    let err = db.engine_with(options).run(&scripts, Target::Latest, &mut |_| {}).expect_err("fk enforced");
    assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
}

/// The no-op run with 1,000 applied migrations applies nothing and leaves the history as it was.
/// (Its speed is measured in benches/apply.sh, not asserted here.)
#[test]
fn noop_run_with_many_applied_changes_nothing() {
    let db = TestDb::sqlite("noop");
    let scripts: Vec<_> = (1..=1000)
        .map(|v| common::script(v, &format!("m{v}"), &format!("CREATE TABLE t{v} (x INT);\n"), None))
        .collect();
    let mut engine = db.engine();
    engine.stamp(&scripts, i64::MAX).expect("stamp");
    let before = engine.history().expect("history");
    for _ in 0..3 {
        let r = engine.run(&scripts, Target::Latest, &mut |_| {}).expect("run");
        assert!(r.migrations.is_empty() && r.before == r.after && r.after == Some(1000), "{r:?}");
    }
    assert_eq!(engine.history().expect("history"), before);
}

#[test]
fn no_transaction_script() {
    // VACUUM cannot run inside a transaction.
    let db = TestDb::sqlite("notx");
    let scripts = [
        common::script(1, "t", "CREATE TABLE t (x INT);", None),
        common::script(2, "vacuum", "-- dbmigrate:no-transaction\nVACUUM;\n", None),
    ];
    let r = db.engine().run(&scripts, Target::Latest, &mut |_| {}).expect("vacuum outside a transaction");
    assert_eq!(r.migrations.len(), 2);
    assert_eq!(db.scalar("SELECT count(*) FROM refinery_schema_history"), 2);
}

/// The before-apply hook runs once, under the lock, with the plan; it is skipped when there is
/// nothing to do, and its error aborts the run with nothing changed.
#[test]
fn before_apply_hook_sees_the_plan_and_can_abort() {
    let db = TestDb::sqlite("hook");
    let scripts = [
        common::script(1, "a", "CREATE TABLE a (x INT);", None),
        common::script(2, "b", "CREATE TABLE b (x INT);", None),
    ];
    let mut engine = db.engine();
    let err = engine
        .run_hooked(&scripts, Target::Latest, &mut |_| Err("backup failed".into()), &mut |_| {})
        .expect_err("hook aborts");
    assert!(err.to_string().contains("aborted before changing anything: backup failed"), "{err}");
    assert_eq!(engine.current_version().expect("version"), None);

    let mut seen = Vec::new();
    let mut hook = |p: &dbmigrate_runtime::Planned| {
        seen.push((p.current, p.migrations.clone()));
        Ok(())
    };
    engine.run_hooked(&scripts, Target::Latest, &mut hook, &mut |_| {}).expect("run");
    engine.run_hooked(&scripts, Target::Latest, &mut hook, &mut |_| {}).expect("no-op run");
    assert_eq!(seen, [(None, vec![(1, "a".to_owned()), (2, "b".to_owned())])]);
}

/// `Engine::lock` holds off other migrators until the guard is dropped.
#[test]
fn public_lock_holds_off_runs() {
    let db = TestDb::sqlite("publock");
    let scripts = [common::script(1, "a", "CREATE TABLE a (x INT);", None)];
    let holder = db.engine();
    let guard = holder.lock().expect("lock");
    let options = Options { lock_timeout: std::time::Duration::from_millis(200), ..db.options() };
    let err = db.engine_with(options.clone()).run(&scripts, Target::Latest, &mut |_| {}).expect_err("locked out");
    assert!(err.to_string().contains("timed out"), "{err}");
    drop(guard);
    db.engine_with(options).run(&scripts, Target::Latest, &mut |_| {}).expect("runs once the lock is free");
}

/// The deploy's no-op check: true only when the history is exactly the known migrations.
#[test]
fn is_up_to_date_is_true_only_for_an_exact_history() {
    let db = TestDb::sqlite("uptodate");
    let scripts = [
        common::script(1, "a", "CREATE TABLE a (x INT);", None),
        common::script(2, "b", "CREATE TABLE b (x INT);", None),
    ];
    let known: Vec<(i64, &str, u64)> =
        scripts.iter().map(|s| (s.version, s.name.as_ref(), s.checksum().expect("checksum"))).collect();
    let mut engine = db.engine();
    assert!(engine.is_up_to_date(&[]).expect("empty database, no migrations"));
    assert!(!engine.is_up_to_date(&known).expect("nothing applied yet"));
    engine.run(&scripts[..1], Target::Latest, &mut |_| {}).expect("run");
    assert!(!engine.is_up_to_date(&known).expect("one pending"));
    assert!(engine.is_up_to_date(&known[..1]).expect("exactly the first"));
    engine.run(&scripts, Target::Latest, &mut |_| {}).expect("run");
    assert!(engine.is_up_to_date(&known).expect("all applied"));
    assert!(!engine.is_up_to_date(&known[..1]).expect("an applied migration has no script"));
    let edited = [known[0], (2, "b", known[1].2 ^ 1)];
    assert!(!engine.is_up_to_date(&edited).expect("checksum differs"));
    let renamed = [known[0], (2, "c", known[1].2)];
    assert!(!engine.is_up_to_date(&renamed).expect("name differs"));
}
