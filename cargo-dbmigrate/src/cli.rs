//! The command line: `cargo dbmigrate <command>`, parsed with clap derive.

use crate::commands::Command;
use clap::{Args, Parser};
use std::path::PathBuf;

/// The exit codes, shown at the end of `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success
  1    a check found problems (check, lint, status --exit-code, init when build.rs needs editing)
  2    usage error (unknown flag, bad value, unknown package, a version that names no migration)
  101  the operation failed (I/O, database, a migration's SQL)
  130  run/down stopped by Ctrl-C or SIGTERM between two migrations
A reader that closes stdout early (`| head -1`) ends the command quietly, with 0 as Cargo does.";

/// `cargo` with its `dbmigrate` subcommand: Cargo runs `cargo-dbmigrate dbmigrate …`; [`parse`]
/// supplies the `dbmigrate` when the binary is run directly (`cargo-dbmigrate status`).
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", styles = clap_cargo::style::CLAP_STYLING)]
enum CargoCli {
    Dbmigrate(Dbmigrate),
}

/// Schema migrations for Cargo projects: scaffold, guard at build time, apply safely.
#[derive(Debug, Args)]
#[command(version, long_about = None, after_help = EXIT_CODES_HELP, propagate_version = true)]
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

/// Parses the process arguments, as Cargo passes them (`cargo-dbmigrate dbmigrate status`) or
/// typed directly (`cargo-dbmigrate status`, `cargo-dbmigrate --version`).
pub fn parse() -> Result<Dbmigrate, clap::Error> {
    parse_from(std::env::args_os())
}

fn parse_from(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Dbmigrate, clap::Error> {
    let mut args: Vec<_> = args.into_iter().collect();
    if args.get(1).is_none_or(|first| first != "dbmigrate") {
        args.insert(1.min(args.len()), "dbmigrate".into());
    }
    let CargoCli::Dbmigrate(args) = CargoCli::try_parse_from(args)?;
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

    #[test]
    fn the_dbmigrate_word_is_optional() {
        let parse = |args: &[&str]| parse_from(args.iter().map(std::ffi::OsString::from)).map(|a| a.global.verbose);
        assert_eq!(parse(&["cargo-dbmigrate", "dbmigrate", "-v", "status"]).ok(), Some(1));
        assert_eq!(parse(&["cargo-dbmigrate", "-v", "status"]).ok(), Some(1));
        // A migration message that happens to be the word is still the message.
        assert!(parse(&["cargo-dbmigrate", "new", "dbmigrate"]).is_ok());
    }
}
