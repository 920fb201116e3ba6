//! Autogenerate's schema side: a driver-free model of a database schema, the differ that turns
//! two models into ordered change steps, and per-dialect introspection and SQL rendering.

mod diff;
#[cfg(feature = "sqlite")]
mod introspect_sqlite;
mod model;
mod render_sqlite;

pub use diff::{Difference, Renames, differences};
#[cfg(feature = "sqlite")]
pub use introspect_sqlite::{dump_sqlite, introspect_sqlite};
pub use model::{Column, ForeignKey, Index, Schema, Table};
pub use render_sqlite::{Migration, render_sqlite};

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
