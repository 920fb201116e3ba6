//! What every database operation starts with: the database URL, the engine's options, the
//! migration set validated exactly as the build validates it, and a connected engine.

use super::{Note, Notify};
use crate::CliError;
use crate::workspace::Target;
use dbmigrate_build::internal::MigrationSet;
use dbmigrate_runtime::{DatabaseUrl, Engine, MigrationScript, Options};
use std::time::Duration;

/// Which database, how long to wait for another migrator, and for the server itself.
#[derive(Debug, Clone)]
pub struct DbChoice {
    /// `--database-url`, when given.
    pub url: Option<String>,
    /// How long to wait for the migration lock.
    pub lock_timeout: Duration,
    /// `--connect-timeout`: the bound on connecting and on the history and lock reads, for the
    /// engine and the dump tools alike; a url's `connect_timeout` wins for that url.
    pub connect_timeout: Duration,
    /// `--ddl-lock-timeout`, when given (else the crate's `ddl-lock-timeout`, else 5 s).
    pub ddl_lock_timeout: Option<Duration>,
    /// The command only reads (`status`, `history`…): a missing SQLite file is an error, never
    /// created.
    pub read_only: bool,
}

impl Default for DbChoice {
    fn default() -> Self {
        DbChoice {
            url: None,
            lock_timeout: Duration::from_secs(60),
            connect_timeout: dbmigrate_runtime::DEFAULT_CONNECT_TIMEOUT,
            ddl_lock_timeout: None,
            read_only: false,
        }
    }
}

/// A crate's validated migrations and an engine connected to its database.
pub struct Session {
    pub set: MigrationSet,
    pub engine: Engine,
}

/// Validates `target`'s migrations, then connects.
pub fn open(
    target: &Target,
    db: &DbChoice,
    single_transaction: bool,
    notify: &mut Notify<'_>,
) -> Result<Session, CliError> {
    let set = load_valid_set(target, notify)?;
    let url = database_url(target, db)?;
    notify(Note::Connecting(&url));
    let engine = Engine::connect(&url, engine_options(target, db, single_transaction))?;
    Ok(Session { set, engine })
}

/// The engine's options, from the crate's settings and the command line: the one place they
/// are built.
pub fn engine_options(target: &Target, db: &DbChoice, single_transaction: bool) -> Options {
    let configured = target.config.ddl_lock_timeout.map(Duration::from_secs);
    let defaults = Options::default();
    Options {
        table: target.config.history_table.clone(),
        setup_sql: target.config.setup_sql.clone(),
        lock_timeout: db.lock_timeout,
        connect_timeout: db.connect_timeout,
        ddl_lock_timeout: db.ddl_lock_timeout.or(configured).unwrap_or(defaults.ddl_lock_timeout),
        single_transaction,
        read_only: db.read_only,
        ..defaults
    }
}

/// The migration set, validated exactly as `cargo build` validates it (names, released
/// migrations unchanged); every finding is noted, and errors refuse.
pub fn load_valid_set(target: &Target, notify: &mut Notify<'_>) -> Result<MigrationSet, CliError> {
    let checked = dbmigrate_build::internal::check(target.dir().as_std_path(), &target.config);
    checked.findings.iter().for_each(|f| notify(Note::Finding(f)));
    let errors = checked.findings.iter().filter(|f| f.is_error()).count();
    if errors > 0 {
        return Err(CliError::problems(format!(
            "the migrations of `{}` have {errors} error(s); nothing was run",
            target.package
        ))
        .hint("fix them as shown above; `cargo dbmigrate check` lists them again"));
    }
    Ok(checked.set)
}

/// The engine's input for a migration set (borrowed, no copies of the SQL).
pub fn scripts(set: &MigrationSet) -> Vec<MigrationScript<'_>> {
    set.migrations
        .iter()
        .map(|m| {
            MigrationScript::new(m.version, m.name.as_str(), set.texts.up(m).unwrap_or_default(), set.texts.down(m))
        })
        .collect()
}

/// `--database-url`, else the configured env var, else the crate's default database.
pub fn database_url(target: &Target, db: &DbChoice) -> Result<DatabaseUrl, CliError> {
    let env = &target.config.database_url_env;
    let text = match &db.url {
        Some(url) => url.clone(),
        None => {
            std::env::var(env).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| target.config.default_database.clone())
        }
    };
    let url = DatabaseUrl::parse(&text, target.dir().as_std_path()).map_err(|e| {
        CliError::usage(e.to_string()).hint(format!(
            "pass --database-url, or set ${env}; e.g. sqlite:dev.db, postgres://user@host/db, mysql://user@host/db"
        ))
    })?;
    // The dump tools read their bound from the url, as the engine does.
    Ok(url.with_connect_timeout(db.connect_timeout))
}
