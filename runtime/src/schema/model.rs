//! The schema model: what a database's catalog says about its tables, in deterministic order,
//! with no driver types so the differ is testable without a database.

use std::collections::{BTreeMap, BTreeSet};

/// A database schema: its tables, and the objects that are not modelled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    pub tables: BTreeMap<String, Table>,
    /// Objects read but not compared (views, triggers), as `view name`.
    pub not_compared: BTreeSet<String>,
}

/// One table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    /// In declaration order (the order `CREATE TABLE` writes them).
    pub columns: Vec<Column>,
    /// The primary key's columns, in key order; empty when there is none.
    pub primary_key: Vec<String>,
    /// Unique constraints, each as its columns in order.
    pub uniques: BTreeSet<Vec<String>>,
    /// Indexes created with `CREATE INDEX`, by name.
    pub indexes: BTreeMap<String, Index>,
    /// Foreign keys, sorted.
    pub foreign_keys: BTreeSet<ForeignKey>,
    /// The dialect's own `CREATE TABLE` text, when the catalog keeps it (SQLite): recreating a
    /// table from it keeps what the model does not hold (checks, collations, `AUTOINCREMENT`).
    pub sql: Option<String>,
}

/// One column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// The declared type as written (`INTEGER`, `varchar(20)`); empty when none was declared.
    pub decl_type: String,
    pub not_null: bool,
    /// The default's SQL expression, as the catalog gives it.
    pub default: Option<String>,
    /// Whether the column is part of the primary key.
    pub primary_key: bool,
}

/// An index made by `CREATE INDEX`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    pub name: String,
    pub table: String,
    /// Column names; an expression's entry is empty.
    pub columns: Vec<String>,
    pub unique: bool,
    pub partial: bool,
    /// The dialect's `CREATE INDEX` text, when the catalog keeps it.
    pub sql: Option<String>,
}

/// A foreign key, with its actions as the catalog spells them (`CASCADE`, `NO ACTION`).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    pub on_update: String,
    pub on_delete: String,
}

impl Table {
    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Whether a unique constraint, the primary key or a foreign key names `column`: dropping
    /// or adding it then takes a table rebuild on SQLite.
    pub fn constrains(&self, column: &str) -> bool {
        let named = |cols: &[String]| cols.iter().any(|c| c == column);
        named(&self.primary_key)
            || self.uniques.iter().any(|u| named(u))
            || self.foreign_keys.iter().any(|f| named(&f.columns))
    }

    /// The tables this one's foreign keys point at (itself excluded).
    pub fn references(&self) -> BTreeSet<&str> {
        self.foreign_keys.iter().map(|f| f.ref_table.as_str()).filter(|t| *t != self.name).collect()
    }
}

impl Index {
    /// The index's definition with whitespace and case of keywords normalised, for comparing.
    pub fn shape(&self) -> String {
        let sql = self.sql.as_deref().unwrap_or_default();
        sql.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase()
    }
}

/// `name` quoted as an SQL identifier.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
