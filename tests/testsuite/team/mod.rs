//! A team's recovery paths end to end, through the real binary, real `cargo build`, real `git`
//! and real servers: a released migration edited then rehashed, a migration renumbered after a
//! developer database applied it, a late merge applied out of order, and every flag a hint names.

use dbmigrate_tests::{Backend, Fixture, TestDb, dbm, text};
use std::process::Output;

mod hints;
mod out_of_order;
mod redo;
mod rehash;
mod renumber;
mod texts;
mod typos;

/// Asserts the exit code, showing the output otherwise.
#[track_caller]
fn assert_code(out: &Output, expected: i32) -> String {
    assert_eq!(dbmigrate_tests::code(out), expected, "exit code; output:\n{}", text(out));
    text(out)
}

/// `cargo dbmigrate <args>` against `db`, expecting `code`; returns stdout and stderr.
#[track_caller]
fn ok(f: &Fixture, db: &TestDb, args: &[&str], expected: i32) -> String {
    assert_code(&dbm(f.path(), &db.url, args), expected)
}

/// `status --format json` of `db`: (version, state) per row.
fn states(f: &Fixture, db: &TestDb) -> Vec<(i64, String)> {
    let out = dbm(f.path(), &db.url, &["status", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    json["migrations"]
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| (r["version"].as_i64().expect("version"), r["state"].as_str().expect("state").to_owned()))
        .collect()
}

/// The databases a team scenario runs on: SQLite and the two servers.
fn databases(test: &str, f: &Fixture) -> Vec<TestDb> {
    [Backend::Sqlite, Backend::Postgres, Backend::Mariadb].into_iter().map(|b| TestDb::new(b, test, f.path())).collect()
}

/// Runs git in the fixture, asserting success.
#[track_caller]
fn git(f: &Fixture, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(f.path())
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
