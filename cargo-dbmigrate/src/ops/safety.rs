//! The two safety steps around a change: a verified backup before it, and putting that backup
//! back after a failure.

use super::{Note, Notify};
use crate::CliError;
use crate::backup::{self, Backup, BackupConfig, Source};
use crate::workspace::Target;
use dbmigrate_runtime::DatabaseUrl;

/// Takes a verified backup and prunes old ones; `None` when there is nothing to keep
/// (an in-memory SQLite database).
pub fn take_backup(
    target: &Target,
    url: &DatabaseUrl,
    version: Option<i64>,
    notify: &mut Notify<'_>,
) -> Result<Option<Backup>, CliError> {
    let config = BackupConfig::of(target)?;
    let Some(source) = Source::of(url)? else {
        notify(Note::BackupSkipped);
        return Ok(None);
    };
    notify(Note::BackingUp { database: &source.database(), dir: &config.dir });
    let started = std::time::Instant::now();
    let taken = backup::take(&source, &config, version)?;
    notify(Note::BackedUp { backup: &taken, took: started.elapsed() });
    Ok(Some(taken))
}

/// Puts `backup` back after a failed deploy.
pub fn restore_after_failure(
    target: &Target,
    url: &DatabaseUrl,
    backup: &Backup,
    notify: &mut Notify<'_>,
) -> Result<(), CliError> {
    let config = BackupConfig::of(target)?;
    let source = Source::of(url)?.ok_or_else(|| CliError::failure("an in-memory database cannot be restored"))?;
    let database = source.database();
    notify(Note::Restoring { database: &database, from: &backup.path });
    backup::restore(&source, &config, backup)?;
    notify(Note::Restored { database: &database, version: backup.version });
    Ok(())
}
