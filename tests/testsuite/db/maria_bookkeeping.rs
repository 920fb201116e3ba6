//! MariaDB's folded bookkeeping keeps the dirty-state guarantee: a file of pure DML runs in one
//! transaction with its history row (killed or failed, nothing is applied and nothing is dirty),
//! and where DDL commits implicitly the marker says exactly how many statements persisted.

use super::{assert_code, crate_with, json};
use dbmigrate_tests::{Backend, TestDb, dbm, dbm_command};
use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The status row of version 2, after a `run` that is expected to fail.
fn failed_run(files: &[(&str, &str)]) -> (dbmigrate_tests::Fixture, TestDb, Value) {
    let fixture = crate_with("mbk", files);
    let db = TestDb::new(Backend::Mariadb, "mbk", fixture.path());
    let out = dbm(fixture.path(), &db.url, &["run"]);
    assert_code(&out, 101);
    let status = json(&dbm(fixture.path(), &db.url, &["status", "--format", "json"]))["migrations"][1].clone();
    (fixture, db, status)
}

const V1: (&str, &str) = ("V1__a.sql", "CREATE TABLE a (id INT PRIMARY KEY);\n");

#[test]
fn dml_only_file_failing_at_its_second_statement_leaves_nothing() {
    let (_f, db, status) =
        failed_run(&[V1, ("V2__rows.sql", "INSERT INTO a VALUES (1);\nINSERT INTO a VALUES (1);\n")]);
    assert_eq!(status["state"], "pending", "{status}");
    assert_eq!(db.versions(), vec![1]);
    assert_eq!(db.query("SELECT count(*) FROM a"), "0", "the first INSERT was rolled back");
}

#[test]
fn two_ddl_file_failing_at_the_second_is_dirty_at_statement_1() {
    let (_f, db, status) = failed_run(&[V1, ("V2__b.sql", "CREATE TABLE b (id INT);\nCREATE TABLE b (id INT);\n")]);
    assert_eq!((&status["state"], &status["statements_done"]), (&"dirty".into(), &1.into()), "{status}");
    assert_eq!(db.versions(), vec![1]);
    assert!(db.has_table("b"));
}

#[test]
fn dml_failing_after_the_last_ddl_is_dirty_at_that_ddl() {
    // The marker committed with the CREATE says 0: the failure sets it to what persisted.
    let sql = "CREATE TABLE b (id INT);\nINSERT INTO a VALUES (1);\nINSERT INTO a VALUES (1);\n";
    let (_f, db, status) = failed_run(&[V1, ("V2__b.sql", sql)]);
    assert_eq!((&status["state"], &status["statements_done"]), (&"dirty".into(), &1.into()), "{status}");
    assert!(db.has_table("b"));
    assert_eq!(db.query("SELECT count(*) FROM a"), "0", "the INSERTs after the DDL were rolled back");
}

#[test]
fn dml_between_ddl_persists_with_the_marker() {
    let sql = "CREATE TABLE c (id INT);\nINSERT INTO c VALUES (1);\nCREATE TABLE c (id INT);\n";
    let (_f, db, status) = failed_run(&[V1, ("V2__c.sql", sql)]);
    assert_eq!((&status["state"], &status["statements_done"]), (&"dirty".into(), &2.into()), "{status}");
    assert_eq!(db.query("SELECT count(*) FROM c"), "1");
}

#[test]
fn dml_before_a_ddl_that_fails_to_run_is_committed_and_dirty() {
    // `CREATE TABLE a` fails at run time, after the implicit commit of the INSERT before it.
    let sql = "INSERT INTO a VALUES (8);\nCREATE TABLE a (id INT);\n";
    let (_f, db, status) = failed_run(&[V1, ("V2__d.sql", sql)]);
    assert_eq!((&status["state"], &status["statements_done"]), (&"dirty".into(), &1.into()), "{status}");
    assert_eq!(db.query("SELECT count(*) FROM a"), "1");
}

#[test]
fn dml_before_a_ddl_that_does_not_parse_is_rolled_back() {
    // A syntax error stops the statement before its implicit commit: the INSERT rolls back.
    let sql = "INSERT INTO a VALUES (9);\nCREATE TABLE oops (id INT,);\n";
    let (f, db, status) = failed_run(&[V1, ("V2__e.sql", sql)]);
    assert_eq!(status["state"], "pending", "{status}");
    assert_eq!(db.query("SELECT count(*) FROM a"), "0");
    // Nothing is left behind: the corrected file applies.
    f.write("migrations/V2__e.sql", "INSERT INTO a VALUES (9);\nCREATE TABLE e (id INT);\n");
    assert_code(&dbm(f.path(), &db.url, &["run"]), 0);
    assert_eq!(db.versions(), vec![1, 2]);
}

#[test]
fn dml_only_file_killed_mid_way_leaves_nothing_applied_and_nothing_dirty() {
    let slow = "INSERT INTO a VALUES (1);\nSELECT SLEEP(5);\nINSERT INTO a VALUES (2);\n";
    let fixture = crate_with("mbk", &[V1, ("V2__slow.sql", slow)]);
    let dir = fixture.path();
    let db = TestDb::new(Backend::Mariadb, "mbk", dir);
    let url = db.url.as_str();
    assert_code(&dbm(dir, url, &["run", "--target", "1"]), 0);

    let mut child = dbm_command(dir, url, &["run"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    // Until the first INSERT is in (uncommitted rows are not visible: wait for the sleep).
    let start = Instant::now();
    let sleeping = format!(
        "SELECT count(*) FROM information_schema.processlist WHERE db = '{}' AND info LIKE 'SELECT SLEEP%'",
        db.name
    );
    while db.query(&sleeping) != "1" {
        assert!(start.elapsed() < Duration::from_secs(30), "the migration never reached its SLEEP");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let gone = format!(
        "SELECT count(*) FROM information_schema.processlist WHERE db = '{}' AND id <> CONNECTION_ID()",
        db.name
    );
    while db.query(&gone) != "0" {
        assert!(start.elapsed() < Duration::from_secs(60), "the killed run's session did not end");
        std::thread::sleep(Duration::from_millis(100));
    }

    let status = json(&dbm(dir, url, &["status", "--format", "json"]))["migrations"][1].clone();
    assert_eq!(status["state"], "pending", "{status}");
    assert_eq!(db.versions(), vec![1]);
    assert_eq!(db.query("SELECT count(*) FROM a"), "0", "the first INSERT was rolled back with the session");
}

#[test]
fn a_no_transaction_file_still_commits_statement_by_statement() {
    // The opt-out for DML a rollback cannot undo (MyISAM): each statement commits, tracked.
    let sql = "-- dbmigrate:no-transaction\nINSERT INTO a VALUES (1);\nINSERT INTO a VALUES (1);\n";
    let (_f, db, status) = failed_run(&[V1, ("V2__n.sql", sql)]);
    assert_eq!((&status["state"], &status["statements_done"]), (&"dirty".into(), &1.into()), "{status}");
    assert_eq!(db.query("SELECT count(*) FROM a"), "1");
}
