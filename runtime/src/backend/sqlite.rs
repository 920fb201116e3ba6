//! SQLite through rusqlite. The lock is an exclusive lock on a side file
//! (`<database>.dbmigrate-lock`, removed when the lock is released), so the migration
//! connection itself stays free to open its own transactions.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::{Batch, Connection, OpenFlags};

use super::{Backend, DbError, Footprint, LockGuard, poll_lock};
use crate::error::{Error, Result};
use crate::history::{AppliedRow, DirtyMarker, HistoryState, RecordedDown, Table, parse_direction};
use crate::split::Statement;
use crate::url::{DatabaseUrl, SqliteMode, SqliteTarget};

pub(crate) struct SqliteBackend {
    conn: Connection,
    url: DatabaseUrl,
}

impl SqliteBackend {
    /// Opens the database as the url's `mode` says; `read_only` (a caller that only reads)
    /// also refuses to create a missing file, so a mistyped path is an error, not a new
    /// empty database reported as "nothing applied".
    pub fn connect(url: &DatabaseUrl, timeout: Duration, read_only: bool) -> Result<Self> {
        let fail = |e: rusqlite::Error| {
            let transient = db_error(&e).transient;
            Error::Connect { url: url.to_string(), message: e.to_string(), transient }
        };
        let mode = url.sqlite_mode().unwrap_or_default();
        let conn = match url.sqlite_target() {
            Some(SqliteTarget::File(path)) => {
                let create = mode == SqliteMode::ReadWriteCreate && !read_only;
                if !create && !path.exists() {
                    return Err(Error::NoSqliteFile { path: path.display().to_string(), mode: url_mode(mode) });
                }
                Connection::open_with_flags(path, open_flags(mode, create)).map_err(fail)?
            }
            _ => Connection::open_in_memory().map_err(fail)?,
        };
        // Other writers (the application) may hold the database briefly.
        conn.busy_timeout(timeout).map_err(fail)?;
        Ok(SqliteBackend { conn, url: url.clone() })
    }
}

/// `mode=ro` opens read-only, so any write fails in SQLite itself; otherwise read-write,
/// creating the file only when asked. Not `SQLITE_OPEN_URI`: the path is a path, even one
/// that starts with `file:`.
fn open_flags(mode: SqliteMode, create: bool) -> OpenFlags {
    let access = match mode {
        SqliteMode::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
        _ if create => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        _ => OpenFlags::SQLITE_OPEN_READ_WRITE,
    };
    access | OpenFlags::SQLITE_OPEN_NO_MUTEX
}

/// The `mode` the url itself asked for, when not the default.
fn url_mode(mode: SqliteMode) -> Option<&'static str> {
    (mode != SqliteMode::ReadWriteCreate).then(|| mode.as_str())
}

fn db_error(e: &rusqlite::Error) -> DbError {
    let failure = match e {
        rusqlite::Error::SqliteFailure(f, _) | rusqlite::Error::SqlInputError { error: f, .. } => Some(f),
        _ => None,
    };
    let code = failure.map(|f| format!("sqlite {}", f.extended_code));
    // Another connection held the database past the busy timeout: the statement did nothing.
    let transient = failure
        .is_some_and(|f| matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked));
    let message = match e {
        rusqlite::Error::SqlInputError { msg, .. } | rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        other => crate::error::chain(other),
    };
    let offset = match e {
        rusqlite::Error::SqlInputError { offset, .. } => usize::try_from(*offset).ok(),
        _ => None,
    };
    DbError { message, code, offset, transient, timeout: None }
}

/// How many bytes of `rest` the statement SQLite shows as `expanded` spans. SQLite gives each
/// statement its text from where the previous one ended (leading comments included), so the
/// statements tile the script; the expansion differs from that text only where an unbound
/// parameter (`?1`, `:a`, `@a`, `$a`) became `NULL`.
fn raw_len(rest: &[u8], expanded: &[u8]) -> usize {
    if rest.starts_with(expanded) {
        return expanded.len();
    }
    let (mut i, mut j) = (0, 0);
    while i < rest.len() && j < expanded.len() {
        if rest[i] == expanded[j] {
            (i, j) = (i + 1, j + 1);
        } else if matches!(rest[i], b'?' | b':' | b'@' | b'$' | b'#') && expanded[j..].starts_with(b"NULL") {
            let name = rest[i + 1..].iter().take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80);
            (i, j) = (i + 1 + name.count(), j + 4);
        } else {
            break;
        }
    }
    i
}

impl Backend for SqliteBackend {
    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        // SQLite parses a NUL-terminated text in place; without the NUL it copies the whole
        // remaining text before preparing each statement, which made a big script quadratic.
        let mut text = String::with_capacity(sql.len() + 1);
        text.push_str(sql);
        text.push('\0');
        let mut batch = Batch::new(&self.conn, &text);
        // Step statement by statement (like execute_batch) but keep track of where each one
        // starts, so an error can name its line.
        let mut cursor = 0;
        loop {
            let mut stmt = match batch.next() {
                Ok(Some(stmt)) => stmt,
                Ok(None) => return Ok(()),
                Err(e) => {
                    let mut err = db_error(&e);
                    // Without a token offset, point at the statement's start.
                    err.offset = Some(match err.offset {
                        Some(off) => cursor + off,
                        None => dbmigrate_core::sql::skip_trivia(sql, cursor),
                    });
                    return Err(err);
                }
            };
            let start = cursor;
            cursor += raw_len(&sql.as_bytes()[start..], stmt.expanded_sql().unwrap_or_default().as_bytes());
            let mut rows = stmt.raw_query();
            loop {
                match rows.next() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        let mut err = db_error(&e);
                        err.offset = Some(dbmigrate_core::sql::skip_trivia(sql, start));
                        return Err(err);
                    }
                }
            }
        }
    }

    fn load(&mut self, table: &Table, create: bool) -> Result<Option<HistoryState>, DbError> {
        if create {
            self.execute(&table.create_sql(crate::url::Dialect::Sqlite))?;
        } else if !self.table_exists(table.name())? {
            return Ok(None);
        }
        let mut stmt = self.conn.prepare(&table.select_sql()).map_err(|e| db_error(&e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(AppliedRow {
                    version: r.get(0)?,
                    name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    applied_on: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    checksum: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                })
            })
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .map_err(|e| db_error(&e))?;
        Ok(Some(HistoryState { rows, dirty: self.marker(table)? }))
    }

    fn recorded_downs(&mut self, table: &Table) -> Result<Vec<RecordedDown>, DbError> {
        if !self.table_exists(table.downs())? {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare(&table.select_downs_sql()).map_err(|e| db_error(&e))?;
        stmt.query_map([], |r| Ok(RecordedDown { version: r.get(0)?, checksum: r.get(1)?, down: r.get(2)? }))
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .map_err(|e| db_error(&e))
    }

    fn begin_sql(&self) -> &'static str {
        // Take the write lock up front: a deferred transaction that later
        // upgrades can fail with SQLITE_BUSY without waiting.
        "BEGIN IMMEDIATE"
    }

    fn split_tracked<'s>(&self, sql: &'s str) -> Option<Vec<Statement<'s>>> {
        Some(super::sqlite_split::split(sql))
    }

    fn lock(&self, _table: &Table, timeout: Duration) -> Result<LockGuard> {
        lock(&self.url, timeout)
    }

    fn footprint(&mut self) -> Option<Footprint> {
        let schema_version = self.conn.query_row("PRAGMA schema_version", [], |r| r.get(0)).ok()?;
        let (changes, in_transaction) = (self.conn.total_changes(), !self.conn.is_autocommit());
        Some(Footprint { schema_version, changes, in_transaction })
    }

    fn lock_holder(&mut self, _table: &Table) -> Option<String> {
        lock_holder(&self.url)
    }
}

impl SqliteBackend {
    /// The progress marker of an unfinished no-transaction file, when the side table exists.
    fn marker(&self, table: &Table) -> Result<Option<DirtyMarker>, DbError> {
        if !self.table_exists(&table.side())? {
            return Ok(None);
        }
        let mut stmt = self.conn.prepare(&table.select_side_sql()).map_err(|e| db_error(&e))?;
        let mut rows = stmt
            .query_map([], |r| {
                let direction: String = r.get(1)?;
                let done: i64 = r.get(2)?;
                Ok(DirtyMarker { version: r.get(0)?, direction: parse_direction(&direction), done: done.max(0) as u64 })
            })
            .map_err(|e| db_error(&e))?;
        rows.next().transpose().map_err(|e| db_error(&e))
    }

    fn table_exists(&self, name: &str) -> Result<bool, DbError> {
        self.conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n > 0)
            .map_err(|e| db_error(&e))
    }
}

/// The lock's side file: `<database>.dbmigrate-lock`, beside the database.
pub(crate) fn lock_path(db: &Path) -> PathBuf {
    let mut path = db.as_os_str().to_owned();
    path.push(".dbmigrate-lock");
    PathBuf::from(path)
}

/// The migration lock on SQLite: an exclusive lock on [`lock_path`], which holds the holder's
/// pid for a waiter's message. The file exists only while the lock is held (or waited for).
///
/// Removing it safely: the holder unlinks the file *while still holding the lock* (in `Drop`,
/// before the descriptor closes). A waiter that had opened the old file then gets the lock on
/// an inode no path leads to; so every migrator, once it has the lock, checks that the path
/// still names the inode it locked, and if not, opens the path afresh and tries again. Two
/// migrators therefore never hold locks on different inodes both believing they hold the
/// lock. Where inodes cannot be compared (not Unix), the file is left in place.
pub(crate) struct LockFile {
    // Held, never read: closing it releases the lock.
    #[allow(dead_code)]
    file: File,
    path: PathBuf,
}

impl Drop for LockFile {
    fn drop(&mut self) {
        // Best effort: a file left behind only costs a stray file, never correctness.
        #[cfg(unix)]
        let _ = std::fs::remove_file(&self.path);
        // `self.file` closes after this body, which releases the lock.
    }
}

/// Whether `path` still names the file `file` has open.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// Takes the lock; in-memory databases are private to their connection and need none.
fn lock(url: &DatabaseUrl, timeout: Duration) -> Result<LockGuard> {
    let Some(SqliteTarget::File(db)) = url.sqlite_target() else {
        return Ok(LockGuard::Unneeded);
    };
    let path = lock_path(db);
    let io = |e: std::io::Error| Error::Io { path: path.display().to_string(), message: e.to_string() };
    let open = || OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&path).map_err(io);
    let mut held: Option<File> = None;
    poll_lock(url, timeout, || {
        loop {
            let file = match held.take() {
                Some(file) => file,
                None => open()?,
            };
            match file.try_lock() {
                Ok(()) if same_file(&file, &path) => {
                    held = Some(file);
                    return Ok(true);
                }
                // The previous holder removed the file as it let go: lock the one at the path now.
                Ok(()) => continue,
                Err(std::fs::TryLockError::WouldBlock) => {
                    held = Some(file);
                    return Ok(false);
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
    })?;
    let Some(mut file) = held else { return Err(io(std::io::Error::other("the lock file was not kept open"))) };
    // Who holds it, for a waiter's message; the lock does not depend on it.
    let _ = file.set_len(0).and_then(|()| write!(file, "{}", std::process::id()));
    Ok(LockGuard::File(LockFile { file, path }))
}

/// Who holds the lock on `url`'s file, as well as the side file tells.
fn lock_holder(url: &DatabaseUrl) -> Option<String> {
    let Some(SqliteTarget::File(db)) = url.sqlite_target() else { return None };
    let path = lock_path(db);
    let pid = std::fs::read_to_string(&path).ok().and_then(|t| t.trim().parse::<u32>().ok());
    Some(match pid {
        Some(pid) => format!("process {pid} (lock file {})", path.display()),
        None => format!("another process (lock file {})", path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line an error of `sql` is reported on, run against a fresh in-memory database.
    fn error_line(sql: &str) -> usize {
        let url = DatabaseUrl::parse("sqlite::memory:", std::path::Path::new("/")).expect("url");
        let mut db = SqliteBackend::connect(&url, Duration::from_secs(1), false).expect("connect");
        let err = db.execute(sql).expect_err("fails");
        dbmigrate_core::sql::line_of(sql, err.offset.expect("an offset"))
    }

    #[test]
    fn run_time_errors_name_their_statement() {
        let sql = "-- head\nCREATE TABLE t (x INT PRIMARY KEY);\n/* a;\n b */ INSERT INTO t VALUES (1);;\n;\n\
                   INSERT INTO t VALUES ('a\n;b');\nINSERT INTO t\n  VALUES (1);\nSELECT 1;";
        assert_eq!(error_line(sql), 8);
    }

    #[test]
    fn parse_errors_name_their_token() {
        assert_eq!(error_line("CREATE TABLE t (x INT);\n\nSELECT 'a\nb';\nSELEC x;"), 5);
        // SQLite gives no token for a missing table: the statement's first line, past comments.
        assert_eq!(error_line("CREATE TABLE t (x INT);\n-- c\nSELECT x\n  FROM nope;"), 3);
    }

    #[test]
    fn trigger_bodies_and_unbound_parameters_keep_the_count() {
        let sql = "CREATE TABLE t (x INT);\nCREATE TRIGGER g AFTER INSERT ON t BEGIN\n  SELECT 1;\n  SELECT 2;\nEND;\n\
                   SELECT ?1, :name, @a, $b, ?;\nINSERT INTO t VALUES (1);\nINSERT INTO nope VALUES (1);";
        assert_eq!(error_line(sql), 8);
    }

    #[test]
    fn raw_len_skips_what_became_null() {
        assert_eq!(raw_len(b"SELECT 1; SELECT 2;", b"SELECT 1;"), 9);
        assert_eq!(raw_len(b"SELECT ?1, :ab;\nx", b"SELECT NULL, NULL;"), 15);
        assert_eq!(raw_len(b"SELECT 1;", b""), 0);
    }
}
