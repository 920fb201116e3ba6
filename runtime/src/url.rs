//! Database URLs: parsing, and a redacted form that is the only one ever shown.

use std::fmt;
use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;

use crate::error::{Error, Result};

/// The SQL dialect a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

/// Query parameters whose values are secrets.
const SECRET_PARAMS: &[&str] = &["password", "sslpassword"];

/// A parsed database URL. `Display` and `Debug` never show the password.
#[derive(Clone)]
pub struct DatabaseUrl {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Sqlite(SqliteTarget),
    Server { dialect: Dialect, url: url::Url },
}

/// Where a SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteTarget {
    Memory,
    File(PathBuf),
}

impl DatabaseUrl {
    /// Parses `sqlite:path`, `sqlite://path`, `sqlite::memory:`,
    /// `postgres://`, `postgresql://`, `mysql://` and `mariadb://` URLs.
    /// A relative SQLite path is resolved against `base_dir`.
    pub fn parse(text: &str, base_dir: &Path) -> Result<Self> {
        let text = text.trim();
        let scheme = text.split(':').next().unwrap_or_default();
        let inner = match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Inner::Sqlite(parse_sqlite(&text[scheme.len() + 1..], base_dir)),
            "postgres" | "postgresql" => server(Dialect::Postgres, text)?,
            "mysql" | "mariadb" => server(Dialect::Mysql, text)?,
            _ => {
                return Err(Error::Url(
                    "expected a url starting with sqlite:, postgres://, postgresql://, mysql:// or mariadb://".into(),
                ));
            }
        };
        Ok(DatabaseUrl { inner })
    }

    pub fn dialect(&self) -> Dialect {
        match &self.inner {
            Inner::Sqlite(_) => Dialect::Sqlite,
            Inner::Server { dialect, .. } => *dialect,
        }
    }

    /// The SQLite target, for SQLite URLs.
    pub fn sqlite_target(&self) -> Option<&SqliteTarget> {
        match &self.inner {
            Inner::Sqlite(t) => Some(t),
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
            Inner::Sqlite(_) => None,
        }
    }

    /// The decoded user name, if any.
    pub(crate) fn user(&self) -> Option<String> {
        let url = self.server_url()?;
        (!url.username().is_empty()).then(|| decode(url.username()))
    }

    /// The decoded password, from the authority or a `password=` parameter.
    pub(crate) fn password(&self) -> Option<String> {
        let url = self.server_url()?;
        if let Some(p) = url.password() {
            return Some(decode(p));
        }
        url.query_pairs().find(|(k, _)| k == "password").map(|(_, v)| v.into_owned())
    }

    /// Query parameters other than the secret ones.
    pub(crate) fn public_params(&self) -> Vec<(String, String)> {
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
        let mut out = message.to_string();
        for secret in self.secrets() {
            out = out.replace(&secret, "***");
        }
        out
    }
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn parse_sqlite(rest: &str, base_dir: &Path) -> SqliteTarget {
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    // Query parameters are not used for SQLite; drop them from the path.
    let path = rest.split('?').next().unwrap_or_default();
    if path == ":memory:" || path.is_empty() {
        return SqliteTarget::Memory;
    }
    let path = Path::new(path);
    SqliteTarget::File(if path.is_absolute() { path.to_path_buf() } else { base_dir.join(path) })
}

fn server(dialect: Dialect, text: &str) -> Result<Inner> {
    // url's parse errors never echo the input, so they are safe to show.
    let url = url::Url::parse(text).map_err(|e| Error::Url(e.to_string()))?;
    // PostgreSQL may name its host (or socket directory) in `?host=`.
    let has_host = url.host_str().is_some_and(|h| !h.is_empty())
        || (dialect == Dialect::Postgres && url.query_pairs().any(|(k, _)| k == "host"));
    if !has_host {
        return Err(Error::Url("the url has no host".into()));
    }
    Ok(Inner::Server { dialect, url })
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Sqlite(SqliteTarget::Memory) => f.write_str("sqlite::memory:"),
            Inner::Sqlite(SqliteTarget::File(p)) => write!(f, "sqlite:{}", p.display()),
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
    use super::*;

    fn p(s: &str) -> DatabaseUrl {
        DatabaseUrl::parse(s, Path::new("/base")).expect("valid url")
    }

    #[test]
    fn sqlite_forms() {
        assert_eq!(p("sqlite::memory:").sqlite_target(), Some(&SqliteTarget::Memory));
        assert_eq!(p("sqlite:db/a.db").sqlite_target(), Some(&SqliteTarget::File("/base/db/a.db".into())));
        assert_eq!(p("sqlite://a.db").sqlite_target(), Some(&SqliteTarget::File("/base/a.db".into())));
        assert_eq!(p("sqlite:///abs/a.db").sqlite_target(), Some(&SqliteTarget::File("/abs/a.db".into())));
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
}
