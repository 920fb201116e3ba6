//! The body `run` and `down` share: a dry run that prints the SQL, or a deploy whose notes,
//! outcome and failure are rendered for people or for scripts.

use super::args::{DbArgs, DeployArgs};
use crate::cli::GlobalArgs;
use crate::ops::deploy::{self, Deploy};
use crate::ops::session;
use crate::render::Format;
use crate::render::deploy::Invocation;
use crate::render::notes::Notes;
use crate::shell::Shell;
use crate::{CliResult, exit_code, workspace};
use dbmigrate_runtime::Goal;

/// What `run` or `down` was asked to do.
pub struct Request<'a> {
    pub goal: Goal,
    pub db: &'a DbArgs,
    pub deploy: &'a DeployArgs,
    pub dry_run: bool,
    pub single_transaction: bool,
    pub format: Format,
}

/// Runs the request: backups, retries, verification and restores happen in `ops::deploy`.
pub fn execute(request: &Request<'_>, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let target = workspace::locate(global.selector())?;
    let mut db = request.db.choice();
    db.ddl_lock_timeout = request.deploy.ddl_lock_timeout.map(std::time::Duration::from_secs);
    let mut notes = Notes::new(shell);
    let mut notify = |note: crate::ops::Note<'_>| notes.show(note);
    if request.dry_run {
        let mut session = session::open(&target, &db, request.single_transaction, &mut notify)?;
        let sql = session.engine.dry_run(&session::scripts(&session.set), request.goal)?;
        return print_dry_run(&sql, request.format);
    }
    let plan = Deploy {
        goal: request.goal,
        single_transaction: request.single_transaction,
        backup: !request.deploy.no_backup,
        restore_on_failure: request.deploy.restore_on_failure,
        retry: request.deploy.retry,
    };
    match deploy::deploy(&target, &db, &plan, &mut notify) {
        Ok(done) => crate::render::deploy::deployed(&done, request.format, shell),
        Err(failed) => {
            let how = Invocation {
                manifest_path: global.manifest_path.as_deref(),
                package: global.package.as_deref(),
                url_given: request.db.database_url.is_some(),
            };
            Err(crate::render::deploy::failed(failed, request.format, how, shell))
        }
    }
}

fn print_dry_run(sql: &[String], format: Format) -> CliResult {
    match format {
        Format::Json => println!("{}", serde_json::json!({ "dry_run": true, "sql": sql })),
        Format::Human => sql.iter().for_each(|s| println!("{}", s.trim_end())),
    }
    Ok(exit_code::OK)
}
