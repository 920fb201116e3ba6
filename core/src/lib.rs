//! The definitions that cargo-dbmigrate's build script, engine and CLI share, each in one place.
//!
//! Every rule here used to exist in two layers, and two copies drifted into bugs (a history
//! table name that `cargo build` accepted and the engine refused; a down file one layer called
//! empty and the other did not). The crate has no dependencies, so every layer can use it.

pub mod dialect;
pub mod file_name;
pub mod history_table;
pub mod split;
pub mod sql;
pub mod stable_hash;
pub mod stamp;
pub mod version;

pub use dialect::Dialect;
pub use file_name::{FileKind, MigrationFileName, NameError, label};
pub use history_table::{DEFAULT_HISTORY_TABLE, TableNameError};
pub use stamp::{RACY, Stamp};
