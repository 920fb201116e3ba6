//! `down` refuses, before it changes anything, when a needed down file is missing, when one is
//! empty (irreversible), or when an applied migration's file was edited after it was applied
//! and the down text it was applied with is not recorded.

use super::{assert_code, crate_with, json, on_all_backends};
use dbmigrate_tests::{Backend, TestDb, cli_bin, dbm};
use std::process::Output;

on_all_backends!(no_down_file, empty_down_is_irreversible, comment_only_down_is_irreversible, edited_after_applied);

/// V1 (its down as given), V2 and V3 reversible; all applied.
fn applied_crate(backend: Backend, test: &str, v1_down: Option<&str>) -> (dbmigrate_tests::Fixture, TestDb) {
    let mut files = vec![
        ("V1__a.sql", "CREATE TABLE a (id INT);\n"),
        ("V2__b.sql", "CREATE TABLE b (id INT);\n"),
        ("V2__b.down.sql", "DROP TABLE b;\n"),
        ("V3__c.sql", "CREATE TABLE c (id INT);\n"),
        ("V3__c.down.sql", "DROP TABLE c;\n"),
    ];
    if let Some(down) = v1_down {
        files.push(("V1__a.down.sql", down));
    }
    let fixture = crate_with(test, &files);
    let db = TestDb::new(backend, test, fixture.path());
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    assert_eq!(db.versions(), vec![1, 2, 3]);
    (fixture, db)
}

#[track_caller]
fn assert_refused(out: &Output, db: &TestDb, names: &[&str]) {
    assert_ne!(out.status.code(), Some(0), "down must refuse:\n{}", dbmigrate_tests::text(out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for name in names {
        assert!(stderr.contains(name), "names `{name}`:\n{stderr}");
    }
    assert!(!stderr.contains("Reverting"), "nothing reverted:\n{stderr}");
    assert_eq!(db.versions(), vec![1, 2, 3], "history unchanged");
    assert_eq!(db.tables(), vec!["a", "b", "c"], "schema unchanged");
}

fn no_down_file(backend: Backend) {
    let (fixture, db) = applied_crate(backend, "nodown", None);
    let dir = fixture.path();
    assert_refused(&dbm(dir, &db.url, &["down", "--to", "0"]), &db, &["V1__a"]);
    assert_refused(&dbm(dir, &db.url, &["down", "--steps", "3"]), &db, &["V1__a"]);
    let status = json(&dbm(dir, &db.url, &["status", "--format", "json"]))["migrations"].clone();
    assert_eq!(status[0]["down"], "no down file", "{status}");
    // What can be reverted still can.
    assert_code(&dbm(dir, &db.url, &["down", "--to", "1"]), 0);
    assert_eq!(db.versions(), vec![1]);
}

fn empty_down_is_irreversible(backend: Backend) {
    let (fixture, db) = applied_crate(backend, "emptydown", Some(""));
    let dir = fixture.path();
    let out = dbm(dir, &db.url, &["down", "--to", "0"]);
    assert_refused(&out, &db, &["V1__a"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("irreversible"), "{}", String::from_utf8_lossy(&out.stderr));
    let status = json(&dbm(dir, &db.url, &["status", "--format", "json"]))["migrations"].clone();
    assert!(status[0]["down"].as_str().is_some_and(|d| d.starts_with("irreversible")), "{status}");
}

fn comment_only_down_is_irreversible(backend: Backend) {
    let (fixture, db) =
        applied_crate(backend, "commentdown", Some("-- This file should undo anything in `up.sql`\n\n"));
    let dir = fixture.path();
    assert_refused(&dbm(dir, &db.url, &["down", "--to", "0"]), &db, &["V1__a"]);
    let status = json(&dbm(dir, &db.url, &["status", "--format", "json"]))["migrations"].clone();
    assert!(status[0]["down"].as_str().is_some_and(|d| d.starts_with("irreversible")), "{status}");
}

fn edited_after_applied(backend: Backend) {
    let (fixture, db) = applied_crate(backend, "edited", Some("DROP TABLE a;\n"));
    let dir = fixture.path();
    // As applied by refinery or an older dbmigrate: no down text was recorded to revert an edited
    // migration with (with one, an unreleased edit is reverted: tests/testsuite/team/redo.rs).
    db.query("DELETE FROM dbmigrate_downs");
    fixture.write("migrations/V3__c.sql", "CREATE TABLE c (id INT, x INT);\n");
    assert_refused(&dbm(dir, &db.url, &["down"]), &db, &["V3__c"]);
    let status = json(&dbm(dir, &db.url, &["status", "--format", "json"]))["migrations"].clone();
    assert_eq!(status[2]["state"], "divergent", "{status}");
    assert_ne!(dbm(dir, &db.url, &["status", "--exit-code"]).status.code(), Some(0));

    // An edit of an older file stops `down --to 0` before the newer ones are reverted.
    fixture.write("migrations/V3__c.sql", "CREATE TABLE c (id INT);\n");
    fixture.write("migrations/V1__a.sql", "CREATE TABLE a (id BIGINT);\n");
    assert_refused(&dbm(dir, &db.url, &["down", "--to", "0"]), &db, &["V1__a"]);
}

/// On a terminal `down` asks first, naming the database, and "no" changes nothing; `--yes`
/// does not ask; a script (no terminal) is not asked. The terminal is `script`'s pty.
#[test]
fn down_on_a_terminal_asks_first() {
    if std::process::Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` (util-linux) to give the command a terminal");
        return;
    }
    let fixture =
        crate_with("ask", &[("V1__a.sql", "CREATE TABLE a (id INT);\n"), ("V1__a.down.sql", "DROP TABLE a;\n")]);
    let dir = fixture.path();
    let db = TestDb::new(Backend::Sqlite, "ask", dir);
    assert_code(&dbm(dir, &db.url, &["run"]), 0);
    let on_terminal = |answer: &str, extra: &str| {
        let command = format!("{} dbmigrate down --no-backup --database-url '{}' {extra}", cli_bin().display(), db.url);
        let mut child = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(dir)
            .env("CARGO_TERM_COLOR", "never")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("script");
        use std::io::Write as _;
        child.stdin.take().expect("stdin").write_all(answer.as_bytes()).expect("answer");
        child.wait_with_output().expect("wait")
    };
    let out = on_terminal("n\n", "");
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(shown.contains("revert the newest migration of sqlite:"), "{shown}");
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert_eq!(db.versions(), vec![1], "no changes nothing");
    let out = on_terminal("", "--yes");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(db.versions(), Vec::<i64>::new());
}

/// `down --to 0` means "before the first migration": a `V0__` migration is reverted too.
#[test]
fn down_to_zero_reverts_version_zero_too() {
    let files = [
        ("V0__base.sql", "CREATE TABLE base (id INT);\n"),
        ("V0__base.down.sql", "DROP TABLE base;\n"),
        ("V1__a.sql", "CREATE TABLE a (id INT);\n"),
        ("V1__a.down.sql", "DROP TABLE a;\n"),
    ];
    let fixture = crate_with("zero", &files);
    let db = TestDb::new(Backend::Sqlite, "zero", fixture.path());
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    assert_eq!(db.versions(), vec![0, 1]);
    assert_code(&dbm(fixture.path(), &db.url, &["down", "--to", "0", "--no-backup"]), 0);
    assert_eq!(db.versions(), Vec::<i64>::new());
    assert!(!db.has_table("base") && !db.has_table("a"));
}

/// MySQL/MariaDB commit DDL implicitly, so `--single-transaction` is refused there (exit 2)
/// rather than silently not being one transaction.
#[test]
fn single_transaction_is_refused_on_mariadb() {
    let fixture = crate_with("onetx", &[("V1__a.sql", "CREATE TABLE a (id INT);\n")]);
    let db = TestDb::new(Backend::Mariadb, "onetx", fixture.path());
    for args in [&["run", "--single-transaction"][..], &["run", "--single-transaction", "--dry-run"]] {
        let out = dbm(fixture.path(), &db.url, args);
        assert_code(&out, 2);
        assert!(String::from_utf8_lossy(&out.stderr).contains("DDL commits implicitly"));
    }
    assert_eq!(db.tables(), Vec::<String>::new(), "nothing was created");
}
