//! `restore` round-trips: after more migrations, `restore --latest --yes` puts back the state
//! the backup was taken of; without a terminal it refuses without --yes.

use super::{V2, applied_v1, backups, snapshot};
use crate::db::{assert_code, on_all_backends};
use dbmigrate_tests::{Backend, dbm};

on_all_backends!(restore_round_trips, restore_needs_yes_without_a_terminal);

fn restore_round_trips(backend: Backend) {
    let (fixture, db) = applied_v1(backend, "rt");
    let at_v1 = snapshot(&db);
    fixture.write(&format!("migrations/{}", V2.0), V2.1);
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    assert_eq!(db.versions(), vec![1, 2]);
    assert_ne!(snapshot(&db), at_v1);

    let out = dbm(fixture.path(), &db.url, &["restore", "--latest", "--yes"]);
    assert_code(&out, 0);
    assert_eq!(db.versions(), vec![1]);
    assert_eq!(snapshot(&db), at_v1, "every table's rows as at version 1");
    // The state before the restore was backed up too, so the restore can be undone.
    let newest = backups(fixture.path()).last().cloned().expect("a backup");
    assert_eq!(newest["version"], 2, "{newest}");
    let id = newest["id"].as_str().expect("id").to_owned();
    assert_code(&dbm(fixture.path(), &db.url, &["restore", &id, "--yes", "--no-backup"]), 0);
    assert_eq!(db.versions(), vec![1, 2]);
}

fn restore_needs_yes_without_a_terminal(backend: Backend) {
    let (fixture, db) = applied_v1(backend, "yes");
    let out = dbm(fixture.path(), &db.url, &["restore", "--latest"]);
    assert_code(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert_eq!(db.versions(), vec![1]);
}
