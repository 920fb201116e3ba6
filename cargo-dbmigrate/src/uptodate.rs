//! The no-op `run` that every deploy pays, made cheap.
//!
//! After a full, validated load the CLI remembers each migration's (version, name, refinery
//! checksum) together with a fingerprint of the migrations folder taken from file metadata
//! alone. When the fingerprint still matches, `run` asks the database one question
//! ([`Engine::is_up_to_date`]) instead of reading and hashing every file; any doubt (a
//! changed file, a racy timestamp, a cache that does not parse, a database that is not
//! exactly at the remembered set) falls back to the full, locked run.
//!
//! On SQLite even that question costs SQLite parsing the whole schema (a CREATE statement per
//! table, ~17 M instructions for 1,000 tables); so once the answer was yes, the database
//! file's committed state ([`sqlite_state`]) is remembered too, and while it is unchanged the
//! file is not opened through SQLite at all.

use crate::workspace::Target;
use dbmigrate_core::Stamp;
use dbmigrate_core::stable_hash::Fnv1a;
use dbmigrate_runtime::{Engine, MigrationScript, SqliteTarget};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// v3: the folder's entries are hashed one by one and summed (no sorting, no allocation per
/// file); v2 hashed the sorted list; v1 used `std`'s `DefaultHasher`, whose output may change
/// with the Rust release that built the CLI.
const HEADER: &str = "dbmigrate-uptodate v3";

/// The remembered migrations, if the folder is unchanged since they were validated.
pub struct Known {
    /// `<version> <name> <refinery checksum>` lines, parsed only when the history is read.
    lines: String,
    /// The folder's fingerprint they were validated at.
    fingerprint: u64,
    /// Where a database found exactly at them is remembered.
    cache: PathBuf,
}

/// The remembered migrations, if the folder is unchanged since they were validated.
pub fn known(target: &Target) -> Option<Known> {
    let cache = cache_path(target);
    let text = std::fs::read_to_string(&cache).ok()?;
    let (head, lines) = text.split_once('\n')?;
    let stored = u64::from_str_radix(head.strip_prefix(HEADER)?.trim(), 16).ok()?;
    (fingerprint(target)? == stored).then(|| Known { lines: lines.to_owned(), fingerprint: stored, cache })
}

/// The newest version (`None` for an empty set) when the database is exactly at `known`;
/// `None` from the outer option means "don't know": do the full run.
pub fn check(known: &Known, engine: &mut Engine) -> Option<Option<i64>> {
    let file = match engine.url().sqlite_target() {
        Some(SqliteTarget::File(path)) => Some(path.clone()),
        _ => None,
    };
    let before = file.as_deref().and_then(|f| sqlite_state(f, known.fingerprint));
    let seen_path = db_cache_path(&known.cache);
    if before.is_some() && read_db_file(&seen_path) == before {
        // Only the newest version is needed: no line is copied.
        let versions = known.lines.lines().map(|line| line.split(' ').next()?.parse::<i64>().ok());
        return versions.collect::<Option<Vec<i64>>>().map(|v| v.into_iter().max());
    }
    let set = parse_set(&known.lines)?;
    let newest = set.iter().map(|(v, _, _)| *v).max();
    if !engine.is_up_to_date(&set).ok()? {
        return None;
    }
    // Remembered only when nothing committed during the read: the state then held `known`.
    if let Some(state) = before
        && file.as_deref().and_then(|f| sqlite_state(f, known.fingerprint)) == Some(state)
    {
        let _ = crate::fsutil::write_atomic(&seen_path, &format!("{DB_HEADER} {state:016x}\n"));
    }
    Some(newest)
}

/// v1: FNV-1a of the folder's fingerprint, the file's path, identity, stamp and header.
const DB_HEADER: &str = "dbmigrate-uptodate-db v1";

/// `<cache>-db`: the state of the SQLite file last found exactly at the cached set.
fn db_cache_path(cache: &Path) -> PathBuf {
    let mut path = cache.as_os_str().to_owned();
    path.push("-db");
    PathBuf::from(path)
}

fn read_db_file(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    u64::from_str_radix(text.trim_end().strip_prefix(DB_HEADER)?.trim(), 16).ok()
}

/// A hash of a rollback-journal SQLite file's committed state, read without SQLite: its path,
/// device and inode, its [`Stamp`] (every write changes mtime/ctime) and its 100-byte header,
/// whose change counter every committed transaction increments. `None` ("don't know") in WAL
/// mode (commits go to the `-wal` file), while a journal or `-wal` file is not empty (a write
/// in progress, or one to roll back), for a racy stamp, or when the file cannot be read.
///
/// Why it is safe without a lock: a writer writes the file only while its journal exists, so
/// a header read before the journal was seen absent shows a state that was committed at that
/// moment; the stamp is checked again after, so a write in between is seen.
fn sqlite_state(db: &Path, fingerprint: u64) -> Option<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open(db).ok()?;
    let meta = file.metadata().ok()?;
    let stamp = Stamp::of(&meta)?;
    let mut header = [0u8; 100];
    file.read_exact(&mut header).ok()?;
    let wal = header[18] == 2 || header[19] == 2;
    if !header.starts_with(b"SQLite format 3\0") || wal || busy(db, "-journal") || busy(db, "-wal") {
        return None;
    }
    let now = dbmigrate_core::stamp::epoch_nanos(SystemTime::now())?;
    if stamp.is_racy(now) || Stamp::of(&std::fs::metadata(db).ok()?) != Some(stamp) {
        return None;
    }
    let mut h = Fnv1a::new().bytes(&fingerprint.to_le_bytes()).field(db.as_os_str().as_encoded_bytes());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        h = h.bytes(&meta.dev().to_le_bytes()).bytes(&meta.ino().to_le_bytes());
    }
    Some(h.bytes(&stamp.to_le_bytes()).bytes(&header).finish())
}

/// Whether `<db><suffix>` exists and is not empty (a missing one cannot hide a write).
fn busy(db: &Path, suffix: &str) -> bool {
    let mut path = db.as_os_str().to_owned();
    path.push(suffix);
    match std::fs::metadata(PathBuf::from(path)) {
        Ok(meta) => meta.len() > 0,
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    }
}

/// Remembers a validated set, unless the folder changed too recently to be sure of it.
/// Failing to write is not an error: the next run just takes the full path.
pub fn remember(target: &Target, scripts: &[MigrationScript<'_>]) {
    let Some(fingerprint) = fingerprint(target) else { return };
    let path = cache_path(target);
    if read_fingerprint(&path) == Some(fingerprint) {
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

/// The fingerprint a cache file was written at.
fn read_fingerprint(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    u64::from_str_radix(text.lines().next()?.strip_prefix(HEADER)?.trim(), 16).ok()
}

/// (version, name, refinery checksum) of each cached line; `None` when one does not parse.
fn parse_set(lines: &str) -> Option<Vec<(i64, &str, u64)>> {
    lines
        .lines()
        .map(|line| {
            let mut fields = line.split(' ');
            let (v, n, c) = (fields.next()?, fields.next()?, fields.next()?);
            Some((v.parse().ok()?, n, c.parse().ok()?))
        })
        .collect()
}

/// `<target-dir>/dbmigrate/uptodate-<package>-<hash of the crate folder>`.
fn cache_path(target: &Target) -> PathBuf {
    let (dir, stem) = target.cache_place();
    dir.join(format!("uptodate-{stem}"))
}

/// A hash of everything the validated set depends on: the settings that choose the folder and
/// the history table, and every folder entry's name and [`Stamp`]. `None` when the folder
/// cannot be read, holds anything but regular files (a subfolder, a symlink, whose stamps do
/// not show changes inside or behind them), or holds a racy stamp ([`Stamp::is_racy`]).
///
/// Each entry is hashed on its own and the hashes summed, so the listing's order does not
/// matter and no entry is copied or sorted; the count is hashed too.
fn fingerprint(target: &Target) -> Option<u64> {
    let dir = target.migrations_dir();
    let now = dbmigrate_core::stamp::epoch_nanos(SystemTime::now())?;
    let (mut sum, mut count) = (0u64, 0u64);
    for entry in std::fs::read_dir(&dir).ok()? {
        let entry = entry.ok()?;
        let stamp = Stamp::of(&entry.metadata().ok()?)?;
        if stamp.is_racy(now) {
            return None;
        }
        let name = entry.file_name();
        sum = sum.wrapping_add(Fnv1a::new().field(name.as_encoded_bytes()).bytes(&stamp.to_le_bytes()).finish());
        count += 1;
    }
    let h = Fnv1a::new()
        .str(&target.config.migrations)
        .str(&target.config.history_table)
        .field(dir.as_os_str().as_encoded_bytes());
    Some(h.bytes(&count.to_le_bytes()).bytes(&sum.to_le_bytes()).finish())
}
