//! `repair`: resolve a migration left half applied (dirty), after a manual fix.

use super::args::{DbArgs, parse_version};
use crate::cli::GlobalArgs;
use crate::ops::session;
use crate::shell::Shell;
use crate::{CliResult, exit_code};
use dbmigrate_runtime::RepairAction;

/// Resolve a migration left dirty (half applied: MySQL/MariaDB, or a no-transaction file), after a manual fix.
#[derive(Debug, clap::Args)]
#[command(
    disable_version_flag = true,
    after_help = "\
Examples:
  cargo dbmigrate repair --version 20260101120000 --as applied   # fixed forward by hand
  cargo dbmigrate repair --version 20260101120000 --as pending   # undone by hand"
)]
pub struct RepairArgs {
    /// The dirty migration's version
    #[arg(long = "version", id = "repair_version", value_name = "VERSION", value_parser = parse_version)]
    version: i64,
    /// What the migration is now
    #[arg(long = "as", value_enum)]
    state: RepairAs,
    #[command(flatten)]
    db: DbArgs,
}

/// How the user resolved a dirty migration.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RepairAs {
    /// Record it as applied
    Applied,
    /// Record it as not applied
    Pending,
}

/// Runs `repair`.
pub fn run(args: &RepairArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let mut session = args.db.open(global, shell)?;
    let scripts = session::scripts(&session.set);
    let action = match args.state {
        RepairAs::Applied => RepairAction::AsApplied,
        RepairAs::Pending => RepairAction::AsPending,
    };
    session.engine.repair(&scripts, args.version, action)?;
    shell.status("Repaired", format!("version {} is now recorded as {:?}", args.version, args.state).to_lowercase());
    Ok(exit_code::OK)
}
