//! `renumber` after a developer database applied the migration: a git rename, the header
//! rewritten, and `run` moves the history row instead of re-applying the migration.

use super::{git, ok, states};
use dbmigrate_tests::{Backend, Fixture, TestDb};

const V1: &str = "V20260101000000__create_users.sql";
const V2: &str = "V20260102000000__create_reviews.sql";
const V2_DOWN: &str = "V20260102000000__create_reviews.down.sql";

fn renumbered_migration_moves_its_row(backend: Backend) {
    let f = Fixture::new("team_renumber");
    f.write(&format!("migrations/{V1}"), "CREATE TABLE users (id INT PRIMARY KEY);\n");
    f.write(
        &format!("migrations/{V2}"),
        "-- reviews (V20260102000000__create_reviews)\nCREATE TABLE reviews (id INT);\n",
    );
    f.write(
        &format!("migrations/{V2_DOWN}"),
        "-- Revert: reviews\n-- This must undo everything V20260102000000__create_reviews.sql does.\n\nDROP TABLE reviews;\n",
    );
    git(&f, &["init", "-q"]);
    git(&f, &["add", "."]);
    git(&f, &["commit", "-qm", "two migrations"]);
    let db = TestDb::new(backend, "renumber", f.path());
    ok(&f, &db, &["run"], 0);

    let out = f.cli().args(["renumber", &format!("migrations/{V2}")]).output().expect("renumber");
    let printed = super::assert_code(&out, 0);
    let new_up = String::from_utf8_lossy(&out.stdout).lines().next().expect("a path").to_owned();
    let new_name = new_up.rsplit('/').next().expect("a name").to_owned();
    let new_version: i64 = new_name[1..new_name.find("__").expect("__")].parse().expect("a version");
    assert!(new_version > 20260102000000, "{printed}");
    // git records a rename (staged by `git mv`), not a deletion and an untracked file.
    let porcelain = git(&f, &["status", "--porcelain"]);
    assert!(porcelain.lines().any(|l| l.starts_with('R') && l.contains(V2) && l.contains(&new_name)), "{porcelain}");
    let down = f.read(&format!("migrations/V{new_version}__create_reviews.down.sql"));
    assert!(down.contains(&format!("everything V{new_version}__create_reviews.sql does")), "{down}");
    assert!(f.read(&format!("migrations/{new_name}")).contains(&format!("(V{new_version}__create_reviews)")));

    assert_eq!(states(&f, &db), [(20260101000000, "applied".to_owned()), (new_version, "renumbered".to_owned())]);
    let run = ok(&f, &db, &["run"], 0);
    let line = format!(
        "Renumbered V20260102000000__create_reviews → V{new_version}__create_reviews in the history (same migration)"
    );
    assert!(run.contains(&line), "{run}");
    assert!(!run.contains("Applying"), "nothing re-applied: {run}");
    assert_eq!(db.versions(), [20260101000000, new_version]);
    ok(&f, &db, &["status", "--exit-code"], 0);
    assert!(ok(&f, &db, &["run"], 0).contains("nothing to do"));
    // The moved row reverts with the renumbered down file.
    ok(&f, &db, &["down", "--yes"], 0);
    assert!(!db.tables().contains(&"reviews".to_owned()), "{:?}", db.tables());
}

#[test]
fn sqlite_renumbered_migration_moves_its_row() {
    renumbered_migration_moves_its_row(Backend::Sqlite);
}

#[test]
fn pg_renumbered_migration_moves_its_row() {
    renumbered_migration_moves_its_row(Backend::Postgres);
}

#[test]
fn maria_renumbered_migration_moves_its_row() {
    renumbered_migration_moves_its_row(Backend::Mariadb);
}

#[test]
fn renumber_outside_git_renames_plainly() {
    let f = Fixture::new("team_renumber_plain");
    f.write(&format!("migrations/{V2}"), "CREATE TABLE reviews (id INT);\n");
    let out = f.cli().args(["renumber", V2]).output().expect("renumber");
    super::assert_code(&out, 0);
    let files = f.list("migrations");
    assert_eq!(files.len(), 1, "{files:?}");
    assert_ne!(files[0], V2);
}

/// `repair` says exactly what it changed: nothing for a row already as asked, a rewritten
/// checksum (keeping `applied_on`) for a row whose unreleased file was edited.
#[test]
fn repair_reports_exactly_what_it_changed() {
    let f = crate::db::crate_with("team_repair", &[(V1, "CREATE TABLE users (id INT PRIMARY KEY);\n")]);
    let db = TestDb::new(Backend::Sqlite, "repair", f.path());
    ok(&f, &db, &["run"], 0);
    let applied_on = db.query("SELECT applied_on FROM refinery_schema_history");
    let same = ok(&f, &db, &["repair", "--version", "20260101000000", "--as", "applied"], 0);
    assert!(same.contains("nothing to change: V20260101000000__create_users is already recorded as applied"), "{same}");
    assert!(!same.contains("Repaired"), "{same}");

    f.write(&format!("migrations/{V1}"), "CREATE TABLE users (id INT PRIMARY KEY); -- edited\n");
    assert_eq!(states(&f, &db), [(20260101000000, "divergent".to_owned())]);
    let fixed = ok(&f, &db, &["repair", "--version", "20260101000000", "--as", "applied"], 0);
    assert!(fixed.contains("rewrote the history row of V20260101000000__create_users"), "{fixed}");
    assert!(fixed.contains("the file was edited after it was applied"), "{fixed}");
    assert_eq!(states(&f, &db), [(20260101000000, "applied".to_owned())]);
    assert_eq!(db.query("SELECT applied_on FROM refinery_schema_history"), applied_on, "applied_on kept");
    assert_eq!(db.query("SELECT action FROM dbmigrate_audit"), "repair");

    ok(&f, &db, &["repair", "--version", "20260101000000", "--as", "pending"], 0);
    let none = ok(&f, &db, &["repair", "--version", "20260101000000", "--as", "pending"], 0);
    assert!(none.contains("nothing to change") && none.contains("already recorded as pending"), "{none}");
}
