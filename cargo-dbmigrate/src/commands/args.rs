//! Arguments that several commands share: the database, the deploy-safety options, a version
//! on the command line, and where autogenerate compares schemas.

use crate::cli::GlobalArgs;
use crate::ops::session::{self, DbChoice, Session};
use crate::ops::versions;
use crate::render::notes::Notes;
use crate::shell::Shell;
use crate::{CliError, workspace};
use std::time::Duration;

/// The longest lock wait every backend can express: SQLite's busy timeout is an `i32` of ms.
const MAX_LOCK_TIMEOUT: u64 = i32::MAX as u64 / 1000;

/// Options of every command that talks to a database.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// Database URL: sqlite:PATH, postgres://…, mysql://… (default: the env var named by
    /// `database-url-env`, usually $DATABASE_URL, else the crate's `default-database`)
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Seconds to wait for another migrator to finish before giving up (at most 2147483,
    /// SQLite's limit: its busy timeout is a 32-bit count of milliseconds)
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=MAX_LOCK_TIMEOUT))]
    pub lock_timeout: u64,
    /// Seconds a server may take to connect, finish TLS and log in, and to answer the history
    /// and lock queries (migration statements are not cut); a url's connect_timeout wins
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub connect_timeout: u64,
    /// Do not read the database URL's variable from a `.env` file (in the crate's folder, else
    /// the workspace root)
    #[arg(long)]
    pub no_dotenv: bool,
    /// Refuse to fall back to the crate's `default-database` when no URL is given (always so
    /// when $CI is set)
    #[arg(long)]
    pub require_url: bool,
}

impl DbArgs {
    /// The operations' view of these options.
    pub fn choice(&self) -> DbChoice {
        DbChoice {
            url: self.database_url.clone(),
            lock_timeout: Duration::from_secs(self.lock_timeout),
            connect_timeout: Duration::from_secs(self.connect_timeout),
            no_dotenv: self.no_dotenv,
            require_url: self.require_url,
            ..DbChoice::default()
        }
    }

    /// Locates the crate, validates its migrations and connects, showing findings as they come.
    pub fn open(&self, global: &GlobalArgs, shell: &Shell) -> Result<Session, CliError> {
        let target = workspace::locate(global.selector())?;
        let mut notes = Notes::new(shell);
        session::open(&target, &self.choice(), false, &mut |note| notes.show(note))
    }

    /// Like [`DbArgs::open`] for a command that only reads: file errors are warnings
    /// (`session.file_errors` counts them), and a missing SQLite file is an error naming it,
    /// instead of a new empty database.
    pub fn open_to_inspect(&self, global: &GlobalArgs, shell: &Shell) -> Result<Session, CliError> {
        let target = workspace::locate(global.selector())?;
        let mut notes = Notes::new(shell);
        let choice = DbChoice { read_only: true, ..self.choice() };
        session::open_for(&target, &choice, false, session::Purpose::Inspect, &mut |note| notes.show(note))
    }

    /// Refuses (exit 2) a version argument that names no migration: checked against the files
    /// first, and against the database's history only when the files do not know it.
    pub fn require_version(
        &self,
        global: &GlobalArgs,
        version: i64,
        zero: versions::Zero,
        history: versions::History,
    ) -> Result<(), CliError> {
        let target = workspace::locate(global.selector())?;
        versions::require_known(&target, &self.choice(), version, zero, history)
    }
}

/// The deploy-safety options of `run` and `down`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeployArgs {
    /// Do not back up the database before changing it
    #[arg(long)]
    pub no_backup: bool,
    /// When a migration fails, restore the backup taken before the run, then exit non-zero
    #[arg(long, conflicts_with = "no_backup")]
    pub restore_on_failure: bool,
    /// Retry transient failures (connection refused at start, lock timeout, deadlock,
    /// serialization failure) up to N times with backoff; a failing migration is never retried
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retry: u32,
    /// Seconds a migration's statement may wait for a table lock held by another session (an
    /// open application transaction) before it gives up, so queries queued behind it are not
    /// stalled; 0 waits without limit [default: the `ddl-lock-timeout` setting, else 5]
    #[arg(long, value_name = "SECS")]
    pub ddl_lock_timeout: Option<u64>,
}

/// A version given on the command line: `20260101120000` or `V20260101120000`.
///
/// One spelling everywhere: the migration a command is about is a positional `VERSION`
/// (`show`, `stamp`, `repair`), and where `run`/`down`/`redo` stop is `--to VERSION`.
pub fn parse_version(text: &str) -> Result<i64, String> {
    dbmigrate_core::version::parse(text)
}

/// Where `diff`, `schema dump` and `check --schema` compare schemas: the dialect, and a server
/// for the scratch databases.
#[derive(Debug, Clone, clap::Args)]
pub struct SchemaSourceArgs {
    /// A server for the scratch databases (postgres, mysql): a unique database is created there
    /// and dropped afterwards [env: DBMIGRATE_DEV_URL]
    #[arg(long, value_name = "URL")]
    pub dev_url: Option<String>,
    /// The dialect whose schema is compared: sqlite, postgres or mysql (default: the crate's)
    #[arg(long, value_name = "DIALECT")]
    pub dialect: Option<String>,
}

impl SchemaSourceArgs {
    /// The dialect and dev server these arguments choose for `target`.
    pub fn resolve(&self, target: &workspace::Target) -> Result<crate::ops::autogen::Source, CliError> {
        crate::ops::autogen::Source::resolve(target, self.dialect.as_deref(), self.dev_url.as_deref())
    }
}
