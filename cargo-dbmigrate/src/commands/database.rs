//! `database create | drop | reset`: the lifecycle of the database itself, as sqlx-cli's
//! `database` and diesel's `database setup/reset` commands offer it.

use super::args::DbArgs;
use crate::cli::GlobalArgs;
use crate::ops::database::{self, DropDone, DropHow};
use crate::ops::session::Chosen;
use crate::render::Format;
use crate::render::deploy::{Invocation, restore_command};
use crate::render::notes::{Notes, target_json};
use crate::shell::Shell;
use crate::{CliError, CliResult, exit_code, workspace};
use dbmigrate_runtime::Direction;
use dbmigrate_runtime::admin::{Created, Dropped};
use std::io::{BufRead, IsTerminal, Write};

/// Create, drop or reset the database the URL names.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate database create
  cargo dbmigrate database drop --yes --database-url postgres://app@localhost/app_test
  cargo dbmigrate database reset --yes

`drop` and `reset` back the database up first (unless --no-backup) and ask on a terminal;
elsewhere they need --yes. `reset` is drop, create, then run every migration.")]
pub struct DatabaseArgs {
    #[command(subcommand)]
    action: Action,
}

/// What to do with the database.
#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Create the database the URL names, unless it exists
    Create(CreateArgs),
    /// Drop the database the URL names, after a backup
    Drop(DropArgs),
    /// Drop the database, create it again, and run every migration
    Reset(DropArgs),
}

#[derive(Debug, clap::Args)]
struct CreateArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Debug, clap::Args)]
struct DropArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Do not ask for confirmation (required when not on a terminal)
    #[arg(long)]
    yes: bool,
    /// Do not back the database up first
    #[arg(long)]
    no_backup: bool,
    /// Disconnect the database's other sessions first (PostgreSQL 13 and later)
    #[arg(long)]
    force: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

impl DatabaseArgs {
    /// The command's name in its JSON document.
    pub fn name(&self) -> &'static str {
        match &self.action {
            Action::Create(_) => "database create",
            Action::Drop(_) => "database drop",
            Action::Reset(_) => "database reset",
        }
    }

    /// The output format asked for.
    pub fn format(&self) -> Format {
        match &self.action {
            Action::Create(a) => a.format,
            Action::Drop(a) | Action::Reset(a) => a.format,
        }
    }
}

/// Runs `database …`.
pub fn run(args: &DatabaseArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let target = workspace::locate(global.selector())?;
    let mut notes = Notes::new(shell);
    let mut notify = |note: crate::ops::Note<'_>| notes.show(note);
    let name = args.name();
    match &args.action {
        Action::Create(a) => {
            let (chosen, created) = database::create(&target, &a.db.choice(), &mut notify)?;
            let result = match created {
                Created::Created => "created",
                Created::AlreadyExists => "already exists",
            };
            let data = report(&chosen, "create", result, None, shell);
            print_json(name, data, a.format);
        }
        Action::Drop(a) => {
            let how = DropHow { backup: !a.no_backup, force: a.force };
            let mut confirm = |chosen: &Chosen| confirm(a.yes, "drop", chosen);
            let (chosen, done) = database::drop(&target, &a.db.choice(), how, &mut confirm, &mut notify)?;
            print_json(name, dropped(&chosen, &done, a, global, shell), a.format);
        }
        Action::Reset(a) => {
            let how = DropHow { backup: !a.no_backup, force: a.force };
            let mut confirm = |chosen: &Chosen| confirm(a.yes, "reset", chosen);
            let (chosen, done) = database::drop(&target, &a.db.choice(), how, &mut confirm, &mut notify)?;
            let mut data = dropped(&chosen, &done, a, global, shell);
            data["action"] = "reset".into();
            match database::recreate_and_run(&target, &a.db.choice(), &mut notify) {
                Ok(deployed) if a.format == Format::Json => {
                    let run = crate::render::deploy::data(&deployed);
                    for key in ["before", "after", "migrations"] {
                        data[key] = run[key].clone();
                    }
                    print_json(name, data, a.format);
                }
                Ok(deployed) => return crate::render::deploy::deployed(&deployed, "run", Format::Human, shell),
                Err(failed) => {
                    let how = invocation(a, global);
                    let mut error = crate::render::deploy::failed(failed, Direction::Up, how, shell);
                    let run = error.data.take().unwrap_or_default();
                    for key in ["before", "after", "migrations"] {
                        data[key] = run[key].clone();
                    }
                    error.data = Some(data);
                    return Err(error);
                }
            }
        }
    }
    Ok(exit_code::OK)
}

fn print_json(command: &str, data: serde_json::Value, format: Format) {
    if format == Format::Json {
        crate::render::json::print(command, data);
    }
}

/// The status line of a finished action, and its data for the JSON document.
fn report(chosen: &Chosen, action: &str, result: &str, backup: Option<&str>, shell: &Shell) -> serde_json::Value {
    match result {
        "already exists" | "absent" => shell.status("Skipped", format!("{} {result}", chosen.url)),
        _ => shell.status(&capitalised(result), &chosen.url),
    }
    serde_json::json!({ "action": action, "result": result, "database": target_json(chosen), "backup": backup })
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Reports a drop, and the way back from its backup.
fn dropped(chosen: &Chosen, done: &DropDone, a: &DropArgs, global: &GlobalArgs, shell: &Shell) -> serde_json::Value {
    let result = match done.dropped {
        Dropped::Dropped => "dropped",
        Dropped::Absent => "absent",
    };
    let backup = done.backup.as_ref().map(|b| b.path.to_string());
    let data = report(chosen, "drop", result, backup.as_deref(), shell);
    if let Some(b) = &done.backup {
        let how = invocation(a, global);
        let url = chosen.url.to_string();
        let create = restore_command(how, &url, b).replacen(&format!("restore {} --yes", b.id), "database create", 1);
        shell.note(format!("the dropped database is backed up in {}", b.path));
        shell.note(format!("to bring it back: {create} && {}", restore_command(how, &url, b)));
    }
    data
}

fn invocation<'a>(a: &'a DropArgs, global: &'a GlobalArgs) -> Invocation<'a> {
    Invocation {
        manifest_path: global.manifest_path.as_deref(),
        package: global.package.as_deref(),
        url_given: a.db.database_url.is_some(),
    }
}

/// A terminal gets a question; anything else must pass --yes (exit 2 otherwise).
fn confirm(yes: bool, action: &str, chosen: &Chosen) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(format!(
            "database {action} destroys {} and every table in it; without a terminal it needs --yes",
            chosen.url
        ))
        .hint("add --yes to the same command (a backup is taken first unless --no-backup)"));
    }
    eprint!(
        "{action} the database {} ({})? its data is backed up first unless --no-backup [y/N] ",
        chosen.url, chosen.source
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    match answer.trim() {
        "y" | "Y" | "yes" => Ok(()),
        _ => Err(CliError::usage(format!("database {action} cancelled; nothing was changed"))),
    }
}
