//! Autogenerate's schema side: a driver-free model of a database schema, the differ that turns
//! two models into ordered change steps, and per-dialect introspection and SQL rendering.

mod diff;
#[cfg(feature = "mysql")]
mod introspect_mysql;
#[cfg(feature = "postgres")]
mod introspect_pg;
#[cfg(feature = "sqlite")]
mod introspect_sqlite;
mod model;
mod render_mysql;
mod render_pg;
mod render_sqlite;
mod steps;

pub use diff::{Difference, Renames, differences};
#[cfg(feature = "mysql")]
pub use introspect_mysql::{introspect_mysql, introspect_mysql_url};
#[cfg(feature = "postgres")]
pub use introspect_pg::PgSchemaSession;
#[cfg(feature = "sqlite")]
pub use introspect_sqlite::{dump_sqlite, introspect_sqlite};
pub use model::{Column, ForeignKey, Index, Schema, Table};
pub use render_mysql::{dump_mysql, render_mysql};
pub use render_pg::render_pg;
pub use render_sqlite::render_sqlite;
pub use steps::Migration;

/// The tables the engine keeps beside the history table `history`: bookkeeping, never part of
/// an application's schema.
pub fn engine_tables(history: &str) -> Vec<String> {
    vec![
        history.to_owned(),
        format!("{history}_dbmigrate"),
        crate::history::DOWNS_TABLE.to_owned(),
        crate::history::AUDIT_TABLE.to_owned(),
    ]
}

/// The schema of the SQLite file at `path`, without the engine's tables for the history table
/// `history`: for tests and tools that hold no connection of their own.
#[cfg(feature = "sqlite")]
pub fn introspect_sqlite_file(path: &std::path::Path, history: &str) -> std::result::Result<Schema, String> {
    let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
    let skip = engine_tables(history);
    let skip: Vec<&str> = skip.iter().map(String::as_str).collect();
    introspect_sqlite(&conn, &skip).map_err(|e| e.to_string())
}
