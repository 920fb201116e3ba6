//! Targeted recognisers: the few statement shapes the lint rules are about (CREATE, DROP, ALTER
//! TABLE and its actions, ALTER TYPE, SET lock_timeout), read from tokens.
//!
//! What is outside the rules' scope is [`Stmt::Other`], silently: data (INSERT, UPDATE, DELETE,
//! TRUNCATE, SELECT), access (GRANT, REVOKE), COMMENT, transaction control, and the CREATE,
//! ALTER and DROP of the object kinds in [`OUT_OF_SCOPE`] (functions and their bodies, views,
//! sequences, types, triggers…). A `CREATE`/`ALTER`/`DROP` of a table or an index, or of a kind
//! named nowhere, that the recognisers cannot read is [`Stmt::NotChecked`] (or an
//! [`Action::Unknown`] of an ALTER TABLE): the lint's info finding `not-checked`, never an error.

use super::tokens::{Kind, Tok};

/// A statement, as far as the rules care.
#[derive(Debug, PartialEq, Eq)]
pub enum Stmt {
    CreateTable {
        table: String,
    },
    CreateIndex {
        table: String,
        concurrently: bool,
    },
    DropTables {
        tables: Vec<String>,
    },
    DropIndexConcurrently,
    AlterTable {
        table: String,
        actions: Vec<Action>,
    },
    /// MySQL's `RENAME TABLE a TO b`.
    RenameTables,
    /// PostgreSQL's `ALTER TYPE … ADD VALUE`.
    AlterTypeAddValue,
    /// `SET [LOCAL] lock_timeout …` (PostgreSQL) or `SET … lock_wait_timeout …` (MySQL).
    SetLockTimeout,
    /// Any other `SET`: configuration, not a change that can fail half way.
    Set,
    /// A table or index DDL, or a DDL of an unknown object kind, that could not be read: the
    /// statement's first words (`CREATE FOO`, `ALTER IGNORE`), for the message.
    NotChecked {
        what: String,
    },
    /// Outside the rules' scope, or known to need no rule.
    Other,
}

/// One action of an `ALTER TABLE`.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    AddColumn {
        column: String,
        not_null: bool,
        has_default: bool,
        volatile_default: Option<String>,
    },
    AddForeignKey {
        not_valid: bool,
    },
    /// A CHECK constraint; `not_null_of` is the column of a `col IS NOT NULL` in it.
    AddCheck {
        not_null_of: Option<String>,
        not_valid: bool,
    },
    /// Any other constraint, or an index (MySQL's `ADD INDEX`).
    AddConstraint {
        form: String,
    },
    DropColumn {
        column: String,
    },
    DropConstraint {
        form: String,
    },
    /// `RENAME TO x`, with the new name when it could be read.
    RenameTable {
        to: Option<String>,
    },
    RenameColumn {
        from: String,
    },
    RenameOther {
        form: String,
    },
    /// A column's type changes (`ALTER COLUMN … TYPE`, MySQL's `MODIFY`/`CHANGE`); `renamed_from`
    /// is the old name when a `CHANGE` also renames it.
    ChangeType {
        column: String,
        ty: String,
        renamed_from: Option<String>,
        form: String,
    },
    SetNotNull {
        column: String,
    },
    ValidateConstraint,
    /// A form known to need no rule (`OWNER TO`, `ALTER COLUMN … SET DEFAULT`, `COMMENT = …`).
    Other {
        form: String,
    },
    /// A form the recognisers cannot read: not checked.
    Unknown {
        form: String,
    },
}

/// Object kinds whose CREATE, ALTER and DROP no rule is about: they hold no rows of their own
/// (or the lint does not look inside them, like a function's body). Said silently, not
/// `not-checked`.
pub const OUT_OF_SCOPE: &[&str] = &[
    "FUNCTION",
    "PROCEDURE",
    "ROUTINE",
    "TRIGGER",
    "EVENT",
    "VIEW",
    "MATERIALIZED",
    "SEQUENCE",
    "TYPE",
    "DOMAIN",
    "EXTENSION",
    "SCHEMA",
    "DATABASE",
    "ROLE",
    "USER",
    "GROUP",
    "POLICY",
    "RULE",
    "AGGREGATE",
    "OPERATOR",
    "COLLATION",
    "CONVERSION",
    "CAST",
    "LANGUAGE",
    "TEXT",
    "STATISTICS",
    "PUBLICATION",
    "SUBSCRIPTION",
    "SERVER",
    "FOREIGN",
    "TABLESPACE",
    "DEFAULT",
    "OWNED",
    "SYSTEM",
    "DEFINER",
    "ALGORITHM",
    "SQL",
    "VIRTUAL",
    "TRANSFORM",
    "ACCESS",
    "LARGE",
    "CONSTRAINT",
    "TEMPORARY",
];

/// The uppercased first `n` words of a statement, for a `not-checked` message.
fn head(t: &[Tok<'_>], n: usize) -> String {
    t.iter()
        .take_while(|x| x.is_name() || x.kind == Kind::Word)
        .take(n)
        .map(|x| x.text.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(" ")
}

fn not_checked(t: &[Tok<'_>], n: usize) -> Stmt {
    Stmt::NotChecked { what: head(t, n) }
}

/// A CREATE, ALTER or DROP of an object kind at `i` that the recognisers do not read: silent
/// when the kind is out of the rules' scope, else not checked.
fn other_kind(t: &[Tok<'_>], i: usize) -> Stmt {
    match t.get(i) {
        Some(x) if OUT_OF_SCOPE.iter().any(|k| x.is(k)) => Stmt::Other,
        _ => not_checked(t, i + 1),
    }
}

/// Functions whose value differs per row or per call: as a new column's default on PostgreSQL
/// they rewrite the whole table under an exclusive lock.
pub const VOLATILE: &[&str] = &["now", "random", "gen_random_uuid", "clock_timestamp", "uuid_generate_v4", "timeofday"];

/// Reads one statement's tokens.
pub fn statement(t: &[Tok<'_>]) -> Stmt {
    let first = |w: &str| t.first().is_some_and(|x| x.is(w));
    if first("CREATE") {
        create(t)
    } else if first("DROP") {
        drop(t)
    } else if first("ALTER") && t.get(1).is_some_and(|x| x.is("TABLE")) {
        alter_table(t)
    } else if first("ALTER") && t.get(1).is_some_and(|x| x.is("TYPE")) {
        if t.iter().any(|x| x.is("ADD")) && t.iter().any(|x| x.is("VALUE")) {
            Stmt::AlterTypeAddValue
        } else {
            Stmt::Other
        }
    } else if first("ALTER") && t.get(1).is_some_and(|x| x.is("INDEX")) {
        // Renames and storage settings of an index: no rows move.
        Stmt::Other
    } else if first("ALTER") {
        other_kind(t, 1)
    } else if first("RENAME") && t.get(1).is_some_and(|x| x.is("TABLE")) {
        Stmt::RenameTables
    } else if first("SET") {
        let lock = t.iter().any(|x| x.is("lock_timeout") || x.is("lock_wait_timeout"));
        if lock { Stmt::SetLockTimeout } else { Stmt::Set }
    } else {
        Stmt::Other
    }
}

/// The index after the words `words` at `i`, if they are there, else `i`.
fn skip(t: &[Tok<'_>], i: usize, words: &[&str]) -> usize {
    let present = words.iter().enumerate().all(|(k, w)| t.get(i + k).is_some_and(|x| x.is(w)));
    if present { i + words.len() } else { i }
}

/// A possibly qualified name at `i` (`s.t`, `"s"."t"`): its last part and the index after it.
fn name(t: &[Tok<'_>], i: usize) -> Option<(String, usize)> {
    let mut i = i;
    let mut last = t.get(i).filter(|x| x.is_name())?.name();
    i += 1;
    while t.get(i).is_some_and(|x| x.punct('.')) && t.get(i + 1).is_some_and(Tok::is_name) {
        last = t[i + 1].name();
        i += 2;
    }
    Some((last, i))
}

fn create(t: &[Tok<'_>]) -> Stmt {
    const MODIFIERS: &[&str] = &[
        "OR",
        "REPLACE",
        "TEMP",
        "TEMPORARY",
        "UNLOGGED",
        "GLOBAL",
        "LOCAL",
        "UNIQUE",
        "FULLTEXT",
        "SPATIAL",
        "RECURSIVE",
    ];
    let mut i = 1;
    while t.get(i).is_some_and(|x| MODIFIERS.iter().any(|m| x.is(m))) {
        i += 1;
    }
    match t.get(i) {
        Some(x) if x.is("TABLE") => {
            let at = skip(t, i + 1, &["IF", "NOT", "EXISTS"]);
            name(t, at).map_or_else(|| not_checked(t, i + 1), |(table, _)| Stmt::CreateTable { table })
        }
        Some(x) if x.is("INDEX") => {
            let concurrently = t.get(i + 1).is_some_and(|x| x.is("CONCURRENTLY"));
            let Some(on) = t[i..].iter().position(|x| x.is("ON")).map(|n| i + n) else { return not_checked(t, i + 1) };
            let at = skip(t, on + 1, &["ONLY"]);
            name(t, at).map_or_else(|| not_checked(t, i + 1), |(table, _)| Stmt::CreateIndex { table, concurrently })
        }
        _ => other_kind(t, i),
    }
}

fn drop(t: &[Tok<'_>]) -> Stmt {
    match t.get(1) {
        Some(x) if x.is("TABLE") => {
            let mut i = skip(t, 2, &["IF", "EXISTS"]);
            let mut tables = Vec::new();
            while let Some((table, next)) = name(t, i) {
                tables.push(table);
                if !t.get(next).is_some_and(|x| x.punct(',')) {
                    break;
                }
                i = next + 1;
            }
            if tables.is_empty() { not_checked(t, 2) } else { Stmt::DropTables { tables } }
        }
        Some(x) if x.is("INDEX") && t.get(2).is_some_and(|x| x.is("CONCURRENTLY")) => Stmt::DropIndexConcurrently,
        // Dropping an index loses no rows and takes a short lock.
        Some(x) if x.is("INDEX") => Stmt::Other,
        _ => other_kind(t, 1),
    }
}

fn alter_table(t: &[Tok<'_>]) -> Stmt {
    let i = skip(t, 2, &["IF", "EXISTS"]);
    let i = skip(t, i, &["ONLY"]);
    let Some((table, mut i)) = name(t, i) else { return not_checked(t, 3) };
    if t.get(i).is_some_and(|x| x.punct('*')) {
        i += 1;
    }
    let actions = split_actions(&t[i..]).into_iter().filter(|a| !a.is_empty()).map(action).collect();
    Stmt::AlterTable { table, actions }
}

/// The actions of an ALTER TABLE: split at commas outside parentheses.
fn split_actions<'t, 'a>(t: &'t [Tok<'a>]) -> Vec<&'t [Tok<'a>]> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, x) in t.iter().enumerate() {
        if x.punct('(') {
            depth += 1;
        } else if x.punct(')') {
            depth = depth.saturating_sub(1);
        } else if x.punct(',') && depth == 0 {
            out.push(&t[start..i]);
            start = i + 1;
        } else if x.punct(';') && depth == 0 {
            out.push(&t[start..i]);
            return out;
        }
    }
    out.push(&t[start..]);
    out
}

/// The first words of an action, uppercased, for messages (`ALTER COLUMN`, `ADD CONSTRAINT`).
fn form(a: &[Tok<'_>], words: usize) -> String {
    a.iter().take(words).map(|x| x.text.to_ascii_uppercase()).collect::<Vec<_>>().join(" ")
}

fn action(a: &[Tok<'_>]) -> Action {
    let at = |i: usize, w: &str| a.get(i).is_some_and(|x| x.is(w));
    let word_in = |i: usize, ws: &[&str]| ws.iter().any(|w| at(i, w));
    const CONSTRAINTS: &[&str] =
        &["PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "INDEX", "KEY", "FULLTEXT", "SPATIAL", "EXCLUDE"];
    if at(0, "ADD") {
        if at(1, "CONSTRAINT") {
            return constraint(a, 3, form(a, 2));
        }
        if word_in(1, CONSTRAINTS) {
            return constraint(a, 1, form(a, 2));
        }
        if a.get(1).is_some_and(|x| x.punct('(')) {
            return Action::Unknown { form: form(a, 1) };
        }
        let i = skip(a, skip(a, 1, &["COLUMN"]), &["IF", "NOT", "EXISTS"]);
        return add_column(a, i);
    }
    if at(0, "DROP") {
        if at(1, "COLUMN") {
            let i = skip(a, 2, &["IF", "EXISTS"]);
            return a
                .get(i)
                .filter(|x| x.is_name())
                .map_or(Action::Unknown { form: form(a, 2) }, |x| Action::DropColumn { column: x.name() });
        }
        const NOT_COLUMNS: &[&str] =
            &["CONSTRAINT", "PRIMARY", "FOREIGN", "INDEX", "KEY", "CHECK", "PARTITION", "DEFAULT", "NOT"];
        if word_in(1, NOT_COLUMNS) {
            return Action::DropConstraint { form: form(a, 2) };
        }
        return match a.get(1).filter(|x| x.is_name()) {
            Some(x) if !x.is("IF") => Action::DropColumn { column: x.name() },
            _ => Action::Unknown { form: form(a, 2) },
        };
    }
    if at(0, "RENAME") {
        if word_in(1, &["TO", "AS"]) {
            return Action::RenameTable { to: name(a, 2).map(|(to, _)| to) };
        }
        if a.len() == 2 && a[1].is_name() {
            return Action::RenameTable { to: Some(a[1].name()) };
        }
        if word_in(1, &["INDEX", "KEY", "CONSTRAINT"]) {
            return Action::RenameOther { form: form(a, 2) };
        }
        let i = skip(a, 1, &["COLUMN"]);
        if let Some(x) = a.get(i).filter(|x| x.is_name()) {
            return Action::RenameColumn { from: x.name() };
        }
    }
    if at(0, "ALTER") {
        return alter_column(a);
    }
    if at(0, "MODIFY") || at(0, "CHANGE") {
        let i = skip(a, 1, &["COLUMN"]);
        let Some(x) = a.get(i).filter(|x| x.is_name()) else { return Action::Unknown { form: form(a, 1) } };
        let (column, renamed_from, ty_at) = if at(0, "CHANGE") {
            let new = a.get(i + 1).filter(|x| x.is_name()).map_or_else(|| x.name(), Tok::name);
            let old = x.name();
            let renamed = (old != new).then_some(old);
            (new, renamed, i + 2)
        } else {
            (x.name(), None, i + 1)
        };
        return Action::ChangeType { column, ty: type_text(a, ty_at), renamed_from, form: form(a, 1) };
    }
    if at(0, "VALIDATE") {
        return Action::ValidateConstraint;
    }
    if word_in(0, HARMLESS) {
        return Action::Other { form: form(a, 1) };
    }
    Action::Unknown { form: form(a, 2) }
}

/// ALTER TABLE actions that change only settings or metadata (owner, triggers, storage
/// parameters, comments, counters): no rows are lost or rewritten, so no rule is about them.
/// Any other unread action is [`Action::Unknown`].
const HARMLESS: &[&str] = &[
    "OWNER",
    "ENABLE",
    "DISABLE",
    "FORCE",
    "NO",
    "SET",
    "RESET",
    "CLUSTER",
    "REPLICA",
    "INHERIT",
    "OF",
    "NOT",
    "COMMENT",
    "AUTO_INCREMENT",
    "ALGORITHM",
    "LOCK",
    "DEFAULT",
    "CHARACTER",
    "CHARSET",
    "COLLATE",
    "ROW_FORMAT",
    "KEY_BLOCK_SIZE",
];

/// What may follow `ALTER COLUMN c` without a rule being about it: defaults, nullability
/// relaxed, statistics, storage, identity and visibility.
const HARMLESS_COLUMN: &[&str] = &["SET", "DROP", "RESET", "ADD", "RESTART", "OPTIONS"];

fn alter_column(a: &[Tok<'_>]) -> Action {
    let i = skip(a, 1, &["COLUMN"]);
    let Some(column) = a.get(i).filter(|x| x.is_name()).map(Tok::name) else {
        return Action::Unknown { form: form(a, 2) };
    };
    let shown = if a.get(1).is_some_and(|x| x.is("COLUMN")) { form(a, 2) } else { "ALTER COLUMN".to_owned() };
    let j = i + 1;
    if a.get(j).is_some_and(|x| x.is("TYPE")) {
        return Action::ChangeType { column, ty: type_text(a, j + 1), renamed_from: None, form: shown };
    }
    if skip(a, j, &["SET", "DATA", "TYPE"]) != j {
        return Action::ChangeType { column, ty: type_text(a, j + 3), renamed_from: None, form: shown };
    }
    if skip(a, j, &["SET", "NOT", "NULL"]) != j {
        return Action::SetNotNull { column };
    }
    if HARMLESS_COLUMN.iter().any(|w| a.get(j).is_some_and(|x| x.is(w))) {
        return Action::Other { form: shown };
    }
    Action::Unknown { form: shown }
}

fn constraint(a: &[Tok<'_>], from: usize, form: String) -> Action {
    let rest = &a[from.min(a.len())..];
    let not_valid = rest.windows(2).any(|w| w[0].is("NOT") && w[1].is("VALID"));
    if rest.first().is_some_and(|x| x.is("FOREIGN")) {
        return Action::AddForeignKey { not_valid };
    }
    if rest.first().is_some_and(|x| x.is("CHECK")) {
        let not_null_of = rest
            .windows(4)
            .find(|w| w[0].is_name() && w[1].is("IS") && w[2].is("NOT") && w[3].is("NULL"))
            .map(|w| w[0].name());
        return Action::AddCheck { not_null_of, not_valid };
    }
    Action::AddConstraint { form }
}

/// Words that end a column's type and start its constraints.
const AFTER_TYPE: &[&str] = &[
    "NOT",
    "NULL",
    "DEFAULT",
    "PRIMARY",
    "UNIQUE",
    "REFERENCES",
    "CHECK",
    "CONSTRAINT",
    "COLLATE",
    "USING",
    "GENERATED",
    "AS",
    "AUTO_INCREMENT",
    "COMMENT",
    "FIRST",
    "AFTER",
    "ON",
    "IDENTITY",
    "CHARACTER",
    "CHARSET",
];

/// The source text of the type starting at token `i`, up to its constraints.
fn type_text(a: &[Tok<'_>], i: usize) -> String {
    let mut depth = 0usize;
    let mut parts: Vec<&str> = Vec::new();
    for x in a.iter().skip(i) {
        if depth == 0 && AFTER_TYPE.iter().any(|w| x.is(w)) && !parts.is_empty() {
            break;
        }
        if x.punct('(') {
            depth += 1;
        } else if x.punct(')') {
            depth = depth.saturating_sub(1);
        }
        parts.push(x.text);
    }
    let mut out = String::new();
    for (k, p) in parts.iter().enumerate() {
        let tight = p.starts_with(['(', ')', ',']) || parts.get(k.wrapping_sub(1)).is_some_and(|q| q.ends_with('('));
        if k > 0 && !tight {
            out.push(' ');
        }
        out.push_str(p);
    }
    out.to_ascii_lowercase()
}

fn add_column(a: &[Tok<'_>], i: usize) -> Action {
    let Some(column) = a.get(i).filter(|x| x.is_name()).map(Tok::name) else {
        return Action::Unknown { form: form(a, 2) };
    };
    let rest = &a[i + 1..];
    let not_null = rest.windows(2).any(|w| w[0].is("NOT") && w[1].is("NULL")) || rest.iter().any(|x| x.is("PRIMARY"));
    let serial = rest.first().is_some_and(|x| ["serial", "bigserial", "smallserial"].iter().any(|s| x.is(s)));
    let implicit =
        ["GENERATED", "AUTO_INCREMENT", "AUTOINCREMENT", "IDENTITY"].iter().any(|w| rest.iter().any(|x| x.is(w)));
    let default_at = rest.iter().position(|x| x.is("DEFAULT"));
    let volatile_default = default_at.and_then(|d| {
        let value = rest[d + 1..].iter().find(|x| !x.punct('('))?;
        (value.kind == Kind::Word && VOLATILE.iter().any(|v| value.is(v))).then(|| format!("{}()", value.name()))
    });
    let generated_as = rest.windows(2).any(|w| w[0].is("AS") && w[1].punct('('));
    Action::AddColumn {
        column,
        not_null,
        has_default: default_at.is_some() || serial || implicit || generated_as,
        volatile_default,
    }
}

/// Whether a new column type surely holds every value of any old one, so changing to it loses
/// nothing: unbounded text, the widest numbers, JSON, binary.
pub fn is_wide(ty: &str) -> bool {
    const WIDE: &[&str] = &[
        "text",
        "bigint",
        "int8",
        "double",
        "float8",
        "numeric",
        "decimal",
        "varchar",
        "character varying",
        "longtext",
        "longblob",
        "json",
        "jsonb",
        "bytea",
        "blob",
        "clob",
        "mediumtext",
        "nvarchar",
        "string",
    ];
    !ty.contains('(') && WIDE.iter().any(|w| ty == *w || ty.strip_prefix(w).is_some_and(|r| r.starts_with(' ')))
}

#[cfg(test)]
mod tests {
    use super::super::tokens::lex;
    use super::*;
    use dbmigrate_core::Dialect;

    fn parse(sql: &str) -> Stmt {
        statement(&lex(sql, Dialect::Postgres))
    }

    fn actions(sql: &str) -> Vec<Action> {
        match parse(sql) {
            Stmt::AlterTable { actions, .. } => actions,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn creates_and_drops() {
        assert_eq!(parse("create table if not exists s.\"T\" (x int)"), Stmt::CreateTable { table: "t".into() });
        assert_eq!(
            parse("CREATE UNIQUE INDEX CONCURRENTLY i ON ONLY a.b (x)"),
            Stmt::CreateIndex { table: "b".into(), concurrently: true }
        );
        assert_eq!(
            parse("drop table if exists a, b cascade"),
            Stmt::DropTables { tables: vec!["a".into(), "b".into()] }
        );
        assert_eq!(parse("DROP INDEX CONCURRENTLY i"), Stmt::DropIndexConcurrently);
        assert_eq!(parse("ALTER TYPE mood ADD VALUE 'meh'"), Stmt::AlterTypeAddValue);
        assert_eq!(parse("SET LOCAL lock_timeout = '1s'"), Stmt::SetLockTimeout);
        assert_eq!(parse("select 1"), Stmt::Other);
    }

    #[test]
    fn alter_table_actions() {
        let got = actions(
            "ALTER TABLE t ADD COLUMN c int NOT NULL, ADD d timestamptz DEFAULT now(), DROP COLUMN IF EXISTS e, \
             ALTER COLUMN f SET DATA TYPE varchar(20), ALTER g SET NOT NULL, RENAME COLUMN h TO i, \
             ADD CONSTRAINT k FOREIGN KEY (x) REFERENCES u (id) NOT VALID, ADD CHECK (c IS NOT NULL), DROP CONSTRAINT z",
        );
        assert_eq!(
            got,
            [
                Action::AddColumn { column: "c".into(), not_null: true, has_default: false, volatile_default: None },
                Action::AddColumn {
                    column: "d".into(),
                    not_null: false,
                    has_default: true,
                    volatile_default: Some("now()".into())
                },
                Action::DropColumn { column: "e".into() },
                Action::ChangeType {
                    column: "f".into(),
                    ty: "varchar(20)".into(),
                    renamed_from: None,
                    form: "ALTER COLUMN".into()
                },
                Action::SetNotNull { column: "g".into() },
                Action::RenameColumn { from: "h".into() },
                Action::AddForeignKey { not_valid: true },
                Action::AddCheck { not_null_of: Some("c".into()), not_valid: false },
                Action::DropConstraint { form: "DROP CONSTRAINT".into() },
            ]
        );
        assert_eq!(actions("ALTER TABLE t RENAME TO u"), [Action::RenameTable { to: Some("u".into()) }]);
        let mysql = statement(&lex("ALTER TABLE t CHANGE a b VARCHAR(10) NOT NULL, MODIFY c TEXT", Dialect::Mysql));
        let Stmt::AlterTable { actions, .. } = mysql else { panic!() };
        assert_eq!(
            actions,
            [
                Action::ChangeType {
                    column: "b".into(),
                    ty: "varchar(10)".into(),
                    renamed_from: Some("a".into()),
                    form: "CHANGE".into()
                },
                Action::ChangeType { column: "c".into(), ty: "text".into(), renamed_from: None, form: "MODIFY".into() },
            ]
        );
    }

    #[test]
    fn wide_types() {
        assert!(is_wide("text") && is_wide("bigint") && is_wide("character varying") && is_wide("double precision"));
        assert!(!is_wide("varchar(20)") && !is_wide("integer") && !is_wide("smallint") && !is_wide("numeric(5,2)"));
    }
}
