//! The schema model: what a database's catalog says about its tables, in deterministic order,
//! with no driver types so the differ is testable without a database.

use std::collections::{BTreeMap, BTreeSet};

/// A database schema: its tables, and the objects that are not modelled.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    pub tables: BTreeMap<String, Table>,
    /// Objects read but not compared (views, triggers), as `view name`.
    pub not_compared: BTreeSet<String>,
    /// PostgreSQL enum types (schema-qualified when not `public`) and their labels in order.
    pub enums: BTreeMap<String, Vec<String>>,
    /// Schemas other than the default one (PostgreSQL), which tables may live in.
    pub schemas: BTreeSet<String>,
}

/// One table.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    /// The `CREATE TRIGGER` texts of the table's triggers (SQLite), in name order: not compared,
    /// but a rebuild must make them again (SQLite drops them with the table).
    pub triggers: Vec<String>,
    /// Check constraints, each as the catalog's definition (`CHECK ((price > 0))`).
    pub checks: BTreeSet<String>,
    /// The constraints' names where the dialect needs them to drop one (not compared: a
    /// renamed table keeps its old names). The primary key's:
    pub primary_key_name: Option<String>,
    #[cfg_attr(feature = "serde", serde(with = "pairs"))]
    pub unique_names: BTreeMap<Vec<String>, String>,
    #[cfg_attr(feature = "serde", serde(with = "pairs"))]
    pub foreign_key_names: BTreeMap<ForeignKey, String>,
    pub check_names: BTreeMap<String, String>,
    /// The table's comment.
    pub comment: Option<String>,
    /// Table options the dialect keeps per table (MySQL/MariaDB: `ENGINE` and `COLLATE`, the
    /// default collation, which names its character set).
    #[cfg_attr(feature = "serde", serde(default))]
    pub options: BTreeMap<String, String>,
}

/// One column.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    /// `ALWAYS` or `BY DEFAULT` for an identity column.
    pub identity: Option<String>,
    /// The expression of a generated (stored) column.
    pub generated: Option<String>,
    /// The column's comment.
    pub comment: Option<String>,
}

/// An index made by `CREATE INDEX`.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    pub on_update: String,
    pub on_delete: String,
    /// `MATCH FULL` (PostgreSQL); false for the default, `MATCH SIMPLE`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub match_full: bool,
    /// When PostgreSQL checks the key: empty (not deferrable), `DEFERRABLE` (initially
    /// immediate) or `DEFERRABLE INITIALLY DEFERRED`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub deferrable: String,
}

impl Column {
    /// Whether `other` is the same column to the database: a type's case and spacing do not
    /// matter (`varchar(20)` is `VARCHAR (20)`).
    pub fn same_as(&self, other: &Column) -> bool {
        let ty = |c: &Column| c.decl_type.to_ascii_lowercase().split_whitespace().collect::<String>();
        self.name == other.name
            && ty(self) == ty(other)
            && self.not_null == other.not_null
            && self.default == other.default
            && self.primary_key == other.primary_key
            && self.identity == other.identity
            && self.generated == other.generated
            && self.comment == other.comment
    }
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
    /// The index's definition without case, whitespace, identifier quotes or `IF NOT EXISTS`,
    /// for comparing: `ON "users"(mail)` and `on users (mail)` are one index.
    pub fn shape(&self) -> String {
        let sql = self.sql.as_deref().unwrap_or_default().to_ascii_lowercase();
        let words: Vec<&str> = sql.split_whitespace().collect();
        let sql = words.join(" ").replace("if not exists ", "");
        sql.chars().filter(|c| !c.is_whitespace() && !matches!(c, '"' | '`' | '[' | ']')).collect()
    }
}

/// A possibly schema-qualified name (`app.things`) quoted as an SQL identifier, part by part.
pub fn quote_qualified(name: &str) -> String {
    match name.split_once('.') {
        Some((schema, rest)) => format!("{}.{}", quote(schema), quote(rest)),
        None => quote(name),
    }
}

/// `name` quoted as an SQL identifier.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A map whose keys are not strings, serialised as a list of pairs (JSON keys must be strings).
#[cfg(feature = "serde")]
mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(map: &BTreeMap<K, V>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Vec::<(K, V)>::deserialize(d).map(|pairs| pairs.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_written_another_way_is_the_same_index() {
        let index = |sql: &str| Index { sql: Some(sql.into()), ..Index::default() };
        let a = index("CREATE INDEX users_mail ON users (mail)");
        assert_eq!(a.shape(), index("create index if not exists \"users_mail\" on \"users\"(mail)").shape());
        assert_ne!(a.shape(), index("CREATE UNIQUE INDEX users_mail ON users (mail)").shape());
        assert_ne!(a.shape(), index("CREATE INDEX users_mail ON users (mail) WHERE mail > ''").shape());
    }

    #[test]
    fn a_type_written_another_way_is_the_same_column() {
        let col = |ty: &str| Column { name: "c".into(), decl_type: ty.into(), ..Column::default() };
        assert!(col("varchar(20)").same_as(&col("VARCHAR (20)")));
        assert!(!col("varchar(20)").same_as(&col("varchar(30)")));
        assert!(!col("TEXT").same_as(&Column { not_null: true, ..col("TEXT") }));
    }
}
