//! One connection per dialect behind a small trait: the engine plans and
//! sequences, a backend sends SQL, reads the history, takes the lock, and
//! declares how its database commits DDL and which failures are transient.
//!
//! Every wait on the network is bounded. The bound `B` is the url's `connect_timeout`, else
//! [`Options::connect_timeout`](crate::Options) (10 s by default), at least 1 s:
//!
//! - PostgreSQL (tokio-postgres on a runtime of ours): the tcp connect, the TLS negotiation and
//!   handshake and the authentication together get one deadline of `B` (a `prefer` fallback to
//!   plain text gets what is left of it). The history reads get `B` each, and each poll of the
//!   advisory lock gets `B`, on top of the `--lock-timeout` the polling loop waits.
//! - MySQL/MariaDB (the synchronous `mysql` crate, whose socket timeouts cannot change after
//!   connecting): the tcp connect is bounded by the driver's connect timeout `B`; the
//!   greeting, TLS and authentication run on a helper thread the caller waits `B` for (on
//!   expiry the thread is abandoned, blocked on a socket nobody reads, until the server answers
//!   or the process ends). The history reads run the same way, `B` each (on expiry the
//!   connection is abandoned with its thread). The lock connection runs only `GET_LOCK`, so its
//!   sockets carry a read timeout of `--lock-timeout + B` and a write timeout of `B`.
//! - Migration statements (and set-up SQL) may legitimately run for minutes and have no read
//!   timeout. A dead peer is found by TCP keepalives (first probe after 30 s idle, then every
//!   10 s, 3 probes) and `TCP_USER_TIMEOUT` of 60 s (unacknowledged data, Linux), so a
//!   vanished server fails a statement within about a minute; a live but stuck server keeps it
//!   waiting, as `psql` would.
//!
//! A bound that runs out is [`Error::Timeout`], naming the phase, and is transient.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::history::{HistoryState, RecordedDown, Table};
use crate::split::Statement;
use crate::url::{DatabaseUrl, Dialect};

#[cfg(feature = "mysql")]
pub(crate) mod mysql;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;
#[cfg(feature = "sqlite")]
mod sqlite_split;
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
    /// The connection, the server's load or a lock failed, not the SQL itself: decided by the
    /// backend from the driver's typed error ([`io_transient`], [`sqlstate_transient`],
    /// [`mysql_transient`]).
    pub transient: bool,
    /// A bounded read ran out (url, seconds, phase): reported as [`Error::Timeout`], whose
    /// hint names the option that sets the bound, rather than as a database error.
    pub timeout: Option<(String, u64, crate::error::Phase)>,
}

impl DbError {
    /// An error of ours (an unreadable row), never transient.
    pub fn plain(message: String) -> Self {
        DbError { message, code: None, offset: None, transient: false, timeout: None }
    }

    /// A bounded read that got no answer within `bound`: transient, since the server may answer
    /// the next try.
    #[allow(dead_code)]
    pub fn timed_out(url: &DatabaseUrl, bound: Duration, phase: crate::error::Phase) -> Self {
        let message = timed_out(url, bound, phase).to_string();
        DbError {
            message,
            code: None,
            offset: None,
            transient: true,
            timeout: Some((url.to_string(), bound.as_secs(), phase)),
        }
    }

    pub fn into_error(self, context: impl Into<String>) -> Error {
        if let Some((url, seconds, phase)) = self.timeout {
            return Error::Timeout { url, seconds, phase };
        }
        Error::Database { context: context.into(), message: self.message, code: self.code, transient: self.transient }
    }
}

/// How a database commits DDL, which decides how the engine sequences a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transactions {
    /// DDL is transactional (SQLite, PostgreSQL): a migration and its history row share one
    /// transaction (or the whole run does, in single-transaction mode); only a no-transaction
    /// file runs statement by statement behind a progress marker.
    PerMigration,
    /// DDL commits implicitly (MySQL/MariaDB): statements run one by one behind a progress
    /// marker in the side table, and a failure after the first leaves the migration dirty.
    Tracked,
}

/// What a statement run outside the engine's transaction may have left behind (SQLite), to
/// tell a no-transaction file that persisted nothing from one that is half applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Footprint {
    /// `PRAGMA schema_version`: changes with every committed schema change.
    pub schema_version: i64,
    /// Rows inserted, updated or deleted on this connection so far.
    pub changes: u64,
    /// A transaction (the file's own) is open on the connection.
    pub in_transaction: bool,
}

/// The migration lock, held until dropped: each variant owns what keeps it taken.
// The fields are never read: they are held only for their `Drop`, which releases the lock.
#[allow(dead_code)]
pub(crate) enum LockGuard {
    /// An in-memory SQLite database is private to its connection: nothing to lock.
    Unneeded,
    /// An exclusive lock on `<database>.dbmigrate-lock`, removed and released when dropped.
    #[cfg(feature = "sqlite")]
    File(sqlite::LockFile),
    /// A session advisory lock, released when its connection closes.
    #[cfg(feature = "postgres")]
    Postgres(Box<postgres::PgConn>),
    /// A `GET_LOCK` lock, released when its connection closes.
    #[cfg(feature = "mysql")]
    Mysql(Box<::mysql::Conn>),
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

    /// Whether the history is exactly `known` (see [`crate::Engine::is_up_to_date`]), asked
    /// without reading the rows; `None` when this backend cannot tell that way (the caller
    /// then reads and compares the rows).
    fn matches_history(&mut self, table: &Table, known: &[(i64, &str, u64)]) -> Result<Option<bool>, DbError> {
        let _ = (table, known);
        Ok(None)
    }

    /// The down texts recorded when migrations were applied (none when the table is absent).
    fn recorded_downs(&mut self, table: &Table) -> Result<Vec<RecordedDown>, DbError>;

    /// The SQL that opens a transaction for one migration.
    fn begin_sql(&self) -> &'static str {
        "BEGIN"
    }

    /// How this database commits DDL.
    fn transactions(&self) -> Transactions {
        Transactions::PerMigration
    }

    /// A script's statements when they are to be sent one by one, or `None` to send the
    /// script in one call.
    fn split<'s>(&self, sql: &'s str) -> Option<Vec<Statement<'s>>> {
        let _ = sql;
        None
    }

    /// A no-transaction script's statements, to run one by one behind a progress marker, or
    /// `None` to send the script in one call.
    fn split_tracked<'s>(&self, sql: &'s str) -> Option<Vec<Statement<'s>>> {
        self.split(sql)
    }

    /// Where the connection stands (see [`Footprint`]), or `None` where this backend cannot
    /// tell: the engine then counts every statement run outside its transaction as persisted.
    fn footprint(&mut self) -> Option<Footprint> {
        None
    }

    /// Takes the migration lock on a dedicated connection (or lock file), waiting up to
    /// `timeout`, so the connection that migrates stays free to open its own transactions.
    fn lock(&self, table: &Table, timeout: Duration) -> Result<LockGuard>;

    /// Who holds the migration lock (a pid, a connection, a client address), for a waiter's
    /// message; `None` when the backend cannot tell.
    fn lock_holder(&mut self, table: &Table) -> Option<String> {
        let _ = table;
        None
    }
}

/// Opens a migration connection and runs the set-up SQL on it. `lock_timeout` is SQLite's
/// busy timeout; `connect_timeout` bounds a server's handshake unless the url names its own;
/// `read_only` keeps SQLite from creating a missing file.
pub(crate) fn connect(
    url: &DatabaseUrl,
    setup_sql: Option<&str>,
    lock_timeout: Duration,
    connect_timeout: Duration,
    read_only: bool,
) -> Result<Box<dyn Backend>> {
    let mut conn = open(url, lock_timeout, bound(url, connect_timeout), read_only)?;
    if let Some(sql) = setup_sql.filter(|s| !dbmigrate_core::sql::is_blank(s)) {
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
fn open(url: &DatabaseUrl, lock_timeout: Duration, bound: Duration, read_only: bool) -> Result<Box<dyn Backend>> {
    match url.dialect() {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => Ok(Box::new(sqlite::SqliteBackend::connect(url, lock_timeout, read_only)?)),
        #[cfg(feature = "postgres")]
        Dialect::Postgres => Ok(Box::new(postgres::PgBackend::connect(url, bound)?)),
        #[cfg(feature = "mysql")]
        Dialect::Mysql => Ok(Box::new(mysql::MysqlBackend::connect(url, bound)?)),
        #[allow(unreachable_patterns)]
        other => Err(unsupported(other)),
    }
}

/// The bound on `url`'s network waits: its own `connect_timeout`, else the caller's, at least
/// 1 s (a zero bound would fail every connection).
pub(crate) fn bound(url: &DatabaseUrl, given: Duration) -> Duration {
    url.connect_timeout().unwrap_or(given).max(Duration::from_secs(1))
}

/// TCP keepalive and `TCP_USER_TIMEOUT` settings that find a dead peer during a long
/// statement (see the module docs): idle time, probe interval, probe count, user timeout.
#[allow(dead_code)]
pub(crate) const KEEPALIVE: (Duration, Duration, u32, Duration) =
    (Duration::from_secs(30), Duration::from_secs(10), 3, Duration::from_secs(60));

/// The error for a bound that ran out in `phase`.
#[allow(dead_code)]
pub(crate) fn timed_out(url: &DatabaseUrl, bound: Duration, phase: crate::error::Phase) -> Error {
    Error::Timeout { url: url.to_string(), seconds: bound.as_secs(), phase }
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

/// Whether an I/O failure is the connection's (refused, reset, timed out, unreachable…),
/// looked for down the `source()` chain, where drivers keep it.
pub(crate) fn io_transient(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return io_kind_transient(io.kind());
        }
        cur = e.source();
    }
    false
}

pub(crate) fn io_kind_transient(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        kind,
        ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | NotConnected
            | BrokenPipe
            | TimedOut
            | UnexpectedEof
            | Interrupted
            | HostUnreachable
            | NetworkUnreachable
            | NetworkDown
            | AddrNotAvailable
    )
}

/// PostgreSQL SQLSTATEs worth another try: connection exceptions (class 08), serialization
/// failure, deadlock, lock not available, the server starting up, too many connections.
pub(crate) fn sqlstate_transient(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "40001" | "40P01" | "55P03" | "57P03" | "53300")
}

/// MySQL/MariaDB error numbers worth another try: too many connections (1040), server
/// shutting down (1053), network read/write errors (1158-1161), lock wait timeout (1205),
/// deadlock (1213), and the client's can't connect / gone away / lost connection numbers
/// (2002, 2003, 2006, 2013), which this driver reports as I/O errors but a proxy may forward.
pub(crate) fn mysql_transient(number: u16, sqlstate: &str) -> bool {
    sqlstate.starts_with("08") || matches!(number, 1040 | 1053 | 1158..=1161 | 1205 | 1213 | 2002 | 2003 | 2006 | 2013)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_codes() {
        for code in ["08006", "08001", "40001", "40P01", "55P03", "57P03", "53300"] {
            assert!(sqlstate_transient(code), "{code}");
        }
        for code in ["42P01", "23505", "28P01", "42601", "22012"] {
            assert!(!sqlstate_transient(code), "{code}");
        }
        assert!(mysql_transient(1213, "40001") && mysql_transient(1205, "HY000") && mysql_transient(1040, "HY000"));
        assert!(mysql_transient(2013, "HY000") && mysql_transient(1047, "08S01"));
        assert!(!mysql_transient(1146, "42S02") && !mysql_transient(1045, "28000") && !mysql_transient(1064, "42000"));
    }

    #[test]
    fn transient_io() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(io_transient(&refused));
        assert!(!io_transient(&std::io::Error::from(std::io::ErrorKind::PermissionDenied)));
        assert!(!io_transient(&std::fmt::Error));
    }
}
