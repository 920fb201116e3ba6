//! The connection settings a dump tool needs, read from the engine's `DatabaseUrl`. The
//! password only ever goes into a child's environment (PGPASSWORD / MYSQL_PWD), never argv or
//! a message.

use crate::CliError;
use dbmigrate_runtime::DatabaseUrl;

/// Where a PostgreSQL or MySQL/MariaDB database is.
#[derive(Clone)]
pub struct ServerConn {
    pub host: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    password: Option<String>,
    pub database: String,
    /// Query parameters other than secrets (sslmode, ssl-mode, ...).
    pub params: Vec<(String, String)>,
    /// Whole seconds a tool may take to connect: the url's `connect_timeout`, else
    /// `--connect-timeout`, so a backup never hangs on a stuck server either.
    pub connect_timeout: u64,
}

impl std::fmt::Debug for ServerConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConn").field("host", &self.host).field("database", &self.database).finish_non_exhaustive()
    }
}

/// The URL text as `db::database_url` chooses it: `--database-url`, the env var, the default.
impl ServerConn {
    /// The connection a dump tool needs, from the engine's parsed URL (one parser for both).
    pub fn of(url: &DatabaseUrl) -> Result<Self, CliError> {
        let database = url.database().filter(|d| !d.is_empty()).ok_or_else(|| {
            CliError::usage("the database url names no database, so there is nothing to back up")
                .hint("add the database to the url, e.g. postgres://user@host/app")
        })?;
        Ok(ServerConn {
            host: url.host().unwrap_or_else(|| "localhost".to_owned()),
            port: url.port(),
            user: url.user(),
            password: url.password(),
            database,
            params: url.public_params(),
            connect_timeout: url
                .connect_timeout()
                .unwrap_or(dbmigrate_runtime::DEFAULT_CONNECT_TIMEOUT)
                .as_secs()
                .max(1),
        })
    }

    pub fn pg_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("PGHOST".into(), self.host.clone()),
            ("PGDATABASE".into(), self.database.clone()),
            // libpq's bound on connecting and authenticating (it waits forever without one).
            ("PGCONNECT_TIMEOUT".into(), self.connect_timeout.to_string()),
        ];
        if let Some(port) = self.port {
            env.push(("PGPORT".into(), port.to_string()));
        }
        if let Some(user) = &self.user {
            env.push(("PGUSER".into(), user.clone()));
        }
        if let Some(pw) = &self.password {
            env.push(("PGPASSWORD".into(), pw.clone()));
        }
        for (k, v) in &self.params {
            let var = match k.as_str() {
                "sslmode" => "PGSSLMODE",
                "sslrootcert" => "PGSSLROOTCERT",
                "sslcert" => "PGSSLCERT",
                "sslkey" => "PGSSLKEY",
                "application_name" => "PGAPPNAME",
                "options" => "PGOPTIONS",
                _ => continue,
            };
            env.push((var.into(), v.clone()));
        }
        env
    }

    /// The mysql client's connection arguments (no password: that is MYSQL_PWD).
    pub fn mysql_args(&self) -> Vec<String> {
        let mut args = vec![format!("--host={}", self.host)];
        if let Some(port) = self.port {
            args.push(format!("--port={port}"));
        }
        if let Some(user) = &self.user {
            args.push(format!("--user={user}"));
        }
        for (k, v) in &self.params {
            match k.as_str() {
                "ssl-mode" | "sslmode" if v.eq_ignore_ascii_case("disabled") => args.push("--skip-ssl".into()),
                "ssl-mode" | "sslmode" if !v.eq_ignore_ascii_case("preferred") => args.push("--ssl".into()),
                "ssl-ca" => args.push(format!("--ssl-ca={v}")),
                _ => {}
            }
        }
        args
    }

    /// The `mariadb` client's arguments: [`Self::mysql_args`] and its bound on connecting and
    /// logging in. mariadb-dump has no such option (it refuses `--connect-timeout`, on the
    /// command line and in option files alike), so the dump runs only once the engine has
    /// connected within the bound, under the migration lock.
    pub fn mysql_client_args(&self) -> Vec<String> {
        let mut args = self.mysql_args();
        args.push(format!("--connect-timeout={}", self.connect_timeout));
        args
    }

    /// The mysql client's environment: the password, never in argv.
    pub fn mysql_env(&self) -> Vec<(String, String)> {
        self.password.iter().map(|p| ("MYSQL_PWD".to_owned(), p.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_goes_to_the_environment_only() {
        let url = DatabaseUrl::parse(
            "postgres://app:p%40ss%3Aw%2Frd@db.internal:6543/shop?sslmode=require&sslrootcert=/ca.pem",
            std::path::Path::new("/"),
        )
        .expect("url");
        let conn = ServerConn::of(&url).expect("conn");
        assert_eq!((conn.host.as_str(), conn.port, conn.database.as_str()), ("db.internal", Some(6543), "shop"));
        let env = conn.pg_env();
        assert!(env.contains(&("PGPASSWORD".to_owned(), "p@ss:w/rd".to_owned())), "{env:?}");
        assert!(env.contains(&("PGSSLROOTCERT".to_owned(), "/ca.pem".to_owned())), "{env:?}");
        assert!(env.contains(&("PGCONNECT_TIMEOUT".to_owned(), "10".to_owned())), "{env:?}");
        let bounded = url.clone().with_connect_timeout(std::time::Duration::from_secs(3));
        let env = ServerConn::of(&bounded).expect("conn").pg_env();
        assert!(env.contains(&("PGCONNECT_TIMEOUT".to_owned(), "3".to_owned())), "{env:?}");
        assert!(!format!("{conn:?}").contains("p@ss"));
        let my = DatabaseUrl::parse("mysql://root:secret@127.0.0.1/app", std::path::Path::new("/")).expect("url");
        let conn = ServerConn::of(&my).expect("conn");
        assert!(conn.mysql_args().iter().all(|a| !a.contains("secret")));
        assert!(conn.mysql_client_args().contains(&"--connect-timeout=10".to_owned()), "the default bound");
        assert!(!conn.mysql_args().iter().any(|a| a.starts_with("--connect-timeout")), "mariadb-dump refuses it");
        assert_eq!(conn.mysql_env(), [("MYSQL_PWD".to_owned(), "secret".to_owned())]);
    }
}
