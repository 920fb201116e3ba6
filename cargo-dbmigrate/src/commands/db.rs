//! What every database command shares: choosing the database, reading and validating the
//! migration set exactly as the build does, connecting, and mapping engine errors.

use crate::CliError;
use crate::cli::GlobalArgs;
use crate::shell::Shell;
use crate::workspace::{self, Target};
use dbmigrate_build::internal::MigrationSet;
use dbmigrate_runtime::{DatabaseUrl, Engine, Error, MigrationScript, Options};
use std::time::Duration;

/// Options of every command that talks to a database.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// Database URL: sqlite:PATH, postgres://…, mysql://… (default: the env var named by
    /// `database-url-env`, usually $DATABASE_URL, else the crate's `default-database`)
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Seconds to wait for another migrator to finish before giving up
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub lock_timeout: u64,
}

/// A crate, its validated migrations and a connected engine.
pub struct Session {
    /// The crate.
    pub target: Target,
    /// Its migrations, valid.
    pub set: MigrationSet,
    /// The engine, connected.
    pub engine: Engine,
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

/// Locates the crate, validates its migrations, and connects.
pub fn open(global: &GlobalArgs, args: &DbArgs, shell: &Shell, single_transaction: bool) -> Result<Session, CliError> {
    let target = workspace::locate(global)?;
    let set = load_valid_set(&target, shell)?;
    let url = database_url(&target, args)?;
    shell.verbose("Connecting", &url);
    let options = Options {
        table: target.config.history_table.clone(),
        setup_sql: target.config.setup_sql.clone(),
        lock_timeout: Duration::from_secs(args.lock_timeout),
        single_transaction,
        ..Options::default()
    };
    let engine = Engine::connect(&url, options).map_err(engine_error)?;
    Ok(Session { target, set, engine })
}

/// The migration set, validated exactly as `cargo build` validates it (names, lock of released
/// migrations), or an error after printing every finding (warnings are printed too).
pub fn load_valid_set(target: &Target, shell: &Shell) -> Result<MigrationSet, CliError> {
    let checked = dbmigrate_build::internal::check(target.dir(), &target.config);
    let errors = checked.findings.iter().filter(|f| f.is_error()).count();
    for finding in &checked.findings {
        shell.raw(crate::diagnostic::render(finding, shell.styled()));
    }
    if errors > 0 {
        return Err(CliError::problems(format!(
            "the migrations of `{}` have {errors} error(s); nothing was run",
            target.package
        ))
        .hint("fix them as shown above; `cargo dbmigrate check` lists them again"));
    }
    Ok(checked.set)
}

/// `--database-url`, else the configured env var, else the crate's default database.
pub fn database_url(target: &Target, args: &DbArgs) -> Result<DatabaseUrl, CliError> {
    let env = &target.config.database_url_env;
    let text = match &args.database_url {
        Some(url) => url.clone(),
        None => {
            std::env::var(env).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| target.config.default_database.clone())
        }
    };
    DatabaseUrl::parse(&text, target.dir()).map_err(|e| {
        CliError::usage(e.to_string()).hint(format!(
            "pass --database-url, or set ${env}; e.g. sqlite:dev.db, postgres://user@host/db, mysql://user@host/db"
        ))
    })
}

/// Maps an engine error to the CLI's, with the next step as a hint. Engine messages never hold
/// a password (the engine redacts URLs).
pub fn engine_error(e: Error) -> CliError {
    let hint = match &e {
        Error::Dirty { .. } | Error::Migration { dirty: true, .. } => Some(
            "after fixing the schema by hand: `cargo dbmigrate repair --version <V> --as applied` (or `--as pending`)",
        ),
        Error::LockTimeout { .. } => Some("wait for the other migrator, or raise --lock-timeout"),
        Error::OutOfOrder { .. } => Some("give the migration a fresh version with `cargo dbmigrate renumber <file>`"),
        Error::NoDown(_) | Error::Irreversible(_) => Some("write the statements that undo it into its .down.sql file"),
        Error::Divergent(_) => Some("revert the edit, and put the change in a new migration (`cargo dbmigrate new`)"),
        Error::Missing(_) => {
            Some("restore the deleted migration file, or mark it pending with `cargo dbmigrate repair`")
        }
        Error::Connect { .. } => Some("check the URL, that the server is up, and the credentials"),
        _ => None,
    };
    let err = CliError::failure(e.to_string());
    match hint {
        Some(hint) => err.hint(hint),
        None => err,
    }
}

/// `V<version>__<name>` for messages.
pub fn label(version: i64, name: &str) -> String {
    dbmigrate_core::label(version, name)
}

/// A version given on the command line: `20260101120000` or `V20260101120000`.
pub fn parse_version(text: &str) -> Result<i64, String> {
    dbmigrate_core::version::parse(text)
}
