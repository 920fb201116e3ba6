//! How results and progress look, shared by the commands that print them: findings, status
//! lines and progress bars for the operations' notes, deploy outcomes, tables and JSON documents.

pub mod deploy;
pub mod finding;
pub mod json;
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

/// A table for people: a header line, then one line a row, each column as wide as its widest
/// cell, two spaces between columns, no trailing blanks.
pub fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> Vec<String> {
    let header = header.map(str::to_owned);
    let width = |i: usize| rows.iter().chain([&header]).map(|r| r[i].chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..N).map(width).collect();
    std::iter::once(&header)
        .chain(rows)
        .map(|row| {
            let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect()
}

/// A history time for people, always in the same shape, `2026-01-01 12:00:00.123Z`: the
/// backends store RFC 3339 with 0 to 9 fraction digits and `Z` or `+00:00`, which made columns
/// drift. Anything else is shown as stored.
pub fn time(stored: &str) -> String {
    let (Some(date), Some(clock)) = (stored.get(..10), stored.get(11..19)) else { return stored.to_owned() };
    if !matches!(stored.as_bytes()[10], b'T' | b' ') {
        return stored.to_owned();
    }
    let rest = &stored[19..];
    let (fraction, zone) = match rest.strip_prefix('.') {
        Some(f) => f.split_at(f.find(|c: char| !c.is_ascii_digit()).unwrap_or(f.len())),
        None => ("", rest),
    };
    let millis: String = fraction.chars().chain("000".chars()).take(3).collect();
    let zone = match zone {
        "" | "Z" | "+00:00" | "+00" => "Z",
        other => other,
    };
    format!("{date} {clock}.{millis}{zone}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_have_one_shape() {
        assert_eq!(time("2026-01-01T12:00:00.123456789Z"), "2026-01-01 12:00:00.123Z");
        assert_eq!(time("2026-01-01T12:00:00.1234567+00:00"), "2026-01-01 12:00:00.123Z");
        assert_eq!(time("2026-01-01 12:00:00"), "2026-01-01 12:00:00.000Z");
        assert_eq!(time("2026-01-01T12:00:00.5+02:00"), "2026-01-01 12:00:00.500+02:00");
        assert_eq!(time("yesterday"), "yesterday");
        assert_eq!(time(""), "");
    }

    #[test]
    fn table_columns_fit_their_widest_cell() {
        let rows = [["a".to_owned(), "long cell".to_owned()], ["wider".to_owned(), "x".to_owned()]];
        assert_eq!(table(["H1", "H2"], &rows), ["H1     H2", "a      long cell", "wider  x"]);
    }
}
