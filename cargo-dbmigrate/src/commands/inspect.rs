//! `status`, `current`, `history` and `show`: read-only views of the database and the files.

use super::db::{self, DbArgs};
use crate::cli::{Format, GlobalArgs};
use crate::shell::Shell;
use crate::{CliError, CliResult, exit_code};
use dbmigrate_runtime::{MigrationState, MigrationStatus, Reversibility};
use serde_json::json;

/// Show every migration with its state: applied, pending, divergent, missing, dirty.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate status
  cargo dbmigrate status --exit-code     # in CI: exit 1 when anything is pending or wrong
  cargo dbmigrate status --format json")]
pub struct StatusArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Exit with 1 when a migration is pending, divergent, missing or dirty
    #[arg(long)]
    exit_code: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Show the database's current version.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  cargo dbmigrate current\n  cargo dbmigrate current --format json")]
pub struct CurrentArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

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

/// Show one migration: its up and down SQL, state and hashes.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  cargo dbmigrate show 20260101120000\n  cargo dbmigrate show V20260101120000 --format json"
)]
pub struct ShowArgs {
    /// The migration's version
    #[arg(id = "migration_version", value_name = "VERSION", value_parser = db::parse_version)]
    version: i64,
    #[command(flatten)]
    db: DbArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

fn state_name(state: MigrationState) -> &'static str {
    match state {
        MigrationState::Applied => "applied",
        MigrationState::Pending => "pending",
        MigrationState::Divergent => "divergent",
        MigrationState::Missing => "missing",
        MigrationState::Dirty => "dirty",
    }
}

fn down_name(r: Option<Reversibility>) -> &'static str {
    match r {
        Some(Reversibility::Reversible) => "reversible",
        Some(Reversibility::NoDown) => "no down file",
        Some(Reversibility::Irreversible) => "irreversible (empty down)",
        None => "-",
    }
}

fn status_json(s: &MigrationStatus) -> serde_json::Value {
    json!({
        "version": s.version, "name": s.name, "state": state_name(s.state),
        "applied_on": s.applied_on, "down": down_name(s.reversibility),
    })
}

/// Runs `status`.
pub fn status(args: &StatusArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let mut session = db::open(global, &args.db, shell, false)?;
    let scripts = db::scripts(&session.set);
    let rows = session.engine.status(&scripts).map_err(db::engine_error)?;
    let problems = rows.iter().filter(|r| r.state != MigrationState::Applied).count();
    match args.format {
        Format::Json => println!("{}", json!(rows.iter().map(status_json).collect::<Vec<_>>())),
        Format::Human => print_status(&rows),
    }
    if problems > 0 {
        shell.note(format!(
            "{problems} migration(s) not applied as written; `cargo dbmigrate run` applies pending ones"
        ));
    }
    Ok(if args.exit_code && problems > 0 { exit_code::PROBLEMS } else { exit_code::OK })
}

fn print_status(rows: &[MigrationStatus]) {
    if rows.is_empty() {
        println!("no migrations");
        return;
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    println!("{:<10} {:<15} {:<width$} {:<31} DOWN", "STATE", "VERSION", "NAME", "APPLIED ON");
    for r in rows {
        let on = r.applied_on.as_deref().unwrap_or("-");
        let down = down_name(r.reversibility);
        println!("{:<10} {:<15} {:<width$} {on:<31} {down}", state_name(r.state), r.version, r.name);
    }
}

/// Runs `current`.
pub fn current(args: &CurrentArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let mut session = db::open(global, &args.db, shell, false)?;
    let version = session.engine.current_version().map_err(db::engine_error)?;
    let name = version.and_then(|v| session.set.get(v)).map(|m| m.name.clone());
    match args.format {
        Format::Json => println!("{}", json!({ "version": version, "name": name })),
        Format::Human => match version {
            Some(v) => println!("{v} {}", name.as_deref().unwrap_or("(no file)")),
            None => println!("none"),
        },
    }
    Ok(exit_code::OK)
}

/// Runs `history`.
pub fn history(args: &HistoryArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let mut session = db::open(global, &args.db, shell, false)?;
    let mut rows = session.engine.history().map_err(db::engine_error)?;
    rows.sort_by(|a, b| (&a.applied_on, a.version).cmp(&(&b.applied_on, b.version)));
    match args.format {
        Format::Json => {
            let list: Vec<_> = rows
                .iter()
                .map(|r| json!({ "version": r.version, "name": r.name, "applied_on": r.applied_on, "checksum": r.checksum }))
                .collect();
            println!("{}", json!(list));
        }
        Format::Human => rows.iter().for_each(|r| println!("{}  {}  {}", r.applied_on, r.version, r.name)),
    }
    Ok(exit_code::OK)
}

/// Runs `show`.
pub fn show(args: &ShowArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let mut session = db::open(global, &args.db, shell, false)?;
    let scripts = db::scripts(&session.set);
    let statuses = session.engine.status(&scripts).map_err(db::engine_error)?;
    let status = statuses.iter().find(|s| s.version == args.version);
    let Some(migration) = session.set.get(args.version) else {
        return Err(CliError::usage(format!("no migration file with version {}", args.version))
            .hint("`cargo dbmigrate status` lists the versions"));
    };
    let checksum = scripts.iter().find(|s| s.version == args.version).and_then(|s| s.checksum().ok());
    let state = status.map_or("pending", |s| state_name(s.state));
    match args.format {
        Format::Json => println!(
            "{}",
            json!({
                "version": migration.version, "name": migration.name, "state": state,
                "applied_on": status.and_then(|s| s.applied_on.clone()),
                "up_file": session.set.display(&migration.up_file), "up_sha256": migration.up_hash.to_string(),
                "refinery_checksum": checksum.map(|c| c.to_string()),
                "down_file": migration.down_file.as_deref().map(|f| session.set.display(f)),
                "down_sha256": migration.down_hash.map(|h| h.to_string()),
                "up": session.set.texts.up(migration), "down": session.set.texts.down(migration),
            })
        ),
        Format::Human => {
            println!("version:   {}\nname:      {}\nstate:     {state}", migration.version, migration.name);
            if let Some(on) = status.and_then(|s| s.applied_on.as_deref()) {
                println!("applied:   {on}");
            }
            println!("sha256:    {}", migration.up_hash);
            if let Some(c) = checksum {
                println!("checksum:  {c} (refinery)");
            }
            println!(
                "\n-- {} --\n{}",
                session.set.display(&migration.up_file),
                session.set.texts.up(migration).unwrap_or_default().trim_end()
            );
            match (&migration.down_file, session.set.texts.down(migration)) {
                (Some(f), Some(sql)) => println!("\n-- {} --\n{}", session.set.display(f), sql.trim_end()),
                _ => println!("\n-- no down file: the migration cannot be reverted --"),
            }
        }
    }
    Ok(exit_code::OK)
}
