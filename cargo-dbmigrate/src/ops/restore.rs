//! `restore`: put a database back to a backup of that same database, verified first, holding
//! the migration lock, with the current state backed up before anything changes.

use super::safety::take_backup;
use super::session::{self, DbChoice};
use super::{Note, Notify};
use crate::CliError;
use crate::backup::{self, Backup, BackupConfig, Kind, Source};
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

/// How to restore.
#[derive(Debug, Clone)]
pub struct Restore {
    pub which: Which,
    /// Back the current state up first.
    pub backup_first: bool,
    /// Allow a backup of another database of the same engine (copying prod to staging).
    pub from_other_source: bool,
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
    /// The database, redacted, for the command that undoes the restore.
    pub url: String,
}

/// Asked once the backup is chosen and verified, before anything changes: may the database be
/// replaced?
pub type Confirm<'c> = dyn FnMut(&str, &Backup) -> Result<(), CliError> + 'c;

/// Restores a backup into `target`'s database after `confirm` agrees.
pub fn restore(
    target: &Target,
    db: &DbChoice,
    how: &Restore,
    confirm: &mut Confirm<'_>,
    notify: &mut Notify<'_>,
) -> Result<Restored, CliError> {
    let config = BackupConfig::of(target)?;
    let url = session::target_url(target, db, notify)?.url;
    let source =
        Source::of(&url)?.ok_or_else(|| CliError::usage("an in-memory SQLite database has no backups to restore"))?;
    let database = source.database();
    let chosen = choose(&how.which, &config, &source)?;
    check_source(&chosen, &source, how.from_other_source)?;
    confirm(&database, &chosen)?;
    // Hold the migration lock so that no `run` or `down` works on the database meanwhile.
    let mut engine = Engine::connect(&url, session::engine_options(target, db, false))?;
    let _lock = engine.lock()?;
    // A damaged backup is found before anything is written, the pre-restore backup included.
    let verified = backup::verify(&source, &config, &chosen)?;
    let before = match how.backup_first {
        true => take_backup(target, &url, engine.current_version()?, Kind::PreRestore, notify)?,
        false => None,
    };
    drop(engine);
    notify(Note::Restoring { database: &database, from: &chosen.path });
    backup::restore(&source, &config, verified).map_err(|e| with_way_back(e, before.as_ref()))?;
    // Retention last, and never the backup just restored from nor the one just taken.
    let mut protect = vec![chosen.path.as_path()];
    protect.extend(before.as_ref().map(|b| b.path.as_path()));
    if let Err(e) = backup::prune(&config.dir, &source, Kind::PreRestore, config.keep, &protect) {
        notify(Note::Warning(&format!("old pre-restore backups were not rotated out: {e}")));
    }
    Ok(Restored { chosen, database, before, url: url.to_string() })
}

/// The newest backup of this source, or the one named.
fn choose(which: &Which, config: &BackupConfig, source: &Source) -> Result<Backup, CliError> {
    if let Which::Id(id) = which {
        return backup::find(&config.dir, id);
    }
    backup::of_source(&config.dir, source)?.pop().ok_or_else(|| {
        CliError::failure(format!("no backup of {} in `{}`", source.key(), config.dir))
            .hint("backups are taken by `cargo dbmigrate run` and `down` when something will change")
    })
}

/// A backup of another database is restored only when meant (`--from-other-source`), and
/// never across engines.
fn check_source(chosen: &Backup, source: &Source, from_other_source: bool) -> Result<(), CliError> {
    let engine = match &chosen.manifest {
        Some(m) => m.engine.clone(),
        None => engine_of_extension(&chosen.id).to_owned(),
    };
    if engine != source.engine() {
        return Err(CliError::usage(format!(
            "`{}` is a {engine} backup and cannot be restored into a {} database",
            chosen.id,
            source.engine()
        )));
    }
    match chosen.source() {
        Some(key) if key == source.key() => Ok(()),
        _ if from_other_source => Ok(()),
        other => Err(CliError::usage(format!(
            "`{}` is a backup of {}, not of {}",
            chosen.id,
            other.unwrap_or("an unknown database (it has no manifest)"),
            source.key()
        ))
        .hint("to copy it into this database anyway (e.g. production into staging), add --from-other-source")),
    }
}

fn engine_of_extension(id: &str) -> &'static str {
    match id.rsplit_once('.').map(|(_, ext)| ext) {
        Some("sqlite") => "sqlite",
        Some("pgdump") => "postgres",
        _ => "mysql",
    }
}

/// A failed restore names the backup that holds the state before it.
fn with_way_back(e: CliError, before: Option<&Backup>) -> CliError {
    match before {
        Some(b) => e.hint(format!(
            "the state before this restore is backup {} (`cargo dbmigrate restore {} --yes`)",
            b.id, b.id
        )),
        None => e,
    }
}
