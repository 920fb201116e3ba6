//! The DDL lock timeout: the SQL that bounds how long a migration waits for a lock another
//! session holds, and how a wait that ran out is recognised.

use std::time::Duration;

use crate::url::Dialect;

/// MySQL/MariaDB have no "no limit" value: a year is the largest both accept for
/// `lock_wait_timeout`.
const MYSQL_NO_LIMIT_SECS: u64 = 31_536_000;

/// Where a PostgreSQL setting holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Until the migration's transaction ends (`SET LOCAL`): nothing to undo.
    Transaction,
    /// For the session, around a no-transaction file; undone by [`reset_sql`].
    Session,
}

/// The statement that bounds lock waits for the next statements, or `None` where the
/// dialect has no such setting (SQLite waits on its busy timeout, the migration lock's).
/// A zero timeout waits without limit. MySQL's setting is per session, set once per run.
pub(crate) fn set_sql(dialect: Dialect, timeout: Duration, scope: Scope) -> Option<String> {
    match dialect {
        Dialect::Postgres => {
            let set = if scope == Scope::Transaction { "SET LOCAL" } else { "SET" };
            Some(format!("{set} lock_timeout = '{}ms'", timeout.as_millis()))
        }
        Dialect::Mysql => {
            // Whole seconds, at least one: zero would mean "do not wait at all".
            let secs = if timeout.is_zero() { MYSQL_NO_LIMIT_SECS } else { timeout.as_secs_f64().ceil() as u64 };
            Some(format!("SET SESSION lock_wait_timeout = {secs}, innodb_lock_wait_timeout = {secs}"))
        }
        Dialect::Sqlite => None,
    }
}

/// Undoes a [`Scope::Session`] setting after a no-transaction file.
pub(crate) fn reset_sql(dialect: Dialect) -> Option<&'static str> {
    (dialect == Dialect::Postgres).then_some("RESET lock_timeout")
}

/// Makes PostgreSQL look for a vanished client while a statement runs or waits for a lock:
/// without it, the statement of a killed CLI stays queued behind the lock until it is granted
/// or times out, and everything queued behind it waits too. PostgreSQL 14 and later.
pub(crate) fn watch_client_sql(dialect: Dialect) -> Option<&'static str> {
    (dialect == Dialect::Postgres).then_some("SET client_connection_check_interval = '1000ms'")
}

/// Whether a failure is a lock wait that ran out: PostgreSQL's `lock_not_available` (55P03),
/// MySQL/MariaDB's 1205 (`Lock wait timeout exceeded`, also for metadata locks).
pub(crate) fn timed_out(code: Option<&str>) -> bool {
    code.is_some_and(|c| c == "55P03" || c.starts_with("1205,"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements() {
        let five = Duration::from_secs(5);
        assert_eq!(
            set_sql(Dialect::Postgres, five, Scope::Transaction).as_deref(),
            Some("SET LOCAL lock_timeout = '5000ms'")
        );
        assert_eq!(
            set_sql(Dialect::Postgres, Duration::ZERO, Scope::Session).as_deref(),
            Some("SET lock_timeout = '0ms'")
        );
        let my = set_sql(Dialect::Mysql, Duration::from_millis(1500), Scope::Session).expect("mysql");
        assert_eq!(my, "SET SESSION lock_wait_timeout = 2, innodb_lock_wait_timeout = 2");
        assert!(set_sql(Dialect::Mysql, Duration::ZERO, Scope::Session).expect("mysql").contains("= 31536000"));
        assert_eq!(set_sql(Dialect::Sqlite, five, Scope::Transaction), None);
    }

    #[test]
    fn recognised() {
        assert!(timed_out(Some("55P03")) && timed_out(Some("1205, sqlstate HY000")));
        assert!(!timed_out(Some("40P01")) && !timed_out(Some("12050, sqlstate HY000")) && !timed_out(None));
    }
}
