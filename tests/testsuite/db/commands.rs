//! Every database command on every backend: the states it shows and what it changes.

use super::{assert_code, crate_with, json, on_all_backends};
use dbmigrate_tests::{Backend, TestDb, dbm, text};

on_all_backends!(
    every_command,
    dry_run_changes_nothing,
    stamp_adopts_without_running,
    reading_an_empty_database_writes_nothing,
    deleted_file_is_missing,
);

const FILES: &[(&str, &str)] = &[
    ("V1__a.sql", "CREATE TABLE a (id INT PRIMARY KEY);\nINSERT INTO a VALUES (1);\n"),
    ("V1__a.down.sql", "DROP TABLE a;\n"),
    ("V2__b.sql", "CREATE TABLE b (id INT PRIMARY KEY);\n"),
    ("V2__b.down.sql", "DROP TABLE b;\n"),
    ("V3__fill.sql", "INSERT INTO a VALUES (2);\nINSERT INTO b VALUES (1);\n"),
    ("V3__fill.down.sql", "DELETE FROM b;\nDELETE FROM a WHERE id = 2;\n"),
];

fn states(value: &serde_json::Value) -> Vec<(i64, String)> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|m| (m["version"].as_i64().expect("version"), m["state"].as_str().expect("state").to_string()))
        .collect()
}

fn every_command(backend: Backend) {
    let fixture = crate_with("cmds", FILES);
    let dir = fixture.path();
    let db = TestDb::new(backend, "cmds", dir);
    let url = db.url.as_str();

    // Fresh database: everything pending.
    assert_code(&dbm(dir, url, &["status"]), 0);
    assert_code(&dbm(dir, url, &["status", "--exit-code"]), 1);
    let status = json(&dbm(dir, url, &["status", "--format", "json"]))["migrations"].clone();
    let pending = |v: i64| (v, "pending".to_string());
    assert_eq!(states(&status), vec![pending(1), pending(2), pending(3)]);

    // run --target
    let out = dbm(dir, url, &["run", "--target", "2"]);
    assert_code(&out, 0);
    assert_eq!(db.versions(), vec![1, 2]);
    assert_eq!(db.tables(), vec!["a", "b"]);
    let out = dbm(dir, url, &["current"]);
    assert_code(&out, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 b"), "{}", text(&out));
    let current = json(&dbm(dir, url, &["current", "--format", "json"]));
    assert_eq!(current["version"], 2, "{current}");
    assert_eq!(current["name"], "b", "{current}");
    assert_code(&dbm(dir, url, &["status", "--exit-code"]), 1);

    // run (json): applies the rest.
    let out = dbm(dir, url, &["run", "--format", "json"]);
    assert_code(&out, 0);
    let _ = json(&out);
    assert_eq!(db.versions(), vec![1, 2, 3]);
    assert_eq!(db.query("SELECT count(*) FROM a"), "2");
    assert_code(&dbm(dir, url, &["status", "--exit-code"]), 0);
    let status = json(&dbm(dir, url, &["status", "--format", "json"]))["migrations"].clone();
    let applied = |v: i64| (v, "applied".to_string());
    assert_eq!(states(&status), vec![applied(1), applied(2), applied(3)]);
    assert!(status[0]["applied_on"].is_string(), "{status}");

    // A second run has nothing to do.
    let out = dbm(dir, url, &["run"]);
    assert_code(&out, 0);
    assert_eq!(db.query("SELECT count(*) FROM a"), "2");

    // history, in applied order.
    let out = dbm(dir, url, &["history"]);
    assert_code(&out, 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "a header and a line each: {stdout}");
    assert!(lines[0].starts_with("APPLIED ON") && lines[1].contains(" a") && lines[3].contains("fill"), "{stdout}");
    let history = json(&dbm(dir, url, &["history", "--format", "json"]))["migrations"].clone();
    let versions: Vec<i64> =
        history.as_array().expect("array").iter().map(|h| h["version"].as_i64().expect("v")).collect();
    assert_eq!(versions, vec![1, 2, 3]);

    // show
    let out = dbm(dir, url, &["show", "3"]);
    assert_code(&out, 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("INSERT INTO a VALUES (2);") && stdout.contains("DELETE FROM b;"), "{stdout}");
    let show = json(&dbm(dir, url, &["show", "V3", "--format", "json"]));
    assert_eq!(show["state"], "applied", "{show}");
    assert_eq!(show["up_sql"], FILES[4].1, "{show}");
    assert_eq!(show["down_sql"], FILES[5].1, "{show}");
    assert_missing_show_fails(dir, url);

    // down (one step by default), --steps, --to
    let out = dbm(dir, url, &["down"]);
    assert_code(&out, 0);
    assert_eq!(db.versions(), vec![1, 2]);
    assert_eq!(db.query("SELECT count(*) FROM a"), "1");
    let out = dbm(dir, url, &["down", "--steps", "1", "--format", "json"]);
    assert_code(&out, 0);
    let _ = json(&out);
    assert_eq!(db.versions(), vec![1]);
    assert_eq!(db.tables(), vec!["a"]);
    assert_code(&dbm(dir, url, &["run"]), 0);
    assert_eq!(db.versions(), vec![1, 2, 3]);
    assert_code(&dbm(dir, url, &["down", "--to", "1"]), 0);
    assert_eq!(db.versions(), vec![1]);
    assert_eq!(db.tables(), vec!["a"]);
    assert_code(&dbm(dir, url, &["down", "--to", "0"]), 0);
    assert_eq!(db.versions(), Vec::<i64>::new());
    assert_eq!(db.tables(), Vec::<String>::new());
    // And up again.
    assert_code(&dbm(dir, url, &["run"]), 0);
    assert_eq!(db.versions(), vec![1, 2, 3]);
}

/// `show` of an unknown version exits non-zero.
fn assert_missing_show_fails(dir: &std::path::Path, url: &str) {
    let out = dbm(dir, url, &["show", "9"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
}

fn dry_run_changes_nothing(backend: Backend) {
    let fixture = crate_with("dry", FILES);
    let dir = fixture.path();
    let db = TestDb::new(backend, "dry", dir);
    let url = db.url.as_str();

    let out = dbm(dir, url, &["run", "--dry-run"]);
    assert_code(&out, 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let a = stdout.find("CREATE TABLE a").expect("the SQL of V1");
    let b = stdout.find("CREATE TABLE b").expect("the SQL of V2");
    let history = stdout.find("INSERT INTO refinery_schema_history (").expect("the history write");
    assert!(a < history && a < b, "in order:\n{stdout}");
    assert_eq!(db.tables(), Vec::<String>::new());
    assert_eq!(db.versions(), Vec::<i64>::new());

    assert_code(&dbm(dir, url, &["run", "--target", "2"]), 0);
    let out = dbm(dir, url, &["run", "--dry-run"]);
    assert_code(&out, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("INSERT INTO a VALUES (2)"), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("CREATE TABLE a"), "{}", text(&out));
    let out = dbm(dir, url, &["down", "--to", "0", "--dry-run"]);
    assert_code(&out, 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let b = stdout.find("DROP TABLE b").expect("down of V2");
    let a = stdout.find("DROP TABLE a").expect("down of V1");
    assert!(b < a, "newest first:\n{stdout}");
    assert_eq!(db.versions(), vec![1, 2]);
    assert_eq!(db.tables(), vec!["a", "b"]);
    assert_eq!(db.query("SELECT count(*) FROM a"), "1");
}

fn stamp_adopts_without_running(backend: Backend) {
    let fixture = crate_with("stamp", FILES);
    let dir = fixture.path();
    let db = TestDb::new(backend, "stamp", dir);
    let url = db.url.as_str();
    // The schema of V1 and V2 exists already, made by other means.
    db.query("CREATE TABLE a (id INT PRIMARY KEY)");
    db.query("CREATE TABLE b (id INT PRIMARY KEY)");

    let out = dbm(dir, url, &["stamp", "2"]);
    assert_code(&out, 0);
    assert_eq!(db.versions(), vec![1, 2]);
    assert_eq!(db.query("SELECT count(*) FROM a"), "0", "V1's INSERT must not run");
    let status = json(&dbm(dir, url, &["status", "--format", "json"]))["migrations"].clone();
    assert_eq!(states(&status), vec![(1, "applied".into()), (2, "applied".into()), (3, "pending".into())]);
    assert_code(&dbm(dir, url, &["run"]), 0);
    assert_eq!(db.versions(), vec![1, 2, 3]);
    assert_eq!(db.query("SELECT count(*) FROM a"), "1");
}

/// PostgreSQL: a file marked `-- dbmigrate:no-transaction` runs outside any transaction, so
/// `CREATE INDEX CONCURRENTLY` works, and is recorded after it succeeds.
#[test]
fn pg_no_transaction_file() {
    let fixture = crate_with(
        "notx",
        &[
            ("V1__a.sql", "CREATE TABLE a (id INT, v INT);\n"),
            ("V2__idx.sql", "-- dbmigrate:no-transaction\nCREATE INDEX CONCURRENTLY a_v ON a (v);\n"),
            ("V2__idx.down.sql", "-- dbmigrate:no-transaction\nDROP INDEX CONCURRENTLY a_v;\n"),
        ],
    );
    let dir = fixture.path();
    let db = TestDb::new(Backend::Postgres, "notx", dir);
    assert_code(&dbm(dir, &db.url, &["run"]), 0);
    assert_eq!(db.versions(), vec![1, 2]);
    assert_eq!(db.query("SELECT count(*) FROM pg_indexes WHERE indexname = 'a_v'"), "1");
    assert_code(&dbm(dir, &db.url, &["down"]), 0);
    assert_eq!(db.versions(), vec![1]);
    assert_eq!(db.query("SELECT count(*) FROM pg_indexes WHERE indexname = 'a_v'"), "0");
    // It cannot be part of one transaction for the whole run: refused before anything runs.
    let out = dbm(dir, &db.url, &["run", "--single-transaction"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(db.versions(), vec![1]);
}

fn reading_an_empty_database_writes_nothing(backend: Backend) {
    let fixture = crate_with("empty", FILES);
    let dir = fixture.path();
    let db = TestDb::new(backend, "empty", dir);
    let url = db.url.as_str();
    for args in [&["status"][..], &["current"], &["history"], &["show", "1"], &["status", "--format", "json"]] {
        let out = dbm(dir, url, args);
        assert_code(&out, 0);
    }
    assert_eq!(json(&dbm(dir, url, &["history", "--format", "json"]))["migrations"].clone(), serde_json::json!([]));
    assert!(json(&dbm(dir, url, &["current", "--format", "json"]))["version"].is_null());
    assert!(!db.has_table("refinery_schema_history"), "read-only commands created the history table");
    assert_eq!(db.tables(), Vec::<String>::new());
}

fn deleted_file_is_missing(backend: Backend) {
    let fixture = crate_with("missing", FILES);
    let dir = fixture.path();
    let db = TestDb::new(backend, "missing", dir);
    let url = db.url.as_str();
    assert_code(&dbm(dir, url, &["run", "--target", "2"]), 0);
    std::fs::remove_file(dir.join("migrations/V2__b.sql")).expect("rm");
    std::fs::remove_file(dir.join("migrations/V2__b.down.sql")).expect("rm");

    let status = json(&dbm(dir, url, &["status", "--format", "json"]))["migrations"].clone();
    assert_eq!(states(&status), vec![(1, "applied".into()), (2, "missing".into()), (3, "pending".into())]);
    assert_code(&dbm(dir, url, &["status", "--exit-code"]), 1);
    // run and down refuse, naming it, and change nothing.
    for args in [&["run"][..], &["down"]] {
        let out = dbm(dir, url, args);
        assert_ne!(out.status.code(), Some(0), "{}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains('2'), "{}", text(&out));
        assert_eq!(db.versions(), vec![1, 2]);
        assert_eq!(db.tables(), vec!["a", "b"]);
    }
    // Marked pending (the table dropped by hand), the rest applies.
    db.query("DROP TABLE b");
    assert_code(&dbm(dir, url, &["repair", "--version", "2", "--as", "pending"]), 0);
    assert_eq!(db.versions(), vec![1]);
}

/// Asked for JSON, a command that fails still prints one JSON document on stdout.
#[test]
fn a_failure_asked_for_json_is_json_on_stdout() {
    let fixture = crate_with("jsonerr", FILES);
    let refused = "postgres://postgres@127.0.0.1:1/nothing";
    for args in
        [&["status", "--format", "json"][..], &["current", "--format", "json"], &["history", "--format", "json"]]
    {
        let out = dbm(fixture.path(), refused, args);
        assert_code(&out, 101);
        let doc = json(&out);
        assert_eq!(doc["ok"], false, "{doc}");
        assert!(doc["error"].as_str().is_some_and(|e| e.contains("could not connect")), "{doc}");
    }
}
