//! `restore`: put the database back to a backup's state, after a confirmation.

use super::args::DbArgs;
use crate::backup::Backup;
use crate::cli::GlobalArgs;
use crate::ops::restore::{self, Restore, Which};
use crate::render::Format;
use crate::render::deploy::{Invocation, restore_command};
use crate::render::notes::Notes;
use crate::shell::Shell;
use crate::{CliError, CliResult, exit_code, workspace};
use std::io::{BufRead, IsTerminal, Write};

/// Put the database back to the state of a backup.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate restore --latest
  cargo dbmigrate restore app-20260101120000-20261125T162224Z.pgdump --yes
  cargo dbmigrate restore --latest --yes --database-url postgres://app@db.internal/app

Every object of the database is replaced by the backup's. The current state is backed up
first (unless --no-backup). Asks for confirmation on a terminal; elsewhere --yes is required.")]
pub struct RestoreArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The backup to restore: its file name, as `cargo dbmigrate backups` lists it
    #[arg(value_name = "ID", required_unless_present = "latest")]
    id: Option<String>,
    /// Restore the newest backup of this database
    #[arg(long, conflicts_with = "id")]
    latest: bool,
    /// Do not ask for confirmation (required when not on a terminal)
    #[arg(long)]
    yes: bool,
    /// Do not back up the current state first
    #[arg(long)]
    no_backup: bool,
    /// Restore a backup of another database of the same engine (e.g. production into staging)
    #[arg(long)]
    from_other_source: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

impl RestoreArgs {
    /// The output format asked for.
    pub fn format(&self) -> Format {
        self.format
    }
}

/// Runs `restore`.
pub fn run(args: &RestoreArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let target = workspace::locate(global.selector())?;
    let which = match &args.id {
        Some(id) => Which::Id(id.clone()),
        None => Which::Latest,
    };
    let mut notes = Notes::new(shell);
    let mut confirm = |database: &str, chosen: &Backup| confirm(args.yes, database, chosen);
    let how = Restore { which, backup_first: !args.no_backup, from_other_source: args.from_other_source };
    let done = restore::restore(&target, &args.db.choice(), &how, &mut confirm, &mut |note| notes.show(note))?;
    if args.format == Format::Json {
        let before = done.before.map(|b| b.path.to_string());
        crate::render::json::print(
            "restore",
            serde_json::json!({ "restored_from": done.chosen.id, "version": done.chosen.version, "backup": before }),
        );
    } else {
        let version = dbmigrate_core::version::display(done.chosen.version);
        shell.status("Restored", format!("{} to version {version}", done.database));
        if let Some(before) = &done.before {
            let how = Invocation {
                manifest_path: global.manifest_path.as_deref(),
                package: global.package.as_deref(),
                url_given: args.db.database_url.is_some(),
            };
            shell.note(format!("to undo this restore: {}", restore_command(how, &done.url, before)));
        }
    }
    Ok(exit_code::OK)
}

/// A terminal gets a question; anything else must pass --yes (exit 2 otherwise).
fn confirm(yes: bool, database: &str, chosen: &Backup) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage("restore replaces the whole database; without a terminal it needs --yes")
            .hint(format!("cargo dbmigrate restore {} --yes", chosen.id)));
    }
    eprint!("replace every object of `{}` with the backup {}? [y/N] ", database, chosen.id);
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(CliError::usage("restore cancelled; nothing was changed"))
    }
}
