//! `database create | drop | reset`: the database itself, created or dropped where the URL
//! says, with a backup before anything is dropped and a check of the state left behind.

use super::deploy::{self, Deploy, DeployFailed, Deployed};
use super::safety::take_backup;
use super::session::{self, Chosen, DbChoice};
use super::{Note, Notify};
use crate::CliError;
use crate::backup::{Backup, Kind};
use crate::workspace::Target;
use dbmigrate_runtime::admin::{self, Created, Dropped};
use dbmigrate_runtime::{Engine, Goal};

/// How to drop.
#[derive(Debug, Clone, Copy)]
pub struct DropHow {
    /// Back the database up first.
    pub backup: bool,
    /// Disconnect other sessions first (PostgreSQL 13 and later).
    pub force: bool,
}

/// How a drop ended.
#[derive(Debug)]
pub struct DropDone {
    pub dropped: Dropped,
    /// The backup of what was dropped, unless skipped or there was nothing.
    pub backup: Option<Backup>,
}

/// Asked once the database is known to name a database, before anything changes.
pub type Confirm<'c> = dyn FnMut(&Chosen) -> Result<(), CliError> + 'c;

/// Creates the database the URL names, unless it exists.
pub fn create(target: &Target, db: &DbChoice, notify: &mut Notify<'_>) -> Result<(Chosen, Created), CliError> {
    let chosen = session::target_url(target, db, notify)?;
    let name = named(&chosen)?;
    let created = admin::create(&chosen.url, db.connect_timeout).map_err(|e| with_name(e, &name))?;
    Ok((chosen, created))
}

/// `run --create-database`: creates the database when it is missing, without announcing the
/// target (the run that follows does); the URL when it was created.
pub fn ensure(target: &Target, db: &DbChoice) -> Result<Option<String>, CliError> {
    let chosen = session::choose(target, db)?;
    let name = named(&chosen)?;
    match admin::create(&chosen.url, db.connect_timeout).map_err(|e| with_name(e, &name))? {
        Created::Created => Ok(Some(chosen.url.to_string())),
        Created::AlreadyExists => Ok(None),
    }
}

/// Drops the database the URL names after `confirm` agrees, backing it up first.
pub fn drop(
    target: &Target,
    db: &DbChoice,
    how: DropHow,
    confirm: &mut Confirm<'_>,
    notify: &mut Notify<'_>,
) -> Result<(Chosen, DropDone), CliError> {
    let chosen = session::target_url(target, db, notify)?;
    let name = named(&chosen)?;
    confirm(&chosen)?;
    let done = drop_confirmed(target, db, &chosen, how, notify).map_err(|e| with_name(e, &name))?;
    Ok((chosen, done))
}

fn drop_confirmed(
    target: &Target,
    db: &DbChoice,
    chosen: &Chosen,
    how: DropHow,
    notify: &mut Notify<'_>,
) -> Result<DropDone, CliError> {
    if !admin::exists(&chosen.url, db.connect_timeout)? {
        return Ok(DropDone { dropped: Dropped::Absent, backup: None });
    }
    let backup = if how.backup { backup_before_drop(target, db, chosen, notify)? } else { None };
    let dropped = admin::drop_database(&chosen.url, db.connect_timeout, how.force).map_err(|e| {
        let err = CliError::from(e);
        match &backup {
            Some(b) => err.hint(format!("nothing was dropped; the backup taken before is {}", b.path)),
            None => err,
        }
    })?;
    Ok(DropDone { dropped, backup })
}

/// A backup under the migration lock, so no `run` changes the database while it is taken. The
/// lock and the connection are released before the drop, which they would otherwise block.
fn backup_before_drop(
    target: &Target,
    db: &DbChoice,
    chosen: &Chosen,
    notify: &mut Notify<'_>,
) -> Result<Option<Backup>, CliError> {
    notify(Note::Connecting(&chosen.url));
    let mut engine = Engine::connect(&chosen.url, session::engine_options(target, db, false))?;
    let lock = engine.lock()?;
    let version = engine.current_version()?;
    let backup = take_backup(target, &chosen.url, version, Kind::PreDrop, notify)?;
    std::mem::drop(lock);
    std::mem::drop(engine);
    Ok(backup)
}

/// The second half of `reset`, after the drop: create the database again and run every
/// migration on it.
pub fn recreate_and_run(target: &Target, db: &DbChoice, notify: &mut Notify<'_>) -> Result<Deployed, DeployFailed> {
    let chosen = session::choose(target, db)?;
    let name = named(&chosen)?;
    admin::create(&chosen.url, db.connect_timeout).map_err(|e| with_name(e, &name))?;
    // The database was just created empty: a backup of it would hold nothing.
    let plan = Deploy {
        goal: Goal::Latest,
        single_transaction: false,
        backup: false,
        restore_on_failure: false,
        retry: 0,
        stop: crate::signals::stop_between_migrations(),
    };
    // The drop already named the database; the deploy chooses the same from the same inputs.
    deploy::deploy(target, db, &plan, &mut |note| match note {
        Note::Target(_) => {}
        other => notify(other),
    })
}

/// The database's name, or a usage error for a URL that names none.
fn named(chosen: &Chosen) -> Result<String, CliError> {
    admin::database_name(&chosen.url).map_err(|e| {
        CliError::usage(format!("{e}; `database` commands need a URL that names one database"))
            .hint("e.g. --database-url postgres://user@host/app, mysql://user@host/app or sqlite:app.db")
    })
}

fn with_name(e: impl Into<CliError>, name: &str) -> CliError {
    let e = e.into();
    if e.message.contains("other session(s) are connected") {
        return e.hint(format!(
            "close the other connections to {name} (the application, psql sessions), or add --force (PostgreSQL 13+)"
        ));
    }
    e
}
