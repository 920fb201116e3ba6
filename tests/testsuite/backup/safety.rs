//! What an operator bets production on: restore never deletes the backup it restores, backups
//! of one database never mix with another's, failed runs never rotate out a good backup, a
//! killed backup leaves nothing behind, and a damaged backup changes nothing.

use super::{V1, applied_v1, backups, configure, snapshot};
use crate::db::{assert_code, crate_with, json, on_all_backends};
use dbmigrate_tests::{Backend, TestDb, dbm, dbm_command, text};
use std::path::Path;

on_all_backends!(
    restoring_the_oldest_of_three_keeps_it,
    latest_with_keep_one_brings_a_dropped_table_back,
    failed_runs_never_rotate_out_the_backup_before_a_drop,
    another_databases_backup_needs_from_other_source,
    a_killed_backup_leaves_no_temp_file,
);

/// V2 drops t2, the table whose rows only a backup still has.
const DROP_T2: (&str, &str) =
    ("V2__drop_t2.sql", "-- dbmigrate:destructive the backups under test keep its rows\nDROP TABLE t2;\n");

fn restoring_the_oldest_of_three_keeps_it(backend: Backend) {
    let (fixture, db) = applied_v1(backend, "oldest");
    let at_v1 = snapshot(&db);
    for v in 2..=4 {
        fixture.write(&format!("migrations/V{v}__t{v}.sql"), &format!("CREATE TABLE t{v}0 (id INTEGER);\n"));
        assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    }
    let all = backups(fixture.path());
    assert_eq!(all.len(), 3, "keep = 3: {all:?}");
    let oldest = all[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(all[0]["version"], 1, "{all:?}");
    let out = dbm(fixture.path(), &db.url, &["restore", &oldest, "--yes"]);
    assert_code(&out, 0);
    assert_eq!(snapshot(&db), at_v1, "exactly the state at version 1");
    let ids: Vec<String> = backups(fixture.path()).iter().map(|b| b["id"].as_str().unwrap_or("").to_owned()).collect();
    assert!(ids.contains(&oldest), "the backup restored from is kept: {ids:?}");
    assert_eq!(ids.len(), 4, "the three deploy backups and the pre-restore one: {ids:?}");
}

fn latest_with_keep_one_brings_a_dropped_table_back(backend: Backend) {
    let (fixture, db) = applied_v1(backend, "keep1");
    configure(&fixture, "keep = 1");
    let at_v1 = snapshot(&db);
    fixture.write(&format!("migrations/{}", DROP_T2.0), DROP_T2.1);
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    assert!(!db.has_table("t2"));
    let out = dbm(fixture.path(), &db.url, &["restore", "--latest", "--yes"]);
    assert_code(&out, 0);
    assert_eq!(snapshot(&db), at_v1, "t2 and its rows are back:\n{}", text(&out));
    // And the restore can be undone with the pre-restore backup it names.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let undo = stderr.lines().find(|l| l.contains("to undo this restore")).expect("an undo hint");
    let command = undo.split_once("cargo dbmigrate restore ").expect("the command").1;
    let id = command.split_whitespace().next().expect("an id");
    assert!(command.contains("--database-url"), "the hint repeats the database: {undo}");
    assert_code(&dbm(fixture.path(), &db.url, &["restore", id, "--yes"]), 0);
    assert!(!db.has_table("t2"), "back at version 2");
}

fn failed_runs_never_rotate_out_the_backup_before_a_drop(backend: Backend) {
    let (fixture, db) = applied_v1(backend, "failed");
    let at_v1 = snapshot(&db);
    fixture.write(&format!("migrations/{}", DROP_T2.0), DROP_T2.1);
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    let before_drop = backups(fixture.path()).last().cloned().expect("a backup");
    // Three attempts at a fix forward that fails on its only statement: nothing changes.
    fixture.write("migrations/V3__fix.sql", "INSERT INTO no_such_table (id) VALUES (1);\n");
    for _ in 0..3 {
        assert_code(&dbm(fixture.path(), &db.url, &["run"]), 101);
    }
    let ids: Vec<serde_json::Value> = backups(fixture.path()).iter().map(|b| b["id"].clone()).collect();
    assert!(ids.contains(&before_drop["id"]), "the backup before the drop survives: {ids:?}");
    assert_eq!(ids.len(), 2, "failed runs that changed nothing keep no backup: {ids:?}");
    let id = before_drop["id"].as_str().expect("id");
    assert_code(&dbm(fixture.path(), &db.url, &["restore", id, "--yes"]), 0);
    assert_eq!(snapshot(&db), at_v1);
}

fn another_databases_backup_needs_from_other_source(backend: Backend) {
    let fixture = crate_with("two", &[V1]);
    let (a, b) = (TestDb::new(backend, "srca", fixture.path()), TestDb::new(backend, "srcb", fixture.path()));
    assert_code(&dbm(fixture.path(), &a.url, &["run"]), 0);
    assert_code(&dbm(fixture.path(), &b.url, &["run"]), 0);
    // a's second backup holds a at version 1, with its rows.
    fixture.write("migrations/V2__more_a.sql", "CREATE TABLE t3 (id INTEGER);\n");
    assert_code(&dbm(fixture.path(), &a.url, &["run", "--target", "2"]), 0);
    b.query("DELETE FROM t1");
    let b_rows = snapshot(&b);
    let a_rows = snapshot(&a);
    let a_backup = backups(fixture.path()).into_iter().rfind(|x| x["version"] == 1).expect("a's backup at v1");
    let id = a_backup["id"].as_str().expect("id");
    // --latest of b is b's own backup, never a's.
    let out = dbm(fixture.path(), &b.url, &["backups", "--format", "json"]);
    let mine = json(&out)["backups"].as_array().cloned().unwrap_or_default();
    assert_eq!(mine.len(), 1, "only b's backup: {mine:?}");
    let out = dbm(fixture.path(), &b.url, &["restore", id, "--yes"]);
    assert_code(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from-other-source"), "{}", text(&out));
    assert_eq!(snapshot(&b), b_rows, "refused: nothing changed");
    assert_code(&dbm(fixture.path(), &b.url, &["restore", id, "--yes", "--from-other-source"]), 0);
    assert_eq!(b.query("SELECT count(*) FROM t1"), "3", "a's rows, copied on purpose");
    assert_eq!(b.versions(), vec![1]);
    assert_eq!(snapshot(&a), a_rows, "a itself is untouched");
}

/// A SQLite file and a server database with the same name never share backups.
#[test]
fn a_sqlite_file_and_a_server_database_of_the_same_name_stay_apart() {
    let fixture = crate_with("same", &[V1]);
    let pg = TestDb::new(Backend::Postgres, "samename", fixture.path());
    let sqlite_url = format!("sqlite:{}/{}.db", fixture.path().display(), pg.name);
    assert_code(&dbm(fixture.path(), &pg.url, &["run"]), 0);
    assert_code(&dbm(fixture.path(), &sqlite_url, &["run"]), 0);
    for v in 2..=4 {
        fixture.write(&format!("migrations/V{v}__t{v}.sql"), &format!("CREATE TABLE t{v}0 (id INTEGER);\n"));
        assert_code(&dbm(fixture.path(), &pg.url, &["run"]), 0);
    }
    let all = backups(fixture.path());
    let sqlite_backups = all.iter().filter(|b| b["source"].as_str().is_some_and(|s| s.starts_with("sqlite:"))).count();
    assert_eq!(sqlite_backups, 1, "PostgreSQL runs never prune the SQLite backup: {all:?}");
    let out = dbm(fixture.path(), &sqlite_url, &["restore", "--latest", "--yes"]);
    assert_code(&out, 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains(".sqlite"), "{}", text(&out));
    let pg_backup = all.iter().rev().find(|b| b["id"].as_str().is_some_and(|i| i.ends_with(".pgdump"))).expect("pg");
    let id = pg_backup["id"].as_str().expect("id");
    let out = dbm(fixture.path(), &sqlite_url, &["restore", id, "--yes", "--from-other-source"]);
    assert_code(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("postgres backup"), "{}", text(&out));
}

fn a_killed_backup_leaves_no_temp_file(backend: Backend) {
    let (fixture, db) = applied_v1(backend, "killed");
    let dir = fixture.path().join(".dbmigrate/backups");
    // What a backup killed half way leaves: a temp file of this database's prefix.
    let prefix = temp_prefix_of(&dir);
    std::fs::write(dir.join(format!("{prefix}abcdef.tmp")), b"half a backup").expect("write");
    // And the journal SQLite keeps beside a temp database it was writing when killed.
    std::fs::write(dir.join(format!("{prefix}abcdef.tmp-journal")), b"a journal").expect("write");
    let out = dbmigrate_tests::cli().current_dir(fixture.path()).arg("backups").output().expect("run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unfinished"), "{}", text(&out));
    fixture.write("migrations/V2__t2b.sql", "CREATE TABLE t2b (id INTEGER);\n");
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    assert!(temps(&dir).is_empty(), "{:?}", temps(&dir));
    // And a real kill mid-backup (SIGKILL while the dump runs), then a run: none left either.
    fixture.write("migrations/V3__t3b.sql", "CREATE TABLE t3b (id INTEGER);\n");
    let mut child = dbm_command(fixture.path(), &db.url, &["run"]).spawn().expect("spawn");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while temps(&dir).is_empty() && std::time::Instant::now() < deadline && child.try_wait().ok().flatten().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    assert!(temps(&dir).is_empty(), "{:?}", temps(&dir));
}

/// The temp prefix this database's backups use, read off the manifest's source.
fn temp_prefix_of(dir: &Path) -> String {
    let manifest = std::fs::read_dir(dir)
        .expect("backup dir")
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .expect("a manifest");
    let text = std::fs::read_to_string(manifest.path()).expect("read");
    let source: serde_json::Value = serde_json::from_str(&text).expect("json");
    let key = source["source"].as_str().expect("source");
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!(".dbm-backup-{:08x}-", hash as u32)
}

fn temps(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let names = entries.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned());
    names.filter(|n| n.starts_with(".dbm-backup-") && n.contains(".tmp")).collect()
}

/// A bit-rotted SQLite backup (its manifest updated to match, so the engine's own check is
/// what catches it) restores nothing: the database is unchanged.
#[test]
fn a_damaged_sqlite_backup_changes_nothing() {
    let (fixture, db) = applied_v1(Backend::Sqlite, "rot");
    fixture.write("migrations/V2__t2c.sql", "CREATE TABLE t2c (id INTEGER);\nINSERT INTO t2c VALUES (1);\n");
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    let before = snapshot(&db);
    // The backup at version 1: it has tables, so a page past the first to damage.
    let backup = backups(fixture.path()).into_iter().find(|b| b["version"] == 1).expect("a backup at v1");
    let path = Path::new(backup["path"].as_str().expect("path")).to_owned();
    let mut bytes = std::fs::read(&path).expect("read");
    // Damage the header of page 2, the root of the first table's b-tree.
    for b in bytes.iter_mut().skip(4096).take(8) {
        *b ^= 0x5a;
    }
    std::fs::write(&path, &bytes).expect("write");
    let id = backup["id"].as_str().expect("id");
    let out = dbm(fixture.path(), &db.url, &["restore", id, "--yes"]);
    assert_code(&out, 101);
    assert!(String::from_utf8_lossy(&out.stderr).contains("damaged"), "the checksum catches it:\n{}", text(&out));
    assert_eq!(snapshot(&db), before);
    super::rehash_manifest(&path);
    let out = dbm(fixture.path(), &db.url, &["restore", id, "--yes"]);
    assert_code(&out, 101);
    assert_eq!(snapshot(&db), before, "unchanged:\n{}", text(&out));
}
