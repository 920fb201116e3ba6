//! `run` and `down` as a release pipeline needs them: back up when something will change,
//! migrate, verify the result against the files, and on failure report what was done and
//! restore when asked; transient failures are retried with backoff.

use super::safety::{prune_after_success, restore_after_failure, settle_after_failure, take_backup};
use super::session::{self, DbChoice};
use super::{Note, Notify};
use crate::CliError;
use crate::backup::{Backup, Kind};
use crate::workspace::Target;
use dbmigrate_runtime::{
    Applied, Cause, DatabaseUrl, Direction, Engine, Error, Event, Goal, Hooks, MigrationScript, MigrationState,
    Planned, Report,
};
use std::time::Duration;

/// What to deploy and how carefully.
#[derive(Debug, Clone)]
pub struct Deploy {
    pub goal: Goal,
    /// Every migration of the run in one transaction (not on MySQL/MariaDB).
    pub single_transaction: bool,
    /// Back up before changing anything.
    pub backup: bool,
    /// Put the backup back when the run or its verification fails.
    pub restore_on_failure: bool,
    /// How many times to retry a transient failure.
    pub retry: u32,
    /// Set (by a signal handler) when the deploy should stop before the next migration.
    pub stop: Option<crate::signals::Stop>,
}

/// A deploy that reached its goal and verified it.
#[derive(Debug)]
pub struct Deployed {
    pub report: Report,
    /// The backup taken before the change, if one was.
    pub backup: Option<Backup>,
}

/// A deploy that did not reach its goal, with what it did before failing.
#[derive(Debug)]
pub enum DeployFailed {
    /// Refused or failed before it could change anything worth reporting.
    Refused(CliError),
    /// A migration (or the run around it) failed.
    Migration(Box<Failure>),
    /// The run finished, but the history does not match the files.
    Verification(Box<Failure>),
}

/// The details of a failed deploy.
#[derive(Debug)]
pub struct Failure {
    pub error: CliError,
    /// Committed before the failure.
    pub applied: Vec<Applied>,
    /// The backup taken before the change.
    pub backup: Option<Backup>,
    /// `None` when no restore was attempted.
    pub restore: Option<Result<(), CliError>>,
    /// The database, for the command that restores it.
    pub url: DatabaseUrl,
}

impl From<CliError> for DeployFailed {
    fn from(e: CliError) -> Self {
        DeployFailed::Refused(e)
    }
}

/// Migrates `target`'s database toward `deploy.goal`, with backups, retries and verification.
pub fn deploy(
    target: &Target,
    db: &DbChoice,
    deploy: &Deploy,
    notify: &mut Notify<'_>,
) -> Result<Deployed, DeployFailed> {
    let url = session::target_url(target, db, notify)?.url;
    if deploy.goal == Goal::Latest
        && let Some(report) = already_up_to_date(target, db, &url, notify)
    {
        return Ok(Deployed { report, backup: None });
    }
    let set = session::load_valid_set(target, notify)?;
    let scripts = session::scripts(&set);
    crate::uptodate::remember(target, &scripts);
    let run = Run { target, db, deploy, url: &url, scripts: &scripts };
    let mut state = State::default();
    let mut attempt = 0;
    loop {
        match run.attempt(&mut state, notify) {
            Ok(report) => {
                if let Some(taken) = &state.backup
                    && let Err(e) = prune_after_success(target, &url, taken)
                {
                    notify(Note::Warning(&format!("old backups were not rotated out: {e}")));
                }
                return Ok(Deployed { report, backup: state.backup });
            }
            Err(Attempt::Transient(e)) if attempt < deploy.retry => {
                attempt += 1;
                let wait = Duration::from_millis(500 * 2u64.pow(attempt.min(6)));
                notify(Note::Retrying { error: &e, wait, attempt, of: deploy.retry });
                std::thread::sleep(wait);
            }
            Err(Attempt::Transient(e)) => return Err(DeployFailed::Migration(Box::new(run.failed(e, state, notify)))),
            Err(Attempt::Failed(failed)) => return Err(*failed),
        }
    }
}

/// The no-op deploy: when the folder is unchanged since the set was last validated and the
/// database is exactly at it, one history read replaces reading every file, locking and
/// verifying. Any doubt (or error) returns `None`, and the full run decides.
fn already_up_to_date(target: &Target, db: &DbChoice, url: &DatabaseUrl, notify: &mut Notify<'_>) -> Option<Report> {
    // The cache first: without it, connecting here would only slow the full run down.
    let known = crate::uptodate::known(target)?;
    let mut engine = Engine::connect(url, session::engine_options(target, db, false)).ok()?;
    let at = crate::uptodate::check(&known, &mut engine)?;
    notify(Note::UpToDate);
    Some(Report { direction: Direction::Up, before: at, after: at, migrations: vec![] })
}

/// One deploy's fixed inputs.
struct Run<'a> {
    target: &'a Target,
    db: &'a DbChoice,
    deploy: &'a Deploy,
    url: &'a DatabaseUrl,
    scripts: &'a [MigrationScript<'a>],
}

/// What the attempts so far did, kept across retries: the backup is taken once.
#[derive(Default)]
struct State {
    backup: Option<Backup>,
    /// Committed by the attempts so far (a transient failure may follow some).
    applied: Vec<Applied>,
}

/// How one attempt ended, when it did not succeed.
enum Attempt {
    /// Nothing (more) was changed by this failure: worth another try.
    Transient(Error),
    Failed(Box<DeployFailed>),
}

impl From<CliError> for Attempt {
    fn from(e: CliError) -> Self {
        Attempt::Failed(Box::new(DeployFailed::Refused(e)))
    }
}

impl Run<'_> {
    /// Connect, migrate (the backup is taken under the lock), verify.
    fn attempt(&self, state: &mut State, notify: &mut Notify<'_>) -> Result<Report, Attempt> {
        notify(Note::Connecting(self.url));
        let options = session::engine_options(self.target, self.db, self.deploy.single_transaction);
        let mut engine = match Engine::connect(self.url, options) {
            Ok(engine) => engine,
            Err(e) if e.is_transient() => return Err(Attempt::Transient(e)),
            Err(e) => return Err(CliError::from(e).into()),
        };
        let mut hooks = DeployHooks { run: self, backup: &mut state.backup, notify: &mut *notify };
        let result = engine.migrate(self.scripts, self.deploy.goal, &mut hooks);
        notify(Note::MigrationsDone);
        let report = match result {
            Ok(report) => report,
            Err(e) => {
                state.applied.extend(e.applied);
                return match e.cause {
                    Cause::Hook(e) => Err(e.into()),
                    Cause::Engine(e) if e.is_transient() => Err(Attempt::Transient(e)),
                    Cause::Engine(e) => {
                        // Release the connection first: a restore may need to drop what it holds.
                        drop(engine);
                        let failure = self.failed(e, std::mem::take(state), notify);
                        Err(Attempt::Failed(Box::new(DeployFailed::Migration(Box::new(failure)))))
                    }
                };
            }
        };
        match verify(&mut engine, self.scripts, self.deploy.goal) {
            Ok(()) => Ok(report),
            Err(error) => {
                // "Applied and verified, or back where it started": a failed verification restores too.
                drop(engine);
                let failure = self.restore_if_asked(error, std::mem::take(state), true, notify);
                Err(Attempt::Failed(Box::new(DeployFailed::Verification(Box::new(failure)))))
            }
        }
    }

    /// A failed run: restore when asked, then note what was done. A restored database holds
    /// nothing half applied, so neither the note nor the error says so (nor suggests `repair`).
    fn failed(&self, mut e: Error, state: State, notify: &mut Notify<'_>) -> Failure {
        let half_applied = match &e {
            Error::Migration { dirty: true, file, .. } => Some(file.clone()),
            _ => None,
        };
        // A half-applied file changed the schema although its history row was never written.
        let changed = !state.applied.is_empty() || half_applied.is_some();
        let restore = self.restore(&state, notify);
        let restored = matches!(restore, Some(Ok(())));
        if restored && let Error::Migration { dirty, .. } = &mut e {
            *dirty = false;
        }
        let half_applied = half_applied.as_deref().filter(|_| !restored);
        notify(Note::Failed { direction: self.deploy.goal.direction(), applied: &state.applied, half_applied });
        self.settle(e.into(), state, changed, restore, notify)
    }

    /// Restores when asked, then settles the backup.
    fn restore_if_asked(&self, error: CliError, state: State, changed: bool, notify: &mut Notify<'_>) -> Failure {
        let restore = self.restore(&state, notify);
        self.settle(error, state, changed, restore, notify)
    }

    /// Puts the backup back when asked; `None` when no restore was attempted.
    fn restore(&self, state: &State, notify: &mut Notify<'_>) -> Option<Result<(), CliError>> {
        match &state.backup {
            Some(backup) if self.deploy.restore_on_failure => {
                Some(restore_after_failure(self.target, self.url, backup, notify))
            }
            _ => None,
        }
    }

    /// Settles the backup: kept when it holds a state worth going back to, discarded when the
    /// failure changed nothing.
    fn settle(
        &self,
        error: CliError,
        state: State,
        changed: bool,
        restore: Option<Result<(), CliError>>,
        notify: &mut Notify<'_>,
    ) -> Failure {
        if let Some(taken) = &state.backup
            && let Err(e) = settle_after_failure(taken, changed || restore.is_some())
        {
            notify(Note::Warning(&format!("the backup {} could not be settled: {e}", taken.id)));
        }
        let backup = state.backup.filter(|_| changed || restore.is_some());
        Failure { error, applied: state.applied, backup, restore, url: self.url.clone() }
    }
}

/// What the engine calls during one attempt: progress, and the backup under the migration lock,
/// only when something will change, so concurrent deploys take one backup and a deploy with
/// nothing to do takes none. A retry keeps the backup of the first attempt (the state before
/// the deploy).
struct DeployHooks<'r, 'n, 'm> {
    run: &'r Run<'r>,
    backup: &'r mut Option<Backup>,
    notify: &'m mut Notify<'n>,
}

impl Hooks for DeployHooks<'_, '_, '_> {
    type Error = CliError;

    fn before_apply(&mut self, planned: &Planned) -> Result<(), CliError> {
        // Under the migration lock, about to change things: a signal now waits for a
        // migration boundary instead of ending the process.
        if let Some(stop) = &self.run.deploy.stop {
            stop.commit();
        }
        if self.run.deploy.backup && self.backup.is_none() {
            *self.backup = take_backup(self.run.target, self.run.url, planned.current, Kind::Deploy, self.notify)?;
        }
        Ok(())
    }

    fn on_event(&mut self, event: &Event) {
        (self.notify)(Note::Migration(event));
    }

    fn keep_going(&mut self) -> bool {
        self.run.deploy.stop.as_ref().is_none_or(|stop| !stop.requested())
    }
}

/// After a successful run, the history must match the files: every wanted migration applied
/// and none divergent, missing or dirty.
fn verify(engine: &mut Engine, scripts: &[MigrationScript<'_>], goal: Goal) -> Result<(), CliError> {
    let status = engine.status(scripts)?;
    let wanted = |v: i64| match goal {
        Goal::UpTo(t) => v <= t,
        Goal::Latest => true,
        // A redo re-applies what it reverted; a migration it left pending would have failed it.
        Goal::DownSteps(_) | Goal::DownTo(_) | Goal::Redo(_) | Goal::RedoTo(_) => false,
    };
    let wrong: Vec<String> = status
        .iter()
        .filter(|s| match s.state {
            MigrationState::Applied => false,
            MigrationState::Pending => wanted(s.version),
            _ => true,
        })
        .map(|s| format!("{} ({:?})", dbmigrate_core::label(s.version, &s.name), s.state).to_lowercase())
        .collect();
    if wrong.is_empty() {
        return Ok(());
    }
    Err(CliError::problems(format!("verification failed after the run: {}", wrong.join(", ")))
        .hint("`cargo dbmigrate status` shows every migration's state"))
}
