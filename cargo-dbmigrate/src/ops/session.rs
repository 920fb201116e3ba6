//! What every database operation starts with: the database URL, the engine's options, the
//! migration set validated exactly as the build validates it, and a connected engine.

use super::{Note, Notify};
use crate::CliError;
use crate::workspace::Target;
use dbmigrate_build::internal::MigrationSet;
use dbmigrate_runtime::{DatabaseUrl, Engine, MigrationScript, Options};
use std::path::PathBuf;
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
    /// `--no-dotenv`: do not read a `.env` file.
    pub no_dotenv: bool,
    /// `--require-url`: refuse the crate's default database (also when `CI` is set).
    pub require_url: bool,
    /// `run --allow-out-of-order` (or the crate's `allow-out-of-order`).
    pub allow_out_of_order: bool,
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
            no_dotenv: false,
            require_url: false,
            allow_out_of_order: false,
            read_only: false,
        }
    }
}

/// A crate's validated migrations and an engine connected to its database.
pub struct Session {
    pub set: MigrationSet,
    pub engine: Engine,
    /// The database and where its URL came from.
    pub target: Chosen,
    /// How many errors the files have: only a read-only session is opened despite them.
    pub file_errors: usize,
}

/// What a session does with a migration set that fails the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The command changes the database: errors refuse, as the build does.
    Change,
    /// The command only reads (`status`, `current`, `history`, `show`): errors are shown as
    /// warnings and the database is still reported, since that is when it is needed most.
    Inspect,
}

/// Where the database URL came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlSource {
    /// `--database-url`.
    Flag,
    /// The environment variable named.
    Env(String),
    /// The variable named, from this `.env` file.
    DotEnv { var: String, file: PathBuf },
    /// The crate's `default-database`.
    Default,
}

impl std::fmt::Display for UrlSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlSource::Flag => f.write_str("from --database-url"),
            UrlSource::Env(var) => write!(f, "from ${var}"),
            UrlSource::DotEnv { var, file } => write!(f, "from ${var} in {}", file.display()),
            UrlSource::Default => f.write_str("the crate's default-database"),
        }
    }
}

/// The database a command works on, and where its URL came from.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub url: DatabaseUrl,
    pub source: UrlSource,
}

/// Validates `target`'s migrations, then connects.
pub fn open(
    target: &Target,
    db: &DbChoice,
    single_transaction: bool,
    notify: &mut Notify<'_>,
) -> Result<Session, CliError> {
    open_for(target, db, single_transaction, Purpose::Change, notify)
}

/// Validates `target`'s migrations (refusing on errors only for [`Purpose::Change`]), then connects.
pub fn open_for(
    target: &Target,
    db: &DbChoice,
    single_transaction: bool,
    purpose: Purpose,
    notify: &mut Notify<'_>,
) -> Result<Session, CliError> {
    let chosen = target_url(target, db, notify)?;
    let (set, file_errors) = load_set(target, purpose, notify)?;
    notify(Note::Connecting(&chosen.url));
    let engine = Engine::connect(&chosen.url, engine_options(target, db, single_transaction))?;
    Ok(Session { set, engine, target: chosen, file_errors })
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
        allow_out_of_order: db.allow_out_of_order || target.config.allow_out_of_order,
        read_only: db.read_only,
        ..defaults
    }
}

/// The migration set, validated exactly as `cargo build` validates it (names, released
/// migrations unchanged); every finding is noted, and errors refuse.
pub fn load_valid_set(target: &Target, notify: &mut Notify<'_>) -> Result<MigrationSet, CliError> {
    load_set(target, Purpose::Change, notify).map(|(set, _)| set)
}

/// The migration set and its count of errors. For [`Purpose::Change`] errors refuse; for
/// [`Purpose::Inspect`] they are shown as warnings and the usable part of the set is returned.
pub fn load_set(target: &Target, purpose: Purpose, notify: &mut Notify<'_>) -> Result<(MigrationSet, usize), CliError> {
    use dbmigrate_build::internal::{Rule, Severity};
    let checked = dbmigrate_build::internal::check(target.dir().as_std_path(), &target.config);
    // A missing down file is authoring advice, for `check` and the build; a database command
    // has nothing to say about it until `down` itself needs the file. Lint warnings likewise
    // (`cargo build` and `lint` show them); lint errors refuse like every error.
    let advice =
        |f: &&dbmigrate_build::internal::Finding| f.rule == Rule::NoDown || (f.rule.is_lint() && !f.is_error());
    for f in checked.findings.iter().filter(|f| !advice(f)) {
        if purpose == Purpose::Inspect && f.is_error() {
            let mut warning = f.clone();
            warning.severity = Severity::Warning;
            warning
                .help
                .push("until it is fixed, `cargo build` and every command that changes the database refuse".into());
            notify(Note::Finding(&warning));
        } else {
            notify(Note::Finding(f));
        }
    }
    let errors = checked.findings.iter().filter(|f| f.is_error()).count();
    if errors > 0 && purpose == Purpose::Change {
        return Err(CliError::problems(format!(
            "the migrations of `{}` have {errors} error(s); nothing was run",
            target.package
        ))
        .hint("fix them as shown above; `cargo dbmigrate check` lists them again"));
    }
    Ok((checked.set, errors))
}

/// The engine's input for a migration set (borrowed, no copies of the SQL), with the reason of
/// each version's rehash in the lock, so a database that applied it before the rehash is updated,
/// and whether the lock holds it, so an unreleased one edited after it was applied is reverted
/// with its recorded down text.
pub fn scripts(set: &MigrationSet) -> Vec<MigrationScript<'_>> {
    use dbmigrate_build::internal::{RELEASE_LOG_FILE, ReleaseLog};
    // The set was validated against this lock already: a lock that cannot be read has no rehash.
    let (log, _) = ReleaseLog::read(&set.dir.join(RELEASE_LOG_FILE), RELEASE_LOG_FILE);
    set.migrations
        .iter()
        .map(|m| {
            MigrationScript::new(m.version, m.name.as_str(), set.texts.up(m).unwrap_or_default(), set.texts.down(m))
                .with_rehash(log.rehash_reason(m.version).map(str::to_owned))
                .with_released(log.contains(m.version))
        })
        .collect()
}

/// `--database-url`, else the configured env var, else `.env`, else the crate's default database.
pub fn database_url(target: &Target, db: &DbChoice) -> Result<DatabaseUrl, CliError> {
    choose(target, db).map(|c| c.url)
}

/// [`choose`], announced: every command that works on a database says which, first.
pub fn target_url(target: &Target, db: &DbChoice, notify: &mut Notify<'_>) -> Result<Chosen, CliError> {
    let chosen = choose(target, db)?;
    notify(Note::Target(&chosen));
    Ok(chosen)
}

/// The database and where its URL came from: `--database-url`, else the configured env var,
/// else that variable in `.env` (unless `--no-dotenv`), else the crate's default database,
/// which CI (`CI` set) and `--require-url` refuse.
pub fn choose(target: &Target, db: &DbChoice) -> Result<Chosen, CliError> {
    let var = &target.config.database_url_env;
    let (text, source) = match url_text(target, db)? {
        Some(found) => found,
        None if db.require_url || in_ci() => return Err(no_url(var, db.require_url)),
        None => (target.config.default_database.clone(), UrlSource::Default),
    };
    let url = DatabaseUrl::parse(&text, target.dir().as_std_path()).map_err(|e| {
        CliError::usage(format!("{e} ({source})")).hint(format!(
            "pass --database-url, or set ${var}; e.g. sqlite:dev.db, postgres://user@host/db, mysql://user@host/db"
        ))
    })?;
    // The dump tools read their bound from the url, as the engine does.
    Ok(Chosen { url: url.with_connect_timeout(db.connect_timeout), source })
}

/// The URL text the user gave, by precedence: flag, environment, `.env`. Empty counts as unset.
fn url_text(target: &Target, db: &DbChoice) -> Result<Option<(String, UrlSource)>, CliError> {
    let var = &target.config.database_url_env;
    if let Some(url) = &db.url {
        return Ok(Some((url.clone(), UrlSource::Flag)));
    }
    if let Some(url) = std::env::var(var).ok().filter(|v| !v.is_empty()) {
        return Ok(Some((url, UrlSource::Env(var.clone()))));
    }
    if db.no_dotenv {
        return Ok(None);
    }
    let Some(file) = dotenv_file(target) else { return Ok(None) };
    let found = super::dotenv::lookup(&file, var)?.filter(|v| !v.is_empty());
    Ok(found.map(|url| (url, UrlSource::DotEnv { var: var.clone(), file })))
}

/// The `.env` of the crate's folder, else of the workspace root's, as sqlx-cli and diesel_cli read.
fn dotenv_file(target: &Target) -> Option<PathBuf> {
    let own = target.dir().as_std_path().join(".env");
    if own.is_file() {
        return Some(own);
    }
    let root = target.manifest.workspace_root().ok().flatten()?;
    Some(root.dir().join(".env")).filter(|p| p.is_file())
}

/// Whether this runs in CI: `CI` set, non-empty, and not `false` or `0` (GitHub, GitLab and
/// most CI services set `CI=true`).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The refusal to fall back to the crate's default database where a URL must be given.
fn no_url(var: &str, require_url: bool) -> CliError {
    let why = if require_url { "--require-url is given" } else { "CI is set" };
    CliError::usage(format!(
        "no database url: --database-url is not given and ${var} is unset or empty; {why}, so the crate's default-database is not used"
    ))
    .hint(format!("pass --database-url URL, or set ${var}"))
}
