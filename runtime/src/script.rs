//! The engine's input: migration scripts as plain data, and what can be
//! derived from one (refinery's checksum, file names, emptiness).

use std::borrow::Cow;

use crate::error::{Error, Result};

/// The first line that makes a script run outside any transaction.
pub const NO_TRANSACTION_MARKER: &str = "-- dbmigrate:no-transaction";

/// One migration, as read by the CLI or embedded by a build script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationScript<'a> {
    pub version: i64,
    /// `[a-z0-9_]+`.
    pub name: Cow<'a, str>,
    /// The up SQL, already normalised (no BOM, LF line ends).
    pub up: Cow<'a, str>,
    /// `None`: no down file. Blank or comment-only: irreversible.
    pub down: Option<Cow<'a, str>>,
}

/// Whether a script can be reverted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reversibility {
    /// There is a down script with SQL in it.
    Reversible,
    /// There is no down script at all.
    NoDown,
    /// The down script is empty or holds only comments.
    Irreversible,
}

impl<'a> MigrationScript<'a> {
    pub fn new(
        version: i64,
        name: impl Into<Cow<'a, str>>,
        up: impl Into<Cow<'a, str>>,
        down: Option<impl Into<Cow<'a, str>>>,
    ) -> Self {
        MigrationScript { version, name: name.into(), up: up.into(), down: down.map(Into::into) }
    }

    /// `V<version>__<name>.sql`, the name used in every message.
    pub fn file_name(&self) -> String {
        file_name(self.version, &self.name)
    }

    /// refinery's checksum of the up script.
    pub fn checksum(&self) -> Result<u64> {
        checksum(self.version, &self.name, &self.up)
    }

    /// Whether `recorded` is this script's checksum, also accepting the one
    /// of the same text with CRLF line ends (a Windows checkout migrated by
    /// plain refinery).
    pub fn matches_checksum(&self, recorded: u64) -> Result<bool> {
        if self.checksum()? == recorded {
            return Ok(true);
        }
        if self.up.contains('\n') && !self.up.contains('\r') {
            let crlf = self.up.replace('\n', "\r\n");
            return Ok(checksum(self.version, &self.name, &crlf)? == recorded);
        }
        Ok(false)
    }

    pub fn reversibility(&self) -> Reversibility {
        match &self.down {
            None => Reversibility::NoDown,
            Some(d) if is_blank(d) => Reversibility::Irreversible,
            Some(_) => Reversibility::Reversible,
        }
    }

    /// Checks the version and name before anything is run.
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |reason: &str| Error::Script { file: self.file_name(), reason: reason.to_string() };
        if self.version < 0 {
            return Err(bad("the version must not be negative"));
        }
        let name_ok = !self.name.is_empty()
            && self.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !name_ok {
            return Err(bad("the name must match [a-z0-9_]+"));
        }
        Ok(())
    }
}

pub(crate) fn file_name(version: i64, name: &str) -> String {
    format!("V{version}__{name}.sql")
}

/// refinery's checksum, computed by refinery itself so it stays identical.
pub(crate) fn checksum(version: i64, name: &str, sql: &str) -> Result<u64> {
    refinery_core::Migration::unapplied(&format!("V{version}__{name}"), sql)
        .map(|m| m.checksum())
        .map_err(|e| Error::Script { file: file_name(version, name), reason: e.to_string().to_lowercase() })
}

/// Whether a script must run outside a transaction.
pub(crate) fn wants_no_transaction(sql: &str) -> bool {
    sql.lines().next().map(str::trim) == Some(NO_TRANSACTION_MARKER)
}

/// True when `sql` holds only whitespace, `--` line comments and `/* */`
/// block comments: such a file is never sent (MariaDB rejects an empty query).
pub fn is_blank(sql: &str) -> bool {
    skip_trivia(sql, 0) >= sql.len()
}

/// Returns the byte offset of the first character at or after `from` that is
/// not whitespace or a comment. `/*!` (MySQL executable comments) counts as code.
pub(crate) fn skip_trivia(sql: &str, mut from: usize) -> usize {
    let b = sql.as_bytes();
    loop {
        while from < b.len() && b[from].is_ascii_whitespace() {
            from += 1;
        }
        let rest = &sql[from..];
        if rest.starts_with("--") {
            from += rest.find('\n').map_or(rest.len(), |n| n + 1);
        } else if rest.starts_with("/*") && !rest.starts_with("/*!") {
            from += rest[2..].find("*/").map_or(rest.len(), |n| n + 4);
        } else {
            return from;
        }
    }
}

/// 1-based line number of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&c| c == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_files() {
        assert!(is_blank(""));
        assert!(is_blank("  \n\t"));
        assert!(is_blank("-- nothing\n/* at\n all */\n-- x"));
        assert!(!is_blank("-- c\nSELECT 1"));
        assert!(!is_blank("/*!40101 SET x=1 */"));
    }

    #[test]
    fn checksum_matches_refinery_and_crlf() {
        let s = MigrationScript::new(1, "init", "CREATE TABLE a(x INT);\nSELECT 1;\n", None::<&str>);
        let lf = s.checksum().expect("checksum");
        let m = refinery_core::Migration::unapplied("V1__init", "CREATE TABLE a(x INT);\nSELECT 1;\n").expect("valid");
        assert_eq!(lf, m.checksum());
        let crlf = checksum(1, "init", "CREATE TABLE a(x INT);\r\nSELECT 1;\r\n").expect("checksum");
        assert_ne!(lf, crlf);
        assert!(s.matches_checksum(crlf).expect("ok"));
        assert!(!s.matches_checksum(crlf + 1).expect("ok"));
    }

    #[test]
    fn validation_and_markers() {
        assert!(MigrationScript::new(1, "Bad-Name", "", None::<&str>).validate().is_err());
        assert!(MigrationScript::new(-1, "x", "", None::<&str>).validate().is_err());
        assert!(MigrationScript::new(20240112210182, "x_1", "", None::<&str>).validate().is_ok());
        assert!(wants_no_transaction("-- dbmigrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t(x);"));
        assert!(!wants_no_transaction("SELECT 1;\n-- dbmigrate:no-transaction"));
        assert_eq!(line_of("a\nb\nc", 4), 3);
        assert_eq!(skip_trivia("-- a\n  /* b */ x", 0), 15);
    }

    #[test]
    fn reversibility() {
        let mk = |d: Option<&'static str>| MigrationScript::new(1, "a", "SELECT 1", d).reversibility();
        assert_eq!(mk(None), Reversibility::NoDown);
        assert_eq!(mk(Some(" -- nothing\n")), Reversibility::Irreversible);
        assert_eq!(mk(Some("DROP TABLE a;")), Reversibility::Reversible);
    }
}
