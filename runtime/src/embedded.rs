//! What dbmigrate-build embeds into an application (migrations and settings as `'static` data),
//! and the calls its generated `migrations` module makes to apply them.

use crate::engine::{Engine, Options, Report};
use crate::error::{Error, Result};
use crate::hooks::Event;
use crate::plan::Goal;
use crate::script::MigrationScript;
use crate::url::DatabaseUrl;

/// One migration as the generated module embeds it (`migrations::MigrationInfo`).
///
/// Built by struct literal in generated code, so its fields are its API: the generated code
/// and this crate come from the same cargo-dbmigrate release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmbeddedMigration {
    /// The version (the number after `V`).
    pub version: i64,
    /// The name (after `__`).
    pub name: &'static str,
    /// SHA-256 of the up SQL, hex.
    pub up_hash: &'static str,
    /// Whether the migration has a down file.
    pub has_down: bool,
    /// The up SQL.
    pub up: &'static str,
    /// The down SQL.
    pub down: Option<&'static str>,
    /// The reason of the newest `release --rehash` of this version, if any: a database that
    /// applied the text before it gets its history row's checksum updated instead of a refusal.
    pub rehash: Option<&'static str>,
    /// Whether the lock holds this version: an unreleased migration edited since it was applied
    /// is reverted with the down text recorded then; a released one is refused.
    pub released: bool,
}

impl EmbeddedMigration {
    /// The migration as the engine's input.
    pub fn script(&self) -> MigrationScript<'static> {
        MigrationScript::new(self.version, self.name, self.up, self.down)
            .with_rehash(self.rehash)
            .with_released(self.released)
    }
}

/// The engine settings of `[package.metadata.dbmigrate]` that the build embeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmbeddedSettings {
    /// The history table (`history-table`).
    pub history_table: &'static str,
    /// SQL run on the migration connection first (`setup-sql`).
    pub setup_sql: Option<&'static str>,
    /// `ddl-lock-timeout` in seconds, when set (else the engine's default).
    pub ddl_lock_timeout_secs: Option<u64>,
    /// `allow-out-of-order`: apply pending migrations older than the newest applied one.
    pub allow_out_of_order: bool,
}

impl EmbeddedSettings {
    /// The engine options: these settings, every other option at its default.
    pub fn options(&self) -> Options {
        let defaults = Options::default();
        Options {
            table: self.history_table.to_owned(),
            setup_sql: self.setup_sql.map(str::to_owned),
            ddl_lock_timeout: self
                .ddl_lock_timeout_secs
                .map_or(defaults.ddl_lock_timeout, std::time::Duration::from_secs),
            allow_out_of_order: self.allow_out_of_order,
            ..defaults
        }
    }
}

/// Every embedded migration as the engine's input.
pub fn embedded_scripts(migrations: &[EmbeddedMigration]) -> Vec<MigrationScript<'static>> {
    migrations.iter().map(EmbeddedMigration::script).collect()
}

/// Applies every pending migration to `database_url` (`sqlite:PATH`, `postgres://…`,
/// `mysql://…`; a relative SQLite path is relative to the current folder), safely: one migrator
/// at a time, each migration and its history row in one transaction, the same history table as
/// refinery and `cargo dbmigrate`. Errors never contain the password.
pub fn run_embedded(
    database_url: &str,
    settings: &EmbeddedSettings,
    migrations: &[EmbeddedMigration],
) -> Result<Report> {
    let base = std::env::current_dir().unwrap_or_default();
    let url = DatabaseUrl::parse(database_url, &base)?;
    let mut engine = Engine::connect(&url, settings.options())?;
    let mut quiet = |_: &Event| {};
    engine.migrate(&embedded_scripts(migrations), Goal::Latest, &mut quiet).map_err(Error::from)
}

/// [`run_embedded`] for async applications. The engine uses its own blocking connection, on
/// tokio's blocking pool, so it works whatever driver the application uses (tokio-postgres,
/// mysql_async, sqlx) and never blocks the async executor. A panic in the engine is resumed in
/// the caller; a cancelled task is [`Error::Aborted`].
#[cfg(feature = "tokio")]
pub async fn run_embedded_async(
    database_url: &str,
    settings: &'static EmbeddedSettings,
    migrations: &'static [EmbeddedMigration],
) -> Result<Report> {
    let url = database_url.to_owned();
    match tokio::task::spawn_blocking(move || run_embedded(&url, settings, migrations)).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(Error::Aborted("the migration task was cancelled".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: EmbeddedSettings = EmbeddedSettings {
        history_table: "app_history",
        setup_sql: Some("SELECT 1"),
        ddl_lock_timeout_secs: Some(9),
        allow_out_of_order: true,
    };

    const MIGRATIONS: &[EmbeddedMigration] = &[EmbeddedMigration {
        version: 1,
        name: "init",
        up_hash: "",
        has_down: true,
        up: "CREATE TABLE t (x INTEGER);",
        down: Some("DROP TABLE t;"),
        rehash: Some("fixed a comment"),
        released: true,
    }];

    #[test]
    fn settings_become_options_and_migrations_scripts() {
        let options = SETTINGS.options();
        assert_eq!((options.table.as_str(), options.setup_sql.as_deref()), ("app_history", Some("SELECT 1")));
        assert_eq!(options.lock_timeout, Options::default().lock_timeout);
        // The crate's settings, which the app's `migrations::run` honours as the CLI does.
        assert_eq!((options.ddl_lock_timeout, options.allow_out_of_order), (std::time::Duration::from_secs(9), true));
        let scripts = embedded_scripts(MIGRATIONS);
        let expected = MigrationScript::new(1, "init", "CREATE TABLE t (x INTEGER);", Some("DROP TABLE t;"))
            .with_rehash(Some("fixed a comment"))
            .with_released(true);
        assert_eq!(scripts, [expected]);
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn run_embedded_applies_then_finds_nothing_pending() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite:{}", dir.path().join("app.db").display());
        let report = run_embedded(&url, &SETTINGS, MIGRATIONS).expect("migrate");
        assert_eq!((report.migrations.len(), report.after), (1, Some(1)));
        assert!(run_embedded(&url, &SETTINGS, MIGRATIONS).expect("again").migrations.is_empty());
    }

    #[cfg(all(feature = "sqlite", feature = "tokio"))]
    #[test]
    fn run_embedded_async_runs_on_the_blocking_pool() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite:{}", dir.path().join("app.db").display());
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let report = rt.block_on(run_embedded_async(&url, &SETTINGS, MIGRATIONS)).expect("migrate");
        assert_eq!(report.after, Some(1));
    }
}
