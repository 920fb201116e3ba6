//! Backups before a deploy changes the database, their retention, and restoring them.
//!
//! Each backend uses the database's own tool (SQLite's online backup API, `pg_dump -Fc`,
//! `mariadb-dump`), writes to a temp file in the backup folder, flushes it, verifies it, and
//! only then renames it to its final name; so a file with a final name is always a verified
//! backup, and a crash leaves at most a hidden `.dbm-backup-*` temp file.

pub mod config;
pub mod conn;
mod mysql;
mod pg;
mod sqlite;
pub mod tools;

pub use config::BackupConfig;

use crate::CliError;
use camino::{Utf8Path, Utf8PathBuf};
use conn::ServerConn;
use dbmigrate_runtime::{DatabaseUrl, Dialect, SqliteTarget};
use std::path::Path;
use std::time::Duration;

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
    /// Orders backups taken within the same second.
    #[serde(skip)]
    modified: Option<std::time::SystemTime>,
}

/// The database a backup is taken of, or restored into.
#[derive(Debug, Clone)]
pub enum Source {
    Sqlite(std::path::PathBuf),
    Postgres(ServerConn),
    Mysql(ServerConn),
}

impl Source {
    /// The source for a URL; `None` for an in-memory SQLite database (nothing to keep).
    pub fn of(url: &DatabaseUrl) -> Result<Option<Self>, CliError> {
        Ok(Some(match url.dialect() {
            Dialect::Sqlite => match url.sqlite_target() {
                Some(SqliteTarget::File(path)) => Source::Sqlite(path.clone()),
                _ => return Ok(None),
            },
            Dialect::Postgres => Source::Postgres(ServerConn::of(url)?),
            Dialect::Mysql => Source::Mysql(ServerConn::of(url)?),
        }))
    }

    /// The database's name, as used in backup file names.
    pub fn database(&self) -> String {
        let raw = match self {
            Source::Sqlite(path) => path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
            Source::Postgres(c) | Source::Mysql(c) => c.database.clone(),
        };
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
    }

    fn extension(&self) -> &'static str {
        match self {
            Source::Sqlite(_) => "sqlite",
            Source::Postgres(_) => "pgdump",
            Source::Mysql(_) => "sql",
        }
    }
}

const EXTENSIONS: &[&str] = &["sqlite", "pgdump", "sql"];

/// Takes, verifies and stores a backup; prunes older ones down to `config.keep`.
pub fn take(source: &Source, config: &BackupConfig, version: Option<i64>) -> Result<Backup, CliError> {
    create_dir(&config.dir)?;
    let tmp = tempfile::Builder::new()
        .prefix(".dbm-backup-")
        .suffix(".tmp")
        .tempfile_in(&config.dir)
        .map_err(|e| dir_error(&config.dir, &e))?;
    match source {
        Source::Sqlite(db) => sqlite::dump(db, tmp.path())?,
        Source::Postgres(conn) => pg::dump(conn, config, tmp.path())?,
        Source::Mysql(conn) => mysql::dump(conn, config, tmp.path())?,
    }
    // The tool wrote through its own handle; flush it to disk before the rename publishes it.
    let file = std::fs::File::open(tmp.path()).map_err(|e| file_error(tmp.path(), "flush", &e))?;
    file.sync_all().map_err(|e| file_error(tmp.path(), "flush", &e))?;
    match source {
        Source::Sqlite(_) => sqlite::verify(tmp.path())?,
        Source::Postgres(_) => pg::verify(config, tmp.path())?,
        Source::Mysql(_) => mysql::verify(tmp.path())?,
    }
    let backup = publish(tmp, source, config, version)?;
    prune(&config.dir, &backup.database, config.keep, &[])?;
    Ok(backup)
}

/// Renames the verified temp file to its final name, never over an existing backup.
fn publish(
    mut tmp: tempfile::NamedTempFile,
    source: &Source,
    config: &BackupConfig,
    version: Option<i64>,
) -> Result<Backup, CliError> {
    let database = source.database();
    let version_text = dbmigrate_core::version::display(version);
    for _ in 0..3 {
        let time = utc_stamp();
        let id = format!("{database}-{version_text}-{time}.{}", source.extension());
        let path = config.dir.join(&id);
        match tmp.persist_noclobber(&path) {
            Ok(file) => {
                let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
                sync_dir(&config.dir);
                let modified = file.metadata().and_then(|m| m.modified()).ok();
                return Ok(Backup { id, path, database, version, time, bytes, modified });
            }
            // Two backups in the same second: the name carries seconds only, so wait for the next.
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                tmp = e.file;
                std::thread::sleep(Duration::from_millis(1000));
            }
            Err(e) => return Err(file_error(path.as_std_path(), "create", &e.error)),
        }
    }
    Err(CliError::failure(format!("could not find a free backup name in `{}`", config.dir)))
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
    let err = CliError::failure(format!("cannot write to the backup folder `{}`: {e}; nothing was changed", dir));
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

/// Every backup in `dir`, oldest first. A missing folder has none.
pub fn list(dir: &Utf8Path) -> Result<Vec<Backup>, CliError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CliError::failure(format!("cannot read the backup folder `{}`: {e}", dir))),
    };
    let mut out: Vec<Backup> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let id = e.file_name().to_str()?.to_owned();
            let meta = e.metadata().ok()?;
            let (bytes, modified) = (meta.len(), meta.modified().ok());
            let path = Utf8PathBuf::from_path_buf(e.path()).ok()?;
            parse_name(&id).map(|(database, version, time)| Backup {
                path,
                id,
                database,
                version,
                time,
                bytes,
                modified,
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.time, a.modified, &a.id).cmp(&(&b.time, b.modified, &b.id)));
    Ok(out)
}

/// `<database>-<version|none>-<time>.<ext>` → its parts; other files are not backups.
fn parse_name(id: &str) -> Option<(String, Option<i64>, String)> {
    if id.starts_with('.') {
        return None;
    }
    let (stem, ext) = id.rsplit_once('.')?;
    if !EXTENSIONS.contains(&ext) {
        return None;
    }
    let mut parts = stem.rsplitn(3, '-');
    let time = parts.next()?;
    let version = parts.next()?;
    let database = parts.next()?;
    let valid_time = time.len() == 16 && time.ends_with('Z') && time.as_bytes()[8] == b'T';
    let version = if version == dbmigrate_core::version::NONE { None } else { Some(version.parse().ok()?) };
    valid_time.then(|| (database.to_owned(), version, time.to_owned()))
}

/// Deletes the oldest backups of `database` beyond `keep`; the newest is always kept, and so
/// is anything in `protect` (the backup being restored).
pub fn prune(dir: &Utf8Path, database: &str, keep: usize, protect: &[Utf8PathBuf]) -> Result<Vec<Backup>, CliError> {
    let mine: Vec<Backup> = list(dir)?.into_iter().filter(|b| b.database == database).collect();
    let excess = mine.len().saturating_sub(keep.max(1));
    let mut deleted = Vec::new();
    for backup in mine.into_iter().take(excess) {
        if protect.contains(&backup.path) {
            continue;
        }
        std::fs::remove_file(&backup.path).map_err(|e| {
            CliError::failure(format!("cannot delete the old backup `{}`: {e}", backup.path))
                .hint("make the backup folder writable, or delete old backups by hand")
        })?;
        deleted.push(backup);
    }
    Ok(deleted)
}

/// Puts the database back to the backup's state.
pub fn restore(source: &Source, config: &BackupConfig, backup: &Backup) -> Result<(), CliError> {
    match source {
        Source::Sqlite(db) => sqlite::restore(db, backup.path.as_std_path()),
        Source::Postgres(conn) => pg::restore(conn, config, backup.path.as_std_path()),
        Source::Mysql(conn) => mysql::restore(conn, config, backup.path.as_std_path()),
    }
}

/// The backup named `id` (a file name, or a path) for `database`.
pub fn find(dir: &Utf8Path, id: &str) -> Result<Backup, CliError> {
    let name = Path::new(id).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    list(dir)?.into_iter().find(|b| b.id == name).ok_or_else(|| {
        CliError::usage(format!("no backup `{id}` in `{}`", dir))
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
    }
}
