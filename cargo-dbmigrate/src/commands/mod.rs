//! One module per command; each has an `Args` struct and a `run` function.

use crate::CliResult;
use crate::cli::GlobalArgs;
use crate::shell::Shell;
use clap::Subcommand;

pub mod apply;
pub mod backups;
pub mod check;
pub mod db;
pub mod init;
pub mod inspect;
pub mod new;
pub mod release;
pub mod renumber;
pub mod restore;
pub mod stamp;

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set a crate up for migrations: folder, build script, dependencies
    Init(init::InitArgs),
    /// Create a new migration: timestamped up and down SQL files
    New(new::NewArgs),
    /// Check the migrations as `cargo build` does (names, order, released ones unchanged)
    Check(check::CheckArgs),
    /// Lock the unreleased migrations so that `cargo build` refuses edits of them
    Release(release::ReleaseArgs),
    /// Give an unreleased migration a fresh version (fixes out-of-order and duplicates)
    Renumber(renumber::RenumberArgs),
    /// Apply pending migrations (upgrade)
    Run(apply::RunArgs),
    /// Revert applied migrations, newest first (downgrade)
    Down(apply::DownArgs),
    /// Show every migration and its state in the database
    Status(inspect::StatusArgs),
    /// Show the database's current version
    Current(inspect::CurrentArgs),
    /// Show applied migrations in the order they were applied
    History(inspect::HistoryArgs),
    /// Show one migration: SQL, state, hashes
    Show(inspect::ShowArgs),
    /// Mark migrations as applied without running them (adopt an existing database)
    Stamp(stamp::StampArgs),
    /// Resolve a migration left half applied on MySQL/MariaDB
    Repair(stamp::RepairArgs),
    /// List the backups taken before migrations
    Backups(backups::BackupsArgs),
    /// Put the database back to the state of a backup
    Restore(restore::RestoreArgs),
}

/// Runs a parsed command.
pub fn run(command: Command, global: &GlobalArgs, shell: &Shell) -> CliResult {
    match command {
        Command::Init(args) => init::run(&args, global, shell),
        Command::New(args) => new::run(&args, global, shell),
        Command::Check(args) => check::run(&args, global, shell),
        Command::Release(args) => release::run(&args, global, shell),
        Command::Renumber(args) => renumber::run(&args, global, shell),
        Command::Run(args) => apply::run(&args, global, shell),
        Command::Down(args) => apply::down(&args, global, shell),
        Command::Status(args) => inspect::status(&args, global, shell),
        Command::Current(args) => inspect::current(&args, global, shell),
        Command::History(args) => inspect::history(&args, global, shell),
        Command::Show(args) => inspect::show(&args, global, shell),
        Command::Stamp(args) => stamp::stamp(&args, global, shell),
        Command::Repair(args) => stamp::repair(&args, global, shell),
        Command::Backups(args) => backups::run(&args, global, shell),
        Command::Restore(args) => restore::run(&args, global, shell),
    }
}
