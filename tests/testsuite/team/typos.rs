//! A mistyped version argument never widens what a command does: every command that takes a
//! version accepts only one that exists (in the files or the history; `0` where a target is
//! meant), else exits 2 naming the nearest versions, with the database untouched.

use super::{assert_code, ok};
use dbmigrate_tests::{Backend, Fixture, TestDb, dbm, text};

const V1: i64 = 20261201131500;
const V2: i64 = 20261201131510;
const V3: i64 = 20261201131520;

/// Three applied-or-not migrations on `backend`: V1 and V2 applied, V3 pending.
fn setup(backend: Backend) -> (Fixture, TestDb) {
    let f = Fixture::new("team_typos");
    for (v, table) in [(V1, "a"), (V2, "b"), (V3, "c")] {
        f.write(&format!("migrations/V{v}__create_{table}.sql"), &format!("CREATE TABLE {table} (id INT);\n"));
        f.write(&format!("migrations/V{v}__create_{table}.down.sql"), &format!("DROP TABLE {table};\n"));
    }
    let db = TestDb::new(backend, "typos", f.path());
    ok(&f, &db, &["run", "--to", &V2.to_string()], 0);
    assert_eq!(db.versions(), [V1, V2]);
    (f, db)
}

/// The history and the tables, to compare before and after a refused command.
fn snapshot(db: &TestDb) -> (Vec<i64>, Vec<String>) {
    (db.versions(), db.tables())
}

/// Runs `args` and asserts: exit 2, nothing changed, the message names the version.
#[track_caller]
fn refused(f: &Fixture, db: &TestDb, args: &[&str]) -> String {
    let before = snapshot(db);
    let printed = assert_code(&dbm(f.path(), &db.url, args), 2);
    assert_eq!(snapshot(db), before, "{args:?} changed the database:\n{printed}");
    assert!(printed.contains("no migration has version"), "{args:?}:\n{printed}");
    printed
}

fn typos_change_nothing(backend: Backend) {
    let (f, db) = setup(backend);
    // 13 digits: one short of V2. Today this reverted everything.
    let near = "2026120113151";
    for args in [
        vec!["down", "--to", near, "--yes"],
        vec!["run", "--to", near],
        vec!["redo", "--to", near],
        vec!["stamp", near],
        vec!["show", near],
        vec!["repair", near, "--as", "pending"],
    ] {
        if args[0] == "redo" && !redo_exists(&f) {
            continue;
        }
        let printed = refused(&f, &db, &args);
        assert!(printed.contains(&format!("did you mean {V2}?")), "{args:?}:\n{printed}");
        assert!(printed.contains(&format!("{V1} (create_a)")), "{args:?} names the neighbours:\n{printed}");
    }
    // Far from anything: the neighbours, no guess.
    for args in [
        vec!["run", "--to", "123"],
        vec!["run", "--target", "123"],
        vec!["down", "--to", "123", "--yes"],
        vec!["repair", "--version", "123", "--as", "applied"],
        vec!["stamp", "99999999999999"],
    ] {
        let printed = refused(&f, &db, &args);
        assert!(!printed.contains("did you mean"), "{args:?}:\n{printed}");
        assert!(printed.contains("hint: the nearest versions:"), "{args:?}:\n{printed}");
    }
    // The JSON form of a refusal is still one document, with exit 2.
    let out = dbm(f.path(), &db.url, &["down", "--to", "123", "--yes", "--format", "json"]);
    assert_code(&out, 2);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(json["ok"], false, "{json}");
}

fn redo_exists(f: &Fixture) -> bool {
    f.cli().args(["redo", "--help"]).output().expect("redo --help").status.success()
}

fn real_versions_still_work(backend: Backend) {
    let (f, db) = setup(backend);
    ok(&f, &db, &["show", &V3.to_string()], 0);
    // The old spellings are hidden aliases that still work.
    ok(&f, &db, &["run", "--target", &V3.to_string()], 0);
    assert_eq!(db.versions(), [V1, V2, V3]);
    ok(&f, &db, &["down", "--to", &V1.to_string(), "--yes"], 0);
    assert_eq!(db.versions(), [V1]);
    ok(&f, &db, &["run", "--to", &V2.to_string()], 0);
    assert_eq!(db.versions(), [V1, V2]);
    // `0` is "before the first" for a target.
    ok(&f, &db, &["run", "--to", "0"], 0);
    assert_eq!(db.versions(), [V1, V2]);
    ok(&f, &db, &["down", "--to", "0", "--yes"], 0);
    assert_eq!(db.versions(), Vec::<i64>::new());
    ok(&f, &db, &["stamp", &V1.to_string()], 0);
    assert_eq!(db.versions(), [V1]);
    // repair: the positional version, and the old flag.
    let said = ok(&f, &db, &["repair", &V1.to_string(), "--as", "applied"], 0);
    assert!(said.contains("nothing to change"), "{said}");
    let said = ok(&f, &db, &["repair", "--version", &V1.to_string(), "--as", "applied"], 0);
    assert!(said.contains("nothing to change"), "{said}");
    // Both spellings at once is a usage error, not a guess.
    assert_code(&dbm(f.path(), &db.url, &["repair", "1", "--version", "2", "--as", "applied"]), 2);
}

/// A version only in the history (its file deleted) is a real version for show, repair, down.
fn history_only_version_is_known(backend: Backend) {
    let (f, db) = setup(backend);
    std::fs::remove_file(f.path().join(format!("migrations/V{V3}__create_c.sql"))).expect("rm");
    std::fs::remove_file(f.path().join(format!("migrations/V{V3}__create_c.down.sql"))).expect("rm");
    std::fs::remove_file(f.path().join(format!("migrations/V{V2}__create_b.sql"))).expect("rm");
    std::fs::remove_file(f.path().join(format!("migrations/V{V2}__create_b.down.sql"))).expect("rm");
    let shown = ok(&f, &db, &["show", &V2.to_string()], 0);
    assert!(shown.contains("missing") && shown.contains("create_b"), "{shown}");
    // V3 is in neither any more.
    refused(&f, &db, &["show", &V3.to_string()]);
    ok(&f, &db, &["repair", &V2.to_string(), "--as", "pending"], 0);
    assert_eq!(db.versions(), [V1]);
}

#[test]
fn sqlite_typos_change_nothing() {
    typos_change_nothing(Backend::Sqlite);
}

#[test]
fn postgres_typos_change_nothing() {
    typos_change_nothing(Backend::Postgres);
}

#[test]
fn sqlite_real_versions_still_work() {
    real_versions_still_work(Backend::Sqlite);
}

#[test]
fn mariadb_real_versions_still_work() {
    real_versions_still_work(Backend::Mariadb);
}

#[test]
fn sqlite_history_only_version_is_known() {
    history_only_version_is_known(Backend::Sqlite);
}

#[test]
fn postgres_history_only_version_is_known() {
    history_only_version_is_known(Backend::Postgres);
}
