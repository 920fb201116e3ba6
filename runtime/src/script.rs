//! The engine's input: migration scripts as plain data, and what can be
//! derived from one (refinery's checksum, file names, emptiness).

use std::borrow::Cow;

use crate::error::{Error, Result};

// The rules themselves live in dbmigrate-core, shared with the build script, so that the
// build and the engine can never disagree on what is empty or what is a valid name.
use dbmigrate_core::sql::is_blank;

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
    /// The reason of the newest `release --rehash` of this version in the lock, if any: a
    /// history row holding another checksum for it was applied from the text before that
    /// deliberate edit, so the engine updates the row instead of refusing it as divergent.
    pub rehash: Option<Cow<'a, str>>,
    /// Whether the lock (`migrations/dbmigrate.lock`) holds this version. An unreleased
    /// migration edited after it was applied is reverted with the down text recorded when it
    /// was applied (the dev loop: apply, edit, `redo`); a released one is refused as divergent.
    pub released: bool,
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
        MigrationScript {
            version,
            name: name.into(),
            up: up.into(),
            down: down.map(Into::into),
            rehash: None,
            released: false,
        }
    }

    /// The same script, marked as deliberately edited after its release (see [`Self::rehash`]).
    #[must_use]
    pub fn with_rehash(mut self, reason: Option<impl Into<Cow<'a, str>>>) -> Self {
        self.rehash = reason.map(Into::into);
        self
    }

    /// The same script, marked as released (in the lock) or not (see [`Self::released`]).
    #[must_use]
    pub fn with_released(mut self, released: bool) -> Self {
        self.released = released;
        self
    }

    /// `V<version>__<name>.sql`, the name used in every message.
    pub fn file_name(&self) -> String {
        file_name(self.version, &self.name)
    }

    /// refinery's checksum of the up script.
    pub fn checksum(&self) -> Result<u64> {
        checksum(self.version, &self.name, &self.up)
    }

    /// Whether `recorded` is the checksum this script's text had under version `old`: the
    /// history row of the same migration before `renumber` gave it a new version.
    /// `renumber` also rewrites the version where the file's header comments name it, so the
    /// text with the old label put back is tried too.
    pub fn matches_checksum_as(&self, old: i64, recorded: u64) -> Result<bool> {
        let before = MigrationScript { version: old, ..self.clone() };
        if before.matches_checksum(recorded)? {
            return Ok(true);
        }
        let (new_label, old_label) =
            (dbmigrate_core::label(self.version, &self.name), dbmigrate_core::label(old, &self.name));
        if !self.up.contains(&new_label) {
            return Ok(false);
        }
        MigrationScript { up: self.up.replace(&new_label, &old_label).into(), ..before }.matches_checksum(recorded)
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
        dbmigrate_core::file_name::validate(self.version, &self.name)
            .map_err(|reason| Error::Script { file: self.file_name(), reason: reason.to_string() })
    }
}

pub(crate) fn file_name(version: i64, name: &str) -> String {
    dbmigrate_core::file_name::up_file(version, name)
}

/// refinery's checksum, computed by refinery itself so it stays identical.
pub(crate) fn checksum(version: i64, name: &str, sql: &str) -> Result<u64> {
    refinery_core::Migration::unapplied(&dbmigrate_core::label(version, name), sql)
        .map(|m| m.checksum())
        .map_err(|e| Error::Script { file: file_name(version, name), reason: e.to_string().to_lowercase() })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(dbmigrate_core::sql::wants_no_transaction(
            "-- dbmigrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t(x);"
        ));
    }

    #[test]
    fn reversibility() {
        let mk = |d: Option<&'static str>| MigrationScript::new(1, "a", "SELECT 1", d).reversibility();
        assert_eq!(mk(None), Reversibility::NoDown);
        assert_eq!(mk(Some(" -- nothing\n")), Reversibility::Irreversible);
        assert_eq!(mk(Some("DROP TABLE a;")), Reversibility::Reversible);
        // MySQL runs an executable comment, so a down file holding one reverts something (the
        // build's model says the same: dbmigrate-build's `a_mysql_executable_comment_is_a_statement`).
        assert_eq!(mk(Some("/*!40101 SET x=1 */")), Reversibility::Reversible);
    }
}
