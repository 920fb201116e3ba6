//! The no-op `run` fast path: with the migrations folder unchanged since the set was last
//! validated, `run` asks the database one question instead of reading every file. It must
//! never hide an edit, and must step aside whenever the database is not exactly at the set.

use super::{assert_code, crate_with, on_all_backends};
use dbmigrate_tests::{Backend, TestDb, dbm};

on_all_backends!(
    fast_path_when_unchanged_and_never_hides_an_edit,
    steps_aside_when_the_database_moved,
    steps_aside_when_a_history_row_changed,
    steps_aside_for_a_dirty_marker,
);

const FAST: &str = "Up to date";

/// Files younger than two seconds are never trusted (their timestamps may not show a second
/// edit), so the fast path needs the folder to settle first.
fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(2100));
}

fn fast_path_when_unchanged_and_never_hides_an_edit(backend: Backend) {
    let fixture = crate_with(
        "uptodate",
        &[("V1__a.sql", "CREATE TABLE a (id INT);\n"), ("V2__b.sql", "CREATE TABLE b (id INT);\n")],
    );
    let db = TestDb::new(backend, "uptodate", fixture.path());
    settle();
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    let out = dbm(fixture.path(), &db.url, &["run", "-v"]);
    assert_code(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(FAST) && stderr.contains("nothing to do"), "fast no-op:\n{stderr}");

    // Same length, other content: an applied migration was edited. The fast path must not
    // report "nothing to do"; the full run refuses the divergent file.
    fixture.write("migrations/V2__b.sql", "CREATE TABLE c (id INT);\n");
    settle();
    let out = dbm(fixture.path(), &db.url, &["run", "-v"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "an edited applied file is an error:\n{stderr}");
    assert!(!stderr.contains(FAST), "{stderr}");
    assert!(stderr.contains("V2__b"), "{stderr}");
}

fn steps_aside_when_the_database_moved(backend: Backend) {
    let fixture = crate_with(
        "uptodate_moved",
        &[
            ("V1__a.sql", "CREATE TABLE a (id INT);\n"),
            ("V2__b.sql", "CREATE TABLE b (id INT);\n"),
            ("V2__b.down.sql", "DROP TABLE b;\n"),
        ],
    );
    let db = TestDb::new(backend, "uptodate_moved", fixture.path());
    settle();
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    assert_code(&dbm(fixture.path(), &db.url, &["down"]), 0);
    assert_eq!(db.versions(), vec![1]);
    let out = dbm(fixture.path(), &db.url, &["run", "-v"]);
    assert_code(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(FAST) && stderr.contains("Applying V2__b"), "full run:\n{stderr}");
    assert_eq!(db.versions(), vec![1, 2]);
}

/// A crate with two applied migrations whose no-op `run` took the fast path once.
fn applied_and_fast(name: &str, backend: Backend) -> (dbmigrate_tests::Fixture, TestDb) {
    let fixture =
        crate_with(name, &[("V1__a.sql", "CREATE TABLE a (id INT);\n"), ("V2__b.sql", "CREATE TABLE b (id INT);\n")]);
    let db = TestDb::new(backend, name, fixture.path());
    settle();
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    let out = dbm(fixture.path(), &db.url, &["run", "-v"]);
    assert_code(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(FAST) && stderr.contains("at version 2"), "fast no-op:\n{stderr}");
    (fixture, db)
}

/// The no-op's question compares the whole history (on PostgreSQL as one server-side digest):
/// a checksum changed by hand behind the tool's back makes it take the full path, which
/// reports the divergent migration.
fn steps_aside_when_a_history_row_changed(backend: Backend) {
    let (fixture, db) = applied_and_fast("uptodate_row", backend);
    db.query("UPDATE refinery_schema_history SET checksum = '42' WHERE version = 2");
    settle();
    let out = dbm(fixture.path(), &db.url, &["run", "-v"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "a divergent history row is an error:\n{stderr}");
    assert!(!stderr.contains(FAST), "{stderr}");
    assert!(stderr.contains("V2__b") && stderr.contains("differ"), "{stderr}");
}

/// A progress marker left in the side table (a migration that started and did not finish)
/// makes the no-op take the full path, which refuses the dirty database.
fn steps_aside_for_a_dirty_marker(backend: Backend) {
    let (fixture, db) = applied_and_fast("uptodate_dirty", backend);
    db.query(
        "CREATE TABLE IF NOT EXISTS refinery_schema_history_dbmigrate(version BIGINT PRIMARY KEY, \
         direction VARCHAR(8) NOT NULL, statements_done BIGINT NOT NULL, started_on VARCHAR(255))",
    );
    db.query("INSERT INTO refinery_schema_history_dbmigrate VALUES (2, 'up', 0, NULL)");
    settle();
    let out = dbm(fixture.path(), &db.url, &["run", "-v"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "a dirty migration is an error:\n{stderr}");
    assert!(!stderr.contains(FAST), "{stderr}");
    assert!(stderr.contains("V2__b"), "{stderr}");
}

/// SQLite: once a no-op found the database exactly at the set, the next ones trust the file's
/// committed state (its header's change counter and stamp) without opening it through
/// SQLite. A change made behind the tool's back must still be seen, even once it is old.
#[test]
fn sqlite_state_never_hides_a_change_behind_its_back() {
    let fixture = crate_with(
        "uptodate_state",
        &[("V1__a.sql", "CREATE TABLE a (id INT);\n"), ("V2__b.sql", "CREATE TABLE b (id INT);\n")],
    );
    let db = TestDb::new(Backend::Sqlite, "uptodate_state", fixture.path());
    settle();
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    settle();
    for _ in 0..2 {
        let out = dbm(fixture.path(), &db.url, &["run", "-v"]);
        assert_code(&out, 0);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(FAST) && stderr.contains("at version 2"), "fast no-op:\n{stderr}");
    }
    let remembered = std::fs::read_dir(fixture.path().join("target/dbmigrate")).expect("cache folder");
    assert!(
        remembered.filter_map(Result::ok).any(|e| e.file_name().to_string_lossy().ends_with("-db")),
        "the database's state is remembered"
    );
    // Behind the tool's back: V2 undone by hand, then left to age past any racy timestamp.
    db.query("DROP TABLE b; DELETE FROM refinery_schema_history WHERE version = 2");
    settle();
    let out = dbm(fixture.path(), &db.url, &["run", "-v"]);
    assert_code(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(FAST) && stderr.contains("Applying V2__b"), "full run:\n{stderr}");
    assert_eq!(db.versions(), vec![1, 2]);
}

/// A released migration (one in `dbmigrate.lock`) is not `stat`ed by the no-op: edited in
/// place, `run` still finds nothing to do (the database holds what was released), while
/// `check` refuses the edit as `cargo build` does; the next change to the folder's entries
/// brings the full check back, which refuses it too and applies nothing.
#[test]
fn a_released_migration_edited_in_place_is_left_to_build_and_check() {
    let fixture = crate_with(
        "uptodate_released",
        &[("V1__a.sql", "CREATE TABLE a (id INT);\n"), ("V2__b.sql", "CREATE TABLE b (id INT);\n")],
    );
    let db = TestDb::new(Backend::Sqlite, "uptodate_released", fixture.path());
    assert_code(&fixture.cli().arg("release").output().expect("release"), 0);
    settle();
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    let out = dbm(fixture.path(), &db.url, &["run", "-v"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains(FAST), "fast no-op");

    // In place (same file, same folder entry): only the file's own stamp changes.
    let path = fixture.path().join("migrations/V1__a.sql");
    let inode = |p: &std::path::Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).expect("stat"));
    let before = inode(&path);
    fixture.write("migrations/V1__a.sql", "CREATE TABLE z (id INT);\n");
    assert_eq!(inode(&path), before, "edited in place");
    settle();
    let out = dbm(fixture.path(), &db.url, &["run", "-v"]);
    assert_code(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(FAST) && stderr.contains("at version 2"), "released files are not stat'ed:\n{stderr}");
    let check = fixture.cli().arg("check").output().expect("check");
    assert_ne!(check.status.code(), Some(0), "check refuses the edit");
    assert!(String::from_utf8_lossy(&check.stderr).contains("V1__a"), "{}", String::from_utf8_lossy(&check.stderr));

    fixture.write("migrations/V3__c.sql", "CREATE TABLE c (id INT);\n");
    settle();
    let out = dbm(fixture.path(), &db.url, &["run", "-v"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "the full check refuses the edited released file:\n{stderr}");
    assert!(!stderr.contains(FAST) && stderr.contains("V1__a"), "{stderr}");
    assert_eq!(db.versions(), vec![1, 2]);
}
