//! The one model of a cargo-dbmigrate migration set, shared by the build script and the CLI.
//!
//! A migration is `V<version>__<name>.sql` with an optional `V<version>__<name>.down.sql`,
//! in one flat folder. Everything that decides whether a set is valid lives here, so that
//! `cargo build` (through [`embed`]) and `cargo dbmigrate check` can never disagree.

pub mod cache;
pub mod check;
pub mod config;
pub mod diagnostic;
pub mod embed;
pub mod hash;
pub mod lock;
pub mod set;

pub use check::{Checked, check, check_manifest};
pub use config::{Config, ConfigError, Manifest};
pub use diagnostic::{Finding, Severity};
pub use embed::{Embed, embed};
pub use hash::ContentHash;
pub use lock::{LOCK_FILE, Lock};
pub use dbmigrate_core::{DEFAULT_HISTORY_TABLE, FileKind, MigrationFileName, NameError};
pub use set::{Migration, MigrationSet};
