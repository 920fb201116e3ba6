//! Reads a SQLite database's schema into the model, from `sqlite_master` and the table pragmas.

use super::model::{Column, ForeignKey, Index, Schema, Table};
use rusqlite::Connection;

/// The schema of `conn`, leaving out SQLite's own tables and the ones named in `skip` (the
/// history tables).
pub fn introspect_sqlite(conn: &Connection, skip: &[&str]) -> rusqlite::Result<Schema> {
    let mut schema = Schema::default();
    for (kind, name, sql) in objects(conn, skip)? {
        match kind.as_str() {
            "table" => {
                let table = table(conn, &name, sql)?;
                schema.tables.insert(name, table);
            }
            "view" | "trigger" => {
                schema.not_compared.insert(format!("{kind} {name}"));
            }
            _ => {}
        }
    }
    Ok(schema)
}

/// The `CREATE` statements of `conn`'s tables (each followed by its indexes), then its views
/// and triggers, in name order: a schema file that loads back into the same schema.
pub fn dump_sqlite(conn: &Connection, skip: &[&str]) -> rusqlite::Result<String> {
    let objects = objects(conn, skip)?;
    let mut out = String::new();
    let mut push = |sql: &str| {
        out.push_str(sql.trim());
        out.push_str(";\n\n");
    };
    for (_, name, sql) in objects.iter().filter(|o| o.0 == "table") {
        push(sql.as_deref().unwrap_or_default());
        let mut stmt = conn.prepare(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL ORDER BY name",
        )?;
        for sql in stmt.query_map([name], |r| r.get::<_, String>(0))? {
            push(&sql?);
        }
    }
    for (_, _, sql) in objects.iter().filter(|o| o.0 == "view" || o.0 == "trigger") {
        push(sql.as_deref().unwrap_or_default());
    }
    let len = out.trim_end().len();
    out.truncate(len);
    out.push('\n');
    Ok(out)
}

type Object = (String, String, Option<String>);

/// Tables, views and triggers (not indexes), by kind then name.
fn objects(conn: &Connection, skip: &[&str]) -> rusqlite::Result<Vec<Object>> {
    let mut stmt = conn.prepare(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'view', 'trigger') \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let all: Vec<Object> = rows.collect::<rusqlite::Result<_>>()?;
    Ok(all.into_iter().filter(|(_, name, _)| !skip.contains(&name.as_str())).collect())
}

fn table(conn: &Connection, name: &str, sql: Option<String>) -> rusqlite::Result<Table> {
    let mut t = Table { name: name.to_owned(), sql, ..Table::default() };
    let mut stmt = conn
        .prepare("SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid")?;
    let rows = stmt.query_map([name], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get(1)?,
            r.get::<_, i64>(2)?,
            r.get(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    let mut pk = Vec::new();
    for row in rows {
        let (col, decl_type, not_null, default, key, hidden) = row?;
        if key > 0 {
            pk.push((key, col.clone()));
        }
        // `hidden` 2 and 3: a virtual and a stored generated column, which no INSERT may name.
        let generated = matches!(hidden, 2 | 3).then(|| generation(t.sql.as_deref().unwrap_or_default(), &col));
        t.columns.push(Column {
            name: col,
            decl_type,
            not_null: not_null != 0,
            default,
            primary_key: key > 0,
            generated,
            ..Column::default()
        });
    }
    pk.sort();
    t.primary_key = pk.into_iter().map(|(_, c)| c).collect();
    indexes(conn, &mut t)?;
    t.foreign_keys = foreign_keys(conn, name)?.into_iter().collect();
    t.triggers = triggers(conn, name)?;
    Ok(t)
}

/// How generated column `column` is computed, from `AS` on in its definition in `create`
/// (`AS (price * qty) STORED`), spaces collapsed; the pragmas do not give it.
fn generation(create: &str, column: &str) -> String {
    let body = create.find('(').map_or("", |open| &create[open + 1..]);
    let definition = top_level_parts(body).into_iter().find(|part| {
        let first = part.split_whitespace().next().unwrap_or_default();
        first.trim_matches(|c| matches!(c, '"' | '`' | '[' | ']')).eq_ignore_ascii_case(column)
    });
    let words: Vec<&str> = definition.unwrap_or_default().split_whitespace().collect();
    let at = words.iter().position(|w| w.eq_ignore_ascii_case("AS") || w.to_ascii_uppercase().starts_with("AS("));
    at.map_or_else(|| "generated".to_owned(), |at| words[at..].join(" "))
}

/// `body` split at its commas outside parentheses and quotes.
fn top_level_parts(body: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut quote, mut start) = (Vec::new(), 0i32, None, 0);
    for (i, c) in body.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '[') => quote = Some(']'),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    parts
}

/// The `CREATE TRIGGER` texts of `table`'s triggers, in name order.
fn triggers(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1 AND sql IS NOT NULL ORDER BY name",
    )?;
    stmt.query_map([table], |r| r.get::<_, String>(0))?.collect()
}

/// Fills `t`'s unique constraints (`origin` `u`) and its `CREATE INDEX` indexes (`c`).
fn indexes(conn: &Connection, t: &mut Table) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1) ORDER BY name")?;
    let list = stmt.query_map([&t.name], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
    })?;
    for row in list.collect::<rusqlite::Result<Vec<_>>>()? {
        let (name, unique, origin, partial) = row;
        let columns = index_columns(conn, &name)?;
        match origin.as_str() {
            "u" => {
                t.uniques.insert(columns);
            }
            "c" => {
                let sql: Option<String> =
                    conn.query_row("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1", [&name], |r| {
                        r.get(0)
                    })?;
                let index = Index {
                    name: name.clone(),
                    table: t.name.clone(),
                    columns,
                    unique: unique != 0,
                    partial: partial != 0,
                    sql,
                };
                t.indexes.insert(name, index);
            }
            // `pk`: the primary key, already read from the columns.
            _ => {}
        }
    }
    Ok(())
}

fn index_columns(conn: &Connection, index: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")?;
    let rows = stmt.query_map([index], |r| r.get::<_, Option<String>>(0))?;
    rows.map(|r| r.map(Option::unwrap_or_default)).collect()
}

fn foreign_keys(conn: &Connection, table: &str) -> rusqlite::Result<Vec<ForeignKey>> {
    let mut stmt = conn.prepare(
        "SELECT id, \"from\", \"table\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
    )?;
    let rows = stmt.query_map([table], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut out: Vec<(i64, ForeignKey)> = Vec::new();
    for row in rows {
        let (id, from, ref_table, to, on_update, on_delete) = row?;
        if out.last().is_none_or(|(last, _)| *last != id) {
            let fk = ForeignKey { ref_table, on_update, on_delete, ..ForeignKey::default() };
            out.push((id, fk));
        }
        if let Some((_, fk)) = out.last_mut() {
            fk.columns.push(from);
            // A reference to the parent's primary key names no column.
            fk.ref_columns.push(to.unwrap_or_default());
        }
    }
    Ok(out.into_iter().map(|(_, fk)| fk).collect())
}
