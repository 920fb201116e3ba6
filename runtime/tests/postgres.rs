//! The engine on a real PostgreSQL server (127.0.0.1:5432, user postgres).
#![cfg(feature = "postgres")]

mod common;

use common::{TestDb, quiet};
use dbmigrate_runtime::{Engine, Error, Goal};

backend_tests!(TestDb::postgres);

#[test]
fn single_transaction() {
    common::scenarios::single_transaction(&TestDb::postgres("single"));
}

#[test]
fn lock_timeout() {
    let db = TestDb::postgres("lock");
    let url = db.url.to_string();
    common::scenarios::lock_timeout(&db, || {
        // Hold the same advisory lock as the engine would, on another session.
        let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        let key = advisory_key();
        c.batch_execute(&format!("SELECT pg_advisory_lock({key})")).expect("lock");
        Box::new(c)
    });
}

/// The engine's key for the default table, recomputed here (FNV-1a of
/// `dbmigrate:<table>`) so a change to it is noticed: other binaries rely on it.
fn advisory_key() -> i64 {
    let h = "dbmigrate:refinery_schema_history"
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    i64::from_ne_bytes(h.to_ne_bytes())
}

#[test]
fn vaultwarden_corpus() {
    common::scenarios::corpus(&TestDb::postgres("vw"), "postgresql", None);
}

#[test]
fn no_transaction_script() {
    let db = TestDb::postgres("notx");
    let scripts = [
        common::script(1, "t", "CREATE TABLE t (x INT);", None),
        common::script(2, "idx", "-- dbmigrate:no-transaction\nCREATE INDEX CONCURRENTLY t_x ON t (x);\n", None),
    ];
    let mut engine = db.engine();
    let r = engine
        .migrate(&scripts, Goal::Latest, &mut quiet)
        .map_err(Error::from)
        .expect("concurrent index outside a transaction");
    assert_eq!(r.migrations.len(), 2);
    assert_eq!(db.scalar("SELECT count(*) FROM pg_indexes WHERE indexname = 't_x'"), 1);
    let single = dbmigrate_runtime::Options { single_transaction: true, ..db.options() };
    let other = TestDb::postgres("notx2");
    let err = other
        .engine_with(single)
        .migrate(&scripts, Goal::Latest, &mut quiet)
        .map_err(Error::from)
        .expect_err("conflict");
    assert!(matches!(err, Error::NoTransactionConflict(_)), "{err}");
}

#[test]
fn redaction() {
    let secret = "p@ss:w/rd";
    let query_secret = "qs3cr3t";
    let urls = [
        // A database that does not exist: the server answers with an error.
        format!(
            "postgres://postgres:p%40ss%3Aw%2Frd@127.0.0.1:5432/dbm_missing_db?password={query_secret}&sslmode=disable"
        ),
        // Nothing listens there: a client-side connection error.
        format!("postgresql://bob:p%40ss%3Aw%2Frd@127.0.0.1:1/x?sslpassword={query_secret}"),
    ];
    for text in urls {
        let url = common::parse(&text);
        let shown = format!("{url} {url:?}");
        let err = Engine::connect(&url, db_options()).expect_err("must fail");
        let all = format!("{shown} {err} {err:?}");
        for s in [secret, "p%40ss%3Aw%2Frd", query_secret] {
            assert!(!all.contains(s), "secret leaked: {all}");
        }
        assert!(all.contains("***"), "{all}");
    }
}

fn db_options() -> dbmigrate_runtime::Options {
    dbmigrate_runtime::Options { lock_timeout: std::time::Duration::from_secs(2), ..Default::default() }
}

#[test]
fn error_without_position_names_its_line() {
    let db = TestDb::postgres("line");
    let scripts = [common::script(
        1,
        "div",
        "CREATE TABLE t (x INT);\nINSERT INTO t VALUES (1);\nDO $$ BEGIN PERFORM 1; END $$;\nSELECT 1 / 0;\n",
        None,
    )];
    let err =
        db.engine().migrate(&scripts, Goal::Latest, &mut quiet).map_err(Error::from).expect_err("division by zero");
    match &err {
        Error::Migration { line, code, message, .. } => {
            assert_eq!(*line, Some(4), "{err}");
            assert_eq!(code.as_deref(), Some("22012"), "{err}");
            assert!(message.contains("division by zero"), "{err}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!db.table_exists("t"));
}

#[test]
fn several_concurrent_indexes_in_one_file() {
    // Sent as one multi-statement query these would share an implicit
    // transaction and fail; statement by statement they run.
    let db = TestDb::postgres("notxmany");
    let scripts = [
        common::script(1, "t", "CREATE TABLE t (x INT, y INT);", None),
        common::script(
            2,
            "idx",
            "-- dbmigrate:no-transaction\nCREATE INDEX CONCURRENTLY t_x ON t (x);\nCREATE INDEX CONCURRENTLY t_y ON t (y);\n",
            None,
        ),
    ];
    db.engine().migrate(&scripts, Goal::Latest, &mut quiet).map_err(Error::from).expect("run");
    assert_eq!(db.scalar("SELECT count(*) FROM pg_indexes WHERE tablename = 't'"), 2);
}

/// Transience comes from the driver's typed errors: a refused connection and a deadlock may
/// pass on a later try; a missing database or a migration's own SQL error never will.
#[test]
fn transient_failures_are_told_apart() {
    let refused = common::parse("postgres://postgres@127.0.0.1:1/x?sslmode=disable");
    let err = Engine::connect(&refused, db_options()).expect_err("nothing listens");
    assert!(err.is_transient(), "{err:?}");
    let missing = common::parse("postgres://postgres@127.0.0.1:5432/dbm_missing_db?sslmode=disable");
    let err = Engine::connect(&missing, db_options()).expect_err("no such database");
    assert!(!err.is_transient(), "{err:?}");

    let db = TestDb::postgres("transient");
    let bad = [common::script(1, "a", "INSERT INTO no_such_table VALUES (1);", None)];
    let err = db.engine().migrate(&bad, Goal::Latest, &mut quiet).expect_err("42P01");
    assert!(!err.is_transient(), "{err}");
    let locked = [common::script(1, "a", "DO $$ BEGIN RAISE EXCEPTION 'busy' USING ERRCODE = '55P03'; END $$;", None)];
    let err = db.engine().migrate(&locked, Goal::Latest, &mut quiet).expect_err("55P03");
    assert!(err.is_transient(), "lock not available, rolled back: {err}");
}

/// The deploy's no-op check, answered by one server-side digest of the history: true only
/// when it is exactly the known migrations (in any order); no history table yet falls back to
/// the row-by-row read.
#[test]
fn is_up_to_date_compares_a_server_side_digest() {
    let db = TestDb::postgres("uptodate_digest");
    common::scenarios::up_to_date_digest(&db);
}
