//! `restore`: put the database back to a backup's state.

use super::db::{self, DbArgs};
use crate::backup::{self, Backup, BackupConfig, Source};
use crate::cli::{Format, GlobalArgs};
use crate::shell::Shell;
use crate::workspace::{self, Target};
use crate::{CliError, CliResult, exit_code};
use dbmigrate_runtime::{Engine, Options};
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
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Runs `restore`.
pub fn run(args: &RestoreArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let target = workspace::locate(global)?;
    let config = BackupConfig::of(&target)?;
    let url = db::database_url(&target, &args.db)?;
    let source =
        Source::of(&url)?.ok_or_else(|| CliError::usage("an in-memory SQLite database has no backups to restore"))?;
    let chosen = choose(args, &config, &source)?;
    confirm(args, &source, &chosen)?;
    // Hold the migration lock so that no `run` or `down` works on the database meanwhile.
    let options = Options {
        table: target.config.history_table.clone(),
        lock_timeout: std::time::Duration::from_secs(args.db.lock_timeout),
        ..Options::default()
    };
    let mut engine = Engine::connect(&url, options).map_err(db::engine_error)?;
    let _lock = engine.lock().map_err(db::engine_error)?;
    let before = if args.no_backup { None } else { backup_current(shell, &target, &url, &mut engine)? };
    shell.status("Restoring", format!("{} from {}", source.database(), chosen.path.display()));
    backup::restore(&source, &config, &chosen)?;
    // Prune only now, never the backup just restored from.
    backup::prune(&config.dir, &source.database(), config.keep, std::slice::from_ref(&chosen.path))?;
    let version = dbmigrate_core::version::display(chosen.version);
    if args.format == Format::Json {
        let before = before.map(|b| b.path.display().to_string());
        println!("{}", serde_json::json!({ "restored": chosen.id, "version": chosen.version, "backup": before }));
    } else {
        shell.status("Restored", format!("{} to version {version}", source.database()));
    }
    Ok(exit_code::OK)
}

fn choose(args: &RestoreArgs, config: &BackupConfig, source: &Source) -> Result<Backup, CliError> {
    if let Some(id) = &args.id {
        return backup::find(&config.dir, id);
    }
    let database = source.database();
    backup::list(&config.dir)?.into_iter().rfind(|b| b.database == database).ok_or_else(|| {
        CliError::failure(format!("no backup of `{database}` in `{}`", config.dir.display()))
            .hint("backups are taken by `cargo dbmigrate run` when something is pending")
    })
}

/// A terminal gets a question; anything else must pass --yes (exit 2 otherwise).
fn confirm(args: &RestoreArgs, source: &Source, chosen: &Backup) -> Result<(), CliError> {
    if args.yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage("restore replaces the whole database; without a terminal it needs --yes")
            .hint(format!("cargo dbmigrate restore {} --yes", chosen.id)));
    }
    eprint!("replace every object of `{}` with the backup {}? [y/N] ", source.database(), chosen.id);
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(CliError::usage("restore cancelled; nothing was changed"))
    }
}

/// The state before the restore, so a restore can be undone too.
fn backup_current(
    shell: &Shell,
    target: &Target,
    url: &dbmigrate_runtime::DatabaseUrl,
    engine: &mut Engine,
) -> Result<Option<Backup>, CliError> {
    let version = engine.current_version().map_err(db::engine_error)?;
    backup::deploy::backup(shell, target, url, version)
}
