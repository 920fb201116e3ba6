//! `redo`: revert the newest applied migration(s) and apply them again from their files, under
//! one migration lock, with a backup first, for the dev loop "apply, edit, redo".

use super::args::{DbArgs, DeployArgs, parse_version};
use super::migrate::Revert;
use crate::CliResult;
use crate::cli::GlobalArgs;
use crate::render::Format;
use crate::shell::Shell;
use dbmigrate_runtime::Goal;

/// Revert the newest applied migration(s), then apply them again (diesel's `migration redo`).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate redo
  cargo dbmigrate redo --steps 2
  cargo dbmigrate redo --to 20260101120000
  cargo dbmigrate redo --dry-run

For the dev loop: apply a migration, edit its files, redo. An unreleased migration edited
since it was applied is reverted with the down script recorded when it was applied, then
applied from the edited file; a released one (in migrations/dbmigrate.lock) is refused when
edited. Both halves run under one migration lock, each migration in its own transaction: if
the redo is stopped between them, `status` shows the migration pending and `run` applies it.
With nothing applied there is nothing to redo: it says so and exits 0. On a terminal it asks
first, naming the database (--yes skips the question; scripts are not asked).")]
pub struct RedoArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    deploy: DeployArgs,
    /// How many of the newest applied migrations to redo
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "to")]
    steps: u64,
    /// Redo every migration newer than this version (one that exists; 0 redoes all)
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    to: Option<i64>,
    /// Print the SQL that would run, history writes included; change nothing
    #[arg(long)]
    dry_run: bool,
    /// Do not ask for confirmation on a terminal
    #[arg(long)]
    yes: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

impl RedoArgs {
    /// The output format asked for.
    pub fn format(&self) -> Format {
        self.format
    }
}

/// Runs `redo`.
pub fn run(args: &RedoArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let revert = Revert {
        db: &args.db,
        deploy: &args.deploy,
        to: args.to,
        dry_run: args.dry_run,
        yes: args.yes,
        format: args.format,
    };
    let steps = Goal::Redo(usize::try_from(args.steps).unwrap_or(usize::MAX));
    revert.execute(Goal::RedoTo, steps, global, shell)
}
