//! refinery's history table (kept byte-compatible), the side table that holds dbmigrate's
//! own state (the progress marker of a migration that runs outside a transaction), and the
//! audit table recording every history row the engine corrected (rehash, renumber), and the
//! down text each migration had when it was applied (so an edited, unreleased migration can
//! still be reverted exactly).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Direction, Error, Result};
use crate::url::Dialect;

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedRow {
    pub version: i64,
    pub name: String,
    /// UTC RFC 3339, as refinery writes it.
    pub applied_on: String,
    /// Decimal u64 as refinery writes it; kept as text so a bad row is
    /// reported as divergent instead of failing the read.
    pub checksum: String,
}

impl AppliedRow {
    pub fn checksum_u64(&self) -> Option<u64> {
        self.checksum.trim().parse().ok()
    }
}

/// A migration run outside a transaction (MySQL/MariaDB, or a no-transaction file) that
/// started and did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirtyMarker {
    pub version: i64,
    pub direction: Direction,
    /// Statements that completed (after a kill on MySQL/MariaDB, the one after them may have).
    pub done: u64,
}

/// What the engine reads before planning, in one round trip.
#[derive(Debug, Clone, Default)]
pub(crate) struct HistoryState {
    pub rows: Vec<AppliedRow>,
    pub dirty: Option<DirtyMarker>,
}

/// A validated history table name, safe to paste into SQL as refinery does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table(String);

impl Table {
    /// Checks `name` with the rule `cargo build` applies to `history-table`.
    pub fn new(name: &str) -> Result<Self> {
        match dbmigrate_core::history_table::validate(name) {
            Ok(()) => Ok(Table(name.to_string())),
            Err(_) => Err(Error::TableName(name.chars().take(80).collect())),
        }
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    /// The side table for dbmigrate's own state.
    pub fn side(&self) -> String {
        format!("{}_dbmigrate", self.0)
    }

    pub fn create_sql(&self, dialect: Dialect) -> String {
        let int = if dialect == Dialect::Postgres { "int8" } else { "BIGINT" };
        format!(
            "CREATE TABLE IF NOT EXISTS {}(version {int} PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255))",
            self.0
        )
    }

    pub fn create_side_sql(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {}(version BIGINT PRIMARY KEY, direction VARCHAR(8) NOT NULL, statements_done BIGINT NOT NULL, started_on VARCHAR(255))",
            self.side()
        )
    }

    /// Creates the side table where it is missing. On PostgreSQL only when absent, as for the
    /// history table, so a user without CREATE on the schema can use one made for it.
    pub fn ensure_side_sql(&self, dialect: Dialect) -> String {
        match dialect {
            Dialect::Postgres => format!(
                "DO $dbmigrate$ BEGIN IF to_regclass('{}') IS NULL THEN {}; END IF; END $dbmigrate$",
                self.side(),
                self.create_side_sql()
            ),
            _ => self.create_side_sql(),
        }
    }

    pub fn select_sql(&self) -> String {
        format!("SELECT version, name, applied_on, checksum FROM {} ORDER BY applied_on, version", self.0)
    }

    pub fn select_side_sql(&self) -> String {
        format!("SELECT version, direction, statements_done FROM {}", self.side())
    }

    pub fn insert_sql(&self, version: i64, name: &str, checksum: u64) -> String {
        format!(
            "INSERT INTO {} (version, name, applied_on, checksum) VALUES ({version}, {}, '{}', '{checksum}')",
            self.0,
            quote(name),
            now_rfc3339()
        )
    }

    pub fn delete_sql(&self, version: i64) -> String {
        format!("DELETE FROM {} WHERE version = {version}", self.0)
    }

    /// The audit table: one row per history row the engine corrected, never read back by it.
    /// One fixed name with a column for the history table: a suffix would not fit the 64
    /// characters MySQL allows after a history table name of the permitted 54.
    pub fn audit(&self) -> &'static str {
        AUDIT_TABLE
    }

    /// Creates the audit table where it is missing (on PostgreSQL only when absent, as for the
    /// side table).
    pub fn ensure_audit_sql(&self, dialect: Dialect) -> String {
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {}(history_table VARCHAR(64) NOT NULL, version BIGINT NOT NULL, \
             previous_version BIGINT NOT NULL, \
             action VARCHAR(16) NOT NULL, previous_checksum VARCHAR(255), checksum VARCHAR(255), \
             reason VARCHAR(1000), recorded_on VARCHAR(255))",
            self.audit()
        );
        match dialect {
            Dialect::Postgres => format!(
                "DO $dbmigrate$ BEGIN IF to_regclass('{}') IS NULL THEN {create}; END IF; END $dbmigrate$",
                self.audit()
            ),
            _ => create,
        }
    }

    /// Moves the row of `from` to `to` with a new checksum (`from == to`: only the checksum).
    pub fn rewrite_sql(&self, from: i64, to: i64, checksum: u64) -> String {
        format!("UPDATE {} SET version = {to}, checksum = '{checksum}' WHERE version = {from}", self.0)
    }

    /// Makes the row of `version` record `name` and `checksum`, keeping its `applied_on`.
    pub fn rerecord_sql(&self, version: i64, name: &str, checksum: u64) -> String {
        format!("UPDATE {} SET name = {}, checksum = '{checksum}' WHERE version = {version}", self.0, quote(name))
    }

    /// One audit row: what `action` changed, from what, and why.
    pub fn audit_sql(&self, change: &Audit<'_>) -> String {
        // MySQL reads a backslash in a literal as an escape unless NO_BACKSLASH_ESCAPES is set,
        // so no single spelling is right everywhere: the free text loses its backslashes.
        let reason: String = change
            .reason
            .chars()
            .filter(|c| !c.is_control())
            .map(|c| if c == '\\' { '/' } else { c })
            .take(900)
            .collect();
        format!(
            "INSERT INTO {} (history_table, version, previous_version, action, previous_checksum, checksum, reason, \
             recorded_on) VALUES ('{}', {}, {}, '{}', {}, '{}', {}, '{}')",
            self.audit(),
            self.0,
            change.version,
            change.previous_version,
            change.action,
            quote(change.previous_checksum),
            change.checksum,
            quote(&reason),
            now_rfc3339()
        )
    }

    /// The table of recorded down texts: one row per applied migration, keyed by the history
    /// table, the version and the checksum of the up text it was applied with. A fixed name with
    /// a column for the history table, as for the audit table.
    pub fn downs(&self) -> &'static str {
        DOWNS_TABLE
    }

    /// Creates the recorded-downs table where it is missing (on PostgreSQL only when absent).
    pub fn ensure_downs_sql(&self, dialect: Dialect) -> String {
        // MySQL's TEXT holds 64 KiB; a down file may be longer. The key serves the forget
        // before each record: without it every migration scanned the whole table (quadratic).
        // A table made before it had one keeps working, unindexed.
        let text = if dialect == Dialect::Mysql { "LONGTEXT" } else { "TEXT" };
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {}(history_table VARCHAR(64) NOT NULL, version BIGINT NOT NULL, \
             checksum VARCHAR(255) NOT NULL, down_sql {text}, recorded_on VARCHAR(255), \
             PRIMARY KEY (history_table, version))",
            self.downs()
        );
        match dialect {
            Dialect::Postgres => format!(
                "DO $dbmigrate$ BEGIN IF to_regclass('{}') IS NULL THEN {create}; END IF; END $dbmigrate$",
                self.downs()
            ),
            _ => create,
        }
    }

    /// Forgets the recorded down of `version` (reverted, or about to be recorded again).
    pub fn forget_down_sql(&self, version: i64) -> String {
        format!("DELETE FROM {} WHERE history_table = '{}' AND version = {version}", self.downs(), self.0)
    }

    /// Records `down` (`None`: the migration had no down file) as the way back from the up
    /// text with `checksum`. The text goes as hex, decoded by the server: no quoting rule
    /// (MySQL's backslashes) can alter it.
    pub fn record_down_sql(&self, dialect: Dialect, version: i64, checksum: u64, down: Option<&str>) -> String {
        let text = match down {
            None => "NULL".to_string(),
            Some(d) => {
                let hex: String = d.bytes().map(|b| format!("{b:02x}")).collect();
                match dialect {
                    Dialect::Postgres => format!("convert_from(decode('{hex}', 'hex'), 'UTF8')"),
                    Dialect::Mysql => format!("CONVERT(X'{hex}' USING utf8mb4)"),
                    Dialect::Sqlite => format!("CAST(X'{hex}' AS TEXT)"),
                }
            }
        };
        format!(
            "INSERT INTO {} (history_table, version, checksum, down_sql, recorded_on) VALUES ('{}', {version}, '{checksum}', {text}, '{}')",
            self.downs(),
            self.0,
            now_rfc3339()
        )
    }

    /// Moves the recorded down of `from` to `to`, for the up text now hashed as `checksum`.
    pub fn move_down_sql(&self, from: i64, to: i64, checksum: u64) -> String {
        format!(
            "UPDATE {} SET version = {to}, checksum = '{checksum}' WHERE history_table = '{}' AND version = {from}",
            self.downs(),
            self.0
        )
    }

    /// The recorded downs of this history table.
    pub fn select_downs_sql(&self) -> String {
        format!("SELECT version, checksum, down_sql FROM {} WHERE history_table = '{}'", self.downs(), self.0)
    }

    /// One row: the number of history rows, how many of them have a NULL name or checksum or a
    /// checksum with a newline (any makes the digest unusable), the hex SHA-256 of
    /// [`digest_text`] computed by the server over the rows in version order, and whether the
    /// side table exists.
    pub fn digest_sql(&self) -> String {
        format!(
            "SELECT count(*), count(*) FILTER (WHERE name IS NULL OR checksum IS NULL OR strpos(checksum, E'\\n') > 0), \
             encode(sha256(convert_to(coalesce(string_agg(version || ' ' || octet_length(convert_to(name, 'UTF8')) \
             || ' ' || name || ' ' || checksum, E'\\n' ORDER BY version), ''), 'UTF8')), 'hex'), \
             to_regclass('{}') IS NOT NULL FROM {}",
            self.side(),
            self.0
        )
    }

    /// MySQL/MariaDB's [`Table::digest_sql`], three statements for one round trip: lift
    /// `GROUP_CONCAT`'s limit (1,024 bytes by default on MySQL), the same count, unusable count
    /// and digest, then whether the side table holds a progress marker (an error when it does
    /// not exist). Newlines are written as `CHAR(10)` and `X'0A'`, so `NO_BACKSLASH_ESCAPES`
    /// cannot change them.
    pub fn mysql_digest_sql(&self) -> String {
        format!(
            "SET SESSION group_concat_max_len = 4294967295; \
             SELECT COUNT(*), COALESCE(SUM(name IS NULL OR checksum IS NULL OR LOCATE(CHAR(10), checksum) > 0), 0), \
             SHA2(CONVERT(COALESCE(GROUP_CONCAT(CONCAT(version, ' ', OCTET_LENGTH(CONVERT(name USING utf8mb4)), ' ', \
             CONVERT(name USING utf8mb4), ' ', checksum) ORDER BY version SEPARATOR X'0A'), '') USING utf8mb4), 256) \
             FROM {}; SELECT EXISTS (SELECT 1 FROM {})",
            self.0,
            self.side()
        )
    }

    /// Whether the side table holds a progress marker (one row: `t` or `f`).
    pub fn any_marker_sql(&self) -> String {
        format!("SELECT EXISTS (SELECT 1 FROM {})", self.side())
    }

    pub fn mark_start_sql(&self, version: i64, direction: Direction) -> String {
        self.mark_start_at_sql(version, direction, 0)
    }

    /// The marker of a migration that has `done` statements behind it once this commits (on
    /// MySQL/MariaDB it commits with them, by the implicit commit of the DDL that follows).
    pub fn mark_start_at_sql(&self, version: i64, direction: Direction, done: usize) -> String {
        format!(
            "INSERT INTO {} (version, direction, statements_done, started_on) VALUES ({version}, '{direction}', {done}, '{}')",
            self.side(),
            now_rfc3339()
        )
    }

    pub fn mark_progress_sql(&self, version: i64, done: usize) -> String {
        format!("UPDATE {} SET statements_done = {done} WHERE version = {version}", self.side())
    }

    pub fn mark_clear_sql(&self, version: i64) -> String {
        format!("DELETE FROM {} WHERE version = {version}", self.side())
    }
}

/// Where the engine records the history rows it corrected (rehash, renumber, repair).
pub const AUDIT_TABLE: &str = "dbmigrate_audit";

/// Where the engine records each applied migration's down text.
pub const DOWNS_TABLE: &str = "dbmigrate_downs";

/// The down text recorded when a migration was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordedDown {
    pub version: i64,
    /// The checksum of the up text it was applied with, as in the history row.
    pub checksum: String,
    /// `None`: the migration had no down file then.
    pub down: Option<String>,
}

/// One correction of a history row, for the audit table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Audit<'a> {
    pub version: i64,
    pub previous_version: i64,
    /// `rehash`, `renumber` or `repair`.
    pub action: &'a str,
    pub previous_checksum: &'a str,
    pub checksum: u64,
    pub reason: &'a str,
}

/// A SQL string literal; names are `[a-z0-9_]+` already, this is a second guard.
/// The text whose digest [`Table::digest_sql`] computes: `<version> <bytes of name> <name>
/// <checksum>` per migration in version order, joined by newlines. With the name's length
/// given and no newline in a checksum, the text spells exactly one list of rows, so equal
/// digests and counts mean the same history. `None` when two entries share a version.
pub(crate) fn digest_text(known: &[(i64, &str, u64)]) -> Option<String> {
    let mut sorted: Vec<&(i64, &str, u64)> = known.iter().collect();
    sorted.sort_unstable_by_key(|(version, _, _)| *version);
    if sorted.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }
    let lines: Vec<String> =
        sorted.iter().map(|(v, name, checksum)| format!("{v} {} {name} {checksum}", name.len())).collect();
    Some(lines.join("\n"))
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The current UTC time the way refinery writes `applied_on`.
pub(crate) fn now_rfc3339() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

pub(crate) fn parse_direction(s: &str) -> Direction {
    if s.eq_ignore_ascii_case("down") { Direction::Down } else { Direction::Up }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_text_is_in_version_order_with_name_lengths() {
        let known = [(10, "b c", 7), (2, "é", 1)];
        assert_eq!(digest_text(&known).as_deref(), Some("2 2 é 1\n10 3 b c 7"));
        assert_eq!(digest_text(&[]).as_deref(), Some(""));
        assert_eq!(digest_text(&[(1, "a", 1), (1, "b", 2)]), None, "a version twice");
    }

    #[test]
    fn table_names() {
        assert!(Table::new("refinery_schema_history").is_ok());
        assert!(Table::new("_h2").is_ok());
        for bad in ["", "1abc", "a-b", "a b", "a;drop", "é", &"a".repeat(60)] {
            assert!(Table::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn create_matches_refinery() {
        let t = Table::new(dbmigrate_core::DEFAULT_HISTORY_TABLE).expect("valid");
        assert_eq!(
            t.create_sql(Dialect::Postgres),
            "CREATE TABLE IF NOT EXISTS refinery_schema_history(version int8 PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255))"
        );
        assert!(t.create_sql(Dialect::Mysql).contains("version BIGINT PRIMARY KEY"));
    }

    #[test]
    fn applied_on_is_rfc3339() {
        let now = now_rfc3339();
        assert!(OffsetDateTime::parse(&now, &Rfc3339).is_ok(), "{now}");
        let t = Table::new("h").expect("valid");
        let sql = t.insert_sql(7, "o'k", 42);
        assert!(sql.starts_with("INSERT INTO h (version, name, applied_on, checksum) VALUES (7, 'o''k', '"));
        assert!(sql.ends_with("', '42')"));
    }

    #[test]
    fn a_down_text_is_recorded_as_hex_for_every_dialect() {
        let t = Table::new("h").expect("valid");
        let sql = t.record_down_sql(Dialect::Mysql, 7, 42, Some("it's \\ x"));
        assert!(sql.contains("CONVERT(X'69742773205c2078' USING utf8mb4)"), "{sql}");
        assert!(!sql.contains("it's"), "{sql}");
        assert!(
            t.record_down_sql(Dialect::Postgres, 7, 42, Some("a"))
                .contains("convert_from(decode('61', 'hex'), 'UTF8')")
        );
        assert!(t.record_down_sql(Dialect::Sqlite, 7, 42, Some("a")).contains("CAST(X'61' AS TEXT)"));
        assert!(t.record_down_sql(Dialect::Sqlite, 7, 42, None).contains(", NULL, "));
        assert!(t.forget_down_sql(7).ends_with("WHERE history_table = 'h' AND version = 7"));
    }
}
