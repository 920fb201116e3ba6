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
mod diff;
mod down;
mod history;
mod init;
mod lint;
mod migrate;
mod new;
mod redo;
mod release;
mod renumber;
mod repair;
mod restore;
mod run;
mod schema;
mod show;
mod stamp;
mod status;
mod verify;

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set a crate up for migrations: folder, build script, dependencies
    Init(init::InitArgs),
    /// Create a new migration: timestamped up and down SQL files
    New(new::NewArgs),
    /// Autogenerate: write the migration from the migrations' schema to schema.sql
    Diff(diff::DiffArgs),
    /// Write schema.sql, the desired schema, from the migrations (`schema dump`)
    Schema(schema::SchemaArgs),
    /// Check the migrations as `cargo build` does (names, order, released ones unchanged)
    Check(check::CheckArgs),
    /// Prove on a scratch database that each unreleased migration's down undoes its up
    Verify(verify::VerifyArgs),
    /// Lint the migrations' SQL for data loss and statements that fail on populated tables
    Lint(lint::LintArgs),
    /// Lock the unreleased migrations so that `cargo build` refuses edits of them
    Release(release::ReleaseArgs),
    /// Give an unreleased migration a fresh version (fixes out-of-order and duplicates)
    Renumber(renumber::RenumberArgs),
    /// Apply pending migrations (upgrade)
    Run(run::RunArgs),
    /// Revert applied migrations, newest first (downgrade)
    Down(down::DownArgs),
    /// Revert the newest applied migration(s), then apply them again (the dev loop)
    Redo(redo::RedoArgs),
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
    /// The output format asked for.
    fn format(&self) -> crate::render::Format {
        match self {
            Command::Init(a) => a.format,
            Command::New(a) => a.format,
            Command::Diff(a) => a.format,
            Command::Schema(a) => a.format(),
            Command::Check(a) => a.format,
            Command::Verify(a) => a.format,
            Command::Lint(a) => a.format,
            Command::Release(a) => a.format,
            Command::Renumber(a) => a.format,
            Command::Run(a) => a.format(),
            Command::Down(a) => a.format(),
            Command::Redo(a) => a.format(),
            Command::Status(a) => a.format(),
            Command::Current(a) => a.format(),
            Command::History(a) => a.format(),
            Command::Show(a) => a.format(),
            Command::Stamp(a) => a.format(),
            Command::Repair(a) => a.format(),
            Command::Backups(a) => a.format(),
            Command::Restore(a) => a.format(),
            Command::Database(a) => a.format(),
        }
    }

    /// The `command` of its JSON document: the words a user types after `cargo dbmigrate`.
    fn name(&self) -> &'static str {
        match self {
            Command::Init(_) => "init",
            Command::New(_) => "new",
            Command::Diff(_) => "diff",
            Command::Schema(_) => "schema dump",
            Command::Check(_) => "check",
            Command::Verify(_) => "verify",
            Command::Lint(_) => "lint",
            Command::Release(_) => "release",
            Command::Renumber(_) => "renumber",
            Command::Run(_) => "run",
            Command::Down(_) => "down",
            Command::Redo(_) => "redo",
            Command::Status(_) => "status",
            Command::Current(_) => "current",
            Command::History(_) => "history",
            Command::Show(_) => "show",
            Command::Stamp(_) => "stamp",
            Command::Repair(_) => "repair",
            Command::Backups(_) => "backups",
            Command::Restore(_) => "restore",
            Command::Database(a) => a.name(),
        }
    }
}

/// Runs a parsed command. A failure of a command asked for JSON is its JSON document on stdout
/// too (the envelope with `error`, `hints`, `exit_code`), so a pipeline never reads nothing.
pub fn run(command: Command, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let json = command.format() == crate::render::Format::Json;
    let name = command.name();
    let result = dispatch(command, global, shell);
    if let Err(e) = &result
        && json
    {
        crate::shell::outln!("{}", crate::render::json::failure(name, e));
    }
    result
}

fn dispatch(command: Command, global: &GlobalArgs, shell: &Shell) -> CliResult {
    match command {
        Command::Init(args) => init::run(&args, global, shell),
        Command::New(args) => new::run(&args, global, shell),
        Command::Diff(args) => diff::run(&args, global, shell),
        Command::Schema(args) => schema::run(&args, global, shell),
        Command::Check(args) => check::run(&args, global, shell),
        Command::Verify(args) => verify::run(&args, global, shell),
        Command::Lint(args) => lint::run(&args, global, shell),
        Command::Release(args) => release::run(&args, global, shell),
        Command::Renumber(args) => renumber::run(&args, global, shell),
        Command::Run(args) => run::run(&args, global, shell),
        Command::Down(args) => down::run(&args, global, shell),
        Command::Redo(args) => redo::run(&args, global, shell),
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
