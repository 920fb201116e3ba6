//! The no-op `run` that every deploy pays, made cheap.
//!
//! After a full, validated load the CLI remembers each migration's (version, name, refinery
//! checksum) together with a fingerprint of the migrations folder taken from file metadata
//! alone. When the fingerprint still matches, `run` asks the database one question
//! ([`Engine::is_up_to_date`]) instead of reading and hashing every file; any doubt (a
//! changed file, a racy timestamp, a cache that does not parse, a database that is not
//! exactly at the remembered set) falls back to the full, locked run.
//!
//! The fingerprint is the folder's own stamp, its listing (names only) and the stamps of the
//! files an in-place edit of which could change what `run` does: every file but the up and
//! down files of released migrations (those in `dbmigrate.lock`). Those are not `stat`ed, so a
//! no-op costs one listing however many migrations have shipped; an in-place edit of one is
//! refused by `cargo build`, `check` and `status`, and the next change to the folder's
//! entries (a new file, a rename, an editor's save-by-rename) brings `run`'s full check back.
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

/// v4: the folder's stamp, its names, and the stamps of the watched files only (listed on the
/// second line); v3 hashed every entry's stamp, summed; v2 hashed the sorted list; v1 used
/// `std`'s `DefaultHasher`, whose output may change with the Rust release that built the CLI.
const HEADER: &str = "dbmigrate-uptodate v4";

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
    let (head, rest) = text.split_once('\n')?;
    let stored = u64::from_str_radix(head.strip_prefix(HEADER)?.trim(), 16).ok()?;
    let (watched, lines) = rest.split_once('\n')?;
    let watched: std::collections::HashSet<&str> = watched.split('/').filter(|n| !n.is_empty()).collect();
    let (now, _) = fingerprint(target, |name| watched.contains(name))?;
    (now == stored).then(|| Known { lines: lines.to_owned(), fingerprint: stored, cache })
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
    use dbmigrate_core::file_name::{down_file, up_file};
    let released: std::collections::HashSet<String> = scripts
        .iter()
        .filter(|s| s.released)
        .flat_map(|s| [up_file(s.version, &s.name), down_file(s.version, &s.name)])
        .collect();
    let Some((fingerprint, watched)) = fingerprint(target, |name| !released.contains(name)) else { return };
    let path = cache_path(target);
    if read_fingerprint(&path) == Some(fingerprint) {
        return;
    }
    // '/' cannot be in a file name; a newline can, and then the list would not parse back.
    if watched.iter().any(|n| n.contains('\n')) {
        return;
    }
    let mut text = format!("{HEADER} {fingerprint:016x}\n{}\n", watched.join("/"));
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
/// the history table, the folder's own stamp (any entry created, removed or renamed changes
/// it), every entry's name, and the [`Stamp`] of each entry `watch` names, which are returned
/// too. `None` when the folder cannot be read, holds anything but regular files (a subfolder,
/// a symlink, whose stamps do not show changes inside or behind them), or when the folder or
/// a watched file has a racy stamp ([`Stamp::is_racy`]).
///
/// Only watched entries are `stat`ed (the listing's file type needs none on common file
/// systems). Each entry is hashed on its own and the hashes summed, so the listing's order
/// does not matter and no entry is copied or sorted; the count is hashed too.
fn fingerprint(target: &Target, watch: impl Fn(&str) -> bool) -> Option<(u64, Vec<String>)> {
    let dir = target.migrations_dir();
    let now = dbmigrate_core::stamp::epoch_nanos(SystemTime::now())?;
    let folder = folder_stamp(&std::fs::metadata(&dir).ok()?, now)?;
    let (mut sum, mut count, mut watched) = (0u64, 0u64, Vec::new());
    for entry in std::fs::read_dir(&dir).ok()? {
        let entry = entry.ok()?;
        if !entry.file_type().ok()?.is_file() {
            return None;
        }
        let name = entry.file_name();
        // A name that is not UTF-8 cannot be listed in the cache: such a folder is never trusted.
        let text = name.to_str()?;
        let mut h = Fnv1a::new().field(text.as_bytes());
        if watch(text) {
            let stamp = Stamp::of(&entry.metadata().ok()?)?;
            if stamp.is_racy(now) {
                return None;
            }
            h = h.bytes(&stamp.to_le_bytes());
            watched.push(text.to_owned());
        }
        sum = sum.wrapping_add(h.finish());
        count += 1;
    }
    let h = Fnv1a::new()
        .str(&target.config.migrations)
        .str(&target.config.history_table)
        .field(dir.as_os_str().as_encoded_bytes())
        .bytes(&folder);
    Some((h.bytes(&count.to_le_bytes()).bytes(&sum.to_le_bytes()).finish(), watched))
}

/// The folder's own modification and change times and identity: a created, removed or renamed
/// entry (an editor saving by rename included) changes them. `None` while racy.
fn folder_stamp(meta: &std::fs::Metadata, now: i128) -> Option<[u8; 48]> {
    let mtime = dbmigrate_core::stamp::epoch_nanos(meta.modified().ok()?)?;
    if mtime + dbmigrate_core::stamp::RACY.as_nanos() as i128 > now {
        return None;
    }
    let mut out = [0u8; 48];
    out[..16].copy_from_slice(&mtime.to_le_bytes());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let ctime = i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec());
        out[16..32].copy_from_slice(&ctime.to_le_bytes());
        out[32..40].copy_from_slice(&meta.dev().to_le_bytes());
        out[40..].copy_from_slice(&meta.ino().to_le_bytes());
    }
    Some(out)
}
