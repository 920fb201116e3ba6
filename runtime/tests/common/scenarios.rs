//! The behaviours every backend must show, written once.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use dbmigrate_runtime::{
    Dialect, Direction, Engine, Error, Event, Goal, MigrationScript, MigrationState, Options, RepairAction, Report,
};

use super::{TestDb, quiet, script};

const H: &str = "refinery_schema_history";

fn base() -> Vec<MigrationScript<'static>> {
    vec![
        script(1, "create_t", "CREATE TABLE t (x INT);\n", Some("DROP TABLE t;\n")),
        script(
            2,
            "create_u",
            "-- a comment\nCREATE TABLE u (y INT);\nINSERT INTO u VALUES (1);\n",
            Some("DROP TABLE u;"),
        ),
        script(3, "create_w", "CREATE TABLE w (z INT);", Some("DROP TABLE w;")),
    ]
}

fn run(engine: &mut Engine, scripts: &[MigrationScript<'_>]) -> Result<Report, Error> {
    engine.migrate(scripts, Goal::Latest, &mut quiet).map_err(Error::from)
}

fn versions(report: &Report) -> Vec<i64> {
    report.migrations.iter().map(|m| m.version).collect()
}

pub fn apply_and_noop(db: &TestDb) {
    let scripts = base();
    let mut engine = db.engine();
    let mut events = Vec::new();
    let report = engine.migrate(&scripts, Goal::Latest, &mut |e: &Event| events.push(e.clone())).expect("first run");
    assert_eq!(versions(&report), vec![1, 2, 3]);
    assert_eq!((report.before, report.after), (None, Some(3)));
    assert_eq!(events.len(), 6);
    assert!(matches!(&events[0], Event::Started { version: 1, index: 0, total: 3, .. }));
    assert!(matches!(&events[5], Event::Finished { version: 3, .. }));
    assert_eq!(db.scalar("SELECT count(*) FROM u"), 1);

    let again = run(&mut db.engine(), &scripts).expect("second run");
    assert!(again.migrations.is_empty());
    assert_eq!((again.before, again.after), (Some(3), Some(3)));

    // The rows are refinery's: same checksum, RFC 3339 time.
    let history = engine.history().expect("history");
    assert_eq!(history.iter().map(|r| r.version).collect::<Vec<_>>(), vec![1, 2, 3]);
    let refinery = refinery_core::Migration::unapplied("V2__create_u", &scripts[1].up).expect("valid");
    assert_eq!(history[1].checksum, refinery.checksum().to_string());
    assert!(history[0].applied_on.ends_with('Z'));
    assert_eq!(engine.current_version().expect("version"), Some(3));
}

pub fn target_and_down_steps(db: &TestDb) {
    let scripts = base();
    let mut engine = db.engine();
    let r = engine.migrate(&scripts, Goal::UpTo(2), &mut quiet).map_err(Error::from).expect("run to 2");
    assert_eq!(versions(&r), vec![1, 2]);
    run(&mut engine, &scripts).expect("run rest");
    let r = engine.migrate(&scripts, Goal::DownSteps(2), &mut quiet).map_err(Error::from).expect("down 2");
    assert_eq!(versions(&r), vec![3, 2]);
    assert_eq!(r.direction, Direction::Down);
    assert_eq!(r.after, Some(1));
    assert!(db.table_exists("t"));
    assert!(!db.table_exists("u") && !db.table_exists("w"));
    assert_eq!(db.scalar(&format!("SELECT count(*) FROM {H}")), 1);
    // Up again re-applies them.
    assert_eq!(versions(&run(&mut engine, &scripts).expect("up again")), vec![2, 3]);
    let r = engine.migrate(&scripts, Goal::DownTo(0), &mut quiet).map_err(Error::from).expect("down to 0");
    assert_eq!(versions(&r), vec![3, 2, 1]);
    assert!(!db.table_exists("t"));
}

pub fn stamp(db: &TestDb) {
    let scripts = base();
    let mut engine = db.engine();
    let r = engine.stamp(&scripts, 2).expect("stamp");
    assert_eq!(versions(&r), vec![1, 2]);
    assert!(!db.table_exists("t"), "stamp must not run the sql");
    db.exec("CREATE TABLE t (x INT); CREATE TABLE u (y INT);");
    assert_eq!(versions(&run(&mut engine, &scripts).expect("run")), vec![3]);
}

pub fn status_states(db: &TestDb) {
    let scripts = base();
    let mut engine = db.engine();
    let before = engine.status(&scripts).expect("status on empty db");
    assert!(before.iter().all(|s| s.state == MigrationState::Pending));
    assert!(!db.table_exists(H), "status must not create the history table");
    run(&mut engine, &scripts).expect("run");
    let mut changed = scripts[1..].to_vec();
    changed[0].up = "CREATE TABLE u (y INT); -- edited".into();
    changed.push(script(4, "later", "SELECT 1;", None));
    let states: Vec<_> = engine.status(&changed).expect("status").into_iter().map(|s| (s.version, s.state)).collect();
    assert_eq!(
        states,
        vec![
            (1, MigrationState::Missing),
            (2, MigrationState::Divergent),
            (3, MigrationState::Applied),
            (4, MigrationState::Pending),
        ]
    );
    assert!(matches!(run(&mut engine, &changed), Err(Error::Divergent(f)) if f == ["V2__create_u.sql"]));
}

fn failing() -> Vec<MigrationScript<'static>> {
    vec![
        script(1, "ok", "CREATE TABLE t (x INT);", Some("DROP TABLE t;")),
        script(
            2,
            "broken",
            "CREATE TABLE v (y INT);\nINSERT INTO v VALUES (1);\n\nINSERT INTO nope VALUES (1);\nCREATE TABLE never (z INT);\n",
            Some("DROP TABLE v;"),
        ),
    ]
}

fn assert_failure(err: &Error) {
    let text = err.to_string();
    match err {
        Error::Migration { file, line, message, code, .. } => {
            assert_eq!(file, "V2__broken.sql", "{text}");
            assert_eq!(*line, Some(4), "{text}");
            assert!(message.contains("nope"), "{text}");
            assert!(code.is_some(), "{text}");
        }
        other => panic!("expected a migration error, got {other:?}"),
    }
    assert!(text.contains("V2__broken.sql") && text.contains("line 4") && text.contains("nope"), "{text}");
}

pub fn failing_statement(db: &TestDb) {
    let scripts = failing();
    let mut engine = db.engine();
    let err = run(&mut engine, &scripts).expect_err("must fail");
    assert_failure(&err);
    let history = engine.history().expect("history");
    assert_eq!(history.iter().map(|r| r.version).collect::<Vec<_>>(), vec![1]);
    assert!(db.table_exists("t"));
    assert!(!db.table_exists("never"));
    if db.dialect() == Dialect::Mysql {
        failing_mysql(db, engine, &scripts, &err);
    } else {
        assert!(!db.table_exists("v"), "nothing of the failed file may persist");
        let fixed = [scripts[0].clone(), script(2, "broken", "CREATE TABLE v (y INT);", None)];
        assert_eq!(versions(&run(&mut engine, &fixed).expect("rerun")), vec![2]);
    }
}

fn failing_mysql(db: &TestDb, mut engine: Engine, scripts: &[MigrationScript<'static>], err: &Error) {
    assert!(matches!(err, Error::Migration { dirty: true, .. }), "{err}");
    assert!(db.table_exists("v"), "mysql ddl is not transactional");
    let refused = run(&mut db.engine(), scripts).expect_err("dirty must refuse");
    // The CREATE TABLE committed on its own; the INSERT after it rolled back with the failure.
    assert!(matches!(&refused, Error::Dirty { file, done: 1, .. } if file == "V2__broken.sql"), "{refused}");
    assert!(refused.to_string().contains("repair"), "{refused}");
    let status = engine.status(scripts).expect("status");
    assert_eq!(status[1].state, MigrationState::Dirty);
    // Undo by hand, mark pending, then a fixed script applies.
    db.exec("DROP TABLE v");
    engine.repair(scripts, 2, RepairAction::AsPending).expect("repair");
    let fixed = [scripts[0].clone(), script(2, "broken", "CREATE TABLE v (y INT);", None)];
    assert_eq!(versions(&run(&mut engine, &fixed).expect("rerun")), vec![2]);
}

pub fn repair_as_applied(db: &TestDb) {
    let scripts = failing();
    let mut engine = db.engine();
    run(&mut engine, &scripts).expect_err("must fail");
    if db.dialect() == Dialect::Mysql {
        db.exec("CREATE TABLE never (z INT)");
    }
    engine.repair(&scripts, 2, RepairAction::AsApplied).expect("repair");
    let status = engine.status(&scripts).expect("status");
    assert_eq!(status[1].state, MigrationState::Applied);
    assert!(run(&mut engine, &scripts).expect("no-op").migrations.is_empty());
}

pub fn concurrency(db: &TestDb) {
    let scripts = vec![
        script(1, "create", "CREATE TABLE t (x INT);", None),
        script(2, "data", "INSERT INTO t VALUES (42);", None),
        script(3, "more", "CREATE TABLE u (y INT);", None),
    ];
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (url, scripts, barrier) = (db.url.clone(), scripts.clone(), barrier.clone());
            let options = db.options();
            std::thread::spawn(move || {
                let mut engine = Engine::connect(&url, options).expect("connect");
                barrier.wait();
                engine.migrate(&scripts, Goal::Latest, &mut quiet).map_err(Error::from).map(|r| r.migrations.len())
            })
        })
        .collect();
    let mut applied = 0;
    for h in handles {
        applied += h.join().expect("thread").expect("every run returns ok");
    }
    assert_eq!(applied, 3, "each migration applied exactly once");
    assert_eq!(db.scalar("SELECT count(*) FROM t"), 1);
    assert_eq!(db.scalar(&format!("SELECT count(*) FROM {H}")), 3);
}

pub fn down_refusals(db: &TestDb) {
    let scripts = vec![
        script(1, "a", "CREATE TABLE t (x INT);", Some("DROP TABLE t;")),
        script(2, "b", "CREATE TABLE u (y INT);", Some("-- cannot undo\n")),
        script(3, "c", "CREATE TABLE w (z INT);", None),
    ];
    let mut engine = db.engine();
    run(&mut engine, &scripts).expect("run");
    let err = engine.migrate(&scripts, Goal::DownSteps(3), &mut quiet).map_err(Error::from).expect_err("no down");
    assert!(matches!(&err, Error::NoDown(f) if f == "V3__c.sql"), "{err}");
    let mut two = scripts.clone();
    two[2].down = Some("DROP TABLE w;".into());
    let err = engine.migrate(&two, Goal::DownSteps(2), &mut quiet).map_err(Error::from).expect_err("irreversible");
    assert!(matches!(&err, Error::Irreversible(f) if f == "V2__b.sql"), "{err}");
    assert!(err.to_string().contains("V2__b.sql"));
    let mut edited = two.clone();
    edited[2].up = "CREATE TABLE w (z BIGINT);".into();
    // Unreleased, it would revert with the down recorded when it was applied: there was none.
    let err = engine.migrate(&edited, Goal::DownSteps(1), &mut quiet).map_err(Error::from).expect_err("no down");
    assert!(matches!(&err, Error::NoRecordedDown { recorded: true, .. }), "{err}");
    // Released, an edit is refused as divergent.
    edited[2].released = true;
    let err = engine.migrate(&edited, Goal::DownSteps(1), &mut quiet).map_err(Error::from).expect_err("divergent");
    assert!(matches!(&err, Error::Divergent(_)), "{err}");
    // Nothing changed by any refusal.
    assert!(db.table_exists("w"));
    assert_eq!(engine.history().expect("history").len(), 3);
}

/// Writes the history the way plain refinery would have, by hand.
fn refinery_history(db: &TestDb, scripts: &[MigrationScript<'_>], crlf: bool) {
    let int = if db.dialect() == Dialect::Postgres { "int8" } else { "BIGINT" };
    db.exec(&format!(
        "CREATE TABLE IF NOT EXISTS {H}(version {int} PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255))"
    ));
    for s in scripts {
        db.exec(&s.up);
        let text = if crlf { s.up.replace('\n', "\r\n") } else { s.up.to_string() };
        let sum = refinery_core::Migration::unapplied(&format!("V{}__{}", s.version, s.name), &text)
            .expect("valid")
            .checksum();
        db.exec(&format!(
            "INSERT INTO {H} (version, name, applied_on, checksum) VALUES ({}, '{}', '2024-05-01T10:00:00.123456789Z', '{sum}')",
            s.version, s.name
        ));
    }
}

pub fn adopt_refinery(db: &TestDb) {
    let scripts = base();
    refinery_history(db, &scripts[..2], false);
    let mut engine = db.engine();
    let status = engine.status(&scripts).expect("status");
    let states: Vec<_> = status.iter().map(|s| s.state).collect();
    assert_eq!(states, vec![MigrationState::Applied, MigrationState::Applied, MigrationState::Pending]);
    assert_eq!(versions(&run(&mut engine, &scripts).expect("run")), vec![3]);
}

pub fn crlf_is_unchanged(db: &TestDb) {
    let scripts = base();
    refinery_history(db, &scripts, true);
    let mut engine = db.engine();
    let status = engine.status(&scripts).expect("status");
    assert!(status.iter().all(|s| s.state == MigrationState::Applied), "{status:?}");
    assert!(run(&mut engine, &scripts).expect("run").migrations.is_empty());
    engine.migrate(&scripts, Goal::DownSteps(1), &mut quiet).map_err(Error::from).expect("down accepts crlf history");
}

pub fn dry_run(db: &TestDb) {
    let scripts = base();
    let mut engine = db.engine();
    let sql = engine.dry_run(&scripts, Goal::Latest).expect("dry run");
    assert!(sql[0].starts_with(&format!("CREATE TABLE IF NOT EXISTS {H}")), "{sql:?}");
    let inserts = sql.iter().filter(|s| s.starts_with(&format!("INSERT INTO {H} ("))).count();
    assert_eq!(inserts, 3, "{sql:?}");
    let t = sql.iter().position(|s| s.contains("CREATE TABLE t")).expect("t");
    let w = sql.iter().position(|s| s.contains("CREATE TABLE w")).expect("w");
    assert!(t < w);
    assert!(!db.table_exists(H) && !db.table_exists("t"), "dry run changed something");
    run(&mut engine, &scripts).expect("run");
    let down = engine.dry_run(&scripts, Goal::DownSteps(2)).expect("dry down");
    let drops: Vec<_> = down.iter().filter(|s| s.starts_with("DROP TABLE")).map(|s| s.trim_end_matches(';')).collect();
    assert_eq!(drops, ["DROP TABLE w", "DROP TABLE u"]);
    assert!(down.iter().any(|s| s == &format!("DELETE FROM {H} WHERE version = 3")), "{down:?}");
    assert!(db.table_exists("w"));
}

pub fn custom_table_and_empty_files(db: &TestDb) {
    let scripts = vec![
        script(0, "empty", "", Some("")),
        script(1, "comment_only", "-- nothing to do\n/* really */\n", None),
        script(2, "select", "CREATE TABLE t (x INT);\nSELECT 1;\nSELECT x FROM t;\n", None),
    ];
    let options = Options { table: "my_history".into(), ..db.options() };
    let mut engine = db.engine_with(options.clone());
    assert_eq!(versions(&run(&mut engine, &scripts).expect("run")), vec![0, 1, 2]);
    assert_eq!(db.scalar("SELECT count(*) FROM my_history"), 3);
    assert!(!db.table_exists(H));
    let bad = Options { table: "x; DROP TABLE t".into(), ..options };
    assert!(matches!(Engine::connect(&db.url, bad), Err(Error::TableName(_))));
}

pub fn single_transaction(db: &TestDb) {
    let scripts = failing();
    let options = Options { single_transaction: true, ..db.options() };
    let mut engine = db.engine_with(options);
    let err = run(&mut engine, &scripts).expect_err("must fail");
    assert_failure(&err);
    assert!(!db.table_exists("t"), "the whole run is one transaction");
    assert!(engine.history().expect("history").is_empty());
}

pub fn lock_timeout(db: &TestDb, hold: impl FnOnce() -> Box<dyn std::any::Any>) {
    let guard = hold();
    let options = Options { lock_timeout: Duration::from_millis(300), ..db.options() };
    let mut engine = db.engine_with(options);
    let err = run(&mut engine, &base()).expect_err("lock is held");
    assert!(matches!(err, Error::LockTimeout { .. }), "{err}");
    drop(guard);
    assert!(!db.table_exists("t") && !db.table_exists(H), "a lock timeout changes nothing");
    assert_eq!(versions(&run(&mut engine, &base()).expect("run")), vec![1, 2, 3]);
}

pub fn corpus(db: &TestDb, dir: &str, setup: Option<&str>) {
    let Some(scripts) = super::read_corpus(dir) else { return };
    assert!(scripts.len() > 40, "corpus {dir} not found or too small");
    let options = Options { setup_sql: setup.map(str::to_string), ..db.options() };
    let mut engine = db.engine_with(options.clone());
    let report = run(&mut engine, &scripts).unwrap_or_else(|e| panic!("{dir}: {e}"));
    assert_eq!(report.migrations.len(), scripts.len());
    let mut again = db.engine_with(options);
    assert!(run(&mut again, &scripts).expect("second run").migrations.is_empty());
    let status = again.status(&scripts).expect("status");
    assert!(status.iter().all(|s| s.state == MigrationState::Applied));
}

pub fn failing_down(db: &TestDb) {
    let scripts = vec![
        script(1, "a", "CREATE TABLE t (x INT);", Some("DROP TABLE t;")),
        script(2, "b", "CREATE TABLE u (y INT);", Some("DROP TABLE u;\nDROP TABLE nope;\n")),
        script(3, "c", "CREATE TABLE w (z INT);", Some("DROP TABLE w;")),
    ];
    let mut engine = db.engine();
    run(&mut engine, &scripts).expect("run");
    let err = engine.migrate(&scripts, Goal::DownTo(0), &mut quiet).map_err(Error::from).expect_err("down fails");
    match &err {
        Error::Migration { file, line, direction, .. } => {
            assert_eq!(file, "V2__b.down.sql", "{err}");
            assert_eq!(*line, Some(2), "{err}");
            assert_eq!(*direction, Direction::Down);
        }
        other => panic!("{other:?}"),
    }
    // V3 was reverted and unrecorded; V2 and V1 stay recorded.
    let recorded: Vec<i64> = engine.history().expect("history").iter().map(|r| r.version).collect();
    assert_eq!(recorded, vec![1, 2]);
    assert!(!db.table_exists("w"));
    if db.dialect() == Dialect::Mysql {
        assert!(matches!(err, Error::Migration { dirty: true, .. }), "{err}");
        assert!(!db.table_exists("u"), "mysql ddl is not transactional");
        // The down got half way: finish it by hand and record it as pending.
        engine.repair(&scripts, 2, RepairAction::AsPending).expect("repair");
        assert_eq!(engine.history().expect("history").len(), 1);
    } else {
        assert!(db.table_exists("u"), "the failed down is rolled back");
        assert_eq!(recorded, vec![1, 2]);
    }
    // A run afterwards re-applies what is missing.
    let r = run(&mut engine, &scripts).expect("run again");
    let expected = if db.dialect() == Dialect::Mysql { vec![2, 3] } else { vec![3] };
    assert_eq!(versions(&r), expected);
}

#[macro_export]
macro_rules! backend_tests {
    ($ctor:path) => {
        #[test]
        fn apply_and_noop() {
            common::scenarios::apply_and_noop(&$ctor("apply"))
        }
        #[test]
        fn target_and_down_steps() {
            common::scenarios::target_and_down_steps(&$ctor("down"))
        }
        #[test]
        fn stamp() {
            common::scenarios::stamp(&$ctor("stamp"))
        }
        #[test]
        fn status_states() {
            common::scenarios::status_states(&$ctor("status"))
        }
        #[test]
        fn failing_statement() {
            common::scenarios::failing_statement(&$ctor("fail"))
        }
        #[test]
        fn repair_as_applied() {
            common::scenarios::repair_as_applied(&$ctor("repair"))
        }
        #[test]
        fn concurrency() {
            common::scenarios::concurrency(&$ctor("conc"))
        }
        #[test]
        fn down_refusals() {
            common::scenarios::down_refusals(&$ctor("refuse"))
        }
        #[test]
        fn adopt_refinery() {
            common::scenarios::adopt_refinery(&$ctor("adopt"))
        }
        #[test]
        fn crlf_is_unchanged() {
            common::scenarios::crlf_is_unchanged(&$ctor("crlf"))
        }
        #[test]
        fn failing_down() {
            common::scenarios::failing_down(&$ctor("faildown"))
        }
        #[test]
        fn dry_run() {
            common::scenarios::dry_run(&$ctor("dry"))
        }
        #[test]
        fn custom_table_and_empty_files() {
            common::scenarios::custom_table_and_empty_files(&$ctor("custom"))
        }
    };
}

/// The deploy's no-op check answered by a server-side digest of the history: true only when
/// the history is exactly the known migrations, in any order; no history table yet is up to
/// date only when nothing is known. Returns the engine and the known list, both migrations
/// applied, for a backend's own cases.
pub fn up_to_date_digest(db: &TestDb) -> (Engine, Vec<(i64, &'static str, u64)>) {
    let scripts = [script(1, "a", "CREATE TABLE a (x INT);", None), script(2, "b_c", "CREATE TABLE b (x INT);", None)];
    let sum = |i: usize| scripts[i].checksum().expect("checksum");
    let known = vec![(1, "a", sum(0)), (2, "b_c", sum(1))];
    let mut engine = db.engine();
    assert!(engine.is_up_to_date(&[]).expect("no history table, no migrations"));
    assert!(!engine.is_up_to_date(&known).expect("no history table"));
    engine.migrate(&scripts[..1], Goal::Latest, &mut quiet).map_err(Error::from).expect("run");
    assert!(!engine.is_up_to_date(&known).expect("one pending"));
    assert!(engine.is_up_to_date(&known[..1]).expect("exactly the first"));
    engine.migrate(&scripts, Goal::Latest, &mut quiet).map_err(Error::from).expect("run");
    assert!(engine.is_up_to_date(&known).expect("all applied"));
    let reversed = [known[1], known[0]];
    assert!(engine.is_up_to_date(&reversed).expect("order of the known list does not matter"));
    assert!(!engine.is_up_to_date(&known[..1]).expect("an applied migration has no script"));
    let edited = [known[0], (2, known[1].1, known[1].2 ^ 1)];
    assert!(!engine.is_up_to_date(&edited).expect("checksum differs"));
    let renamed = [known[0], (2, "b_d", known[1].2)];
    assert!(!engine.is_up_to_date(&renamed).expect("name differs"));
    let shifted = [(1, "a 1", known[0].2), known[1]];
    assert!(!engine.is_up_to_date(&shifted).expect("a name that swallows a field"));
    (engine, known)
}
