//! PostgreSQL's schema read from its catalog (pg_catalog) into the driver-free model: tables,
//! columns, keys, checks, indexes, enums and schemas; views, functions and triggers are listed.

use super::model::{Column, ForeignKey, Index, Schema, Table};
use crate::backend::postgres::PgSession;
use crate::url::DatabaseUrl;
use std::collections::BTreeMap;

/// Separates the items of an aggregated list in one text value (ASCII unit separator).
const SEP: char = '\u{1f}';

/// The user's schemas: everything but the system's.
const USER_NS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'";

/// A connection to read a schema from, or to load one into.
pub struct PgSchemaSession(PgSession);

impl PgSchemaSession {
    /// Connects to `url` (its TLS settings and bound as the engine uses them).
    pub fn connect(url: &DatabaseUrl) -> Result<Self, String> {
        let bound = crate::backend::bound(url, crate::DEFAULT_CONNECT_TIMEOUT);
        PgSession::connect(url, bound).map(PgSchemaSession).map_err(|e| e.to_string())
    }

    /// Runs a whole script (a desired-schema file) as the server's simple query.
    pub fn execute(&self, sql: &str) -> Result<(), String> {
        self.0.execute(sql)
    }

    /// The schema, without the tables named in `skip` (the engine's own).
    pub fn introspect(&self, skip: &[&str]) -> Result<Schema, String> {
        introspect_pg(&self.0, skip)
    }
}

fn text(row: &[Option<String>], i: usize) -> String {
    row.get(i).cloned().flatten().unwrap_or_default()
}

fn opt(row: &[Option<String>], i: usize) -> Option<String> {
    row.get(i).cloned().flatten()
}

fn list(value: &str) -> Vec<String> {
    if value.is_empty() { Vec::new() } else { value.split(SEP).map(str::to_owned).collect() }
}

/// `schema.name`, or `name` in `public`.
fn qualified(schema: &str, name: &str) -> String {
    if schema == "public" { name.to_owned() } else { format!("{schema}.{name}") }
}

fn introspect_pg(s: &PgSession, skip: &[&str]) -> Result<Schema, String> {
    let mut schema = Schema::default();
    let mut by_oid: BTreeMap<String, Table> = BTreeMap::new();
    let tables = format!(
        "SELECT c.oid, n.nspname, c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
         AND {USER_NS}"
    );
    for row in s.rows(&tables)? {
        let name = qualified(&text(&row, 1), &text(&row, 2));
        if skip.contains(&name.as_str()) || skip.contains(&text(&row, 2).as_str()) && text(&row, 1) == "public" {
            continue;
        }
        by_oid.insert(text(&row, 0), Table { name, comment: opt(&row, 3), ..Table::default() });
    }
    columns(s, &mut by_oid)?;
    constraints(s, &mut by_oid)?;
    indexes(s, &mut by_oid)?;
    schema.tables = by_oid.into_values().map(|t| (t.name.clone(), t)).collect();
    let enums = format!(
        "SELECT n.nspname, t.typname, string_agg(e.enumlabel, chr(31) ORDER BY e.enumsortorder) FROM pg_type t \
         JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {USER_NS} \
         GROUP BY 1, 2"
    );
    for row in s.rows(&enums)? {
        schema.enums.insert(qualified(&text(&row, 0), &text(&row, 1)), list(&text(&row, 2)));
    }
    let schemas = format!(
        "SELECT n.nspname FROM pg_namespace n WHERE {USER_NS} AND n.nspname <> 'public' \
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = n.oid AND d.deptype = 'e')"
    );
    schema.schemas = s.rows(&schemas)?.iter().map(|r| text(r, 0)).collect();
    schema.not_compared = not_compared(s)?;
    Ok(schema)
}

/// Columns in declaration order. A `serial` column (an owned sequence as its default) reads as
/// `serial`, so the sequence's name (which a table rename keeps) is not compared.
fn columns(s: &PgSession, tables: &mut BTreeMap<String, Table>) -> Result<(), String> {
    let sql = format!(
        "SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
         pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, col_description(a.attrelid, a.attnum), \
         pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname) IS NOT NULL \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND {USER_NS} \
         ORDER BY a.attrelid, a.attnum"
    );
    for row in s.rows(&sql)? {
        let Some(t) = tables.get_mut(&text(&row, 0)) else { continue };
        let mut c = Column {
            name: text(&row, 1),
            decl_type: text(&row, 2),
            not_null: text(&row, 3) == "t",
            default: opt(&row, 4),
            comment: opt(&row, 7),
            ..Column::default()
        };
        match text(&row, 5).as_str() {
            "a" => c.identity = Some("ALWAYS".into()),
            "d" => c.identity = Some("BY DEFAULT".into()),
            _ => {}
        }
        if text(&row, 6) == "s" {
            c.generated = c.default.take();
        }
        let owned_sequence = text(&row, 8) == "t" && c.identity.is_none();
        if owned_sequence && c.default.as_deref().is_some_and(|d| d.starts_with("nextval(")) {
            let serial = match c.decl_type.as_str() {
                "bigint" => Some("bigserial"),
                "smallint" => Some("smallserial"),
                "integer" => Some("serial"),
                _ => None,
            };
            if let Some(serial) = serial {
                c.decl_type = serial.into();
                c.default = None;
            }
        }
        t.columns.push(c);
    }
    Ok(())
}

/// Primary keys, unique, foreign-key and check constraints.
fn constraints(s: &PgSession, tables: &mut BTreeMap<String, Table>) -> Result<(), String> {
    let cols = |arr: &str, rel: &str| {
        format!(
            "(SELECT string_agg(a.attname, chr(31) ORDER BY k.o) FROM unnest(con.{arr}) WITH ORDINALITY k(n, o) \
             JOIN pg_attribute a ON a.attrelid = con.{rel} AND a.attnum = k.n)"
        )
    };
    let sql = format!(
        "SELECT con.conrelid, con.conname, con.contype, pg_get_constraintdef(con.oid), {}, {}, \
         rn.nspname, rc.relname, con.confupdtype, con.confdeltype, con.confmatchtype, \
         CASE WHEN con.condeferred THEN 'DEFERRABLE INITIALLY DEFERRED' WHEN con.condeferrable THEN 'DEFERRABLE' END \
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_class rc ON rc.oid = con.confrelid LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace \
         WHERE con.contype IN ('p', 'u', 'f', 'c') AND {USER_NS} ORDER BY con.conname",
        cols("conkey", "conrelid"),
        cols("confkey", "confrelid")
    );
    for row in s.rows(&sql)? {
        let Some(t) = tables.get_mut(&text(&row, 0)) else { continue };
        let (name, columns) = (text(&row, 1), list(&text(&row, 4)));
        match text(&row, 2).as_str() {
            "p" => {
                for c in t.columns.iter_mut().filter(|c| columns.contains(&c.name)) {
                    c.primary_key = true;
                }
                t.primary_key = columns;
                t.primary_key_name = Some(name);
            }
            "u" => {
                t.uniques.insert(columns.clone());
                t.unique_names.insert(columns, name);
            }
            "f" => {
                let fk = ForeignKey {
                    columns,
                    ref_table: qualified(&text(&row, 6), &text(&row, 7)),
                    ref_columns: list(&text(&row, 5)),
                    on_update: action(&text(&row, 8)).into(),
                    on_delete: action(&text(&row, 9)).into(),
                    match_full: text(&row, 10) == "f",
                    deferrable: text(&row, 11),
                };
                t.foreign_keys.insert(fk.clone());
                t.foreign_key_names.insert(fk, name);
            }
            _ => {
                let def = text(&row, 3);
                t.checks.insert(def.clone());
                t.check_names.insert(def, name);
            }
        }
    }
    Ok(())
}

/// A foreign key action from its catalog letter.
fn action(letter: &str) -> &'static str {
    match letter {
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        _ => "NO ACTION",
    }
}

/// Indexes made by `CREATE INDEX` (not the ones behind a primary key or unique constraint).
fn indexes(s: &PgSession, tables: &mut BTreeMap<String, Table>) -> Result<(), String> {
    let sql = format!(
        "SELECT i.indrelid, ic.relname, pg_get_indexdef(i.indexrelid), i.indisunique, i.indpred IS NOT NULL, \
         (SELECT string_agg(coalesce(a.attname, ''), chr(31) ORDER BY k.o) FROM unnest(i.indkey) WITH ORDINALITY k(n, o) \
          LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n) \
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace \
         WHERE {USER_NS} AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid \
         AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))"
    );
    for row in s.rows(&sql)? {
        let Some(t) = tables.get_mut(&text(&row, 0)) else { continue };
        let index = Index {
            name: text(&row, 1),
            table: t.name.clone(),
            columns: list(&text(&row, 5)),
            unique: text(&row, 3) == "t",
            partial: text(&row, 4) == "t",
            sql: opt(&row, 2),
        };
        t.indexes.insert(index.name.clone(), index);
    }
    Ok(())
}

/// Views, functions, triggers, policies and free-standing sequences: read, listed, never
/// compared.
fn not_compared(s: &PgSession) -> Result<std::collections::BTreeSet<String>, String> {
    let extension = "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')";
    let sql = format!(
        "SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE 'sequence' END, \
         n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {USER_NS} AND {} AND (c.relkind IN ('v', 'm') OR c.relkind = 'S' AND NOT EXISTS \
         (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))) \
         UNION ALL SELECT 'function', n.nspname, p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE {USER_NS} AND {} \
         UNION ALL SELECT 'trigger', n.nspname, c.relname || '.' || tg.tgname FROM pg_trigger tg \
         JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE NOT tg.tgisinternal AND {USER_NS} \
         UNION ALL SELECT 'policy', n.nspname, c.relname || '.' || po.polname FROM pg_policy po \
         JOIN pg_class c ON c.oid = po.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_NS}",
        extension.replace("{oid}", "c.oid"),
        extension.replace("{oid}", "p.oid"),
    );
    Ok(s.rows(&sql)?.iter().map(|r| format!("{} {}", text(r, 0), qualified(&text(r, 1), &text(r, 2)))).collect())
}
