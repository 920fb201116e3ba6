//! What the engine and the build both need to know about SQL text: where the comments end, and the no-transaction marker.
//!
//! Whether a down file is "empty" decides whether a migration can be reverted, so the build's
//! model and the engine must answer it with the same function: this one.

/// The first line that makes a script run outside any transaction.
pub const NO_TRANSACTION_MARKER: &str = "-- dbmigrate:no-transaction";

/// The line that lets an up file stay without statements, followed by the reason.
pub const EMPTY_MARKER: &str = "-- dbmigrate:empty";

/// How `cargo dbmigrate new` signs the up file it writes: a file holding nothing else is the
/// template left unedited.
pub const NEW_TEMPLATE_SIGNATURE: &str = "by cargo dbmigrate new.";

/// What an up file holds when it may have nothing to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emptiness {
    /// It has statements, or says why it has none (`-- dbmigrate:empty <reason>`).
    Fine,
    /// Only comments: real histories have such no-op migrations (vaultwarden's SQLite ones),
    /// so this is worth a warning, not a refusal.
    CommentsOnly,
    /// Nothing at all, or the template `new` writes, unedited: certainly a mistake, since it
    /// would be recorded as applied without doing anything.
    Unwritten,
}

/// Classifies an up file's text.
pub fn emptiness(sql: &str) -> Emptiness {
    let explained = sql.lines().any(|l| l.trim().strip_prefix(EMPTY_MARKER).is_some_and(|why| !why.trim().is_empty()));
    if !is_blank(sql) || explained {
        return Emptiness::Fine;
    }
    let lines = sql.lines().map(str::trim).filter(|l| !l.is_empty()).count();
    let signed =
        sql.lines().map(str::trim).any(|l| l.starts_with("-- Created ") && l.ends_with(NEW_TEMPLATE_SIGNATURE));
    if lines == 0 || (signed && lines <= 2) { Emptiness::Unwritten } else { Emptiness::CommentsOnly }
}

/// Whether a script must run outside a transaction: its first line is [`NO_TRANSACTION_MARKER`].
pub fn wants_no_transaction(sql: &str) -> bool {
    sql.lines().next().map(str::trim) == Some(NO_TRANSACTION_MARKER)
}

/// True when `sql` holds only whitespace, `--` line comments and `/* */` block comments: such
/// a script is never sent (MariaDB rejects an empty query), and such a down file makes its
/// migration irreversible. A MySQL executable comment `/*! … */` is code: MySQL runs it.
pub fn is_blank(sql: &str) -> bool {
    skip_trivia(sql, 0) >= sql.len()
}

/// The byte offset of the first character at or after `from` that is not whitespace or a
/// comment. `/*!` (MySQL executable comments) counts as code.
pub fn skip_trivia(sql: &str, mut from: usize) -> usize {
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

/// The 1-based line number of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&c| c == b'\n').count() + 1
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn an_up_file_without_statements_is_classified() {
        assert_eq!(emptiness(""), Emptiness::Unwritten);
        assert_eq!(emptiness("  \n"), Emptiness::Unwritten);
        let template = "-- add users\n-- Created 2026-12-01T00:00:00Z by cargo dbmigrate new.\n\n";
        assert_eq!(emptiness(template), Emptiness::Unwritten);
        assert_eq!(emptiness("-- SQLite cannot change a column's type; nothing to do\n"), Emptiness::CommentsOnly);
        assert_eq!(emptiness("-- dbmigrate:empty\n"), Emptiness::CommentsOnly, "a reason is required");
        assert_eq!(emptiness("-- dbmigrate:empty kept for the history of a squashed set\n"), Emptiness::Fine);
        assert_eq!(emptiness("SELECT 1;"), Emptiness::Fine);
    }

    #[test]
    fn blank_is_whitespace_and_comments_only() {
        assert!(is_blank(""));
        assert!(is_blank("  \n\t"));
        assert!(is_blank("-- nothing\n/* at\n all */\n-- x"));
        assert!(is_blank("/* never closed"));
        assert!(!is_blank("-- c\nSELECT 1"));
        assert!(!is_blank("-- c\ndrop table a;"));
    }

    /// The drift this module ended: the build called this file empty, the engine did not.
    #[test]
    fn mysql_executable_comments_are_code() {
        assert!(!is_blank("/*!40101 SET x=1 */"));
        assert!(!is_blank("-- revert\n/*!40101 SET x=1 */\n"));
        assert_eq!(skip_trivia("/* a */ /*!1 x */", 0), 8);
    }

    #[test]
    fn trivia_and_lines() {
        assert_eq!(skip_trivia("-- a\n  /* b */ x", 0), 15);
        assert_eq!(skip_trivia("x -- a\ny", 1), 7);
        assert_eq!(line_of("a\nb\nc", 4), 3);
        assert_eq!(line_of("a\nb", 99), 2);
    }

    #[test]
    fn the_marker_must_be_the_first_line() {
        assert!(wants_no_transaction("-- dbmigrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t(x);"));
        assert!(wants_no_transaction("  -- dbmigrate:no-transaction  \nx"));
        assert!(!wants_no_transaction("SELECT 1;\n-- dbmigrate:no-transaction"));
    }
}
