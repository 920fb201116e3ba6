//! `stamp` (adopt an existing database) and `repair` (resolve a dirty migration).

use super::db::{self, DbArgs};
use crate::cli::GlobalArgs;
use crate::shell::Shell;
use crate::{CliResult, exit_code};
use dbmigrate_runtime::RepairAction;

/// Mark every migration up to VERSION as applied without running it.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate stamp 20260101120000     # the schema already has these changes

For adopting a database whose schema was created by other means (Alembic's stamp,
Flyway's baseline). Nothing but history rows is written.")]
pub struct StampArgs {
    /// The newest version to mark as applied
    #[arg(id = "target_version", value_name = "VERSION", value_parser = db::parse_version)]
    version: i64,
    #[command(flatten)]
    db: DbArgs,
}

/// Resolve a migration left dirty (half applied) on MySQL/MariaDB, after a manual fix.
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
    #[arg(long = "version", id = "repair_version", value_name = "VERSION", value_parser = db::parse_version)]
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

/// Runs `stamp`.
pub fn stamp(args: &StampArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let mut session = db::open(global, &args.db, shell, false)?;
    let scripts = db::scripts(&session.set);
    let report = session.engine.stamp(&scripts, args.version).map_err(db::engine_error)?;
    for m in &report.migrations {
        shell.status("Stamped", db::label(m.version, &m.name));
    }
    if report.migrations.is_empty() {
        shell.status("Fresh", "nothing to stamp");
    }
    Ok(exit_code::OK)
}

/// Runs `repair`.
pub fn repair(args: &RepairArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let mut session = db::open(global, &args.db, shell, false)?;
    let scripts = db::scripts(&session.set);
    let action = match args.state {
        RepairAs::Applied => RepairAction::AsApplied,
        RepairAs::Pending => RepairAction::AsPending,
    };
    session.engine.repair(&scripts, args.version, action).map_err(db::engine_error)?;
    shell.status("Repaired", format!("version {} is now recorded as {:?}", args.version, args.state).to_lowercase());
    Ok(exit_code::OK)
}
