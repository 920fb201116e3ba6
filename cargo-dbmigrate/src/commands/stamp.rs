//! `stamp`: adopt an existing database by recording migrations as applied without running them.

use super::args::{DbArgs, parse_version};
use crate::cli::GlobalArgs;
use crate::ops::session;
use crate::ops::versions::{History, Zero};
use crate::render::Format;
use crate::shell::Shell;
use crate::{CliResult, exit_code};
use serde_json::json;

/// Mark every migration up to VERSION as applied without running it.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate stamp 20260101120000     # the schema already has these changes

For adopting a database whose schema was created by other means (Alembic's stamp,
Flyway's baseline). Nothing but history rows is written.")]
pub struct StampArgs {
    /// The newest version to mark as applied
    #[arg(id = "target_version", value_name = "VERSION", value_parser = parse_version)]
    version: i64,
    #[command(flatten)]
    db: DbArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

impl StampArgs {
    /// The output format asked for.
    pub fn format(&self) -> Format {
        self.format
    }
}

/// Runs `stamp`.
pub fn run(args: &StampArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    args.db.require_version(global, args.version, Zero::NotAllowed, History::FilesOnly)?;
    let mut session = args.db.open(global, shell)?;
    let scripts = session::scripts(&session.set);
    let report = session.engine.stamp(&scripts, args.version)?;
    for m in &report.migrations {
        shell.status("Stamped", dbmigrate_core::label(m.version, &m.name));
    }
    if report.migrations.is_empty() {
        shell.status("Fresh", "nothing to stamp");
    }
    if args.format == Format::Json {
        let stamped: Vec<_> =
            report.migrations.iter().map(|m| json!({ "version": m.version, "name": m.name })).collect();
        crate::render::json::print(
            "stamp",
            json!({ "before": report.before, "after": report.after, "migrations": stamped }),
        );
    }
    Ok(exit_code::OK)
}
