//! `current`: the version the database is at.

use super::args::DbArgs;
use crate::cli::GlobalArgs;
use crate::render::Format;
use crate::shell::Shell;
use crate::{CliResult, exit_code};
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

impl CurrentArgs {
    /// The output format asked for.
    pub fn format(&self) -> Format {
        self.format
    }
}

/// Runs `current`.
pub fn run(args: &CurrentArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let mut session = args.db.open_to_inspect(global, shell)?;
    let version = session.engine.current_version()?;
    let name = version.and_then(|v| session.set.get(v)).map(|m| m.name.clone());
    match args.format {
        Format::Json => crate::render::json::print(
            "current",
            json!({ "version": version, "name": name, "database": crate::render::notes::target_json(&session.target) }),
        ),
        Format::Human => match version {
            Some(v) => {
                let none = if session.file_errors > 0 { "(no file that passes the check)" } else { "(no file)" };
                crate::shell::outln!("{v} {}", name.as_deref().unwrap_or(none));
            }
            None => crate::shell::outln!("{}", dbmigrate_core::version::NONE),
        },
    }
    Ok(exit_code::OK)
}
