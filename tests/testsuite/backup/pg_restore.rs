//! PostgreSQL restores that cannot half-happen, and backups past a pg_dump older than the
//! server: a damaged backup (bytes corrupted, cut at a data block boundary that `pg_restore
//! --list` accepts, cut in the middle of a block) or a pg_restore that dies mid-stream leaves
//! the database exactly as it was; an old pg_dump on PATH gives way to an installed one of the
//! server's version, and without one the refusal names the versions.

use super::{V2, applied_v1, backups, configure, rehash_manifest, snapshot};
use crate::db::{assert_code, crate_with};
use dbmigrate_tests::{Backend, Fixture, TestDb, dbm, dbm_command};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Customers, their orders and the orders' history (a sequence too): enough data that the
/// archive's data blocks dwarf its table of contents.
const SHOP: (&str, &str) = (
    "V1__shop.sql",
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);\n\
     INSERT INTO customers SELECT g, 'customer ' || g, md5(g::text) || '@example.com' FROM generate_series(1, 5000) g;\n\
     CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers (id), total NUMERIC(10, 2), note TEXT);\n\
     INSERT INTO orders SELECT g, 1 + g % 5000, g * 1.25, md5(g::text) FROM generate_series(1, 20000) g;\n\
     CREATE TABLE order_history (id BIGSERIAL PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders (id), status TEXT NOT NULL);\n\
     INSERT INTO order_history (order_id, status) SELECT g, 'placed' FROM generate_series(1, 20000) g;\n",
);

/// Applied after the backup: new table, changed and deleted rows.
const MORE: (&str, &str) = (
    "V2__invoices.sql",
    "CREATE TABLE invoices (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders (id));\n\
     INSERT INTO invoices SELECT g, g FROM generate_series(1, 100) g;\n\
     UPDATE customers SET name = 'renamed' WHERE id <= 10;\n\
     DELETE FROM order_history WHERE id > 19000;\n",
);

/// Every table's rows (the history table's too) and every relation in `public`.
type State = (Vec<(String, usize, u64)>, String, String);

fn state(db: &TestDb) -> State {
    let history = db.query("SELECT * FROM refinery_schema_history ORDER BY version");
    let relations =
        db.query("SELECT relname, relkind FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1, 2");
    (snapshot(db), history, relations)
}

/// The shop at version 2, its state at version 1, and the backup of version 1 (taken by the
/// run that applied V2). `keep = 10`: the restores' own backups never prune it; `settings` are
/// more backup settings.
fn shop(test: &str, settings: &str) -> (Fixture, TestDb, State, PathBuf) {
    let fixture = crate_with(test, &[SHOP]);
    configure(&fixture, &format!("keep = 10\n{settings}"));
    let db = TestDb::new(Backend::Postgres, test, fixture.path());
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    let at_v1 = state(&db);
    fixture.write(&format!("migrations/{}", MORE.0), MORE.1);
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    assert_eq!(db.versions(), vec![1, 2]);
    let backup = backups(fixture.path()).into_iter().find(|b| b["version"] == 1).expect("a backup at version 1");
    (fixture, db, at_v1, PathBuf::from(backup["path"].as_str().expect("path")))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Damages the backup of version 1, restores it: refused, and not one row or relation changes.
/// The undamaged file then restores, so it was the damage that was refused.
fn damaged_backup_changes_nothing(test: &str, damage: fn(&Path)) {
    let (fixture, db, at_v1, backup) = shop(test, "");
    let id = backup.file_name().expect("name").to_string_lossy().into_owned();
    let pristine = std::fs::read(&backup).expect("read the backup");
    damage(&backup);
    rehash_manifest(&backup);
    let before = state(&db);

    let out = dbm(fixture.path(), &db.url, &["restore", &id, "--yes"]);
    assert_code(&out, 101);
    let err = stderr(&out);
    assert!(err.contains(&id) && err.contains("the database is unchanged"), "{err}");
    assert_eq!(state(&db), before, "every table, the history table and every relation as before");

    std::fs::write(&backup, pristine).expect("write the backup");
    rehash_manifest(&backup);
    assert_code(&dbm(fixture.path(), &db.url, &["restore", &id, "--yes"]), 0);
    assert_eq!(state(&db), at_v1);
}

#[test]
fn corrupt_backup_changes_nothing() {
    damaged_backup_changes_nothing("pgcorrupt", |path| {
        let mut bytes = std::fs::read(path).expect("read");
        let middle = bytes.len() / 2;
        bytes[middle..middle + 64].iter_mut().for_each(|b| *b ^= 0xa5);
        std::fs::write(path, bytes).expect("write");
    });
}

#[test]
fn backup_cut_at_a_block_boundary_changes_nothing() {
    damaged_backup_changes_nothing("pgcutblock", |path| {
        cut_before_data_of(path, "orders");
        assert!(pg_restore_list(path).status.success(), "`pg_restore --list` accepts the cut file");
    });
}

#[test]
fn backup_cut_in_the_middle_changes_nothing() {
    damaged_backup_changes_nothing("pgcutmid", |path| {
        let bytes = std::fs::read(path).expect("read");
        std::fs::write(path, &bytes[..bytes.len() / 2]).expect("write");
    });
}

fn pg_restore_list(path: &Path) -> Output {
    Command::new("pg_restore").arg("--list").arg(path).output().expect("run pg_restore --list")
}

/// Cuts a custom-format archive just before `table`'s data block. The table of contents comes
/// first; each data block is `1` (data), the entry's id, its chunks and an end marker `0`, each
/// integer a sign byte and `intSize` little-endian bytes (the header's 9th byte).
fn cut_before_data_of(path: &Path, table: &str) {
    let list = String::from_utf8_lossy(&pg_restore_list(path).stdout).into_owned();
    let entry = format!("TABLE DATA public {table} ");
    let line = list.lines().find(|l| l.contains(&entry)).unwrap_or_else(|| panic!("{entry} in:\n{list}"));
    let id: u64 = line.split(';').next().and_then(|n| n.trim().parse().ok()).expect("the entry's id");
    let bytes = std::fs::read(path).expect("read");
    let int_size = usize::from(bytes[8]);
    let mut block = vec![0; 1 + int_size];
    block.extend([1, 0]);
    block.extend(&id.to_le_bytes()[..int_size]);
    let at = bytes.windows(block.len()).position(|w| w == block).expect("the block after an end marker");
    std::fs::write(path, &bytes[..at + 1 + int_size]).expect("write");
}

/// The archive reads back fully, but the pg_restore that streams it dies part-way: the clean
/// and part of the data reached psql, no COMMIT did, and the database is as it was.
#[test]
fn pg_restore_dying_mid_stream_commits_nothing() {
    let bin = tempfile::tempdir().expect("tempdir");
    let dying = bin.path().join("pg_restore");
    write_script(
        &dying,
        "case \" $* \" in *\" --file=- \"*) pg_restore \"$@\" | head -c 300000; exit 1;; esac\nexec pg_restore \"$@\"\n",
    );
    let (fixture, db, _, backup) = shop("pgdies", &format!("pg-restore = \"{}\"", dying.display()));
    let id = backup.file_name().expect("name").to_string_lossy().into_owned();
    let before = state(&db);
    let out = dbm(fixture.path(), &db.url, &["restore", &id, "--yes"]);
    assert_code(&out, 101);
    let err = stderr(&out);
    assert!(err.contains("the restore's transaction was never committed"), "{err}");
    assert_eq!(state(&db), before);
}

fn write_script(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, format!("#!/bin/sh\n{body}")).expect("write script");
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(path, mode).expect("chmod");
}

/// A folder holding an old `pg_dump` that refuses the server as `pg_dump` 14.11 does, and an old
/// `pg_restore` that cannot read a newer archive, to put first on PATH.
fn old_clients(db: &TestDb) -> (tempfile::TempDir, OsString) {
    let server = db.query("SHOW server_version");
    let bin = tempfile::tempdir().expect("tempdir");
    write_script(
        &bin.path().join("pg_dump"),
        &format!(
            "echo 'pg_dump: error: aborting because of server version mismatch' >&2\n\
             echo 'pg_dump: detail: server version: {server}; pg_dump version: 14.11' >&2\nexit 1\n"
        ),
    );
    write_script(
        &bin.path().join("pg_restore"),
        "echo 'pg_restore: error: unsupported version (1.16) in file header' >&2\nexit 1\n",
    );
    let mut path = bin.path().as_os_str().to_owned();
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    (bin, path)
}

/// With an old pg_dump and pg_restore first on PATH, `run` backs up through the installed
/// `/usr/lib/postgresql/<server major>/bin/pg_dump`, verifies with the pg_restore beside it,
/// and `restore` puts that backup back through that pg_restore and psql.
#[test]
fn old_pg_dump_gives_way_to_the_installed_one() {
    let (fixture, db) = applied_v1(Backend::Postgres, "pgoldok");
    let major = db.query("SHOW server_version_num").parse::<u32>().expect("a number") / 10000;
    let installed = format!("/usr/lib/postgresql/{major}/bin/pg_dump");
    assert!(Path::new(&installed).is_file(), "this test needs the server's pg_dump at {installed}");
    let (_bin, path) = old_clients(&db);
    let old = |args: &[&str]| {
        dbm_command(fixture.path(), &db.url, args).env("PATH", &path).env_remove("DBMIGRATE_PG_INSTALLS").output()
    };
    let at_v1 = snapshot(&db);
    fixture.write(&format!("migrations/{}", V2.0), V2.1);

    let out = old(&["run"]).expect("run");
    assert_code(&out, 0);
    assert_eq!(db.versions(), vec![1, 2]);
    let backup = backups(fixture.path()).into_iter().find(|b| b["version"] == 1).expect("a backup at version 1");
    let id = backup["id"].as_str().expect("id");
    assert_code(&old(&["restore", id, "--yes"]).expect("restore"), 0);
    assert_eq!(db.versions(), vec![1]);
    assert_eq!(snapshot(&db), at_v1);
}

/// No installed pg_dump of the server's version (only a 13): the run is refused before
/// anything changes, naming the server's version, the old pg_dump's and the ones found.
#[test]
fn old_pg_dump_without_an_installed_match_is_refused() {
    let (fixture, db) = applied_v1(Backend::Postgres, "pgoldno");
    let (_bin, path) = old_clients(&db);
    let installs = tempfile::tempdir().expect("tempdir");
    write_script(&installs.path().join("13/bin/pg_dump"), "exit 1\n");
    fixture.write(&format!("migrations/{}", V2.0), V2.1);
    let out = dbm_command(fixture.path(), &db.url, &["run"])
        .env("PATH", &path)
        .env("DBMIGRATE_PG_INSTALLS", installs.path())
        .output()
        .expect("run");
    assert_code(&out, 101);
    let err = stderr(&out);
    let server = db.query("SHOW server_version");
    assert!(err.contains(&format!("older than the PostgreSQL server ({server})")), "{err}");
    assert!(err.contains("pg_dump 14.11") && err.contains("(found: 13)"), "{err}");
    assert!(err.contains("hint:") && err.contains("pg-dump"), "{err}");
    assert_eq!(db.versions(), vec![1], "nothing migrated");
}
