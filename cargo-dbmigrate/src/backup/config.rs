//! `[package.metadata.dbmigrate.backup]`: where backups go, how many to keep, which tools.
//! Read here rather than in build-support because only the CLI needs it (the build skips it).

use crate::CliError;
use crate::workspace::Target;
use camino::Utf8PathBuf;
use toml_edit::Item;

/// The keys users may set.
/// Where backups go by default, relative to the crate: outside `target/` (which `cargo clean`
/// deletes) and kept out of git by the `.gitignore` line `init` writes.
pub const DEFAULT_DIR: &str = ".dbmigrate/backups";

/// The `.gitignore` line that keeps the default backup folder out of git.
pub const GITIGNORE_LINE: &str = "/.dbmigrate/";

pub const KEYS: &[&str] = &["dir", "keep", "pg-dump", "pg-restore", "psql", "mysqldump", "mysql"];

/// Backup settings, with defaults filled in.
#[derive(Debug, Clone)]
pub struct BackupConfig {
    /// The backup folder (absolute).
    pub dir: Utf8PathBuf,
    /// How many backups of each database to keep (the newest is always kept).
    pub keep: usize,
    /// Explicit tool paths; `None` searches PATH.
    pub pg_dump: Option<Utf8PathBuf>,
    pub pg_restore: Option<Utf8PathBuf>,
    pub psql: Option<Utf8PathBuf>,
    pub mysqldump: Option<Utf8PathBuf>,
    pub mysql: Option<Utf8PathBuf>,
}

impl BackupConfig {
    /// The crate's settings; relative paths are relative to the crate's folder.
    pub fn of(target: &Target) -> Result<Self, CliError> {
        let base = target.dir();
        let mut config = BackupConfig {
            dir: base.join(DEFAULT_DIR),
            keep: 3,
            pg_dump: None,
            pg_restore: None,
            psql: None,
            mysqldump: None,
            mysql: None,
        };
        let table = target
            .manifest
            .doc
            .get("package")
            .and_then(|p| p.get("metadata"))
            .and_then(|m| m.get("dbmigrate"))
            .and_then(|d| d.get("backup"));
        let Some(table) = table.and_then(Item::as_table_like) else { return Ok(config) };
        let file = target.manifest.path.display().to_string();
        for (key, value) in table.iter() {
            let fail = |what: &str| {
                CliError::failure(format!("`package.metadata.dbmigrate.backup.{key}` in `{file}` must be {what}"))
            };
            if key == "keep" {
                let n = value.as_integer().filter(|n| *n >= 1).ok_or_else(|| {
                    fail("a whole number of at least 1")
                        .hint("for example `keep = 3`; the newest backup is never deleted")
                })?;
                config.keep = usize::try_from(n).unwrap_or(usize::MAX);
                continue;
            }
            let text = value.as_str().ok_or_else(|| fail("a string").hint(format!("write it as `{key} = \"...\"`")))?;
            // A bare name is looked up on PATH; anything with a separator is a path.
            let path = Some(if text.contains(['/', '\\']) { base.join(text) } else { Utf8PathBuf::from(text) });
            match key {
                "dir" => config.dir = base.join(text),
                "pg-dump" => config.pg_dump = path,
                "pg-restore" => config.pg_restore = path,
                "psql" => config.psql = path,
                "mysqldump" => config.mysqldump = path,
                "mysql" => config.mysql = path,
                _ => {
                    return Err(CliError::failure(format!(
                        "unknown key `{key}` in `[package.metadata.dbmigrate.backup]` of `{file}`"
                    ))
                    .hint(format!("the known keys are: {}", KEYS.join(", "))));
                }
            }
        }
        Ok(config)
    }
}
