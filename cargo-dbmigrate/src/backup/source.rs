//! The database a backup belongs to: its engine and location, never only its name, so that
//! two servers with a database `app` (or a SQLite `app.db` beside a PostgreSQL `app`) never
//! share retention, `--latest` or a restore.

use super::conn::ServerConn;
use crate::CliError;
use dbmigrate_runtime::{DatabaseUrl, Dialect, SqliteTarget};
use std::path::{Path, PathBuf};

/// The database a backup is taken of, or restored into.
#[derive(Debug, Clone)]
pub enum Source {
    Sqlite(PathBuf),
    Postgres(ServerConn),
    Mysql(ServerConn),
}

impl Source {
    /// The source for a URL; `None` for an in-memory SQLite database (nothing to keep).
    pub fn of(url: &DatabaseUrl) -> Result<Option<Self>, CliError> {
        Ok(Some(match url.dialect() {
            Dialect::Sqlite => match url.sqlite_target() {
                Some(SqliteTarget::File(path)) => Source::Sqlite(path.clone()),
                _ => return Ok(None),
            },
            Dialect::Postgres => Source::Postgres(ServerConn::of(url)?),
            Dialect::Mysql => Source::Mysql(ServerConn::of(url)?),
        }))
    }

    /// The engine: `sqlite`, `postgres` or `mysql`.
    pub fn engine(&self) -> &'static str {
        match self {
            Source::Sqlite(_) => "sqlite",
            Source::Postgres(_) => "postgres",
            Source::Mysql(_) => "mysql",
        }
    }

    /// The identity a backup records and is matched by: engine, host, port and database, or the
    /// SQLite file's canonical path. It holds no user and no password, so it can be shown.
    pub fn key(&self) -> String {
        match self {
            Source::Sqlite(path) => format!("sqlite:{}", canonical(path).display()),
            Source::Postgres(c) => server_key("postgres", c, 5432),
            Source::Mysql(c) => server_key("mysql", c, 3306),
        }
    }

    /// The database's name, as used in backup file names.
    pub fn database(&self) -> String {
        let raw = match self {
            Source::Sqlite(path) => path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
            Source::Postgres(c) | Source::Mysql(c) => c.database.clone(),
        };
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
    }

    /// The backup file's extension, which also tells the engine of a backup without a manifest.
    pub fn extension(&self) -> &'static str {
        extension(self.engine())
    }
}

/// The file extension of an engine's backups.
pub fn extension(engine: &str) -> &'static str {
    match engine {
        "sqlite" => "sqlite",
        "postgres" => "pgdump",
        _ => "sql",
    }
}

fn server_key(scheme: &str, c: &ServerConn, default_port: u16) -> String {
    let host = c.host.to_ascii_lowercase();
    let host = if host == "localhost" { "127.0.0.1".to_owned() } else { host };
    format!("{scheme}://{host}:{}/{}", c.port.unwrap_or(default_port), c.database)
}

/// The path with symlinks and `..` resolved; a file that does not exist yet resolves through
/// its folder, so a database and its backups agree on one key before and after it is created.
fn canonical(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    match (parent.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(url: &str) -> Source {
        let url = DatabaseUrl::parse(url, Path::new("/tmp")).expect("url");
        Source::of(&url).expect("source").expect("not in memory")
    }

    #[test]
    fn the_key_is_engine_host_port_and_database_without_credentials() {
        assert_eq!(of("postgres://app:secret@DB.example:6543/app").key(), "postgres://db.example:6543/app");
        assert_eq!(of("postgres://localhost/app").key(), "postgres://127.0.0.1:5432/app");
        assert_eq!(of("mysql://root@127.0.0.1/app").key(), "mysql://127.0.0.1:3306/app");
        assert_ne!(of("postgres://127.0.0.1:5433/app").key(), of("postgres://127.0.0.1:5432/app").key());
        assert!(of("sqlite:/tmp/app.db").key().starts_with("sqlite:/"));
        assert_ne!(of("sqlite:/tmp/app.db").key(), of("postgres://127.0.0.1/app").key());
    }
}
