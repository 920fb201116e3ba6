//! The grammar of migration file names (`V<version>__<name>.sql` and `.down.sql`) and how they are written.
//!
//! Refinery silently skips names it cannot parse and panics on some (`|1__x.sql`), so every
//! `.sql` file that does not match is reported with the nearest valid spelling.

use std::fmt;

/// Whether a file is the upgrade or the downgrade half of a migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// `V<version>__<name>.sql`
    Up,
    /// `V<version>__<name>.down.sql`
    Down,
}

impl FileKind {
    /// What follows `V<version>__<name>` in the file name.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Up => ".sql",
            Self::Down => ".down.sql",
        }
    }
}

/// A file name that follows the grammar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationFileName {
    /// The version, compared numerically (`V1` and `V001` are the same version).
    pub version: i64,
    /// The name after `__`, `[a-z0-9_]+`.
    pub name: String,
    /// Up or down.
    pub kind: FileKind,
}

/// Why a `.sql` file name is not a migration name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameError {
    /// What is wrong, lowercase, without the file name.
    pub reason: String,
    /// The nearest valid spelling, when one can be guessed.
    pub suggestion: Option<String>,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for NameError {}

/// `V<version>__<name>`: how messages name a migration, and the stem refinery parses (the
/// version without leading zeros is what refinery hashes, and `format!` gives exactly that).
pub fn label(version: i64, name: &str) -> String {
    format!("V{version}__{name}")
}

/// The file name of one half of a migration.
pub fn file_name(version: i64, name: &str, kind: FileKind) -> String {
    format!("V{version}__{name}{}", kind.suffix())
}

/// `V<version>__<name>.sql`.
pub fn up_file(version: i64, name: &str) -> String {
    file_name(version, name, FileKind::Up)
}

/// `V<version>__<name>.down.sql`.
pub fn down_file(version: i64, name: &str) -> String {
    file_name(version, name, FileKind::Down)
}

/// Whether `name` is a valid migration name: `[a-z0-9_]+`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Checks a migration's version and name as the engine receives them (from any caller, not
/// only from file names): the version is not negative and the name is `[a-z0-9_]+`.
pub fn validate(version: i64, name: &str) -> Result<(), &'static str> {
    if version < 0 {
        return Err("the version must not be negative");
    }
    if !is_valid_name(name) {
        return Err("the name must match [a-z0-9_]+");
    }
    Ok(())
}

impl MigrationFileName {
    /// The stem refinery parses: [`label`].
    pub fn refinery_stem(&self) -> String {
        label(self.version, &self.name)
    }

    /// The file name for a version and name: [`file_name`].
    pub fn file_name(version: i64, name: &str, kind: FileKind) -> String {
        file_name(version, name, kind)
    }

    /// Parses a file name. `Ok(None)` means the file is not an SQL file at all (any letter case
    /// of `.sql` counts as SQL, so `V1__x.SQL` is an error, not ignored).
    pub fn parse(file: &str) -> Result<Option<Self>, NameError> {
        if !file.to_ascii_lowercase().ends_with(".sql") {
            return Ok(None);
        }
        let err = |reason: &str| NameError { reason: reason.to_owned(), suggestion: suggest(file) };
        let (stem, kind) = if let Some(stem) = file.strip_suffix(FileKind::Down.suffix()) {
            (stem, FileKind::Down)
        } else if let Some(stem) = file.strip_suffix(FileKind::Up.suffix()) {
            (stem, FileKind::Up)
        } else {
            return Err(err("the extension must be lowercase `.sql`"));
        };
        let Some(rest) = stem.strip_prefix('V') else {
            return Err(err("a migration name starts with an uppercase `V`"));
        };
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(err("`V` must be followed by the version number"));
        }
        let Some(name) = rest[digits..].strip_prefix("__") else {
            return Err(err("the version must be followed by two underscores `__`"));
        };
        if name.is_empty() {
            return Err(err("the name after `__` is empty"));
        }
        if !is_valid_name(name) {
            return Err(err("the name may hold only `a-z`, `0-9` and `_`"));
        }
        let version = rest[..digits].parse::<i64>().map_err(|_| err("the version does not fit in a 64-bit integer"))?;
        Ok(Some(Self { version, name: name.to_owned(), kind }))
    }
}

/// Guesses the valid spelling of a malformed name: `v1-Add Users.SQL` → `V1__add_users.sql`.
fn suggest(file: &str) -> Option<String> {
    let lower = file.to_ascii_lowercase();
    let (stem, kind) = match lower.strip_suffix(".down.sql") {
        Some(_) => (&file[..file.len() - ".down.sql".len()], FileKind::Down),
        None => (&file[..file.len() - ".sql".len()], FileKind::Up),
    };
    let body = stem.trim_start_matches(|c: char| !c.is_ascii_digit());
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    let version = body[..digits].parse::<i64>().ok()?;
    let rest = &body[digits..];
    let name = snake_ascii(rest);
    // Folding non-ASCII letters away would suggest a name the user never meant.
    (rest.is_ascii() && !name.is_empty()).then(|| file_name(version, &name, kind))
}

/// Lowercase ASCII words joined by `_`; anything else separates words.
pub fn snake_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(file: &str) -> MigrationFileName {
        MigrationFileName::parse(file).expect("valid").expect("sql")
    }

    fn bad(file: &str) -> NameError {
        MigrationFileName::parse(file).expect_err(file)
    }

    #[test]
    fn up_and_down_parse() {
        let up = ok("V20260101120000__create_users.sql");
        assert_eq!((up.version, up.name.as_str(), up.kind), (20260101120000, "create_users", FileKind::Up));
        let down = ok("V20260101120000__create_users.down.sql");
        assert_eq!(down.kind, FileKind::Down);
    }

    #[test]
    fn versions_are_numeric_and_any_i64() {
        assert_eq!(ok("V001__a.sql").version, 1);
        assert_eq!(ok("V0__a.sql").version, 0);
        // Real histories hold versions that are not real times (minute 66).
        assert_eq!(ok("V20190526216651__a.sql").version, 20190526216651);
        assert!(bad("V99999999999999999999__a.sql").reason.contains("64-bit"));
    }

    #[test]
    fn non_sql_files_are_not_migrations() {
        assert_eq!(MigrationFileName::parse("README.md"), Ok(None));
        assert_eq!(MigrationFileName::parse("dbmigrate.lock"), Ok(None));
    }

    #[test]
    fn near_misses_are_errors_with_a_suggestion() {
        for (file, reason, suggestion) in [
            ("V1_x.sql", "two underscores", Some("V1__x.sql")),
            ("v1__x.sql", "uppercase `V`", Some("V1__x.sql")),
            ("V1__x.SQL", "lowercase `.sql`", Some("V1__x.sql")),
            ("V1__bad-name.sql", "only `a-z`", Some("V1__bad_name.sql")),
            ("|1__x.sql", "uppercase `V`", Some("V1__x.sql")),
            ("U1__x.sql", "uppercase `V`", Some("V1__x.sql")),
            ("V1__Users.sql", "only `a-z`", Some("V1__users.sql")),
            ("V1__x.DOWN.sql", "only `a-z`", Some("V1__x.down.sql")),
            ("V__x.sql", "version number", None),
            ("V1__.sql", "empty", None),
            ("V1.5__x.sql", "two underscores", Some("V1__5_x.sql")),
            ("V1__ünï.sql", "only `a-z`", None),
        ] {
            let e = bad(file);
            assert!(e.reason.contains(reason), "{file}: {}", e.reason);
            assert_eq!(e.suggestion.as_deref(), suggestion, "{file}");
        }
    }

    #[test]
    fn labels_and_file_names_drop_leading_zeros() {
        assert_eq!(ok("V007__a.sql").refinery_stem(), "V7__a");
        assert_eq!(label(7, "a"), "V7__a");
        assert_eq!(up_file(7, "a"), "V7__a.sql");
        assert_eq!(down_file(7, "a"), "V7__a.down.sql");
        for file in ["V7__a.sql", "V7__a.down.sql"] {
            let parsed = ok(file);
            assert_eq!(file_name(parsed.version, &parsed.name, parsed.kind), file);
        }
    }

    /// The engine's check and the file-name grammar accept the same names.
    #[test]
    fn the_engine_rule_matches_the_grammar() {
        assert_eq!(validate(20240112210182, "x_1"), Ok(()));
        assert!(validate(-1, "x").is_err_and(|e| e.contains("negative")));
        for name in ["", "Bad", "a-b", "é", "a b"] {
            assert!(validate(1, name).is_err(), "{name:?}");
            assert!(MigrationFileName::parse(&up_file(1, name)).is_err(), "{name:?}");
        }
    }
}

/// The grammar over arbitrary names: it never panics, and what it accepts round-trips.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn any_text_never_panics(file in "\\PC*(\\.sql|\\.SQL|\\.down\\.sql|\\.DOWN\\.SQL)?") {
            if let Err(e) = MigrationFileName::parse(&file) {
                // A suggestion is itself a valid name.
                if let Some(s) = e.suggestion {
                    prop_assert!(matches!(MigrationFileName::parse(&s), Ok(Some(_))), "{file:?} → {s:?}");
                }
            }
        }

        #[test]
        fn near_misses_never_panic(file in "[vVU|]?[0-9]{0,25}[_.\\- ]{0,3}[a-zA-Zé0-9_\\- ]{0,12}(\\.down)?\\.(sql|SQL|Sql)") {
            if let Err(NameError { suggestion: Some(s), .. }) = MigrationFileName::parse(&file) {
                prop_assert!(matches!(MigrationFileName::parse(&s), Ok(Some(_))), "{file:?} → {s:?}");
            }
        }

        #[test]
        fn written_names_parse_back(version in 0..=i64::MAX, name in "[a-z0-9_]{1,40}", down in any::<bool>()) {
            let kind = if down { FileKind::Down } else { FileKind::Up };
            let file = file_name(version, &name, kind);
            let parsed = MigrationFileName::parse(&file).expect("valid").expect("sql");
            prop_assert_eq!((parsed.version, parsed.name.as_str(), parsed.kind), (version, name.as_str(), kind));
            prop_assert_eq!(parsed.refinery_stem(), label(version, &name));
            prop_assert!(validate(version, &name).is_ok());
        }
    }
}
