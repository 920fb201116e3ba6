//! The two safety steps around a change: a verified backup before it, and putting that backup
//! back after a failure.

use super::{Note, Notify};
use crate::CliError;
use crate::backup::{self, Backup, BackupConfig, Kind, Source};
use crate::workspace::Target;
use dbmigrate_runtime::DatabaseUrl;

/// Takes a verified backup; `None` when there is nothing to keep (an in-memory SQLite
/// database). Pruning is left to the caller, once its operation succeeded.
pub fn take_backup(
    target: &Target,
    url: &DatabaseUrl,
    version: Option<i64>,
    kind: Kind,
    notify: &mut Notify<'_>,
) -> Result<Option<Backup>, CliError> {
    let config = BackupConfig::of(target)?;
    let Some(source) = Source::of(url)? else {
        notify(Note::BackupSkipped);
        return Ok(None);
    };
    notify(Note::BackingUp { database: &source.database(), dir: &config.dir });
    let started = std::time::Instant::now();
    let taken = backup::take(&source, &config, version, kind)?;
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
    let verified = backup::verify(&source, &config, backup)?;
    notify(Note::Restoring { database: &database, from: &backup.path });
    backup::restore(&source, &config, verified)?;
    notify(Note::Restored { database: &database, version: backup.version });
    Ok(())
}

/// After a successful deploy: rotate out the oldest deploy backups of this source beyond
/// `keep`, never the one just taken.
pub fn prune_after_success(target: &Target, url: &DatabaseUrl, taken: &Backup) -> Result<(), CliError> {
    let config = BackupConfig::of(target)?;
    let Some(source) = Source::of(url)? else { return Ok(()) };
    backup::prune(&config.dir, &source, Kind::Deploy, config.keep, &[&taken.path]).map(drop)
}

/// After a failed deploy: a backup of a database the failure did not change is discarded (it
/// would only rotate out an older, possibly more valuable one); otherwise it is kept as the
/// state before the failure, outside the deploys' rotation.
pub fn settle_after_failure(taken: &Backup, changed: bool) -> Result<(), CliError> {
    if changed { backup::mark_failed(taken) } else { backup::delete(taken) }
}
