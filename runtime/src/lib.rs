//! The migration engine of cargo-dbmigrate.
//!
//! Input is plain data ([`MigrationScript`]), so both the CLI and an
//! application's build-generated module can call it. The history table stays
//! the one refinery 0.10 writes, so a database migrated by refinery is
//! adopted as is; dbmigrate's own state (MySQL progress markers) lives in a
//! separate `<table>_dbmigrate` table.

// Helpers for one backend are unused when only another one is compiled in.
#![cfg_attr(not(all(feature = "sqlite", feature = "postgres", feature = "mysql")), allow(dead_code))]

mod backend;
pub mod engine;
pub mod error;
pub mod history;
mod lock;
pub mod plan;
pub mod script;
pub mod split;
pub mod url;

pub use engine::{Applied, Engine, Event, MigrationState, MigrationStatus, Options, RepairAction, Report};
pub use error::{Direction, Error, Result};
pub use history::{AppliedRow, DEFAULT_TABLE};
pub use plan::{DownTarget, Target};
pub use script::{MigrationScript, Reversibility, is_blank};
pub use url::{DatabaseUrl, Dialect, SqliteTarget};
