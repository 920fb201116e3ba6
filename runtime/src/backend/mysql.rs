//! MySQL/MariaDB through the `mysql` crate, text protocol only, and every
//! result set drained so an error after the first one is never lost. TLS
//! goes through the driver's rustls (*ring*) support, only when the url's
//! `ssl-mode` or `ssl-ca` asks for it; the verifying modes trust the driver's
//! bundled Mozilla roots plus `ssl-ca`, or the system's bundle without it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use mysql::{Conn, DriverError, OptsBuilder, SslOpts};

use super::{Backend, DbError, LockGuard, Transactions, timed_out};
use crate::error::{Error, Phase, Result};
use crate::history::{AppliedRow, DirtyMarker, HistoryState, RecordedDown, Table, parse_direction};
use crate::split::Statement;
use crate::url::{CONNECT_TIMEOUT, DatabaseUrl, MY_TLS_PARAMS, TlsConfig, TlsMode};

pub(crate) struct MysqlBackend {
    /// `None` once a bounded read ran out: the connection was left to its helper thread.
    conn: Option<Conn>,
    url: DatabaseUrl,
    /// The bound on the handshake (see the module docs of `backend`).
    bound: Duration,
}

impl MysqlBackend {
    pub fn connect(url: &DatabaseUrl, bound: Duration) -> Result<Self> {
        Ok(MysqlBackend { conn: Some(open(url, bound, None)?), url: url.clone(), bound })
    }
}

/// A plain connection with the url's credentials and TLS settings, for catalog reads
/// (autogenerate's introspection).
pub(crate) fn open_conn(url: &DatabaseUrl, bound: Duration) -> Result<Conn> {
    open(url, bound, None)
}

/// Connects within `bound`; `read_bound` puts read and write timeouts on the socket for the
/// connection's whole life (the lock's connection, which only ever runs `GET_LOCK`).
fn open(url: &DatabaseUrl, bound: Duration, read_bound: Option<Duration>) -> Result<Conn> {
    let fail =
        |message: String| Error::Connect { url: url.to_string(), message: url.scrub(&message), transient: false };
    let lost = |e: mysql::Error| match e {
        mysql::Error::DriverError(DriverError::ConnectTimeout) => timed_out(url, bound, Phase::TcpConnect),
        e => {
            let err = my_error(&e);
            Error::Connect { url: url.to_string(), message: url.scrub(&err.message), transient: err.transient }
        }
    };
    let server = url.server_url().ok_or_else(|| fail("not a mysql url".into()))?;
    let tls = url.tls().cloned().ok_or_else(|| fail("not a mysql url".into()))?;
    // TLS parameters and the bound are ours; the driver rejects names it does not know.
    let params: HashMap<String, String> = url
        .public_params()
        .into_iter()
        .filter(|(k, _)| !MY_TLS_PARAMS.contains(&k.as_str()) && k != CONNECT_TIMEOUT)
        .collect();
    let plain = keepalives(OptsBuilder::new())
        .ip_or_hostname(server.host_str())
        .tcp_port(server.port().unwrap_or(3306))
        .user(url.user())
        .pass(url.password())
        .db_name(url.database())
        .prefer_socket(false)
        .tcp_connect_timeout(Some(bound))
        .read_timeout(read_bound)
        .write_timeout(read_bound.map(|_| bound))
        .from_hash_map(&params)
        // The parameter parser's message can echo values: show names only.
        .map_err(|_| {
            let names: Vec<&str> = params.keys().map(String::as_str).collect();
            fail(format!("unsupported or invalid url parameter among: {}", names.join(", ")))
        })?;
    let deadline = Instant::now() + bound;
    let connect = |opts: OptsBuilder| {
        within(deadline, move || Conn::new(opts)).ok_or_else(|| timed_out(url, bound, Phase::Authentication))
    };
    if tls.mode == TlsMode::Disable {
        return connect(plain)?.map_err(lost);
    }
    let verify = matches!(tls.mode, TlsMode::VerifyCa | TlsMode::VerifyFull);
    let roots = match &tls.root_cert {
        Some(path) => Some(path.clone()),
        None if verify => system_bundle(),
        None => None,
    };
    let ssl = SslOpts::default()
        .with_root_cert_path(roots.map(Cow::Owned))
        .with_danger_accept_invalid_certs(!verify)
        .with_danger_skip_domain_validation(tls.mode != TlsMode::VerifyFull);
    match connect(plain.clone().ssl_opts(ssl))? {
        Ok(conn) => Ok(conn),
        // PREFERRED: plain text when the server has no TLS or its handshake fails.
        Err(mysql::Error::DriverError(DriverError::TlsNotSupported) | mysql::Error::TlsError(_))
            if tls.mode == TlsMode::Prefer =>
        {
            connect(plain)?.map_err(lost)
        }
        Err(e @ (mysql::Error::DriverError(DriverError::TlsNotSupported) | mysql::Error::TlsError(_))) => {
            Err(fail(tls_message(&e, &tls)))
        }
        Err(e) => Err(lost(e)),
    }
}

/// Keepalives and `TCP_USER_TIMEOUT`, so a dead peer fails a long statement (url parameters
/// of the same names, applied after, win).
fn keepalives(opts: OptsBuilder) -> OptsBuilder {
    let (idle, interval, count, user_timeout) = super::KEEPALIVE;
    let opts = opts.tcp_keepalive_time_ms(Some(idle.as_millis() as u32));
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    let opts =
        opts.tcp_keepalive_probe_interval_secs(Some(interval.as_secs() as u32)).tcp_keepalive_probe_count(Some(count));
    #[cfg(target_os = "linux")]
    let opts = opts.tcp_user_timeout_ms(Some(user_timeout.as_millis() as u32));
    let _ = (interval, count, user_timeout);
    opts
}

/// Runs blocking driver work (the handshake, a bounded read) on a helper thread and waits for
/// it until `deadline` (plus half a second, so that the driver's own tcp connect timeout, also
/// the bound, reports itself first).
/// `None` when it did not finish: the synchronous driver's socket cannot be reached from here
/// to cut it, so the thread is left blocked until the server answers or the process ends.
fn within<T: Send + 'static>(deadline: Instant, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    // A thread that cannot be started (the process is out of them) fails like a timeout.
    let send = move || drop(tx.send(work()));
    std::thread::Builder::new().name("dbmigrate-bounded".into()).spawn(send).ok()?;
    let left = deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(500);
    rx.recv_timeout(left).ok()
}

/// The system's PEM bundle (`SSL_CERT_FILE`, else the distribution's file),
/// for the verifying modes without `ssl-ca`: the driver trusts its bundled
/// Mozilla roots and this file's. `None` when there is none or when one of its
/// certificates is not a usable root, since the driver then refuses the file.
fn system_bundle() -> Option<std::path::PathBuf> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let path = openssl_probe::probe().cert_file?;
    let pem = std::fs::read(&path).ok()?;
    let mut store = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        store.add(cert.ok()?).ok()?;
    }
    (!store.is_empty()).then_some(path)
}

/// The driver's message, with what the `ssl-mode` in force asked for when
/// TLS is what failed.
fn tls_message(e: &mysql::Error, tls: &TlsConfig) -> String {
    let message = my_error(e).message;
    let asked = if tls.source.is_empty() { String::new() } else { format!(" ({})", tls.source) };
    match e {
        mysql::Error::DriverError(DriverError::TlsNotSupported) => format!(
            "the server does not support tls (have_ssl is not YES), which the url requires{asked}; \
             use ssl-mode=PREFERRED to fall back to plain text, or DISABLED: {message}"
        ),
        mysql::Error::TlsError(_) if verify_failed(&message, tls) => format!(
            "certificate verification failed: the server's tls certificate could not be verified{asked} \
             (add ssl-ca=<ca file> to trust the server's ca; ssl-mode=REQUIRED encrypts without verifying): {message}"
        ),
        mysql::Error::TlsError(_) => format!("tls handshake failed{asked}: {message}"),
        _ => message,
    }
}

fn verify_failed(message: &str, tls: &TlsConfig) -> bool {
    let lower = message.to_ascii_lowercase();
    matches!(tls.mode, TlsMode::VerifyCa | TlsMode::VerifyFull)
        && (lower.contains("certificate") || lower.contains("verify"))
}

/// Runs `sql` and returns the rows of every result set, propagating an
/// error from any of them (dropping a `QueryResult` would swallow it).
fn drain(conn: &mut Conn, sql: &str) -> mysql::Result<Vec<Vec<mysql::Row>>> {
    match drain_until_error(conn, sql) {
        (_, Some(e)) => Err(e),
        (sets, None) => Ok(sets),
    }
}

/// Like [`drain`], but keeps the result sets of the statements before the one that failed
/// (the server runs none after it), so which statement failed is `sets.len()`.
fn drain_until_error(conn: &mut Conn, sql: &str) -> (Vec<Vec<mysql::Row>>, Option<mysql::Error>) {
    let mut sets = Vec::new();
    let mut result = match conn.query_iter(sql) {
        Ok(result) => result,
        Err(e) => return (sets, Some(e)),
    };
    while let Some(set) = result.iter() {
        match set.collect::<mysql::Result<Vec<_>>>() {
            Ok(rows) => sets.push(rows),
            Err(e) => return (sets, Some(e)),
        }
    }
    (sets, None)
}

fn my_error(e: &mysql::Error) -> DbError {
    match e {
        mysql::Error::MySqlError(m) => DbError {
            message: m.message.clone(),
            code: Some(format!("{}, sqlstate {}", m.code, m.state)),
            offset: None,
            transient: super::mysql_transient(m.code, &m.state),
            timeout: None,
        },
        other => DbError {
            message: crate::error::chain(other),
            code: None,
            offset: None,
            transient: lost(other),
            timeout: None,
        },
    }
}

/// Whether the driver lost (or never got) the connection: I/O errors, connect and read
/// timeouts. These are the client's 2002/2003/2006/2013 of the C client.
fn lost(e: &mysql::Error) -> bool {
    match e {
        mysql::Error::IoError(io) => super::io_kind_transient(io.kind()),
        // The packet codec keeps its I/O error as its source.
        mysql::Error::CodecError(codec) => super::io_transient(codec),
        mysql::Error::DriverError(DriverError::ConnectTimeout | DriverError::Timeout) => true,
        mysql::Error::DriverError(DriverError::CouldNotConnect(Some((_, _, kind)))) => super::io_kind_transient(*kind),
        _ => false,
    }
}

/// Whether a socket read or write timeout ended the call (`EAGAIN` on Linux, `ETIMEDOUT`).
fn read_timed_out(e: &mysql::Error) -> bool {
    use std::io::ErrorKind::{TimedOut, WouldBlock};
    let kind = match e {
        mysql::Error::IoError(io) => Some(io.kind()),
        mysql::Error::CodecError(codec) => {
            std::error::Error::source(codec).and_then(|s| s.downcast_ref::<std::io::Error>()).map(|io| io.kind())
        }
        _ => None,
    };
    matches!(kind, Some(TimedOut | WouldBlock))
}

impl MysqlBackend {
    fn fail(&self, e: &mysql::Error) -> DbError {
        let mut err = my_error(e);
        err.message = self.url.scrub(&err.message);
        err
    }

    /// The connection, unless a bounded read abandoned it (then every later call fails alike).
    fn conn(&mut self) -> Result<Conn, DbError> {
        self.conn.take().ok_or_else(|| DbError::timed_out(&self.url, self.bound, Phase::ReadingTheReply))
    }

    /// Runs `sql` (a migration statement or set-up SQL, which may legitimately run for minutes:
    /// no read timeout) and returns the rows of every result set, propagating an error from any.
    fn query_sets(&mut self, sql: &str) -> Result<Vec<Vec<mysql::Row>>, DbError> {
        let mut conn = self.conn()?;
        let result = drain(&mut conn, sql);
        self.conn = Some(conn);
        result.map_err(|e| self.fail(&e))
    }

    /// Like [`MysqlBackend::query_sets`] for a read that must answer within the bound (the
    /// history's). The driver's socket timeouts are fixed at connect time, so the read runs on a
    /// helper thread that owns the connection and hands it back; when the bound runs out the
    /// connection stays with that thread (blocked until the server answers or the process
    /// ends) and the read is a transient timeout.
    fn read_sets(&mut self, sql: &str) -> Result<Vec<Vec<mysql::Row>>, DbError> {
        match self.read_until_error(sql)? {
            (_, Some(e)) => Err(self.fail(&e)),
            (sets, None) => Ok(sets),
        }
    }

    /// [`MysqlBackend::read_sets`] keeping the sets before a failed statement, with its error
    /// (see [`drain_until_error`]); `Err` only when the bound ran out.
    fn read_until_error(&mut self, sql: &str) -> Result<(Vec<Vec<mysql::Row>>, Option<mysql::Error>), DbError> {
        let mut conn = self.conn()?;
        let sql = sql.to_owned();
        let deadline = Instant::now() + self.bound;
        let answer = within(deadline, move || {
            let result = drain_until_error(&mut conn, &sql);
            (conn, result)
        });
        let Some((conn, result)) = answer else {
            return Err(DbError::timed_out(&self.url, self.bound, Phase::ReadingTheReply));
        };
        self.conn = Some(conn);
        Ok(result)
    }

    fn table_exists(&mut self, name: &str) -> Result<bool, DbError> {
        let sql = format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{name}'"
        );
        let sets = self.read_sets(&sql)?;
        let count = sets.first().and_then(|s| s.first()).and_then(|r| r.get::<i64, _>(0)).unwrap_or(0);
        Ok(count > 0)
    }
}

impl MysqlBackend {
    /// The rows of a catalog read as text (NULL as an empty string), bounded like the history's
    /// reads: what a schema snapshot is made of.
    pub(crate) fn text_rows(&mut self, sql: &str) -> Result<Vec<Vec<String>>, DbError> {
        let sets = self.read_sets(sql)?;
        let text = |v: &mysql::Value| match v {
            mysql::Value::NULL => String::new(),
            mysql::Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            other => other.as_sql(true),
        };
        Ok(sets
            .iter()
            .flatten()
            .map(|r| (0..r.len()).map(|i| r.as_ref(i).map_or_else(String::new, text)).collect())
            .collect())
    }
}

impl Backend for MysqlBackend {
    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.query_sets(sql).map(drop)
    }

    fn load(&mut self, table: &Table, create: bool) -> Result<Option<HistoryState>, DbError> {
        let reads = format!("{}; {}", table.select_sql(), table.select_side_sql());
        let sql = if create {
            // One round trip for both tables and both reads (multi-statement).
            format!("{}; {}; {reads}", table.create_sql(crate::url::Dialect::Mysql), table.create_side_sql())
        } else if !self.table_exists(table.name())? {
            return Ok(None);
        } else if !self.table_exists(&table.side())? {
            table.select_sql()
        } else {
            reads
        };
        let mut sets = self.read_sets(&sql)?;
        let skip = if create { 2 } else { 0 };
        let mut sets = sets.drain(..).skip(skip);
        let rows = sets.next().unwrap_or_default();
        let side = sets.next().unwrap_or_default();
        let rows = rows.into_iter().map(history_row).collect::<Result<Vec<_>, _>>()?;
        let dirty = side.into_iter().next().map(side_row).transpose()?;
        Ok(Some(HistoryState { rows, dirty }))
    }

    /// One round trip ([`Table::mysql_digest_sql`]): the server digests its history and reads
    /// the side table's marker; the digest of `known`'s text is compared with it. No history
    /// table leaves it to the row-by-row read; no side table means no marker.
    fn matches_history(&mut self, table: &Table, known: &[(i64, &str, u64)]) -> Result<Option<bool>, DbError> {
        use sha2::Digest;
        let Some(text) = crate::history::digest_text(known) else { return Ok(None) };
        let (sets, error) = self.read_until_error(&table.mysql_digest_sql())?;
        // ER_NO_SUCH_TABLE: which table is missing shows in how far the statements got.
        let missing = |e: &mysql::Error| matches!(e, mysql::Error::MySqlError(m) if m.code == 1146);
        let marker = match (sets.len(), error) {
            (_, None) => sets.get(2).and_then(|s| s.first()).and_then(|r| int(r, 0)),
            (1, Some(e)) if missing(&e) => return Ok(None),
            (2, Some(e)) if missing(&e) => Some(0),
            (_, Some(e)) => return Err(self.fail(&e)),
        };
        let Some(row) = sets.get(1).and_then(|s| s.first()) else { return Ok(None) };
        // `get_opt`, never `get`: an unexpected value is a mismatch, not a panic.
        let number = |i| int(row, i).unwrap_or(-1);
        let digest = row.get_opt::<String, _>(2).and_then(Result::ok);
        let (count, unusable) = (number(0), number(1));
        let expected: String = sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        let exact = usize::try_from(count) == Ok(known.len()) && unusable == 0 && digest.as_deref() == Some(&*expected);
        Ok(Some(exact && marker == Some(0)))
    }

    fn recorded_downs(&mut self, table: &Table) -> Result<Vec<RecordedDown>, DbError> {
        if !self.table_exists(table.downs())? {
            return Ok(Vec::new());
        }
        let rows = self.query_sets(&table.select_downs_sql())?.into_iter().next().unwrap_or_default();
        rows.into_iter()
            .map(|r| {
                let (version, checksum, down) =
                    mysql::from_row_opt::<(i64, String, Option<String>)>(r).map_err(bad_row)?;
                Ok(RecordedDown { version, checksum, down })
            })
            .collect()
    }

    fn begin_sql(&self) -> &'static str {
        "START TRANSACTION"
    }

    fn transactions(&self) -> Transactions {
        Transactions::Tracked
    }

    fn split<'s>(&self, sql: &'s str) -> Option<Vec<Statement<'s>>> {
        // The driver takes one statement at a time, and each is tracked on its own.
        Some(crate::split::split_mysql(sql))
    }

    fn lock(&self, table: &Table, timeout: Duration) -> Result<LockGuard> {
        lock(&self.url, table, timeout, self.bound)
    }
}

/// Column `i` of `row` as an integer, when it is one.
fn int(row: &mysql::Row, i: usize) -> Option<i64> {
    row.get_opt::<i64, _>(i).and_then(Result::ok)
}

fn bad_row(e: mysql::FromRowError) -> DbError {
    DbError::plain(format!("unreadable history row: {e}"))
}

fn history_row(r: mysql::Row) -> Result<AppliedRow, DbError> {
    type Cols = (i64, Option<String>, Option<String>, Option<String>);
    let (version, name, applied_on, checksum) = mysql::from_row_opt::<Cols>(r).map_err(bad_row)?;
    Ok(AppliedRow {
        version,
        name: name.unwrap_or_default(),
        applied_on: applied_on.unwrap_or_default(),
        checksum: checksum.unwrap_or_default(),
    })
}

fn side_row(r: mysql::Row) -> Result<DirtyMarker, DbError> {
    let (version, direction, done) = mysql::from_row_opt::<(i64, String, u64)>(r).map_err(bad_row)?;
    Ok(DirtyMarker { version, direction: parse_direction(&direction), done })
}

/// `GET_LOCK` on a dedicated connection, with a positive timeout (MariaDB
/// answers NULL to -1) and the answer checked to be 1. The connection's reads are bounded by
/// the lock's wait plus `bound`, its writes by `bound`.
fn lock(url: &DatabaseUrl, table: &Table, timeout: Duration, bound: Duration) -> Result<LockGuard> {
    let seconds = timeout.as_secs_f64().ceil().max(1.0) as u64;
    let read_bound = Duration::from_secs(seconds) + bound;
    let mut conn = open(url, bound, Some(read_bound))?;
    let name = crate::lock::mysql_lock_name(&url.database().unwrap_or_default(), table.name());
    let name = name.replace('\\', "\\\\").replace('\'', "''");
    let answer: Option<Option<i64>> =
        conn.query_first(format!("SELECT GET_LOCK('{name}', {seconds})")).map_err(|e| {
            if read_timed_out(&e) {
                return timed_out(url, read_bound, Phase::ReadingTheReply);
            }
            let err = my_error(&e);
            Error::Database {
                context: "could not take the migration lock".into(),
                message: url.scrub(&err.message),
                code: err.code,
                transient: err.transient,
            }
        })?;
    match answer.flatten() {
        Some(1) => Ok(LockGuard::Mysql(Box::new(conn))),
        Some(_) => Err(Error::LockTimeout { url: url.to_string(), seconds }),
        None => Err(Error::Database {
            context: "could not take the migration lock".into(),
            message: "get_lock returned null".into(),
            code: None,
            transient: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_system_bundle_is_found_and_usable() {
        // Only where the distribution's bundle is there (Debian/Ubuntu) and no
        // SSL_CERT_FILE points elsewhere.
        let debian = std::path::Path::new("/etc/ssl/certs/ca-certificates.crt");
        if debian.exists() && std::env::var_os("SSL_CERT_FILE").is_none() {
            assert_eq!(super::system_bundle().as_deref(), Some(debian));
        }
    }
}
