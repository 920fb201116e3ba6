//! How results and progress look, shared by the commands that print them: findings, status
//! lines and progress bars for the operations' notes, and deploy outcomes.

pub mod deploy;
pub mod finding;
pub mod notes;

use dbmigrate_runtime::{MigrationState, Reversibility};

/// Output format of data-printing commands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    #[default]
    Human,
    /// One JSON document on stdout, for scripts and pipelines.
    Json,
}

/// A byte count for people.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// A migration state as one lowercase word.
pub fn state_name(state: MigrationState) -> &'static str {
    match state {
        MigrationState::Applied => "applied",
        MigrationState::Pending => "pending",
        MigrationState::Divergent => "divergent",
        MigrationState::Renamed => "renamed",
        MigrationState::NoChecksum => "no-checksum",
        MigrationState::Duplicate => "duplicate",
        MigrationState::Missing => "missing",
        MigrationState::Dirty => "dirty",
        MigrationState::Rehashed => "rehashed",
        MigrationState::Renumbered => "renumbered",
    }
}

/// Whether a migration can be reverted, for people.
pub fn down_name(r: Option<Reversibility>) -> &'static str {
    match r {
        Some(Reversibility::Reversible) => "reversible",
        Some(Reversibility::NoDown) => "no down file",
        Some(Reversibility::Irreversible) => "irreversible (empty down)",
        None => "-",
    }
}
