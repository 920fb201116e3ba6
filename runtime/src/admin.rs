//! The database itself, not its schema: whether the database a URL names exists, creating it,
//! and dropping it, on each backend (`cargo dbmigrate database create | drop | reset`).
//!
//! Server databases are created and dropped from a connection that is not to them: PostgreSQL's
//! maintenance database (`postgres`, else `template1`), MySQL/MariaDB without a database. The
//! backends' interface runs statements without returning rows, so a question is asked as a
//! statement that fails with a known code when the answer is no (see [`pg_exists`]).

use std::time::Duration;

use crate::backend::{self, Backend, DbError};
use crate::error::{Error, Result};
use crate::url::{DatabaseUrl, Dialect, SqliteTarget};

/// What [`create`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The database did not exist and was created.
    Created,
    /// It was there already; nothing was done.
    AlreadyExists,
}

/// What [`drop_database`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// The database existed and is gone.
    Dropped,
    /// There was no such database; nothing was done.
    Absent,
}

/// The name of the database `url` names: the server's database, or the SQLite file's path.
/// A URL that names none (a server URL without a path, `sqlite::memory:`) is an error, since
/// creating or dropping "the server" is never what is meant.
pub fn database_name(url: &DatabaseUrl) -> Result<String> {
    match url.sqlite_target() {
        Some(SqliteTarget::File(path)) => Ok(path.display().to_string()),
        Some(SqliteTarget::Memory) => {
            Err(Error::Url("`sqlite::memory:` names no database file to create or drop".into()))
        }
        None => url.database().ok_or_else(|| Error::Url(format!("{url} names no database (add `/NAME` to it)"))),
    }
}

/// Whether the database `url` names exists.
pub fn exists(url: &DatabaseUrl, connect_timeout: Duration) -> Result<bool> {
    let name = database_name(url)?;
    match url.dialect() {
        Dialect::Sqlite => Ok(std::path::Path::new(&name).exists()),
        Dialect::Postgres => pg_exists(maintenance(url, connect_timeout)?.as_mut(), &name),
        Dialect::Mysql => my_exists(server(url, connect_timeout)?.as_mut(), &name),
    }
}

/// Creates the database `url` names, unless it exists; then checks that it does, on the same
/// connection (a second one would cost a server process and its handshake: verify and diff
/// create a scratch database on every run).
pub fn create(url: &DatabaseUrl, connect_timeout: Duration) -> Result<Created> {
    let name = database_name(url)?;
    let (created, found) = match url.dialect() {
        Dialect::Sqlite => (sqlite_create(&name)?, std::path::Path::new(&name).exists()),
        Dialect::Postgres => {
            let mut conn = maintenance(url, connect_timeout)?;
            let created = if pg_exists(conn.as_mut(), &name)? {
                Created::AlreadyExists
            } else {
                conn.execute(&format!("CREATE DATABASE {}", pg_ident(&name)))
                    .map_err(|e| failed("create", &name, e))?;
                Created::Created
            };
            (created, pg_exists(conn.as_mut(), &name)?)
        }
        Dialect::Mysql => {
            let mut conn = server(url, connect_timeout)?;
            let before = my_exists(conn.as_mut(), &name)?;
            let sql = format!("CREATE DATABASE IF NOT EXISTS {}", my_ident(&name));
            conn.execute(&sql).map_err(|e| failed("create", &name, e))?;
            (if before { Created::AlreadyExists } else { Created::Created }, my_exists(conn.as_mut(), &name)?)
        }
    };
    if !found {
        return Err(unproven(&name, "was created but cannot be found afterwards"));
    }
    Ok(created)
}

/// Drops the database `url` names, if it exists; then checks that it is gone. `force` (PostgreSQL
/// 13 and later) disconnects other sessions first; without it, a database in use is refused
/// with the number of sessions that hold it. On MySQL/MariaDB `force` bounds the wait for other
/// sessions' locks by `connect_timeout`.
pub fn drop_database(url: &DatabaseUrl, connect_timeout: Duration, force: bool) -> Result<Dropped> {
    let name = database_name(url)?;
    let dropped = match url.dialect() {
        Dialect::Sqlite => sqlite_drop(&name)?,
        Dialect::Postgres => {
            let mut conn = maintenance(url, connect_timeout)?;
            if !pg_exists(conn.as_mut(), &name)? {
                return Ok(Dropped::Absent);
            }
            let with = if force { " WITH (FORCE)" } else { "" };
            conn.execute(&format!("DROP DATABASE {}{with}", pg_ident(&name))).map_err(|e| pg_drop_failed(&name, e))?;
            Dropped::Dropped
        }
        Dialect::Mysql => {
            let mut conn = server(url, connect_timeout)?;
            if !my_exists(conn.as_mut(), &name)? {
                return Ok(Dropped::Absent);
            }
            if force {
                // MySQL cannot disconnect other sessions; bound the wait for their locks instead.
                let sql = format!("SET SESSION lock_wait_timeout = {}", connect_timeout.as_secs().max(1));
                conn.execute(&sql).map_err(|e| failed("drop", &name, e))?;
            }
            conn.execute(&format!("DROP DATABASE {}", my_ident(&name))).map_err(|e| failed("drop", &name, e))?;
            Dropped::Dropped
        }
    };
    if exists(url, connect_timeout)? {
        return Err(unproven(&name, "was dropped but is still there"));
    }
    Ok(dropped)
}

/// A connection to PostgreSQL's maintenance database `postgres`, else `template1` (a server
/// where `postgres` was dropped), with the URL's credentials and TLS settings.
fn maintenance(url: &DatabaseUrl, connect_timeout: Duration) -> Result<Box<dyn Backend>> {
    match backend::connect(&url.with_database("postgres"), None, connect_timeout, connect_timeout, false) {
        Ok(conn) => Ok(conn),
        Err(first) if !first.is_transient() => {
            backend::connect(&url.with_database("template1"), None, connect_timeout, connect_timeout, false)
                .map_err(|_| first)
        }
        Err(e) => Err(e),
    }
}

/// A connection to a MySQL/MariaDB server without a database.
fn server(url: &DatabaseUrl, connect_timeout: Duration) -> Result<Box<dyn Backend>> {
    backend::connect(&url.with_database(""), None, connect_timeout, connect_timeout, false)
}

/// Whether PostgreSQL has database `name`: `1 / count` divides by zero (SQLSTATE 22012) exactly
/// when the catalog has no such row, since the backend interface returns no rows.
fn pg_exists(conn: &mut dyn Backend, name: &str) -> Result<bool> {
    let sql = format!("SELECT 1 / count(*)::int FROM pg_catalog.pg_database WHERE datname = {}", pg_literal(name));
    match conn.execute(&sql) {
        Ok(()) => Ok(true),
        Err(e) if e.code.as_deref() == Some("22012") => Ok(false),
        Err(e) => Err(e.into_error(format!("could not look for database {name}"))),
    }
}

/// Whether MySQL/MariaDB has database `name`: `USE` fails with 1049 (unknown database) when not.
fn my_exists(conn: &mut dyn Backend, name: &str) -> Result<bool> {
    match conn.execute(&format!("USE {}", my_ident(name))) {
        Ok(()) => Ok(true),
        Err(e) if e.code.as_deref().is_some_and(|c| c.starts_with("1049,")) => Ok(false),
        Err(e) => Err(e.into_error(format!("could not look for database {name}"))),
    }
}

/// A PostgreSQL `DROP DATABASE` refused because sessions use the database (55006) names how
/// many, from the server's own detail ("There are 2 other sessions using the database.").
fn pg_drop_failed(name: &str, e: DbError) -> Error {
    if e.code.as_deref() != Some("55006") {
        return failed("drop", name, e);
    }
    // The count is in the detail; the message before it holds the name, which may hold digits.
    let detail = e.message.rfind("There ").map_or("", |at| &e.message[at..]);
    let sessions = detail
        .split(|c: char| !c.is_ascii_digit())
        .find(|n| !n.is_empty())
        .map_or_else(|| "other sessions".to_owned(), |n| format!("{n} other session(s)"));
    Error::Database {
        context: format!("cannot drop database {name}: {sessions} are connected to it"),
        message: e.message,
        code: e.code,
        transient: false,
    }
}

/// The check after a change did not find what the change promised.
fn unproven(name: &str, what: &str) -> Error {
    Error::Database { context: format!("database {name}"), message: what.to_owned(), code: None, transient: false }
}

fn failed(verb: &str, name: &str, e: DbError) -> Error {
    e.into_error(format!("could not {verb} database {name}"))
}

/// Creates the SQLite file (an empty file is an empty database to SQLite), never replacing one.
fn sqlite_create(path: &str) -> Result<Created> {
    let io = |e: std::io::Error| Error::Io { path: path.to_owned(), message: e.to_string() };
    if let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(_) => Ok(Created::Created),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Created::AlreadyExists),
        Err(e) => Err(io(e)),
    }
}

/// Removes the SQLite file and the journal files SQLite keeps beside it.
fn sqlite_drop(path: &str) -> Result<Dropped> {
    let io = |e: std::io::Error| Error::Io { path: path.to_owned(), message: e.to_string() };
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Dropped::Absent),
        Err(e) => return Err(io(e)),
    }
    for suffix in ["-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    Ok(Dropped::Dropped)
}

/// A PostgreSQL identifier, quoted: `"` doubled, so any name is taken literally.
fn pg_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A PostgreSQL string literal. `E''` with backslashes doubled means the same whatever
/// `standard_conforming_strings` is.
fn pg_literal(text: &str) -> String {
    format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// A MySQL/MariaDB identifier, quoted: `` ` `` doubled.
fn my_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_whole() {
        assert_eq!(pg_ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(pg_literal(r"it's\"), r"E'it''s\\'");
        assert_eq!(my_ident("a`b"), "`a``b`");
    }

    #[test]
    fn a_url_without_a_database_is_refused() {
        let base = std::path::Path::new("/tmp");
        for text in ["postgres://u@h", "postgres://u@h/", "mysql://root@h:3306", "sqlite::memory:"] {
            let url = DatabaseUrl::parse(text, base).expect("url");
            assert!(matches!(database_name(&url), Err(Error::Url(_))), "{text}");
        }
    }

    #[test]
    fn sqlite_create_and_drop_say_what_they_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/app.db");
        let url = DatabaseUrl::parse(&format!("sqlite:{}", path.display()), dir.path()).expect("url");
        let t = Duration::from_secs(1);
        assert_eq!(create(&url, t).expect("create"), Created::Created);
        assert_eq!(create(&url, t).expect("again"), Created::AlreadyExists);
        assert!(exists(&url, t).expect("exists"));
        assert_eq!(drop_database(&url, t, false).expect("drop"), Dropped::Dropped);
        assert_eq!(drop_database(&url, t, false).expect("again"), Dropped::Absent);
        assert!(!path.exists());
    }
}
