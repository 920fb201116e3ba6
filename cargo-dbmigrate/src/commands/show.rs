//! `show`: one migration in full: its SQL, its state in the database, its hashes.

use super::args::{DbArgs, parse_version};
use crate::cli::GlobalArgs;
use crate::ops::session::{self, Session};
use crate::ops::versions::{History, Zero};
use crate::render;
use crate::render::Format;
use crate::shell::Shell;
use crate::{CliError, CliResult, exit_code};
use serde_json::json;

/// Show one migration: its up and down SQL, state and hashes.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  cargo dbmigrate show 20260101120000\n  cargo dbmigrate show V20260101120000 --format json"
)]
pub struct ShowArgs {
    /// The migration's version
    #[arg(id = "migration_version", value_name = "VERSION", value_parser = parse_version)]
    version: i64,
    #[command(flatten)]
    db: DbArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

impl ShowArgs {
    /// The output format asked for.
    pub fn format(&self) -> Format {
        self.format
    }
}

/// Runs `show`.
pub fn run(args: &ShowArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    args.db.require_version(global, args.version, Zero::NotAllowed, History::Counts)?;
    let mut session = args.db.open_to_inspect(global, shell)?;
    let scripts = session::scripts(&session.set);
    let statuses = session.engine.status(&scripts)?;
    let status = statuses.iter().find(|s| s.version == args.version);
    let Some(migration) = session.set.get(args.version) else {
        return show_without_file(args, &mut session);
    };
    let checksum = scripts.iter().find(|s| s.version == args.version).and_then(|s| s.checksum().ok());
    let state = status.map_or("pending", |s| render::state_name(s.state));
    match args.format {
        Format::Json => render::json::print(
            "show",
            json!({
                "version": migration.version, "name": migration.name, "state": state,
                "applied_on": status.and_then(|s| s.applied_on.clone()),
                "up_file": session.set.display(&migration.up_file), "up_sha256": migration.up_hash.to_string(),
                "refinery_checksum": checksum.map(|c| c.to_string()),
                "down_file": migration.down_file.as_deref().map(|f| session.set.display(f)),
                "down_sha256": migration.down_hash.map(|h| h.to_string()),
                "up_sql": session.set.texts.up(migration), "down_sql": session.set.texts.down(migration),
                "database": crate::render::notes::target_json(&session.target),
            }),
        ),
        Format::Human => {
            crate::shell::outln!("version:   {}\nname:      {}\nstate:     {state}", migration.version, migration.name);
            if let Some(on) = status.and_then(|s| s.applied_on.as_deref()) {
                crate::shell::outln!("applied:   {}", render::time(on));
            }
            crate::shell::outln!("sha256:    {}", migration.up_hash);
            if let Some(c) = checksum {
                crate::shell::outln!("checksum:  {c} (refinery)");
            }
            crate::shell::outln!(
                "\n-- {} --\n{}",
                session.set.display(&migration.up_file),
                session.set.texts.up(migration).unwrap_or_default().trim_end()
            );
            match (&migration.down_file, session.set.texts.down(migration)) {
                (Some(f), Some(sql)) => crate::shell::outln!("\n-- {} --\n{}", session.set.display(f), sql.trim_end()),
                _ => crate::shell::outln!("\n-- no down file: the migration cannot be reverted --"),
            }
        }
    }
    Ok(exit_code::OK)
}

/// A version only the history knows (its file was deleted or renamed): the row, and no SQL.
fn show_without_file(args: &ShowArgs, session: &mut Session) -> CliResult {
    let history = session.engine.history()?;
    let Some(row) = history.iter().find(|r| r.version == args.version) else {
        // The version was in the history a moment ago: another session removed it since.
        return Err(CliError::failure(format!("version {} is no longer in the history", args.version)));
    };
    match args.format {
        Format::Json => crate::shell::outln!(
            "{}",
            json!({
                "version": row.version, "name": row.name, "state": "missing",
                "applied_on": row.applied_on, "refinery_checksum": row.checksum,
                "up_file": null, "down_file": null, "up": null, "down": null,
                "database": crate::render::notes::target_json(&session.target),
            })
        ),
        Format::Human => {
            // With file errors, its file may be there but unusable (a duplicate version, say).
            let why = match session.file_errors {
                0 => "the history records it, the migrations folder does not",
                _ => "the history records it; no file for it passes the check (see the warnings above)",
            };
            crate::shell::outln!(
                "version:   {}\nname:      {}\nstate:     missing\napplied:   {}\n\n-- no file: {why} --",
                row.version,
                row.name,
                row.applied_on
            );
        }
    }
    Ok(exit_code::OK)
}
