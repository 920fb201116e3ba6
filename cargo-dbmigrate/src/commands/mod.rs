//! One module per command; each has an `Args` struct and a `run` function.

use crate::CliResult;
use crate::cli::GlobalArgs;
use crate::shell::Shell;
use clap::Subcommand;

pub mod init;
pub mod new;

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set a crate up for migrations: folder, build script, dependencies
    Init(init::InitArgs),
    /// Create a new migration: timestamped up and down SQL files
    New(new::NewArgs),
}

/// Runs a parsed command.
pub fn run(command: Command, global: &GlobalArgs, shell: &Shell) -> CliResult {
    match command {
        Command::Init(args) => init::run(&args, global, shell),
        Command::New(args) => new::run(&args, global, shell),
    }
}
