//! SQLite URLs mean what they say: `?mode=ro` never writes, `?mode=rw` never creates, and the
//! commands that only read (`status`, `current`, `history`, `show`, `backups`) never create a
//! database file: a mistyped path is an error naming it, not an empty database reported as
//! "nothing applied".

use super::{assert_code, crate_with};
use dbmigrate_tests::{Fixture, dbm, text};
use std::path::Path;

fn fixture(name: &str) -> Fixture {
    crate_with(
        name,
        &[
            ("V1__a.sql", "CREATE TABLE a (id INT);\n"),
            ("V1__a.down.sql", "DROP TABLE a;\n"),
            ("V2__b.sql", "CREATE TABLE b (id INT);\n"),
            ("V2__b.down.sql", "DROP TABLE b;\n"),
        ],
    )
}

/// The tables of the file, less dbmigrate's own bookkeeping (`dbmigrate_*`).
fn tables(db: &Path) -> String {
    let out = std::process::Command::new("sqlite3").arg(db).arg(".tables").output().expect("sqlite3");
    let names = String::from_utf8_lossy(&out.stdout);
    names.split_whitespace().filter(|t| !t.starts_with("dbmigrate_")).collect::<Vec<_>>().join(" ")
}

#[test]
fn read_only_commands_never_create_the_file() {
    let fixture = fixture("ro_cmds");
    let dir = fixture.path();
    let db = dir.join("mistyped.db");
    let url = format!("sqlite:{}", db.display());
    for args in [&["status"][..], &["current"], &["history"], &["show", "1"], &["status", "--format", "json"]] {
        let out = dbm(dir, &url, args);
        let all = text(&out);
        assert_code(&out, 101);
        assert!(all.contains(&format!("the sqlite database {} does not exist", db.display())), "{args:?}:\n{all}");
        assert!(all.contains("hint: `cargo dbmigrate run` creates it"), "{args:?}:\n{all}");
        assert!(!db.exists(), "{args:?} created {}", db.display());
    }
    let out = dbm(dir, &url, &["backups"]);
    assert_code(&out, 0);
    assert!(!db.exists(), "backups created {}", db.display());
    // The hint, followed.
    assert_code(&dbm(dir, &url, &["run", "--no-backup"]), 0);
    let out = dbm(dir, &url, &["current"]);
    assert_code(&out, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains('2'), "{}", text(&out));
}

#[test]
fn mode_ro_never_writes() {
    let fixture = fixture("mode_ro");
    let dir = fixture.path();
    let db = dir.join("app.db");
    let url = format!("sqlite:{}", db.display());
    assert_code(&dbm(dir, &url, &["run", "--target", "1", "--no-backup"]), 0);
    let before = std::fs::read(&db).expect("db");
    let ro = format!("{url}?mode=ro");
    let out = dbm(dir, &ro, &["run", "--no-backup"]);
    assert_code(&out, 101);
    let all = text(&out);
    assert!(all.contains("opens the database read-only (mode=ro) and 1 migration(s) would change it"), "{all}");
    assert!(all.contains("hint: drop `?mode=ro` from the URL to migrate"), "{all}");
    let out = dbm(dir, &ro, &["down"]);
    assert_code(&out, 101);
    assert!(!dir.join(".dbmigrate").exists(), "a backup was taken for a run that cannot write");
    let out = dbm(dir, &ro, &["stamp", "2"]);
    assert_code(&out, 101);
    assert!(text(&out).contains("readonly database"), "{}", text(&out));
    assert_eq!(std::fs::read(&db).expect("db"), before, "mode=ro changed the file");
    assert_eq!(tables(&db), "a refinery_schema_history");
    // The hint, followed.
    assert_code(&dbm(dir, &url, &["run", "--no-backup"]), 0);
    assert_code(&dbm(dir, &url, &["down", "--no-backup"]), 0);
    // Reading works.
    let out = dbm(dir, &ro, &["status", "--format", "json"]);
    assert_code(&out, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"pending\""), "{}", text(&out));
    // A missing file with mode=ro: named, and the hint says how to create it.
    let missing = format!("sqlite:{}?mode=ro", dir.join("nope.db").display());
    let out = dbm(dir, &missing, &["run"]);
    assert_code(&out, 101);
    assert!(text(&out).contains("(the url says mode=ro, which does not create it)"), "{}", text(&out));
    assert!(!dir.join("nope.db").exists());
}

#[test]
fn mode_rw_needs_the_file_and_rwc_creates_it() {
    let fixture = fixture("mode_rw");
    let dir = fixture.path();
    let db = dir.join("app.db");
    let url = format!("sqlite:{}", db.display());
    let out = dbm(dir, &format!("{url}?mode=rw"), &["run", "--no-backup"]);
    assert_code(&out, 101);
    let all = text(&out);
    assert!(all.contains("does not exist (the url says mode=rw"), "{all}");
    assert!(all.contains("hint: check the path, or drop `?mode=rw` from the URL"), "{all}");
    assert!(!db.exists());
    // The hint, followed: without the parameter, `run` creates it.
    assert_code(&dbm(dir, &url, &["run", "--target", "1", "--no-backup"]), 0);
    assert_code(&dbm(dir, &format!("{url}?mode=rw"), &["run", "--no-backup"]), 0);
    assert_eq!(tables(&db), "a b refinery_schema_history");
    let other = dir.join("other.db");
    assert_code(&dbm(dir, &format!("sqlite:{}?mode=rwc", other.display()), &["run", "--no-backup"]), 0);
    assert_eq!(tables(&other), "a b refinery_schema_history");
}
