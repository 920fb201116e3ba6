//! MySQL/MariaDB's SQL for a [`Difference`]: `ALTER TABLE` statements in an order where a
//! failure part way (MySQL commits each DDL statement on its own) has dropped nothing yet.

use super::diff::{Difference, Renames, TableDiff, differences};
use super::model::{Column, ForeignKey, Index, Schema, Table};
use super::steps::{Migration, Steps, join};
use std::collections::BTreeSet;

/// Said at the top of a file of several DDL statements.
const IMPLICIT_COMMIT: &str = "\
-- MySQL/MariaDB commits each DDL statement on its own: when one fails, those before it stay applied
-- and the migration is left dirty; finish or undo it by hand, then run
-- `cargo dbmigrate repair VERSION --as applied` (or `--as pending`).";
const DROPS_LAST: &str =
    "-- The statements are ordered so that no table or column is dropped until every other change has succeeded.";

/// `name` quoted as a MySQL identifier.
pub(crate) fn my_quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `text` as an SQL string literal.
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// The MySQL/MariaDB migration that applies `diff`: renames; the foreign keys and indexes that
/// go; new tables; added, changed and key columns; new indexes and foreign keys; and last the
/// dropped tables and columns, so a statement failing part way has lost no data. It fails on
/// no difference today (the `Result` is the shape every dialect's renderer has).
pub fn render_mysql(diff: &Difference) -> Result<Migration, String> {
    let mut s = Steps::default();
    s.table_renames(diff, rename_table);
    diff.altered.iter().for_each(|d| renames(d, &mut s));
    let retyped = retyped_columns(diff);
    diff.altered.iter().for_each(|d| dropped_keys(d, &retyped, &mut s));
    let deferred = created_tables(diff, &mut s);
    diff.altered.iter().for_each(|d| table_options(d, &mut s));
    diff.altered.iter().for_each(|d| added_columns(d, &mut s));
    diff.altered.iter().for_each(|d| changed_columns(d, &mut s));
    diff.altered.iter().for_each(|d| primary_key(d, &mut s));
    diff.altered.iter().for_each(|d| created_keys(d, &retyped, &mut s));
    for (t, fk) in &deferred {
        s.push(add_foreign_key(t, fk), drop_foreign_key(t, fk));
    }
    dropped_tables(diff, &mut s);
    diff.altered.iter().for_each(|d| dropped_columns(d, &mut s));
    Ok(finish(s))
}

/// A schema file for `schema`: its tables' `CREATE TABLE` texts, parents first (a cycle's
/// foreign key added after), which loads back into the same schema. The objects that are not
/// compared are named in a comment, not dumped.
pub fn dump_mysql(schema: &Schema) -> String {
    let diff = differences(&Schema::default(), schema, &Renames::default());
    let mut s = Steps::default();
    for (t, fk) in created_tables(&diff, &mut s) {
        s.push(add_foreign_key(&t, &fk), "");
    }
    let mut out = String::new();
    if !schema.not_compared.is_empty() {
        let names: Vec<&str> = schema.not_compared.iter().map(String::as_str).collect();
        out.push_str(&format!("-- Not compared, so not dumped: {}.\n\n", names.join(", ")));
    }
    let ups: Vec<&str> = s.list.iter().map(|(u, _)| u.as_str()).collect();
    out + &ups.join("\n\n") + "\n"
}

/// Joins the steps into the two files, each headed by the implicit-commit note when it holds
/// more than one statement.
fn finish(s: Steps) -> Migration {
    let statements = |parts: &[&str]| parts.iter().map(|p| statement_count(p)).sum::<usize>();
    let (ups, downs) = (s.ups(), s.downs());
    let mut up = join(ups.clone());
    if statements(&ups) > 1 {
        up = format!("{IMPLICIT_COMMIT}\n{DROPS_LAST}\n\n{up}");
    }
    let mut down = join(downs.clone());
    if statements(&downs) > 1 {
        down = format!("{IMPLICIT_COMMIT}\n\n{down}");
    }
    Migration { up: up + "\n", down: down + "\n", warnings: s.warnings }
}

/// The statements of a step: its lines that end one and are not comments.
fn statement_count(sql: &str) -> usize {
    sql.lines().filter(|l| !l.trim_start().starts_with("--") && l.trim_end().ends_with(';')).count()
}

fn rename_table(from: &str, to: &str) -> String {
    format!("RENAME TABLE {} TO {};", my_quote(from), my_quote(to))
}

fn alter(t: &str, what: &str) -> String {
    format!("ALTER TABLE {} {what};", my_quote(t))
}

/// A column's definition as `ADD COLUMN` and `MODIFY COLUMN` take it: nullability is always
/// written, since a `timestamp` column without it is NOT NULL on older servers.
fn column_def(c: &Column) -> String {
    let (ty, attributes) = c.decl_type.split_at(attributes_at(&c.decl_type));
    let mut def = format!("{} {ty}", my_quote(&c.name));
    if !c.decl_type.to_ascii_uppercase().contains(" GENERATED ALWAYS AS ") {
        def.push_str(if c.not_null { " NOT NULL" } else { " NULL" });
        if let Some(d) = &c.default {
            def = format!("{def} DEFAULT {d}");
        }
    }
    def + attributes
}

/// Where the attributes that introspection appends to a type (`AUTO_INCREMENT`, `ON UPDATE`,
/// `INVISIBLE`, `COMMENT`) begin in `decl`, outside quotes; its length when there are none.
fn attributes_at(decl: &str) -> usize {
    let markers = [" AUTO_INCREMENT", " ON UPDATE ", " INVISIBLE", " COMMENT "];
    let mut quoted = false;
    for (i, c) in decl.char_indices() {
        if c == '\'' {
            quoted = !quoted;
        } else if !quoted && markers.iter().any(|m| decl[i..].starts_with(m)) {
            return i;
        }
    }
    decl.len()
}

/// Where a column goes in `t`: after the column before it, or first.
fn position(t: &Table, column: &str) -> String {
    let at = t.columns.iter().position(|c| c.name == column).unwrap_or(0);
    match at.checked_sub(1).and_then(|i| t.columns.get(i)) {
        Some(prev) => format!(" AFTER {}", my_quote(&prev.name)),
        None => " FIRST".to_owned(),
    }
}

fn renames(d: &TableDiff, s: &mut Steps) {
    let t = &d.to.name;
    let sql = |a: &str, b: &str| alter(t, &format!("RENAME COLUMN {} TO {}", my_quote(a), my_quote(b)));
    for (old, new) in &d.renamed_columns {
        s.push(sql(old, new), sql(new, old));
    }
    for (gone, new) in &d.likely_renames {
        s.warnings.push(format!(
            "column `{t}.{gone}` is dropped and `{t}.{new}` added with the same type: a rename? pass `--rename {t}.{gone}={new}`"
        ));
        s.push(format!("-- likely a rename: {}", sql(gone, new)), "");
    }
}

/// The columns, as `(table, column)`, whose type changes: MySQL refuses to change the type of
/// a column a foreign key uses, so such a key is dropped before and added again after.
type Retyped = BTreeSet<(String, String)>;

/// A declared type without its attributes, collation included (MySQL refuses that change too).
fn type_part(decl: &str) -> String {
    decl[..attributes_at(decl)].to_ascii_lowercase().split_whitespace().collect::<Vec<_>>().join(" ")
}

fn retyped_columns(diff: &Difference) -> Retyped {
    let mut out = Retyped::new();
    for d in &diff.altered {
        for (now, want) in &d.changed {
            if type_part(&now.decl_type) != type_part(&want.decl_type) {
                out.insert((d.to.name.clone(), want.name.clone()));
            }
        }
    }
    out
}

/// The foreign keys of `d` to drop (gone, changed or on a retyped column) and to add (new,
/// changed or on a retyped column).
fn foreign_key_changes<'a>(d: &'a TableDiff, retyped: &Retyped) -> (Vec<&'a ForeignKey>, Vec<&'a ForeignKey>) {
    let on = |table: &str, cols: &[String]| cols.iter().any(|c| retyped.contains(&(table.to_owned(), c.clone())));
    let touched = |fk: &ForeignKey| on(&d.to.name, &fk.columns) || on(&fk.ref_table, &fk.ref_columns);
    let (from, to) = (&d.from.foreign_keys, &d.to.foreign_keys);
    let gone = from.iter().filter(|fk| !to.contains(fk) || touched(fk)).collect();
    let new = to.iter().filter(|fk| !from.contains(fk) || touched(fk)).collect();
    (gone, new)
}

/// Foreign keys and then indexes that are gone or changed: a foreign key first, since MySQL
/// refuses to drop the index one needs.
fn dropped_keys(d: &TableDiff, retyped: &Retyped, s: &mut Steps) {
    let t = &d.to.name;
    for fk in foreign_key_changes(d, retyped).0 {
        s.push(drop_foreign_key(&d.from, fk), add_foreign_key(&d.from, fk));
    }
    for i in &d.dropped_indexes {
        s.push(drop_index(t, i), create_index(i));
    }
    for i in reused_indexes(d, retyped) {
        s.push(drop_index(t, i), create_index(i));
    }
    for (name, def) in checks_in_order(&d.from, &d.to).into_iter().rev() {
        s.push(drop_check(t, name), add_check(t, name, def));
    }
}

/// `table`'s checks that `other` lacks, as (name, definition), in the order its `SHOW CREATE
/// TABLE` text lists them: added in that order (dropped in reverse, so a down adds them back
/// in it), the text comes out the same.
fn checks_in_order<'a>(table: &'a Table, other: &'a Table) -> Vec<(&'a str, &'a String)> {
    let sql = table.sql.as_deref().unwrap_or_default();
    let mut out: Vec<(&str, &String)> = table
        .checks
        .difference(&other.checks)
        .map(|def| (table.check_names.get(def).map_or("", String::as_str), def))
        .collect();
    out.sort_by_key(|(name, _)| sql.find(&format!("CONSTRAINT {} CHECK", my_quote(name))).unwrap_or(usize::MAX));
    out
}

fn add_check(t: &str, name: &str, def: &str) -> String {
    alter(t, &format!("ADD CONSTRAINT {} {def}", my_quote(name)))
}

fn drop_check(t: &str, name: &str) -> String {
    alter(t, &format!("DROP CONSTRAINT {}", my_quote(name)))
}

/// The table's engine, default collation and comment. A new collation converts the stored
/// text (`CONVERT TO`), which also widens a `TEXT` column for a wider character set: each
/// text column is then given its declared type again.
fn table_options(d: &TableDiff, s: &mut Steps) {
    let t = &d.to.name;
    let (from, to) = (&d.from.options, &d.to.options);
    if let (Some(now), Some(want)) = (from.get("ENGINE"), to.get("ENGINE"))
        && now != want
    {
        s.push(alter(t, &format!("ENGINE={want}")), alter(t, &format!("ENGINE={now}")));
    }
    if let (Some(now), Some(want)) = (from.get("COLLATE"), to.get("COLLATE"))
        && now != want
    {
        s.warnings
            .push(format!("table `{t}` converts its text from {now} to {want}: characters {want} lacks are lost"));
        s.push(convert(t, &d.to, want), convert(t, &d.from, now));
    }
    if d.from.comment != d.to.comment {
        let comment = |c: &Option<String>| alter(t, &format!("COMMENT={}", literal(c.as_deref().unwrap_or_default())));
        s.push(comment(&d.to.comment), comment(&d.from.comment));
    }
}

/// `CONVERT TO` the character set of `collation` (its name's first part), then each of
/// `table`'s text columns as declared, which the conversion may have widened.
fn convert(t: &str, table: &Table, collation: &str) -> String {
    let charset = collation.split('_').next().unwrap_or(collation);
    let mut out = vec![alter(t, &format!("CONVERT TO CHARACTER SET {charset} COLLATE {collation}"))];
    for c in table
        .columns
        .iter()
        .filter(|c| type_part(&c.decl_type).split(['(', ' ']).next().is_some_and(|b| b.ends_with("text")))
    {
        out.push(alter(t, &format!("MODIFY COLUMN {}", column_def(c))));
    }
    out.join("\n")
}

/// Kept indexes that a re-added foreign key is to use. The server flags an index it made for a
/// foreign key, and replaces it with one named after the next foreign key it serves; made
/// again by hand before that foreign key is added, the index keeps its name.
fn reused_indexes<'a>(d: &'a TableDiff, retyped: &Retyped) -> Vec<&'a Index> {
    let (gone, added) = foreign_key_changes(d, retyped);
    let kept: Vec<&ForeignKey> = d.from.foreign_keys.iter().filter(|fk| !gone.contains(fk)).collect();
    d.from
        .indexes
        .values()
        .filter(|i| !d.dropped_indexes.iter().any(|x| x.name == i.name))
        .filter(|i| added.iter().any(|fk| fk.columns == i.columns))
        .filter(|i| !kept.iter().any(|fk| i.columns.starts_with(&fk.columns)))
        .collect()
}

fn created_keys(d: &TableDiff, retyped: &Retyped, s: &mut Steps) {
    let t = &d.to.name;
    for i in &d.created_indexes {
        s.push(create_index(i), drop_index(t, i));
    }
    for i in reused_indexes(d, retyped) {
        let why = "-- Made again as a declared index, so that the foreign key below uses it.";
        s.push(format!("{why}\n{}", create_index(i)), drop_index(t, i));
    }
    for fk in foreign_key_changes(d, retyped).1 {
        s.push(add_foreign_key(&d.to, fk), drop_foreign_key(&d.to, fk));
    }
    for (name, def) in checks_in_order(&d.to, &d.from) {
        s.push(add_check(t, name, def), drop_check(t, name));
    }
}

fn create_index(i: &Index) -> String {
    match &i.sql {
        Some(sql) => format!("{sql};"),
        None => {
            let cols: Vec<String> = i.columns.iter().map(|c| my_quote(c)).collect();
            let unique = if i.unique { "UNIQUE " } else { "" };
            format!("CREATE {unique}INDEX {} ON {} ({});", my_quote(&i.name), my_quote(&i.table), cols.join(", "))
        }
    }
}

fn drop_index(table: &str, i: &Index) -> String {
    format!("DROP INDEX {} ON {};", my_quote(&i.name), my_quote(table))
}

fn add_foreign_key(t: &Table, fk: &ForeignKey) -> String {
    alter(&t.name, &format!("ADD {}", foreign_key_clause(t, fk)))
}

fn drop_foreign_key(t: &Table, fk: &ForeignKey) -> String {
    alter(&t.name, &format!("DROP FOREIGN KEY {}", my_quote(&foreign_key_name(t, fk))))
}

fn foreign_key_clause(t: &Table, fk: &ForeignKey) -> String {
    let list = |cols: &[String]| cols.iter().map(|c| my_quote(c)).collect::<Vec<_>>().join(", ");
    let mut out = format!(
        "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
        my_quote(&foreign_key_name(t, fk)),
        list(&fk.columns),
        my_quote(&fk.ref_table),
        list(&fk.ref_columns)
    );
    for (when, action) in [("DELETE", &fk.on_delete), ("UPDATE", &fk.on_update)] {
        if !action.is_empty() {
            out.push_str(&format!(" ON {when} {action}"));
        }
    }
    out
}

/// The name `t`'s `SHOW CREATE TABLE` text gives `fk` (the model keeps none), else one made
/// from the table and columns.
fn foreign_key_name(t: &Table, fk: &ForeignKey) -> String {
    let sql = t.sql.as_deref().unwrap_or_default();
    for line in sql.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("CONSTRAINT ") else { continue };
        let Some((head, refs)) = rest.split_once(" REFERENCES ") else { continue };
        let Some((name, cols)) = head.split_once(" FOREIGN KEY ") else { continue };
        let (table, ref_cols) = refs.split_once('(').unwrap_or((refs, ""));
        let ref_cols = ref_cols.split_once(')').map_or("", |(c, _)| c);
        let same = identifiers(cols) == fk.columns
            && identifiers(table).last() == Some(&fk.ref_table)
            && identifiers(ref_cols) == fk.ref_columns;
        if same && let Some(name) = identifiers(name).pop() {
            return name;
        }
    }
    let name = format!("fk_{}_{}", t.name, fk.columns.join("_"));
    name.chars().take(64).collect()
}

/// The backquoted identifiers in `text`, unquoted.
fn identifiers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '`' {
            continue;
        }
        let mut name = String::new();
        while let Some(c) = chars.next() {
            if c == '`' {
                if chars.peek() == Some(&'`') {
                    chars.next();
                } else {
                    break;
                }
            }
            name.push(c);
        }
        out.push(name);
    }
    out
}

/// New tables, parents first, each from its own `SHOW CREATE TABLE` text; a foreign key to a
/// table not there yet (a cycle) is left out and returned, to be added once all exist.
fn created_tables(diff: &Difference, s: &mut Steps) -> Vec<(Table, ForeignKey)> {
    let mut exist: BTreeSet<&str> = diff.altered.iter().map(|d| d.to.name.as_str()).collect();
    exist.extend(diff.renamed_tables.iter().map(|(_, n)| n.as_str()));
    let mut deferred = Vec::new();
    for t in &diff.created {
        exist.insert(&t.name);
        let mut later: Vec<ForeignKey> = Vec::new();
        for fk in &t.foreign_keys {
            let known = exist.contains(fk.ref_table.as_str()) || !diff.created.iter().any(|c| c.name == fk.ref_table);
            if !known {
                later.push(fk.clone());
            }
        }
        let sql = create_table(t, &later);
        s.push(sql, format!("DROP TABLE {};", my_quote(&t.name)));
        deferred.extend(later.into_iter().map(|fk| (t.clone(), fk)));
    }
    deferred
}

/// `t`'s `CREATE TABLE`, without the foreign keys in `without`.
fn create_table(t: &Table, without: &[ForeignKey]) -> String {
    let Some(sql) = &t.sql else { return format!("{};", table_from_model(t, without)) };
    let names: Vec<String> = without.iter().map(|fk| foreign_key_name(t, fk)).collect();
    let skipped = |line: &str| {
        let line = line.trim();
        line.starts_with("CONSTRAINT ") && identifiers(line).first().is_some_and(|n| names.contains(n))
    };
    let lines: Vec<&str> = sql.lines().collect();
    let (Some(first), Some(last)) = (lines.first(), lines.last()) else { return format!("{sql};") };
    let body: Vec<&str> = lines[1..lines.len().saturating_sub(1)]
        .iter()
        .filter(|l| !skipped(l))
        .map(|l| l.trim_end().trim_end_matches(','))
        .collect();
    format!("{first}\n{}\n{last};", body.join(",\n"))
}

/// A `CREATE TABLE` from the model alone, for a table whose text the catalog did not give.
fn table_from_model(t: &Table, without: &[ForeignKey]) -> String {
    let mut parts: Vec<String> = t.columns.iter().map(column_def).collect();
    if !t.primary_key.is_empty() {
        let cols: Vec<String> = t.primary_key.iter().map(|c| my_quote(c)).collect();
        parts.push(format!("PRIMARY KEY ({})", cols.join(", ")));
    }
    for i in t.indexes.values() {
        let cols: Vec<String> = i.columns.iter().map(|c| my_quote(c)).collect();
        let kind = if i.unique { "UNIQUE KEY" } else { "KEY" };
        parts.push(format!("{kind} {} ({})", my_quote(&i.name), cols.join(", ")));
    }
    parts.extend(t.foreign_keys.iter().filter(|fk| !without.contains(fk)).map(|fk| foreign_key_clause(t, fk)));
    format!("CREATE TABLE {} (\n  {}\n)", my_quote(&t.name), parts.join(",\n  "))
}

fn added_columns(d: &TableDiff, s: &mut Steps) {
    let t = &d.to.name;
    for c in &d.added {
        let at = position(&d.to, &c.name);
        let down = alter(t, &format!("DROP COLUMN {}", my_quote(&c.name)));
        if c.not_null && c.default.is_none() && !c.primary_key {
            let nullable = Column { not_null: false, ..c.clone() };
            let up = [
                "-- A NOT NULL column without a default: added nullable, filled, then made NOT NULL.".to_owned(),
                alter(t, &format!("ADD COLUMN {}{at}", column_def(&nullable))),
                format!("-- dbmigrate:todo replace the placeholder with each row's value of `{}`", c.name),
                format!("UPDATE {} SET {} = {};", my_quote(t), my_quote(&c.name), placeholder(&c.decl_type)),
                alter(t, &format!("MODIFY COLUMN {}", column_def(c))),
            ];
            s.push(up.join("\n"), down);
        } else {
            s.push(alter(t, &format!("ADD COLUMN {}{at}", column_def(c))), down);
        }
    }
}

/// A value of `decl_type` for a backfill, for a person to replace.
fn placeholder(decl_type: &str) -> String {
    let ty = decl_type.to_ascii_lowercase();
    let base = ty.split(['(', ' ']).next().unwrap_or_default();
    if base == "enum" {
        return enum_values(&ty).into_iter().next().unwrap_or_else(|| "''".into());
    }
    let value = match base {
        b if b.ends_with("int") || ["decimal", "numeric", "float", "double", "real", "bit", "year"].contains(&b) => "0",
        "date" => "'1970-01-01'",
        "datetime" | "timestamp" => "'1970-01-01 00:00:00'",
        "time" => "'00:00:00'",
        "json" => "'{}'",
        _ => "''",
    };
    value.to_owned()
}

/// The quoted values of an `enum(…)` or `set(…)` type.
fn enum_values(ty: &str) -> Vec<String> {
    let inner = ty.split_once('(').and_then(|(_, r)| r.rsplit_once(')')).map_or("", |(i, _)| i);
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if quoted && chars.peek() == Some(&'\'') => {
                current.push_str("''");
                chars.next();
            }
            '\'' => {
                current.push('\'');
                quoted = !quoted;
            }
            ',' if !quoted => out.push(std::mem::take(&mut current).trim().to_owned()),
            c => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_owned());
    }
    out
}

fn changed_columns(d: &TableDiff, s: &mut Steps) {
    let t = &d.to.name;
    for (now, want) in &d.changed {
        // The primary key flag alone is the key's change, made by `primary_key`.
        if (Column { primary_key: want.primary_key, ..now.clone() }).same_as(want) {
            continue;
        }
        let mut up = Vec::new();
        if let Some(why) = narrowing(&now.decl_type, &want.decl_type) {
            s.warnings.push(format!("column `{t}.{}`: {why}", want.name));
            up.push(format!("-- warning: narrowing `{t}.{}`: {why}", want.name));
        }
        if want.not_null && !now.not_null {
            let (value, todo) = match &want.default {
                Some(d) => (d.clone(), None),
                None => (
                    placeholder(&want.decl_type),
                    Some(format!(
                        "-- dbmigrate:todo replace the placeholder with the value of `{}` for rows where it is null",
                        want.name
                    )),
                ),
            };
            up.extend(todo);
            up.push(format!(
                "UPDATE {} SET {} = {value} WHERE {} IS NULL;",
                my_quote(t),
                my_quote(&want.name),
                my_quote(&want.name)
            ));
        }
        up.push(alter(t, &format!("MODIFY COLUMN {}", column_def(want))));
        let mut down = Vec::new();
        if let Some(why) = narrowing(&want.decl_type, &now.decl_type) {
            down.push(format!("-- warning: narrowing `{t}.{}`: {why}", now.name));
        }
        down.push(alter(t, &format!("MODIFY COLUMN {}", column_def(now))));
        s.push(up.join("\n"), down.join("\n"));
    }
}

fn primary_key(d: &TableDiff, s: &mut Steps) {
    if d.from.primary_key == d.to.primary_key {
        return;
    }
    let t = &d.to.name;
    let key = |cols: &[String]| {
        let mut parts = Vec::new();
        if !cols.is_empty() {
            parts
                .push(format!("ADD PRIMARY KEY ({})", cols.iter().map(|c| my_quote(c)).collect::<Vec<_>>().join(", ")));
        }
        parts
    };
    let change = |from: &[String], to: &[String]| {
        let mut parts = if from.is_empty() { Vec::new() } else { vec!["DROP PRIMARY KEY".to_owned()] };
        parts.extend(key(to));
        alter(t, &parts.join(", "))
    };
    s.push(change(&d.from.primary_key, &d.to.primary_key), change(&d.to.primary_key, &d.from.primary_key));
}

/// Removed tables, children first. A foreign key to a table dropped before its own (a cycle)
/// is dropped first, and the down adds it back once both tables exist again.
fn dropped_tables(diff: &Difference, s: &mut Steps) {
    let at = |name: &str| diff.dropped.iter().position(|t| t.name == name);
    let cyclic = |i: usize, t: &Table| -> Vec<ForeignKey> {
        let earlier = |fk: &&ForeignKey| fk.ref_table != t.name && at(&fk.ref_table).is_some_and(|j| j < i);
        t.foreign_keys.iter().filter(earlier).cloned().collect()
    };
    for (i, t) in diff.dropped.iter().enumerate() {
        for fk in cyclic(i, t) {
            s.push(drop_foreign_key(t, &fk), add_foreign_key(t, &fk));
        }
    }
    for (i, t) in diff.dropped.iter().enumerate() {
        s.warnings.push(format!("dropping table `{}` loses its rows", t.name));
        let up = format!(
            "-- dbmigrate:destructive table `{}` is not in the desired schema: dropping it deletes its rows\nDROP TABLE {};",
            t.name,
            my_quote(&t.name)
        );
        let create = create_table(t, &cyclic(i, t));
        let down = format!("-- Recreates the structure of `{}`; its rows are not restored.\n{create}", t.name);
        s.push(up, down);
    }
}

/// Removed columns, last first: the down adds them back first first, each after the column
/// before it.
fn dropped_columns(d: &TableDiff, s: &mut Steps) {
    let t = &d.to.name;
    for c in d.dropped.iter().rev() {
        s.warnings.push(format!("dropping column `{t}.{}` loses its data", c.name));
        let up = format!(
            "-- dbmigrate:destructive column `{t}.{}` is not in the desired schema: dropping it deletes its values\n{}",
            c.name,
            alter(t, &format!("DROP COLUMN {}", my_quote(&c.name)))
        );
        let down = format!(
            "-- Recreates the column; its values are not restored.\n{}",
            alter(t, &format!("ADD COLUMN {}{}", column_def(c), position(&d.from, &c.name)))
        );
        s.push(up, down);
    }
}

/// Why changing a column's type from `old` to `new` may fail on existing rows or cut values,
/// or `None` when `new` holds every value of `old`.
fn narrowing(old: &str, new: &str) -> Option<String> {
    let (a, b) = (TypeShape::of(old), TypeShape::of(new));
    if a == b || b.holds(&a) {
        return None;
    }
    Some(format!("`{}` to `{}` may fail on existing rows or cut their values", a.text, b.text))
}

/// The part of a column type that decides which values fit.
#[derive(Debug, PartialEq, Eq)]
struct TypeShape {
    base: String,
    args: Vec<String>,
    unsigned: bool,
    text: String,
}

impl TypeShape {
    fn of(decl: &str) -> TypeShape {
        let lower = decl.to_ascii_lowercase();
        let mut depth = 0;
        let mut quoted = false;
        let end = lower
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '\'' => quoted = !quoted,
                    '(' if !quoted => depth += 1,
                    ')' if !quoted => depth -= 1,
                    _ => {}
                }
                c == ' ' && depth == 0 && !quoted
            })
            .map_or(lower.len(), |(i, _)| i);
        let head = &lower[..end];
        let base = head.split('(').next().unwrap_or_default().to_owned();
        let args = if matches!(base.as_str(), "enum" | "set") {
            enum_values(head)
        } else {
            head.split_once('(')
                .map_or("", |(_, r)| r.trim_end_matches(')'))
                .split(',')
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty())
                .collect()
        };
        let unsigned = lower[end..].split_whitespace().next() == Some("unsigned");
        let text = if unsigned { format!("{head} unsigned") } else { head.to_owned() };
        TypeShape { base, args, unsigned, text }
    }

    /// Whether every value of `old` fits in this type.
    fn holds(&self, old: &TypeShape) -> bool {
        let num = |v: &[String], i: usize| v.get(i).and_then(|a| a.parse::<u64>().ok()).unwrap_or(0);
        let rank = |b: &str, family: &[&str]| family.iter().position(|f| *f == b);
        let ints = ["tinyint", "smallint", "mediumint", "int", "integer", "bigint"];
        let texts = ["tinytext", "text", "mediumtext", "longtext"];
        let blobs = ["tinyblob", "blob", "mediumblob", "longblob"];
        if let (Some(o), Some(n)) = (rank(&old.base, &ints), rank(&self.base, &ints)) {
            // `int` and `integer` are one type.
            let size = |r: usize| if r >= 4 { r - 1 } else { r };
            return size(n) >= size(o) && self.unsigned == old.unsigned;
        }
        for family in [&texts, &blobs] {
            if let (Some(o), Some(n)) = (rank(&old.base, family), rank(&self.base, family)) {
                return n >= o;
            }
        }
        let chars = ["char", "varchar"];
        let bins = ["binary", "varbinary"];
        match (old.base.as_str(), self.base.as_str()) {
            (o, n) if chars.contains(&o) && chars.contains(&n) || bins.contains(&o) && bins.contains(&n) => {
                num(&self.args, 0) >= num(&old.args, 0)
            }
            (o, n) if chars.contains(&o) && texts.contains(&n) => true,
            ("decimal" | "numeric", "decimal" | "numeric") => {
                let (op, os, np, ns) = (num(&old.args, 0), num(&old.args, 1), num(&self.args, 0), num(&self.args, 1));
                ns >= os && np - ns.min(np) >= op - os.min(op) && self.unsigned == old.unsigned
            }
            ("float", "double") => true,
            ("enum", "enum") | ("set", "set") => old.args.iter().all(|v| self.args.contains(v)),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_is_quiet_and_narrowing_warns() {
        assert_eq!(narrowing("varchar(20)", "varchar(40)"), None);
        assert_eq!(narrowing("int(11)", "bigint(20)"), None);
        assert_eq!(narrowing("int(11)", "int(10)"), None);
        assert_eq!(narrowing("enum('a','b')", "enum('a','b','c')"), None);
        assert_eq!(narrowing("decimal(10,2)", "decimal(12,2)"), None);
        assert_eq!(narrowing("text", "mediumtext"), None);
        assert!(narrowing("varchar(40)", "varchar(20)").is_some_and(|w| w.contains("`varchar(40)` to `varchar(20)`")));
        assert!(narrowing("bigint(20)", "int(11)").is_some());
        assert!(narrowing("int(11)", "int(10) unsigned").is_some());
        assert!(narrowing("enum('a','b')", "enum('a')").is_some());
        assert!(narrowing("decimal(10,2)", "decimal(10,1)").is_some());
        assert!(narrowing("text", "varchar(10)").is_some());
        assert!(narrowing("varchar(10)", "int(11)").is_some());
    }

    #[test]
    fn a_foreign_key_is_named_as_its_table_text_names_it() {
        let sql = "CREATE TABLE `c` (\n  `p` int(11) DEFAULT NULL,\n  KEY `p` (`p`),\n  CONSTRAINT `c_ibfk_1` FOREIGN KEY (`p`) REFERENCES `par``ent` (`id`) ON DELETE CASCADE\n) ENGINE=InnoDB";
        let t = Table { name: "c".into(), sql: Some(sql.into()), ..Table::default() };
        let fk = ForeignKey {
            columns: vec!["p".into()],
            ref_table: "par`ent".into(),
            ref_columns: vec!["id".into()],
            ..ForeignKey::default()
        };
        assert_eq!(foreign_key_name(&t, &fk), "c_ibfk_1");
        let other = ForeignKey { ref_columns: vec!["key".into()], ..fk.clone() };
        assert_eq!(foreign_key_name(&t, &other), "fk_c_p");
        assert_eq!(
            create_table(&t, &[fk]),
            "CREATE TABLE `c` (\n  `p` int(11) DEFAULT NULL,\n  KEY `p` (`p`)\n) ENGINE=InnoDB;"
        );
    }

    #[test]
    fn nullability_and_default_come_before_the_attributes() {
        let c = Column {
            name: "c".into(),
            decl_type: "enum('a COMMENT x','b') COMMENT 'it''s'".into(),
            not_null: true,
            default: Some("'b'".into()),
            ..Column::default()
        };
        assert_eq!(column_def(&c), "`c` enum('a COMMENT x','b') NOT NULL DEFAULT 'b' COMMENT 'it''s'");
        let ts = Column { decl_type: "timestamp ON UPDATE current_timestamp()".into(), ..c };
        assert_eq!(column_def(&ts), "`c` timestamp NOT NULL DEFAULT 'b' ON UPDATE current_timestamp()");
    }

    #[test]
    fn a_dump_creates_parents_first_and_closes_a_cycle_after() {
        let col = |n: &str| Column { name: n.into(), decl_type: "int".into(), ..Column::default() };
        let fk = |to: &str| ForeignKey {
            columns: vec![format!("{to}_id")],
            ref_table: to.into(),
            ref_columns: vec!["id".into()],
            on_update: "RESTRICT".into(),
            on_delete: "CASCADE".into(),
            ..ForeignKey::default()
        };
        let table = |name: &str, to: &str| Table {
            name: name.into(),
            columns: vec![col("id"), col(&format!("{to}_id"))],
            primary_key: vec!["id".into()],
            foreign_keys: [fk(to)].into(),
            ..Table::default()
        };
        let mut schema = Schema::default();
        for t in [table("a", "b"), table("b", "a")] {
            schema.tables.insert(t.name.clone(), t);
        }
        schema.not_compared.insert("view v".into());
        let dump = dump_mysql(&schema);
        assert!(
            dump.starts_with("-- Not compared, so not dumped: view v.\n\nCREATE TABLE `a` (\n  `id` int NULL,"),
            "{dump}"
        );
        assert!(dump.ends_with(
            "ALTER TABLE `a` ADD CONSTRAINT `fk_a_b_id` FOREIGN KEY (`b_id`) REFERENCES `b` (`id`) ON DELETE CASCADE ON UPDATE RESTRICT;\n"
        ), "{dump}");
    }

    #[test]
    fn placeholders_fit_the_type() {
        assert_eq!(placeholder("int(10) unsigned"), "0");
        assert_eq!(placeholder("varchar(20) COLLATE utf8mb4_bin"), "''");
        assert_eq!(placeholder("enum('x','y')"), "'x'");
        assert_eq!(placeholder("datetime"), "'1970-01-01 00:00:00'");
    }
}
