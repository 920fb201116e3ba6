//! PostgreSQL through the `postgres` crate, simple query protocol only, so a
//! file with many statements is one `batch_execute`. TLS goes through
//! rustls (see [`super::tls`]) and follows libpq's `sslmode` (see [`TlsMode`]).

use std::str::FromStr;
use std::time::Duration;

use postgres::config::SslMode;
use postgres::error::ErrorPosition;
use postgres::{Client, NoTls, SimpleQueryMessage};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{Backend, DbError, LockGuard, poll_lock};
use crate::error::{Error, Result};
use crate::history::{AppliedRow, DirtyMarker, HistoryState, Table, parse_direction};
use crate::split::Statement;
use crate::url::{DatabaseUrl, PG_TLS_PARAMS, TlsConfig, TlsMode};

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
    let fail =
        |message: String| Error::Connect { url: url.to_string(), message: url.scrub(&message), transient: false };
    let lost = |e: postgres::Error| {
        let err = pg_error(&e, "");
        Error::Connect { url: url.to_string(), message: url.scrub(&err.message), transient: err.transient }
    };
    let server = url.server_url().ok_or_else(|| fail("not a postgres url".into()))?;
    let tls = url.tls().cloned().ok_or_else(|| fail("not a postgres url".into()))?;
    let mut clean = server.clone();
    let _ = clean.set_password(None);
    let _ = clean.set_username("");
    clean.set_query(None);
    // The driver knows only disable/prefer/require: TLS parameters are ours.
    let params: Vec<_> =
        url.public_params().into_iter().filter(|(k, _)| !PG_TLS_PARAMS.contains(&k.as_str())).collect();
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
    if tls.mode == TlsMode::Disable {
        config.ssl_mode(SslMode::Disable);
        return config.connect(NoTls).map_err(lost);
    }
    let connector = connector(&tls).map_err(&fail)?;
    config.ssl_mode(if tls.mode == TlsMode::Prefer { SslMode::Prefer } else { SslMode::Require });
    match config.connect(connector) {
        Ok(client) => Ok(client),
        // libpq's prefer: a server that offers TLS but fails the handshake
        // is tried again in plain text (one that declines TLS already is).
        Err(e) if tls.mode == TlsMode::Prefer && is_tls_error(&e) => {
            config.ssl_mode(SslMode::Disable);
            config.connect(NoTls).map_err(lost)
        }
        Err(e) if is_tls_error(&e) => Err(fail(tls_message(&e, &tls))),
        Err(e) => Err(lost(e)),
    }
}

/// The connector for `tls`, built once per process: a run opens two connections (the lock's
/// and the migrations'), and the verifying modes read their roots (the system's store costs
/// tens of milliseconds) when it is built.
fn connector(tls: &TlsConfig) -> Result<MakeRustlsConnect, String> {
    static CACHE: std::sync::Mutex<Option<(TlsConfig, MakeRustlsConnect)>> = std::sync::Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, connector)) = cache.as_ref().filter(|(config, _)| config == tls) {
        return Ok(connector.clone());
    }
    let connector = MakeRustlsConnect::new(super::tls::client_config(tls)?);
    *cache = Some((tls.clone(), connector.clone()));
    Ok(connector)
}

/// Whether the connection failed in the TLS handshake (or the server
/// refused TLS), rather than before or after it.
fn is_tls_error(e: &postgres::Error) -> bool {
    super::tls::rustls_error(e).is_some() || e.to_string().starts_with("error performing TLS handshake")
}

/// The driver's message, with what the `sslmode` in force asked for when
/// TLS is what failed.
fn tls_message(e: &postgres::Error, tls: &TlsConfig) -> String {
    let message = pg_error(e, "").message;
    if !is_tls_error(e) {
        return message;
    }
    let asked = if tls.source.is_empty() { String::new() } else { format!(" ({})", tls.source) };
    let lower = message.to_ascii_lowercase();
    if lower.contains("does not support tls") {
        return format!("the server does not accept tls connections, which the url requires{asked}: {message}");
    }
    if matches!(tls.mode, TlsMode::VerifyCa | TlsMode::VerifyFull)
        && (lower.contains("certificate") || lower.contains("verify"))
    {
        let checks = if tls.mode == TlsMode::VerifyFull { "its chain and host name" } else { "its chain" };
        let roots = match &tls.root_cert {
            Some(p) => format!("the roots in sslrootcert {}", p.display()),
            None => "the system's trusted roots (add sslrootcert=<ca file> to trust the server's ca)".into(),
        };
        let mismatch = super::tls::rustls_error(e).is_some_and(super::tls::is_name_mismatch);
        let host = if mismatch { "; it does not name the host of the url" } else { "" };
        return format!(
            "certificate verification failed: the server's tls certificate could not be verified{asked}, which checks \
             {checks} against {roots}{host}; sslmode=require encrypts without verifying: {message}"
        );
    }
    format!("tls handshake failed{asked}: {message}")
}

/// The server's own message (three `source()` levels down in `postgres`),
/// its SQLSTATE and the byte offset it points at in `sql`.
fn pg_error(e: &postgres::Error, sql: &str) -> DbError {
    let Some(db) = e.as_db_error() else {
        // No answer from the server: the connection failed or was closed under us.
        let transient = e.is_closed() || super::io_transient(e);
        return DbError { message: crate::error::chain(e), code: None, offset: None, transient };
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
    let code = db.code().code();
    DbError { message, code: Some(code.to_string()), offset, transient: super::sqlstate_transient(code) }
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

impl PgBackend {
    /// The rows of each statement's result, in order (one entry per completed statement).
    fn query_sets(&mut self, sql: &str) -> Result<Vec<Vec<postgres::SimpleQueryRow>>, DbError> {
        let messages = self.client.simple_query(sql).map_err(|e| self.scrubbed(pg_error(&e, sql)))?;
        let mut sets = vec![Vec::new()];
        for m in messages {
            match m {
                SimpleQueryMessage::Row(r) => sets.last_mut().expect("one set").push(r),
                SimpleQueryMessage::CommandComplete(_) => sets.push(Vec::new()),
                _ => {}
            }
        }
        sets.pop();
        Ok(sets)
    }
}

impl Backend for PgBackend {
    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        let result = self.client.batch_execute(sql);
        result.map_err(|e| self.scrubbed(pg_error(&e, sql)))
    }

    fn load(&mut self, table: &Table, create: bool) -> Result<Option<HistoryState>, DbError> {
        let has_side = format!("to_regclass('{}') IS NOT NULL", table.side());
        let select = table.select_sql();
        // The side table exists only where a no-transaction file ever ran: whether it does
        // comes with the history, and it is read only then.
        let sql = if create {
            // One round trip: create only if absent (so a user without CREATE on the schema can
            // use a history table made for it), then read.
            let create = format!(
                "DO $dbmigrate$ BEGIN IF to_regclass('{}') IS NULL THEN {}; END IF; END $dbmigrate$",
                table.name(),
                table.create_sql(crate::url::Dialect::Postgres)
            );
            format!("{create};\n{select};\nSELECT {has_side}")
        } else {
            let exists = format!("SELECT to_regclass('{}') IS NOT NULL, {has_side}", table.name());
            let rows = self.query_rows(&exists)?;
            let flag = |i: usize| rows.first().and_then(|r| r.get(i)) == Some("t");
            if !flag(0) {
                return Ok(None);
            }
            if flag(1) { format!("{select};\n{}", table.select_side_sql()) } else { select }
        };
        // Sets in order: the DO block's (when creating), the history, then the side table's
        // flag (when creating) or its rows (when it exists).
        let mut sets = self.query_sets(&sql)?.into_iter().skip(usize::from(create));
        let rows = sets.next().unwrap_or_default().iter().map(row).collect::<Result<Vec<_>, _>>()?;
        let last = sets.next().unwrap_or_default();
        let marker = match create {
            false => last,
            true if last.first().and_then(|r| r.get(0)) == Some("t") => self.query_rows(&table.select_side_sql())?,
            true => Vec::new(),
        };
        let dirty = marker.first().map(side_row).transpose()?;
        Ok(Some(HistoryState { rows, dirty }))
    }

    fn split<'s>(&self, sql: &'s str) -> Option<Vec<Statement<'s>>> {
        // Statement by statement only when the splitter is sure of the boundaries: exact
        // error lines, and no implicit transaction around a multi-statement query.
        crate::split::split_postgres(sql)
    }

    fn lock(&self, table: &Table, timeout: Duration) -> Result<LockGuard> {
        lock(&self.url, table, timeout)
    }
}

fn row(r: &postgres::SimpleQueryRow) -> Result<AppliedRow, DbError> {
    let text = |i: usize| r.get(i).unwrap_or_default().to_string();
    let version =
        text(0).parse().map_err(|_| DbError::plain(format!("history row with a non-numeric version `{}`", text(0))))?;
    Ok(AppliedRow { version, name: text(1), applied_on: text(2), checksum: text(3) })
}

fn side_row(r: &postgres::SimpleQueryRow) -> Result<DirtyMarker, DbError> {
    let text = |i: usize| r.get(i).unwrap_or_default();
    let bad = || DbError::plain(format!("unreadable progress marker for version `{}`", text(0)));
    let version = text(0).parse().map_err(|_| bad())?;
    let done = text(2).parse().map_err(|_| bad())?;
    Ok(DirtyMarker { version, direction: parse_direction(text(1)), done })
}

/// A session advisory lock on a dedicated connection, polled with
/// `pg_try_advisory_lock` outside any transaction. Closing the connection
/// releases it.
fn lock(url: &DatabaseUrl, table: &Table, timeout: Duration) -> Result<LockGuard> {
    let mut client = open(url, timeout)?;
    let sql = format!("SELECT pg_try_advisory_lock({})", crate::lock::advisory_key(table.name()));
    poll_lock(url, timeout, || {
        let rows = client.simple_query(&sql).map_err(|e| {
            let err = pg_error(&e, &sql);
            Error::Database {
                context: "could not take the migration lock".into(),
                message: url.scrub(&err.message),
                code: err.code,
                transient: err.transient,
            }
        })?;
        Ok(rows.iter().any(|m| matches!(m, SimpleQueryMessage::Row(r) if r.get(0) == Some("t"))))
    })?;
    Ok(LockGuard::Postgres(Box::new(client)))
}
