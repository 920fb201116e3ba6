//! The connection settings a dump tool needs, taken from the URL text. The engine's
//! `DatabaseUrl` keeps host, port, user and password private, so they are read here; the
//! password only ever goes into a child's environment (PGPASSWORD / MYSQL_PWD), never argv
//! or a message.

use crate::CliError;
use crate::commands::db::DbArgs;
use crate::workspace::Target;
use percent_encoding::percent_decode_str;

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
}

impl std::fmt::Debug for ServerConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConn").field("host", &self.host).field("database", &self.database).finish_non_exhaustive()
    }
}

/// The URL text as `db::database_url` chooses it: `--database-url`, the env var, the default.
pub fn url_text(target: &Target, args: &DbArgs) -> String {
    match &args.database_url {
        Some(url) => url.clone(),
        None => std::env::var(&target.config.database_url_env)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| target.config.default_database.clone()),
    }
}

impl ServerConn {
    /// Parses a server URL; errors never echo the URL (it may hold a password).
    pub fn parse(text: &str) -> Result<Self, CliError> {
        let url = url::Url::parse(text.trim()).map_err(|e| CliError::usage(format!("invalid database url: {e}")))?;
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        let database = decode(url.path().trim_start_matches('/'));
        if database.is_empty() {
            return Err(CliError::usage("the database url names no database, so there is nothing to back up")
                .hint("add the database to the url, e.g. postgres://user@host/app"));
        }
        let mut password = url.password().map(decode);
        let mut params = Vec::new();
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "password" => password = password.or(Some(v.into_owned())),
                "sslpassword" => {}
                _ => params.push((k.into_owned(), v.into_owned())),
            }
        }
        Ok(ServerConn {
            host: url.host_str().unwrap_or("localhost").trim_matches(['[', ']']).to_owned(),
            port: url.port(),
            user: (!url.username().is_empty()).then(|| decode(url.username())),
            password,
            database,
            params,
        })
    }

    /// libpq's environment for this connection: every pg tool reads it, nothing is in argv.
    pub fn pg_env(&self) -> Vec<(String, String)> {
        let mut env = vec![("PGHOST".into(), self.host.clone()), ("PGDATABASE".into(), self.database.clone())];
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
                "connect_timeout" => "PGCONNECT_TIMEOUT",
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

    /// The mysql client's environment: the password, never in argv.
    pub fn mysql_env(&self) -> Vec<(String, String)> {
        self.password.iter().map(|p| ("MYSQL_PWD".to_owned(), p.clone())).collect()
    }
}
