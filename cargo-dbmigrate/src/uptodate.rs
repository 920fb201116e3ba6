//! The no-op `run` that every deploy pays, made cheap.
//!
//! After a full, validated load the CLI remembers each migration's (version, name, refinery
//! checksum) together with a fingerprint of the migrations folder taken from file metadata
//! alone. When the fingerprint still matches, `run` asks the database one question
//! ([`Engine::is_up_to_date`]) instead of reading and hashing every file; any doubt (a
//! changed file, a racy timestamp, a cache that does not parse, a database that is not
//! exactly at the remembered set) falls back to the full, locked run.

use crate::workspace::Target;
use dbmigrate_core::Stamp;
use dbmigrate_core::stable_hash::{self, Fnv1a};
use dbmigrate_runtime::{Engine, MigrationScript};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// v2: the fingerprint is FNV-1a over explicit bytes; v1 used `std`'s `DefaultHasher`, whose
/// output may change with the Rust release that built the CLI.
const HEADER: &str = "dbmigrate-uptodate v2";

/// The remembered migrations: (version, name, refinery checksum).
pub type Known = Vec<(i64, String, u64)>;

/// The remembered migrations, if the folder is unchanged since they were validated.
pub fn known(target: &Target) -> Option<Known> {
    let (stored, known) = read_file(&cache_path(target))?;
    (fingerprint(target)? == stored).then_some(known)
}

/// The newest version (`None` for an empty set) when the database is exactly at `known`;
/// `None` from the outer option means "don't know": do the full run.
pub fn check(known: &Known, engine: &mut Engine) -> Option<Option<i64>> {
    let borrowed: Vec<(i64, &str, u64)> = known.iter().map(|(v, n, c)| (*v, n.as_str(), *c)).collect();
    engine.is_up_to_date(&borrowed).ok()?.then(|| known.iter().map(|(v, _, _)| *v).max())
}

/// Remembers a validated set, unless the folder changed too recently to be sure of it.
/// Failing to write is not an error: the next run just takes the full path.
pub fn remember(target: &Target, scripts: &[MigrationScript<'_>]) {
    let Some(fingerprint) = fingerprint(target) else { return };
    let path = cache_path(target);
    if read_file(&path).is_some_and(|(f, _)| f == fingerprint) {
        return;
    }
    let mut text = format!("{HEADER} {fingerprint:016x}\n");
    for s in scripts {
        let Ok(checksum) = s.checksum() else { return };
        text.push_str(&format!("{} {} {checksum}\n", s.version, s.name));
    }
    if path.parent().is_some_and(|p| std::fs::create_dir_all(p).is_ok()) {
        let _ = crate::fsutil::write_atomic(&path, &text);
    }
}

fn read_file(path: &Path) -> Option<(u64, Known)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let fingerprint = lines.next()?.strip_prefix(HEADER)?.trim();
    let fingerprint = u64::from_str_radix(fingerprint, 16).ok()?;
    let mut known = Vec::new();
    for line in lines {
        let mut fields = line.split(' ');
        let (v, n, c) = (fields.next()?, fields.next()?, fields.next()?);
        known.push((v.parse().ok()?, n.to_owned(), c.parse().ok()?));
    }
    Some((fingerprint, known))
}

/// `<target-dir>/dbmigrate/uptodate-<package>-<hash of the crate folder>`.
fn cache_path(target: &Target) -> PathBuf {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let root = target.manifest.workspace_root().ok().flatten().map(|m| m.dir().to_owned());
        root.unwrap_or_else(|| target.dir().as_std_path().to_owned()).join("target")
    });
    let crate_dir = stable_hash::fnv1a(target.dir().as_str().as_bytes());
    target_dir.join("dbmigrate").join(format!("uptodate-{}-{crate_dir:016x}", target.package))
}

/// A hash of everything the validated set depends on: the settings that choose the folder and
/// the history table, and every folder entry's name and [`Stamp`]. `None` when the folder
/// cannot be read, holds anything but regular files (a subfolder, a symlink, whose stamps do
/// not show changes inside or behind them), or holds a racy stamp ([`Stamp::is_racy`]).
fn fingerprint(target: &Target) -> Option<u64> {
    let dir = target.migrations_dir();
    let mut entries: Vec<(String, Stamp)> = std::fs::read_dir(&dir)
        .ok()?
        .map(|e| e.ok().and_then(|e| Some((e.file_name().into_string().ok()?, Stamp::of(&e.metadata().ok()?)?))))
        .collect::<Option<_>>()?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let now = dbmigrate_core::stamp::epoch_nanos(SystemTime::now())?;
    let mut h = Fnv1a::new()
        .str(&target.config.migrations)
        .str(&target.config.history_table)
        .field(dir.as_os_str().as_encoded_bytes());
    for (name, stamp) in &entries {
        if stamp.is_racy(now) {
            return None;
        }
        h = h.str(name).bytes(&stamp.to_le_bytes());
    }
    Some(h.finish())
}
