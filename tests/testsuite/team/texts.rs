//! What the tool prints is true: read-only commands answer despite a bad file, a refusal before
//! anything ran does not report "applied before the failure", the `status` note names the fix
//! for each state, a restored MariaDB run does not also say "half applied", and dirty hints name
//! the real version.

use super::{assert_code, ok};
use dbmigrate_tests::{Backend, Fixture, TestDb, dbm};

const V1: i64 = 20261201131500;
const V2: i64 = 20261201131510;

fn two_migrations(backend: Backend) -> (Fixture, TestDb) {
    let f = Fixture::new("team_texts");
    f.write(&format!("migrations/V{V1}__create_a.sql"), "CREATE TABLE a (id INT);\n");
    f.write(&format!("migrations/V{V1}__create_a.down.sql"), "DROP TABLE a;\n");
    f.write(&format!("migrations/V{V2}__create_b.sql"), "CREATE TABLE b (id INT);\n");
    let db = TestDb::new(backend, "texts", f.path());
    ok(&f, &db, &["run", "--to", &V1.to_string()], 0);
    (f, db)
}

fn inspection_answers_despite_a_bad_file(backend: Backend) {
    let (f, db) = two_migrations(backend);
    // A down file without its up file fails the check, as the build would refuse it.
    f.write("migrations/V20261201131590__ghost.down.sql", "DROP TABLE ghost;\n");
    for args in [&["status"][..], &["current"], &["history"], &["show", &V1.to_string()]] {
        let printed = ok(&f, &db, args, 0);
        assert!(printed.contains("warning") && printed.contains("ghost"), "{args:?} shows the finding:\n{printed}");
        assert!(!printed.contains("nothing was run"), "{args:?}:\n{printed}");
        assert!(printed.contains(&V1.to_string()), "{args:?} reports the database:\n{printed}");
    }
    // `status --exit-code` fails in CI on a bad file, as on a pending migration.
    ok(&f, &db, &["status", "--exit-code"], 1);
    // Commands that change the database still refuse, and change nothing.
    for args in [&["run"][..], &["down", "--yes"], &["stamp", &V2.to_string()]] {
        let printed = ok(&f, &db, args, 1);
        assert!(printed.contains("error") && printed.contains("ghost"), "{args:?}:\n{printed}");
        assert_eq!(db.versions(), [V1], "{args:?}");
    }
}

#[test]
fn sqlite_inspection_answers_despite_a_bad_file() {
    inspection_answers_despite_a_bad_file(Backend::Sqlite);
}

#[test]
fn postgres_inspection_answers_despite_a_bad_file() {
    inspection_answers_despite_a_bad_file(Backend::Postgres);
}

/// A duplicated version drops both files from the set: inspection says why the applied one reads
/// as missing instead of claiming its file is gone.
#[test]
fn sqlite_inspection_explains_a_file_left_out() {
    let (f, db) = two_migrations(Backend::Sqlite);
    f.write(&format!("migrations/V{V1}__create_a2.sql"), "CREATE TABLE a2 (id INT);\n");
    let status = ok(&f, &db, &["status"], 0);
    assert!(status.contains("duplicate-version"), "{status}");
    assert!(status.contains("1 file error(s) above"), "{status}");
    let current = ok(&f, &db, &["current"], 0);
    assert!(current.contains(&format!("{V1} (no file that passes the check)")), "{current}");
    let shown = ok(&f, &db, &["show", &V1.to_string()], 0);
    assert!(shown.contains("no file for it passes the check"), "{shown}");
}

fn refusal_reports_nothing_applied(backend: Backend) {
    let (f, db) = two_migrations(backend);
    ok(&f, &db, &["run"], 0);
    // V2 has no down file: `down` refuses before reverting anything.
    let printed = ok(&f, &db, &["down", "--yes"], 101);
    assert!(printed.contains("no down script"), "{printed}");
    assert!(!printed.contains("before the failure: none"), "{printed}");
    assert_eq!(db.versions(), [V1, V2]);
}

#[test]
fn sqlite_refusal_reports_nothing_applied() {
    refusal_reports_nothing_applied(Backend::Sqlite);
}

#[test]
fn postgres_refusal_reports_nothing_applied() {
    refusal_reports_nothing_applied(Backend::Postgres);
}

fn status_note_names_the_real_fix(backend: Backend, revert: bool) {
    let (f, db) = two_migrations(backend);
    // Edited after it was applied: divergent, which `run` refuses rather than fixes.
    f.write(&format!("migrations/V{V1}__create_a.sql"), "CREATE TABLE a (id INT, x INT);\n");
    let printed = ok(&f, &db, &["status"], 0);
    assert!(!printed.contains("not applied as written"), "{printed}");
    assert!(printed.contains("1 pending: `cargo dbmigrate run` applies it"), "{printed}");
    assert!(printed.contains(&format!("1 divergent or renamed ({V1})")), "{printed}");
    assert!(printed.contains("revert the edit"), "{printed}");
    // Both fixes the note suggests for divergent work: the edit reverted, or the row
    // recorded as the file is now (`repair`), and then `run` finishes.
    if revert {
        f.write(&format!("migrations/V{V1}__create_a.sql"), "CREATE TABLE a (id INT);\n");
    } else {
        db.query("ALTER TABLE a ADD COLUMN x INT");
        ok(&f, &db, &["repair", &V1.to_string(), "--as", "applied"], 0);
    }
    ok(&f, &db, &["run"], 0);
    assert_eq!(db.versions(), [V1, V2]);
}

#[test]
fn sqlite_status_note_names_the_real_fix() {
    status_note_names_the_real_fix(Backend::Sqlite, true);
}

#[test]
fn postgres_status_note_names_the_real_fix() {
    status_note_names_the_real_fix(Backend::Postgres, false);
}

/// A MariaDB migration whose second DDL statement fails leaves the first committed (dirty).
fn half_applying(f: &Fixture) {
    f.write(&format!("migrations/V{V2}__create_b.sql"), "CREATE TABLE b (id INT);\nCREATE TABLE a (id INT);\n");
}

#[test]
fn mariadb_restored_run_says_only_that_it_was_restored() {
    let (f, db) = two_migrations(Backend::Mariadb);
    half_applying(&f);
    let printed = ok(&f, &db, &["run", "--restore-on-failure"], 101);
    assert!(printed.contains("the database is back where it started"), "{printed}");
    assert!(!printed.contains("half applied"), "{printed}");
    assert!(!printed.contains("fix the schema by hand"), "{printed}");
    assert!(!printed.contains("repair"), "{printed}");
    assert_eq!(db.versions(), [V1]);
    assert!(!db.has_table("b"), "restored");
}

#[test]
fn mariadb_dirty_hints_name_the_version() {
    let (f, db) = two_migrations(Backend::Mariadb);
    half_applying(&f);
    let printed = ok(&f, &db, &["run", "--no-backup"], 101);
    assert!(printed.contains(&format!("`cargo dbmigrate repair {V2} --as applied`")), "{printed}");
    assert!(!printed.contains("<V>"), "{printed}");
    // The status note and the refusal of the next run name it too, and the hint works.
    let status = ok(&f, &db, &["status"], 0);
    assert!(status.contains(&format!("`cargo dbmigrate repair {V2} --as applied`")), "{status}");
    let again = ok(&f, &db, &["run"], 101);
    assert!(again.contains(&format!("`cargo dbmigrate repair {V2} --as applied`")), "{again}");
    db.query("DROP TABLE b");
    assert_code(&dbm(f.path(), &db.url, &["repair", &V2.to_string(), "--as", "pending"]), 0);
    f.write(&format!("migrations/V{V2}__create_b.sql"), "CREATE TABLE b (id INT);\n");
    ok(&f, &db, &["run"], 0);
    assert_eq!(db.versions(), [V1, V2]);
}
