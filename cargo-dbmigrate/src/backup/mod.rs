//! Backups before a deploy changes the database, their retention, and restoring them.
//!
//! Each backend uses the database's own tool (SQLite's online backup API, `pg_dump -Fc`,
//! `mariadb-dump`), writes to a temp file in the backup folder, flushes it, verifies it, and
//! only then renames it to its final name beside its manifest (source, version, kind, SHA-256);
//! so a file with a final name is always a verified backup, and a crash leaves at most a
//! hidden `.dbm-backup-*` temp file, which the next backup of the same source removes.
//! Retention and `--latest` only ever look at backups of the same source, and a restore only
//! takes a backup that [`verify`] passed again just before.

pub mod config;
pub mod conn;
pub mod manifest;
mod mysql;
mod pg;
pub mod source;
mod sqlite;
pub mod tools;

pub use config::BackupConfig;
pub use manifest::{Kind, Manifest};
pub use source::Source;

use crate::CliError;
use camino::{Utf8Path, Utf8PathBuf};
use std::path::Path;

/// A backup file in the backup folder.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Backup {
    /// The file name, which is also the id `restore` takes.
    pub id: String,
    pub path: Utf8PathBuf,
    pub database: String,
    /// The version the database was at (`None`: nothing applied).
    pub version: Option<i64>,
    /// UTC, `YYYYMMDDTHHMMSSZ`.
    pub time: String,
    pub bytes: u64,
    /// The record beside it; `None` for a backup of an older cargo-dbmigrate, which is listed
    /// but never chosen, pruned or restored without `--from-other-source`.
    #[serde(skip)]
    pub manifest: Option<Manifest>,
    /// Orders backups taken within the same second.
    #[serde(skip)]
    modified: Option<std::time::SystemTime>,
}

impl Backup {
    /// The source this backup was taken of, when its manifest says.
    pub fn source(&self) -> Option<&str> {
        self.manifest.as_ref().map(|m| m.source.as_str())
    }

    /// Why it was taken, when its manifest says.
    pub fn kind(&self) -> Option<Kind> {
        self.manifest.as_ref().map(|m| m.kind)
    }
}

const EXTENSIONS: &[&str] = &["sqlite", "pgdump", "sql"];

/// Backups of one source and version within one second, before giving up on a name.
const MAX_SAME_SECOND: u32 = 1000;

/// The temp-file prefix of a backup of `source` in progress: a crash leaves it behind, and the
/// next backup of the same source (under the same migration lock) removes it.
fn temp_prefix(source: &Source) -> String {
    let key = dbmigrate_core::stable_hash::fnv1a(source.key().as_bytes());
    format!(".dbm-backup-{:08x}-", key as u32)
}

/// Takes, verifies and stores a backup with its manifest. Retention is the caller's: a backup
/// is only pruned once the operation it protects has succeeded.
pub fn take(source: &Source, config: &BackupConfig, version: Option<i64>, kind: Kind) -> Result<Backup, CliError> {
    create_dir(&config.dir)?;
    remove_stale_temps(&config.dir, &temp_prefix(source));
    let tmp = tempfile::Builder::new()
        .prefix(&temp_prefix(source))
        .suffix(".tmp")
        .tempfile_in(&config.dir)
        .map_err(|e| dir_error(&config.dir, &e))?;
    let dumped = match source {
        Source::Sqlite(db) => sqlite::dump(db, tmp.path())?,
        Source::Postgres(conn) => pg::dump(conn, config, tmp.path())?,
        Source::Mysql(conn) => mysql::dump(conn, config, tmp.path())?,
    };
    // Written through another handle; flush it to disk before the rename publishes it.
    let file = std::fs::File::open(tmp.path()).map_err(|e| file_error(tmp.path(), "flush", &e))?;
    file.sync_all().map_err(|e| file_error(tmp.path(), "flush", &e))?;
    verify_contents(source, config, tmp.path())?;
    let tools::Dumped { tool, sha256, bytes } = dumped;
    let record = Manifest { kind, ..Manifest::new(source, version, utc_stamp(), tool, bytes, sha256) };
    publish(tmp, source, config, record)
}

/// The engine's own check that a backup file is complete and readable.
fn verify_contents(source: &Source, config: &BackupConfig, path: &Path) -> Result<(), CliError> {
    match source {
        Source::Sqlite(_) => sqlite::verify(path),
        Source::Postgres(_) => pg::verify(config, path),
        Source::Mysql(_) => mysql::verify(path),
    }
}

/// Removes what a killed backup of the same source left behind.
fn remove_stale_temps(dir: &Utf8Path, prefix: &str) {
    for path in stale_temps(dir).into_iter().filter(|p| p.file_name().is_some_and(|n| n.starts_with(prefix))) {
        let _ = std::fs::remove_file(path);
    }
}

/// The temp files of backups that never finished (of any source), with the side files SQLite
/// keeps beside a database it was writing (`-journal`, `-wal`, `-shm`).
pub fn stale_temps(dir: &Utf8Path) -> Vec<Utf8PathBuf> {
    let Ok(entries) = dir.read_dir_utf8() else { return Vec::new() };
    let is_temp = |name: &str| {
        let base = ["-journal", "-wal", "-shm"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name);
        name.starts_with(".dbm-backup-") && base.ends_with(".tmp")
    };
    entries.filter_map(Result::ok).filter(|e| is_temp(e.file_name())).map(|e| e.path().to_owned()).collect()
}

/// Publishes the verified temp file under its final name (never over another backup), with
/// its manifest written first: a backup file always has its record, and a crash between the
/// two leaves only a manifest without a backup, which nothing reads.
fn publish(
    mut tmp: tempfile::NamedTempFile,
    source: &Source,
    config: &BackupConfig,
    record: Manifest,
) -> Result<Backup, CliError> {
    let version_text = dbmigrate_core::version::display(record.version);
    let stem = format!("{}-{version_text}-{}", record.database, record.time);
    // The time has seconds only: a name taken in the same second gets a counter at once
    // (waiting for the next second was a 1 s stall of quick deploys).
    for n in 1..=MAX_SAME_SECOND {
        let id = match n {
            1 => format!("{stem}.{}", source.extension()),
            n => format!("{stem}-{n}.{}", source.extension()),
        };
        let path = config.dir.join(&id);
        if path.exists() {
            continue;
        }
        record.write(&path)?;
        match tmp.persist_noclobber(&path) {
            Ok(file) => {
                sync_dir(&config.dir);
                let modified = file.metadata().and_then(|m| m.modified()).ok();
                return Ok(backup_of(id, path, record, modified));
            }
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => tmp = e.file,
            Err(e) => {
                let _ = std::fs::remove_file(manifest::path_of(&path));
                return Err(file_error(path.as_std_path(), "create", &e.error));
            }
        }
    }
    Err(CliError::failure(format!("could not find a free backup name in `{}`", config.dir)))
}

fn backup_of(id: String, path: Utf8PathBuf, record: Manifest, modified: Option<std::time::SystemTime>) -> Backup {
    Backup {
        id,
        path,
        database: record.database.clone(),
        version: record.version,
        time: record.time.clone(),
        bytes: record.bytes,
        manifest: Some(record),
        modified,
    }
}

fn utc_stamp() -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::now_utc().format(&format).unwrap_or_default()
}

/// Makes the rename durable (best effort: not every file system supports it).
fn sync_dir(dir: &Utf8Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn create_dir(dir: &Utf8Path) -> Result<(), CliError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    // 0700: a backup holds every row of the database.
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| dir_error(dir, &e))
}

fn dir_error(dir: &Utf8Path, e: &std::io::Error) -> CliError {
    let err = CliError::failure(format!("cannot write to the backup folder `{dir}`: {e}; nothing was changed"));
    match e.kind() {
        std::io::ErrorKind::StorageFull => err.hint("the disk is full: free space, or set `dir` to another disk"),
        _ => err.hint("make the folder writable, or set `dir = \"...\"` in `[package.metadata.dbmigrate.backup]`"),
    }
    .hint("or pass --no-backup to migrate without a backup")
}

fn file_error(path: &Path, what: &str, e: &std::io::Error) -> CliError {
    let err = CliError::failure(format!("cannot {what} the backup `{}`: {e}", path.display()));
    if e.kind() == std::io::ErrorKind::StorageFull {
        err.hint("the disk is full: free space, or set `dir` in `[package.metadata.dbmigrate.backup]`")
    } else {
        err
    }
}

/// Every backup in `dir`, of every source, oldest first. A missing folder has none.
pub fn list(dir: &Utf8Path) -> Result<Vec<Backup>, CliError> {
    let entries = match dir.read_dir_utf8() {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CliError::failure(format!("cannot read the backup folder `{dir}`: {e}"))),
    };
    let mut out: Vec<Backup> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let id = e.file_name().to_owned();
            let (database, version, time) = parse_name(&id)?;
            let meta = e.metadata().ok()?;
            let path = e.path().to_owned();
            let manifest = Manifest::read(&path);
            let (bytes, modified) = (meta.len(), meta.modified().ok());
            Some(Backup { id, path, database, version, time, bytes, manifest, modified })
        })
        .collect();
    out.sort_by(|a, b| (&a.time, a.modified, &a.id).cmp(&(&b.time, b.modified, &b.id)));
    Ok(out)
}

/// The backups of one source, oldest first (never one without a manifest).
pub fn of_source(dir: &Utf8Path, source: &Source) -> Result<Vec<Backup>, CliError> {
    let key = source.key();
    Ok(list(dir)?.into_iter().filter(|b| b.source() == Some(key.as_str())).collect())
}

/// `<database>-<version|none>-<time>[-<n>].<ext>` → its parts (`n` counts backups taken
/// within the same second); other files are not backups.
fn parse_name(id: &str) -> Option<(String, Option<i64>, String)> {
    if id.starts_with('.') {
        return None;
    }
    let (stem, ext) = id.rsplit_once('.')?;
    if !EXTENSIONS.contains(&ext) {
        return None;
    }
    // A time ends with `Z`, so a last part of digits can only be the counter.
    let stem = match stem.rsplit_once('-') {
        Some((rest, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && rest.ends_with('Z') => rest,
        _ => stem,
    };
    let mut parts = stem.rsplitn(3, '-');
    let time = parts.next()?;
    let version = parts.next()?;
    let database = parts.next()?;
    let valid_time = time.len() == 16 && time.ends_with('Z') && time.as_bytes()[8] == b'T';
    let version = if version == dbmigrate_core::version::NONE { None } else { Some(version.parse().ok()?) };
    valid_time.then(|| (database.to_owned(), version, time.to_owned()))
}

/// Deletes the oldest backups of `source` of `kind` beyond `keep`; the newest is always kept,
/// and so is anything in `protect` (the backup being restored, the one just taken). Backups of
/// other sources, of other kinds, and without a manifest are never touched.
pub fn prune(
    dir: &Utf8Path,
    source: &Source,
    kind: Kind,
    keep: usize,
    protect: &[&Utf8Path],
) -> Result<Vec<Backup>, CliError> {
    let pool: Vec<Backup> = of_source(dir, source)?.into_iter().filter(|b| b.kind() == Some(kind)).collect();
    let excess = pool.len().saturating_sub(keep.max(1));
    let mut deleted = Vec::new();
    for backup in pool.into_iter().take(excess) {
        if protect.contains(&backup.path.as_path()) {
            continue;
        }
        delete(&backup)?;
        deleted.push(backup);
    }
    Ok(deleted)
}

/// Deletes a backup and its manifest.
pub fn delete(backup: &Backup) -> Result<(), CliError> {
    std::fs::remove_file(&backup.path).map_err(|e| {
        CliError::failure(format!("cannot delete the backup `{}`: {e}", backup.path))
            .hint("make the backup folder writable, or delete old backups by hand")
    })?;
    let _ = std::fs::remove_file(manifest::path_of(&backup.path));
    Ok(())
}

/// Records a backup as taken before a failed deploy that changed something: it is kept, and
/// never counts against (or is rotated out by) the successful deploys' `keep`.
pub fn mark_failed(backup: &Backup) -> Result<(), CliError> {
    match &backup.manifest {
        Some(m) => Manifest { kind: Kind::Failed, ..m.clone() }.write(&backup.path),
        None => Ok(()),
    }
}

/// A backup that passed [`verify`]: the only kind [`restore`] takes.
#[derive(Debug, Clone, Copy)]
pub struct Verified<'a>(&'a Backup);

/// Checks, before anything is changed, that `backup` is exactly the file its manifest
/// describes (size and SHA-256), and for SQLite that it passes `PRAGMA integrity_check`. The
/// server engines check their format as the first step of their restore, before they touch
/// the database (PostgreSQL reads the whole archive, MySQL/MariaDB checks the trailer and
/// replays into a scratch database), so the file is read once for that, not twice.
pub fn verify<'a>(source: &Source, config: &BackupConfig, backup: &'a Backup) -> Result<Verified<'a>, CliError> {
    let unchanged = |e: CliError| {
        let mut e = e;
        e.message.push_str(&format!("; the database `{}` was not changed", source.database()));
        e.hint("the backup is damaged or incomplete: restore another one (`cargo dbmigrate backups` lists them)")
    };
    if let Some(m) = &backup.manifest {
        let path = backup.path.as_std_path();
        let (sha256, bytes) = manifest::sha256(path).map_err(|e| file_error(path, "read", &e))?;
        if sha256 != m.sha256 || bytes != m.bytes {
            let what = if bytes == m.bytes { "its SHA-256" } else { "its size" };
            return Err(unchanged(CliError::failure(format!(
                "the backup `{}` is not the file that was taken: {what} differs from its manifest",
                backup.id
            ))));
        }
    }
    if let Source::Sqlite(_) = source {
        verify_contents(source, config, backup.path.as_std_path()).map_err(unchanged)?;
    }
    Ok(Verified(backup))
}

/// Puts the database back to the state of a verified backup.
pub fn restore(source: &Source, config: &BackupConfig, backup: Verified<'_>) -> Result<(), CliError> {
    let backup = backup.0;
    match source {
        Source::Sqlite(db) => sqlite::restore(db, backup.path.as_std_path()),
        Source::Postgres(conn) => pg::restore(conn, config, backup.path.as_std_path()),
        Source::Mysql(conn) => mysql::restore(conn, config, backup.path.as_std_path()),
    }
}

/// The backup named `id` (a file name, or a path).
pub fn find(dir: &Utf8Path, id: &str) -> Result<Backup, CliError> {
    let name = Path::new(id).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    list(dir)?.into_iter().find(|b| b.id == name).ok_or_else(|| {
        CliError::usage(format!("no backup `{id}` in `{dir}`"))
            .hint("`cargo dbmigrate backups` lists them; or pass --latest")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(
            parse_name("my-app-20260101120000-20261125T162224Z.pgdump"),
            Some(("my-app".into(), Some(20260101120000), "20261125T162224Z".into()))
        );
        assert_eq!(parse_name("app-none-20261125T162224Z.sql"), Some(("app".into(), None, "20261125T162224Z".into())));
        assert_eq!(parse_name(".dbm-backup-x.tmp"), None);
        assert_eq!(parse_name("notes.txt"), None);
        assert_eq!(parse_name("app-x-20261125T162224Z.sql"), None);
        assert_eq!(
            parse_name("app-3-20261125T162224Z-2.sqlite"),
            Some(("app".into(), Some(3), "20261125T162224Z".into()))
        );
        assert_eq!(parse_name("app-3-20261125T162224Z-.sqlite"), None);
    }
}
