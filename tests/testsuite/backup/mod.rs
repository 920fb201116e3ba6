//! Deploy safety through the real binary, on real servers: backups before `run`, retention,
//! `--restore-on-failure`, `restore`, and the refusals when no backup can be taken. Each test
//! makes its own database and drops it at the end, also when it fails.

use crate::db::{assert_code, crate_with, json};
use dbmigrate_tests::{Backend, Fixture, TestDb, dbm};
use std::path::Path;

mod failure;
mod mysql_restore;
mod pg_restore;
mod restore;
mod retention;
mod safety;
mod same_second;
mod two_servers;

/// The first migration: two tables with data.
pub const V1: (&str, &str) = (
    "V1__base.sql",
    "CREATE TABLE t1 (id INTEGER PRIMARY KEY, v VARCHAR(50) NOT NULL);\n\
     CREATE TABLE t2 (id INTEGER PRIMARY KEY, n INTEGER);\n\
     INSERT INTO t1 (id, v) VALUES (1, 'a'), (2, 'b'), (3, 'c');\n\
     INSERT INTO t2 (id, n) VALUES (1, 10), (2, 20);\n",
);

/// A second migration that changes schema and data.
pub const V2: (&str, &str) = (
    "V2__more.sql",
    "CREATE TABLE t3 (id INTEGER PRIMARY KEY);\n\
     INSERT INTO t3 (id) VALUES (7);\n\
     UPDATE t1 SET v = 'changed' WHERE id = 1;\n\
     DELETE FROM t2 WHERE id = 2;\n",
);

/// A crate with `V1` applied to a fresh database.
pub fn applied_v1(backend: Backend, test: &str) -> (Fixture, TestDb) {
    let fixture = crate_with(test, &[V1]);
    let db = TestDb::new(backend, test, fixture.path());
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    assert_eq!(db.versions(), vec![1]);
    (fixture, db)
}

/// Every user table with its row count and a checksum of all its rows (every column).
pub fn snapshot(db: &TestDb) -> Vec<(String, usize, u64)> {
    db.tables()
        .into_iter()
        .map(|t| {
            let rows = db.query(&format!("SELECT * FROM {t} ORDER BY 1"));
            let count = rows.lines().filter(|l| !l.is_empty()).count();
            (t, count, fnv(&rows))
        })
        .collect()
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The backups `backups --format json` lists for the fixture.
pub fn backups(dir: &Path) -> Vec<serde_json::Value> {
    let out = dbmigrate_tests::cli().current_dir(dir).args(["backups", "--format", "json"]).output().expect("run");
    assert_code(&out, 0);
    json(&out)["backups"].as_array().cloned().unwrap_or_default()
}

/// Appends a `[package.metadata.dbmigrate.backup]` table to the fixture's manifest.
pub fn configure(fixture: &Fixture, table: &str) {
    let manifest = fixture.read("Cargo.toml");
    fixture.write("Cargo.toml", &format!("{manifest}\n[package.metadata.dbmigrate.backup]\n{table}\n"));
}

/// After a test damaged `backup` on purpose: points its manifest (`<backup>.json`) at the
/// damaged bytes, so that what must catch the damage is the engine's own check, not the
/// checksum. Does nothing when there is no manifest.
pub fn rehash_manifest(backup: &Path) {
    use sha2::Digest;
    let manifest = std::path::PathBuf::from(format!("{}.json", backup.display()));
    let Ok(text) = std::fs::read_to_string(&manifest) else { return };
    let mut record: serde_json::Value = serde_json::from_str(&text).expect("a json manifest");
    let bytes = std::fs::read(backup).expect("read the backup");
    let hex: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    record["sha256"] = hex.into();
    record["bytes"] = bytes.len().into();
    std::fs::write(&manifest, serde_json::to_string_pretty(&record).expect("json")).expect("write the manifest");
}
