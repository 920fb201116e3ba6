//! `run` (upgrade): apply pending migrations with a backup first, one transaction per
//! migration, progress on stderr, and a summary (or one JSON document) at the end.

use super::args::{DbArgs, DeployArgs, parse_version};
use super::migrate::{self, Request};
use crate::CliResult;
use crate::cli::GlobalArgs;
use crate::ops::versions::{History, Zero};
use crate::render::Format;
use crate::shell::Shell;
use dbmigrate_runtime::Goal;

/// Apply pending migrations (upgrade).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate run
  cargo dbmigrate run --database-url postgres://app@db.internal/app --format json
  cargo dbmigrate run --to 20260101120000 --dry-run

Each migration and its history row are committed in one transaction (PostgreSQL, SQLite);
a file starting with `-- dbmigrate:no-transaction` runs outside one. Only one migrator
runs at a time: others wait for the lock, then find nothing to do.")]
pub struct RunArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    deploy: DeployArgs,
    /// Stop after this version (one that exists; 0 applies nothing)
    // `--target` is the old spelling, kept working but hidden.
    #[arg(long, alias = "target", value_name = "VERSION", value_parser = parse_version)]
    to: Option<i64>,
    /// Print the SQL that would run, history writes included; change nothing
    #[arg(long)]
    dry_run: bool,
    /// Run every pending migration in one transaction (not on MySQL/MariaDB)
    #[arg(long)]
    single_transaction: bool,
    /// Create the database the URL names first, when it does not exist
    #[arg(long, conflicts_with = "dry_run")]
    create_database: bool,
    /// Also apply pending migrations older than the newest applied one (the `allow-out-of-order` setting)
    #[arg(long)]
    allow_out_of_order: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

impl RunArgs {
    /// The output format asked for.
    pub fn format(&self) -> Format {
        self.format
    }
}

/// Runs `run`.
pub fn run(args: &RunArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    if args.create_database {
        let target = crate::workspace::locate(global.selector())?;
        if let Some(url) = crate::ops::database::ensure(&target, &args.db.choice())? {
            shell.status("Created", url);
        }
    }
    if let Some(v) = args.to {
        args.db.require_version(global, v, Zero::Target, History::Counts)?;
    }
    let goal = args.to.map_or(Goal::Latest, Goal::UpTo);
    let request = Request {
        goal,
        db: &args.db,
        deploy: &args.deploy,
        dry_run: args.dry_run,
        single_transaction: args.single_transaction,
        allow_out_of_order: args.allow_out_of_order,
        format: args.format,
        confirm: false,
    };
    migrate::execute(&request, global, shell)
}
