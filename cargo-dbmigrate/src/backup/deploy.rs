//! `run` and `down` for release pipelines: back up when something will change, apply, verify
//! the result against the files, and on failure say exactly how to get back (or get back
//! automatically with `--restore-on-failure`). Transient failures are retried with backoff.

use super::{Backup, BackupConfig, Source};
use crate::cli::{Format, GlobalArgs};
use crate::commands::apply::{Progress, summarize};
use crate::commands::db::{self, DbArgs};
use crate::shell::Shell;
use crate::workspace::{self, Target};
use crate::{CliError, CliResult, exit_code};
use dbmigrate_runtime::{
    Applied, Cause, DatabaseUrl, Direction, Engine, Error, Event, Goal, Hooks, MigrationScript, MigrationState,
    Options, Planned, Report,
};
use std::time::Duration;

/// The deploy-safety options of `run` and `down`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeployArgs {
    /// Do not back up the database before changing it
    #[arg(long)]
    pub no_backup: bool,
    /// When a migration fails, restore the backup taken before the run, then exit non-zero
    #[arg(long, conflicts_with = "no_backup")]
    pub restore_on_failure: bool,
    /// Retry transient failures (connection refused at start, lock timeout, deadlock,
    /// serialization failure) up to N times with backoff; a failing migration is never retried
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retry: u32,
}

/// What a deploy needs besides the plan.
pub struct Deploy<'a> {
    pub db: &'a DbArgs,
    pub deploy: &'a DeployArgs,
    pub single_transaction: bool,
    pub format: Format,
    pub global: &'a GlobalArgs,
    pub shell: &'a Shell,
}

/// Everything one attempt learned, kept across retries: the backup is taken once.
#[derive(Default)]
struct State {
    backup: Option<Backup>,
    /// Committed by the attempts so far (a transient failure may follow some).
    applied: Vec<Applied>,
}

enum Failure {
    /// Nothing (more) was changed by this attempt's failure: worth another try.
    Transient(Error),
    Fatal(CliError),
}

impl From<CliError> for Failure {
    fn from(e: CliError) -> Self {
        Failure::Fatal(e)
    }
}

/// Migrates toward `goal` with backups, retries and verification.
pub fn execute(goal: Goal, d: &Deploy<'_>) -> CliResult {
    let target = workspace::locate(d.global)?;
    let url = db::database_url(&target, d.db)?;
    if goal == Goal::Latest
        && let Some(report) = already_up_to_date(&target, &url, d)
    {
        return finish(&report, &State::default(), d).map_err(|f| match f {
            Failure::Fatal(e) => e,
            Failure::Transient(e) => db::engine_error(e),
        });
    }
    let set = db::load_valid_set(&target, d.shell)?;
    let scripts = db::scripts(&set);
    crate::uptodate::remember(&target, &scripts);
    let mut state = State::default();
    let mut attempt = 0;
    loop {
        match attempt_once(goal, d, &target, &url, &scripts, &mut state) {
            Ok(code) => return Ok(code),
            Err(Failure::Transient(e)) if attempt < d.deploy.retry => {
                attempt += 1;
                let wait = Duration::from_millis(500 * 2u64.pow(attempt.min(6)));
                d.shell.warn(format!("{e}; retrying in {:.1}s ({attempt}/{})", wait.as_secs_f64(), d.deploy.retry));
                std::thread::sleep(wait);
            }
            Err(Failure::Transient(e)) => return Err(failed(e, goal, d, &target, &url, &state)),
            Err(Failure::Fatal(e)) => return Err(e),
        }
    }
}

/// What the engine calls during one attempt: progress, and the backup under the migration lock,
/// only when something will change, so concurrent deploys take one backup and a deploy with
/// nothing to do takes none. A retry keeps the backup of the first attempt (the state before
/// the deploy).
struct DeployHooks<'a> {
    d: &'a Deploy<'a>,
    target: &'a Target,
    url: &'a DatabaseUrl,
    backup: &'a mut Option<Backup>,
    progress: Progress<'a>,
}

impl Hooks for DeployHooks<'_> {
    type Error = CliError;

    fn before_apply(&mut self, planned: &Planned) -> Result<(), CliError> {
        if !self.d.deploy.no_backup && self.backup.is_none() {
            *self.backup = backup(self.d.shell, self.target, self.url, planned.current)?;
        }
        Ok(())
    }

    fn on_event(&mut self, event: &Event) {
        self.progress.on(event);
    }
}

fn attempt_once(
    goal: Goal,
    d: &Deploy<'_>,
    target: &Target,
    url: &DatabaseUrl,
    scripts: &[MigrationScript<'_>],
    state: &mut State,
) -> Result<i32, Failure> {
    d.shell.verbose("Connecting", url);
    let mut engine = Engine::connect(url, options(target, d)).map_err(classify)?;
    let verb = if goal.direction() == Direction::Up { "Applying" } else { "Reverting" };
    let progress = Progress::new(d.shell, verb);
    let mut hooks = DeployHooks { d, target, url, backup: &mut state.backup, progress };
    let result = engine.migrate(scripts, goal, &mut hooks);
    hooks.progress.finish();
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            state.applied.extend(e.applied);
            return Err(match e.cause {
                Cause::Hook(e) => Failure::Fatal(e),
                Cause::Engine(e) if e.is_transient() => Failure::Transient(e),
                Cause::Engine(e) => {
                    // Release the connection first: a restore may need to drop what it holds.
                    drop(engine);
                    Failure::Fatal(failed(e, goal, d, target, url, state))
                }
            });
        }
    };
    if let Err(mut err) = verify(&mut engine, scripts, goal) {
        // "Applied and verified, or back where it started": a failed verification restores too.
        if d.deploy.restore_on_failure
            && let Some(b) = &state.backup
        {
            drop(engine);
            match restore_after_failure(d, target, url, b) {
                Ok(()) => err.hints.insert(0, format!("the database was restored from {}", b.id)),
                Err(r) => d.shell.print_error(&r),
            }
        }
        return Err(Failure::Fatal(err));
    }
    finish(&report, state, d)
}

/// The no-op deploy: when the folder is unchanged since the set was last validated and the
/// database is exactly at it, one history read replaces reading every file, locking and
/// verifying. Any doubt (or error) returns `None`, and the full run decides.
fn already_up_to_date(target: &Target, url: &DatabaseUrl, d: &Deploy<'_>) -> Option<Report> {
    // The cache first: without it, connecting here would only slow the full run down.
    let known = crate::uptodate::known(target)?;
    let mut engine = Engine::connect(url, options(target, d)).ok()?;
    let at = crate::uptodate::check(&known, &mut engine)?;
    d.shell.verbose("Up to date", "the history matches the unchanged migrations folder; no file was read");
    Some(Report { direction: Direction::Up, before: at, after: at, migrations: vec![] })
}

fn options(target: &Target, d: &Deploy<'_>) -> Options {
    Options {
        table: target.config.history_table.clone(),
        setup_sql: target.config.setup_sql.clone(),
        lock_timeout: Duration::from_secs(d.db.lock_timeout),
        single_transaction: d.single_transaction,
        ..Options::default()
    }
}

fn classify(e: Error) -> Failure {
    if e.is_transient() { Failure::Transient(e) } else { Failure::Fatal(db::engine_error(e)) }
}

/// Takes a verified backup and prunes old ones; `None` when there is nothing to keep
/// (an in-memory SQLite database).
pub fn backup(
    shell: &Shell,
    target: &Target,
    url: &DatabaseUrl,
    version: Option<i64>,
) -> Result<Option<Backup>, CliError> {
    let config = BackupConfig::of(target)?;
    let Some(source) = Source::of(url)? else {
        shell.verbose("Skipping", "backup of an in-memory database");
        return Ok(None);
    };
    shell.status("Backing up", format!("{} to {}", source.database(), config.dir.display()));
    let started = std::time::Instant::now();
    let taken = super::take(&source, &config, version)?;
    shell.status(
        "Backed up",
        format!("{} ({}, {:.2}s)", taken.path.display(), size(taken.bytes), started.elapsed().as_secs_f64()),
    );
    Ok(Some(taken))
}

/// A byte count for people.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// After a successful run, the history must match the files: every wanted migration applied
/// and none divergent, missing or dirty.
fn verify(engine: &mut Engine, scripts: &[MigrationScript<'_>], goal: Goal) -> Result<(), CliError> {
    let status = engine.status(scripts).map_err(db::engine_error)?;
    let wanted = |v: i64| match goal {
        Goal::UpTo(t) => v <= t,
        Goal::Latest => true,
        Goal::DownSteps(_) | Goal::DownTo(_) => false,
    };
    let wrong: Vec<String> = status
        .iter()
        .filter(|s| match s.state {
            MigrationState::Applied => false,
            MigrationState::Pending => wanted(s.version),
            _ => true,
        })
        .map(|s| format!("{} ({:?})", db::label(s.version, &s.name), s.state).to_lowercase())
        .collect();
    if wrong.is_empty() {
        return Ok(());
    }
    Err(CliError::problems(format!("verification failed after the run: {}", wrong.join(", ")))
        .hint("`cargo dbmigrate status` shows every migration's state"))
}

fn finish(report: &Report, state: &State, d: &Deploy<'_>) -> Result<i32, Failure> {
    if d.format == Format::Json {
        println!("{}", summary_json(report, state.backup.as_ref()));
        return Ok(exit_code::OK);
    }
    summarize(report, d.format, d.shell).map_err(Failure::Fatal)
}

fn summary_json(report: &Report, backup: Option<&Backup>) -> serde_json::Value {
    let migrations: Vec<_> = report
        .migrations
        .iter()
        .map(|m| serde_json::json!({ "version": m.version, "name": m.name, "duration_ms": m.duration.as_secs_f64() * 1000.0 }))
        .collect();
    let direction = if report.direction == Direction::Up { "up" } else { "down" };
    serde_json::json!({
        "direction": direction,
        "before": report.before,
        "after": report.after,
        "migrations": migrations,
        "verified": true,
        "backup": backup.map(|b| b.path.display().to_string()),
    })
}

/// A failed run: say what was applied and what failed, then restore (`--restore-on-failure`)
/// or print the exact command that does.
fn failed(e: Error, goal: Goal, d: &Deploy<'_>, target: &Target, url: &DatabaseUrl, state: &State) -> CliError {
    let verb = if goal.direction() == Direction::Up { "applied" } else { "reverted" };
    let done: Vec<String> = state.applied.iter().map(|a| db::label(a.version, &a.name)).collect();
    let mut err = db::engine_error(e);
    let done_text = if done.is_empty() { "none".to_owned() } else { done.join(", ") };
    d.shell.note(format!("{verb} before the failure: {done_text}"));
    let mut restored = None;
    if let Some(backup) = &state.backup {
        if d.deploy.restore_on_failure {
            restored = Some(restore_after_failure(d, target, url, backup));
        }
        match &restored {
            Some(Ok(())) => {
                err.message.push_str(&format!("; the database was restored from {}", backup.id));
                err.hints.insert(0, "the database is back where it started; fix the migration and deploy again".into());
            }
            Some(Err(r)) => {
                d.shell.print_error(r);
                err.hints.insert(
                    0,
                    format!("the automatic restore failed; to retry it: {}", restore_command(d, url, backup)),
                );
            }
            None => err.hints.insert(
                0,
                format!("to put the database back as it was before this run: {}", restore_command(d, url, backup)),
            ),
        }
    }
    if d.format == Format::Json {
        let json = serde_json::json!({
            "ok": false,
            "error": err.message,
            "applied": state.applied.iter().map(|a| serde_json::json!({"version": a.version, "name": a.name})).collect::<Vec<_>>(),
            "backup": state.backup.as_ref().map(|b| b.path.display().to_string()),
            "restored": matches!(restored, Some(Ok(()))),
        });
        println!("{json}");
    }
    err
}

fn restore_after_failure(d: &Deploy<'_>, target: &Target, url: &DatabaseUrl, backup: &Backup) -> Result<(), CliError> {
    let shell = d.shell;
    let config = BackupConfig::of(target)?;
    let source = Source::of(url)?.ok_or_else(|| CliError::failure("an in-memory database cannot be restored"))?;
    shell.status("Restoring", format!("{} from {}", source.database(), backup.path.display()));
    super::restore(&source, &config, backup)?;
    shell.status(
        "Restored",
        format!("{} to version {}", source.database(), dbmigrate_core::version::display(backup.version)),
    );
    Ok(())
}

/// The command that restores `backup`, as the user would type it (never with a password).
pub fn restore_command(d: &Deploy<'_>, url: &DatabaseUrl, backup: &Backup) -> String {
    let mut cmd = format!("cargo dbmigrate restore {} --yes", backup.id);
    if let Some(path) = &d.global.manifest_path {
        cmd.push_str(&format!(" --manifest-path {}", path.display()));
    }
    if let Some(p) = &d.global.package {
        cmd.push_str(&format!(" -p {p}"));
    }
    if d.db.database_url.is_some() {
        // The redacted form: a password shows as ***, to be filled in by the user.
        cmd.push_str(&format!(" --database-url '{url}'"));
    }
    cmd
}
