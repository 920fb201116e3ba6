//! A migration numbered 0 (`V0__init.sql`): `down --to 0` reverts it too, as the help says "0
//! reverts all", and every message names its real file, never an invented `V0__…` or `V00…`.

use super::{assert_code, crate_with, json};
use dbmigrate_tests::{Backend, TestDb, dbm, text};
use std::process::Output;

const V0: (&str, &str) = ("V0__init.sql", "CREATE TABLE z (id INT);\n");
const V0_DOWN: (&str, &str) = ("V0__init.down.sql", "DROP TABLE z;\n");
const V1: (&str, &str) = ("V1__a.sql", "CREATE TABLE a (id INT);\n");
const V1_DOWN: (&str, &str) = ("V1__a.down.sql", "DROP TABLE a;\n");

/// The output, after checking that it names version 0 only by its real file name.
#[track_caller]
fn named_right(out: &Output) -> String {
    let shown = text(out);
    for invented in ["V0__…", "V0__...", "V00", "V0__.sql", "V0__init.sql.sql"] {
        assert!(!shown.contains(invented), "`{invented}` in:\n{shown}");
    }
    shown
}

#[test]
fn version_zero_is_reverted_by_down_to_zero_and_named_by_its_file() {
    let fixture = crate_with("vzero", &[V0, V0_DOWN, V1, V1_DOWN]);
    let (dir, db) = (fixture.path(), TestDb::new(Backend::Sqlite, "vzero", fixture.path()));
    let url = db.url.as_str();
    let out = dbm(dir, url, &["run", "--no-backup"]);
    assert_code(&out, 0);
    assert!(named_right(&out).contains("Applying V0__init"), "{}", text(&out));
    let status = json(&dbm(dir, url, &["status", "--format", "json"]));
    let first = &status["migrations"][0];
    assert_eq!((first["version"].as_i64(), first["name"].as_str()), (Some(0), Some("init")), "{status}");
    let out = dbm(dir, url, &["show", "0"]);
    assert_code(&out, 0);
    assert!(named_right(&out).contains("-- migrations/V0__init.sql --"), "{}", text(&out));

    // "0 reverts all": version 0 included.
    let out = dbm(dir, url, &["down", "--to", "0", "--yes", "--no-backup"]);
    assert_code(&out, 0);
    assert!(named_right(&out).contains("Reverting V0__init"), "{}", text(&out));
    assert_eq!(db.versions(), Vec::<i64>::new());
    assert!(!db.has_table("z"));
    assert_code(&dbm(dir, url, &["run", "--no-backup"]), 0);

    // The refusals name the file too: edited after it was applied (`run`; `down` reverts an
    // unreleased edit with the down recorded when it was applied), then without a down script.
    fixture.write("migrations/V0__init.sql", "CREATE TABLE z (id INT, x INT);\n");
    let out = dbm(dir, url, &["run", "--no-backup"]);
    assert_code(&out, 101);
    assert!(named_right(&out).contains("differ from their script (name or checksum): V0__init.sql"), "{}", text(&out));
    fixture.write("migrations/V0__init.sql", V0.1);
    std::fs::remove_file(dir.join("migrations").join(V0_DOWN.0)).expect("remove the down file");
    let out = dbm(dir, url, &["down", "--to", "0", "--yes", "--no-backup"]);
    assert_code(&out, 101);
    assert!(named_right(&out).contains("cannot revert V0__init.sql: it has no down script"), "{}", text(&out));
    assert_eq!(db.versions(), vec![0, 1], "refused up front: nothing reverted");
}

/// MariaDB, where a failure half way leaves version 0 dirty: the error, `status` and the
/// `repair` hint name it `V0__init.sql` and `repair 0`, and that hint works.
#[test]
fn a_dirty_version_zero_is_named_by_its_file() {
    let half = ("V0__init.sql", "CREATE TABLE z (id INT);\nCREATE TABLE z (id INT);\n");
    let fixture = crate_with("vzerodirty", &[half, V0_DOWN]);
    let (dir, db) = (fixture.path(), TestDb::new(Backend::Mariadb, "vzerodirty", fixture.path()));
    let url = db.url.as_str();
    let out = dbm(dir, url, &["run", "--no-backup"]);
    assert_code(&out, 101);
    let shown = named_right(&out);
    assert!(shown.contains("up migration V0__init.sql failed at line 2"), "{shown}");
    assert!(shown.contains("`cargo dbmigrate repair 0 --as applied`"), "{shown}");
    let out = dbm(dir, url, &["status"]);
    assert!(named_right(&out).contains("V0__init is dirty"), "{}", text(&out));
    assert_code(&dbm(dir, url, &["repair", "0", "--as", "applied"]), 0);
    let out = dbm(dir, url, &["down", "--to", "0", "--yes", "--no-backup"]);
    assert_code(&out, 0);
    assert!(named_right(&out).contains("Reverting V0__init"), "{}", text(&out));
    assert!(!db.has_table("z"));
}
