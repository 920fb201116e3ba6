//! The rules for the history table's name, and its default: refinery's own table.

use std::fmt;

/// refinery's history table, which cargo-dbmigrate keeps so that an application's embedded
/// refinery runner and the CLI always agree.
pub const DEFAULT_HISTORY_TABLE: &str = "refinery_schema_history";

/// The longest history table name, in bytes: MySQL/MariaDB also get a side table
/// `<name>_dbmigrate`, which must fit their 64-character identifier limit.
pub const MAX_HISTORY_TABLE_LEN: usize = 64 - "_dbmigrate".len();

/// Why a name cannot be the history table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableNameError {
    /// Empty, or not letters, digits and `_` starting with a letter or `_`: refinery pastes
    /// the name into SQL unquoted, so it must be a plain identifier.
    NotIdentifier,
    /// Longer than [`MAX_HISTORY_TABLE_LEN`].
    TooLong {
        /// The name's length.
        len: usize,
    },
}

impl fmt::Display for TableNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotIdentifier => f.write_str("not a plain SQL identifier"),
            Self::TooLong { len } => {
                write!(f, "{len} characters long; the limit is {MAX_HISTORY_TABLE_LEN}")
            }
        }
    }
}

impl std::error::Error for TableNameError {}

/// Checks that `name` can be the history table: a plain SQL identifier of at most
/// [`MAX_HISTORY_TABLE_LEN`] characters.
pub fn validate(name: &str) -> Result<(), TableNameError> {
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    if !first_ok || !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(TableNameError::NotIdentifier);
    }
    if name.len() > MAX_HISTORY_TABLE_LEN {
        return Err(TableNameError::TooLong { len: name.len() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_pass() {
        for good in [DEFAULT_HISTORY_TABLE, "_h2", "H", &"a".repeat(54)] {
            assert_eq!(validate(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn non_identifiers_fail() {
        for bad in ["", "1abc", "a-b", "a b", "a;drop", "é", "a.b"] {
            assert_eq!(validate(bad), Err(TableNameError::NotIdentifier), "{bad}");
        }
    }

    /// The drift this module ended: the build accepted a 60-character name, the engine did not.
    #[test]
    fn the_limit_is_54_and_named_in_the_error() {
        assert_eq!(MAX_HISTORY_TABLE_LEN, 54);
        let err = validate(&"a".repeat(60)).expect_err("too long");
        assert_eq!(err, TableNameError::TooLong { len: 60 });
        assert_eq!(err.to_string(), "60 characters long; the limit is 54");
        assert!(validate(&"a".repeat(55)).is_err());
    }
}
