//! `backups`: the backups in the crate's backup folder, oldest first.

use crate::backup::{self, BackupConfig};
use crate::cli::GlobalArgs;
use crate::render::Format;
use crate::shell::Shell;
use crate::{CliResult, exit_code, workspace};

/// List the backups taken before migrations.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate backups
  cargo dbmigrate backups --format json

Backups are taken by `run`, `down` and `restore` before they change the database, into
`[package.metadata.dbmigrate.backup] dir` (default target/dbmigrate-backups); the newest
`keep` (default 3) of each database are kept. Restore one with `cargo dbmigrate restore ID`.")]
pub struct BackupsArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Runs `backups`.
pub fn run(args: &BackupsArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let target = workspace::locate(global.selector())?;
    let config = BackupConfig::of(&target)?;
    let all = backup::list(&config.dir)?;
    if args.format == Format::Json {
        println!("{}", serde_json::json!({ "dir": config.dir, "backups": all }));
        return Ok(exit_code::OK);
    }
    if all.is_empty() {
        shell.status("Empty", format!("no backups in {}", config.dir));
        return Ok(exit_code::OK);
    }
    println!("{:<60} {:>16} {:>17} {:>10}", "ID", "VERSION", "TIME (UTC)", "SIZE");
    for b in &all {
        let version = dbmigrate_core::version::display(b.version);
        println!("{:<60} {version:>16} {:>17} {:>10}", b.id, b.time, crate::render::size(b.bytes));
    }
    Ok(exit_code::OK)
}
