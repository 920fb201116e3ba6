//! The body `run`, `down` and `redo` share: a dry run that prints the SQL, or a deploy whose notes,
//! outcome and failure are rendered for people or for scripts.

use super::args::{DbArgs, DeployArgs};
use crate::cli::GlobalArgs;
use crate::ops::deploy::{self, Deploy};
use crate::ops::session;
use crate::render::Format;
use crate::render::deploy::{Invocation, Outcome};
use crate::render::notes::Notes;
use crate::shell::Shell;
use crate::{CliResult, exit_code, workspace};
use dbmigrate_runtime::{Direction, Goal};
use std::io::{BufRead, IsTerminal, Write};

/// What `run`, `down` or `redo` was asked to do.
pub struct Request<'a> {
    pub goal: Goal,
    pub db: &'a DbArgs,
    pub deploy: &'a DeployArgs,
    pub dry_run: bool,
    pub single_transaction: bool,
    /// `run --allow-out-of-order`.
    pub allow_out_of_order: bool,
    pub format: Format,
    /// Ask on a terminal before changing anything (`down` and `redo` without `--yes`).
    pub confirm: bool,
}

/// What `down` and `redo` share: revert to `to` (a version that must exist; 0 is before the
/// first, `V0__` included) or by `steps`, asking first on a terminal unless `yes`.
pub struct Revert<'a> {
    pub db: &'a DbArgs,
    pub deploy: &'a DeployArgs,
    pub to: Option<i64>,
    pub dry_run: bool,
    pub yes: bool,
    pub format: Format,
}

impl Revert<'_> {
    /// Checks `to`, makes the goal (`to_goal` of a version, else `steps_goal`) and runs it.
    pub fn execute(&self, to_goal: fn(i64) -> Goal, steps_goal: Goal, global: &GlobalArgs, shell: &Shell) -> CliResult {
        if let Some(v) = self.to {
            let (zero, history) = (crate::ops::versions::Zero::Target, crate::ops::versions::History::Counts);
            self.db.require_version(global, v, zero, history)?;
        }
        let goal = match self.to {
            Some(0) => to_goal(-1),
            Some(v) => to_goal(v),
            None => steps_goal,
        };
        let request = Request {
            goal,
            db: self.db,
            deploy: self.deploy,
            dry_run: self.dry_run,
            single_transaction: false,
            allow_out_of_order: false,
            format: self.format,
            confirm: !self.yes,
        };
        execute(&request, global, shell)
    }
}

/// Runs the request: backups, retries, verification and restores happen in `ops::deploy`.
pub fn execute(request: &Request<'_>, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let direction = direction(request.goal);
    // Whatever failed, the document has the keys of every `run`/`down` document.
    deploy_or_dry_run(request, direction, global, shell).map_err(|mut e| {
        if e.data.is_none() {
            e.data = Some(Outcome { dry_run: request.dry_run, ..Outcome::new(direction) }.json());
        }
        e
    })
}

/// The `command` of the JSON document: the command that made the goal.
fn command_name(goal: Goal) -> &'static str {
    match goal {
        Goal::Latest | Goal::UpTo(_) => "run",
        Goal::Redo(_) | Goal::RedoTo(_) => "redo",
        _ => "down",
    }
}

fn direction(goal: Goal) -> Direction {
    match goal {
        Goal::Latest | Goal::UpTo(_) => Direction::Up,
        _ => Direction::Down,
    }
}

fn deploy_or_dry_run(request: &Request<'_>, direction: Direction, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let target = workspace::locate(global.selector())?;
    let mut db = request.db.choice();
    db.ddl_lock_timeout = request.deploy.ddl_lock_timeout.map(std::time::Duration::from_secs);
    db.allow_out_of_order = request.allow_out_of_order;
    let mut notes = Notes::new(shell);
    let mut notify = |note: crate::ops::Note<'_>| notes.show(note);
    if request.dry_run {
        let mut session = session::open(&target, &db, request.single_transaction, &mut notify)?;
        let sql = session.engine.dry_run(&session::scripts(&session.set), request.goal)?;
        return print_dry_run(&sql, direction, command_name(request.goal), request.format);
    }
    if request.confirm && std::io::stdin().is_terminal() {
        let url = session::database_url(&target, &db)?;
        confirm(request.goal, &url)?;
    }
    let plan = Deploy {
        goal: request.goal,
        single_transaction: request.single_transaction,
        backup: !request.deploy.no_backup,
        restore_on_failure: request.deploy.restore_on_failure,
        retry: request.deploy.retry,
        stop: crate::signals::stop_between_migrations(),
    };
    match deploy::deploy(&target, &db, &plan, &mut notify) {
        Ok(done) => crate::render::deploy::deployed(&done, command_name(request.goal), request.format, shell),
        Err(failed) => {
            let how = Invocation {
                manifest_path: global.manifest_path.as_deref(),
                package: global.package.as_deref(),
                url_given: request.db.database_url.is_some(),
            };
            Err(crate::render::deploy::failed(failed, direction, how, shell))
        }
    }
}

fn print_dry_run(sql: &[String], direction: Direction, command: &str, format: Format) -> CliResult {
    match format {
        Format::Json => {
            let outcome = Outcome { dry_run: true, sql: Some(sql), ..Outcome::new(direction) };
            crate::render::json::print(command, outcome.json());
        }
        Format::Human => sql.iter().for_each(|s| crate::shell::outln!("{}", s.trim_end())),
    }
    Ok(exit_code::OK)
}

/// Asks before reverting (or redoing), naming how much and which database; anything but yes
/// cancels.
fn confirm(goal: Goal, url: &dbmigrate_runtime::DatabaseUrl) -> Result<(), crate::CliError> {
    let (verb, command) = if goal.is_redo() { ("redo", "redo") } else { ("revert", "down") };
    let what = match goal {
        Goal::DownSteps(1) | Goal::Redo(1) => "the newest migration".to_owned(),
        Goal::Redo(n) => format!("the newest {n} migrations"),
        Goal::DownSteps(n) => format!("the newest {n} migrations"),
        Goal::DownTo(v) | Goal::RedoTo(v) if v < 1 => "every migration".to_owned(),
        Goal::DownTo(v) | Goal::RedoTo(v) => format!("every migration newer than {v}"),
        Goal::Latest | Goal::UpTo(_) => return Ok(()),
    };
    eprint!("{verb} {what} of {url}? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    match answer.trim() {
        "y" | "Y" | "yes" => Ok(()),
        _ => Err(crate::CliError::usage(format!("{command} cancelled; nothing was changed"))),
    }
}
