//! A branch merged late: `run` refuses an older pending migration with a hint naming the real
//! flag, and `--allow-out-of-order` (or the setting) applies it, reported as such.

use super::{ok, states};
use crate::db::crate_with;
use dbmigrate_tests::{Backend, TestDb};

const V1: &str = "V20260101000000__a.sql";
const V2: &str = "V20260102000000__late.sql";
const V3: &str = "V20260103000000__c.sql";

fn late_merge_applies_with_the_flag_or_the_setting(backend: Backend) {
    let f = crate_with("team_ooo", &[(V1, "CREATE TABLE a (x INT);\n"), (V3, "CREATE TABLE c (x INT);\n")]);
    let db = TestDb::new(backend, "ooo", f.path());
    ok(&f, &db, &["run"], 0);
    f.write(&format!("migrations/{V2}"), "CREATE TABLE late (x INT);\n");

    let refused = ok(&f, &db, &["run"], 101);
    assert!(refused.contains("hint: ") && refused.contains("cargo dbmigrate run --allow-out-of-order"), "{refused}");
    assert!(!refused.contains("enable out-of-order"), "{refused}");
    assert!(!db.tables().contains(&"late".to_owned()));

    let run = ok(&f, &db, &["run", "--allow-out-of-order"], 0);
    assert!(run.contains("Out of order") && run.contains("V20260102000000__late applied after the newer"), "{run}");
    assert!(states(&f, &db).iter().all(|(_, s)| s == "applied"));
    assert!(db.tables().contains(&"late".to_owned()));

    // The setting does the same, off by default.
    let db = TestDb::new(backend, "ooo_setting", f.path());
    std::fs::remove_file(f.path().join("migrations").join(V2)).expect("rm");
    ok(&f, &db, &["run"], 0);
    f.write(&format!("migrations/{V2}"), "CREATE TABLE late (x INT);\n");
    ok(&f, &db, &["run"], 101);
    let manifest = f.read("Cargo.toml") + "\n[package.metadata.dbmigrate]\nallow-out-of-order = true\n";
    f.write("Cargo.toml", &manifest);
    assert!(ok(&f, &db, &["run"], 0).contains("Out of order"));
}

#[test]
fn sqlite_late_merge_applies_with_the_flag_or_the_setting() {
    late_merge_applies_with_the_flag_or_the_setting(Backend::Sqlite);
}

#[test]
fn pg_late_merge_applies_with_the_flag_or_the_setting() {
    late_merge_applies_with_the_flag_or_the_setting(Backend::Postgres);
}

#[test]
fn maria_late_merge_applies_with_the_flag_or_the_setting() {
    late_merge_applies_with_the_flag_or_the_setting(Backend::Mariadb);
}
