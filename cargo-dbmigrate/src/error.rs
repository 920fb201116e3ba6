//! The error type every command returns: a message, `hint:` lines and the exit code.

use std::fmt;

/// Exit codes, following Cargo's convention.
pub mod exit_code {
    /// Success.
    pub const OK: i32 = 0;
    /// A check ran and found problems (`check`, `status --exit-code`, a build.rs that needs a
    /// manual edit).
    pub const PROBLEMS: i32 = 1;
    /// The command line was wrong (unknown flag, bad value, unknown package).
    pub const USAGE: i32 = 2;
    /// The operation failed (I/O, database, a migration's SQL), as Cargo's 101.
    pub const FAILURE: i32 = 101;
    /// Stopped by Ctrl-C or SIGTERM between two migrations (128 + SIGINT, as shells report).
    pub const INTERRUPTED: i32 = 130;
}

/// What a command returns on success: the exit code.
pub type CliResult = Result<i32, CliError>;

/// A failure to report to the user.
#[derive(Debug)]
pub struct CliError {
    /// The process exit code, one of [`exit_code`].
    pub code: i32,
    /// What went wrong, lowercase, naming the file or value.
    pub message: String,
    /// What to do, one line each, printed as `hint: …`.
    pub hints: Vec<String>,
    /// What the command had done when it failed (e.g. the migrations a failed `run` applied),
    /// as keys of its `--format json` document; printed beside `error`, `hints` and `exit_code`.
    pub data: Option<serde_json::Value>,
}

impl CliError {
    /// An operational failure (exit 101).
    pub fn failure(message: impl Into<String>) -> Self {
        Self { code: exit_code::FAILURE, message: message.into(), hints: Vec::new(), data: None }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self { code: exit_code::USAGE, ..Self::failure(message) }
    }

    /// Problems found by a check (exit 1).
    pub fn problems(message: impl Into<String>) -> Self {
        Self { code: exit_code::PROBLEMS, ..Self::failure(message) }
    }

    /// Adds a `hint:` line.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// An engine error with the next step as a hint. Engine messages never hold a password (the
/// engine redacts URLs).
impl From<dbmigrate_runtime::Error> for CliError {
    fn from(e: dbmigrate_runtime::Error) -> Self {
        use dbmigrate_runtime::Error;
        let hint = match &e {
            Error::Dirty { version, .. } => Some(repair_hint(&version.to_string())),
            Error::Migration { dirty: true, file, .. } => Some(match version_of(file) {
                Some(version) => repair_hint(version),
                None => "after fixing the schema by hand, `cargo dbmigrate status` names the dirty migration and \
                         the `repair` that resolves it"
                    .into(),
            }),
            // PostgreSQL's active_sql_transaction: "… cannot run inside a transaction block".
            Error::Migration { code: Some(code), file, .. } if code == "25001" => Some(format!(
                "put `{}` on the first line of {file}, on its own, to run it outside a transaction",
                dbmigrate_core::sql::NO_TRANSACTION_MARKER
            )),
            Error::LockTimeout { .. } => Some("wait for the other migrator, or raise --lock-timeout".into()),
            Error::LockWait { .. } => Some(
                "another session (often an open application transaction) holds the table: retry with --retry N, \
                 or raise --ddl-lock-timeout (the `ddl-lock-timeout` setting; 0 waits without limit)"
                    .into(),
            ),
            Error::OutOfOrder { .. } => Some(
                "if they are unreleased, give them fresh versions with `cargo dbmigrate renumber <file>`; to apply \
                 them as they are: `cargo dbmigrate run --allow-out-of-order` (the `allow-out-of-order` setting)"
                    .into(),
            ),
            Error::NoDown(_) | Error::Irreversible(_) => {
                Some("write the statements that undo it into its .down.sql file".into())
            }
            Error::NoRecordedDown { file, .. } => Some(format!(
                "put back the up text that was applied (e.g. `git stash`), revert it with `cargo dbmigrate down`, \
                 then bring the edit back (`git stash pop`) and apply it with `cargo dbmigrate run`; {file} is unreleased, \
                 so nothing else needs to change"
            )),
            Error::SingleTransactionUnsupported => Some(
                "run without it: each migration is tracked statement by statement, and a failure shows as dirty; \
                 --restore-on-failure gets back to the backup taken before the run"
                    .into(),
            ),
            Error::History { version, anomaly, .. } => Some(match anomaly {
                dbmigrate_runtime::Anomaly::Renamed(old) => format!(
                    "rename the file back to V{version}__{old}.sql, or, if the history's name is what is wrong: `cargo dbmigrate repair {version} --as applied`"
                ),
                _ => format!(
                    "if the migration's changes are in the database, make the history record it as it is now: `cargo dbmigrate repair {version} --as applied`"
                ),
            }),
            Error::Divergent(_) => {
                Some("revert the edit, and put the change in a new migration (`cargo dbmigrate new`)".into())
            }
            Error::Missing(versions) => Some(format!(
                "restore the deleted migration file, or forget it with `cargo dbmigrate repair {} --as pending`",
                match versions.as_slice() {
                    [one] => one.to_string(),
                    _ => "VERSION".to_owned(),
                }
            )),
            Error::NoSqliteFile { mode: None, .. } => Some(
                "`cargo dbmigrate run` creates it; or check the URL (a relative path is relative to the crate)".into(),
            ),
            Error::NoSqliteFile { mode: Some(m), .. } => Some(format!(
                "check the path, or drop `?mode={m}` from the URL so that `cargo dbmigrate run` creates it"
            )),
            Error::ReadOnlyUrl { .. } => Some("drop `?mode=ro` from the URL to migrate".into()),
            Error::Connect { .. } => Some("check the URL, that the server is up, and the credentials".into()),
            Error::Timeout { .. } => Some(
                "check that the URL points at that kind of server and that it is not overloaded, or raise \
                 --connect-timeout (or the URL's connect_timeout)"
                    .into(),
            ),
            _ => None,
        };
        let mut err = CliError::failure(e.to_string());
        match e {
            Error::Interrupted => err.code = exit_code::INTERRUPTED,
            Error::SingleTransactionUnsupported => err.code = exit_code::USAGE,
            _ => {}
        }
        match hint {
            Some(hint) => err.hint(hint),
            None => err,
        }
    }
}

fn repair_hint(version: &str) -> String {
    format!(
        "after fixing the schema by hand: `cargo dbmigrate repair {version} --as applied` \
         (or `--as pending` after undoing it)"
    )
}

/// The version in a migration's file name (`V20260101120000__add_email.sql`, also as a path).
fn version_of(file: &str) -> Option<&str> {
    let name = file.rsplit(['/', '\\']).next()?;
    let digits = name.strip_prefix('V')?.split("__").next()?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

impl From<dbmigrate_build::internal::ConfigError> for CliError {
    fn from(e: dbmigrate_build::internal::ConfigError) -> Self {
        let err = Self::failure(e.to_string());
        match e.help {
            Some(help) => err.hint(help),
            None => err,
        }
    }
}
