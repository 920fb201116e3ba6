//! PostgreSQL's SQL for a [`Difference`]: schemas and enum types first, tables in foreign-key
//! order, `ALTER TABLE` for every column and constraint change, indexes last; each step with
//! its inverse for the down file.

use super::diff::{Difference, TableDiff};
use super::model::{Column, ForeignKey, Table, quote, quote_qualified as qq};
use super::steps::{Migration, Steps, destructive, join};
use std::collections::BTreeSet;

/// The first line of a file the engine must run outside a transaction.
const NO_TRANSACTION: &str = dbmigrate_core::sql::NO_TRANSACTION_MARKER;

/// The PostgreSQL migration that applies `diff`.
pub fn render_pg(diff: &Difference) -> Migration {
    let mut s = Steps::default();
    for name in &diff.created_schemas {
        s.push(format!("CREATE SCHEMA {};", quote(name)), format!("DROP SCHEMA {};", quote(name)));
    }
    for (name, labels) in &diff.created_enums {
        s.push(create_enum(name, labels), format!("DROP TYPE {};", qq(name)));
    }
    let mut no_transaction = false;
    for (name, now, want) in &diff.changed_enums {
        no_transaction |= changed_enum(&mut s, diff, name, now, want);
    }
    s.table_renames(diff, rename_table);
    diff.altered.iter().for_each(|d| renames_and_drops(&mut s, d));
    created_tables(&mut s, diff);
    let rebuilt = rebuilt_columns(diff);
    diff.altered.iter().for_each(|d| columns(&mut s, d, &rebuilt));
    diff.altered.iter().for_each(|d| added_constraints(&mut s, d));
    diff.altered.iter().for_each(|d| dropped_columns(&mut s, d));
    dropped_tables(&mut s, diff);
    for (name, labels) in &diff.dropped_enums {
        s.push(format!("DROP TYPE {};", qq(name)), create_enum(name, labels));
    }
    for name in &diff.dropped_schemas {
        s.push(format!("DROP SCHEMA {};", quote(name)), format!("CREATE SCHEMA {};", quote(name)));
    }
    diff.altered.iter().for_each(|d| created_indexes(&mut s, d));
    finish(s, no_transaction)
}

/// The up and down texts; `ALTER TYPE … ADD VALUE` cannot be used in the transaction that adds
/// it, so such a file runs outside one.
fn finish(s: Steps, no_transaction: bool) -> Migration {
    let mut up = join(s.ups());
    let mut down = join(s.downs());
    if no_transaction {
        up = format!("{NO_TRANSACTION}\n{up}");
        down = format!("{NO_TRANSACTION}\n{down}");
    }
    Migration { up: up + "\n", down: down + "\n", warnings: s.warnings }
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn create_enum(name: &str, labels: &[String]) -> String {
    let labels: Vec<String> = labels.iter().map(|l| literal(l)).collect();
    format!("CREATE TYPE {} AS ENUM ({});", qq(name), labels.join(", "))
}

/// New labels by `ALTER TYPE … ADD VALUE` (in place, `BEFORE` the label they precede); the
/// down recreates the type without them, since PostgreSQL cannot remove a label. A removed or
/// reordered label rebuilds the type (a removal behind a guard that stops on rows holding it).
/// Whether it added labels in place (the file then runs outside a transaction).
fn changed_enum(s: &mut Steps, diff: &Difference, name: &str, now: &[String], want: &[String]) -> bool {
    let removed: Vec<&String> = now.iter().filter(|l| !want.contains(l)).collect();
    if rebuilds(now, want) {
        let mut up = Vec::new();
        if !removed.is_empty() {
            let list = removed.iter().map(|l| literal(l)).collect::<Vec<_>>().join(", ");
            s.warnings
                .push(format!("enum type `{name}` loses the labels {list}: rows holding them stop the migration"));
            up.push(destructive(&format!("enum type {name} loses the labels {list}")));
            up.extend(enum_guards(diff, name, &list));
        }
        up.push(rebuild_enum(diff, name, want, false));
        s.push(up.join("\n"), rebuild_enum(diff, name, now, true));
        return false;
    }
    let mut up = Vec::new();
    for (i, label) in want.iter().enumerate().filter(|(_, l)| !now.contains(l)) {
        let place = match want[i + 1..].iter().find(|l| now.contains(l)) {
            Some(next) => format!(" BEFORE {}", literal(next)),
            None => String::new(),
        };
        up.push(format!("ALTER TYPE {} ADD VALUE {}{place};", qq(name), literal(label)));
    }
    s.push(up.join("\n"), rebuild_enum(diff, name, now, true));
    true
}

/// Whether going from labels `now` to `want` removes or reorders one (which takes a rebuild).
fn rebuilds(now: &[String], want: &[String]) -> bool {
    let kept: Vec<&String> = want.iter().filter(|l| now.contains(l)).collect();
    now.iter().any(|l| !want.contains(l)) || kept.iter().copied().ne(now.iter())
}

/// One check per column of the type: a row holding a label in `list` (SQL literals) stops the
/// migration, naming the column, before anything changed.
fn enum_guards(diff: &Difference, name: &str, list: &str) -> Vec<String> {
    let columns = diff.enum_columns.get(name).into_iter().flatten();
    columns
        .map(|(table, c)| {
            let why = format!(
                "column {table}.{} holds labels that enum type {name} loses ({list}): change those rows first",
                c.name
            );
            format!(
                "DO $dbmigrate$ BEGIN IF EXISTS (SELECT 1 FROM {} WHERE {}::text IN ({list})) THEN \
                 RAISE EXCEPTION USING MESSAGE = {}; END IF; END $dbmigrate$;",
                qq(table),
                quote(&c.name),
                literal(&why)
            )
        })
        .collect()
}

/// The enum columns whose type a step rebuilds, as (table, column): their defaults move with
/// the rebuild, not in a step of their own (a default may name a label only one side has).
fn rebuilt_columns(diff: &Difference) -> BTreeSet<(String, String)> {
    let names = diff.changed_enums.iter().filter(|(_, now, want)| rebuilds(now, want)).map(|(n, _, _)| n);
    let columns = names.into_iter().flat_map(|n| diff.enum_columns.get(n).into_iter().flatten());
    columns.map(|(t, c)| (t.clone(), c.name.clone())).collect()
}

/// The type `name` made again with `labels`: renamed aside, created, each column that uses it
/// converted through text (its default set aside meanwhile and set to the one of the side the
/// step goes to: the current schema's when `back`), the old one dropped.
fn rebuild_enum(diff: &Difference, name: &str, labels: &[String], back: bool) -> String {
    let bare = name.rsplit('.').next().unwrap_or(name);
    let aside = format!("{bare}_dbmigrate_old");
    let mut out = vec![
        "-- PostgreSQL cannot remove or reorder enum labels: the type is made again.".to_owned(),
        format!("ALTER TYPE {} RENAME TO {};", qq(name), quote(&aside)),
        create_enum(name, labels),
    ];
    for (table, c) in diff.enum_columns.get(name).into_iter().flatten() {
        let alter = format!("ALTER TABLE {} ALTER COLUMN {}", qq(table), quote(&c.name));
        let current = diff
            .altered
            .iter()
            .filter(|d| d.to.name == *table)
            .flat_map(|d| d.changed.iter().filter(|(_, w)| w.name == c.name))
            .map(|(now, _)| now.default.clone())
            .next()
            .unwrap_or_else(|| c.default.clone());
        let (before, after) = if back { (&c.default, &current) } else { (&current, &c.default) };
        if before.is_some() || after.is_some() {
            out.push(format!("{alter} DROP DEFAULT;"));
        }
        out.push(format!("{alter} TYPE {} USING {}::text::{};", qq(name), quote(&c.name), qq(name)));
        if let Some(d) = after {
            out.push(format!("{alter} SET DEFAULT {d};"));
        }
    }
    let schema = name.split_once('.').map(|(s, _)| format!("{}.", quote(s))).unwrap_or_default();
    out.push(format!("DROP TYPE {schema}{};", quote(&aside)));
    out.join("\n")
}

fn rename_table(from: &str, to: &str) -> String {
    let bare = to.rsplit_once('.').map_or(to, |(_, n)| n);
    format!("ALTER TABLE {} RENAME TO {};", qq(from), quote(bare))
}

/// `CREATE TABLE` with its keys (but `later`, added by their own step) and checks, then its
/// indexes and comments.
fn create_table(t: &Table, later: &[&ForeignKey]) -> String {
    let mut lines: Vec<String> = t.columns.iter().map(column_def).collect();
    if !t.primary_key.is_empty() {
        lines.push(format!("PRIMARY KEY ({})", names(&t.primary_key)));
    }
    lines.extend(t.uniques.iter().map(|u| format!("UNIQUE ({})", names(u))));
    lines.extend(t.foreign_keys.iter().filter(|fk| !later.contains(fk)).map(fk_def));
    lines.extend(t.checks.iter().cloned());
    let mut out = vec![format!("CREATE TABLE {} (\n    {}\n);", qq(&t.name), lines.join(",\n    "))];
    out.extend(t.indexes.values().map(|i| format!("{};", i.sql.as_deref().unwrap_or_default())));
    if let Some(c) = &t.comment {
        out.push(format!("COMMENT ON TABLE {} IS {};", qq(&t.name), literal(c)));
    }
    for c in &t.columns {
        if let Some(text) = &c.comment {
            out.push(column_comment(t, &c.name, Some(text)));
        }
    }
    out.join("\n")
}

fn column_comment(t: &Table, column: &str, text: Option<&String>) -> String {
    let value = text.map_or("NULL".to_owned(), |t| literal(t));
    format!("COMMENT ON COLUMN {}.{} IS {value};", qq(&t.name), quote(column))
}

fn names(cols: &[String]) -> String {
    cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
}

fn fk_def(f: &ForeignKey) -> String {
    let mut def =
        format!("FOREIGN KEY ({}) REFERENCES {} ({})", names(&f.columns), qq(&f.ref_table), names(&f.ref_columns));
    if f.match_full {
        def.push_str(" MATCH FULL");
    }
    for (what, action) in [("UPDATE", &f.on_update), ("DELETE", &f.on_delete)] {
        if !action.is_empty() && action != "NO ACTION" {
            def.push_str(&format!(" ON {what} {action}"));
        }
    }
    if !f.deferrable.is_empty() {
        def.push(' ');
        def.push_str(&f.deferrable);
    }
    def
}

/// The name of `t`'s foreign key `fk`: the catalog's, else the one PostgreSQL gives an unnamed
/// key (`table_col_fkey`), so a down can drop what its up added.
fn fk_name(t: &Table, fk: &ForeignKey) -> String {
    let bare = t.name.rsplit('.').next().unwrap_or(&t.name);
    let made = || format!("{bare}_{}_fkey", fk.columns.join("_")).chars().take(63).collect();
    t.foreign_key_names.get(fk).cloned().unwrap_or_else(made)
}

fn add_fk(t: &Table, fk: &ForeignKey) -> String {
    format!("ALTER TABLE {} ADD CONSTRAINT {} {};", qq(&t.name), quote(&fk_name(t, fk)), fk_def(fk))
}

fn drop_fk(t: &Table, fk: &ForeignKey) -> String {
    format!("ALTER TABLE {} DROP CONSTRAINT {};", qq(&t.name), quote(&fk_name(t, fk)))
}

/// New tables, parents first; a foreign key to a new table not made yet (a cycle) is left out
/// of its `CREATE TABLE` and added once every table exists, so the down drops it first.
fn created_tables(s: &mut Steps, diff: &Difference) {
    let mut made: BTreeSet<&str> = BTreeSet::new();
    let mut later: Vec<(&Table, &ForeignKey)> = Vec::new();
    for t in &diff.created {
        made.insert(&t.name);
        let pending = |fk: &&ForeignKey| {
            !made.contains(fk.ref_table.as_str()) && diff.created.iter().any(|c| c.name == fk.ref_table)
        };
        let deferred: Vec<&ForeignKey> = t.foreign_keys.iter().filter(pending).collect();
        s.push(create_table(t, &deferred), format!("DROP TABLE {};", qq(&t.name)));
        later.extend(deferred.into_iter().map(|fk| (t, fk)));
    }
    for (t, fk) in later {
        s.push(add_fk(t, fk), drop_fk(t, fk));
    }
}

/// The keys of `diff.dropped[i]` to tables dropped before it: in a cycle, dropped before any
/// table goes, and added back by the down once both exist again.
fn cyclic_keys(diff: &Difference, i: usize) -> Vec<&ForeignKey> {
    let t = &diff.dropped[i];
    let at = |name: &str| diff.dropped.iter().position(|d| d.name == name);
    let earlier = |fk: &&ForeignKey| fk.ref_table != t.name && at(&fk.ref_table).is_some_and(|j| j < i);
    t.foreign_keys.iter().filter(earlier).collect()
}

/// Removed tables, children first, the keys that close a cycle before them.
fn dropped_tables(s: &mut Steps, diff: &Difference) {
    for (i, t) in diff.dropped.iter().enumerate() {
        for fk in cyclic_keys(diff, i) {
            s.push(drop_fk(t, fk), add_fk(t, fk));
        }
    }
    for (i, t) in diff.dropped.iter().enumerate() {
        s.warnings.push(format!("dropping table `{}` loses its rows", t.name));
        let up =
            format!("{}\nDROP TABLE {};", destructive(&format!("drops table {} and its rows", t.name)), qq(&t.name));
        let down = format!(
            "-- Recreates the structure of `{}`; its rows are not restored.\n{}",
            t.name,
            create_table(t, &cyclic_keys(diff, i))
        );
        s.push(up, down);
    }
}

fn column_def(c: &Column) -> String {
    let mut def = format!("{} {}", quote(&c.name), c.decl_type);
    if let Some(expr) = &c.generated {
        def.push_str(&format!(" GENERATED ALWAYS AS ({expr}) STORED"));
    }
    if let Some(how) = &c.identity {
        def.push_str(&format!(" GENERATED {how} AS IDENTITY"));
    }
    if let Some(d) = &c.default {
        def.push_str(&format!(" DEFAULT {d}"));
    }
    if c.not_null && c.identity.is_none() && !c.primary_key {
        def.push_str(" NOT NULL");
    }
    def
}

fn alter(d: &TableDiff) -> String {
    format!("ALTER TABLE {}", qq(&d.to.name))
}

/// Column renames, likely renames, and the constraints and indexes that go or change (before
/// the columns they name change).
fn renames_and_drops(s: &mut Steps, d: &TableDiff) {
    let t = &d.to.name;
    for (old, new) in &d.renamed_columns {
        let sql = |a: &str, b: &str| format!("{} RENAME COLUMN {} TO {};", alter(d), quote(a), quote(b));
        s.push(sql(old, new), sql(new, old));
    }
    for (gone, new) in &d.likely_renames {
        s.warnings.push(format!(
            "column `{t}.{gone}` is dropped and `{t}.{new}` added with the same type: a rename? pass `--rename {t}.{gone}={new}`"
        ));
        s.push(format!("-- likely a rename: {} RENAME COLUMN {} TO {};", alter(d), quote(gone), quote(new)), "");
    }
    let (from, to) = (&d.from, &d.to);
    for fk in from.foreign_keys.difference(&to.foreign_keys) {
        let name = from.foreign_key_names.get(fk).cloned().unwrap_or_default();
        drop_constraint(s, d, &name, &fk_def(fk));
    }
    for def in from.checks.difference(&to.checks) {
        drop_constraint(s, d, from.check_names.get(def).map_or("", String::as_str), def);
    }
    for u in from.uniques.difference(&to.uniques) {
        let def = format!("UNIQUE ({})", names(u));
        drop_constraint(s, d, from.unique_names.get(u).map_or("", String::as_str), &def);
    }
    if from.primary_key != to.primary_key && !from.primary_key.is_empty() {
        let def = format!("PRIMARY KEY ({})", names(&from.primary_key));
        drop_constraint(s, d, from.primary_key_name.as_deref().unwrap_or_default(), &def);
    }
    for i in &d.dropped_indexes {
        let create = format!("{};", i.sql.as_deref().unwrap_or_default());
        s.push(format!("DROP INDEX {};", index_name(t, &i.name)), create);
    }
}

fn drop_constraint(s: &mut Steps, d: &TableDiff, name: &str, def: &str) {
    let up = format!("{} DROP CONSTRAINT {};", alter(d), quote(name));
    s.push(up, format!("{} ADD CONSTRAINT {} {def};", alter(d), quote(name)));
}

/// The index `name` of table `table`, in the table's schema.
fn index_name(table: &str, name: &str) -> String {
    match table.split_once('.') {
        Some((schema, _)) => format!("{}.{}", quote(schema), quote(name)),
        None => quote(name),
    }
}

/// Constraints new or changed in the desired table, added once its columns exist.
fn added_constraints(s: &mut Steps, d: &TableDiff) {
    let (from, to) = (&d.from, &d.to);
    let add = |s: &mut Steps, def: String| {
        s.push(format!("{} ADD {def};", alter(d)), String::new());
    };
    if from.primary_key != to.primary_key && !to.primary_key.is_empty() {
        add(s, format!("PRIMARY KEY ({})", names(&to.primary_key)));
        fix_down(s, d, to.primary_key_name.as_deref().unwrap_or_default());
    }
    for u in to.uniques.difference(&from.uniques) {
        add(s, format!("UNIQUE ({})", names(u)));
        fix_down(s, d, to.unique_names.get(u).map_or("", String::as_str));
    }
    for def in to.checks.difference(&from.checks) {
        add(s, def.clone());
        fix_down(s, d, to.check_names.get(def).map_or("", String::as_str));
    }
    for fk in to.foreign_keys.difference(&from.foreign_keys) {
        add(s, fk_def(fk));
        fix_down(s, d, to.foreign_key_names.get(fk).map_or("", String::as_str));
    }
}

/// The down of the last step: dropping the constraint the up added, by the name the desired
/// schema gives it (PostgreSQL names an unnamed one the same way).
fn fix_down(s: &mut Steps, d: &TableDiff, name: &str) {
    if let Some(last) = s.list.last_mut() {
        last.1 = format!("{} DROP CONSTRAINT {};", alter(d), quote(name));
        if !name.is_empty() {
            last.0 = last.0.replacen(" ADD ", &format!(" ADD CONSTRAINT {} ", quote(name)), 1);
        }
    }
}

/// Added columns and changed ones (type, default, nullability, comment).
fn columns(s: &mut Steps, d: &TableDiff, rebuilt: &BTreeSet<(String, String)>) {
    let a = alter(d);
    for c in &d.added {
        let drop = format!("{a} DROP COLUMN {};", quote(&c.name));
        if c.not_null && c.default.is_none() && c.identity.is_none() && c.generated.is_none() && !c.primary_key {
            let nullable = Column { not_null: false, comment: None, ..c.clone() };
            let up = format!(
                "{a} ADD COLUMN {};\n-- dbmigrate:todo replace the placeholder with each row's value of `{}`\n\
                 UPDATE {} SET {} = {};\n{a} ALTER COLUMN {} SET NOT NULL;",
                column_def(&nullable),
                c.name,
                qq(&d.to.name),
                quote(&c.name),
                placeholder(&c.decl_type),
                quote(&c.name)
            );
            s.push(up, drop);
        } else {
            s.push(format!("{a} ADD COLUMN {};", column_def(c)), drop);
        }
        if let Some(text) = &c.comment {
            s.push(column_comment(&d.to, &c.name, Some(text)), "");
        }
    }
    for (now, want) in &d.changed {
        let default_moves = !rebuilt.contains(&(d.to.name.clone(), now.name.clone()));
        changed_column(s, d, now, want, default_moves);
    }
    if d.from.comment != d.to.comment {
        let sql = |c: Option<&String>| {
            format!("COMMENT ON TABLE {} IS {};", qq(&d.to.name), c.map_or("NULL".to_owned(), |c| literal(c)))
        };
        s.push(sql(d.to.comment.as_ref()), sql(d.from.comment.as_ref()));
    }
}

/// A column's changes; its default only when `default_moves` (not already set by an enum
/// type's rebuild).
fn changed_column(s: &mut Steps, d: &TableDiff, now: &Column, want: &Column, default_moves: bool) {
    let col = format!("{} ALTER COLUMN {}", alter(d), quote(&now.name));
    let norm = |t: &str| t.to_ascii_lowercase().split_whitespace().collect::<String>();
    if norm(&now.decl_type) != norm(&want.decl_type) {
        let mut up = String::new();
        if let Some(why) = narrowing(&now.decl_type, &want.decl_type) {
            s.warnings.push(format!("column `{}.{}` is narrowed: {why}", d.to.name, now.name));
            up.push_str(&format!("-- warning: narrowing {why}; values that do not fit make this fail\n"));
        }
        up.push_str(&type_change(&col, &now.name, &now.decl_type, &want.decl_type));
        s.push(up, type_change(&col, &now.name, &want.decl_type, &now.decl_type));
    }
    if now.default != want.default && default_moves {
        let set = |d: &Option<String>| {
            d.as_ref().map_or(format!("{col} DROP DEFAULT;"), |d| format!("{col} SET DEFAULT {d};"))
        };
        s.push(set(&want.default), set(&now.default));
    }
    if now.not_null != want.not_null && !want.primary_key {
        let set = |nn: bool| format!("{col} {} NOT NULL;", if nn { "SET" } else { "DROP" });
        s.push(set(want.not_null), set(now.not_null));
    }
    if now.identity != want.identity {
        s.push(identity_change(&col, now, want), identity_change(&col, want, now));
    }
    if now.generated != want.generated {
        generation_change(s, d, now, want);
    }
    if now.comment != want.comment {
        s.push(
            column_comment(&d.to, &now.name, want.comment.as_ref()),
            column_comment(&d.to, &now.name, now.comment.as_ref()),
        );
    }
}

/// `ADD GENERATED … AS IDENTITY`, `DROP IDENTITY` or `SET GENERATED …` for `col` (its
/// `ALTER TABLE … ALTER COLUMN` prefix) going from `from` to `to`.
fn identity_change(col: &str, from: &Column, to: &Column) -> String {
    match (&from.identity, &to.identity) {
        (None, Some(how)) => format!("{col} ADD GENERATED {how} AS IDENTITY;"),
        (Some(_), None) => format!("{col} DROP IDENTITY;"),
        (_, Some(how)) => format!("{col} SET GENERATED {how};"),
        (None, None) => String::new(),
    }
}

/// A generated column's expression changed, or the column became or stopped being generated.
/// PostgreSQL (before 17) can only turn a generated column plain (`DROP EXPRESSION`, keeping the
/// values); every other way the column is dropped and added again, which recomputes a generated
/// one but loses a plain one's values: marked destructive.
fn generation_change(s: &mut Steps, d: &TableDiff, now: &Column, want: &Column) {
    let t = &d.to.name;
    let rebuild = |from: &Column, to: &Column| {
        let reason = format!("drops column {t}.{} and adds it again as {}", from.name, column_def(to));
        format!(
            "{}\n{} DROP COLUMN {}, ADD COLUMN {};",
            destructive(&reason),
            alter(d),
            quote(&from.name),
            column_def(to)
        )
    };
    let plain = format!("{} ALTER COLUMN {} DROP EXPRESSION;", alter(d), quote(&now.name));
    if now.generated.is_some() && want.generated.is_none() {
        s.push(plain, rebuild(want, now));
    } else if now.generated.is_none() {
        s.warnings.push(format!("column `{t}.{}` becomes generated: its values are replaced", now.name));
        s.push(rebuild(now, want), plain.replace(&quote(&now.name), &quote(&want.name)));
    } else {
        s.push(rebuild(now, want), rebuild(want, now));
    }
}

/// `ALTER COLUMN … TYPE`, with `USING` when PostgreSQL has no implicit cast between the two.
fn type_change(col: &str, name: &str, from: &str, to: &str) -> String {
    if family(from).is_some() && family(from) == family(to) {
        format!("{col} TYPE {to};")
    } else {
        format!("{col} TYPE {to} USING {}::{to};", quote(name))
    }
}

/// The groups of types PostgreSQL converts between implicitly in `ALTER COLUMN TYPE`.
fn family(ty: &str) -> Option<u8> {
    let base = ty.split('(').next().unwrap_or(ty).trim().to_ascii_lowercase();
    match base.as_str() {
        "smallint" | "integer" | "bigint" | "numeric" | "real" | "double precision" => Some(1),
        "text" | "character varying" | "character" | "varchar" | "char" => Some(2),
        "timestamp without time zone" | "timestamp with time zone" | "date" => Some(3),
        _ => None,
    }
}

/// Why going from `from` to `to` may not keep every value: a shorter length, fewer digits, a
/// smaller integer.
fn narrowing(from: &str, to: &str) -> Option<String> {
    let (fb, fa) = split_type(from);
    let (tb, ta) = split_type(to);
    let rank = |b: &str| ["smallint", "integer", "bigint", "numeric"].iter().position(|r| *r == b);
    let why = || Some(format!("{from} to {to}"));
    match (family(from), family(to)) {
        (Some(2), Some(2)) => match (fa.first(), ta.first()) {
            (None, Some(_)) => why(),
            (Some(f), Some(t)) if t < f => why(),
            _ => None,
        },
        (Some(1), Some(1)) if fb == "numeric" && tb == "numeric" => {
            let (fp, fs) = (fa.first().copied().unwrap_or(u32::MAX), fa.get(1).copied().unwrap_or(0));
            let (tp, ts) = (ta.first().copied().unwrap_or(u32::MAX), ta.get(1).copied().unwrap_or(0));
            (tp < fp || ts < fs || tp - ts < fp.saturating_sub(fs)).then(|| format!("{from} to {to}"))
        }
        (Some(1), Some(1)) => match (rank(&fb), rank(&tb)) {
            (Some(f), Some(t)) if t < f => why(),
            (None, Some(_)) => why(),
            _ => None,
        },
        _ => None,
    }
}

/// A type's base name and its numeric modifiers: `numeric(10,2)` is (`numeric`, [10, 2]).
fn split_type(ty: &str) -> (String, Vec<u32>) {
    let ty = ty.to_ascii_lowercase();
    let (base, args) = ty.split_once('(').unwrap_or((&ty, ""));
    let args = args.trim_end_matches(')').split(',').filter_map(|a| a.trim().parse().ok()).collect();
    (base.trim().to_owned(), args)
}

/// A value of `decl_type` for the backfill, for a person to replace.
fn placeholder(decl_type: &str) -> String {
    match family(decl_type) {
        Some(1) => "0".into(),
        Some(2) => "''".into(),
        Some(3) => "now()".into(),
        _ if decl_type == "boolean" => "false".into(),
        _ => format!("NULL::{decl_type}"),
    }
}

/// Columns that leave the table: after everything that used them changed.
fn dropped_columns(s: &mut Steps, d: &TableDiff) {
    for c in &d.dropped {
        let t = &d.to.name;
        s.warnings.push(format!("dropping column `{t}.{}` loses its data", c.name));
        let up = format!(
            "-- dbmigrate:destructive drops column {t}.{} and its data\n{} DROP COLUMN {};",
            c.name,
            alter(d),
            quote(&c.name)
        );
        let down = if c.not_null && c.default.is_none() && c.identity.is_none() && c.generated.is_none() {
            // NOT NULL again at once: every row gets the placeholder, then the default goes.
            let filled = Column { default: Some(placeholder(&c.decl_type)), ..c.clone() };
            format!(
                "-- Recreates the column; its values are not restored (rows get {}).\n{} ADD COLUMN {};\n{} ALTER COLUMN {} DROP DEFAULT;",
                placeholder(&c.decl_type),
                alter(d),
                column_def(&filled),
                alter(d),
                quote(&c.name)
            )
        } else {
            format!("-- Recreates the column; its values are not restored.\n{} ADD COLUMN {};", alter(d), column_def(c))
        };
        s.push(up, down);
    }
}

fn created_indexes(s: &mut Steps, d: &TableDiff) {
    for i in &d.created_indexes {
        let create = format!("{};", i.sql.as_deref().unwrap_or_default());
        s.push(create, format!("DROP INDEX {};", index_name(&d.to.name, &i.name)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowing_is_a_shorter_length_or_a_smaller_number() {
        assert!(narrowing("character varying(40)", "character varying(20)").is_some());
        assert!(narrowing("character varying(20)", "character varying(40)").is_none());
        assert!(narrowing("text", "character varying(20)").is_some());
        assert!(narrowing("bigint", "integer").is_some());
        assert!(narrowing("integer", "bigint").is_none());
        assert!(narrowing("numeric(10,2)", "numeric(8,2)").is_some());
        assert!(narrowing("numeric(8,2)", "numeric(10,2)").is_none());
    }

    fn enum_schema(labels: &[&str]) -> crate::schema::Schema {
        let mut s = crate::schema::Schema::default();
        s.enums.insert("mood".into(), labels.iter().map(|l| (*l).to_owned()).collect());
        let m = Column {
            name: "m".into(),
            decl_type: "mood".into(),
            default: Some("'a'::mood".into()),
            ..Column::default()
        };
        s.tables.insert("t".into(), Table { name: "t".into(), columns: vec![m], ..Table::default() });
        s
    }

    #[test]
    fn a_new_enum_label_goes_in_place_outside_a_transaction_and_its_down_rebuilds_the_type() {
        let diff = crate::schema::differences(
            &enum_schema(&["a", "c"]),
            &enum_schema(&["a", "b", "c", "d"]),
            &Default::default(),
        );
        let m = render_pg(&diff);
        assert!(m.up.starts_with("-- dbmigrate:no-transaction\n"), "{}", m.up);
        assert!(
            m.up.contains("ALTER TYPE \"mood\" ADD VALUE 'b' BEFORE 'c';\nALTER TYPE \"mood\" ADD VALUE 'd';"),
            "{}",
            m.up
        );
        assert!(m.down.contains("ALTER TABLE \"t\" ALTER COLUMN \"m\" DROP DEFAULT;"), "{}", m.down);
        assert!(m.down.contains("TYPE \"mood\" USING \"m\"::text::\"mood\";"), "{}", m.down);
        assert!(m.down.contains("CREATE TYPE \"mood\" AS ENUM ('a', 'c');"), "{}", m.down);
    }

    #[test]
    fn a_removed_enum_label_rebuilds_the_type_behind_a_guard_and_the_down_rebuilds_it_back() {
        let diff =
            crate::schema::differences(&enum_schema(&["a", "b"]), &enum_schema(&["b", "a"]), &Default::default());
        let m = render_pg(&diff);
        assert!(!m.up.contains("destructive") && !m.up.contains("DO $"), "a reorder loses nothing: {}", m.up);
        assert!(m.up.contains("CREATE TYPE \"mood\" AS ENUM ('b', 'a');"), "{}", m.up);
        let diff = crate::schema::differences(&enum_schema(&["a", "b"]), &enum_schema(&["a"]), &Default::default());
        let m = render_pg(&diff);
        assert!(m.up.contains("-- dbmigrate:destructive enum type mood loses the labels 'b'"), "{}", m.up);
        let guard = m.up.find("WHERE \"m\"::text IN ('b')").expect("guarded");
        assert!(guard < m.up.find("ALTER TYPE \"mood\" RENAME").expect("renamed"), "{}", m.up);
        assert!(m.up.contains("ALTER TABLE \"t\" ALTER COLUMN \"m\" SET DEFAULT 'a'::mood;"), "{}", m.up);
        assert!(!m.up.contains("todo") && !m.up.contains("no-transaction"), "{}", m.up);
        assert!(m.down.contains("CREATE TYPE \"mood\" AS ENUM ('a', 'b');"), "{}", m.down);
    }

    #[test]
    fn a_cast_between_families_says_using() {
        assert_eq!(type_change("A", "c", "integer", "bigint"), "A TYPE bigint;");
        assert_eq!(type_change("A", "c", "text", "integer"), "A TYPE integer USING \"c\"::integer;");
    }
}
