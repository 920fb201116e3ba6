//! `restore`: put a database back to a backup's state, holding the migration lock and backing
//! the current state up first.

use super::safety::take_backup;
use super::session::{self, DbChoice};
use super::{Note, Notify};
use crate::CliError;
use crate::backup::{self, Backup, BackupConfig, Source};
use crate::workspace::Target;
use dbmigrate_runtime::Engine;

/// Which backup to restore.
#[derive(Debug, Clone)]
pub enum Which {
    /// A file name (or path), as `backups` lists it.
    Id(String),
    /// The newest backup of the database.
    Latest,
}

/// How a restore ended.
#[derive(Debug)]
pub struct Restored {
    /// The backup restored from.
    pub chosen: Backup,
    /// The database's name.
    pub database: String,
    /// The backup of the state before the restore, unless it was skipped.
    pub before: Option<Backup>,
}

/// Asked once the backup is chosen, before anything changes: may the database be replaced?
pub type Confirm<'c> = dyn FnMut(&str, &Backup) -> Result<(), CliError> + 'c;

/// Restores `which` into `target`'s database after `confirm` agrees.
pub fn restore(
    target: &Target,
    db: &DbChoice,
    which: &Which,
    backup_first: bool,
    confirm: &mut Confirm<'_>,
    notify: &mut Notify<'_>,
) -> Result<Restored, CliError> {
    let config = BackupConfig::of(target)?;
    let url = session::database_url(target, db)?;
    let source =
        Source::of(&url)?.ok_or_else(|| CliError::usage("an in-memory SQLite database has no backups to restore"))?;
    let database = source.database();
    let chosen = choose(which, &config, &database)?;
    confirm(&database, &chosen)?;
    // Hold the migration lock so that no `run` or `down` works on the database meanwhile.
    let mut engine = Engine::connect(&url, session::engine_options(target, db, false))?;
    let _lock = engine.lock()?;
    let before = match backup_first {
        true => take_backup(target, &url, engine.current_version()?, notify)?,
        false => None,
    };
    notify(Note::Restoring { database: &database, from: &chosen.path });
    backup::restore(&source, &config, &chosen)?;
    // Prune only now, never the backup just restored from.
    backup::prune(&config.dir, &database, config.keep, std::slice::from_ref(&chosen.path))?;
    Ok(Restored { chosen, database, before })
}

fn choose(which: &Which, config: &BackupConfig, database: &str) -> Result<Backup, CliError> {
    if let Which::Id(id) = which {
        return backup::find(&config.dir, id);
    }
    backup::list(&config.dir)?.into_iter().rfind(|b| b.database == database).ok_or_else(|| {
        CliError::failure(format!("no backup of `{database}` in `{}`", config.dir))
            .hint("backups are taken by `cargo dbmigrate run` when something is pending")
    })
}
