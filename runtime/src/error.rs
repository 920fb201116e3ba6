//! One error type for the whole engine. Every message is lowercase and none
//! ever holds a password: database messages are scrubbed by the backend that
//! knows the secrets before they get here.

use std::fmt;
use std::time::Duration;

/// Which way a migration was being run when something failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Up => "up",
            Direction::Down => "down",
        })
    }
}

/// Everything the engine can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("invalid database url: {0}")]
    Url(String),
    #[error("support for {0} was not compiled in (enable the `{0}` feature)")]
    Unsupported(&'static str),
    #[error("invalid history table name `{0}`: use letters, digits and `_`, not starting with a digit")]
    TableName(String),
    #[error("invalid migration {file}: {reason}")]
    Script { file: String, reason: String },
    #[error("could not connect to {url}: {message}")]
    Connect {
        url: String,
        message: String,
        /// The server was unreachable or busy (refused, timed out, too many connections…),
        /// as opposed to refusing us (credentials, tls, a bad url).
        transient: bool,
    },
    /// The server accepted the connection (or not even that) but did not answer in time.
    #[error("timed out after {seconds}s {} {url} ({phase})", phase.doing())]
    Timeout { url: String, seconds: u64, phase: Phase },
    #[error("timed out after {seconds}s waiting for the migration lock on {url}; another migration may be running")]
    LockTimeout { url: String, seconds: u64 },
    #[error("{context}: {message}{}", code_suffix(.code))]
    Database {
        context: String,
        message: String,
        code: Option<String>,
        /// The connection or a lock failed (lost connection, deadlock, lock wait timeout…).
        transient: bool,
    },
    #[error("{direction} migration {file} failed{}: {message}{}{}",
        line_suffix(*.line), code_suffix(.code), dirty_suffix(*.dirty))]
    Migration {
        file: String,
        direction: Direction,
        line: Option<usize>,
        message: String,
        code: Option<String>,
        /// Statements outside a transaction (MySQL/MariaDB DDL, a no-transaction file)
        /// committed before the failure: the migration is half applied and marked dirty.
        dirty: bool,
        /// Nothing of the migration persists and the cause was the connection or a lock
        /// (deadlock, serialization failure…), not the script's SQL: a later try may succeed.
        transient: bool,
    },
    #[error("{direction} migration {file} gave up{} after waiting {} for a table lock another session holds \
             (the ddl-lock-timeout): {message}{}; nothing of it was applied",
        line_suffix(*.line), seconds(*.waited_ms), code_suffix(.code))]
    LockWait {
        file: String,
        direction: Direction,
        line: Option<usize>,
        /// The DDL lock timeout in force, in milliseconds.
        waited_ms: u32,
        message: String,
        code: Option<String>,
    },
    #[error(
        "migration {file} was left half applied ({direction}, {done} statement(s) done) by an earlier run; \
             fix the schema by hand, then run `repair` to mark it applied or pending"
    )]
    Dirty { file: String, version: i64, direction: Direction, done: u64 },
    #[error("applied migration(s) differ from their script (name or checksum): {}", .0.join(", "))]
    Divergent(Vec<String>),
    #[error("{}; no file was edited", anomaly_text(.file, *.version, .anomaly))]
    History { file: String, version: i64, anomaly: Anomaly },
    #[error("--single-transaction cannot make a run atomic on MySQL/MariaDB: DDL commits implicitly there")]
    SingleTransactionUnsupported,
    #[error("interrupted before the next migration; every migration so far was applied whole")]
    Interrupted,
    #[error("applied migration(s) have no script: {}", join_versions(.0))]
    Missing(Vec<i64>),
    #[error("pending migration(s) are older than the newest applied version {newest}: {}",
        .files.join(", "))]
    OutOfOrder { newest: i64, files: Vec<String> },
    #[error("two migration scripts have version {0}")]
    DuplicateVersion(i64),
    #[error("cannot revert {0}: it has no down script")]
    NoDown(String),
    #[error("cannot revert {0}: its down script is empty, the migration is irreversible")]
    Irreversible(String),
    /// An unreleased migration edited since it was applied, with no usable down text recorded
    /// when it was applied (`recorded`: one was, but it was empty or absent).
    #[error("cannot revert {file}: it was edited since it was applied, and {}",
        if *.recorded { "it had no down script (or an empty one) when it was applied" }
        else { "the down script it was applied with was not recorded (applied by refinery or an older dbmigrate)" })]
    NoRecordedDown { file: String, recorded: bool },
    #[error("no migration with version {0}")]
    UnknownVersion(i64),
    #[error("{0} must run outside a transaction and cannot be combined with single-transaction mode")]
    NoTransactionConflict(String),
    /// The call was abandoned before it changed anything (`run_embedded_async` reports a
    /// cancelled task with it).
    #[error("aborted before changing anything: {0}")]
    Aborted(String),
    /// A SQLite file that is not there, opened by a caller that only reads or by a url whose
    /// `mode` (`ro`, `rw`) does not create it.
    #[error("the sqlite database {path} does not exist{}", .mode.map(|m| format!(" (the url says mode={m}, which does not create it)")).unwrap_or_default())]
    NoSqliteFile { path: String, mode: Option<&'static str> },
    #[error(
        "the url opens the database read-only (mode=ro) and {changes} migration(s) would change it; nothing was changed"
    )]
    ReadOnlyUrl { changes: usize },
    #[error("i/o error on {path}: {message}")]
    Io { path: String, message: String },
}

impl Error {
    /// Whether a later try may succeed: nothing of the failed step persists, and the cause was
    /// the connection, the server's load or a lock, never a migration's own SQL. The backend
    /// that saw the driver's typed error decided it (io error kind, SQLSTATE, MySQL error
    /// number); a failure that left a migration half applied (dirty) never is.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::LockTimeout { .. } | Error::Timeout { .. } | Error::LockWait { .. } => true,
            Error::Connect { transient, .. } | Error::Database { transient, .. } => *transient,
            Error::Migration { transient, dirty, .. } => *transient && !*dirty,
            _ => false,
        }
    }
}

/// Where a bounded network wait was when it ran out, for [`Error::Timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The TCP connection was not established.
    TcpConnect,
    /// TLS negotiation (PostgreSQL's SSLRequest answer included) did not finish.
    TlsHandshake,
    /// The server's greeting, the login exchange or the session's first query did not finish.
    Authentication,
    /// A connected server did not answer a bounded query (the history or the lock).
    ReadingTheReply,
}

impl Phase {
    fn doing(self) -> &'static str {
        if self == Phase::ReadingTheReply { "waiting for" } else { "connecting to" }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::TcpConnect => "tcp connect",
            Phase::TlsHandshake => "tls handshake",
            Phase::Authentication => "authentication",
            Phase::ReadingTheReply => "reading the reply",
        })
    }
}

/// How the history's record of an applied migration differs from its file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Anomaly {
    /// The file's text changed since it was applied.
    Edited,
    /// The row names the migration differently (the name it was applied under).
    Renamed(String),
    /// The row has no (or no numeric) checksum: written by another tool, or by hand.
    NoChecksum,
    /// The history holds this many rows for the version.
    Duplicate(usize),
}

fn anomaly_text(file: &str, version: i64, anomaly: &Anomaly) -> String {
    match anomaly {
        Anomaly::Edited => format!("{file} was edited after it was applied"),
        Anomaly::Renamed(old) => format!("{file} is recorded in the history under another name, `{old}`"),
        Anomaly::NoChecksum => format!("the history row of {file} has no checksum"),
        Anomaly::Duplicate(n) => format!("the history holds {n} rows for version {version} ({file})"),
    }
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_ref().map(|c| format!(" (code {c})")).unwrap_or_default()
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|l| format!(" at line {l}")).unwrap_or_default()
}

fn dirty_suffix(dirty: bool) -> &'static str {
    if dirty {
        "; the migration is now half applied and marked dirty: fix the schema by hand, then run `repair`"
    } else {
        ""
    }
}

/// `5s`, `1.5s`.
fn seconds(ms: u32) -> String {
    format!("{}s", Duration::from_millis(u64::from(ms)).as_secs_f64())
}

fn join_versions(v: &[i64]) -> String {
    v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

/// Joins an error and its `source()` chain, skipping repeats, because some
/// drivers (postgres) put the useful message several levels down.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn migration(transient: bool, dirty: bool) -> Error {
        Error::Migration {
            file: "V1__a.sql".into(),
            direction: Direction::Up,
            line: Some(1),
            message: "boom".into(),
            code: Some("40P01".into()),
            dirty,
            transient,
        }
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let connect = |transient| Error::Connect { url: "x".into(), message: "m".into(), transient };
        assert!(Error::LockTimeout { url: "x".into(), seconds: 1 }.is_transient());
        assert!(connect(true).is_transient(), "refused, reset, timed out");
        assert!(!connect(false).is_transient(), "password authentication failed");
        assert!(migration(true, false).is_transient(), "deadlock, rolled back");
        assert!(!migration(true, true).is_transient(), "half applied on MariaDB: never");
        assert!(!migration(false, false).is_transient(), "a SQL error in a migration: never");
        assert!(!Error::Divergent(vec![]).is_transient());
        let timeout = Error::Timeout { url: "postgres://h/db".into(), seconds: 10, phase: Phase::TlsHandshake };
        assert!(timeout.is_transient(), "a stuck server may answer the next try");
        assert_eq!(timeout.to_string(), "timed out after 10s connecting to postgres://h/db (tls handshake)");
        let wait = Error::LockWait {
            file: "V2__email.sql".into(),
            direction: Direction::Up,
            line: Some(1),
            waited_ms: 1500,
            message: "canceling statement due to lock timeout".into(),
            code: Some("55P03".into()),
        };
        assert!(wait.is_transient(), "a lock wait that ran out changed nothing");
        assert_eq!(
            wait.to_string(),
            "up migration V2__email.sql gave up at line 1 after waiting 1.5s for a table lock another session holds \
             (the ddl-lock-timeout): canceling statement due to lock timeout (code 55P03); nothing of it was applied"
        );
    }
}
