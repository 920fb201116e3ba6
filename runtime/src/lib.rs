//! The migration engine of cargo-dbmigrate.
//!
//! Input is plain data ([`MigrationScript`]), so both the CLI and an
//! application's build-generated module can call it. The history table stays
//! the one refinery 0.10 writes, so a database migrated by refinery is
//! adopted as is; dbmigrate's own state (MySQL progress markers) lives in a
//! separate `<table>_dbmigrate` table.
//!
//! ```no_run
//! use dbmigrate_runtime::{DatabaseUrl, Engine, Event, Goal, MigrationScript, Options};
//!
//! # fn main() -> dbmigrate_runtime::Result<()> {
//! let url = DatabaseUrl::parse("sqlite:app.db", std::path::Path::new("."))?;
//! let scripts = [MigrationScript::new(1, "init", "CREATE TABLE t (x INT);", Some("DROP TABLE t;"))];
//! let mut engine = Engine::connect(&url, Options::default())?;
//! let report = engine.migrate(&scripts, Goal::Latest, &mut |event: &Event| {
//!     if let Event::Finished { version, duration, .. } = event {
//!         eprintln!("applied {version} in {duration:?}");
//!     }
//! })?;
//! assert_eq!(report.after, Some(1));
//! engine.migrate(&scripts, Goal::DownTo(0), &mut |_: &Event| {})?;
//! # Ok(())
//! # }
//! ```
//!
//! An application built with dbmigrate-build gets its migrations as [`EmbeddedMigration`]s and
//! its settings as [`EmbeddedSettings`]; its generated `migrations::run` is [`run_embedded`],
//! and `migrations::run_async` is `run_embedded_async` (feature `tokio`).
//!
//! A caller that must act before anything changes (take a backup) implements [`Hooks`]; its
//! error comes back typed in [`MigrateError`], with the migrations committed before a failure.
//!
//! Behaviour worth knowing:
//! - a lock is taken first (PostgreSQL advisory lock, MySQL `GET_LOCK`, an
//!   exclusive lock on `<file>.dbmigrate-lock` for SQLite), then the history
//!   table is created if needed and read in one round trip;
//! - each migration and its history row share a transaction on PostgreSQL
//!   and SQLite; a script whose first line is `-- dbmigrate:no-transaction`
//!   runs outside one; MySQL/MariaDB scripts run statement by statement with
//!   a progress marker, and a failure after the first statement leaves the
//!   migration dirty until [`Engine::repair`];
//! - [`Error::is_transient`] says whether trying again may succeed, decided
//!   by the backend from the driver's typed error;
//! - empty or comment-only scripts are recorded but never sent;
//! - one connection serves a whole call, so session settings a migration
//!   makes stay in force for the next ones.

// Helpers for one backend are unused when only another one is compiled in.
#![cfg_attr(not(all(feature = "sqlite", feature = "postgres", feature = "mysql")), allow(dead_code))]

pub mod admin;
mod backend;
mod ddl_lock;
mod embedded;
mod engine;
mod error;
mod history;
mod hooks;
mod lock;
mod plan;
pub mod schema;
mod script;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub mod snapshot;
mod split;
mod url;

#[cfg(feature = "tokio")]
pub use embedded::run_embedded_async;
pub use embedded::{EmbeddedMigration, EmbeddedSettings, embedded_scripts, run_embedded};
pub use engine::{
    Applied, Engine, MigrationLock, MigrationState, MigrationStatus, Options, RepairAction, RepairChange, Repaired,
    Report,
};
pub use error::{Anomaly, Direction, Error, Phase, Result};

/// The default bound on connecting to a server (tcp, tls, authentication) and on the history
/// and lock reads: libpq's and the mysql client's usual order of magnitude.
pub const DEFAULT_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
pub use history::AppliedRow;
pub use hooks::{Cause, Event, Hooks, MigrateError, Planned};
pub use plan::Goal;
pub use script::{MigrationScript, Reversibility};
pub use url::{DatabaseUrl, Dialect, SqliteMode, SqliteTarget, TlsConfig, TlsMode};
