//! SQLite through rusqlite. The lock is an exclusive lock on a side file, so
//! the migration connection itself stays free to open its own transactions.

use std::fs::{File, OpenOptions};
use std::time::Duration;

use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::{Batch, Connection};

use super::{Backend, DbError, LockGuard, poll_lock};
use crate::error::{Error, Result};
use crate::history::{AppliedRow, DirtyMarker, HistoryState, Table, parse_direction};
use crate::split::Statement;
use crate::url::{DatabaseUrl, SqliteTarget};

pub(crate) struct SqliteBackend {
    conn: Connection,
    url: DatabaseUrl,
}

impl SqliteBackend {
    pub fn connect(url: &DatabaseUrl, timeout: Duration) -> Result<Self> {
        let fail = |e: rusqlite::Error| {
            let transient = db_error(&e).transient;
            Error::Connect { url: url.to_string(), message: e.to_string(), transient }
        };
        let conn = match url.sqlite_target() {
            Some(SqliteTarget::File(path)) => Connection::open(path).map_err(fail)?,
            _ => Connection::open_in_memory().map_err(fail)?,
        };
        // Other writers (the application) may hold the database briefly.
        conn.busy_timeout(timeout).map_err(fail)?;
        Ok(SqliteBackend { conn, url: url.clone() })
    }
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

/// An exclusive lock on `<database>.dbmigrate-lock`; in-memory databases are
/// private to their connection and need none.
fn lock(url: &DatabaseUrl, timeout: Duration) -> Result<LockGuard> {
    let Some(SqliteTarget::File(path)) = url.sqlite_target() else {
        return Ok(LockGuard::Unneeded);
    };
    let mut lock_path = path.clone().into_os_string();
    lock_path.push(".dbmigrate-lock");
    let io = |e: std::io::Error| Error::Io {
        path: std::path::Path::new(&lock_path).display().to_string(),
        message: e.to_string(),
    };
    let file: File = OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(io)?;
    poll_lock(url, timeout, || match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    })?;
    // Dropping the file closes it, which releases the lock.
    Ok(LockGuard::File(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line an error of `sql` is reported on, run against a fresh in-memory database.
    fn error_line(sql: &str) -> usize {
        let url = DatabaseUrl::parse("sqlite::memory:", std::path::Path::new("/")).expect("url");
        let mut db = SqliteBackend::connect(&url, Duration::from_secs(1)).expect("connect");
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
