//! A migration that fails half-way with `--restore-on-failure`: the data is as before the run;
//! and the refusals when no backup can be taken: nothing migrated, a clear error, non-zero.

use super::{V2, applied_v1, backups, configure, snapshot};
use crate::db::{assert_code, json, on_all_backends};
use dbmigrate_tests::{Backend, TestDb, dbm, dbm_command, text};

on_all_backends!(
    restore_on_failure_puts_data_back,
    unwritable_backup_dir_changes_nothing,
    two_runs_one_backup,
    a_refused_backup_creates_nothing
);

/// V2 applies, then V3 changes data and fails at its third statement.
const V3_FAILING: (&str, &str) = (
    "V3__broken.sql",
    "UPDATE t1 SET v = 'lost';\nCREATE TABLE t4 (id INTEGER);\nINSERT INTO no_such_table (id) VALUES (1);\n",
);

fn restore_on_failure_puts_data_back(backend: Backend) {
    let (fixture, db) = applied_v1(backend, "rof");
    let before = snapshot(&db);
    fixture.write(&format!("migrations/{}", V2.0), V2.1);
    fixture.write(&format!("migrations/{}", V3_FAILING.0), V3_FAILING.1);

    let out = dbm(fixture.path(), &db.url, &["run", "--restore-on-failure", "--format", "json"]);
    assert_code(&out, 101);
    let summary = json(&out);
    assert_eq!(summary["restored"], true, "{}", text(&out));
    assert!(summary["backup"].as_str().is_some_and(|p| p.contains("-1-")), "{summary}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("V2__more") && stderr.contains("V3__broken"), "names what ran and what failed:\n{stderr}");

    assert_eq!(db.versions(), vec![1], "back at version 1");
    assert_eq!(snapshot(&db), before, "every table's rows as before the run");
    // No dirty marker is left (MariaDB): once fixed, the deploy goes through.
    fixture.write(&format!("migrations/{}", V3_FAILING.0), "CREATE TABLE t4 (id INTEGER);\n");
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    assert_eq!(db.versions(), vec![1, 2, 3]);
}

fn unwritable_backup_dir_changes_nothing(backend: Backend) {
    let (fixture, db) = applied_v1(backend, "unwr");
    // A folder below a regular file can never be created, even by root.
    configure(&fixture, "dir = \"Cargo.toml/backups\"");
    fixture.write(&format!("migrations/{}", V2.0), V2.1);
    let before = snapshot(&db);
    let out = dbm(fixture.path(), &db.url, &["run"]);
    assert_code(&out, 101);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot write to the backup folder") && stderr.contains("Cargo.toml/backups"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert_eq!(db.versions(), vec![1], "nothing migrated");
    assert_eq!(snapshot(&db), before);
}

fn two_runs_one_backup(backend: Backend) {
    let (fixture, db) = applied_v1(backend, "conc");
    let first = backups(fixture.path()).len();
    fixture.write(&format!("migrations/{}", V2.0), V2.1);
    let children: Vec<_> = (0..2)
        .map(|_| {
            dbm_command(fixture.path(), &db.url, &["run", "--lock-timeout", "60"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn run")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert_code(&out, 0);
    }
    assert_eq!(db.versions(), vec![1, 2]);
    assert_eq!(backups(fixture.path()).len(), first + 1, "exactly one backup for two concurrent runs");
}

/// pg_dump is not on PATH: the run stops before changing anything and says what to install.
#[test]
fn pg_dump_missing_changes_nothing() {
    let (fixture, db) = applied_v1(Backend::Postgres, "nopgdump");
    fixture.write(&format!("migrations/{}", V2.0), V2.1);
    let empty = tempfile::tempdir().expect("tempdir");
    let out = dbm_command(fixture.path(), &db.url, &["run"]).env("PATH", empty.path()).output().expect("run");
    assert_code(&out, 101);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`pg_dump` was not found"), "{stderr}");
    assert!(stderr.contains("postgresql-client") && stderr.contains("pg-dump"), "{stderr}");
    assert_eq!(db.versions(), vec![1], "nothing migrated");
    assert!(!TestDb::has_table(&db, "t3"));
}

/// A backup that cannot be taken on a fresh database leaves it without even a history table.
fn a_refused_backup_creates_nothing(backend: Backend) {
    let fixture = crate::db::crate_with("refnew", &[super::V1]);
    configure(&fixture, "dir = \"Cargo.toml/backups\"");
    let db = TestDb::new(backend, "refnew", fixture.path());
    let out = dbm(fixture.path(), &db.url, &["run"]);
    assert_code(&out, 101);
    assert!(!db.has_table("refinery_schema_history"), "{}", text(&out));
}

/// mariadb-dump has no connect timeout of its own: one that never starts writing is stopped
/// within --connect-timeout, and nothing is migrated.
#[test]
fn a_dump_tool_that_never_starts_is_stopped() {
    let fixture = crate::db::crate_with("stuckdump", &[super::V1]);
    let script = fixture.path().join("stuck-dump.sh");
    std::fs::write(&script, "#!/bin/sh\nexec sleep 60\n").expect("write");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    configure(&fixture, &format!("mysqldump = \"{}\"", script.display()));
    let db = TestDb::new(Backend::Mariadb, "stuckdump", fixture.path());
    let out = dbm(fixture.path(), &db.url, &["run", "--connect-timeout", "2"]);
    assert_code(&out, 101);
    assert!(String::from_utf8_lossy(&out.stderr).contains("timed out after 2s waiting for"), "{}", text(&out));
    assert!(!db.has_table("t1"), "nothing migrated");
}
