//! SQLite's SQL for a [`Difference`]: `ALTER TABLE` where SQLite can, and the table rebuild its
//! documentation gives (new table, copy, drop, rename, indexes) where it cannot.

use super::diff::{Difference, TableDiff};
use super::model::{Column, Table, quote};

/// A generated migration: the up and down SQL, and what the user must be warned of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migration {
    pub up: String,
    pub down: String,
    pub warnings: Vec<String>,
}

/// One change and its inverse; the down file runs the inverses in reverse order.
#[derive(Default)]
struct Steps {
    list: Vec<(String, String)>,
    warnings: Vec<String>,
}

impl Steps {
    fn push(&mut self, up: impl Into<String>, down: impl Into<String>) {
        self.list.push((up.into(), down.into()));
    }
}

/// The SQLite migration that applies `diff`, or why it cannot be generated safely.
///
/// A table that other tables reference is never rebuilt: SQLite turns `DROP TABLE` into a
/// `DELETE` that fires the children's `ON DELETE` actions while foreign keys are on, and a
/// migration's transaction cannot turn them off.
pub fn render_sqlite(diff: &Difference) -> Result<Migration, String> {
    let plans: Vec<Plan<'_>> = diff.altered.iter().map(Plan::new).collect();
    if let Some(p) = plans.iter().find(|p| p.rebuild && !p.d.referenced_by.is_empty()) {
        let children: Vec<String> = p.d.referenced_by.iter().map(|c| format!("`{c}`")).collect();
        return Err(format!(
            "table `{}` needs a rebuild, which sqlite cannot do safely while {} reference it: \
             dropping the old table would fire their foreign keys' on delete actions",
            p.d.to.name,
            children.join(", ")
        ));
    }
    let mut s = Steps::default();
    for (old, new) in &diff.renamed_tables {
        s.push(rename_table(old, new), rename_table(new, old));
    }
    for (old, new) in &diff.likely_table_renames {
        s.warnings.push(format!(
            "table `{old}` is dropped and `{new}` created with the same columns: a rename? pass `--rename {old}={new}`"
        ));
        s.push(format!("-- likely a rename: {}", rename_table(old, new)), "");
    }
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
        s.push(format!("-- dbmigrate:destructive\nDROP TABLE {};", quote(&t.name)), down);
    }
    plans.iter().for_each(|p| p.created_indexes(&mut s));
    let join = |parts: Vec<&str>| parts.into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join("\n\n");
    let up = join(s.list.iter().map(|(u, _)| u.as_str()).collect());
    let down = join(s.list.iter().rev().map(|(_, d)| d.as_str()).collect());
    Ok(Migration { up: up + "\n", down: down + "\n", warnings: s.warnings })
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
    !c.primary_key && !t.constrains(&c.name) && constant && (!c.not_null || c.default.is_some())
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
}

impl<'a> Plan<'a> {
    fn new(d: &'a TableDiff) -> Self {
        let rebuild = d.constraints_changed
            || !d.changed.is_empty()
            || d.added.iter().any(|c| needs_backfill(&d.to, c) || !addable(&d.to, c))
            || d.dropped.iter().any(|c| !addable(&d.from, c));
        Plan { d, rebuild }
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
                .filter(|c| d.from.column(&c.name).is_some() || backfilled(&c.name))
                .map(|c| (c.name.clone(), c.name.clone()))
                .collect();
        let renamed = |old: &str| -> String {
            d.renamed_columns.iter().find(|(o, _)| o == old).map_or(old, |(_, n)| n.as_str()).to_owned()
        };
        // The old table's text names its columns as they were before any rename.
        let down_copy: Vec<(String, String)> = original_columns(d)
            .into_iter()
            .filter(|old| d.to.column(&renamed(old)).is_some())
            .map(|old| (old.to_owned(), renamed(old)))
            .collect();
        let mut up = String::new();
        if !d.dropped.is_empty() {
            up.push_str("-- dbmigrate:destructive\n");
            for c in &d.dropped {
                s.warnings.push(format!("dropping column `{}.{}` loses its data", d.to.name, c.name));
            }
        }
        up.push_str(&rebuild_sql(&d.to, &up_copy));
        let mut down = rebuild_sql(&d.from, &down_copy);
        if !d.added.is_empty() {
            down = format!("-- The values of the added columns are not kept.\n{down}");
        }
        s.push(up, down);
    }

    fn dropped_columns(&self, s: &mut Steps) {
        if self.rebuild {
            return;
        }
        let name = self.name();
        for c in &self.d.dropped {
            s.warnings.push(format!("dropping column `{}.{}` loses its data", self.d.to.name, c.name));
            let up = format!("-- dbmigrate:destructive\nALTER TABLE {name} DROP COLUMN {};", quote(&c.name));
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

/// SQLite's documented rebuild: the new definition under a scratch name, the rows copied
/// (`copy`: target column, source column), the old table dropped, the new one renamed, and
/// its indexes created again. A NOT NULL column without a default that nothing fills gets a
/// placeholder, marked for a person to replace.
fn rebuild_sql(t: &Table, copy: &[(String, String)]) -> String {
    let scratch = format!("dbmigrate_new_{}", t.name);
    let mut into: Vec<String> = copy.iter().map(|(c, _)| quote(c)).collect();
    let mut from: Vec<String> = copy.iter().map(|(_, c)| quote(c)).collect();
    let unfilled: Vec<&Column> = t
        .columns
        .iter()
        .filter(|c| c.not_null && c.default.is_none() && !c.primary_key && !copy.iter().any(|(n, _)| *n == c.name))
        .collect();
    let mut out = vec![
        "-- SQLite cannot make this change with ALTER TABLE: the table is rebuilt.".to_owned(),
        format!("{};", table_sql(t, &scratch)),
    ];
    for c in &unfilled {
        into.push(quote(&c.name));
        from.push(placeholder(&c.decl_type).to_owned());
        out.push(format!("-- dbmigrate:todo replace the placeholder copied into `{}` with each row's value", c.name));
    }
    out.push(format!(
        "INSERT INTO {} ({}) SELECT {} FROM {};",
        quote(&scratch),
        into.join(", "),
        from.join(", "),
        quote(&t.name)
    ));
    out.push(format!("DROP TABLE {};", quote(&t.name)));
    out.push(format!("ALTER TABLE {} RENAME TO {};", quote(&scratch), quote(&t.name)));
    out.extend(t.indexes.values().map(|i| format!("{};", i.sql.as_deref().unwrap_or_default())));
    if !t.foreign_keys.is_empty() {
        out.push(foreign_key_check(&t.name));
    }
    out.join("\n")
}

/// SQLite's `PRAGMA foreign_key_check` of the rebuilt table, made to fail the migration (and
/// roll it back) when a copied row no longer satisfies its foreign keys.
fn foreign_key_check(table: &str) -> String {
    let literal = format!("'{}'", table.replace('\'', "''"));
    [
        "-- Its rows must still satisfy its foreign keys (PRAGMA foreign_key_check).",
        "CREATE TEMP TABLE dbmigrate_fk_check (rows_violating_foreign_keys INTEGER CHECK (rows_violating_foreign_keys = 0));",
        &format!("INSERT INTO dbmigrate_fk_check SELECT count(*) FROM pragma_foreign_key_check({literal});"),
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

    fn render(now: Vec<Table>, want: Vec<Table>) -> Result<Migration, String> {
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
        let m = render(vec![users(&[])], vec![want]).expect("renders");
        assert_eq!(
            m.up,
            "ALTER TABLE \"users\" ADD COLUMN \"phone\" TEXT;\n\nCREATE INDEX users_phone ON users (phone);\n"
        );
        assert_eq!(m.down, "DROP INDEX \"users_phone\";\n\nALTER TABLE \"users\" DROP COLUMN \"phone\";\n");
    }

    #[test]
    fn a_rebuild_of_a_referenced_table_is_refused() {
        let nick = Column { name: "nick".into(), decl_type: "TEXT".into(), not_null: true, ..Column::default() };
        let mut posts = Table { name: "posts".into(), ..Table::default() };
        let fk = ForeignKey { columns: vec!["user_id".into()], ref_table: "users".into(), ..ForeignKey::default() };
        posts.foreign_keys.insert(fk);
        let why = render(vec![users(&[]), posts.clone()], vec![users(&[nick]), posts]).expect_err("refused");
        assert!(why.contains("table `users` needs a rebuild") && why.contains("`posts`"), "{why}");
    }

    #[test]
    fn placeholders_follow_the_type_affinity() {
        assert_eq!(placeholder("BIGINT"), "0");
        assert_eq!(placeholder("varchar(20)"), "''");
        assert_eq!(placeholder("BLOB"), "x''");
        assert_eq!(placeholder("REAL"), "0");
    }
}
