//! `repair`: resolve a migration left half applied (dirty), after a manual fix.

use super::args::{DbArgs, parse_version};
use crate::cli::GlobalArgs;
use crate::ops::session;
use crate::ops::versions::{History, Zero};
use crate::render::Format;
use crate::shell::Shell;
use crate::{CliResult, exit_code};
use dbmigrate_runtime::{RepairAction, RepairChange, Repaired};

/// Resolve a migration left dirty (half applied: MySQL/MariaDB, or a no-transaction file), after a manual fix.
#[derive(Debug, clap::Args)]
#[command(
    disable_version_flag = true,
    after_help = "\
Examples:
  cargo dbmigrate repair 20260101120000 --as applied   # fixed forward by hand
  cargo dbmigrate repair 20260101120000 --as pending   # undone by hand"
)]
pub struct RepairArgs {
    /// The migration's version (in the files or the history)
    #[arg(id = "repair_version", value_name = "VERSION", value_parser = parse_version,
          required_unless_present = "repair_version_flag")]
    version: Option<i64>,
    /// The old spelling of VERSION, kept working but hidden.
    #[arg(long = "version", id = "repair_version_flag", value_name = "VERSION", value_parser = parse_version,
          hide = true, conflicts_with = "repair_version")]
    version_flag: Option<i64>,
    /// What the migration is now
    #[arg(long = "as", value_enum)]
    state: RepairAs,
    #[command(flatten)]
    db: DbArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

impl RepairArgs {
    /// The output format asked for.
    pub fn format(&self) -> Format {
        self.format
    }
}

/// How the user resolved a dirty migration.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RepairAs {
    /// Record it as applied
    Applied,
    /// Record it as not applied
    Pending,
}

/// Runs `repair`.
pub fn run(args: &RepairArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    // Clap requires exactly one of the two spellings.
    let version = args.version.or(args.version_flag).unwrap_or_default();
    args.db.require_version(global, version, Zero::NotAllowed, History::Counts)?;
    let mut session = args.db.open(global, shell)?;
    let scripts = session::scripts(&session.set);
    let action = match args.state {
        RepairAs::Applied => RepairAction::AsApplied,
        RepairAs::Pending => RepairAction::AsPending,
    };
    let repaired = session.engine.repair(&scripts, version, action)?;
    let label = scripts
        .iter()
        .find(|s| s.version == version)
        .map_or_else(|| format!("version {version}"), |s| dbmigrate_core::label(s.version, &s.name));
    let (verb, text) = describe(&repaired, &label, args.state);
    shell.status(verb, &text);
    if args.format == Format::Json {
        let change = match &repaired.change {
            RepairChange::Nothing => "nothing",
            RepairChange::Recorded => "recorded",
            RepairChange::Removed => "removed",
            RepairChange::Rewritten(_) => "rewritten",
        };
        let name = scripts.iter().find(|s| s.version == version).map(|s| s.name.clone());
        crate::render::json::print(
            "repair",
            serde_json::json!({
                "version": version, "name": name, "state": args.state.word(), "change": change,
                "marker_cleared": repaired.marker_cleared, "message": text,
            }),
        );
    }
    Ok(exit_code::OK)
}

/// Exactly what `repair` changed, as a status line.
fn describe(repaired: &Repaired, label: &str, state: RepairAs) -> (&'static str, String) {
    let marker = if repaired.marker_cleared { "; its dirty marker was cleared" } else { "" };
    let text = match &repaired.change {
        RepairChange::Nothing if repaired.marker_cleared => {
            format!("{label} was already recorded as {}; its dirty marker was cleared", state.word())
        }
        RepairChange::Nothing => {
            return ("Unchanged", format!("nothing to change: {label} is already recorded as {}", state.word()));
        }
        RepairChange::Recorded => format!("{label} is now recorded as applied{marker}"),
        RepairChange::Removed => format!("{label} is now recorded as pending (its history row was deleted){marker}"),
        RepairChange::Rewritten(anomaly) => {
            let was = match anomaly {
                dbmigrate_runtime::Anomaly::Edited => "the file was edited after it was applied".to_owned(),
                dbmigrate_runtime::Anomaly::Renamed(old) => format!("it was recorded under the name `{old}`"),
                dbmigrate_runtime::Anomaly::NoChecksum => "the row had no checksum".to_owned(),
                dbmigrate_runtime::Anomaly::Duplicate(n) => format!("the history held {n} rows for it"),
                _ => "the row differed from the file".to_owned(),
            };
            format!("rewrote the history row of {label} to the file's current name and checksum ({was}){marker}")
        }
    };
    ("Repaired", text)
}

impl RepairAs {
    fn word(self) -> &'static str {
        match self {
            RepairAs::Applied => "applied",
            RepairAs::Pending => "pending",
        }
    }
}
