//! A history that does not match its files for a reason other than an edit — a row under
//! another name, without a checksum, or twice — gets its own state in `status` and a refusal
//! that says no file was edited, and the `repair` the hint names puts it right.

use super::{assert_code, crate_with, json};
use dbmigrate_tests::{Backend, TestDb, dbm, text};

const FILES: &[(&str, &str)] = &[
    ("V1__a.sql", "CREATE TABLE a (id INT);\n"),
    ("V1__a.down.sql", "DROP TABLE a;\n"),
    ("V2__b.sql", "CREATE TABLE b (id INT);\n"),
    ("V2__b.down.sql", "DROP TABLE b;\n"),
];

const H: &str = "refinery_schema_history";

/// Applies both, breaks the history with `tamper`, and follows the tool's own advice.
fn anomaly(test: &str, tamper: &str, state: &str, says: &str) {
    let fixture = crate_with(test, FILES);
    let dir = fixture.path();
    let db = TestDb::new(Backend::Sqlite, test, dir);
    assert_code(&dbm(dir, &db.url, &["run", "--no-backup"]), 0);
    for sql in tamper.split(';').filter(|s| !s.trim().is_empty()) {
        db.query(sql);
    }
    let status = json(&dbm(dir, &db.url, &["status", "--format", "json"]))["migrations"].clone();
    assert_eq!(status[1]["state"], state, "{status}");
    for args in [&["run", "--no-backup"][..], &["down", "--no-backup"]] {
        let out = dbm(dir, &db.url, args);
        assert_code(&out, 101);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says) && stderr.contains("no file was edited"), "{stderr}");
        assert!(!stderr.contains("revert the edit"), "{stderr}");
        assert!(stderr.contains("cargo dbmigrate repair 2 --as applied"), "{stderr}");
    }
    let out = dbm(dir, &db.url, &["repair", "--version", "2", "--as", "applied"]);
    assert_code(&out, 0);
    let status = json(&dbm(dir, &db.url, &["status", "--format", "json"]))["migrations"].clone();
    assert_eq!(status[1]["state"], "applied", "{status}\n{}", text(&out));
    assert_code(&dbm(dir, &db.url, &["down", "--no-backup"]), 0);
    assert_eq!(db.versions(), vec![1], "reverted once");
    assert_code(&dbm(dir, &db.url, &["run", "--no-backup"]), 0);
    assert_eq!(db.versions(), vec![1, 2]);
}

#[test]
fn a_row_under_another_name_is_renamed() {
    anomaly(
        "renamed",
        &format!("UPDATE {H} SET name = 'old' WHERE version = 2"),
        "renamed",
        "under another name, `old`",
    );
}

#[test]
fn a_row_without_a_checksum_is_named_so() {
    anomaly("nosum", &format!("UPDATE {H} SET checksum = NULL WHERE version = 2"), "no-checksum", "has no checksum");
}

#[test]
fn a_duplicated_row_is_never_reverted_twice() {
    // A history table made by another tool, without a primary key, holding version 2 twice.
    let tamper = format!(
        "CREATE TABLE h2 AS SELECT * FROM {H}; DROP TABLE {H}; ALTER TABLE h2 RENAME TO {H}; \
         INSERT INTO {H} SELECT * FROM {H} WHERE version = 2"
    );
    anomaly("dup", &tamper, "duplicate", "holds 2 rows for version 2");
}

/// The other way out for a renamed row: give the file back the name it was applied under.
#[test]
fn renaming_the_file_back_also_works() {
    let fixture = crate_with("back", FILES);
    let dir = fixture.path();
    let db = TestDb::new(Backend::Sqlite, "back", dir);
    assert_code(&dbm(dir, &db.url, &["run", "--no-backup"]), 0);
    // Applied as `b`, the files now say `renamed`: the history's name is the right one.
    for (from, to) in [("V2__b.sql", "V2__renamed.sql"), ("V2__b.down.sql", "V2__renamed.down.sql")] {
        std::fs::rename(dir.join("migrations").join(from), dir.join("migrations").join(to)).expect("rename");
    }
    let out = dbm(dir, &db.url, &["run", "--no-backup"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("rename the file back to V2__b.sql"), "{}", text(&out));
    for (from, to) in [("V2__renamed.sql", "V2__b.sql"), ("V2__renamed.down.sql", "V2__b.down.sql")] {
        std::fs::rename(dir.join("migrations").join(from), dir.join("migrations").join(to)).expect("rename");
    }
    assert_code(&dbm(dir, &db.url, &["status", "--exit-code"]), 0);
}
