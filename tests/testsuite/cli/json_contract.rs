//! The JSON contract of docs/json.md, checked against the real output: every command's
//! `--format json` document (success, failure, dry run) has the envelope with the right types
//! and exactly the keys of the documented example for that command and outcome.

use dbmigrate_tests::{Backend, Fixture, TestDb, cli_bin, dbm, text, workspace_root};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

/// (command, ok) → the keys of its documented example.
type Contract = BTreeMap<(String, bool), BTreeSet<String>>;

/// Every ```json block of docs/json.md, by command and outcome.
fn documented() -> Contract {
    let doc = std::fs::read_to_string(workspace_root().join("docs/json.md")).expect("read docs/json.md");
    let mut contract = Contract::new();
    for block in doc.split("```json\n").skip(1) {
        let body = block.split("```").next().expect("a closed block");
        let example: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("bad example ({e}):\n{body}"));
        check_envelope(&example);
        let key = (example["command"].as_str().expect("command").to_owned(), example["ok"] == true);
        contract.insert(key, keys(&example));
    }
    contract
}

fn keys(doc: &Value) -> BTreeSet<String> {
    doc.as_object().expect("an object").keys().cloned().collect()
}

/// The envelope every document has, with its types.
#[track_caller]
fn check_envelope(doc: &Value) {
    assert_eq!(doc["format_version"], 1, "{doc}");
    assert!(doc["command"].is_string(), "{doc}");
    let ok = doc["ok"].as_bool().unwrap_or_else(|| panic!("ok is not a boolean: {doc}"));
    if !ok {
        assert!(doc["error"].is_string(), "{doc}");
        assert!(doc["hints"].as_array().is_some_and(|h| h.iter().all(Value::is_string)), "{doc}");
        assert!(doc["exit_code"].as_i64().is_some_and(|c| c != 0), "{doc}");
    }
    if let Some(ms) = doc["migrations"].as_array() {
        for m in ms.iter().filter_map(|m| m.get("duration_ms")) {
            assert!(m.is_u64(), "duration_ms is not whole milliseconds: {doc}");
        }
    }
}

/// The one document on stdout of a command run with `--format json`, checked against the
/// contract; returns its (command, ok).
#[track_caller]
fn conforms(contract: &Contract, out: &Output) -> (String, bool) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "not one line of JSON:\n{}", text(out));
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(out)));
    check_envelope(&doc);
    assert_eq!(doc["ok"] == true, out.status.success(), "ok disagrees with the exit code:\n{}", text(out));
    let key = (doc["command"].as_str().expect("command").to_owned(), doc["ok"] == true);
    let expected = contract.get(&key).unwrap_or_else(|| panic!("docs/json.md has no example for {key:?}:\n{doc}"));
    assert_eq!(&keys(&doc), expected, "{key:?}: keys differ from docs/json.md:\n{doc}");
    key
}

/// `cargo dbmigrate <args>` in `dir`, without a database URL.
fn local(dir: &Path, args: &[&str]) -> Output {
    Command::new(cli_bin())
        .arg("dbmigrate")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("DATABASE_URL")
        .env_remove("CI")
        .output()
        .expect("run cargo-dbmigrate")
}

const FILES: &[(&str, &str)] = &[
    ("V1__a.sql", "CREATE TABLE a (id INT PRIMARY KEY);\n"),
    ("V1__a.down.sql", "DROP TABLE a;\n"),
    ("V2__b.sql", "CREATE TABLE b (id INT PRIMARY KEY);\n"),
    ("V2__b.down.sql", "DROP TABLE b;\n"),
];

#[test]
fn every_command_prints_the_documented_shape() {
    let contract = documented();
    let mut seen = BTreeSet::new();
    let mut check = |out: Output| seen.insert(conforms(&contract, &out));

    // The commands on files.
    let fresh = Fixture::new("contract_init");
    let build = workspace_root().join("build-support");
    let build = build.to_str().expect("utf-8 path");
    check(local(fresh.path(), &["init", "--dbmigrate-build-path", build, "--format", "json"]));
    check(local(fresh.path(), &["new", "create", "users", "--format", "json"]));
    let fixture = crate::db::crate_with("contract", FILES);
    let dir = fixture.path();
    check(local(dir, &["check", "--format", "json"]));
    check(local(dir, &["schema", "dump", "--format", "json"]));
    fixture.write("schema.sql", &format!("{}CREATE TABLE c (id INT);\n", fixture.read("schema.sql")));
    check(local(dir, &["diff", "-m", "add c", "--dry-run", "--format", "json"]));
    check(local(dir, &["verify", "--format", "json"]));
    check(local(dir, &["lint", "--format", "json"]));
    fixture.write("migrations/V3__drop.sql", "DROP TABLE a;\n");
    check(local(dir, &["lint", "--format", "json"]));
    std::fs::remove_file(dir.join("migrations/V3__drop.sql")).expect("rm");
    fixture.write("migrations/V3_broken.sql", "SELECT 1;\n");
    check(local(dir, &["check", "--format", "json"]));
    std::fs::remove_file(dir.join("migrations/V3_broken.sql")).expect("rm");
    check(local(dir, &["release", "--up-to", "1", "--format", "json"]));
    fixture.write("migrations/V0__early.sql", "CREATE TABLE e (id INT);\n");
    check(local(dir, &["renumber", "V0__early.sql", "--format", "json"]));
    for file in fixture.list("migrations").iter().filter(|f| f.contains("__early")) {
        std::fs::remove_file(dir.join("migrations").join(file)).expect("rm");
    }

    // The database commands, on SQLite.
    let db = TestDb::new(Backend::Sqlite, "contract", dir);
    let url = db.url.as_str();
    for args in [
        &["database", "create", "--format", "json"][..],
        &["run", "--dry-run", "--format", "json"],
        &["run", "--format", "json"],
        &["redo", "--yes", "--format", "json"],
        &["down", "--dry-run", "--format", "json"],
        &["down", "--format", "json"],
        &["status", "--format", "json"],
        &["current", "--format", "json"],
        &["history", "--format", "json"],
        &["show", "1", "--format", "json"],
        &["stamp", "2", "--format", "json"],
        &["repair", "--version", "2", "--as", "applied", "--format", "json"],
        &["backups", "--format", "json"],
        &["restore", "--latest", "--yes", "--format", "json"],
        &["database", "drop", "--yes", "--format", "json"],
        &["database", "reset", "--yes", "--format", "json"],
    ] {
        check(dbm(dir, url, args));
    }
    // Failures: a migration that fails, a check that finds problems, a refusal.
    fixture.write("migrations/V3__bad.sql", "INSERT INTO nope VALUES (1);\n");
    check(dbm(dir, url, &["run", "--no-backup", "--format", "json"]));
    check(dbm(dir, url, &["status", "--exit-code", "--format", "json"]));
    let refused = dbm(dir, "postgres://postgres@127.0.0.1:1/nothing", &["current", "--format", "json"]);
    check(refused);
    // verify finds the down of V3 (which does not exist) missing, and V3's up failing.
    check(local(dir, &["verify", "--all", "--format", "json"]));

    let documented: BTreeSet<_> = contract.keys().cloned().collect();
    let missing: Vec<_> = documented.difference(&seen).collect();
    assert!(missing.is_empty(), "documented but not exercised here: {missing:?}");
}
