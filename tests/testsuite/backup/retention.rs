//! Retention: five deploys keep the newest three backups; nothing pending takes none.

use super::{V1, backups};
use crate::db::{assert_code, crate_with, json, on_all_backends};
use dbmigrate_tests::{Backend, TestDb, dbm};

on_all_backends!(five_runs_keep_the_newest_three, nothing_pending_takes_no_backup);

fn five_runs_keep_the_newest_three(backend: Backend) {
    let fixture = crate_with("keep", &[V1]);
    let db = TestDb::new(backend, "keep", fixture.path());
    let mut taken = Vec::new();
    for v in 2..=6 {
        let file = format!("migrations/V{v}__r{v}.sql");
        fixture.write(&file, &format!("CREATE TABLE r{v} (id INTEGER);\n"));
        let out = dbm(fixture.path(), &db.url, &["run", "--format", "json"]);
        assert_code(&out, 0);
        taken.push(json(&out)["backup"].as_str().expect("a backup path").to_owned());
    }
    let kept: Vec<String> =
        backups(fixture.path()).iter().map(|b| b["path"].as_str().unwrap_or("").to_owned()).collect();
    assert_eq!(kept.len(), 3, "{kept:?}");
    assert_eq!(kept, taken[2..].to_vec(), "the newest three, the newest among them");
    for path in &kept {
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).expect("meta").permissions());
        assert_eq!(mode & 0o777, 0o600, "{path}");
    }
}

fn nothing_pending_takes_no_backup(backend: Backend) {
    let fixture = crate_with("fresh", &[V1]);
    let db = TestDb::new(backend, "fresh", fixture.path());
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    assert_eq!(backups(fixture.path()).len(), 1);
    let out = dbm(fixture.path(), &db.url, &["run", "--format", "json"]);
    assert_code(&out, 0);
    assert!(json(&out)["backup"].is_null());
    assert_eq!(backups(fixture.path()).len(), 1, "no backup when nothing is pending");
    let out = dbm(fixture.path(), &db.url, &["run", "--no-backup"]);
    assert_code(&out, 0);
    assert_eq!(backups(fixture.path()).len(), 1);
}
