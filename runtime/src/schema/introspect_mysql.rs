//! Reads a MySQL/MariaDB database's schema into the model, from `information_schema` and
//! `SHOW CREATE TABLE`, with the two servers' ways of reporting defaults made one.
//!
//! What the model has no field for is carried where it stays honest: a column's `decl_type` is
//! its full type as MySQL's `MODIFY COLUMN` needs it (`int(10) unsigned AUTO_INCREMENT`,
//! `varchar(20) COLLATE utf8mb4_bin`, `timestamp ON UPDATE current_timestamp()`, a generation
//! expression, a comment), every non-primary key is an [`Index`] (unique ones too: MySQL
//! drops them by name), and a table's `sql` is its `SHOW CREATE TABLE` text (which names its
//! foreign keys and keeps its engine and charset). A table's check constraints, engine, default
//! collation and comment are compared. Views, triggers, routines, events, sequences and
//! MariaDB's column-level checks (written inside a column's definition) are listed as not
//! compared.

use super::model::{Column, ForeignKey, Index, Schema, Table};
use super::render_mysql::{literal, my_quote};
use mysql::Conn;
use mysql::prelude::Queryable;
use std::collections::BTreeMap;

/// The schema of `conn`'s current database, leaving out the tables named in `skip` (the
/// history tables).
pub fn introspect_mysql(conn: &mut Conn, skip: &[&str]) -> Result<Schema, mysql::Error> {
    let version: Option<String> = conn.query_first("SELECT VERSION()")?;
    let mariadb = version.unwrap_or_default().to_ascii_lowercase().contains("mariadb");
    let mut schema = Schema::default();
    let tables: Vec<TableRow> = conn.query(
        "SELECT TABLE_NAME, TABLE_TYPE, TABLE_COLLATION, ENGINE, TABLE_COMMENT FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
    )?;
    let mut collations = BTreeMap::new();
    for (name, kind, collation, engine, comment) in tables {
        if skip.contains(&name.as_str()) {
            continue;
        }
        match kind.as_str() {
            "BASE TABLE" => {
                collations.insert(name.clone(), collation.clone().unwrap_or_default());
                let sql = show_create(conn, &name)?;
                let options = [("ENGINE", engine), ("COLLATE", collation)];
                let options = options.into_iter().filter_map(|(k, v)| Some((k.to_owned(), v?))).collect();
                let comment = comment.filter(|c| !c.is_empty());
                schema.tables.insert(name.clone(), Table { name, sql, options, comment, ..Table::default() });
            }
            "VIEW" | "SYSTEM VIEW" => {
                schema.not_compared.insert(format!("view {name}"));
            }
            "SEQUENCE" => {
                schema.not_compared.insert(format!("sequence {name}"));
            }
            _ => {}
        }
    }
    columns(conn, &mut schema, &collations, mariadb)?;
    keys(conn, &mut schema, mariadb)?;
    foreign_keys(conn, &mut schema)?;
    checks(conn, &mut schema, mariadb)?;
    others(conn, &mut schema)?;
    Ok(schema)
}

/// The schema of the database `url` names, without the engine's tables for the history table
/// `history`, over a connection with the url's credentials and TLS settings.
pub fn introspect_mysql_url(
    url: &crate::url::DatabaseUrl,
    connect_timeout: std::time::Duration,
    history: &str,
) -> Result<Schema, String> {
    if url.database().is_none() {
        return Err(format!("{url} names no database (add `/NAME` to it)"));
    }
    let bound = crate::backend::bound(url, connect_timeout);
    let mut conn = crate::backend::mysql::open_conn(url, bound).map_err(|e| e.to_string())?;
    let skip = super::engine_tables(history);
    let skip: Vec<&str> = skip.iter().map(String::as_str).collect();
    introspect_mysql(&mut conn, &skip).map_err(|e| url.scrub(&e.to_string()))
}

/// `SHOW CREATE TABLE` without the `AUTO_INCREMENT=` counter, which moves with the rows.
fn show_create(conn: &mut Conn, table: &str) -> Result<Option<String>, mysql::Error> {
    let row: Option<(String, String)> = conn.query_first(format!("SHOW CREATE TABLE {}", my_quote(table)))?;
    Ok(row.map(|(_, sql)| strip_auto_increment(&sql)))
}

fn strip_auto_increment(sql: &str) -> String {
    let Some(at) = sql.rfind(" AUTO_INCREMENT=") else { return sql.to_owned() };
    let rest = &sql[at + " AUTO_INCREMENT=".len()..];
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 || sql[..at].rfind(')').is_none() {
        return sql.to_owned();
    }
    format!("{}{}", &sql[..at], &rest[digits..])
}

type TableRow = (String, String, Option<String>, Option<String>, Option<String>);

type ColumnRow = (String, String, String, String, Option<String>, String, Option<String>, Option<String>, String);

fn columns(
    conn: &mut Conn,
    schema: &mut Schema,
    collations: &BTreeMap<String, String>,
    mariadb: bool,
) -> Result<(), mysql::Error> {
    let rows: Vec<ColumnRow> = conn.query(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, \
         GENERATION_EXPRESSION, COLLATION_NAME, COLUMN_COMMENT \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION",
    )?;
    for (table, name, ty, nullable, default, extra, generated, collation, comment) in rows {
        let Some(t) = schema.tables.get_mut(&table) else { continue };
        let extra_lc = extra.to_ascii_lowercase();
        let mut decl = ty.clone();
        if let Some(c) = collation.filter(|c| collations.get(&table) != Some(c)) {
            decl.push_str(&format!(" COLLATE {c}"));
        }
        let is_generated = extra_lc.contains("generated") && !extra_lc.contains("default_generated");
        if is_generated {
            let how = if extra_lc.contains("stored") { "STORED" } else { "VIRTUAL" };
            decl.push_str(&format!(" GENERATED ALWAYS AS ({}) {how}", generated.unwrap_or_default()));
        }
        if extra_lc.contains("auto_increment") {
            decl.push_str(" AUTO_INCREMENT");
        }
        if let Some(at) = extra_lc.find("on update ") {
            decl.push_str(&format!(" ON UPDATE {}", extra[at + "on update ".len()..].trim()));
        }
        if extra_lc.contains("invisible") {
            decl.push_str(" INVISIBLE");
        }
        if !comment.is_empty() {
            decl.push_str(&format!(" COMMENT {}", literal(&comment)));
        }
        let default = if is_generated {
            None
        } else {
            normal_default(default, &ty, extra_lc.contains("default_generated"), mariadb)
        };
        // The key is read from `STATISTICS`: `COLUMN_KEY` says `PRI` for a unique NOT NULL key
        // of a table without a primary key too.
        t.columns.push(Column {
            name,
            decl_type: decl,
            not_null: nullable == "NO",
            default,
            primary_key: false,
            ..Column::default()
        });
    }
    Ok(())
}

/// A default as an SQL expression that gives it back: MariaDB already reports one (`'x'`,
/// `1.50`, `current_timestamp()`, `NULL` for "default null", which is no default at all);
/// MySQL reports a literal's bare value and marks an expression `DEFAULT_GENERATED`.
fn normal_default(default: Option<String>, ty: &str, expression: bool, mariadb: bool) -> Option<String> {
    let d = default?;
    if mariadb {
        return (!d.eq_ignore_ascii_case("null")).then_some(d);
    }
    let lower = d.to_ascii_lowercase();
    if expression {
        return Some(if lower.starts_with("current_timestamp") || lower.starts_with("now(") || d.starts_with('(') {
            d
        } else {
            format!("({d})")
        });
    }
    let numeric = ["int", "decimal", "float", "double", "numeric", "real"].iter().any(|n| ty.contains(n));
    if numeric && d.parse::<f64>().is_ok() { Some(d) } else { Some(literal(&d)) }
}

type KeyRow = (String, String, String, Option<String>, Option<String>, Option<String>, String, Option<String>);

/// The primary keys and the other keys (as indexes), columns in `SEQ_IN_INDEX` order; a
/// functional key part (MySQL 8) is its expression, with an empty column name.
fn keys(conn: &mut Conn, schema: &mut Schema, mariadb: bool) -> Result<(), mysql::Error> {
    let expression = if mariadb { "NULL" } else { "EXPRESSION" };
    let rows: Vec<KeyRow> = conn.query(format!(
        "SELECT TABLE_NAME, INDEX_NAME, CAST(NON_UNIQUE AS CHAR), {expression}, COLUMN_NAME, \
         CAST(SUB_PART AS CHAR), INDEX_TYPE, COLLATION FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
    ))?;
    let mut parts: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (table, index, non_unique, expression, column, sub_part, kind, collation) in rows {
        let Some(t) = schema.tables.get_mut(&table) else { continue };
        let column = column.unwrap_or_default();
        if index == "PRIMARY" {
            if let Some(c) = t.columns.iter_mut().find(|c| c.name == column) {
                c.primary_key = true;
            }
            t.primary_key.push(column);
            continue;
        }
        let mut part = match expression {
            Some(e) if column.is_empty() => format!("({e})"),
            _ => my_quote(&column),
        };
        if let Some(n) = sub_part {
            part.push_str(&format!("({n})"));
        }
        if collation.as_deref() == Some("D") {
            part.push_str(" DESC");
        }
        parts.entry((table.clone(), index.clone())).or_default().push(part);
        let entry = t.indexes.entry(index.clone()).or_insert_with(|| Index {
            name: index.clone(),
            table: table.clone(),
            unique: non_unique == "0",
            sql: Some(kind.clone()),
            ..Index::default()
        });
        entry.columns.push(column);
    }
    for ((table, name), cols) in parts {
        let Some(index) = schema.tables.get_mut(&table).and_then(|t| t.indexes.get_mut(&name)) else { continue };
        let kind = index.sql.take().unwrap_or_default();
        let prefix = match kind.as_str() {
            "FULLTEXT" => "CREATE FULLTEXT INDEX",
            "SPATIAL" => "CREATE SPATIAL INDEX",
            _ if index.unique => "CREATE UNIQUE INDEX",
            _ => "CREATE INDEX",
        };
        let using = if kind == "HASH" { " USING HASH" } else { "" };
        index.sql = Some(format!("{prefix} {} ON {} ({}){using}", my_quote(&name), my_quote(&table), cols.join(", ")));
    }
    Ok(())
}

type FkRow = (String, String, String, String, Option<String>, String, String);

fn foreign_keys(conn: &mut Conn, schema: &mut Schema) -> Result<(), mysql::Error> {
    let rows: Vec<FkRow> = conn.query(
        "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, \
         r.UPDATE_RULE, r.DELETE_RULE FROM information_schema.KEY_COLUMN_USAGE k \
         JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA \
         AND r.TABLE_NAME = k.TABLE_NAME AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
         WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL \
         ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
    )?;
    let mut found: BTreeMap<(String, String), ForeignKey> = BTreeMap::new();
    for (table, name, column, ref_table, ref_column, on_update, on_delete) in rows {
        let fk = found.entry((table, name)).or_insert_with(|| ForeignKey {
            ref_table,
            on_update,
            on_delete,
            ..ForeignKey::default()
        });
        fk.columns.push(column);
        fk.ref_columns.push(ref_column.unwrap_or_default());
    }
    for ((table, _), fk) in found {
        if let Some(t) = schema.tables.get_mut(&table) {
            t.foreign_keys.insert(fk);
        }
    }
    Ok(())
}

/// Check constraints as `CHECK (clause)`, by name (MySQL 8.0.16+, MariaDB 10.2+; older servers
/// have none). MariaDB's column-level ones live in the column's definition, which the model
/// does not hold: listed as not compared.
fn checks(conn: &mut Conn, schema: &mut Schema, mariadb: bool) -> Result<(), mysql::Error> {
    // MySQL names a check once per schema; MariaDB once per table, and says the table and level.
    let (table, level) = if mariadb { ("AND cc.TABLE_NAME = tc.TABLE_NAME", "cc.LEVEL") } else { ("", "'Table'") };
    let rows: Vec<(String, String, String, String)> = conn
        .query(format!(
            "SELECT tc.TABLE_NAME, tc.CONSTRAINT_NAME, cc.CHECK_CLAUSE, {level} FROM information_schema.TABLE_CONSTRAINTS tc \
             JOIN information_schema.CHECK_CONSTRAINTS cc ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA \
             AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME {table} \
             WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.CONSTRAINT_TYPE = 'CHECK' ORDER BY 1, 2"
        ))
        .unwrap_or_default();
    for (table, name, clause, level) in rows {
        let Some(t) = schema.tables.get_mut(&table) else { continue };
        if level != "Table" {
            schema.not_compared.insert(format!("check constraint {table}.{name}"));
            continue;
        }
        let def = format!("CHECK ({clause})");
        t.checks.insert(def.clone());
        t.check_names.insert(def, name);
    }
    Ok(())
}

/// Triggers, routines and events: read, listed, not compared.
fn others(conn: &mut Conn, schema: &mut Schema) -> Result<(), mysql::Error> {
    let queries = [
        "SELECT 'trigger', TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
        "SELECT LOWER(ROUTINE_TYPE), ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()",
        "SELECT 'event', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()",
    ];
    for sql in queries {
        let rows: Vec<(String, String)> = conn.query(sql)?;
        schema.not_compared.extend(rows.into_iter().map(|(kind, name)| format!("{kind} {name}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_auto_increment_counter_is_not_part_of_the_table() {
        let sql = "CREATE TABLE `t` (\n  `id` int NOT NULL AUTO_INCREMENT\n) ENGINE=InnoDB AUTO_INCREMENT=42 DEFAULT CHARSET=utf8mb4";
        assert_eq!(
            strip_auto_increment(sql),
            "CREATE TABLE `t` (\n  `id` int NOT NULL AUTO_INCREMENT\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        );
    }

    #[test]
    fn mysql_and_mariadb_defaults_read_alike() {
        assert_eq!(normal_default(Some("'x'".into()), "varchar(3)", false, true).as_deref(), Some("'x'"));
        assert_eq!(normal_default(Some("x".into()), "varchar(3)", false, false).as_deref(), Some("'x'"));
        assert_eq!(normal_default(Some("NULL".into()), "int(11)", false, true), None);
        assert_eq!(normal_default(Some("0".into()), "int", false, false).as_deref(), Some("0"));
        assert_eq!(normal_default(Some("it's".into()), "text", false, false).as_deref(), Some("'it''s'"));
        assert_eq!(normal_default(Some("(1 + 2)".into()), "int", false, true).as_deref(), Some("(1 + 2)"));
        assert_eq!(normal_default(Some("(1 + 2)".into()), "int", true, false).as_deref(), Some("(1 + 2)"));
        assert_eq!(normal_default(Some("rand()".into()), "int", true, false).as_deref(), Some("(rand())"));
        assert_eq!(
            normal_default(Some("CURRENT_TIMESTAMP".into()), "timestamp", true, false).as_deref(),
            Some("CURRENT_TIMESTAMP")
        );
    }
}
