//! The command line: `cargo dbmigrate <command>`, parsed with clap derive.

use crate::commands::Command;
use clap::{Args, Parser};
use std::path::PathBuf;

/// The exit codes, shown at the end of `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success
  1    a check found problems (check, status --exit-code, init when build.rs needs a manual edit)
  2    usage error (unknown flag, bad value, unknown package)
  101  the operation failed (I/O, database, a migration's SQL)
  130  run/down stopped by Ctrl-C or SIGTERM between two migrations";

/// `cargo` with its `dbmigrate` subcommand, so both `cargo dbmigrate …` and
/// `cargo-dbmigrate dbmigrate …` work.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", styles = clap_cargo::style::CLAP_STYLING)]
enum CargoCli {
    Dbmigrate(Dbmigrate),
}

/// Schema migrations for Cargo projects: scaffold, guard at build time, apply safely.
#[derive(Debug, Args)]
#[command(version, about, long_about = None, after_help = EXIT_CODES_HELP, propagate_version = true)]
pub struct Dbmigrate {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options that every command takes, before or after the command name.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Path to Cargo.toml
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Package to work on
    #[arg(short, long, global = true, value_name = "SPEC")]
    pub package: Option<String>,
    /// Coloring: auto, always, never (default: $CARGO_TERM_COLOR, else auto)
    #[arg(long, global = true, value_name = "WHEN", value_parser = ["auto", "always", "never"])]
    pub color: Option<String>,
    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl GlobalArgs {
    /// The crate these options select.
    pub fn selector(&self) -> crate::workspace::Selector<'_> {
        crate::workspace::Selector { manifest_path: self.manifest_path.as_deref(), package: self.package.as_deref() }
    }
}

/// Parses the process arguments.
pub fn parse() -> Result<Dbmigrate, clap::Error> {
    let CargoCli::Dbmigrate(args) = CargoCli::try_parse()?;
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        CargoCli::command().debug_assert();
    }
}
