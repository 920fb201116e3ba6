//! SQLite's statement splitter, from `dbmigrate-core` (shared with the build script's lint).

pub(crate) use dbmigrate_core::split::sqlite::split;
