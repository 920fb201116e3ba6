//! `down` (downgrade): revert applied migrations newest first, with a backup first, progress on
//! stderr, and a summary (or one JSON document) at the end.

use super::args::{DbArgs, DeployArgs, parse_version};
use super::migrate::Revert;
use crate::CliResult;
use crate::cli::GlobalArgs;
use crate::render::Format;
use crate::shell::Shell;
use dbmigrate_runtime::Goal;

/// Revert applied migrations (downgrade), newest first.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate down
  cargo dbmigrate down --steps 3
  cargo dbmigrate down --to 20260101120000 --dry-run

Refuses before changing anything when a migration to revert has no down file, an empty
one (irreversible), or was edited since it was applied. On a terminal it asks first, naming
the database (--yes skips the question; scripts are not asked).")]
pub struct DownArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    deploy: DeployArgs,
    /// How many migrations to revert
    #[arg(long, value_name = "N", conflicts_with = "to")]
    steps: Option<usize>,
    /// Revert every migration newer than this version (one that exists; 0 reverts all)
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    to: Option<i64>,
    /// Print the SQL that would run; change nothing
    #[arg(long)]
    dry_run: bool,
    /// Do not ask for confirmation on a terminal
    #[arg(long)]
    yes: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

impl DownArgs {
    /// The output format asked for.
    pub fn format(&self) -> Format {
        self.format
    }
}

/// Runs `down`.
pub fn run(args: &DownArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let revert = Revert {
        db: &args.db,
        deploy: &args.deploy,
        to: args.to,
        dry_run: args.dry_run,
        yes: args.yes,
        format: args.format,
    };
    revert.execute(Goal::DownTo, Goal::DownSteps(args.steps.unwrap_or(1)), global, shell)
}
