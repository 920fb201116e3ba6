//! A statement that fails in the middle of a file. PostgreSQL and SQLite: nothing of that file
//! persists, earlier files stay applied. MariaDB (DDL commits implicitly): the migration is
//! marked dirty, the next `run` refuses, and `repair` clears it after a manual fix.

use super::{assert_code, crate_with, json};
use dbmigrate_tests::{Backend, TestDb, dbm, text};

#[test]
fn sqlite_failure_rolls_back_the_file() {
    rolls_back(Backend::Sqlite);
}

#[test]
fn pg_failure_rolls_back_the_file() {
    rolls_back(Backend::Postgres);
}

const GOOD: &str = "CREATE TABLE c (id INT);\nINSERT INTO c VALUES (1);\nINSERT INTO c VALUES (2);\n";
const BAD: &str =
    "CREATE TABLE c (id INT);\nINSERT INTO c VALUES (1);\nSELECT id FROM no_such_table;\nINSERT INTO c VALUES (2);\n";

fn failing_crate() -> dbmigrate_tests::Fixture {
    crate_with(
        "fail",
        &[("V1__a.sql", "CREATE TABLE a (id INT);\n"), ("V2__c.sql", BAD), ("V2__c.down.sql", "DROP TABLE c;\n")],
    )
}

#[track_caller]
fn assert_reported(out: &std::process::Output) {
    assert_code(out, 101);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no_such_table"), "the database's message:\n{stderr}");
    assert!(stderr.contains("V2__c.sql"), "the file:\n{stderr}");
    assert!(stderr.contains("line 3"), "the line:\n{stderr}");
}

fn rolls_back(backend: Backend) {
    let fixture = failing_crate();
    let dir = fixture.path();
    let db = TestDb::new(backend, "fail", dir);
    let url = db.url.as_str();

    assert_reported(&dbm(dir, url, &["run"]));
    assert_eq!(db.versions(), vec![1], "V1 stays applied, V2 is not recorded");
    assert_eq!(db.tables(), vec!["a"], "nothing of V2 persists");
    let status = json(&dbm(dir, url, &["status", "--format", "json"]))["migrations"].clone();
    assert_eq!(status[1]["state"], "pending", "{status}");

    // The same again, then fixed.
    assert_reported(&dbm(dir, url, &["run"]));
    assert_eq!(db.tables(), vec!["a"]);
    fixture.write("migrations/V2__c.sql", GOOD);
    assert_code(&dbm(dir, url, &["run"]), 0);
    assert_eq!(db.versions(), vec![1, 2]);
    assert_eq!(db.query("SELECT count(*) FROM c"), "2");
}

#[test]
fn maria_failure_leaves_dirty_marker_and_repair_clears_it() {
    let fixture = failing_crate();
    let dir = fixture.path();
    let db = TestDb::new(Backend::Mariadb, "fail", dir);
    let url = db.url.as_str();

    assert_reported(&dbm(dir, url, &["run"]));
    assert_eq!(db.versions(), vec![1], "a half-applied migration is never recorded as applied");
    let status = json(&dbm(dir, url, &["status", "--format", "json"]))["migrations"].clone();
    assert_eq!(status[1]["state"], "dirty", "{status}");
    let out = dbm(dir, url, &["status", "--exit-code"]);
    assert_ne!(out.status.code(), Some(0), "dirty is a problem for --exit-code:\n{}", text(&out));

    // The next run refuses, changing nothing, and says how to fix it.
    let out = dbm(dir, url, &["run"]);
    assert_code(&out, 101);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("V2__c") && stderr.contains("repair"), "{stderr}");
    // The CREATE TABLE committed on its own; the INSERT after it shared the failed transaction.
    assert_eq!(db.query("SELECT count(*) FROM c"), "0");

    // Manual fix: undo the half-applied part, correct the file, mark it pending.
    db.query("DROP TABLE c");
    fixture.write("migrations/V2__c.sql", GOOD);
    assert_code(&dbm(dir, url, &["repair", "--version", "2", "--as", "pending"]), 0);
    let status = json(&dbm(dir, url, &["status", "--format", "json"]))["migrations"].clone();
    assert_eq!(status[1]["state"], "pending", "{status}");
    assert_code(&dbm(dir, url, &["run"]), 0);
    assert_eq!(db.versions(), vec![1, 2]);
    assert_eq!(db.query("SELECT count(*) FROM c"), "2");
    assert_code(&dbm(dir, url, &["status", "--exit-code"]), 0);
}

#[test]
fn maria_repair_as_applied_after_fixing_forward() {
    let fixture = failing_crate();
    let dir = fixture.path();
    let db = TestDb::new(Backend::Mariadb, "failfwd", dir);
    let url = db.url.as_str();

    assert_reported(&dbm(dir, url, &["run"]));
    // Fixed forward by hand: the rest of the file's work done manually.
    db.query("INSERT INTO c VALUES (1), (2)");
    fixture.write("migrations/V2__c.sql", GOOD);
    assert_code(&dbm(dir, url, &["repair", "--version", "2", "--as", "applied"]), 0);
    assert_eq!(db.versions(), vec![1, 2]);
    let out = dbm(dir, url, &["run"]);
    assert_code(&out, 0);
    assert_eq!(db.query("SELECT count(*) FROM c"), "2", "run re-applied nothing");
    assert_code(&dbm(dir, url, &["status", "--exit-code"]), 0);
}

/// `--single-transaction`: a failure in the last file leaves nothing of the whole run.
fn single_transaction_rolls_back_everything(backend: Backend) {
    let fixture = crate_with(
        "failst",
        &[
            ("V1__a.sql", "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\n"),
            ("V2__b.sql", "CREATE TABLE b (id INT);\n"),
            ("V3__c.sql", BAD),
        ],
    );
    let dir = fixture.path();
    let db = TestDb::new(backend, "failst", dir);
    let out = dbm(dir, &db.url, &["run", "--single-transaction"]);
    assert_code(&out, 101);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no_such_table") && stderr.contains("V3__c.sql"), "{stderr}");
    assert_eq!(db.versions(), Vec::<i64>::new());
    assert_eq!(db.tables(), Vec::<String>::new());
    fixture.write("migrations/V3__c.sql", GOOD);
    assert_code(&dbm(dir, &db.url, &["run", "--single-transaction"]), 0);
    assert_eq!(db.versions(), vec![1, 2, 3]);
}

#[test]
fn sqlite_single_transaction_rolls_back_everything() {
    single_transaction_rolls_back_everything(Backend::Sqlite);
}

#[test]
fn pg_single_transaction_rolls_back_everything() {
    single_transaction_rolls_back_everything(Backend::Postgres);
}

/// A long list of what was done before a failure is summarised (`-v` would show all of it).
#[test]
fn a_long_list_before_a_failure_is_summarised() {
    let fixture = crate_with("long", &[]);
    for v in 1..=12 {
        fixture.write(&format!("migrations/V{v}__t{v}.sql"), &format!("CREATE TABLE t{v} (id INT);\n"));
    }
    fixture.write("migrations/V13__bad.sql", "INSERT INTO nope VALUES (1);\n");
    let db = TestDb::new(Backend::Sqlite, "long", fixture.path());
    let out = dbm(fixture.path(), &db.url, &["run", "--no-backup"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("applied before the failure: 12 migrations, V1__t1 … V12__t12 (-v lists them all)"),
        "{stderr}"
    );
    let out = dbm(fixture.path(), &db.url, &["run", "--no-backup", "-v"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was applied"), "{}", text(&out));
}

/// A no-transaction file whose second statement fails (PostgreSQL, SQLite): the first stays
/// applied, so the migration is dirty; `run` refuses naming `repair`, which clears it.
fn no_transaction_failure_is_dirty(backend: Backend) {
    const NOTX: &str = "-- dbmigrate:no-transaction\nCREATE TABLE c (id INT);\nSELECT id FROM no_such_table;\n";
    let fixture = crate_with("failnotx", &[("V1__a.sql", "CREATE TABLE a (id INT);\n"), ("V2__c.sql", NOTX)]);
    let dir = fixture.path();
    let db = TestDb::new(backend, "failnotx", dir);
    let url = db.url.as_str();

    let out = dbm(dir, url, &["run", "--no-backup"]);
    assert_code(&out, 101);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no_such_table") && stderr.contains("line 3"), "{stderr}");
    assert!(stderr.contains("half applied") && stderr.contains("repair 2 --as"), "{stderr}");
    assert!(!stderr.contains("retrying") && !stderr.contains("before the failure: none\n"), "{stderr}");
    assert_eq!(db.versions(), vec![1]);
    let status = json(&dbm(dir, url, &["status", "--format", "json"]))["migrations"].clone();
    assert_eq!((&status[1]["state"], &status[1]["statements_done"]), (&"dirty".into(), &1.into()), "{status}");

    let out = dbm(dir, url, &["run"]);
    assert_code(&out, 101);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("V2__c.sql") && stderr.contains("repair 2 --as"), "{stderr}");

    // Fixed forward by hand: the file's remaining work is done, the file corrected.
    fixture.write("migrations/V2__c.sql", "-- dbmigrate:no-transaction\nCREATE TABLE c (id INT);\n");
    assert_code(&dbm(dir, url, &["repair", "--version", "2", "--as", "applied"]), 0);
    assert_eq!(json(&dbm(dir, url, &["status", "--format", "json"]))["migrations"].clone()[1]["state"], "applied");
    assert_code(&dbm(dir, url, &["run"]), 0);
    assert_eq!(db.versions(), vec![1, 2]);
    assert_code(&dbm(dir, url, &["status", "--exit-code"]), 0);
}

#[test]
fn pg_no_transaction_failure_is_dirty() {
    no_transaction_failure_is_dirty(Backend::Postgres);
}

#[test]
fn sqlite_no_transaction_failure_is_dirty() {
    no_transaction_failure_is_dirty(Backend::Sqlite);
}

/// A no-transaction file whose first statement fails changed nothing: not dirty, still pending.
#[test]
fn pg_no_transaction_first_statement_failure_is_clean() {
    let notx = "-- dbmigrate:no-transaction\nSELECT id FROM no_such_table;\nCREATE TABLE c (id INT);\n";
    let fixture = crate_with("notxfirst", &[("V1__c.sql", notx)]);
    let db = TestDb::new(Backend::Postgres, "notxfirst", fixture.path());
    assert_code(&dbm(fixture.path(), &db.url, &["run", "--no-backup"]), 101);
    let status = json(&dbm(fixture.path(), &db.url, &["status", "--format", "json"]))["migrations"].clone();
    assert_eq!(status[0]["state"], "pending", "{status}");
}
