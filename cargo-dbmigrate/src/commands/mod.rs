//! The commands: one module per command, each with an `Args` struct (clap) and a `run` function
//! that calls an operation and renders its outcome; `args` and `migrate` hold what several
//! commands share. No command module imports another.

use crate::CliResult;
use crate::cli::GlobalArgs;
use crate::shell::Shell;
use clap::Subcommand;

mod args;
mod backups;
mod check;
mod current;
mod database;
mod down;
mod history;
mod init;
mod migrate;
mod new;
mod release;
mod renumber;
mod repair;
mod restore;
mod run;
mod show;
mod stamp;
mod status;

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
    Run(run::RunArgs),
    /// Revert applied migrations, newest first (downgrade)
    Down(down::DownArgs),
    /// Show every migration and its state in the database
    Status(status::StatusArgs),
    /// Show the database's current version
    Current(current::CurrentArgs),
    /// Show applied migrations in the order they were applied
    History(history::HistoryArgs),
    /// Show one migration: SQL, state, hashes
    Show(show::ShowArgs),
    /// Mark migrations as applied without running them (adopt an existing database)
    Stamp(stamp::StampArgs),
    /// Record a migration as applied or pending after a fix by hand (dirty, edited, deleted)
    Repair(repair::RepairArgs),
    /// List the backups taken before migrations
    Backups(backups::BackupsArgs),
    /// Put the database back to the state of a backup
    Restore(restore::RestoreArgs),
    /// Create, drop or reset the database itself
    Database(database::DatabaseArgs),
}

impl Command {
    /// Whether the command was asked for one JSON document on stdout.
    fn wants_json(&self) -> bool {
        let format = match self {
            Command::Check(a) => a.format,
            Command::Run(a) => a.format(),
            Command::Down(a) => a.format(),
            Command::Status(a) => a.format(),
            Command::Current(a) => a.format(),
            Command::History(a) => a.format(),
            Command::Show(a) => a.format(),
            Command::Backups(a) => a.format(),
            Command::Restore(a) => a.format(),
            Command::Database(a) => a.format(),
            Command::Init(_)
            | Command::New(_)
            | Command::Release(_)
            | Command::Renumber(_)
            | Command::Stamp(_)
            | Command::Repair(_) => return false,
        };
        format == crate::render::Format::Json
    }
}

/// Runs a parsed command. A failure of a command asked for JSON is a JSON document on stdout
/// too (unless the command printed its own), so a pipeline parsing stdout never reads nothing.
pub fn run(command: Command, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let json = command.wants_json();
    let result = dispatch(command, global, shell);
    if let Err(e) = &result
        && json
        && !e.reported
    {
        crate::shell::outln!(
            "{}",
            serde_json::json!({ "ok": false, "error": e.message, "hints": e.hints, "exit_code": e.code })
        );
    }
    result
}

fn dispatch(command: Command, global: &GlobalArgs, shell: &Shell) -> CliResult {
    match command {
        Command::Init(args) => init::run(&args, global, shell),
        Command::New(args) => new::run(&args, global, shell),
        Command::Check(args) => check::run(&args, global, shell),
        Command::Release(args) => release::run(&args, global, shell),
        Command::Renumber(args) => renumber::run(&args, global, shell),
        Command::Run(args) => run::run(&args, global, shell),
        Command::Down(args) => down::run(&args, global, shell),
        Command::Status(args) => status::run(&args, global, shell),
        Command::Current(args) => current::run(&args, global, shell),
        Command::History(args) => history::run(&args, global, shell),
        Command::Show(args) => show::run(&args, global, shell),
        Command::Stamp(args) => stamp::run(&args, global, shell),
        Command::Repair(args) => repair::run(&args, global, shell),
        Command::Backups(args) => backups::run(&args, global, shell),
        Command::Restore(args) => restore::run(&args, global, shell),
        Command::Database(args) => database::run(&args, global, shell),
    }
}
