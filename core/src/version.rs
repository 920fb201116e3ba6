//! Migration versions as people type and read them: the command-line parser, "none", the newest of a folder.

use crate::MigrationFileName;
use std::path::Path;

/// What a missing version (an empty database, an empty set) is shown as.
pub const NONE: &str = "none";

/// A version given on the command line: `20260101120000`, `V20260101120000`, or a migration's
/// label `V20260101120000__name`.
pub fn parse(text: &str) -> Result<i64, String> {
    let digits = text.strip_prefix(['V', 'v']).unwrap_or(text);
    let digits = digits.split("__").next().unwrap_or(digits);
    digits.parse::<i64>().map_err(|_| format!("`{text}` is not a migration version (digits, e.g. 20260101120000)"))
}

/// A version for messages: the number, or [`NONE`].
pub fn display(version: Option<i64>) -> String {
    version.map_or_else(|| NONE.to_owned(), |v| v.to_string())
}

/// The newest version among file names; names that are not valid migration names are skipped,
/// so a duplicated or orphaned version still counts.
pub fn newest<S: AsRef<str>>(file_names: impl IntoIterator<Item = S>) -> Option<i64> {
    file_names.into_iter().filter_map(|n| MigrationFileName::parse(n.as_ref()).ok().flatten()).map(|p| p.version).max()
}

/// [`newest`] over the names in folder `dir`; only names are read, not contents.
pub fn newest_in(dir: &Path) -> std::io::Result<Option<i64>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        if let Ok(name) = entry?.file_name().into_string() {
            names.push(name);
        }
    }
    Ok(newest(names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_versions() {
        assert_eq!(parse("20260101120000"), Ok(20260101120000));
        assert_eq!(parse("V7"), Ok(7));
        assert_eq!(parse("v7__create_users"), Ok(7));
        assert!(parse("seven").is_err_and(|e| e.contains("`seven` is not a migration version")));
        assert!(parse("").is_err());
    }

    #[test]
    fn missing_versions_read_none() {
        assert_eq!(display(None), "none");
        assert_eq!(display(Some(0)), "0");
        assert_eq!(display(Some(20260101120000)), "20260101120000");
    }

    #[test]
    fn newest_counts_every_valid_name() {
        assert_eq!(newest(["V2__a.sql", "V10__b.down.sql", "V3__c.sql", "README.md", "V99_bad.sql"]), Some(10));
        assert_eq!(newest(Vec::<String>::new()), None);
    }

    #[test]
    fn newest_in_reads_names_only() {
        let dir = std::env::temp_dir().join(format!("dbmigrate-core-newest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("V5__a.sql"), "").expect("write");
        std::fs::write(dir.join("V9__b.down.sql"), "").expect("write");
        assert_eq!(newest_in(&dir).ok(), Some(Some(9)));
        std::fs::remove_dir_all(&dir).expect("rm");
        assert!(newest_in(&dir).is_err());
    }
}
