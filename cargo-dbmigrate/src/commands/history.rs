//! `history`: the applied migrations in the order they were applied.

use super::args::DbArgs;
use crate::cli::GlobalArgs;
use crate::render::{self, Format};
use crate::shell::Shell;
use crate::{CliResult, exit_code};
use serde_json::json;

/// Show applied migrations in the order they were applied, with times.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  cargo dbmigrate history\n  cargo dbmigrate history --format json")]
pub struct HistoryArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

impl HistoryArgs {
    /// The output format asked for.
    pub fn format(&self) -> Format {
        self.format
    }
}

/// Runs `history`.
pub fn run(args: &HistoryArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let mut session = args.db.open_to_inspect(global, shell)?;
    let mut rows = session.engine.history()?;
    rows.sort_by(|a, b| (&a.applied_on, a.version).cmp(&(&b.applied_on, b.version)));
    match args.format {
        Format::Json => {
            let list: Vec<_> = rows
                .iter()
                .map(|r| json!({ "version": r.version, "name": r.name, "applied_on": r.applied_on, "checksum": r.checksum }))
                .collect();
            render::json::print("history", json!({ "migrations": list }));
        }
        Format::Human if rows.is_empty() => crate::shell::outln!("no migrations applied"),
        Format::Human => {
            let cells: Vec<[String; 3]> =
                rows.iter().map(|r| [render::time(&r.applied_on), r.version.to_string(), r.name.clone()]).collect();
            for line in render::table(["APPLIED ON", "VERSION", "NAME"], &cells) {
                crate::shell::outln!("{line}");
            }
        }
    }
    Ok(exit_code::OK)
}
