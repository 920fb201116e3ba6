//! The lint: risky statements in migration files (data loss, long locks, statements that fail on
//! a populated table or half way through), per target dialect, found without a database.
//!
//! A lexer ([`tokens`]) and targeted recognisers ([`parse`]) rather than a full SQL parser: this
//! crate is a build-dependency of every user crate, and a statement the recognisers do not know
//! is simply not checked. Files are linted where the set is read (`crate::set`), so the build's
//! hash cache keeps each file's findings and a warm build re-lints only changed files.

mod markers;
mod parse;
mod rules;
mod tokens;

use crate::diagnostic::Severity;
use crate::{Config, Finding, Rule};
use dbmigrate_core::Dialect;

/// The rules of the lint, in the README's order: each can be set to error, warning or off in
/// `[package.metadata.dbmigrate.lint]` (or info) and allowed per file with `-- dbmigrate:allow`.
pub const LINT: &[Rule] = &[
    Rule::NoDown,
    Rule::TodoLeft,
    Rule::NotNullWithoutDefault,
    Rule::Destructive,
    Rule::Rename,
    Rule::IndexNotConcurrent,
    Rule::NeedsNoTransaction,
    Rule::NoTransactionMulti,
    Rule::FkWithoutNotValid,
    Rule::SetNotNullWithoutCheck,
    Rule::VolatileDefault,
    Rule::LockTimeoutMissing,
    Rule::MysqlMultiDdl,
    Rule::SqliteAlterUnsupported,
    Rule::NotChecked,
    Rule::AllowWithoutReason,
];

/// The ids a `-- dbmigrate:allow` marker may name.
pub fn allowable_ids() -> Vec<&'static str> {
    LINT.iter().filter(|r| **r != Rule::AllowWithoutReason).map(|r| r.as_str()).collect()
}

/// The default severity of a lint rule.
pub fn default_severity(rule: Rule) -> Severity {
    match rule {
        Rule::TodoLeft
        | Rule::NotNullWithoutDefault
        | Rule::Destructive
        | Rule::NeedsNoTransaction
        | Rule::SqliteAlterUnsupported
        | Rule::AllowWithoutReason => Severity::Error,
        Rule::NotChecked => Severity::Info,
        _ => Severity::Warning,
    }
}

/// A level set in `[package.metadata.dbmigrate.lint]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Info,
    Off,
}

impl Level {
    /// `"error"`, `"warning"`, `"info"` or `"off"`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "error" => Some(Level::Error),
            "warning" => Some(Level::Warning),
            "info" => Some(Level::Info),
            "off" => Some(Level::Off),
            _ => None,
        }
    }
}

/// Applies the configured levels to the lint findings among `findings`, dropping those set off.
pub fn apply_levels(findings: &mut Vec<Finding>, levels: &[(Rule, Level)]) {
    if levels.is_empty() {
        return;
    }
    findings.retain_mut(|f| match levels.iter().find(|(r, _)| *r == f.rule).map(|(_, l)| *l) {
        Some(Level::Off) => false,
        Some(Level::Error) => {
            f.severity = Severity::Error;
            true
        }
        Some(Level::Warning) => {
            f.severity = Severity::Warning;
            true
        }
        Some(Level::Info) => {
            f.severity = Severity::Info;
            true
        }
        None => true,
    });
}

/// Bumped whenever a rule changes what it finds, so that no cache keeps findings of another
/// version of the rules.
const VERSION: u32 = 3;

/// What a file's findings depend on besides its text: the target dialects and whether the crate
/// sets a DDL lock timeout for every migration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    pub dialects: Vec<Dialect>,
    pub lock_timeout: bool,
    /// The crate names no dialect (neither `dialects` nor `default-database` is set), so SQLite
    /// is a guess: a rule that only SQLite breaks warns instead of failing the build of a crate
    /// whose SQL is for another database.
    pub guessed: bool,
}

impl Context {
    /// The context of a crate's settings.
    pub fn of(config: &Config) -> Self {
        let guessed = config.dialects.is_empty() && config.default_database == Config::default().default_database;
        Self {
            dialects: config.target_dialects(),
            lock_timeout: config.ddl_lock_timeout.is_some_and(|s| s > 0),
            guessed,
        }
    }

    /// A short text naming the context and the lint's version: the hash cache trusts cached
    /// findings only under the same signature.
    pub fn signature(&self) -> String {
        let dialects: Vec<&str> = self.dialects.iter().map(|d| d.as_str()).collect();
        format!("lint{VERSION}:{}:{}:{}", dialects.join(","), u8::from(self.lock_timeout), u8::from(self.guessed))
    }
}

/// One finding in a file, before it is tied to its path and version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub rule: Rule,
    pub severity: Severity,
    pub line: usize,
    pub message: String,
    pub help: String,
}

impl Hit {
    /// A hit at the rule's default severity.
    pub fn new(rule: Rule, line: usize, message: impl Into<String>, help: impl Into<String>) -> Self {
        Self { rule, severity: default_severity(rule), line, message: message.into(), help: help.into() }
    }
}

/// Said of a SQLite-only finding when SQLite is a guess: how to make it an error, or silence it.
const GUESSED_HELP: &str = "the crate names no database, so sqlite is assumed: say which one the sql is for, e.g. `dialects = [\"postgres\"]` in [package.metadata.dbmigrate]";

/// Lints one file's normalised text. The findings have no file or version yet (the caller
/// knows them); a down file is checked for markers only, since undoing is its purpose.
pub fn lint_file(text: &str, down: bool, cx: &Context) -> Vec<Finding> {
    let markers = markers::Markers::read(text);
    let mut hits = markers.problems.clone();
    if let Some(line) = markers.todo {
        hits.push(Hit::new(
            Rule::TodoLeft,
            line,
            "the migration holds a placeholder left for a person to replace",
            "replace the placeholder in the statement below it with the real value, then delete the `-- dbmigrate:todo` line",
        ));
    }
    if !down {
        for &dialect in &cx.dialects {
            for hit in rules::check(text, dialect, &markers, cx) {
                if !hits.iter().any(|h| h.rule == hit.rule && h.line == hit.line && h.message == hit.message) {
                    hits.push(hit);
                }
            }
        }
    }
    let silenced = |h: &Hit| markers.allowed.contains(&h.rule) || (h.rule == Rule::Destructive && markers.destructive);
    hits.retain(|h| !silenced(h));
    if cx.guessed {
        for h in hits.iter_mut().filter(|h| h.rule == Rule::SqliteAlterUnsupported && h.severity == Severity::Error) {
            h.severity = Severity::Warning;
        }
    }
    hits.sort_by_key(|h| h.line);
    let lines: Vec<&str> = if hits.is_empty() { Vec::new() } else { text.lines().collect() };
    hits.into_iter()
        .map(|h| {
            let line_text = lines.get(h.line.wrapping_sub(1)).copied().unwrap_or_default();
            let mut finding = Finding::error(h.rule, None, h.message).at_line(h.line, line_text);
            finding.severity = h.severity;
            let allow = format!("if it is fine here, say why: `-- dbmigrate:allow {} <reason>`", h.rule);
            let mut finding = finding.help(h.help);
            if cx.guessed && h.rule == Rule::SqliteAlterUnsupported {
                finding = finding.help(GUESSED_HELP);
            }
            match h.rule {
                Rule::AllowWithoutReason | Rule::TodoLeft | Rule::Destructive => finding,
                _ => finding.help(allow),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(sql: &str, dialect: Dialect) -> Vec<(&'static str, usize)> {
        let cx = Context { dialects: vec![dialect], lock_timeout: true, guessed: false };
        lint_file(sql, false, &cx).iter().map(|f| (f.rule.as_str(), f.line.as_ref().map_or(0, |l| l.0))).collect()
    }

    /// Each rule fires on its case and stays quiet on the safe spelling of the same change.
    #[test]
    fn common_rules_on_every_dialect() {
        for d in Dialect::ALL {
            assert_eq!(ids("ALTER TABLE t ADD COLUMN c INT NOT NULL;", d), [("not-null-without-default", 1)], "{d}");
            assert!(ids("ALTER TABLE t ADD COLUMN c INT NOT NULL DEFAULT 0;", d).is_empty(), "{d}");
            let created = "CREATE TABLE t (id INT);\nALTER TABLE t ADD COLUMN c INT NOT NULL;\nDROP TABLE t;";
            let found: Vec<_> = ids(created, d).into_iter().filter(|(r, _)| *r != "mysql-multi-ddl").collect();
            assert!(found.is_empty(), "a table created in the file holds no rows: {d} {found:?}");
            assert_eq!(ids("select 1;\nDROP TABLE t;", d), [("destructive", 2)], "{d}");
            assert!(ids("-- dbmigrate:destructive archived in V7\nDROP TABLE t;", d).is_empty(), "{d}");
            let rebuild = "CREATE TABLE t_new (id INT);\nINSERT INTO t_new SELECT id FROM t;\nDROP TABLE t;\n\
                           ALTER TABLE t_new RENAME TO t;";
            let found: Vec<_> = ids(rebuild, d).into_iter().filter(|(r, _)| *r != "mysql-multi-ddl").collect();
            assert!(found.is_empty(), "a rebuild keeps the rows: {d} {found:?}");
            let away = "ALTER TABLE t RENAME TO t_old;\nCREATE TABLE t (id INT);\nINSERT INTO t SELECT id FROM t_old;\n\
                        DROP TABLE t_old;";
            let found: Vec<_> = ids(away, d).into_iter().filter(|(r, _)| *r != "mysql-multi-ddl").collect();
            assert!(found.is_empty(), "renaming away to re-create is a rebuild too: {d} {found:?}");
            assert_eq!(ids("ALTER TABLE t DROP COLUMN c;", d), [("destructive", 1)], "{d}");
            assert_eq!(ids("ALTER TABLE t RENAME TO u;", d), [("rename", 1)], "{d}");
            assert!(ids("-- dbmigrate:allow rename nothing reads t yet\nALTER TABLE t RENAME TO u;", d).is_empty());
        }
    }

    #[test]
    fn postgres_rules() {
        let pg = |sql| ids(sql, Dialect::Postgres);
        assert_eq!(pg("CREATE INDEX i ON t (x);"), [("index-not-concurrent", 1)]);
        assert!(pg("CREATE TABLE t (x INT);\nCREATE INDEX i ON t (x);").is_empty());
        assert_eq!(pg("CREATE INDEX CONCURRENTLY i ON t (x);"), [("needs-no-transaction", 1)]);
        assert!(pg("-- dbmigrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);").is_empty());
        assert_eq!(pg("ALTER TYPE mood ADD VALUE 'meh';"), [("needs-no-transaction", 1)]);
        assert_eq!(
            pg(
                "-- dbmigrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);\nCREATE INDEX CONCURRENTLY j ON t (y);"
            ),
            [("no-transaction-multi", 3)]
        );
        assert_eq!(
            pg("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES u (id);"),
            [("fk-without-not-valid", 1)]
        );
        assert!(pg("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES u (id) NOT VALID;").is_empty());
        assert_eq!(pg("ALTER TABLE t ALTER COLUMN c SET NOT NULL;"), [("set-not-null-without-check", 1)]);
        let checked = "ALTER TABLE t ADD CONSTRAINT c_nn CHECK (c IS NOT NULL) NOT VALID;\n\
                       ALTER TABLE t VALIDATE CONSTRAINT c_nn;\nALTER TABLE t ALTER COLUMN c SET NOT NULL;";
        assert!(pg(checked).is_empty());
        assert_eq!(pg("ALTER TABLE t ADD COLUMN at timestamptz DEFAULT now();"), [("volatile-default", 1)]);
        assert!(pg("ALTER TABLE t ADD COLUMN n int DEFAULT 0;").is_empty());
        assert_eq!(pg("ALTER TABLE t ALTER COLUMN c TYPE varchar(10);"), [("destructive", 1)]);
        assert!(pg("ALTER TABLE t ALTER COLUMN c TYPE text;").is_empty());
        // Without a configured timeout, a lock-taking statement wants one; once per file.
        let cx = Context { dialects: vec![Dialect::Postgres], lock_timeout: false, guessed: false };
        let rules = |sql| lint_file(sql, false, &cx).iter().map(|f| f.rule.as_str()).collect::<Vec<_>>();
        assert_eq!(rules("ALTER TABLE t ADD c int;\nALTER TABLE t ADD d int;"), ["lock-timeout-missing"]);
        assert!(rules("SET lock_timeout = '5s';\nALTER TABLE t ADD c int;").is_empty());
    }

    #[test]
    fn mysql_and_sqlite_rules() {
        let my = |sql| ids(sql, Dialect::Mysql);
        assert_eq!(
            my("CREATE TABLE a (x INT);\nINSERT INTO a VALUES (1);\nCREATE TABLE b (x INT);"),
            [("mysql-multi-ddl", 3)]
        );
        assert!(my("CREATE TABLE a (x INT);\nINSERT INTO a VALUES (1);").is_empty());
        assert_eq!(my("ALTER TABLE t CHANGE a b TEXT;"), [("rename", 1)]);
        assert_eq!(my("ALTER TABLE t MODIFY c VARCHAR(5);"), [("destructive", 1)]);
        let lite = |sql| ids(sql, Dialect::Sqlite);
        for bad in [
            "ALTER TABLE t ALTER COLUMN c TYPE text;",
            "ALTER TABLE t ADD CONSTRAINT u UNIQUE (c);",
            "ALTER TABLE t DROP CONSTRAINT u;",
            "ALTER TABLE t MODIFY c TEXT;",
            "ALTER TABLE t ADD a INT, ADD b INT;",
        ] {
            assert!(lite(bad).iter().any(|(r, _)| *r == "sqlite-alter-unsupported"), "{bad}");
        }
        assert!(lite("ALTER TABLE t ADD COLUMN c TEXT;").is_empty());
        assert!(ids("ALTER TABLE t ALTER COLUMN c SET DEFAULT 1;", Dialect::Postgres).is_empty());
    }

    #[test]
    fn a_guessed_sqlite_warns_where_a_declared_one_fails() {
        let sql = "ALTER TABLE t ALTER COLUMN c TYPE text;";
        let declared = Context { dialects: vec![Dialect::Sqlite], lock_timeout: false, guessed: false };
        let found = lint_file(sql, false, &declared);
        assert_eq!(found[0].severity, Severity::Error);
        let guessed = Context { guessed: true, ..declared.clone() };
        let found = lint_file(sql, false, &guessed);
        assert_eq!((found[0].rule, found[0].severity), (Rule::SqliteAlterUnsupported, Severity::Warning));
        assert!(found[0].help.iter().any(|h| h.contains("dialects = [")), "{:?}", found[0].help);
        assert_ne!(guessed.signature(), declared.signature(), "cached findings depend on it");
        let mut config = Config::default();
        assert!(Context::of(&config).guessed);
        config.dialects = vec![Dialect::Sqlite];
        assert!(!Context::of(&config).guessed);
    }

    #[test]
    fn markers_and_down_files() {
        let cx = Context { dialects: vec![Dialect::Sqlite], lock_timeout: false, guessed: false };
        let down = lint_file("-- dbmigrate:todo x\nDROP TABLE t;\n", true, &cx);
        assert_eq!(down.iter().map(|f| f.rule).collect::<Vec<_>>(), [Rule::TodoLeft], "a down file may drop");
        let f = lint_file("-- dbmigrate:allow rename\nALTER TABLE t RENAME TO u;\n", false, &cx);
        let rules: Vec<Rule> = f.iter().map(|f| f.rule).collect();
        assert_eq!(rules, [Rule::AllowWithoutReason, Rule::Rename], "a reasonless allow allows nothing");
        let f = lint_file("-- dbmigrate:destructive\nDROP TABLE t;\n", false, &cx);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].rule, f[0].severity), (Rule::AllowWithoutReason, Severity::Warning));
    }

    #[test]
    fn odd_text_is_not_checked_and_never_panics() {
        let cx = Context { dialects: Dialect::ALL.to_vec(), lock_timeout: false, guessed: false };
        for sql in [
            "ALTER",
            "ALTER TABLE",
            "ALTER TABLE t ADD",
            "DROP TABLE",
            "CREATE INDEX ON",
            "ALTER TABLE t RENAME",
            "ALTER TABLE t CHANGE",
            "'unterminated",
            "CREATE TABLE \"",
            "ALTER TABLE t ADD CONSTRAINT",
            "é;ü;",
            "$$",
        ] {
            let _ = lint_file(sql, false, &cx);
        }
    }
}
