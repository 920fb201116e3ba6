//! The statement splitters, which live in `dbmigrate-core` so the build script's lint reads
//! statements exactly as the engine runs them.

#[cfg(feature = "postgres")]
pub use dbmigrate_core::split::split_postgres;
pub use dbmigrate_core::split::{Statement, mysql_commits_implicitly, split_mysql};
