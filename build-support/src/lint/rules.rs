//! The lint rules over one up file's statements for one dialect: the common ones (NOT NULL
//! without default, data loss, renames) and each dialect's own.

use super::markers::Markers;
use super::parse::{Action, Stmt, is_wide, statement};
use super::tokens::{lex, lex_head};
use super::{Context, Hit};
use crate::Rule;
use dbmigrate_core::Dialect;
use dbmigrate_core::split::{self, Statement};
use std::collections::BTreeSet;

/// What the file did so far: the tables it created (not "existing": they hold no rows yet),
/// the NOT NULL checks it validated, whether it set a lock timeout.
#[derive(Default)]
struct State {
    created: BTreeSet<String>,
    checked: BTreeSet<(String, String)>,
    unvalidated: BTreeSet<(String, String)>,
    lock_timeout_set: bool,
    lock_warned: bool,
    /// Lines of statements that change something (not `SET`), and of MySQL DDL ones.
    changes: Vec<usize>,
    ddl: Vec<usize>,
    /// Tables the file rebuilds: a table it creates is renamed to their name, so dropping the
    /// old one loses nothing (SQLite's documented way to change a table; `diff` writes it).
    rebuilt: BTreeSet<String>,
    /// Every table the file creates, before or after: renaming one away to re-create it is the
    /// other way to rebuild a table, not a rename old code would notice.
    recreated: BTreeSet<String>,
}

/// The tables `parsed` rebuilds: `ALTER TABLE new RENAME TO old` where the file created `new`.
fn rebuilt(parsed: &[(Statement<'_>, Stmt)]) -> BTreeSet<String> {
    let created: BTreeSet<&String> = parsed
        .iter()
        .filter_map(|(_, s)| if let Stmt::CreateTable { table } = s { Some(table) } else { None })
        .collect();
    let mut out = BTreeSet::new();
    for (_, s) in parsed {
        let Stmt::AlterTable { table, actions } = s else { continue };
        if created.contains(table) {
            out.extend(actions.iter().filter_map(|a| match a {
                Action::RenameTable { to } => to.clone(),
                _ => None,
            }));
        }
    }
    out
}

/// The statements of `text` as `dialect` splits them, and whether they could be split.
fn statements(text: &str, dialect: Dialect) -> (Vec<Statement<'_>>, bool) {
    match dialect {
        Dialect::Sqlite => (split::sqlite::split(text), true),
        Dialect::Mysql => (split::split_mysql(text), true),
        // A script the splitter does not model is sent whole by the engine: read it whole too.
        Dialect::Postgres => match split::split_postgres(text) {
            Some(statements) => (statements, true),
            None => (vec![Statement { sql: text, line: 1 }], false),
        },
    }
}

/// One statement: its first words decide whether the rest must be read (ALTER, DROP, RENAME,
/// CREATE INDEX); a CREATE TABLE or an INSERT is known by its head alone.
fn read(sql: &str, dialect: Dialect) -> Stmt {
    let head = lex_head(sql, dialect, 12);
    let whole = head.first().is_some_and(|t| t.is("ALTER") || t.is("DROP") || t.is("RENAME"))
        || (head.first().is_some_and(|t| t.is("CREATE")) && head.iter().any(|t| t.is("INDEX")));
    if whole { statement(&lex(sql, dialect)) } else { statement(&head) }
}

/// Every hit of the rules in `text` for `dialect`.
pub fn check(text: &str, dialect: Dialect, markers: &Markers, cx: &Context) -> Vec<Hit> {
    let mut st = State::default();
    let mut hits = Vec::new();
    let (split, whole) = statements(text, dialect);
    if !whole {
        let message = "the file cannot be split into statements (a `BEGIN ATOMIC` body, a `;` inside parentheses, a psql command): no rule checked what follows its first statement";
        hits.push(not_checked(1, message.to_owned()));
    }
    let parsed: Vec<(Statement<'_>, Stmt)> = split
        .into_iter()
        .map(|s| {
            let stmt = read(s.sql, dialect);
            (s, stmt)
        })
        .collect();
    st.rebuilt = rebuilt(&parsed);
    st.recreated = parsed
        .iter()
        .filter_map(|(_, s)| if let Stmt::CreateTable { table } = s { Some(table.clone()) } else { None })
        .collect();
    for (s, stmt) in parsed {
        if !matches!(stmt, Stmt::Set | Stmt::SetLockTimeout) {
            st.changes.push(s.line);
            if dialect == Dialect::Mysql && split::mysql_commits_implicitly(s.sql) {
                st.ddl.push(s.line);
            }
        }
        common(&stmt, s.line, &mut st, &mut hits);
        match dialect {
            Dialect::Postgres => postgres(&stmt, s.line, markers, cx, &mut st, &mut hits),
            Dialect::Sqlite => sqlite(&stmt, s.line, &mut hits),
            Dialect::Mysql => {}
        }
        if let Stmt::CreateTable { table } = stmt {
            st.created.insert(table);
        }
    }
    whole_file(dialect, markers, &st, &mut hits);
    hits
}

fn destructive_help() -> &'static str {
    "copy the data somewhere first if it may be needed; then mark the file `-- dbmigrate:destructive <reason>`"
}

/// The rules every dialect shares.
fn common(stmt: &Stmt, line: usize, st: &mut State, hits: &mut Vec<Hit>) {
    match stmt {
        Stmt::DropTables { tables } => {
            for t in tables.iter().filter(|t| !st.created.contains(*t) && !st.rebuilt.contains(*t)) {
                let message = format!("drops table `{t}`: its rows are lost");
                hits.push(Hit::new(Rule::Destructive, line, message, destructive_help()));
            }
        }
        Stmt::RenameTables => hits.push(rename(line, "renames a table")),
        Stmt::NotChecked { what } => hits.push(not_checked(line, unread(&format!("`{what} …`")))),
        // A table the file creates holds no rows: no rule would find anything to say of it.
        Stmt::AlterTable { table, actions } if !st.created.contains(table) => {
            for a in actions {
                if !(matches!(a, Action::RenameTable { .. }) && st.recreated.contains(table)) {
                    common_action(table, a, line, hits);
                }
            }
        }
        _ => {}
    }
}

/// The info finding for a statement (or action) of a shape the recognisers cannot read.
fn not_checked(line: usize, message: String) -> Hit {
    Hit::new(
        Rule::NotChecked,
        line,
        message,
        "review it by hand for locks and lost rows; `cargo dbmigrate verify` runs it on a scratch database",
    )
}

fn unread(what: &str) -> String {
    format!("{what} is a form the lint cannot read: no rule checked it")
}

fn rename(line: usize, what: &str) -> Hit {
    Hit::new(
        Rule::Rename,
        line,
        format!("{what}: instances still running the old code break during a rolling deploy"),
        "add the new name beside the old one, move the code over, and remove the old name in a later release",
    )
}

fn common_action(table: &str, a: &Action, line: usize, hits: &mut Vec<Hit>) {
    match a {
        Action::AddColumn { column, not_null: true, has_default: false, .. } => hits.push(Hit::new(
            Rule::NotNullWithoutDefault,
            line,
            format!("adds NOT NULL column `{column}` to existing table `{table}` without a default: it fails when the table has rows"),
            "give it a DEFAULT, or add it nullable, fill it, and set NOT NULL in a later migration",
        )),
        Action::DropColumn { column } => hits.push(Hit::new(
            Rule::Destructive,
            line,
            format!("drops column `{table}.{column}`: its values are lost"),
            destructive_help(),
        )),
        Action::ChangeType { column, ty, renamed_from, .. } => {
            if let Some(from) = renamed_from {
                hits.push(rename(line, &format!("renames column `{table}.{from}` to `{column}`")));
            }
            if !is_wide(ty) {
                // The file does not say the column's old type, so this may as well be a
                // widening: a warning, where a drop (certain loss) is an error.
                let mut hit = Hit::new(
                    Rule::Destructive,
                    line,
                    format!("changes column `{table}.{column}` to `{ty}`, which may not hold every existing value"),
                    "if the old type is wider this truncates or fails on existing values: widen instead, or mark the file `-- dbmigrate:destructive <reason>`",
                );
                hit.severity = crate::diagnostic::Severity::Warning;
                hits.push(hit);
            }
        }
        Action::RenameTable { .. } => hits.push(rename(line, &format!("renames table `{table}`"))),
        Action::RenameColumn { from } => hits.push(rename(line, &format!("renames column `{table}.{from}`"))),
        Action::Unknown { form } => hits.push(not_checked(line, unread(&format!("`ALTER TABLE {table} {form} …`")))),
        _ => {}
    }
}

/// PostgreSQL: locks, transactions, validation.
fn postgres(stmt: &Stmt, line: usize, markers: &Markers, cx: &Context, st: &mut State, hits: &mut Vec<Hit>) {
    let no_tx_help =
        "put `-- dbmigrate:no-transaction` on the file's first line, with this statement alone in the file";
    let locks = match stmt {
        Stmt::SetLockTimeout => {
            st.lock_timeout_set = true;
            false
        }
        Stmt::CreateIndex { concurrently: true, .. } | Stmt::DropIndexConcurrently if !markers.no_transaction => {
            let message = "`CONCURRENTLY` cannot run inside a transaction, and this file runs in one";
            hits.push(Hit::new(Rule::NeedsNoTransaction, line, message, no_tx_help));
            false
        }
        Stmt::AlterTypeAddValue if !markers.no_transaction => {
            let message = "`ALTER TYPE … ADD VALUE` cannot run inside a transaction before PostgreSQL 12, and its value is unusable in the same transaction after";
            hits.push(Hit::new(Rule::NeedsNoTransaction, line, message, no_tx_help));
            false
        }
        Stmt::CreateIndex { table, concurrently: false } if !st.created.contains(table) => {
            hits.push(Hit::new(
                Rule::IndexNotConcurrent,
                line,
                format!("creates an index on existing table `{table}` without CONCURRENTLY: writes to it wait until the index is built"),
                "use `CREATE INDEX CONCURRENTLY` in a file of its own starting with `-- dbmigrate:no-transaction`",
            ));
            true
        }
        Stmt::DropTables { tables } => tables.iter().any(|t| !st.created.contains(t) && !st.rebuilt.contains(t)),
        Stmt::AlterTable { table, actions } if !st.created.contains(table) => {
            for a in actions {
                postgres_action(table, a, line, st, hits);
            }
            true
        }
        _ => false,
    };
    if locks && !cx.lock_timeout && !st.lock_timeout_set && !st.lock_warned {
        st.lock_warned = true;
        hits.push(Hit::new(
            Rule::LockTimeoutMissing,
            line,
            "takes a lock on an existing table without `lock_timeout`: behind a long query it waits, and every query on the table waits behind it",
            "set `ddl-lock-timeout = 5` in `[package.metadata.dbmigrate]`, or start the file with `SET lock_timeout = '5s';`",
        ));
    }
}

fn postgres_action(table: &str, a: &Action, line: usize, st: &mut State, hits: &mut Vec<Hit>) {
    let key = |c: &str| (table.to_owned(), c.to_owned());
    match a {
        Action::AddColumn { column, volatile_default: Some(f), .. } => hits.push(Hit::new(
            Rule::VolatileDefault,
            line,
            format!("adds column `{column}` to existing table `{table}` with the volatile default `{f}`: the whole table is rewritten under an exclusive lock"),
            "add the column without a default (or with a constant one), fill it in batches, then set the default",
        )),
        Action::AddForeignKey { not_valid: false } => hits.push(Hit::new(
            Rule::FkWithoutNotValid,
            line,
            format!("adds a foreign key to existing table `{table}` without NOT VALID: both tables are locked while every row is checked"),
            "add it with `NOT VALID`, then `ALTER TABLE … VALIDATE CONSTRAINT …` in a later migration",
        )),
        Action::AddCheck { not_null_of: Some(c), not_valid } => {
            if *not_valid {
                st.unvalidated.insert(key(c));
            } else {
                st.checked.insert(key(c));
            }
        }
        Action::ValidateConstraint => {
            let pending: Vec<_> = st.unvalidated.iter().filter(|(t, _)| t == table).cloned().collect();
            st.checked.extend(pending);
        }
        Action::SetNotNull { column } if !st.checked.contains(&key(column)) => hits.push(Hit::new(
            Rule::SetNotNullWithoutCheck,
            line,
            format!("sets `{table}.{column}` NOT NULL without a validated check: the table is locked while every row is scanned"),
            format!("first add `CHECK ({column} IS NOT NULL) NOT VALID` and `VALIDATE CONSTRAINT` it; then SET NOT NULL uses the check"),
        )),
        _ => {}
    }
}

/// SQLite's ALTER TABLE knows only RENAME TO, RENAME COLUMN, ADD COLUMN and DROP COLUMN, one
/// per statement.
fn sqlite(stmt: &Stmt, line: usize, hits: &mut Vec<Hit>) {
    let Stmt::AlterTable { table, actions } = stmt else { return };
    let help = "rebuild the table: create the new shape, copy the rows, drop the old table, rename the new one (or use `cargo dbmigrate diff`)";
    if actions.len() > 1 {
        let message = format!(
            "alters table `{table}` with {} actions in one statement, which SQLite does not support",
            actions.len()
        );
        hits.push(Hit::new(Rule::SqliteAlterUnsupported, line, message, "write one ALTER TABLE statement per action"));
        return;
    }
    let form = match actions.first() {
        Some(Action::AddConstraint { form } | Action::DropConstraint { form } | Action::RenameOther { form })
        | Some(Action::Other { form } | Action::Unknown { form })
        | Some(Action::ChangeType { form, .. }) => form.clone(),
        Some(Action::AddForeignKey { .. } | Action::AddCheck { .. }) => "ADD CONSTRAINT".to_owned(),
        Some(Action::SetNotNull { .. }) => "ALTER COLUMN".to_owned(),
        Some(Action::ValidateConstraint) => "VALIDATE CONSTRAINT".to_owned(),
        _ => return,
    };
    let message = format!("`ALTER TABLE {table} {form}` is not supported by SQLite");
    hits.push(Hit::new(Rule::SqliteAlterUnsupported, line, message, help));
}

/// Rules about the file as a whole.
fn whole_file(dialect: Dialect, markers: &Markers, st: &State, hits: &mut Vec<Hit>) {
    if dialect == Dialect::Postgres && markers.no_transaction && st.changes.len() > 1 {
        hits.push(Hit::new(
            Rule::NoTransactionMulti,
            st.changes[1],
            format!("the file runs without a transaction and holds {} statements: if one fails, the ones before it stay applied", st.changes.len()),
            "keep one statement per no-transaction file, and the others in their own migrations",
        ));
    }
    if dialect == Dialect::Mysql && st.ddl.len() > 1 {
        hits.push(Hit::new(
            Rule::MysqlMultiDdl,
            st.ddl[1],
            format!("the file holds {} DDL statements: MySQL commits each on its own, so a failure leaves the file half applied", st.ddl.len()),
            "put each DDL statement in a migration of its own",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Context, lint_file};
    use crate::diagnostic::Severity;
    use dbmigrate_core::Dialect;

    /// `(rule, line, severity)` of every finding of `sql` for `dialect`.
    fn found(sql: &str, dialect: Dialect) -> Vec<(&'static str, usize, Severity)> {
        let cx = Context { dialects: vec![dialect], lock_timeout: true, guessed: false };
        let findings = lint_file(sql, false, &cx);
        findings.iter().map(|f| (f.rule.as_str(), f.line.as_ref().map_or(0, |l| l.0), f.severity)).collect()
    }

    fn not_checked(sql: &str, dialect: Dialect) -> Vec<usize> {
        found(sql, dialect).into_iter().filter(|(r, _, _)| *r == "not-checked").map(|(_, l, _)| l).collect()
    }

    /// Table and index DDL the recognisers cannot read is an info, on its line, per dialect.
    #[test]
    fn unread_table_ddl_is_not_checked_as_an_info() {
        for d in Dialect::ALL {
            assert_eq!(not_checked("SELECT 1;\nALTER TABLE t FROBNICATE c;", d), [2], "{d}");
            assert_eq!(not_checked("ALTER TABLE t ALTER COLUMN c WIBBLE;", d), [1], "{d}");
            assert_eq!(not_checked("ALTER IGNORE TABLE t ADD c INT;", d), [1], "{d}");
            assert_eq!(not_checked("CREATE WIDGET w;", d), [1], "an unknown object kind: {d}");
            assert_eq!(not_checked("DROP TABLE;", d), [1], "no table name: {d}");
            assert_eq!(not_checked("CREATE INDEX i;", d), [1], "no ON: {d}");
            let sev: Vec<Severity> = found("ALTER TABLE t FROBNICATE c;", d).iter().map(|f| f.2).collect();
            assert!(sev.contains(&Severity::Info), "{d}: {sev:?}");
        }
        assert_eq!(not_checked("ALTER TABLE t ADD (a INT, b INT);", Dialect::Mysql), [1]);
        assert_eq!(not_checked("ALTER TABLE t ENGINE = InnoDB;", Dialect::Mysql), [1]);
        assert_eq!(not_checked("ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4;", Dialect::Mysql), [1]);
        assert_eq!(not_checked("ALTER TABLE t ATTACH PARTITION p FOR VALUES IN (1);", Dialect::Postgres), [1]);
        // A `BEGIN ATOMIC` body cannot be split: the file is read as one statement.
        let atomic = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\nDROP TABLE t;";
        assert_eq!(not_checked(atomic, Dialect::Postgres), [1]);
    }

    /// What is outside the rules' scope, or known to need no rule, is silent.
    #[test]
    fn out_of_scope_and_harmless_statements_are_silent() {
        let quiet = [
            "INSERT INTO t VALUES (1);",
            "UPDATE t SET a = 1;",
            "DELETE FROM t;",
            "SELECT 1;",
            "GRANT SELECT ON t TO bob;",
            "COMMENT ON TABLE t IS 'x';",
            "CREATE VIEW v AS SELECT 1;",
            "CREATE OR REPLACE VIEW v AS SELECT 1;",
            "CREATE SEQUENCE s;",
            "DROP VIEW v;",
            "DROP INDEX i;",
            "ALTER INDEX i RENAME TO j;",
            "CREATE TRIGGER g AFTER INSERT ON t FOR EACH ROW BEGIN SELECT 1; END;",
            "ALTER TABLE t ALTER COLUMN c SET DEFAULT 1;",
            "ALTER TABLE t ALTER COLUMN c DROP DEFAULT;",
            "ALTER TABLE t OWNER TO bob;",
            "CREATE TABLE n (id INT);\nALTER TABLE n FROBNICATE c;",
        ];
        for d in Dialect::ALL {
            for sql in quiet {
                let got = not_checked(sql, d);
                assert!(got.is_empty(), "{d}: {sql}: {got:?}");
            }
        }
        for sql in
            ["CREATE EXTENSION pgcrypto;", "ALTER TABLE t SET (fillfactor = 70);", "CREATE TYPE m AS ENUM ('a');"]
        {
            assert!(not_checked(sql, Dialect::Postgres).is_empty(), "{sql}");
        }
        let plpgsql =
            "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN ALTER TABLE t FROBNICATE; END $$ LANGUAGE plpgsql;";
        assert!(not_checked(plpgsql, Dialect::Postgres).is_empty(), "a function body is not read");
        for sql in ["ALTER TABLE t DEFAULT CHARSET = utf8mb4;", "ALTER TABLE t AUTO_INCREMENT = 5;"] {
            assert!(not_checked(sql, Dialect::Mysql).is_empty(), "{sql}");
        }
    }

    /// A read statement keeps its rules when one of its actions is not read.
    #[test]
    fn a_known_action_beside_an_unknown_one_is_still_checked() {
        let got = found("ALTER TABLE t DROP COLUMN c, FROBNICATE d;", Dialect::Postgres);
        let rules: Vec<&str> = got.iter().map(|f| f.0).collect();
        assert_eq!(rules, ["destructive", "not-checked"]);
    }
}
