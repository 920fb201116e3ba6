//! One connection per dialect behind a small trait: the engine plans and
//! sequences, a backend only sends SQL and reads the history.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::history::{HistoryState, Table};
use crate::url::{DatabaseUrl, Dialect};

#[cfg(feature = "mysql")]
pub(crate) mod mysql;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;
#[cfg(feature = "postgres")]
mod tls;

/// A failure reported by the database, already scrubbed of secrets.
#[derive(Debug, Clone)]
pub(crate) struct DbError {
    pub message: String,
    /// SQLSTATE, or the MySQL error number with its SQLSTATE.
    pub code: Option<String>,
    /// Byte offset into the SQL that was sent, when the database tells.
    pub offset: Option<usize>,
}

impl DbError {
    pub fn into_error(self, context: impl Into<String>) -> Error {
        Error::Database { context: context.into(), message: self.message, code: self.code }
    }
}

/// A connection used to run migrations.
pub(crate) trait Backend {
    /// Runs SQL text. SQLite and PostgreSQL accept several statements;
    /// MySQL gets one statement at a time. Result sets are drained.
    fn execute(&mut self, sql: &str) -> Result<(), DbError>;

    /// Reads the history (and side table). With `create`, creates the tables
    /// first, in the same round trip where the dialect allows. Without it,
    /// returns `None` when the history table does not exist.
    fn load(&mut self, table: &Table, create: bool) -> Result<Option<HistoryState>, DbError>;

    /// The SQL that opens a transaction for one migration.
    fn begin_sql(&self) -> &'static str {
        "BEGIN"
    }
}

/// Held while migrating; dropping it releases the lock.
pub(crate) type LockGuard = Box<dyn std::any::Any>;

/// Opens a migration connection and runs the set-up SQL on it.
pub(crate) fn connect(url: &DatabaseUrl, setup_sql: Option<&str>, timeout: Duration) -> Result<Box<dyn Backend>> {
    let mut conn = open(url, timeout)?;
    if let Some(sql) = setup_sql.filter(|s| !crate::script::is_blank(s)) {
        run_setup(conn.as_mut(), url.dialect(), sql)?;
    }
    Ok(conn)
}

fn run_setup(conn: &mut dyn Backend, dialect: Dialect, sql: &str) -> Result<()> {
    let statements: Vec<&str> = if dialect == Dialect::Mysql {
        crate::split::split_mysql(sql).into_iter().map(|s| s.sql).collect()
    } else {
        vec![sql]
    };
    for s in statements {
        conn.execute(s).map_err(|e| e.into_error("the connection set-up sql failed"))?;
    }
    Ok(())
}

#[allow(unused_variables)]
fn open(url: &DatabaseUrl, timeout: Duration) -> Result<Box<dyn Backend>> {
    match url.dialect() {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => Ok(Box::new(sqlite::SqliteBackend::connect(url, timeout)?)),
        #[cfg(feature = "postgres")]
        Dialect::Postgres => Ok(Box::new(postgres::PgBackend::connect(url, timeout)?)),
        #[cfg(feature = "mysql")]
        Dialect::Mysql => Ok(Box::new(mysql::MysqlBackend::connect(url, timeout)?)),
        #[allow(unreachable_patterns)]
        other => Err(unsupported(other)),
    }
}

/// Takes the migration lock on a dedicated connection (or lock file).
#[allow(unused_variables)]
pub(crate) fn lock(url: &DatabaseUrl, table: &Table, timeout: Duration) -> Result<LockGuard> {
    match url.dialect() {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => sqlite::lock(url, timeout),
        #[cfg(feature = "postgres")]
        Dialect::Postgres => postgres::lock(url, table, timeout),
        #[cfg(feature = "mysql")]
        Dialect::Mysql => mysql::lock(url, table, timeout),
        #[allow(unreachable_patterns)]
        other => Err(unsupported(other)),
    }
}

#[allow(dead_code)]
fn unsupported(d: Dialect) -> Error {
    Error::Unsupported(match d {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgres => "postgres",
        Dialect::Mysql => "mysql",
    })
}

/// Polls `try_once` until it returns true or `timeout` passes, sleeping
/// briefly between tries so no transaction or snapshot is held while waiting.
#[allow(dead_code)]
pub(crate) fn poll_lock(
    url: &DatabaseUrl,
    timeout: Duration,
    mut try_once: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let start = std::time::Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        if try_once()? {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            return Err(Error::LockTimeout { url: url.to_string(), seconds: timeout.as_secs() });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}
