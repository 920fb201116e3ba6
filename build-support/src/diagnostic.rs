//! Findings about a migration set: which rule was broken, where, and how to fix it.
//!
//! The build script prints them as `cargo::error=` lines (`directive_lines`);
//! the CLI renders them like rustc does. Both show the same findings in the same order.

use std::fmt;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// For the curious: listed by `cargo dbmigrate lint -v` and `--format json`, never shown by
    /// the build nor counted as a problem (the lint's `not-checked`).
    Info,
    /// Reported, but the set is still usable.
    Warning,
    /// The set must not be built or applied.
    Error,
}

/// Declares [`Rule`] with each rule's stable code, so the list exists once.
macro_rules! rules {
    ($($(#[$doc:meta])* $rule:ident = $code:literal,)+) => {
        /// Every rule a migration set is checked against. [`Rule::as_str`] gives the stable code
        /// shown by `--format json` and listed in the README.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $($(#[$doc])* $rule,)+
        }

        impl Rule {
            /// Every rule, in the order of the README's table.
            pub const ALL: &[Rule] = &[$(Rule::$rule,)+];

            /// The stable code, e.g. `malformed-name`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Rule::$rule => $code,)+
                }
            }
        }
    };
}

rules! {
    /// `Cargo.toml`'s `[package.metadata.dbmigrate]` cannot be read or holds a bad key or value.
    BadConfig = "bad-config",
    /// The migrations folder cannot be read.
    NoMigrationsFolder = "no-migrations-folder",
    /// The migrations folder holds a folder.
    Subfolder = "subfolder",
    /// A `.sql` file whose name is not `V<version>__<name>.sql` or `.down.sql`.
    MalformedName = "malformed-name",
    /// Two up files with the same version.
    DuplicateVersion = "duplicate-version",
    /// A down file without its up file.
    OrphanDown = "orphan-down",
    /// An up file with nothing to run and no `-- dbmigrate:empty <reason>`.
    EmptyUp = "empty-up",
    /// An unreleased migration has no down file, or one with nothing to run (a warning).
    NoDown = "no-down",
    /// A `.sql` file in the migrations folder is a symbolic link.
    Symlink = "symlink",
    /// A migration file cannot be read.
    Unreadable = "unreadable",
    /// A migration file is not UTF-8.
    NotUtf8 = "not-utf8",
    /// A released migration's text changed.
    ReleasedEdited = "released-edited",
    /// A released migration's file was renamed or renumbered.
    ReleasedRenamed = "released-renamed",
    /// A released migration older than others on disk is missing.
    ReleasedGap = "released-gap",
    /// The newest released migrations are missing.
    ReleasedDeleted = "released-deleted",
    /// An unreleased migration is not newer than the newest released one.
    OutOfOrder = "out-of-order",
    /// An unreleased migration arrived (in git) after an unreleased one with a higher version:
    /// found by `cargo dbmigrate check`, which reads git, not by the build (a warning).
    MergedOutOfOrder = "merged-out-of-order",
    /// The release log (`dbmigrate.lock`) cannot be read.
    LockUnreadable = "lock-unreadable",
    /// The release log holds git conflict markers.
    LockConflict = "lock-conflict",
    /// The release log was edited by hand or merged wrongly.
    LockMalformed = "lock-malformed",
    /// The crate's path is not UTF-8, so `include_str!` cannot embed the files.
    NonUtf8Path = "non-utf8-path",
    /// An unreleased up or down file holds a `-- dbmigrate:todo` line: a placeholder `cargo dbmigrate
    /// diff` left for a person to replace.
    TodoLeft = "todo-left",
    /// Lint: a NOT NULL column without a default is added to an existing table (fails when it
    /// has rows).
    NotNullWithoutDefault = "not-null-without-default",
    /// Lint: a table or column is dropped, or a column's type narrowed, without
    /// `-- dbmigrate:destructive <reason>`.
    Destructive = "destructive",
    /// Lint: a table or column is renamed (breaks old code during a rolling deploy; a warning).
    Rename = "rename",
    /// Lint, PostgreSQL: `CREATE INDEX` without `CONCURRENTLY` on an existing table (a warning).
    IndexNotConcurrent = "index-not-concurrent",
    /// Lint, PostgreSQL: `CONCURRENTLY` or `ALTER TYPE … ADD VALUE` in a file that runs in a
    /// transaction.
    NeedsNoTransaction = "needs-no-transaction",
    /// Lint, PostgreSQL: a no-transaction file with more than one statement (a warning).
    NoTransactionMulti = "no-transaction-multi",
    /// Lint, PostgreSQL: a foreign key added without `NOT VALID` (a warning).
    FkWithoutNotValid = "fk-without-not-valid",
    /// Lint, PostgreSQL: `SET NOT NULL` without a validated check constraint first (a warning).
    SetNotNullWithoutCheck = "set-not-null-without-check",
    /// Lint, PostgreSQL: a column added to an existing table with a volatile default (a warning).
    VolatileDefault = "volatile-default",
    /// Lint, PostgreSQL: lock-taking DDL without a lock timeout (a warning).
    LockTimeoutMissing = "lock-timeout-missing",
    /// Lint, MySQL/MariaDB: more than one DDL statement in a file (a warning).
    MysqlMultiDdl = "mysql-multi-ddl",
    /// Lint, SQLite: an `ALTER TABLE` form SQLite does not support.
    SqliteAlterUnsupported = "sqlite-alter-unsupported",
    /// Lint, info: a DDL statement on a table or index, or a `CREATE`/`ALTER`/`DROP` of an
    /// object kind, that the recognisers cannot read, so no rule looked at it.
    NotChecked = "not-checked",
    /// Lint: a `-- dbmigrate:allow` marker without a reason or with an unknown rule, or a
    /// `-- dbmigrate:destructive` marker without a reason (a warning).
    AllowWithoutReason = "allow-without-reason",
    /// Replaying the migrations does not give the desired schema: found by `cargo dbmigrate
    /// check --schema`, not by the build.
    SchemaDrift = "schema-drift",
    /// After a migration's down, the schema differs from the one before its up: found by
    /// `cargo dbmigrate verify`, not by the build.
    DownIncomplete = "down-incomplete",
    /// A migration's down fails on a scratch database: found by `cargo dbmigrate verify`.
    DownFailed = "down-failed",
    /// A migration's up fails, or gives another schema, when applied again after its down:
    /// found by `cargo dbmigrate verify`.
    UpNotRepeatable = "up-not-repeatable",
    /// A migration's up fails on a scratch database at the version before it: found by
    /// `cargo dbmigrate verify`.
    UpFailed = "up-failed",
}

impl Rule {
    /// Whether the rule belongs to the lint (`cargo dbmigrate lint`, levels in
    /// `[package.metadata.dbmigrate.lint]`).
    pub fn is_lint(self) -> bool {
        crate::lint::LINT.contains(&self)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem in a migration set, with the file it is about and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The rule that was broken.
    pub rule: Rule,
    /// The version of the migration it is about, when its file name has one.
    pub version: Option<i64>,
    /// The file, relative to the crate root (forward slashes), when there is one.
    pub file: Option<String>,
    /// A 1-based line number and that line's text, when the finding points into a file.
    pub line: Option<(usize, String)>,
    /// What is wrong, lowercase.
    pub message: String,
    /// What to do about it, one line each.
    pub help: Vec<String>,
}

impl Finding {
    /// An error about `file`.
    pub fn error(rule: Rule, file: impl Into<Option<String>>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            rule,
            version: None,
            file: file.into(),
            line: None,
            message: message.into(),
            help: Vec::new(),
        }
    }

    /// A warning about `file`.
    pub fn warning(rule: Rule, file: impl Into<Option<String>>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::error(rule, file, message) }
    }

    /// Adds a line of advice.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help.push(help.into());
        self
    }

    /// Points the finding at a line of its file.
    #[must_use]
    pub fn at_line(mut self, number: usize, text: impl Into<String>) -> Self {
        self.line = Some((number, text.into()));
        self
    }

    /// Names the version of the migration the finding is about.
    #[must_use]
    pub fn about(mut self, version: i64) -> Self {
        self.version = Some(version);
        self
    }

    /// Whether this finding stops a build.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    /// One line: `file:line: message`, for logs and `cargo::` directives.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, &self.line) {
            (Some(file), Some((n, _))) => write!(f, "{file}:{n}: {}", self.message),
            (Some(file), None) => write!(f, "{file}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        let codes: std::collections::BTreeSet<&str> = Rule::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(codes.len(), Rule::ALL.len());
        assert!(codes.iter().all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')));
    }

    /// The README's table of rules is the user's reference: it lists every code, in order.
    #[test]
    fn the_readme_lists_every_rule() {
        let readme = include_str!("../../README.md");
        let listed: Vec<&str> = readme
            .lines()
            .filter_map(|l| l.strip_prefix("| `")?.split_once('`').map(|(code, _)| code))
            .filter(|code| code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
            .collect();
        let all: Vec<&str> = Rule::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(listed, all);
    }

    #[test]
    fn one_line_display() {
        let f = Finding::error(Rule::LockConflict, "migrations/dbmigrate.lock".to_owned(), "merge conflict");
        assert_eq!(f.at_line(3, "<<<<<<< HEAD").to_string(), "migrations/dbmigrate.lock:3: merge conflict");
        assert_eq!(Finding::error(Rule::BadConfig, None, "x").to_string(), "x");
    }
}
