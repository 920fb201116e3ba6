//! PostgreSQL through the `postgres` crate, simple query protocol only, so a
//! file with many statements is one `batch_execute`. No TLS: a URL asking for
//! `sslmode=require` fails to connect with a clear message.

use std::str::FromStr;
use std::time::Duration;

use postgres::error::ErrorPosition;
use postgres::{Client, NoTls, SimpleQueryMessage};

use super::{Backend, DbError, LockGuard, poll_lock};
use crate::error::{Error, Result};
use crate::history::{AppliedRow, HistoryState, Table};
use crate::url::DatabaseUrl;

pub(crate) struct PgBackend {
    client: Client,
    url: DatabaseUrl,
}

impl PgBackend {
    pub fn connect(url: &DatabaseUrl, timeout: Duration) -> Result<Self> {
        Ok(PgBackend { client: open(url, timeout)?, url: url.clone() })
    }
}

/// Connects with the user's parameters; the password goes in through the
/// config API, never through a string that an error could echo.
fn open(url: &DatabaseUrl, timeout: Duration) -> Result<Client> {
    let fail = |message: String| Error::Connect { url: url.to_string(), message: url.scrub(&message) };
    let server = url.server_url().ok_or_else(|| fail("not a postgres url".into()))?;
    let mut clean = server.clone();
    let _ = clean.set_password(None);
    let _ = clean.set_username("");
    clean.set_query(None);
    let params = url.public_params();
    if !params.is_empty() {
        clean.query_pairs_mut().extend_pairs(params);
    }
    let text = clean.as_str().replacen("postgres://", "postgresql://", 1);
    let mut config = postgres::Config::from_str(&text).map_err(|e| fail(crate::error::chain(&e)))?;
    if let Some(user) = url.user() {
        config.user(&user);
    }
    if let Some(password) = url.password() {
        config.password(password);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(timeout.max(Duration::from_secs(1)));
    }
    let wants_tls = config.get_ssl_mode() == postgres::config::SslMode::Require;
    config.connect(NoTls).map_err(|e| {
        let mut message = pg_error(&e, "").message;
        if wants_tls {
            message.push_str(" (this build has no tls support; sslmode=require cannot be met)");
        }
        fail(message)
    })
}

/// The server's own message (three `source()` levels down in `postgres`),
/// its SQLSTATE and the byte offset it points at in `sql`.
fn pg_error(e: &postgres::Error, sql: &str) -> DbError {
    let Some(db) = e.as_db_error() else {
        return DbError { message: crate::error::chain(e), code: e.code().map(|c| c.code().to_string()), offset: None };
    };
    let mut message = db.message().to_string();
    if let Some(detail) = db.detail() {
        message.push_str(&format!(" ({detail})"));
    }
    let offset = match db.position() {
        // A 1-based character position in the query text.
        Some(ErrorPosition::Original(p)) => sql.char_indices().nth((*p as usize).saturating_sub(1)).map(|(i, _)| i),
        _ => None,
    };
    DbError { message, code: Some(db.code().code().to_string()), offset }
}

impl PgBackend {
    fn scrubbed(&self, mut e: DbError) -> DbError {
        e.message = self.url.scrub(&e.message);
        e
    }

    fn query_rows(&mut self, sql: &str) -> Result<Vec<postgres::SimpleQueryRow>, DbError> {
        let messages = self.client.simple_query(sql).map_err(|e| self.scrubbed(pg_error(&e, sql)))?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => Some(r),
                _ => None,
            })
            .collect())
    }
}

impl Backend for PgBackend {
    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        let result = self.client.batch_execute(sql);
        result.map_err(|e| self.scrubbed(pg_error(&e, sql)))
    }

    fn load(&mut self, table: &Table, create: bool) -> Result<Option<HistoryState>, DbError> {
        let select = table.select_sql();
        let sql = if create {
            // One round trip: create only if absent (so a user without CREATE
            // on the schema can use a history table made for it), then read.
            format!(
                "DO $dbmigrate$ BEGIN IF to_regclass('{}') IS NULL THEN {}; END IF; END $dbmigrate$;\n{select}",
                table.name(),
                table.create_sql(crate::url::Dialect::Postgres)
            )
        } else {
            let exists = format!("SELECT to_regclass('{}') IS NOT NULL", table.name());
            let rows = self.query_rows(&exists)?;
            if rows.first().and_then(|r| r.get(0)) != Some("t") {
                return Ok(None);
            }
            select
        };
        let rows = self.query_rows(&sql)?;
        let rows = rows.iter().map(row).collect::<Result<Vec<_>, _>>()?;
        Ok(Some(HistoryState { rows, dirty: None }))
    }
}

fn row(r: &postgres::SimpleQueryRow) -> Result<AppliedRow, DbError> {
    let text = |i: usize| r.get(i).unwrap_or_default().to_string();
    let version = text(0).parse().map_err(|_| DbError {
        message: format!("history row with a non-numeric version `{}`", text(0)),
        code: None,
        offset: None,
    })?;
    Ok(AppliedRow { version, name: text(1), applied_on: text(2), checksum: text(3) })
}

/// A session advisory lock on a dedicated connection, polled with
/// `pg_try_advisory_lock` outside any transaction. Closing the connection
/// releases it.
pub(crate) fn lock(url: &DatabaseUrl, table: &Table, timeout: Duration) -> Result<LockGuard> {
    let mut client = open(url, timeout)?;
    let sql = format!("SELECT pg_try_advisory_lock({})", crate::lock::advisory_key(table.name()));
    poll_lock(url, timeout, || {
        let rows = client.simple_query(&sql).map_err(|e| {
            let err = pg_error(&e, &sql);
            Error::Database {
                context: "could not take the migration lock".into(),
                message: url.scrub(&err.message),
                code: err.code,
            }
        })?;
        Ok(rows.iter().any(|m| matches!(m, SimpleQueryMessage::Row(r) if r.get(0) == Some("t"))))
    })?;
    Ok(Box::new(client))
}
