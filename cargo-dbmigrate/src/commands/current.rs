//! `current`: the version the database is at.

use super::args::DbArgs;
use crate::cli::GlobalArgs;
use crate::ops::session::{self, Session};
use crate::render::Format;
use crate::render::notes::Notes;
use crate::shell::Shell;
use crate::{CliError, CliResult, exit_code, workspace};
use serde_json::json;

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

/// Runs `current`.
pub fn run(args: &CurrentArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let mut session = open(&args.db, global, shell)?;
    let version = session.engine.current_version()?;
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

/// Validates the crate's migrations and connects, showing findings as they come.
fn open(db: &DbArgs, global: &GlobalArgs, shell: &Shell) -> Result<Session, CliError> {
    let target = workspace::locate(global.selector())?;
    let mut notes = Notes::new(shell);
    session::open(&target, &db.choice(), false, &mut |note| notes.show(note))
}
