//! What every dialect's renderer builds: steps of up SQL and its inverse, joined into a
//! migration whose down runs the inverses in reverse order.

use super::diff::Difference;

/// A generated migration: the up and down SQL, and what the user must be warned of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migration {
    pub up: String,
    pub down: String,
    pub warnings: Vec<String>,
}

/// One change and its inverse per entry; the down file runs the inverses in reverse order.
#[derive(Default)]
pub(crate) struct Steps {
    pub list: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

impl Steps {
    pub fn push(&mut self, up: impl Into<String>, down: impl Into<String>) {
        self.list.push((up.into(), down.into()));
    }

    /// The declared table renames, and the likely ones offered in a comment (with a warning):
    /// the same in every dialect but for the statement `rename(old, new)` writes.
    pub fn table_renames(&mut self, diff: &Difference, rename: impl Fn(&str, &str) -> String) {
        for (old, new) in &diff.renamed_tables {
            self.push(rename(old, new), rename(new, old));
        }
        for (old, new) in &diff.likely_table_renames {
            self.warnings.push(format!(
                "table `{old}` is dropped and `{new}` created with the same columns: a rename? pass `--rename {old}={new}`"
            ));
            self.push(format!("-- likely a rename: {}", rename(old, new)), "");
        }
    }

    /// The up parts, in order.
    pub fn ups(&self) -> Vec<&str> {
        self.list.iter().map(|(u, _)| u.as_str()).collect()
    }

    /// The down parts, last change first.
    pub fn downs(&self) -> Vec<&str> {
        self.list.iter().rev().map(|(_, d)| d.as_str()).collect()
    }
}

/// The non-empty parts, a blank line between them.
pub(crate) fn join(parts: Vec<&str>) -> String {
    parts.into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join("\n\n")
}

/// `-- dbmigrate:destructive <reason>`: on its own line, right before the statement it allows
/// (lint requires the reason).
pub(crate) fn destructive(reason: &str) -> String {
    format!("-- dbmigrate:destructive {reason}")
}
