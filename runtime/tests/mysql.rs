//! The engine on a real MariaDB/MySQL server (127.0.0.1:3306, root).
#![cfg(feature = "mysql")]

mod common;

use common::{TestDb, quiet};
use dbmigrate_runtime::{Engine, Error, Goal};

backend_tests!(TestDb::mysql);

#[test]
fn lock_timeout() {
    let db = TestDb::mysql("lock");
    let name = format!("dbmigrate:{}:refinery_schema_history", db.name);
    let url = db.url.to_string();
    common::scenarios::lock_timeout(&db, || {
        use mysql::prelude::Queryable;
        let mut c = mysql::Conn::new(mysql::Opts::from_url(&url).expect("url")).expect("connect");
        let got: Option<i64> = c.query_first(format!("SELECT GET_LOCK('{name}', 5)")).expect("lock");
        assert_eq!(got, Some(1));
        Box::new(c)
    });
}

#[test]
fn vaultwarden_corpus() {
    common::scenarios::corpus(&TestDb::mysql("vw"), "mysql", Some("SET FOREIGN_KEY_CHECKS=0"));
}

#[test]
fn errors_after_the_first_result_are_not_swallowed() {
    // refinery's sync mysql driver records such a file as applied (#343).
    let db = TestDb::mysql("drain");
    let scripts = [common::script(
        1,
        "select_then_fail",
        "SELECT 1;\nSELECT 2;\nDELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT * FROM nope; END//\nDELIMITER ;\nCALL p();\n",
        None,
    )];
    let err = db.engine().migrate(&scripts, Goal::Latest, &mut quiet).map_err(Error::from).expect_err("must fail");
    match &err {
        Error::Migration { line, code, message, .. } => {
            assert_eq!(*line, Some(6), "{err}");
            assert!(code.as_deref().is_some_and(|c| c.starts_with("1146")), "{err}");
            assert!(message.contains("nope"), "{err}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn set_and_prepare_on_one_connection() {
    let db = TestDb::mysql("prep");
    let scripts = [common::script(
        1,
        "dynamic",
        "CREATE TABLE t (x INT);\nSET @s = 'ALTER TABLE t ADD COLUMN y INT';\nPREPARE st FROM @s;\nEXECUTE st;\nDEALLOCATE PREPARE st;\n# a hash comment\nINSERT INTO t (x, y) VALUES (1, 2);\n",
        None,
    )];
    db.engine().migrate(&scripts, Goal::Latest, &mut quiet).map_err(Error::from).expect("run");
    assert_eq!(db.scalar("SELECT y FROM t"), 2);
}

#[test]
fn redaction() {
    let secret = "p@ss:w/rd";
    let query_secret = "qs3cr3t";
    let urls = [
        // root has no password: the server refuses this one.
        format!("mysql://root:p%40ss%3Aw%2Frd@127.0.0.1:3306/mysql?password={query_secret}"),
        format!("mariadb://bob:p%40ss%3Aw%2Frd@127.0.0.1:1/x?sslpassword={query_secret}"),
    ];
    for text in urls {
        let url = common::parse(&text);
        let options =
            dbmigrate_runtime::Options { lock_timeout: std::time::Duration::from_secs(2), ..Default::default() };
        let err = Engine::connect(&url, options).expect_err("must fail");
        let all = format!("{url} {url:?} {err} {err:?}");
        for s in [secret, "p%40ss%3Aw%2Frd", query_secret] {
            assert!(!all.contains(s), "secret leaked: {all}");
        }
        assert!(all.contains("***"), "{all}");
    }
}

/// Transience comes from the driver's typed errors: a refused connection and a lock wait
/// timeout before anything ran may pass on a later try; a bad password, a migration's own SQL
/// error, or anything that left a migration half applied never will.
#[test]
fn transient_failures_are_told_apart() {
    let options = dbmigrate_runtime::Options { lock_timeout: std::time::Duration::from_secs(2), ..Default::default() };
    let refused = common::parse("mysql://root@127.0.0.1:1/x");
    let err = Engine::connect(&refused, options.clone()).expect_err("nothing listens");
    assert!(err.is_transient(), "{err:?}");
    let denied = common::parse("mysql://root:wrong@127.0.0.1:3306/mysql");
    let err = Engine::connect(&denied, options).expect_err("access denied");
    assert!(!err.is_transient(), "{err:?}");

    let db = TestDb::mysql("transient");
    let signal = |n: u16| format!("SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = {n}, MESSAGE_TEXT = 'wait';");
    let first = [common::script(1, "a", &signal(1205), None)];
    let err = db.engine().migrate(&first, Goal::Latest, &mut quiet).expect_err("1205");
    assert!(err.is_transient(), "nothing ran: {err}");
    let second = [common::script(1, "a", &format!("CREATE TABLE a (x INT);\n{}", signal(1205)), None)];
    let err = db.engine().migrate(&second, Goal::Latest, &mut quiet).expect_err("1205 after ddl");
    assert!(matches!(&err.cause, dbmigrate_runtime::Cause::Engine(Error::Migration { dirty: true, .. })), "{err}");
    assert!(!err.is_transient(), "half applied: {err}");
    let bad = [second[0].clone(), common::script(2, "b", "INSERT INTO no_such_table VALUES (1);", None)];
    db.engine().repair(&second, 1, dbmigrate_runtime::RepairAction::AsApplied).expect("repair");
    let err = db.engine().migrate(&bad, Goal::Latest, &mut quiet).map_err(Error::from).expect_err("1146");
    assert!(!err.is_transient(), "{err}");
}

/// The deploy's no-op check, answered in one round trip by a server-side digest of the history
/// (and the side table's marker): true only when it is exactly the known migrations, in any
/// order, with no migration half applied; no history table yet is not up to date unless
/// nothing is known.
#[test]
fn is_up_to_date_compares_a_server_side_digest() {
    let db = TestDb::mysql("uptodate_digest");
    let (mut engine, known) = common::scenarios::up_to_date_digest(&db);
    // A migration that started and did not finish leaves its marker: never up to date.
    db.exec("INSERT INTO refinery_schema_history_dbmigrate (version, direction, statements_done) VALUES (3, 'up', 1)");
    assert!(!engine.is_up_to_date(&known).expect("a progress marker"));
    db.exec("DELETE FROM refinery_schema_history_dbmigrate");
    assert!(engine.is_up_to_date(&known).expect("the marker gone"));
    // Without the side table (a history written by refinery itself) the rows alone decide.
    db.exec("DROP TABLE refinery_schema_history_dbmigrate");
    assert!(engine.is_up_to_date(&known).expect("no side table"));
    assert!(!engine.is_up_to_date(&known[..1]).expect("no side table, one row too many"));
    // A history longer than MySQL's default GROUP_CONCAT limit (1,024 bytes) still matches.
    let many: Vec<(i64, String, u64)> =
        (10..110).map(|v| (v, format!("long_migration_name_{v}"), v as u64 * 7)).collect();
    for (v, name, checksum) in &many {
        db.exec(&format!(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES ({v}, '{name}', 'x', '{checksum}')"
        ));
    }
    let mut all = known.clone();
    all.extend(many.iter().map(|(v, n, c)| (*v, n.as_str(), *c)));
    assert!(engine.is_up_to_date(&all).expect("a long history"));
    all.last_mut().expect("one").2 ^= 1;
    assert!(!engine.is_up_to_date(&all).expect("the last of a long history differs"));
}
