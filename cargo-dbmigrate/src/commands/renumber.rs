//! `cargo dbmigrate renumber <file>`: gives an unreleased migration a fresh timestamp, the fix
//! for an out-of-order or duplicated version.

use crate::cli::GlobalArgs;
use crate::render::Format;
use crate::shell::Shell;
use crate::{CliResult, exit_code, fsutil, workspace};
use std::path::PathBuf;

/// Give an unreleased migration a fresh version, newer than every other one.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate renumber migrations/V20261125143000__add_email.sql
  cargo dbmigrate renumber V20261125143000__add_email.sql

Renames the up file and its down file to the current UTC timestamp (or one past the newest
version). Released migrations (in migrations/dbmigrate.lock) are refused: databases know them
by their version. The new paths are printed on stdout.")]
pub struct RenumberArgs {
    /// The migration's up or down file (a path, or a file name in the migrations folder)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format; `json` prints one document instead of the new paths
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Runs `renumber`: the new paths go to stdout, relative to the current folder.
pub fn run(args: &RenumberArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let target = workspace::locate(global.selector())?;
    let moves = crate::ops::renumber::renumber(&target, &args.file)?;
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut renamed = Vec::new();
    for (from, to) in &moves {
        shell.status(
            "Renamed",
            format!("{} -> {}", fsutil::display_rel(from, target.dir()), fsutil::display_rel(to, target.dir())),
        );
        match args.format {
            Format::Human => crate::shell::outln!("{}", fsutil::display_rel(to, &cwd)),
            Format::Json => renamed.push(
                serde_json::json!({ "from": fsutil::display_rel(from, &cwd), "to": fsutil::display_rel(to, &cwd) }),
            ),
        }
    }
    if args.format == Format::Json {
        crate::render::json::print("renumber", serde_json::json!({ "renamed": renamed }));
    }
    Ok(exit_code::OK)
}
