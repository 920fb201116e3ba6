//! Database URLs: parsing, and a redacted form that is the only one ever shown.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use percent_encoding::percent_decode_str;

use crate::error::{Error, Result};

/// The SQL dialect a URL points at: one definition, shared with the build script.
pub use dbmigrate_core::Dialect;

/// Query parameters whose values are secrets.
const SECRET_PARAMS: &[&str] = &["password", "sslpassword"];

/// How a server connection uses TLS. PostgreSQL spells these as libpq's
/// `sslmode` (`allow` is taken as `prefer`), MySQL/MariaDB as `ssl-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text only (`disable`, `DISABLED`).
    Disable,
    /// TLS when the server offers it, plain text otherwise; the certificate
    /// is not checked (`allow`, `prefer`, `PREFERRED`).
    Prefer,
    /// TLS or fail; the certificate is not checked (`require`, `REQUIRED`).
    Require,
    /// TLS with the certificate chain checked against the trusted roots, not
    /// the host name (`verify-ca`, `VERIFY_CA`).
    VerifyCa,
    /// TLS with the chain and the host name checked (`verify-full`,
    /// `VERIFY_IDENTITY`).
    VerifyFull,
}

/// The TLS settings a server URL asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    pub mode: TlsMode,
    /// Trusted root certificate(s), PEM (`sslrootcert`, `ssl-ca`), read only
    /// by the verifying modes. On PostgreSQL they replace the system's roots,
    /// as in libpq; on MySQL/MariaDB they are trusted besides the system's.
    pub root_cert: Option<PathBuf>,
    /// Client certificate and key, PEM (`sslcert`, `sslkey`; PostgreSQL only).
    /// The key is unencrypted PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// The parameter as written in the url, e.g. `sslmode=verify-full`, for
    /// messages (empty when the mode is the default).
    pub source: String,
}

/// PostgreSQL's TLS parameters, handled here and not by the driver.
pub(crate) const PG_TLS_PARAMS: &[&str] = &["sslmode", "sslrootcert", "sslcert", "sslkey"];
/// The connect and handshake bound in seconds, handled here and not by the drivers.
pub(crate) const CONNECT_TIMEOUT: &str = "connect_timeout";
/// MySQL/MariaDB's TLS parameters, handled here and not by the driver.
pub(crate) const MY_TLS_PARAMS: &[&str] = &["ssl-mode", "ssl_mode", "sslmode", "ssl-ca", "ssl_ca"];

const PG_MODES: &str = "disable, allow, prefer, require, verify-ca, verify-full";
const MY_MODES: &str = "DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY (in any case)";

/// A parsed database URL. `Display` and `Debug` never show the password.
#[derive(Clone)]
pub struct DatabaseUrl {
    inner: Inner,
    /// The connect bound for when the url names none ([`DatabaseUrl::with_connect_timeout`]).
    fallback_timeout: Option<Duration>,
}

#[derive(Clone)]
enum Inner {
    Sqlite(SqliteTarget, SqliteMode),
    Server { dialect: Dialect, url: url::Url, tls: TlsConfig },
}

/// How a SQLite URL opens its file: SQLite's own URI parameter `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteMode {
    /// `mode=ro`: read only; the file must exist and any write fails.
    ReadOnly,
    /// `mode=rw`: read and write; the file must exist.
    ReadWrite,
    /// `mode=rwc`, the default: read and write, creating the file when it is missing.
    #[default]
    ReadWriteCreate,
}

impl SqliteMode {
    /// The parameter's value, as written in a url.
    pub fn as_str(self) -> &'static str {
        match self {
            SqliteMode::ReadOnly => "ro",
            SqliteMode::ReadWrite => "rw",
            SqliteMode::ReadWriteCreate => "rwc",
        }
    }
}

/// Where a SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteTarget {
    Memory,
    File(PathBuf),
}

impl DatabaseUrl {
    /// Parses `sqlite:path`, `sqlite://path`, `sqlite::memory:` (with `?mode=ro|rw|rwc`),
    /// `postgres://`, `postgresql://`, `mysql://` and `mariadb://` URLs.
    /// A relative SQLite path is resolved against `base_dir`. Any text gets either a url or an
    /// [`Error::Url`] that says what is wrong with an example of the right form, and never
    /// holds the password.
    pub fn parse(text: &str, base_dir: &Path) -> Result<Self> {
        let text = text.trim();
        let Some((scheme, rest)) = split_scheme(text) else { return Err(not_a_url(text)) };
        let inner = match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => parse_sqlite(rest, base_dir)?,
            "postgres" | "postgresql" => server(Dialect::Postgres, text)?,
            "mysql" | "mariadb" => server(Dialect::Mysql, text)?,
            _ => return Err(Error::Url(format!("unknown scheme `{scheme}:`: {KNOWN_SCHEMES}"))),
        };
        Ok(DatabaseUrl { inner, fallback_timeout: None })
    }

    /// How a SQLite URL opens its file (`?mode=`); `None` for a server URL.
    pub fn sqlite_mode(&self) -> Option<SqliteMode> {
        match &self.inner {
            Inner::Sqlite(_, mode) => Some(*mode),
            Inner::Server { .. } => None,
        }
    }

    pub fn dialect(&self) -> Dialect {
        match &self.inner {
            Inner::Sqlite(..) => Dialect::Sqlite,
            Inner::Server { dialect, .. } => *dialect,
        }
    }

    /// The SQLite target, for SQLite URLs.
    pub fn sqlite_target(&self) -> Option<&SqliteTarget> {
        match &self.inner {
            Inner::Sqlite(t, _) => Some(t),
            Inner::Server { .. } => None,
        }
    }

    /// The database name of a server URL (the path without its `/`), decoded.
    pub fn database(&self) -> Option<String> {
        let url = self.server_url()?;
        let name = url.path().trim_start_matches('/');
        (!name.is_empty()).then(|| decode(name))
    }

    /// Returns a copy pointing at another database on the same server, so
    /// tests and tools can connect to a maintenance database.
    pub fn with_database(&self, name: &str) -> Self {
        let mut copy = self.clone();
        if let Inner::Server { url, .. } = &mut copy.inner {
            url.set_path(&format!("/{name}"));
        }
        copy
    }

    pub(crate) fn server_url(&self) -> Option<&url::Url> {
        match &self.inner {
            Inner::Server { url, .. } => Some(url),
            Inner::Sqlite(..) => None,
        }
    }

    /// The TLS settings of a server URL (`None` for SQLite). Without TLS
    /// parameters PostgreSQL prefers TLS, as libpq does, and MySQL/MariaDB
    /// uses none.
    pub fn tls(&self) -> Option<&TlsConfig> {
        match &self.inner {
            Inner::Server { tls, .. } => Some(tls),
            Inner::Sqlite(..) => None,
        }
    }

    /// The server's host name or address (`None` for SQLite).
    pub fn host(&self) -> Option<String> {
        Some(self.server_url()?.host_str()?.trim_matches(['[', ']']).to_owned())
    }

    /// The port, when the URL gives one.
    pub fn port(&self) -> Option<u16> {
        self.server_url()?.port()
    }

    /// The decoded user name, if any.
    pub fn user(&self) -> Option<String> {
        let url = self.server_url()?;
        (!url.username().is_empty()).then(|| decode(url.username()))
    }

    /// The decoded password, from the authority or a `password=` parameter. For handing to a
    /// client tool through its environment (PGPASSWORD, MYSQL_PWD); never print it.
    pub fn password(&self) -> Option<String> {
        let url = self.server_url()?;
        if let Some(p) = url.password() {
            return Some(decode(p));
        }
        url.query_pairs().find(|(k, _)| k == "password").map(|(_, v)| v.into_owned())
    }

    /// The bound on connecting to this server: the url's `connect_timeout` (seconds), which
    /// wins, else the one given to [`DatabaseUrl::with_connect_timeout`], else `None` (the
    /// engine then uses [`Options::connect_timeout`](crate::Options)).
    pub fn connect_timeout(&self) -> Option<Duration> {
        let own = self.server_url().and_then(|u| connect_timeout_param(u).ok().flatten());
        own.or(self.fallback_timeout)
    }

    /// This url with `timeout` as its connect bound when it names no `connect_timeout`, so the
    /// engine and the dump tools fed from it wait the same.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.fallback_timeout = Some(timeout);
        self
    }

    /// Query parameters other than the secret ones.
    pub fn public_params(&self) -> Vec<(String, String)> {
        let Some(url) = self.server_url() else {
            return Vec::new();
        };
        url.query_pairs()
            .filter(|(k, _)| !SECRET_PARAMS.contains(&k.as_ref()))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// All secret strings this URL holds, raw and percent-encoded, longest
    /// first, so messages can be scrubbed of them.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(url) = self.server_url() {
            if let Some(p) = url.password() {
                out.push(p.to_string());
                out.push(decode(p));
            }
            for (k, v) in url.query_pairs() {
                if SECRET_PARAMS.contains(&k.as_ref()) {
                    out.push(v.into_owned());
                }
            }
            if let Some(q) = url.query() {
                for pair in q.split('&') {
                    if let Some((k, v)) = pair.split_once('=')
                        && SECRET_PARAMS.contains(&k)
                    {
                        out.push(v.to_string());
                    }
                }
            }
        }
        out.retain(|s| !s.is_empty());
        out.sort_by_key(|s| std::cmp::Reverse(s.len()));
        out.dedup();
        out
    }

    /// Replaces every secret of this URL found in `message` with `***`.
    pub(crate) fn scrub(&self, message: &str) -> String {
        scrub(message, &self.secrets())
    }
}

/// Replaces each secret in `message` with `***`. A secret shorter than 4 characters is only
/// replaced where it stands as a URL's password (`:<secret>@`): scrubbing every occurrence of
/// one or two letters mangles the whole message and gives the secret away by elimination.
fn scrub(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        out = if secret.chars().count() >= 4 {
            out.replace(secret.as_str(), "***")
        } else {
            out.replace(&format!(":{secret}@"), ":***@")
        };
    }
    out
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

const KNOWN_SCHEMES: &str = "expected a url starting with sqlite:, postgres://, postgresql://, mysql:// or \
                             mariadb://, e.g. sqlite:dev.db or postgres://user@localhost:5432/app";
const PG_EXAMPLE: &str = "postgres://user:password@localhost:5432/app";
const MY_EXAMPLE: &str = "mysql://user:password@localhost:3306/app";

/// The scheme and what follows its `:`, when `text` starts with one (RFC 3986: a letter, then
/// letters, digits, `+`, `-`, `.`).
fn split_scheme(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once(':')?;
    let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    valid.then_some((scheme, rest))
}

/// The error for text without a scheme: a bare scheme, a libpq connection string, a file path,
/// or something else. Only a path is echoed: anything else might be a secret pasted by mistake.
fn not_a_url(text: &str) -> Error {
    let message = match text.to_ascii_lowercase().as_str() {
        "" => format!("the url is empty: {KNOWN_SCHEMES}"),
        "sqlite" => "`sqlite` names no file: write e.g. sqlite:dev.db, sqlite:///var/lib/app/app.db or sqlite::memory:"
            .to_owned(),
        "postgres" | "postgresql" => format!("`{text}` names no server: write e.g. {PG_EXAMPLE}"),
        "mysql" | "mariadb" => format!("`{text}` names no server: write e.g. {MY_EXAMPLE}"),
        _ => {
            if let Some(converted) = libpq_to_url(text) {
                format!(
                    "a libpq connection string (key=value) is not accepted: write it as a url, {converted}{}",
                    if converted.contains(":***@") { " (with the password, percent-encoded, for ***)" } else { "" }
                )
            } else if looks_like_path(text) {
                format!("`{text}` has no scheme: for a SQLite file write sqlite:{text}")
            } else {
                format!("the url has no scheme: {KNOWN_SCHEMES}")
            }
        }
    };
    Error::Url(message)
}

/// A file path, and nothing that could hold a password (`user:password@…`).
fn looks_like_path(text: &str) -> bool {
    !text.contains(|c: char| c.is_whitespace() || "=:@".contains(c))
        && (text.contains('/') || [".db", ".sqlite", ".sqlite3"].iter().any(|ext| text.ends_with(ext)))
}

/// `host=h port=5432 dbname=app user=u password=x sslmode=require` as a postgres url, with the
/// password shown as `***`; `None` when `text` is not a list of `key=value` words.
fn libpq_to_url(text: &str) -> Option<String> {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    let enc = |v: &str| utf8_percent_encode(v, UNRESERVED).to_string();
    let pairs: Vec<(&str, &str)> = text.split_whitespace().map(|w| w.split_once('=')).collect::<Option<_>>()?;
    let valid_key = |k: &str| !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if !pairs.iter().all(|(k, _)| valid_key(k)) {
        return None;
    }
    let get = |key: &str| pairs.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let mut url = String::from("postgres://");
    if let Some(user) = get("user") {
        url.push_str(&enc(user));
    }
    if get("password").is_some() {
        url.push_str(":***");
    }
    if get("user").is_some() || get("password").is_some() {
        url.push('@');
    }
    let host = get("host").unwrap_or("localhost");
    let socket = host.starts_with('/');
    url.push_str(if socket { "" } else { host });
    if let Some(port) = get("port") {
        url.push_str(&format!(":{}", enc(port)));
    }
    url.push_str(&format!("/{}", enc(get("dbname").unwrap_or_default())));
    let mut query: Vec<String> = socket.then(|| format!("host={}", enc(host))).into_iter().collect();
    let skip = ["user", "password", "host", "port", "dbname"];
    query.extend(pairs.iter().filter(|(k, _)| !skip.contains(k)).map(|(k, v)| format!("{k}={}", enc(v))));
    if !query.is_empty() {
        url.push_str(&format!("?{}", query.join("&")));
    }
    Some(url)
}

/// What follows `sqlite:`: `//` is optional, `:memory:` is an in-memory database, the query
/// holds only `mode`. An empty path is an error, not an in-memory database by surprise.
fn parse_sqlite(rest: &str, base_dir: &Path) -> Result<Inner> {
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mode = sqlite_mode(query)?;
    if path == ":memory:" {
        return Ok(Inner::Sqlite(SqliteTarget::Memory, mode));
    }
    if path.is_empty() {
        return Err(Error::Url(
            "the sqlite url names no file: write e.g. sqlite:dev.db, sqlite:///var/lib/app/app.db or sqlite::memory:"
                .into(),
        ));
    }
    let path = Path::new(path);
    let path = if path.is_absolute() { path.to_path_buf() } else { base_dir.join(path) };
    Ok(Inner::Sqlite(SqliteTarget::File(path), mode))
}

/// The query of a SQLite url: `mode` is honoured, anything else refused by name (silently
/// dropping `mode=ro` once let a "read-only" url write).
fn sqlite_mode(query: &str) -> Result<SqliteMode> {
    let mut mode = SqliteMode::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "mode" {
            return Err(Error::Url(format!(
                "unknown sqlite url parameter `{key}`: the only one known is mode (ro, rw or rwc), e.g. sqlite:app.db?mode=ro"
            )));
        }
        mode = match value {
            "ro" => SqliteMode::ReadOnly,
            "rw" => SqliteMode::ReadWrite,
            "rwc" => SqliteMode::ReadWriteCreate,
            _ => {
                return Err(Error::Url(format!(
                    "unknown sqlite mode `{value}`: expected ro (read only), rw (read and write, the file must \
                     exist) or rwc (create it too, the default)"
                )));
            }
        };
    }
    Ok(mode)
}

fn server(dialect: Dialect, text: &str) -> Result<Inner> {
    let example = if dialect == Dialect::Postgres { PG_EXAMPLE } else { MY_EXAMPLE };
    // url's parse errors never echo the input, so they are safe to show.
    let url = url::Url::parse(text).map_err(|e| {
        Error::Url(match e {
            url::ParseError::EmptyHost => format!("the url names no host: write e.g. {example}"),
            url::ParseError::InvalidPort => format!(
                "the port is not a number from 0 to 65535 (in a password, write `/` as %2F, `?` as %3F \
                 and `#` as %23): write e.g. {example}"
            ),
            other => format!("{other}: write e.g. {example}"),
        })
    })?;
    // PostgreSQL may name its host (or socket directory) in `?host=`.
    let has_host = url.host_str().is_some_and(|h| !h.is_empty())
        || (dialect == Dialect::Postgres && url.query_pairs().any(|(k, _)| k == "host"));
    if !has_host {
        let socket =
            if dialect == Dialect::Postgres { " (or a socket: postgres:///app?host=/var/run/postgresql)" } else { "" };
        return Err(Error::Url(format!("the url names no host: write e.g. {example}{socket}")));
    }
    let tls = match dialect {
        Dialect::Postgres => pg_tls(&url)?,
        _ => my_tls(&url)?,
    };
    connect_timeout_param(&url)?;
    Ok(Inner::Server { dialect, url, tls })
}

/// The `connect_timeout` parameter (whole seconds, as libpq and the mysql client spell it),
/// checked when the url is parsed. Unlike libpq, `0` (wait forever) is refused: no wait on
/// the network may be unbounded.
fn connect_timeout_param(url: &url::Url) -> Result<Option<Duration>> {
    let Some((_, value)) = param(url, &[CONNECT_TIMEOUT]) else { return Ok(None) };
    match value.trim().parse::<u64>() {
        Ok(secs) if secs > 0 => Ok(Some(Duration::from_secs(secs))),
        _ => Err(Error::Url(format!(
            "connect_timeout `{value}` is not a number of seconds above 0: write e.g. connect_timeout=10"
        ))),
    }
}

/// The last value of the first of `names` present in the query.
fn param(url: &url::Url, names: &[&str]) -> Option<(String, String)> {
    names.iter().find_map(|name| {
        url.query_pairs().filter(|(k, _)| k == name).last().map(|(k, v)| (k.into_owned(), v.into_owned()))
    })
}

fn path_param(url: &url::Url, names: &[&str]) -> Option<PathBuf> {
    param(url, names).map(|(_, v)| v).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// libpq's `sslmode`, `sslrootcert`, `sslcert` and `sslkey`.
fn pg_tls(url: &url::Url) -> Result<TlsConfig> {
    let mut root_cert = path_param(url, &["sslrootcert"]);
    // libpq 16's `sslrootcert=system`: the system's roots, checked in full.
    let system_roots = root_cert.as_deref() == Some(Path::new("system"));
    if system_roots {
        root_cert = None;
    }
    let (mode, source) = match param(url, &["sslmode"]) {
        None if system_roots => (TlsMode::VerifyFull, String::new()),
        None => (TlsMode::Prefer, String::new()),
        Some((key, value)) => {
            let mode = match value.to_ascii_lowercase().as_str() {
                "disable" => TlsMode::Disable,
                "allow" | "prefer" => TlsMode::Prefer,
                // libpq: with a root certificate, require checks the chain.
                "require" if root_cert.is_some() => TlsMode::VerifyCa,
                "require" => TlsMode::Require,
                "verify-ca" => TlsMode::VerifyCa,
                "verify-full" => TlsMode::VerifyFull,
                _ => return Err(bad_mode(&key, &value, PG_MODES)),
            };
            (mode, format!("{key}={value}"))
        }
    };
    let client_cert = path_param(url, &["sslcert"]);
    let client_key = path_param(url, &["sslkey"]);
    if client_cert.is_some() != client_key.is_some() {
        return Err(Error::Url("sslcert and sslkey must be given together".into()));
    }
    Ok(TlsConfig { mode, root_cert, client_cert, client_key, source })
}

/// MySQL's `ssl-mode` (also `sslmode`, `ssl_mode`) and `ssl-ca`. As with the
/// mysql client, `ssl-ca` without a mode means `VERIFY_CA`.
fn my_tls(url: &url::Url) -> Result<TlsConfig> {
    let root_cert = path_param(url, &["ssl-ca", "ssl_ca"]);
    let (mode, source) = match param(url, &["ssl-mode", "ssl_mode", "sslmode"]) {
        None if root_cert.is_some() => (TlsMode::VerifyCa, String::new()),
        None => (TlsMode::Disable, String::new()),
        Some((key, value)) => {
            let mode = match value.to_ascii_uppercase().replace('-', "_").as_str() {
                "DISABLED" => TlsMode::Disable,
                "PREFERRED" => TlsMode::Prefer,
                "REQUIRED" => TlsMode::Require,
                "VERIFY_CA" => TlsMode::VerifyCa,
                "VERIFY_IDENTITY" => TlsMode::VerifyFull,
                _ => return Err(bad_mode(&key, &value, MY_MODES)),
            };
            (mode, format!("{key}={value}"))
        }
    };
    Ok(TlsConfig { mode, root_cert, client_cert: None, client_key: None, source })
}

fn bad_mode(key: &str, value: &str, allowed: &str) -> Error {
    Error::Url(format!("unknown {key} `{value}`: expected one of {allowed}"))
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Sqlite(target, mode) => {
                match target {
                    SqliteTarget::Memory => f.write_str("sqlite::memory:")?,
                    SqliteTarget::File(p) => write!(f, "sqlite:{}", p.display())?,
                }
                match mode {
                    SqliteMode::ReadWriteCreate => Ok(()),
                    other => write!(f, "?mode={}", other.as_str()),
                }
            }
            Inner::Server { url, .. } => f.write_str(&redacted(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

fn redacted(url: &url::Url) -> String {
    let mut copy = url.clone();
    if copy.password().is_some() {
        // Setting a password only fails on URLs that cannot have one.
        let _ = copy.set_password(Some("***"));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if SECRET_PARAMS.contains(&k.as_ref()) { "***".to_string() } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        copy.query_pairs_mut().clear().extend_pairs(pairs);
    }
    copy.to_string().replace("%2A%2A%2A", "***")
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_secrets_are_scrubbed_only_where_they_are_the_password() {
        let secrets = vec!["r".to_owned()];
        let message = "relation \"users\" does not exist at postgres://app:r@db/app";
        assert_eq!(scrub(message, &secrets), "relation \"users\" does not exist at postgres://app:***@db/app");
        let secrets = vec!["s3cret".to_owned()];
        assert_eq!(scrub("password s3cret rejected", &secrets), "password *** rejected");
    }

    use super::*;

    fn p(s: &str) -> DatabaseUrl {
        DatabaseUrl::parse(s, Path::new("/base")).expect("valid url")
    }

    #[test]
    fn connect_timeout_is_whole_seconds_above_zero() {
        assert_eq!(p("postgres://h/db?connect_timeout=3").connect_timeout(), Some(Duration::from_secs(3)));
        assert_eq!(p("mysql://h/db?connect_timeout=7").connect_timeout(), Some(Duration::from_secs(7)));
        assert_eq!(p("postgres://h/db").connect_timeout(), None);
        let fallback = Duration::from_secs(5);
        assert_eq!(p("postgres://h/db").with_connect_timeout(fallback).connect_timeout(), Some(fallback));
        let own = p("postgres://h/db?connect_timeout=3").with_connect_timeout(fallback);
        assert_eq!(own.connect_timeout(), Some(Duration::from_secs(3)), "the url's own wins");
        for bad in ["0", "x", "-1", "1.5"] {
            let err = DatabaseUrl::parse(&format!("mysql://h/db?connect_timeout={bad}"), Path::new("/"));
            let message = err.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains("connect_timeout") && message.contains("e.g. connect_timeout=10"), "{message}");
        }
    }

    #[test]
    fn sqlite_forms() {
        assert_eq!(p("sqlite::memory:").sqlite_target(), Some(&SqliteTarget::Memory));
        assert_eq!(p("sqlite:db/a.db").sqlite_target(), Some(&SqliteTarget::File("/base/db/a.db".into())));
        assert_eq!(p("sqlite://a.db").sqlite_target(), Some(&SqliteTarget::File("/base/a.db".into())));
        assert_eq!(p("sqlite:///abs/a.db").sqlite_target(), Some(&SqliteTarget::File("/abs/a.db".into())));
    }

    /// The message `text` is refused with; it must hold every one of `wanted`.
    fn refused(text: &str, wanted: &[&str]) {
        let message = match DatabaseUrl::parse(text, Path::new("/base")) {
            Ok(url) => panic!("`{text}` was accepted as {url}"),
            Err(e) => e.to_string(),
        };
        for w in wanted {
            assert!(message.contains(w), "`{text}`: {message} lacks {w}");
        }
        assert!(!message.contains("s3cr"), "`{text}`: the password is shown in {message}");
    }

    #[test]
    fn every_malformed_form_says_what_is_wrong_and_shows_the_right_form() {
        refused("sqlite", &["`sqlite` names no file", "e.g. sqlite:dev.db"]);
        refused("SQLite", &["names no file", "sqlite::memory:"]);
        refused("sqlite:", &["the sqlite url names no file", "e.g. sqlite:dev.db"]);
        refused("sqlite://", &["the sqlite url names no file"]);
        refused("sqlite:?mode=ro", &["names no file"]);
        refused("postgres", &["`postgres` names no server", "e.g. postgres://user:password@localhost:5432/app"]);
        refused("postgresql", &["names no server"]);
        refused("postgres://", &["names no host", "e.g. postgres://"]);
        refused("postgresql://@", &["names no host"]);
        refused("postgres://:5432/db", &["names no host"]);
        refused("postgres://u:s3cret@:5432/db", &["names no host"]);
        refused("mysql://@", &["names no host", "e.g. mysql://user:password@localhost:3306/app"]);
        refused("mysql://", &["names no host"]);
        refused("mysql", &["`mysql` names no server"]);
        refused("file.db", &["`file.db` has no scheme", "sqlite:file.db"]);
        refused("./file.db", &["sqlite:./file.db"]);
        refused("/var/lib/app.sqlite3", &["sqlite:/var/lib/app.sqlite3"]);
        refused("", &["the url is empty", "sqlite:"]);
        refused("   ", &["the url is empty"]);
        refused("s3cret", &["the url has no scheme", "e.g. sqlite:dev.db"]);
        refused("oracle://h/db", &["unknown scheme `oracle:`", "postgres://"]);
        refused("http://s3cret@h", &["unknown scheme `http:`"]);
        refused("postgres://u:s3cret@h:70000/db", &["the port is not a number", "%2F"]);
        refused("postgres://u:s3cr/t@h/db", &["the port is not a number", "%2F"]);
        refused("mysql://u:s3cret@h:-1/db", &["the port is not a number"]);
        refused("sqlite:a.db?mode=rwx", &["unknown sqlite mode `rwx`", "ro", "rwc"]);
        refused("sqlite:a.db?cache=shared", &["unknown sqlite url parameter `cache`", "mode"]);
    }

    #[test]
    fn a_libpq_string_is_refused_with_the_url_it_means() {
        refused(
            "host=localhost dbname=x user=postgres",
            &["libpq connection string", "write it as a url, postgres://postgres@localhost/x"],
        );
        refused(
            "host=db.example port=6432 dbname=app user=bob password=s3cret:x@y sslmode=require",
            &["postgres://bob:***@db.example:6432/app?sslmode=require", "for ***"],
        );
        refused("host=/var/run/postgresql dbname=app", &["postgres:///app?host=%2Fvar%2Frun%2Fpostgresql"]);
    }

    #[test]
    fn passwords_with_reserved_characters() {
        assert_eq!(p("postgres://u:p@ss@h/db").password().as_deref(), Some("p@ss"));
        assert_eq!(p("postgres://u:a:b@h/db").password().as_deref(), Some("a:b"));
        assert_eq!(p("mysql://u:100%@h/db").password().as_deref(), Some("100%"));
        assert_eq!(p("mysql://u:%ff%fe@h/db").password().as_deref(), Some("\u{fffd}\u{fffd}"));
        assert_eq!(p("postgres://u:p%40ss@h/db").password().as_deref(), Some("p@ss"));
        let shown = p("postgres://u:p@ss@h/db").to_string();
        assert!(!shown.contains("p@ss") && !shown.contains("p%40ss"), "{shown}");
        assert_eq!(p("mysql://%ff@h/%c3%28").database().as_deref(), Some("\u{fffd}("));
    }

    #[test]
    fn sqlite_modes() {
        assert_eq!(p("sqlite:a.db").sqlite_mode(), Some(SqliteMode::ReadWriteCreate));
        assert_eq!(p("sqlite:a.db?mode=ro").sqlite_mode(), Some(SqliteMode::ReadOnly));
        assert_eq!(p("sqlite:///abs/a.db?mode=rw").sqlite_mode(), Some(SqliteMode::ReadWrite));
        assert_eq!(p("sqlite://a.db?mode=rwc").sqlite_mode(), Some(SqliteMode::ReadWriteCreate));
        assert_eq!(p("sqlite:a.db?mode=ro").sqlite_target(), Some(&SqliteTarget::File("/base/a.db".into())));
        assert_eq!(p("sqlite:a.db?mode=ro").to_string(), "sqlite:/base/a.db?mode=ro");
        assert_eq!(p("sqlite:a.db").to_string(), "sqlite:/base/a.db");
        assert_eq!(p("postgres://h/db").sqlite_mode(), None);
    }

    #[test]
    fn server_forms() {
        assert_eq!(p("postgresql://u@h/db").dialect(), Dialect::Postgres);
        assert_eq!(p("mariadb://u@h:3307/db").dialect(), Dialect::Mysql);
        assert_eq!(p("mysql://u@h/my%20db").database().as_deref(), Some("my db"));
        assert!(DatabaseUrl::parse("oracle://x", Path::new("/")).is_err());
        assert!(DatabaseUrl::parse("postgres://", Path::new("/")).is_err());
        assert!(DatabaseUrl::parse("mysql:///db", Path::new("/")).is_err());
        let socket = p("postgres:///db?host=/var/run/postgresql");
        assert_eq!(socket.database().as_deref(), Some("db"));
    }

    #[test]
    fn redaction() {
        let u = p("postgres://bob:p%40ss%3Aw%2Frd@h:5432/db?sslmode=require&password=hunter2&sslpassword=x9");
        let shown = format!("{u} {u:?}");
        assert!(!shown.contains("p%40ss"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("x9"), "{shown}");
        assert!(shown.contains("bob:***@h:5432/db"), "{shown}");
        assert!(shown.contains("sslmode=require"), "{shown}");
        assert_eq!(u.password().as_deref(), Some("p@ss:w/rd"));
        assert_eq!(u.scrub("x p@ss:w/rd y hunter2"), "x *** y ***");
        assert_eq!(u.public_params(), vec![("sslmode".to_string(), "require".to_string())]);
    }

    fn mode(s: &str) -> TlsMode {
        p(s).tls().expect("server url").mode
    }

    #[test]
    fn pg_sslmode() {
        assert_eq!(mode("postgres://h/db"), TlsMode::Prefer);
        assert_eq!(mode("postgres://h/db?sslmode=disable"), TlsMode::Disable);
        assert_eq!(mode("postgres://h/db?sslmode=allow"), TlsMode::Prefer);
        assert_eq!(mode("postgres://h/db?sslmode=require"), TlsMode::Require);
        assert_eq!(mode("postgres://h/db?sslmode=require&sslrootcert=/ca.pem"), TlsMode::VerifyCa);
        assert_eq!(mode("postgres://h/db?sslmode=verify-ca"), TlsMode::VerifyCa);
        assert_eq!(mode("postgresql://h/db?sslmode=verify-full"), TlsMode::VerifyFull);
        assert_eq!(mode("postgresql://h/db?sslrootcert=system"), TlsMode::VerifyFull);
        let tls = p("postgres://h/db?sslmode=verify-full&sslrootcert=/ca.pem&sslcert=/c.pem&sslkey=/k.pem");
        let tls = tls.tls().expect("tls");
        assert_eq!(tls.root_cert.as_deref(), Some(Path::new("/ca.pem")));
        assert_eq!(tls.client_key.as_deref(), Some(Path::new("/k.pem")));
        assert_eq!(tls.source, "sslmode=verify-full");
        assert!(p("sqlite::memory:").tls().is_none());
    }

    #[test]
    fn mysql_ssl_mode() {
        assert_eq!(mode("mysql://h/db"), TlsMode::Disable);
        assert_eq!(mode("mysql://h/db?ssl-mode=REQUIRED"), TlsMode::Require);
        assert_eq!(mode("mariadb://h/db?ssl-mode=preferred"), TlsMode::Prefer);
        assert_eq!(mode("mysql://h/db?sslmode=verify_ca"), TlsMode::VerifyCa);
        assert_eq!(mode("mysql://h/db?ssl_mode=Verify_Identity"), TlsMode::VerifyFull);
        assert_eq!(mode("mysql://h/db?ssl-mode=disabled&ssl-ca=/ca.pem"), TlsMode::Disable);
        assert_eq!(mode("mysql://h/db?ssl-ca=/ca.pem"), TlsMode::VerifyCa);
    }

    #[test]
    fn unknown_sslmode_names_the_parameter_and_the_choices() {
        let err = DatabaseUrl::parse("postgres://u:pw@h/db?sslmode=verify_full", Path::new("/")).expect_err("bad");
        let text = err.to_string();
        assert!(text.contains("sslmode `verify_full`"), "{text}");
        assert!(text.contains("disable, allow, prefer, require, verify-ca, verify-full"), "{text}");
        assert!(!text.contains("pw"), "{text}");
        let err = DatabaseUrl::parse("mysql://h/db?ssl-mode=on", Path::new("/")).expect_err("bad");
        let text = err.to_string();
        assert!(text.contains("ssl-mode `on`"), "{text}");
        assert!(text.contains("DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY"), "{text}");
        assert!(DatabaseUrl::parse("postgres://h/db?sslcert=/c.pem", Path::new("/")).is_err());
    }
}

/// The parser over arbitrary text and URL-shaped text: it never panics, never shows the
/// password, and what it accepts it shows in a form it accepts again.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn check(text: &str) -> std::result::Result<(), TestCaseError> {
        match DatabaseUrl::parse(text, Path::new("/base")) {
            Ok(url) => {
                let shown = url.to_string();
                let again = DatabaseUrl::parse(&shown, Path::new("/base"));
                prop_assert!(again.is_ok(), "{text:?} is shown as {shown:?}, which is refused");
                if let Some(password) = url.password().filter(|p| p.len() >= 4) {
                    prop_assert!(!shown.contains(&password), "{text:?} is shown with its password: {shown}");
                }
            }
            Err(e) => {
                let message = e.to_string();
                prop_assert!(!message.contains("S3cretPw"), "{text:?}: {message}");
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn any_text(text in "\\PC*") {
            check(&text)?;
        }

        #[test]
        fn url_shaped_text(
            scheme in "(sqlite|SQLite|postgres|postgresql|mysql|mariadb|oracle|)",
            colon in "(:|://|:///|)",
            user in "[a-z@%:]{0,4}",
            password in "(S3cretPw[@:%/?#a-f0-9]{0,4})?",
            at in "@?",
            host in "(localhost|127\\.0\\.0\\.1|\\[::1\\]|\\[::1|h|)",
            port in "(:[0-9]{0,6}|:-1|:x|)",
            path in "(/[a-z%0-9.:]{0,6}|)",
            query in "(\\?[a-z_=%&-]{0,12}|\\?mode=(ro|rw|rwc|x)|\\?sslmode=[a-z-]{0,11}|\\?connect_timeout=[0-9x]{0,3}|)",
        ) {
            let password = if password.is_empty() { String::new() } else { format!(":{password}") };
            check(&format!("{scheme}{colon}{user}{password}{at}{host}{port}{path}{query}"))?;
        }

        #[test]
        fn libpq_shaped_text(pairs in proptest::collection::vec("(host|port|dbname|user|password|sslmode|x)=[a-z0-9/:@%=]{0,6}", 0..6)) {
            check(&pairs.join(" "))?;
        }
    }
}
