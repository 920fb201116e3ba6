//! The differ: what changes turn one schema into another, free of any dialect, in an order
//! that respects foreign keys (created parents first, dropped children first).

use super::model::{Column, Index, Schema, Table};
use std::collections::{BTreeMap, BTreeSet};

/// Renames the user declared (`--rename old=new`, `--rename table.col=newcol`): without them a
/// rename reads as a drop and an add.
#[derive(Debug, Clone, Default)]
pub struct Renames {
    /// Old table name to new.
    pub tables: BTreeMap<String, String>,
    /// (table as desired, old column) to new column.
    pub columns: BTreeMap<(String, String), String>,
}

/// Everything that differs between a current and a desired schema.
#[derive(Debug, Clone, Default)]
pub struct Difference {
    /// Tables to rename, old to new.
    pub renamed_tables: Vec<(String, String)>,
    /// New tables, each after the tables it references.
    pub created: Vec<Table>,
    /// Removed tables, each before the tables it references.
    pub dropped: Vec<Table>,
    /// Tables in both whose definition differs.
    pub altered: Vec<TableDiff>,
    /// A removed and a new table of the same columns: (removed, new).
    pub likely_table_renames: Vec<(String, String)>,
    /// Schemas to create and to drop (PostgreSQL).
    pub created_schemas: Vec<String>,
    pub dropped_schemas: Vec<String>,
    /// Enum types to create and to drop, with their labels (PostgreSQL).
    pub created_enums: Vec<(String, Vec<String>)>,
    pub dropped_enums: Vec<(String, Vec<String>)>,
    /// Enum types in both whose labels differ: (name, current labels, desired labels).
    pub changed_enums: Vec<(String, Vec<String>, Vec<String>)>,
    /// The desired schema's columns of each changed enum type, as (table, column): converting
    /// the type back (a down) converts them.
    pub enum_columns: BTreeMap<String, Vec<(String, Column)>>,
}

/// How one table differs. `from` carries the desired name when the table is renamed.
#[derive(Debug, Clone, Default)]
pub struct TableDiff {
    pub from: Table,
    pub to: Table,
    /// Columns to rename, old to new.
    pub renamed_columns: Vec<(String, String)>,
    pub added: Vec<Column>,
    pub dropped: Vec<Column>,
    /// (current, desired) of a column in both that differs.
    pub changed: Vec<(Column, Column)>,
    /// The primary key, a unique constraint or a foreign key differs.
    pub constraints_changed: bool,
    /// Indexes removed or changed (dropped first), and new or changed (created last).
    pub dropped_indexes: Vec<Index>,
    pub created_indexes: Vec<Index>,
    /// A dropped and an added column of the same type: (dropped, added).
    pub likely_renames: Vec<(String, String)>,
    /// Other tables, current or desired, whose foreign keys point at this one.
    pub referenced_by: BTreeSet<String>,
}

impl Difference {
    /// Whether the two schemas are the same.
    pub fn is_empty(&self) -> bool {
        self.renamed_tables.is_empty()
            && self.created.is_empty()
            && self.dropped.is_empty()
            && self.altered.is_empty()
            && self.created_schemas.is_empty()
            && self.dropped_schemas.is_empty()
            && self.created_enums.is_empty()
            && self.dropped_enums.is_empty()
            && self.changed_enums.is_empty()
    }

    /// One lowercase line per difference, for findings and summaries.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(self.created_schemas.iter().map(|s| format!("schema `{s}` is missing")));
        out.extend(self.created_enums.iter().map(|(e, _)| format!("enum type `{e}` is missing")));
        for (name, now, want) in &self.changed_enums {
            out.push(format!("enum type `{name}` has the labels {} but should have {}", labels(now), labels(want)));
        }
        for (from, to) in &self.renamed_tables {
            out.push(format!("table `{from}` is renamed to `{to}`"));
        }
        out.extend(self.created.iter().map(|t| format!("table `{}` is missing", t.name)));
        out.extend(self.dropped.iter().map(|t| format!("table `{}` is not in the desired schema", t.name)));
        for t in &self.altered {
            out.extend(t.describe());
        }
        out.extend(self.dropped_enums.iter().map(|(e, _)| format!("enum type `{e}` is not in the desired schema")));
        out.extend(self.dropped_schemas.iter().map(|s| format!("schema `{s}` is not in the desired schema")));
        out
    }
}

fn labels(list: &[String]) -> String {
    let quoted: Vec<String> = list.iter().map(|l| format!("'{l}'")).collect();
    format!("({})", quoted.join(", "))
}

impl TableDiff {
    fn is_empty(&self) -> bool {
        self.renamed_columns.is_empty()
            && self.added.is_empty()
            && self.dropped.is_empty()
            && self.changed.is_empty()
            && !self.constraints_changed
            && self.dropped_indexes.is_empty()
            && self.created_indexes.is_empty()
            && self.from.comment == self.to.comment
            && self.from.options == self.to.options
    }

    fn describe(&self) -> Vec<String> {
        let t = &self.to.name;
        let mut out = Vec::new();
        for (from, to) in &self.renamed_columns {
            out.push(format!("column `{t}.{from}` is renamed to `{to}`"));
        }
        out.extend(self.added.iter().map(|c| format!("column `{t}.{}` is missing", c.name)));
        out.extend(self.dropped.iter().map(|c| format!("column `{t}.{}` is not in the desired schema", c.name)));
        for (now, want) in &self.changed {
            if column_shape(now) == column_shape(want) {
                out.push(format!("the comment, identity or generation of column `{t}.{}` differs", now.name));
                continue;
            }
            out.push(format!(
                "column `{t}.{}` is {} but should be {}",
                now.name,
                column_shape(now),
                column_shape(want)
            ));
        }
        if self.from.comment != self.to.comment {
            out.push(format!("the comment on table `{t}` differs"));
        }
        for (key, want) in &self.to.options {
            if let Some(now) = self.from.options.get(key).filter(|now| *now != want) {
                out.push(format!("table `{t}` has {key}={now} but should have {key}={want}"));
            }
        }
        if self.constraints_changed {
            out.push(format!("the keys, unique or check constraints of table `{t}` differ"));
        }
        let created: BTreeSet<&str> = self.created_indexes.iter().map(|i| i.name.as_str()).collect();
        for i in &self.dropped_indexes {
            let how = if created.contains(i.name.as_str()) { "differs" } else { "is not in the desired schema" };
            out.push(format!("index `{}` on `{t}` {how}", i.name));
        }
        let dropped: BTreeSet<&str> = self.dropped_indexes.iter().map(|i| i.name.as_str()).collect();
        for i in self.created_indexes.iter().filter(|i| !dropped.contains(i.name.as_str())) {
            out.push(format!("index `{}` on `{t}` is missing", i.name));
        }
        out
    }
}

fn column_shape(c: &Column) -> String {
    let ty = if c.decl_type.is_empty() { "untyped" } else { &c.decl_type };
    let null = if c.not_null { "not null" } else { "nullable" };
    match &c.default {
        Some(d) => format!("`{ty} {null} default {d}`"),
        None => format!("`{ty} {null}`"),
    }
}

/// What turns `current` into `desired`, given the declared renames.
pub fn differences(current: &Schema, desired: &Schema, renames: &Renames) -> Difference {
    let mut diff = Difference::default();
    types_and_schemas(current, desired, &mut diff);
    let mut current_tables = current.tables.clone();
    for (old, new) in &renames.tables {
        if desired.tables.contains_key(new)
            && !current.tables.contains_key(new)
            && let Some(mut t) = current_tables.remove(old)
        {
            t.name.clone_from(new);
            for i in t.indexes.values_mut() {
                i.table.clone_from(new);
                i.sql = i.sql.as_deref().map(|sql| retarget_index(sql, old, new));
            }
            current_tables.insert(new.clone(), t);
            diff.renamed_tables.push((old.clone(), new.clone()));
            // The database follows a rename in the other tables' foreign keys.
            current_tables.values_mut().for_each(|other| retarget_foreign_keys(other, old, new));
        }
    }
    let created: Vec<&Table> = desired.tables.values().filter(|t| !current_tables.contains_key(&t.name)).collect();
    let dropped: Vec<&Table> = current_tables.values().filter(|t| !desired.tables.contains_key(&t.name)).collect();
    for d in &dropped {
        for c in created.iter().filter(|c| same_columns(d, c)) {
            diff.likely_table_renames.push((d.name.clone(), c.name.clone()));
        }
    }
    diff.created = parents_first(&created);
    diff.dropped = parents_first(&dropped).into_iter().rev().collect();
    for (name, want) in &desired.tables {
        let Some(now) = current_tables.get(name) else { continue };
        let mut t = table_diff(now, want, renames);
        let referencing = current_tables.values().chain(desired.tables.values());
        t.referenced_by = referencing
            .filter(|o| o.name != *name && o.references().contains(name.as_str()))
            .map(|o| o.name.clone())
            .collect();
        if !t.is_empty() {
            diff.altered.push(t);
        }
    }
    diff
}

/// An index's text after its table `old` is renamed `new`, as the database rewrites it
/// (`ON users`, `ON "users"`, PostgreSQL's `ON public.users`).
fn retarget_index(sql: &str, old: &str, new: &str) -> String {
    let bare = |n: &str| n.rsplit('.').next().unwrap_or(n).to_owned();
    let forms = |n: &str| {
        let b = bare(n);
        let schema = n.split_once('.').map_or("public", |(s, _)| s).to_owned();
        [format!(" ON {schema}.{b} "), format!(" ON \"{b}\""), format!(" ON {b} "), format!(" ON {b}(")]
    };
    let (from, to) = (forms(old), forms(new));
    from.iter()
        .zip(&to)
        .find(|(f, _)| sql.contains(f.as_str()))
        .map_or(sql.to_owned(), |(f, t)| sql.replacen(f.as_str(), t, 1))
}

/// `t`'s foreign keys to table `old` made to point at `new`.
fn retarget_foreign_keys(t: &mut Table, old: &str, new: &str) {
    let fix = |mut f: super::model::ForeignKey| {
        if f.ref_table == old {
            f.ref_table = new.to_owned();
        }
        f
    };
    t.foreign_keys = std::mem::take(&mut t.foreign_keys).into_iter().map(fix).collect();
    t.foreign_key_names = std::mem::take(&mut t.foreign_key_names).into_iter().map(|(f, n)| (fix(f), n)).collect();
}

/// The schemas and enum types to create, drop or change.
fn types_and_schemas(current: &Schema, desired: &Schema, diff: &mut Difference) {
    diff.created_schemas = desired.schemas.difference(&current.schemas).cloned().collect();
    diff.dropped_schemas = current.schemas.difference(&desired.schemas).cloned().collect();
    for (name, want) in &desired.enums {
        match current.enums.get(name) {
            None => diff.created_enums.push((name.clone(), want.clone())),
            Some(now) if now != want => {
                diff.changed_enums.push((name.clone(), now.clone(), want.clone()));
                let bare = name.rsplit('.').next().unwrap_or(name);
                let uses = |c: &&Column| c.decl_type == *name || c.decl_type == format!("\"{bare}\"");
                let columns = desired.tables.values().flat_map(|t| {
                    t.columns.iter().filter(uses).map(|c| (t.name.clone(), c.clone())).collect::<Vec<_>>()
                });
                diff.enum_columns.insert(name.clone(), columns.collect());
            }
            Some(_) => {}
        }
    }
    let gone = current.enums.iter().filter(|(n, _)| !desired.enums.contains_key(*n));
    diff.dropped_enums = gone.map(|(n, l)| (n.clone(), l.clone())).collect();
}

fn same_columns(a: &Table, b: &Table) -> bool {
    let shape =
        |t: &Table| t.columns.iter().map(|c| (c.decl_type.to_ascii_lowercase(), c.not_null)).collect::<Vec<_>>();
    shape(a) == shape(b)
}

/// `tables` ordered so that each comes after the tables among them it references; a cycle is
/// broken in name order.
fn parents_first(tables: &[&Table]) -> Vec<Table> {
    let names: BTreeSet<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    while out.len() < tables.len() {
        let ready = tables.iter().find(|t| {
            !done.contains(t.name.as_str()) && t.references().iter().all(|r| !names.contains(r) || done.contains(r))
        });
        // A cycle: take the first one left.
        let next = ready.or_else(|| tables.iter().find(|t| !done.contains(t.name.as_str())));
        let Some(next) = next else { break };
        done.insert(&next.name);
        out.push((*next).clone());
    }
    out
}

fn table_diff(now: &Table, want: &Table, renames: &Renames) -> TableDiff {
    let mut from = now.clone();
    let mut d = TableDiff::default();
    for ((table, old), new) in &renames.columns {
        if *table == want.name
            && want.column(new).is_some()
            && from.column(new).is_none()
            && let Some(c) = from.columns.iter_mut().find(|c| c.name == *old)
        {
            c.name.clone_from(new);
            rename_in_keys(&mut from, old, new);
            d.renamed_columns.push((old.clone(), new.clone()));
        }
    }
    for c in &want.columns {
        match from.column(&c.name) {
            None => d.added.push(c.clone()),
            Some(old) if !old.same_as(c) => d.changed.push((old.clone(), c.clone())),
            Some(_) => {}
        }
    }
    d.dropped = from.columns.iter().filter(|c| want.column(&c.name).is_none()).cloned().collect();
    for gone in &d.dropped {
        if let Some(new) = d.added.iter().find(|a| a.decl_type.eq_ignore_ascii_case(&gone.decl_type)) {
            d.likely_renames.push((gone.name.clone(), new.name.clone()));
        }
    }
    d.constraints_changed = from.primary_key != want.primary_key
        || from.uniques != want.uniques
        || from.foreign_keys != want.foreign_keys
        || from.checks != want.checks;
    let differs = |a: &Index, b: Option<&Index>| b.is_none_or(|b| a.shape() != b.shape());
    d.dropped_indexes = from.indexes.values().filter(|i| differs(i, want.indexes.get(&i.name))).cloned().collect();
    d.created_indexes = want.indexes.values().filter(|i| differs(i, from.indexes.get(&i.name))).cloned().collect();
    d.from = from;
    d.to = want.clone();
    d
}

/// Follows a column rename through the keys, so a renamed key column is not a key change.
fn rename_in_keys(t: &mut Table, old: &str, new: &str) {
    let fix = |cols: &mut Vec<String>| cols.iter_mut().filter(|c| *c == old).for_each(|c| *c = new.to_owned());
    fix(&mut t.primary_key);
    t.uniques = std::mem::take(&mut t.uniques)
        .into_iter()
        .map(|mut u| {
            fix(&mut u);
            u
        })
        .collect();
    t.foreign_keys = std::mem::take(&mut t.foreign_keys)
        .into_iter()
        .map(|mut f| {
            fix(&mut f.columns);
            f
        })
        .collect();
    t.unique_names = std::mem::take(&mut t.unique_names)
        .into_iter()
        .map(|(mut u, n)| {
            fix(&mut u);
            (u, n)
        })
        .collect();
    t.foreign_key_names = std::mem::take(&mut t.foreign_key_names)
        .into_iter()
        .map(|(mut f, n)| {
            fix(&mut f.columns);
            (f, n)
        })
        .collect();
    for i in t.indexes.values_mut() {
        fix(&mut i.columns);
        i.sql = i.sql.as_deref().map(|sql| rename_word(sql, old, new));
    }
    // The database rewrites a renamed column in its index and check definitions too.
    t.checks = std::mem::take(&mut t.checks).into_iter().map(|c| rename_word(&c, old, new)).collect();
    t.check_names =
        std::mem::take(&mut t.check_names).into_iter().map(|(c, n)| (rename_word(&c, old, new), n)).collect();
}

/// `sql` with each identifier `old` (bare or double-quoted, outside string literals) as `new`.
fn rename_word(sql: &str, old: &str, new: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    while let Some(c) = rest.chars().next() {
        if c == '\'' {
            let end = rest[1..].find('\'').map_or(rest.len(), |i| i + 2);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else if c == '"' {
            let end = rest[1..].find('"').map_or(rest.len(), |i| i + 2);
            let word = &rest[..end];
            if word.trim_matches('"') == old {
                out.push_str(&format!("\"{new}\""));
            } else {
                out.push_str(word);
            }
            rest = &rest[end..];
        } else if ident(c) {
            let end = rest.find(|ch: char| !ident(ch)).unwrap_or(rest.len());
            out.push_str(if &rest[..end] == old { new } else { &rest[..end] });
            rest = &rest[end..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, ty: &str) -> Column {
        Column { name: name.into(), decl_type: ty.into(), ..Column::default() }
    }

    fn table(name: &str, cols: &[Column]) -> Table {
        Table { name: name.into(), columns: cols.to_vec(), ..Table::default() }
    }

    fn schema(tables: &[Table]) -> Schema {
        Schema { tables: tables.iter().map(|t| (t.name.clone(), t.clone())).collect(), ..Schema::default() }
    }

    #[test]
    fn same_schema_no_difference() {
        let s = schema(&[table("a", &[col("id", "INTEGER")])]);
        assert!(differences(&s, &s, &Renames::default()).is_empty());
    }

    #[test]
    fn parents_are_created_first_and_dropped_last() {
        let mut child = table("a_child", &[col("p", "INTEGER")]);
        child.foreign_keys.insert(crate::schema::ForeignKey {
            columns: vec!["p".into()],
            ref_table: "z_parent".into(),
            ref_columns: vec!["id".into()],
            ..Default::default()
        });
        let both = schema(&[child, table("z_parent", &[col("id", "INTEGER")])]);
        let d = differences(&Schema::default(), &both, &Renames::default());
        assert_eq!(d.created.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["z_parent", "a_child"]);
        let d = differences(&both, &Schema::default(), &Renames::default());
        assert_eq!(d.dropped.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["a_child", "z_parent"]);
    }

    #[test]
    fn a_drop_and_add_of_one_type_is_a_likely_rename_until_declared() {
        let now = schema(&[table("t", &[col("id", "INTEGER"), col("mail", "TEXT")])]);
        let want = schema(&[table("t", &[col("id", "INTEGER"), col("email", "TEXT")])]);
        let d = differences(&now, &want, &Renames::default());
        assert_eq!(d.altered[0].likely_renames, [("mail".to_owned(), "email".to_owned())]);
        let mut renames = Renames::default();
        renames.columns.insert(("t".into(), "mail".into()), "email".into());
        let d = differences(&now, &want, &renames);
        assert_eq!(d.altered[0].renamed_columns, [("mail".to_owned(), "email".to_owned())]);
        assert!(d.altered[0].added.is_empty() && d.altered[0].dropped.is_empty());
    }

    #[test]
    fn a_table_rename_carries_its_indexes_and_the_keys_that_point_at_it() {
        let mut old = table("users", &[col("id", "integer")]);
        let index = |t: &str| Index {
            name: "users_id".into(),
            table: t.into(),
            sql: Some(format!("CREATE INDEX users_id ON public.{t} USING btree (id)")),
            ..Index::default()
        };
        old.indexes.insert("users_id".into(), index("users"));
        let mut new = old.clone();
        new.name = "people".into();
        new.indexes.insert("users_id".into(), index("people"));
        let fk = |t: &str| crate::schema::ForeignKey {
            columns: vec!["u".into()],
            ref_table: t.into(),
            ..Default::default()
        };
        let mut posts = table("posts", &[col("u", "integer")]);
        posts.foreign_keys.insert(fk("users"));
        let mut posts_after = posts.clone();
        posts_after.foreign_keys = [fk("people")].into();
        let mut renames = Renames::default();
        renames.tables.insert("users".into(), "people".into());
        let d = differences(&schema(&[old, posts]), &schema(&[new, posts_after]), &renames);
        assert_eq!(d.renamed_tables, [("users".to_owned(), "people".to_owned())]);
        assert!(d.altered.is_empty(), "{:#?}", d.describe());
    }

    #[test]
    fn a_renamed_column_is_renamed_in_index_and_check_text_but_not_in_literals() {
        assert_eq!(
            rename_word(
                "CREATE INDEX m ON public.t USING btree (lower((mail)::text)) WHERE mail <> 'mail'",
                "mail",
                "email"
            ),
            "CREATE INDEX m ON public.t USING btree (lower((email)::text)) WHERE email <> 'mail'"
        );
        assert_eq!(rename_word("CHECK ((\"mail\" > ''))", "mail", "email"), "CHECK ((\"email\" > ''))");
        assert_eq!(rename_word("CHECK ((mailbox > 0))", "mail", "email"), "CHECK ((mailbox > 0))");
    }

    #[test]
    fn a_declared_table_rename_compares_the_renamed_table() {
        let now = schema(&[table("old", &[col("id", "INTEGER")])]);
        let want = schema(&[table("new", &[col("id", "INTEGER")])]);
        let mut renames = Renames::default();
        renames.tables.insert("old".into(), "new".into());
        let d = differences(&now, &want, &renames);
        assert_eq!(d.renamed_tables, [("old".to_owned(), "new".to_owned())]);
        assert!(d.created.is_empty() && d.dropped.is_empty() && d.altered.is_empty());
    }
}
