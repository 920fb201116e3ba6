//! PostgreSQL through the `postgres` crate, simple query protocol only, so a
//! file with many statements is one `batch_execute`. TLS goes through
//! rustls (see [`super::tls`]) and follows libpq's `sslmode` (see [`TlsMode`]).

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio_postgres::config::SslMode;
use tokio_postgres::error::ErrorPosition;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, Config, NoTls, SimpleQueryMessage, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{Backend, DbError, LockGuard, poll_lock, timed_out};
use crate::error::{Error, Phase, Result};
use crate::history::{AppliedRow, DirtyMarker, HistoryState, RecordedDown, Table, parse_direction};
use crate::split::Statement;
use crate::url::{CONNECT_TIMEOUT, DatabaseUrl, PG_TLS_PARAMS, TlsConfig, TlsMode};

/// A client and the current-thread runtime its connection task is spawned on; the task runs
/// whenever a query runs on the runtime. Dropping it closes the socket (client first).
pub(crate) struct PgConn {
    client: Client,
    runtime: tokio::runtime::Runtime,
}

impl PgConn {
    /// Runs a query to completion, within `bound` when given; `None` when the bound ran out.
    fn run<T>(
        &self,
        bound: Option<Duration>,
        query: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Option<Result<T, tokio_postgres::Error>> {
        match bound {
            Some(bound) => self.runtime.block_on(async { tokio::time::timeout(bound, query).await.ok() }),
            None => Some(self.runtime.block_on(query)),
        }
    }
}

pub(crate) struct PgBackend {
    conn: PgConn,
    url: DatabaseUrl,
    /// The bound on the handshake and on the history and lock reads (see the module docs).
    bound: Duration,
}

impl PgBackend {
    pub fn connect(url: &DatabaseUrl, bound: Duration) -> Result<Self> {
        Ok(PgBackend { conn: open(url, bound)?, url: url.clone(), bound })
    }
}

/// The driver's configuration for `url`; the password goes in through the config API, never
/// through a string that an error could echo.
fn config(url: &DatabaseUrl) -> Result<Config, String> {
    let server = url.server_url().ok_or("not a postgres url")?;
    let mut clean = server.clone();
    let _ = clean.set_password(None);
    let _ = clean.set_username("");
    clean.set_query(None);
    // The driver knows only disable/prefer/require: TLS parameters are ours, and so is the bound.
    let params: Vec<_> = url
        .public_params()
        .into_iter()
        .filter(|(k, _)| !PG_TLS_PARAMS.contains(&k.as_str()) && k != CONNECT_TIMEOUT)
        .collect();
    let keepalive_given = params.iter().any(|(k, _)| k.starts_with("keepalives") || k == "tcp_user_timeout");
    if !params.is_empty() {
        clean.query_pairs_mut().extend_pairs(params);
    }
    let text = clean.as_str().replacen("postgres://", "postgresql://", 1);
    let mut config = Config::from_str(&text).map_err(|e| crate::error::chain(&e))?;
    if let Some(user) = url.user() {
        config.user(&user);
    }
    if let Some(password) = url.password() {
        config.password(password);
    }
    if !keepalive_given {
        let (idle, interval, retries, user_timeout) = super::KEEPALIVE;
        config.keepalives(true).keepalives_idle(idle).keepalives_interval(interval).keepalives_retries(retries);
        config.tcp_user_timeout(user_timeout);
    }
    Ok(config)
}

/// Connects within `bound`: tcp, TLS and authentication share one deadline.
fn open(url: &DatabaseUrl, bound: Duration) -> Result<PgConn> {
    let fail =
        |message: String| Error::Connect { url: url.to_string(), message: url.scrub(&message), transient: false };
    let lost = |failure: Failure| match failure {
        Failure::Timeout(phase) => timed_out(url, bound, phase),
        Failure::Driver(e) => {
            let err = pg_error(&e, "");
            Error::Connect { url: url.to_string(), message: url.scrub(&err.message), transient: err.transient }
        }
    };
    let tls = url.tls().cloned().ok_or_else(|| fail("not a postgres url".into()))?;
    let mut config = config(url).map_err(&fail)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(format!("could not start the connection's i/o runtime: {e}")))?;
    let deadline = Instant::now() + bound;
    if tls.mode == TlsMode::Disable {
        config.ssl_mode(SslMode::Disable);
        return handshake(runtime, &config, NoTls, deadline).map_err(|(failure, _)| lost(failure));
    }
    let connector = connector(&tls).map_err(&fail)?;
    config.ssl_mode(if tls.mode == TlsMode::Prefer { SslMode::Prefer } else { SslMode::Require });
    let runtime = match handshake(runtime, &config, connector, deadline) {
        Ok(conn) => return Ok(conn),
        Err((Failure::Driver(e), runtime)) if tls.mode == TlsMode::Prefer && is_tls_error(&e) => runtime,
        Err((Failure::Driver(e), _)) if is_tls_error(&e) => return Err(fail(tls_message(&e, &tls))),
        Err((failure, _)) => return Err(lost(failure)),
    };
    // libpq's prefer: a server that offers TLS but fails the handshake is tried again in
    // plain text (one that declines TLS already is), within what is left of the bound.
    config.ssl_mode(SslMode::Disable);
    handshake(runtime, &config, NoTls, deadline).map_err(|(failure, _)| lost(failure))
}

/// Why a handshake failed: the driver said so, or the deadline passed in a phase.
enum Failure {
    Driver(tokio_postgres::Error),
    Timeout(Phase),
}

/// Connects with `tls` before `deadline`, noting how far it got so a timeout names the phase;
/// the runtime comes back with a failure, for another try.
fn handshake<T>(
    runtime: tokio::runtime::Runtime,
    config: &Config,
    tls: T,
    deadline: Instant,
) -> Result<PgConn, (Failure, tokio::runtime::Runtime)>
where
    T: MakeTlsConnect<Socket> + Send + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send + Unpin,
{
    let phase = Arc::new(AtomicU8::new(Phase::TcpConnect as u8));
    let plain = config.get_ssl_mode() == SslMode::Disable;
    let traced = Traced { inner: tls, phase: phase.clone(), plain };
    let left = deadline.saturating_duration_since(Instant::now());
    match runtime.block_on(async { tokio::time::timeout(left, config.connect(traced)).await }) {
        Ok(Ok((client, connection))) => {
            runtime.spawn(async move {
                // The connection's end is seen by the next query as a closed client.
                let _ = connection.await;
            });
            Ok(PgConn { client, runtime })
        }
        Ok(Err(e)) => Err((Failure::Driver(e), runtime)),
        Err(_) => Err((Failure::Timeout(phase_of(phase.load(Ordering::Relaxed))), runtime)),
    }
}

fn phase_of(n: u8) -> Phase {
    [Phase::TcpConnect, Phase::TlsHandshake, Phase::Authentication]
        .into_iter()
        .find(|p| *p as u8 == n)
        .unwrap_or(Phase::Authentication)
}

/// A TLS connector that records the handshake's progress: the driver asks for the connector
/// once the tcp connection is up, and runs its future for the TLS handshake proper.
struct Traced<T> {
    inner: T,
    phase: Arc<AtomicU8>,
    plain: bool,
}

impl<T: MakeTlsConnect<Socket>> MakeTlsConnect<Socket> for Traced<T>
where
    <T::TlsConnect as TlsConnect<Socket>>::Future: Unpin,
{
    type Stream = T::Stream;
    type TlsConnect = TracedConnect<T::TlsConnect>;
    type Error = T::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Self::TlsConnect, Self::Error> {
        let next = if self.plain { Phase::Authentication } else { Phase::TlsHandshake };
        self.phase.store(next as u8, Ordering::Relaxed);
        Ok(TracedConnect { inner: self.inner.make_tls_connect(domain)?, phase: self.phase.clone() })
    }
}

struct TracedConnect<T> {
    inner: T,
    phase: Arc<AtomicU8>,
}

impl<S, T: TlsConnect<S>> TlsConnect<S> for TracedConnect<T>
where
    T::Future: Unpin,
{
    type Stream = T::Stream;
    type Error = T::Error;
    type Future = Marked<T::Future>;

    fn connect(self, stream: S) -> Self::Future {
        Marked { inner: self.inner.connect(stream), phase: self.phase }
    }
}

/// The TLS handshake's future, which moves the phase on to authentication once it is done.
struct Marked<F> {
    inner: F,
    phase: Arc<AtomicU8>,
}

impl<F: Future + Unpin> Future for Marked<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let done = Pin::new(&mut self.inner).poll(cx);
        if done.is_ready() {
            self.phase.store(Phase::Authentication as u8, Ordering::Relaxed);
        }
        done
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
fn is_tls_error(e: &tokio_postgres::Error) -> bool {
    super::tls::rustls_error(e).is_some() || e.to_string().starts_with("error performing TLS handshake")
}

/// The driver's message, with what the `sslmode` in force asked for when
/// TLS is what failed.
fn tls_message(e: &tokio_postgres::Error, tls: &TlsConfig) -> String {
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
fn pg_error(e: &tokio_postgres::Error, sql: &str) -> DbError {
    let Some(db) = e.as_db_error() else {
        // No answer from the server: the connection failed or was closed under us.
        let transient = e.is_closed() || super::io_transient(e);
        return DbError { message: crate::error::chain(e), code: None, offset: None, transient, timeout: None };
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
    DbError { message, code: Some(code.to_string()), offset, transient: super::sqlstate_transient(code), timeout: None }
}

impl PgBackend {
    fn scrubbed(&self, mut e: DbError) -> DbError {
        e.message = self.url.scrub(&e.message);
        e
    }

    /// Runs a bounded read (the history's): a server that does not answer within the bound is
    /// a transient failure, not a hang.
    fn query_rows(&mut self, sql: &str) -> Result<Vec<tokio_postgres::SimpleQueryRow>, DbError> {
        let messages = self
            .conn
            .run(Some(self.bound), self.conn.client.simple_query(sql))
            .ok_or_else(|| DbError::timed_out(&self.url, self.bound, Phase::ReadingTheReply))?;
        let messages = messages.map_err(|e| self.scrubbed(pg_error(&e, sql)))?;
        Ok(rows(messages))
    }
}

fn rows(messages: Vec<SimpleQueryMessage>) -> Vec<tokio_postgres::SimpleQueryRow> {
    messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
        .collect()
}

impl PgBackend {
    /// The rows of each statement's result, in order (one entry per completed statement): a
    /// bounded read, like [`PgBackend::query_rows`].
    fn query_sets(&mut self, sql: &str) -> Result<Vec<Vec<tokio_postgres::SimpleQueryRow>>, DbError> {
        let messages = self
            .conn
            .run(Some(self.bound), self.conn.client.simple_query(sql))
            .ok_or_else(|| DbError::timed_out(&self.url, self.bound, Phase::ReadingTheReply))?;
        let messages = messages.map_err(|e| self.scrubbed(pg_error(&e, sql)))?;
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

impl PgBackend {
    /// The rows of a catalog read as text (NULL as an empty string), bounded like the history's
    /// reads: what a schema snapshot is made of.
    pub(crate) fn text_rows(&mut self, sql: &str) -> Result<Vec<Vec<String>>, DbError> {
        let rows = self.query_rows(sql)?;
        Ok(rows.iter().map(|r| (0..r.len()).map(|i| r.get(i).unwrap_or_default().to_owned()).collect()).collect())
    }
}

impl Backend for PgBackend {
    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        // Unbounded: a migration may run for minutes (keepalives find a dead peer).
        let result = self.conn.run(None, self.conn.client.batch_execute(sql)).unwrap_or_else(|| Ok(()));
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

    /// One round trip: the server digests its history ([`Table::digest_sql`]) and the digest of
    /// `known`'s text is compared with it; a second only where the side table exists (a
    /// no-transaction file ran here once), to see that it holds no progress marker. A server
    /// that cannot answer the query (no history table yet, no `sha256` before PostgreSQL 11)
    /// leaves it to the row-by-row read.
    fn matches_history(&mut self, table: &Table, known: &[(i64, &str, u64)]) -> Result<Option<bool>, DbError> {
        use sha2::Digest;
        let Some(text) = crate::history::digest_text(known) else { return Ok(None) };
        let rows = match self.query_rows(&table.digest_sql()) {
            Ok(rows) => rows,
            // undefined_table, undefined_function: anything else is an error (the CLI's no-op
            // then takes the full path), so a broken query cannot hide behind the fallback.
            Err(e) if matches!(e.code.as_deref(), Some("42P01" | "42883")) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(row) = rows.first() else { return Ok(None) };
        let expected: String = sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        let count = known.len().to_string();
        if row.get(0) != Some(count.as_str()) || row.get(1) != Some("0") || row.get(2) != Some(expected.as_str()) {
            return Ok(Some(false));
        }
        if row.get(3) != Some("t") {
            return Ok(Some(true));
        }
        let marker = self.query_rows(&table.any_marker_sql())?;
        Ok(Some(marker.first().and_then(|r| r.get(0)) == Some("f")))
    }

    fn recorded_downs(&mut self, table: &Table) -> Result<Vec<RecordedDown>, DbError> {
        let exists = self.query_rows(&format!("SELECT to_regclass('{}') IS NOT NULL", table.downs()))?;
        if exists.first().and_then(|r| r.get(0)) != Some("t") {
            return Ok(Vec::new());
        }
        let rows = self.query_rows(&table.select_downs_sql())?;
        rows.iter()
            .map(|r| {
                let version = r.get(0).unwrap_or_default();
                let version = version
                    .parse()
                    .map_err(|_| DbError::plain(format!("recorded down with a non-numeric version `{version}`")))?;
                let (checksum, down) = (r.get(1).unwrap_or_default().to_string(), r.get(2).map(str::to_string));
                Ok(RecordedDown { version, checksum, down })
            })
            .collect()
    }

    fn split<'s>(&self, sql: &'s str) -> Option<Vec<Statement<'s>>> {
        // Statement by statement only when the splitter is sure of the boundaries: exact
        // error lines, and no implicit transaction around a multi-statement query.
        crate::split::split_postgres(sql)
    }

    fn lock(&self, table: &Table, timeout: Duration) -> Result<LockGuard> {
        lock(&self.url, table, timeout, self.bound)
    }

    /// The session holding the advisory lock, from `pg_locks` (a bigint key shows as
    /// `classid` = high 32 bits, `objid` = low 32 bits, `objsubid` = 1).
    fn lock_holder(&mut self, table: &Table) -> Option<String> {
        let key = crate::lock::advisory_key(table.name()) as u64;
        let sql = format!(
            "SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), '') \
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND l.classid = '{}'::oid AND l.objid = '{}'::oid",
            key >> 32,
            key & 0xffff_ffff
        );
        let rows = self.query_rows(&sql).ok()?;
        let row = rows.first()?;
        let (pid, app, addr) = (row.get(0)?, row.get(1).unwrap_or_default(), row.get(2).unwrap_or_default());
        let app = if app.is_empty() { String::new() } else { format!(" ({app})") };
        let addr = if addr.is_empty() { String::new() } else { format!(" from {addr}") };
        Some(format!("pid {pid}{app}{addr}"))
    }
}

fn row(r: &tokio_postgres::SimpleQueryRow) -> Result<AppliedRow, DbError> {
    let text = |i: usize| r.get(i).unwrap_or_default().to_string();
    let version =
        text(0).parse().map_err(|_| DbError::plain(format!("history row with a non-numeric version `{}`", text(0))))?;
    Ok(AppliedRow { version, name: text(1), applied_on: text(2), checksum: text(3) })
}

fn side_row(r: &tokio_postgres::SimpleQueryRow) -> Result<DirtyMarker, DbError> {
    let text = |i: usize| r.get(i).unwrap_or_default();
    let bad = || DbError::plain(format!("unreadable progress marker for version `{}`", text(0)));
    let version = text(0).parse().map_err(|_| bad())?;
    let done = text(2).parse().map_err(|_| bad())?;
    Ok(DirtyMarker { version, direction: parse_direction(text(1)), done })
}

/// A session advisory lock on a dedicated connection, polled with
/// `pg_try_advisory_lock` outside any transaction, each poll bounded by `bound`. Closing the
/// connection releases it.
fn lock(url: &DatabaseUrl, table: &Table, timeout: Duration, bound: Duration) -> Result<LockGuard> {
    let conn = open(url, bound)?;
    let sql = format!("SELECT pg_try_advisory_lock({})", crate::lock::advisory_key(table.name()));
    poll_lock(url, timeout, || {
        let answer = conn.run(Some(bound), conn.client.simple_query(&sql));
        let messages = answer.ok_or_else(|| timed_out(url, bound, Phase::ReadingTheReply))?.map_err(|e| {
            let err = pg_error(&e, &sql);
            Error::Database {
                context: "could not take the migration lock".into(),
                message: url.scrub(&err.message),
                code: err.code,
                transient: err.transient,
            }
        })?;
        Ok(rows(messages).iter().any(|r| r.get(0) == Some("t")))
    })?;
    Ok(LockGuard::Postgres(Box::new(conn)))
}

/// A plain session for the schema reader (autogenerate): the migrations' connection code
/// (TLS, bound), with whole-script execution and text rows.
pub(crate) struct PgSession {
    conn: PgConn,
    url: DatabaseUrl,
}

impl PgSession {
    pub(crate) fn connect(url: &DatabaseUrl, bound: Duration) -> Result<Self> {
        Ok(PgSession { conn: open(url, bound)?, url: url.clone() })
    }

    /// Runs `sql` (many statements) as one script; the server's message on failure.
    pub(crate) fn execute(&self, sql: &str) -> Result<(), String> {
        let done = self.conn.run(None, self.conn.client.batch_execute(sql)).unwrap_or(Ok(()));
        done.map_err(|e| self.url.scrub(&pg_error(&e, sql).message))
    }

    /// The rows of one query, each value as text (`None` for NULL).
    pub(crate) fn rows(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        let done = self.conn.run(None, self.conn.client.simple_query(sql)).unwrap_or(Ok(Vec::new()));
        let messages = done.map_err(|e| self.url.scrub(&pg_error(&e, sql).message))?;
        let text = |r: &tokio_postgres::SimpleQueryRow| (0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect();
        Ok(rows(messages).iter().map(text).collect())
    }
}
