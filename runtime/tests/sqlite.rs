//! The engine on SQLite (bundled), each test in its own temp dir.
#![cfg(feature = "sqlite")]

mod common;

use common::{TestDb, quiet};
use dbmigrate_runtime::{Cause, DatabaseUrl, Engine, Error, Event, Goal, Hooks, Options, Planned};

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
    assert_eq!(
        engine.migrate(&scripts, Goal::Latest, &mut quiet).map_err(Error::from).expect("run").migrations.len(),
        1
    );
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
    let err = db
        .engine_with(options)
        .migrate(&scripts, Goal::Latest, &mut quiet)
        .map_err(Error::from)
        .expect_err("fk enforced");
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
        let r = engine.migrate(&scripts, Goal::Latest, &mut quiet).map_err(Error::from).expect("run");
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
    let r = db
        .engine()
        .migrate(&scripts, Goal::Latest, &mut quiet)
        .map_err(Error::from)
        .expect("vacuum outside a transaction");
    assert_eq!(r.migrations.len(), 2);
    assert_eq!(db.scalar("SELECT count(*) FROM refinery_schema_history"), 2);
}

/// A hook's own error type, as a deploy's backup failure would be.
#[derive(Debug, PartialEq)]
struct BackupFailed(&'static str);

/// Records the plans it sees and the events; refuses when told to.
#[derive(Default)]
struct Recorder {
    refuse: bool,
    seen: Vec<Planned>,
    finished: Vec<i64>,
}

impl Hooks for Recorder {
    type Error = BackupFailed;

    fn before_apply(&mut self, planned: &Planned) -> Result<(), BackupFailed> {
        self.seen.push(planned.clone());
        if self.refuse { Err(BackupFailed("disk full")) } else { Ok(()) }
    }

    fn on_event(&mut self, event: &Event) {
        if let Event::Finished { version, .. } = event {
            self.finished.push(*version);
        }
    }
}

/// The before-apply hook runs once, under the lock, with the plan; it is skipped when there is
/// nothing to do, and its error comes back with its own type, nothing changed.
#[test]
fn before_apply_hook_sees_the_plan_and_can_abort() {
    let db = TestDb::sqlite("hook");
    let scripts = [
        common::script(1, "a", "CREATE TABLE a (x INT);", None),
        common::script(2, "b", "CREATE TABLE b (x INT);", None),
    ];
    let mut engine = db.engine();
    let mut refusing = Recorder { refuse: true, ..Recorder::default() };
    let err = engine.migrate(&scripts, Goal::Latest, &mut refusing).expect_err("hook aborts");
    assert!(matches!(err.cause, Cause::Hook(BackupFailed("disk full"))), "{err:?}");
    assert!(err.applied.is_empty() && refusing.finished.is_empty());
    assert_eq!(engine.current_version().expect("version"), None);

    let mut hooks = Recorder::default();
    engine.migrate(&scripts, Goal::Latest, &mut hooks).expect("run");
    engine.migrate(&scripts, Goal::Latest, &mut hooks).expect("no-op run");
    let planned = Planned {
        direction: dbmigrate_runtime::Direction::Up,
        current: None,
        migrations: vec![(1, "a".to_owned()), (2, "b".to_owned())],
    };
    assert_eq!(hooks.seen, [planned]);
    assert_eq!(hooks.finished, [1, 2]);
}

/// A failure carries the migrations committed before it: those before the failing one, or
/// none when a single transaction rolled them back.
#[test]
fn a_failure_says_what_was_applied_before_it() {
    let scripts = [
        common::script(1, "a", "CREATE TABLE a (x INT);", None),
        common::script(2, "b", "CREATE TABLE b (x INT);", None),
        common::script(3, "c", "INSERT INTO no_such_table VALUES (1);", None),
    ];
    let db = TestDb::sqlite("partial");
    let err = db.engine().migrate(&scripts, Goal::Latest, &mut quiet).expect_err("v3 fails");
    let applied: Vec<i64> = err.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [1, 2]);
    assert!(!err.is_transient(), "a migration's own sql error is never transient: {err}");
    assert!(matches!(Error::from(err), Error::Migration { .. }));

    let db = TestDb::sqlite("partial_single");
    let options = Options { single_transaction: true, ..db.options() };
    let err = db.engine_with(options).migrate(&scripts, Goal::Latest, &mut quiet).expect_err("v3 fails");
    assert!(err.applied.is_empty(), "rolled back: {:?}", err.applied);
    assert_eq!(db.engine().current_version().expect("version"), None);
}

/// `Engine::lock` holds off other migrators until the guard is dropped.
#[test]
fn public_lock_holds_off_runs() {
    let db = TestDb::sqlite("publock");
    let scripts = [common::script(1, "a", "CREATE TABLE a (x INT);", None)];
    let holder = db.engine();
    let guard = holder.lock().expect("lock");
    let options = Options { lock_timeout: std::time::Duration::from_millis(200), ..db.options() };
    let err = db
        .engine_with(options.clone())
        .migrate(&scripts, Goal::Latest, &mut quiet)
        .map_err(Error::from)
        .expect_err("locked out");
    assert!(err.to_string().contains("timed out"), "{err}");
    drop(guard);
    db.engine_with(options)
        .migrate(&scripts, Goal::Latest, &mut quiet)
        .map_err(Error::from)
        .expect("runs once the lock is free");
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
    engine.migrate(&scripts[..1], Goal::Latest, &mut quiet).map_err(Error::from).expect("run");
    assert!(!engine.is_up_to_date(&known).expect("one pending"));
    assert!(engine.is_up_to_date(&known[..1]).expect("exactly the first"));
    engine.migrate(&scripts, Goal::Latest, &mut quiet).map_err(Error::from).expect("run");
    assert!(engine.is_up_to_date(&known).expect("all applied"));
    assert!(!engine.is_up_to_date(&known[..1]).expect("an applied migration has no script"));
    let edited = [known[0], (2, "b", known[1].2 ^ 1)];
    assert!(!engine.is_up_to_date(&edited).expect("checksum differs"));
    let renamed = [known[0], (2, "c", known[1].2)];
    assert!(!engine.is_up_to_date(&renamed).expect("name differs"));
}
