//! SQLite's SQL for a [`Difference`]: `ALTER TABLE` where SQLite can, and the table rebuild its
//! documentation gives (new table, copy, drop, rename, indexes) where it cannot.

use super::diff::{Difference, TableDiff};
use super::model::{Column, Table, quote};
use super::steps::{Migration, Steps, destructive, join};

/// The SQLite migration that applies `diff`: every difference the model holds has one.
///
/// A rebuild of a table that other tables reference follows the SQLite docs' 12 steps: with
/// foreign keys on, `DROP TABLE` is a `DELETE` that fires the children's `ON DELETE` actions,
/// and `PRAGMA foreign_keys=OFF` does nothing inside a transaction. Such a file runs outside
/// the engine's transaction, turns the keys off, and opens and commits its own.
pub fn render_sqlite(diff: &Difference) -> Migration {
    let keys_off = diff.altered.iter().any(|d| Plan::needs_rebuild(d) && !d.referenced_by.is_empty());
    let old_name = |d: &TableDiff| diff.renamed_tables.iter().find(|(_, n)| *n == d.to.name).map(|(o, _)| o.as_str());
    let plans: Vec<Plan<'_>> = diff.altered.iter().map(|d| Plan::new(d, keys_off, old_name(d))).collect();
    let mut s = Steps::default();
    // Before the table renames, so the down makes them last, once the tables have their old names.
    plans.iter().for_each(|p| p.renamed_tables_triggers(&mut s));
    s.table_renames(diff, rename_table);
    plans.iter().for_each(|p| p.renames_and_dropped_indexes(&mut s));
    for t in &diff.created {
        s.push(create_table(t), format!("DROP TABLE {};", quote(&t.name)));
    }
    plans.iter().for_each(|p| p.added_columns(&mut s));
    plans.iter().for_each(|p| p.rebuild(&mut s));
    plans.iter().for_each(|p| p.dropped_columns(&mut s));
    for t in &diff.dropped {
        s.warnings.push(format!("dropping table `{}` loses its rows", t.name));
        let down =
            format!("-- Recreates the structure of `{}`; its rows are not restored.\n{}", t.name, create_table(t));
        let why = destructive(&format!("drops table {} and its rows", t.name));
        s.push(format!("{why}\nDROP TABLE {};", quote(&t.name)), down);
    }
    plans.iter().for_each(|p| p.created_indexes(&mut s));
    let mut up = join(s.ups());
    let mut down = join(s.downs());
    if keys_off {
        (up, down) = (with_keys_off(&up), with_keys_off(&down));
    }
    Migration { up: up + "\n", down: down + "\n", warnings: s.warnings }
}

/// `body` as the SQLite docs' procedure for a change that rebuilds a referenced table: outside
/// the engine's transaction (first line), foreign keys off, one transaction of its own, every
/// foreign key checked before the commit, and the keys back on.
fn with_keys_off(body: &str) -> String {
    [
        dbmigrate_core::sql::NO_TRANSACTION_MARKER,
        "-- A table other tables reference is rebuilt: foreign keys must be off, which sqlite allows only",
        "-- outside a transaction, so this file opens and commits its own (the sqlite docs' 12 steps).",
        "PRAGMA foreign_keys=OFF;",
        "BEGIN IMMEDIATE;",
        "",
        body,
        "",
        &foreign_key_check(None),
        "COMMIT;",
        "PRAGMA foreign_keys=ON;",
    ]
    .join("\n")
}

fn rename_table(from: &str, to: &str) -> String {
    format!("ALTER TABLE {} RENAME TO {};", quote(from), quote(to))
}

/// `CREATE TABLE` and its indexes.
fn create_table(t: &Table) -> String {
    let mut out = vec![format!("{};", table_sql(t, &t.name))];
    out.extend(t.indexes.values().map(|i| format!("{};", i.sql.as_deref().unwrap_or_default())));
    out.join("\n")
}

/// `t`'s `CREATE TABLE` under the name `name`: its own text when the catalog kept it.
fn table_sql(t: &Table, name: &str) -> String {
    if let Some(sql) = &t.sql
        && let Some(open) = sql.find('(')
    {
        return format!("CREATE TABLE {} {}", quote(name), &sql[open..]);
    }
    let cols: Vec<String> = t.columns.iter().map(column_def).collect();
    format!("CREATE TABLE {} (\n    {}\n)", quote(name), cols.join(",\n    "))
}

fn column_def(c: &Column) -> String {
    let mut def = quote(&c.name);
    if !c.decl_type.is_empty() {
        def = format!("{def} {}", c.decl_type);
    }
    if c.not_null {
        def.push_str(" NOT NULL");
    }
    if let Some(d) = &c.default {
        def = format!("{def} DEFAULT {d}");
    }
    def
}

/// Whether `ALTER TABLE ADD COLUMN` can add `c` to `t`: SQLite refuses key and unique columns,
/// NOT NULL without a default, and a default that is not a constant.
fn addable(t: &Table, c: &Column) -> bool {
    let constant = c.default.as_deref().is_none_or(|d| {
        let d = d.trim().to_ascii_uppercase();
        !d.starts_with('(') && !d.starts_with("CURRENT_")
    });
    // A generated column's clause is only in the table's text: the rebuild keeps it.
    let plain = c.generated.is_none();
    plain && !c.primary_key && !t.constrains(&c.name) && constant && (!c.not_null || c.default.is_some())
}

/// A NOT NULL column with no default: added nullable, backfilled, then made NOT NULL.
fn needs_backfill(t: &Table, c: &Column) -> bool {
    c.not_null && c.default.is_none() && !c.primary_key && !t.constrains(&c.name)
}

/// A value of `decl_type`'s affinity for the backfill, for a person to replace.
fn placeholder(decl_type: &str) -> &'static str {
    let t = decl_type.to_ascii_uppercase();
    if t.contains("INT") {
        "0"
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        "''"
    } else if t.contains("BLOB") {
        "x''"
    } else {
        "0"
    }
}

/// How one altered table is written.
struct Plan<'a> {
    d: &'a TableDiff,
    rebuild: bool,
    /// The file turns foreign keys off and checks them all once, before its commit.
    keys_off: bool,
    /// The table's current name when it is renamed (`d.from` carries the desired one).
    old_name: Option<&'a str>,
}

impl<'a> Plan<'a> {
    fn new(d: &'a TableDiff, keys_off: bool, old_name: Option<&'a str>) -> Self {
        Plan { d, rebuild: Self::needs_rebuild(d), keys_off, old_name }
    }

    /// The triggers the up makes again after the rebuild: the desired schema's, which name the
    /// table as it will be; when it declares none, the current ones made to name the new table
    /// (what SQLite's own rename does to them), so a rebuild never loses a trigger.
    fn up_triggers(&self) -> Vec<String> {
        let d = self.d;
        if !d.to.triggers.is_empty() {
            return d.to.triggers.clone();
        }
        match self.old_name {
            Some(old) => d.from.triggers.iter().map(|t| retarget(t, old, &d.to.name)).collect(),
            None => d.from.triggers.clone(),
        }
    }

    /// A renamed and rebuilt table's current triggers, made by the down once the table has its
    /// old name back: their text names that one (the up makes its own, see `up_triggers`).
    fn renamed_tables_triggers(&self, s: &mut Steps) {
        if self.rebuild && self.old_name.is_some() && !self.d.from.triggers.is_empty() {
            s.push("", trigger_sql(&self.d.from.triggers).join("\n"));
        }
    }

    /// Whether SQLite's `ALTER TABLE` cannot make the change (a type, default or constraint).
    fn needs_rebuild(d: &TableDiff) -> bool {
        d.constraints_changed
            || !d.changed.is_empty()
            || d.added.iter().any(|c| needs_backfill(&d.to, c) || !addable(&d.to, c))
            || d.dropped.iter().any(|c| !addable(&d.from, c))
    }

    fn name(&self) -> String {
        quote(&self.d.to.name)
    }

    fn renames_and_dropped_indexes(&self, s: &mut Steps) {
        for (old, new) in &self.d.renamed_columns {
            let sql =
                |a: &str, b: &str| format!("ALTER TABLE {} RENAME COLUMN {} TO {};", self.name(), quote(a), quote(b));
            // A rebuild's down recreates the table with its old column names.
            s.push(sql(old, new), if self.rebuild { String::new() } else { sql(new, old) });
        }
        for (gone, new) in &self.d.likely_renames {
            let t = &self.d.to.name;
            s.warnings.push(format!(
                "column `{t}.{gone}` is dropped and `{t}.{new}` added with the same type: a rename? pass `--rename {t}.{gone}={new}`"
            ));
            s.push(
                format!(
                    "-- likely a rename: ALTER TABLE {} RENAME COLUMN {} TO {};",
                    self.name(),
                    quote(gone),
                    quote(new)
                ),
                "",
            );
        }
        if self.rebuild {
            return;
        }
        for i in &self.d.dropped_indexes {
            let create = format!("{};", i.sql.as_deref().unwrap_or_default());
            s.push(format!("DROP INDEX {};", quote(&i.name)), create);
        }
    }

    fn added_columns(&self, s: &mut Steps) {
        let name = self.name();
        for c in &self.d.added {
            if needs_backfill(&self.d.to, c) {
                let nullable = Column { not_null: false, ..c.clone() };
                let up = format!(
                    "ALTER TABLE {name} ADD COLUMN {};\n-- dbmigrate:todo replace the placeholder with each row's value of `{}`\nUPDATE {name} SET {} = {};",
                    column_def(&nullable),
                    c.name,
                    quote(&c.name),
                    placeholder(&c.decl_type)
                );
                s.push(up, "");
            } else if !self.rebuild {
                let drop = format!("ALTER TABLE {name} DROP COLUMN {};", quote(&c.name));
                s.push(format!("ALTER TABLE {name} ADD COLUMN {};", column_def(c)), drop);
            }
        }
    }

    fn rebuild(&self, s: &mut Steps) {
        if !self.rebuild {
            return;
        }
        let d = self.d;
        let backfilled = |n: &str| d.added.iter().any(|c| c.name == n && needs_backfill(&d.to, c));
        let up_copy: Vec<(String, String)> =
            d.to.columns
                .iter()
                // No INSERT may name a generated column; reading one is fine.
                .filter(|c| c.generated.is_none())
                .filter(|c| d.from.column(&c.name).is_some() || backfilled(&c.name))
                .map(|c| (c.name.clone(), c.name.clone()))
                .collect();
        let renamed = |old: &str| -> String {
            d.renamed_columns.iter().find(|(o, _)| o == old).map_or(old, |(_, n)| n.as_str()).to_owned()
        };
        // The old table's text names its columns as they were before any rename.
        let down_copy: Vec<(String, String)> = original_columns(d)
            .into_iter()
            .filter(|old| d.from.column(&renamed(old)).is_none_or(|c| c.generated.is_none()))
            .filter(|old| d.to.column(&renamed(old)).is_some())
            .map(|old| (old.to_owned(), renamed(old)))
            .collect();
        let up_narrowing: Vec<Narrowing> = d.changed.iter().filter_map(|(o, n)| narrowing(&d.to.name, o, n)).collect();
        let down_narrowing = d.changed.iter().filter_map(|(o, n)| narrowing(&d.to.name, n, o)).collect();
        s.warnings.extend(up_narrowing.iter().map(|n| n.warning.clone()));
        let dropped: Vec<String> = d.dropped.iter().map(|c| format!("{}.{}", d.to.name, c.name)).collect();
        for c in &dropped {
            s.warnings.push(format!("dropping column `{c}` loses its data"));
        }
        let destructive = match dropped.len() {
            0 => None,
            1 => Some(format!("drops column {} and its data", dropped[0])),
            _ => Some(format!("drops columns {} and their data", dropped.join(", "))),
        };
        // SQLite drops a table's triggers with it: each side makes them again. A renamed table's
        // current triggers name its old name, so the down makes them after the rename back.
        let up_triggers = self.up_triggers();
        let down_triggers = if self.old_name.is_some() { &[][..] } else { &d.from.triggers[..] };
        let up = Rebuild { table: &d.to, copy: &up_copy, narrowing: up_narrowing, destructive, triggers: &up_triggers };
        let down = Rebuild {
            table: &d.from,
            copy: &down_copy,
            narrowing: down_narrowing,
            destructive: None,
            triggers: down_triggers,
        };
        let mut down = down.sql(!self.keys_off);
        if !d.added.is_empty() {
            down = format!("-- The values of the added columns are not kept.\n{down}");
        }
        s.push(up.sql(!self.keys_off), down);
    }

    fn dropped_columns(&self, s: &mut Steps) {
        if self.rebuild {
            return;
        }
        let name = self.name();
        for c in &self.d.dropped {
            s.warnings.push(format!("dropping column `{}.{}` loses its data", self.d.to.name, c.name));
            let why = destructive(&format!("drops column {}.{} and its data", self.d.to.name, c.name));
            let up = format!("{why}\nALTER TABLE {name} DROP COLUMN {};", quote(&c.name));
            let down = format!(
                "-- Recreates the column; its values are not restored.\nALTER TABLE {name} ADD COLUMN {};",
                column_def(c)
            );
            s.push(up, down);
        }
    }

    fn created_indexes(&self, s: &mut Steps) {
        if self.rebuild {
            return;
        }
        for i in &self.d.created_indexes {
            let create = format!("{};", i.sql.as_deref().unwrap_or_default());
            s.push(create, format!("DROP INDEX {};", quote(&i.name)));
        }
    }
}

/// The current table's column names before the declared renames.
fn original_columns(d: &TableDiff) -> Vec<&str> {
    d.from
        .columns
        .iter()
        .map(|c| d.renamed_columns.iter().find(|(_, n)| *n == c.name).map_or(c.name.as_str(), |(o, _)| o.as_str()))
        .collect()
}

/// A column whose new type holds less than the old one: the stderr warning, and the comment
/// written before the copy step.
struct Narrowing {
    warning: String,
    comment: String,
}

/// The narrowing from `old` to `new`, if the change is one: a type affinity that keeps fewer
/// values as they are (TEXT to INTEGER, REAL to INTEGER), or a declared length or precision cut
/// down (`VARCHAR(200)` to `VARCHAR(50)`, `TEXT` to `VARCHAR(50)`).
fn narrowing(table: &str, old: &Column, new: &Column) -> Option<Narrowing> {
    let (from, to) = (old.decl_type.as_str(), new.decl_type.as_str());
    let (a, b) = (affinity(from), affinity(to));
    let why = if b < a {
        "a value that does not convert is kept as it is, which readers of the new type may not expect"
    } else if a == b && sizes_shrink(from, to) {
        "sqlite keeps longer values, but other readers of the declared size may not"
    } else {
        return None;
    };
    let shown = |t: &str| if t.is_empty() { "untyped".to_owned() } else { t.to_owned() };
    let column = format!("{table}.{}", new.name);
    Some(Narrowing {
        warning: format!(
            "narrowing column `{column}` from `{}` to `{}`: check that its values fit before running",
            shown(from),
            shown(to)
        ),
        comment: format!("-- warning: narrowing {column} from {} to {}: {why}.", shown(from), shown(to)),
    })
}

/// SQLite's type affinity of a declared type (its rules, in their order), ranked by how many
/// values it keeps as given: INTEGER 0, REAL 1, NUMERIC 2, TEXT 3, BLOB (or none) 4.
fn affinity(decl_type: &str) -> u8 {
    let t = decl_type.to_ascii_uppercase();
    let has = |s: &str| t.contains(s);
    if has("INT") {
        0
    } else if has("CHAR") || has("CLOB") || has("TEXT") {
        3
    } else if has("BLOB") || t.trim().is_empty() {
        4
    } else if has("REAL") || has("FLOA") || has("DOUB") {
        1
    } else {
        2
    }
}

/// Whether `to` declares a size where `from` had none, or a smaller one in any position.
fn sizes_shrink(from: &str, to: &str) -> bool {
    let sizes = |t: &str| -> Vec<u64> {
        let inner = t.split_once('(').and_then(|(_, r)| r.split_once(')')).map_or("", |(i, _)| i);
        inner.split(',').filter_map(|n| n.trim().parse().ok()).collect()
    };
    let (a, b) = (sizes(from), sizes(to));
    !b.is_empty() && (a.is_empty() || a.iter().zip(&b).any(|(a, b)| b < a))
}

/// SQLite's documented rebuild of `table`: the new definition under a scratch name, the rows
/// copied (`copy`: target column, source column), the old table dropped, the new one renamed,
/// and its indexes and triggers created again.
struct Rebuild<'a> {
    table: &'a Table,
    copy: &'a [(String, String)],
    /// Written before the copy step.
    narrowing: Vec<Narrowing>,
    /// The reason for the destructive marker on the `DROP TABLE`, when columns are lost.
    destructive: Option<String>,
    /// `CREATE TRIGGER` texts to run once the table has its name again.
    triggers: &'a [String],
}

impl Rebuild<'_> {
    /// The statements; `check_keys`: end with a check of the table's own foreign keys (a file
    /// that turned the keys off checks them all at its end instead). A NOT NULL column without
    /// a default that nothing fills gets a placeholder, marked for a person to replace.
    fn sql(&self, check_keys: bool) -> String {
        let t = self.table;
        let scratch = format!("dbmigrate_new_{}", t.name);
        let mut into: Vec<String> = self.copy.iter().map(|(c, _)| quote(c)).collect();
        let mut from: Vec<String> = self.copy.iter().map(|(_, c)| quote(c)).collect();
        let copied = |name: &str| self.copy.iter().any(|(n, _)| n == name);
        let unfilled =
            t.columns.iter().filter(|c| c.not_null && c.default.is_none() && !c.primary_key && !copied(&c.name));
        let unfilled = unfilled.filter(|c| c.generated.is_none());
        let mut out = vec![
            "-- SQLite cannot make this change with ALTER TABLE: the table is rebuilt.".to_owned(),
            format!("{};", table_sql(t, &scratch)),
        ];
        for c in unfilled {
            into.push(quote(&c.name));
            from.push(placeholder(&c.decl_type).to_owned());
            out.push(format!(
                "-- dbmigrate:todo replace the placeholder copied into `{}` with each row's value",
                c.name
            ));
        }
        out.extend(self.narrowing.iter().map(|n| n.comment.clone()));
        out.push(format!(
            "INSERT INTO {} ({}) SELECT {} FROM {};",
            quote(&scratch),
            into.join(", "),
            from.join(", "),
            quote(&t.name)
        ));
        out.extend(self.destructive.as_deref().map(destructive));
        out.push(format!("DROP TABLE {};", quote(&t.name)));
        // Views and other tables' triggers that name the table would fail the rename's check of
        // the schema while the table is gone; the legacy rename skips that check (they name it
        // again once it is back).
        out.push("PRAGMA legacy_alter_table=ON;".to_owned());
        out.push(format!("ALTER TABLE {} RENAME TO {};", quote(&scratch), quote(&t.name)));
        out.push("PRAGMA legacy_alter_table=OFF;".to_owned());
        out.extend(t.indexes.values().map(|i| format!("{};", i.sql.as_deref().unwrap_or_default())));
        out.extend(trigger_sql(self.triggers));
        if check_keys && !t.foreign_keys.is_empty() {
            out.push(foreign_key_check(Some(&t.name)));
        }
        out.join("\n")
    }
}

/// Each `CREATE TRIGGER` text as one statement ending in a semicolon.
fn trigger_sql(triggers: &[String]) -> Vec<String> {
    triggers.iter().map(|sql| format!("{};", sql.trim_end().trim_end_matches(';'))).collect()
}

/// `sql` with every identifier that names table `old` (bare or quoted, any case, outside
/// string literals) made to name `new`, as SQLite's `ALTER TABLE ... RENAME` rewrites a
/// trigger. A column spelled like the table would be renamed too; the desired schema's own
/// triggers, when it has them, are used instead of this.
fn retarget(sql: &str, old: &str, new: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        let len = match c {
            '\'' => literal_len(rest, '\''),
            '"' | '`' => literal_len(rest, c),
            '[' => rest.find(']').map_or(rest.len(), |i| i + 1),
            c if c.is_alphabetic() || c == '_' => {
                rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).unwrap_or(rest.len())
            }
            c => c.len_utf8(),
        };
        let token = &rest[..len];
        let name = match c {
            '"' | '`' => Some(token[1..len.saturating_sub(1).max(1)].replace(&format!("{c}{c}"), &c.to_string())),
            '[' => Some(token.trim_start_matches('[').trim_end_matches(']').to_owned()),
            c if c.is_alphabetic() || c == '_' => Some(token.to_owned()),
            _ => None,
        };
        match name {
            Some(n) if n.eq_ignore_ascii_case(old) => out.push_str(&quote(new)),
            _ => out.push_str(token),
        }
        rest = &rest[len..];
    }
    out
}

/// The length of the quoted token at the start of `s`, a doubled `q` standing for itself.
fn literal_len(s: &str, q: char) -> usize {
    let mut i = 1;
    while let Some(at) = s[i..].find(q) {
        i += at + 1;
        if !s[i..].starts_with(q) {
            return i;
        }
        i += 1;
    }
    s.len()
}

/// SQLite's `PRAGMA foreign_key_check` of `table` (all tables for `None`), made to fail the
/// migration (and roll it back) when a row no longer satisfies its foreign keys.
fn foreign_key_check(table: Option<&str>) -> String {
    let (what, source) = match table {
        Some(t) => ("Its rows", format!("pragma_foreign_key_check('{}')", t.replace('\'', "''"))),
        None => ("Every row", "pragma_foreign_key_check".to_owned()),
    };
    [
        &format!("-- {what} must still satisfy their foreign keys (PRAGMA foreign_key_check)."),
        "CREATE TEMP TABLE dbmigrate_fk_check (rows_violating_foreign_keys INTEGER CHECK (rows_violating_foreign_keys = 0));",
        &format!("INSERT INTO dbmigrate_fk_check SELECT count(*) FROM {source};"),
        "DROP TABLE dbmigrate_fk_check;",
    ]
    .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ForeignKey, Index, Renames, Schema, differences};

    fn users(extra: &[Column]) -> Table {
        let mut columns =
            vec![Column { name: "id".into(), decl_type: "INTEGER".into(), primary_key: true, ..Column::default() }];
        columns.extend_from_slice(extra);
        Table { name: "users".into(), columns, primary_key: vec!["id".into()], ..Table::default() }
    }

    fn schema(tables: Vec<Table>) -> Schema {
        Schema { tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect(), ..Schema::default() }
    }

    fn render(now: Vec<Table>, want: Vec<Table>) -> Migration {
        render_sqlite(&differences(&schema(now), &schema(want), &Renames::default()))
    }

    #[test]
    fn the_down_undoes_the_up_in_reverse_order() {
        let phone = Column { name: "phone".into(), decl_type: "TEXT".into(), ..Column::default() };
        let mut want = users(std::slice::from_ref(&phone));
        let sql = "CREATE INDEX users_phone ON users (phone)";
        want.indexes.insert(
            "users_phone".into(),
            Index { name: "users_phone".into(), sql: Some(sql.into()), ..Index::default() },
        );
        let m = render(vec![users(&[])], vec![want]);
        assert_eq!(
            m.up,
            "ALTER TABLE \"users\" ADD COLUMN \"phone\" TEXT;\n\nCREATE INDEX users_phone ON users (phone);\n"
        );
        assert_eq!(m.down, "DROP INDEX \"users_phone\";\n\nALTER TABLE \"users\" DROP COLUMN \"phone\";\n");
    }

    #[test]
    fn a_rebuild_of_a_referenced_table_turns_the_keys_off_outside_a_transaction() {
        let nick = Column { name: "nick".into(), decl_type: "TEXT".into(), not_null: true, ..Column::default() };
        let mut posts = Table { name: "posts".into(), ..Table::default() };
        let fk = ForeignKey { columns: vec!["user_id".into()], ref_table: "users".into(), ..ForeignKey::default() };
        posts.foreign_keys.insert(fk);
        let m = render(vec![users(&[]), posts.clone()], vec![users(&[nick]), posts]);
        for sql in [&m.up, &m.down] {
            assert!(sql.starts_with("-- dbmigrate:no-transaction\n"), "{sql}");
            let off = sql.find("PRAGMA foreign_keys=OFF;\nBEGIN IMMEDIATE;").expect("keys off, then begin");
            let drop = sql.find("DROP TABLE \"users\";").expect("rebuild");
            let check = sql.find("FROM pragma_foreign_key_check;").expect("all keys checked");
            let on = sql.find("COMMIT;\nPRAGMA foreign_keys=ON;\n").expect("commit, then keys on");
            assert!(off < drop && drop < check && check < on, "{sql}");
        }
    }

    #[test]
    fn a_dropped_column_names_what_it_destroys_right_before_the_statement() {
        let phone = Column { name: "phone".into(), decl_type: "TEXT".into(), ..Column::default() };
        let m = render(vec![users(std::slice::from_ref(&phone))], vec![users(&[])]);
        assert!(
            m.up.contains("-- dbmigrate:destructive drops column users.phone and its data\nALTER TABLE"),
            "{}",
            m.up
        );
        let m = render(vec![users(&[])], vec![]);
        assert!(m.up.contains("-- dbmigrate:destructive drops table users and its rows\nDROP TABLE"), "{}", m.up);
    }

    #[test]
    fn narrowing_is_a_smaller_affinity_or_size() {
        let col = |ty: &str| Column { name: "c".into(), decl_type: ty.into(), ..Column::default() };
        let narrows = |a: &str, b: &str| narrowing("t", &col(a), &col(b)).is_some();
        assert!(narrows("TEXT", "INTEGER") && narrows("REAL", "INT") && narrows("", "TEXT"));
        assert!(narrows("VARCHAR(200)", "VARCHAR(50)") && narrows("TEXT", "VARCHAR(50)"));
        assert!(narrows("DECIMAL(10,4)", "DECIMAL(10,2)"));
        assert!(
            !narrows("INTEGER", "TEXT") && !narrows("VARCHAR(50)", "VARCHAR(200)") && !narrows("varchar(9)", "TEXT")
        );
        let n = narrowing("users", &col("TEXT"), &col("INTEGER")).expect("narrows");
        assert!(n.comment.starts_with("-- warning: narrowing users.c from TEXT to INTEGER"), "{}", n.comment);
    }

    #[test]
    fn retargeting_a_trigger_renames_the_table_and_nothing_else() {
        let sql = "CREATE TRIGGER users_audit AFTER INSERT ON Users BEGIN \
                   INSERT INTO audit SELECT 'users', \"users\".mail FROM [users] WHERE id = new.id; END";
        assert_eq!(
            retarget(sql, "users", "accounts"),
            "CREATE TRIGGER users_audit AFTER INSERT ON \"accounts\" BEGIN \
             INSERT INTO audit SELECT 'users', \"accounts\".mail FROM \"accounts\" WHERE id = new.id; END"
        );
        assert_eq!(retarget("SELECT 'it''s users' FROM t", "users", "x"), "SELECT 'it''s users' FROM t");
    }

    #[test]
    fn placeholders_follow_the_type_affinity() {
        assert_eq!(placeholder("BIGINT"), "0");
        assert_eq!(placeholder("varchar(20)"), "''");
        assert_eq!(placeholder("BLOB"), "x''");
        assert_eq!(placeholder("REAL"), "0");
    }
}
