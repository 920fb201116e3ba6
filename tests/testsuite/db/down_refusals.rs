//! `down` refuses, before it changes anything, when a needed down file is missing, when one is
//! empty (irreversible), or when an applied migration's file was edited after it was applied.

use super::{assert_code, crate_with, json, on_all_backends};
use dbmigrate_tests::{Backend, TestDb, dbm};
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
    let status = json(&dbm(dir, &db.url, &["status", "--format", "json"]));
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
    let status = json(&dbm(dir, &db.url, &["status", "--format", "json"]));
    assert!(status[0]["down"].as_str().is_some_and(|d| d.starts_with("irreversible")), "{status}");
}

fn comment_only_down_is_irreversible(backend: Backend) {
    let (fixture, db) =
        applied_crate(backend, "commentdown", Some("-- This file should undo anything in `up.sql`\n\n"));
    let dir = fixture.path();
    assert_refused(&dbm(dir, &db.url, &["down", "--to", "0"]), &db, &["V1__a"]);
    let status = json(&dbm(dir, &db.url, &["status", "--format", "json"]));
    assert!(status[0]["down"].as_str().is_some_and(|d| d.starts_with("irreversible")), "{status}");
}

fn edited_after_applied(backend: Backend) {
    let (fixture, db) = applied_crate(backend, "edited", Some("DROP TABLE a;\n"));
    let dir = fixture.path();
    fixture.write("migrations/V3__c.sql", "CREATE TABLE c (id INT, x INT);\n");
    assert_refused(&dbm(dir, &db.url, &["down"]), &db, &["V3__c"]);
    let status = json(&dbm(dir, &db.url, &["status", "--format", "json"]));
    assert_eq!(status[2]["state"], "divergent", "{status}");
    assert_ne!(dbm(dir, &db.url, &["status", "--exit-code"]).status.code(), Some(0));

    // An edit of an older file stops `down --to 0` before the newer ones are reverted.
    fixture.write("migrations/V3__c.sql", "CREATE TABLE c (id INT);\n");
    fixture.write("migrations/V1__a.sql", "CREATE TABLE a (id BIGINT);\n");
    assert_refused(&dbm(dir, &db.url, &["down", "--to", "0"]), &db, &["V1__a"]);
}
