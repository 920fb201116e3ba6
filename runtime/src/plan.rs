//! Deciding what to run: pure functions over the scripts and the history, so
//! every refusal happens before anything is sent to the database.

use std::collections::BTreeMap;

use crate::error::{Anomaly, Direction, Error, Result};
use crate::history::{AppliedRow, HistoryState, RecordedDown};
use crate::script::{MigrationScript, Reversibility};

/// Where a migration goes: up (applying pending migrations) or down (reverting applied ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Goal {
    /// Apply every pending migration.
    #[default]
    Latest,
    /// Apply pending migrations up to and including this version.
    UpTo(i64),
    /// Revert this many of the newest applied migrations.
    DownSteps(usize),
    /// Revert every applied migration with a version above this one (0 reverts all).
    DownTo(i64),
    /// Revert this many of the newest applied migrations, then apply them again from their
    /// files, under one lock: the dev loop "apply, edit, redo".
    Redo(usize),
    /// Revert every applied migration with a version above this one, then apply them again
    /// (0 redoes all).
    RedoTo(i64),
}

impl Goal {
    /// Which way the goal runs migrations.
    pub fn direction(self) -> Direction {
        match self {
            Goal::Latest | Goal::UpTo(_) => Direction::Up,
            // It reverts first: a failure before anything is re-applied is a failed revert.
            Goal::DownSteps(_) | Goal::DownTo(_) | Goal::Redo(_) | Goal::RedoTo(_) => Direction::Down,
        }
    }

    /// Whether the goal reverts and then applies again.
    pub fn is_redo(self) -> bool {
        matches!(self, Goal::Redo(_) | Goal::RedoTo(_))
    }
}

/// The checks an upgrade makes before applying anything.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checks {
    pub abort_divergent: bool,
    pub abort_missing: bool,
    pub allow_out_of_order: bool,
}

/// Scripts by version, validated, with duplicates refused.
pub(crate) type Scripts<'s, 'a> = BTreeMap<i64, &'s MigrationScript<'a>>;

pub(crate) fn index<'s, 'a>(scripts: &'s [MigrationScript<'a>]) -> Result<Scripts<'s, 'a>> {
    let mut map = BTreeMap::new();
    for s in scripts {
        s.validate()?;
        if map.insert(s.version, s).is_some() {
            return Err(Error::DuplicateVersion(s.version));
        }
    }
    Ok(map)
}

/// Whether an applied row still matches its script (name and checksum).
pub(crate) fn row_matches(script: &MigrationScript<'_>, row: &AppliedRow) -> Result<bool> {
    Ok(check_rows(script, &[row])?.is_none())
}

/// How the history's rows for a script's version differ from the script, if they do: the file
/// edited since (its checksum), or the history itself odd — recorded under another name, no
/// checksum, several rows — where no file was edited.
pub(crate) fn check_rows(script: &MigrationScript<'_>, rows: &[&AppliedRow]) -> Result<Option<Anomaly>> {
    let [row] = rows else { return Ok(Some(Anomaly::Duplicate(rows.len()))) };
    if script.name != row.name {
        return Ok(Some(Anomaly::Renamed(row.name.clone())));
    }
    match row.checksum_u64() {
        None => Ok(Some(Anomaly::NoChecksum)),
        Some(sum) if script.matches_checksum(sum)? => Ok(None),
        Some(_) => Ok(Some(Anomaly::Edited)),
    }
}

/// The history's rows grouped by version.
pub(crate) fn by_version(rows: &[AppliedRow]) -> BTreeMap<i64, Vec<&AppliedRow>> {
    let mut map: BTreeMap<i64, Vec<&AppliedRow>> = BTreeMap::new();
    for row in rows {
        map.entry(row.version).or_default().push(row);
    }
    map
}

/// The first history anomaly among the scripts (never an edit: that is [`Error::Divergent`]).
fn refuse_anomalies(scripts: &Scripts<'_, '_>, rows: &BTreeMap<i64, Vec<&AppliedRow>>) -> Result<()> {
    for (v, rows) in rows {
        if let Some(s) = scripts.get(v)
            && let Some(anomaly) = check_rows(s, rows)?.filter(|a| *a != Anomaly::Edited)
        {
            return Err(Error::History { file: s.file_name(), version: *v, anomaly });
        }
    }
    Ok(())
}

/// A history row the engine corrects, under the lock, before planning: the migration is the
/// one in the files, only its record is out of date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fix {
    /// The file was edited on purpose after its release (`release --rehash`, with `reason`):
    /// the row gets the file's current checksum.
    Rehash { version: i64, name: String, reason: String, old: String, checksum: u64 },
    /// `renumber` gave the migration a new version: the row moves from `from` to `to`, with the
    /// checksum of the text under its new version.
    Renumber { from: i64, to: i64, name: String, old: String, checksum: u64 },
}

/// The rows to correct: rehashed versions whose row holds another checksum, and rows without a
/// file whose (name, checksum under their own version) match a pending script.
pub(crate) fn fixes(scripts: &Scripts<'_, '_>, state: &HistoryState) -> Result<Vec<Fix>> {
    let applied = by_version(&state.rows);
    let mut out = Vec::new();
    for (v, rows) in &applied {
        if let Some(s) = scripts.get(v)
            && let Some(reason) = &s.rehash
            && check_rows(s, rows)? == Some(Anomaly::Edited)
        {
            let (name, old) = (s.name.to_string(), rows[0].checksum.clone());
            out.push(Fix::Rehash { version: *v, name, reason: reason.to_string(), old, checksum: s.checksum()? });
        }
    }
    let mut taken = std::collections::BTreeSet::new();
    for (v, rows) in applied.iter().filter(|(v, _)| !scripts.contains_key(v)) {
        let [row] = rows.as_slice() else { continue };
        let Some(sum) = row.checksum_u64() else { continue };
        for (to, s) in scripts.iter().filter(|(to, s)| !applied.contains_key(to) && s.name == row.name) {
            if !taken.contains(to) && s.matches_checksum_as(*v, sum)? {
                taken.insert(*to);
                let (name, old) = (s.name.to_string(), row.checksum.clone());
                out.push(Fix::Renumber { from: *v, to: *to, name, old, checksum: s.checksum()? });
                break;
            }
        }
    }
    Ok(out)
}

/// The history as it reads once `fixes` are made.
pub(crate) fn fixed(state: &HistoryState, fixes: &[Fix]) -> HistoryState {
    let mut state = state.clone();
    for fix in fixes {
        for row in &mut state.rows {
            match fix {
                Fix::Rehash { version, checksum, .. } if row.version == *version => {
                    row.checksum = checksum.to_string();
                }
                Fix::Renumber { from, to, checksum, .. } if row.version == *from => {
                    row.version = *to;
                    row.checksum = checksum.to_string();
                }
                _ => {}
            }
        }
    }
    state
}

pub(crate) fn newest(rows: &[AppliedRow]) -> Option<i64> {
    rows.iter().map(|r| r.version).max()
}

/// The scripts `goal` applies (oldest first) or reverts (newest first).
pub(crate) fn plan<'s, 'a>(
    scripts: &Scripts<'s, 'a>,
    state: &HistoryState,
    goal: Goal,
    checks: Checks,
) -> Result<Vec<&'s MigrationScript<'a>>> {
    match goal {
        Goal::Latest => plan_up(scripts, state, i64::MAX, checks),
        Goal::UpTo(v) => plan_up(scripts, state, v, checks),
        Goal::DownSteps(_) | Goal::DownTo(_) | Goal::Redo(_) | Goal::RedoTo(_) => {
            Ok(plan_down(scripts, state, goal, &[])?.into_iter().map(|r| r.script).collect())
        }
    }
}

/// The pending scripts up to `limit` (included), oldest first.
pub(crate) fn plan_up<'s, 'a>(
    scripts: &Scripts<'s, 'a>,
    state: &HistoryState,
    limit: i64,
    checks: Checks,
) -> Result<Vec<&'s MigrationScript<'a>>> {
    let applied = by_version(&state.rows);
    if checks.abort_divergent {
        refuse_anomalies(scripts, &applied)?;
    }
    let mut divergent = Vec::new();
    for (v, rows) in &applied {
        if let Some(s) = scripts.get(v)
            && check_rows(s, rows)? == Some(Anomaly::Edited)
        {
            divergent.push(s.file_name());
        }
    }
    if checks.abort_divergent && !divergent.is_empty() {
        return Err(Error::Divergent(divergent));
    }
    let missing: Vec<i64> = applied.keys().filter(|v| !scripts.contains_key(v)).copied().collect();
    if checks.abort_missing && !missing.is_empty() {
        return Err(Error::Missing(missing));
    }
    let pending: Vec<_> = scripts.range(..=limit).filter(|(v, _)| !applied.contains_key(v)).map(|(_, s)| *s).collect();
    if let Some(newest) = newest(&state.rows)
        && !checks.allow_out_of_order
    {
        let late: Vec<String> = pending.iter().filter(|s| s.version < newest).map(|s| s.file_name()).collect();
        if !late.is_empty() {
            return Err(Error::OutOfOrder { newest, files: late });
        }
    }
    Ok(pending)
}

/// One migration to revert, and the down text to revert it with.
#[derive(Debug)]
pub(crate) struct Revert<'s, 'a> {
    pub script: &'s MigrationScript<'a>,
    /// The file's down text, or, for an unreleased migration edited since it was applied, the
    /// one recorded when it was applied.
    pub down: String,
}

/// Whether reverting toward `goal` may need a recorded down text: an applied, unreleased
/// migration whose file was edited since (so the history read is not followed by another
/// round trip for nothing).
pub(crate) fn wants_recorded(scripts: &Scripts<'_, '_>, state: &HistoryState) -> Result<bool> {
    for (v, rows) in by_version(&state.rows) {
        if let Some(s) = scripts.get(&v)
            && !s.released
            && check_rows(s, &rows)? == Some(Anomaly::Edited)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The scripts a down goal (or a redo) reverts, newest first, each with its down text; refuses
/// if any of them cannot be reverted.
pub(crate) fn plan_down<'s, 'a>(
    scripts: &Scripts<'s, 'a>,
    state: &HistoryState,
    goal: Goal,
    recorded: &[RecordedDown],
) -> Result<Vec<Revert<'s, 'a>>> {
    let grouped = by_version(&state.rows);
    refuse_anomalies(scripts, &grouped)?;
    // One row a version, newest first: a duplicated row must never revert a migration twice.
    let rows: Vec<&AppliedRow> = grouped.values().rev().map(|rows| rows[0]).collect();
    let chosen: Vec<&AppliedRow> = match goal {
        Goal::DownSteps(n) | Goal::Redo(n) => rows.into_iter().take(n).collect(),
        Goal::DownTo(v) | Goal::RedoTo(v) => rows.into_iter().take_while(|r| r.version > v).collect(),
        Goal::Latest | Goal::UpTo(_) => Vec::new(),
    };
    chosen
        .into_iter()
        .map(|row| {
            let script = scripts.get(&row.version).ok_or_else(|| Error::Missing(vec![row.version]))?;
            if row_matches(script, row)? {
                return match script.reversibility() {
                    Reversibility::Reversible => {
                        Ok(Revert { script, down: script.down.as_deref().unwrap_or_default().to_owned() })
                    }
                    Reversibility::NoDown => Err(Error::NoDown(script.file_name())),
                    Reversibility::Irreversible => Err(Error::Irreversible(script.file_name())),
                };
            }
            if script.released {
                return Err(Error::Divergent(vec![script.file_name()]));
            }
            // Edited since it was applied and not released: the text it was applied with
            // knows how to undo it; the file's down may not.
            let found = recorded.iter().find(|r| r.version == row.version && r.checksum.trim() == row.checksum.trim());
            match found.and_then(|r| r.down.as_deref()) {
                Some(down) if !dbmigrate_core::sql::is_blank(down) => Ok(Revert { script, down: down.to_owned() }),
                Some(_) | None => Err(Error::NoRecordedDown { file: script.file_name(), recorded: found.is_some() }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKS: Checks = Checks { abort_divergent: true, abort_missing: true, allow_out_of_order: false };

    fn scripts() -> Vec<MigrationScript<'static>> {
        vec![
            MigrationScript::new(1, "a", "CREATE TABLE a(x INT);", Some("DROP TABLE a;")),
            MigrationScript::new(2, "b", "CREATE TABLE b(x INT);", Some("")),
            MigrationScript::new(3, "c", "CREATE TABLE c(x INT);", None::<&str>),
        ]
    }

    fn row(s: &MigrationScript<'_>) -> AppliedRow {
        AppliedRow {
            version: s.version,
            name: s.name.to_string(),
            applied_on: "2024-01-01T00:00:00Z".into(),
            checksum: s.checksum().expect("checksum").to_string(),
        }
    }

    fn state(rows: Vec<AppliedRow>) -> HistoryState {
        HistoryState { rows, dirty: None }
    }

    #[test]
    fn pending_and_target() {
        let s = scripts();
        let idx = index(&s).expect("valid");
        let st = state(vec![row(&s[0])]);
        let up = plan(&idx, &st, Goal::Latest, CHECKS).expect("plan");
        assert_eq!(up.iter().map(|s| s.version).collect::<Vec<_>>(), vec![2, 3]);
        let up = plan(&idx, &st, Goal::UpTo(2), CHECKS).expect("plan");
        assert_eq!(up.len(), 1);
    }

    #[test]
    fn refusals_up() {
        let s = scripts();
        let idx = index(&s).expect("valid");
        let mut r = row(&s[0]);
        r.checksum = "1".into();
        assert!(matches!(plan(&idx, &state(vec![r]), Goal::Latest, CHECKS), Err(Error::Divergent(_))));
        let mut r = row(&s[0]);
        r.version = 9;
        assert!(matches!(plan(&idx, &state(vec![r]), Goal::Latest, CHECKS), Err(Error::Missing(_))));
        let st = state(vec![row(&s[1])]);
        assert!(matches!(plan(&idx, &st, Goal::Latest, CHECKS), Err(Error::OutOfOrder { .. })));
        let lax = Checks { allow_out_of_order: true, ..CHECKS };
        assert_eq!(plan(&idx, &st, Goal::Latest, lax).expect("plan").len(), 2);
        let dup = vec![s[0].clone(), s[0].clone()];
        assert!(matches!(index(&dup), Err(Error::DuplicateVersion(1))));
    }

    #[test]
    fn refusals_down() {
        let s = scripts();
        let idx = index(&s).expect("valid");
        let st = state(s.iter().map(row).collect());
        assert!(matches!(plan(&idx, &st, Goal::DownSteps(1), CHECKS), Err(Error::NoDown(f)) if f == "V3__c.sql"));
        let st = state(s[..2].iter().map(row).collect());
        assert!(matches!(plan(&idx, &st, Goal::DownSteps(1), CHECKS), Err(Error::Irreversible(f)) if f == "V2__b.sql"));
        let st = state(vec![row(&s[0])]);
        assert_eq!(plan(&idx, &st, Goal::DownTo(0), CHECKS).expect("plan").len(), 1);
        assert!(plan(&idx, &st, Goal::DownTo(1), CHECKS).expect("plan").is_empty());
    }

    #[test]
    fn a_rehashed_row_and_a_renumbered_row_are_fixed_not_refused() {
        let s = scripts();
        let mut edited = s[0].clone();
        edited.up = "CREATE TABLE a(x INT); -- fixed".into();
        let old = row(&s[0]);
        let moved = MigrationScript { version: 4, ..s[1].clone() };
        let st = state(vec![old.clone(), row(&s[1])]);
        let files = vec![edited.clone(), moved.clone()];
        let idx = index(&files).expect("valid");
        // Without a rehash record the edit is refused; V2's row has no file, V4 is pending.
        assert!(fixes(&idx, &st).expect("fixes").iter().all(|f| matches!(f, Fix::Renumber { from: 2, to: 4, .. })));
        assert!(matches!(plan(&idx, &st, Goal::Latest, CHECKS), Err(Error::Divergent(_))));
        let files = vec![edited.clone().with_rehash(Some("typo")), moved];
        let idx = index(&files).expect("valid");
        let found = fixes(&idx, &st).expect("fixes");
        assert_eq!(found.len(), 2, "{found:?}");
        let after = fixed(&st, &found);
        assert!(plan(&idx, &after, Goal::Latest, CHECKS).expect("plan").is_empty(), "nothing re-applied");
        assert!(fixes(&idx, &after).expect("fixes").is_empty(), "a second run has nothing to fix");
        // Another text under the same name is another migration: not moved.
        let other = MigrationScript { version: 4, up: "CREATE TABLE z(x INT);".into(), ..s[1].clone() };
        let files = vec![s[0].clone(), other];
        assert!(fixes(&index(&files).expect("valid"), &state(vec![old, row(&s[1])])).expect("fixes").is_empty());
    }

    #[test]
    fn an_edited_unreleased_migration_reverts_with_its_recorded_down() {
        let s = scripts();
        let applied = row(&s[0]);
        let mut edited = s[0].clone();
        edited.up = "CREATE TABLE a(x INT, y INT);".into();
        edited.down = Some("DROP TABLE a; -- new".into());
        let files = vec![edited.clone()];
        let idx = index(&files).expect("valid");
        let st = state(vec![applied.clone()]);
        assert!(wants_recorded(&idx, &st).expect("ok"));
        let recorded = |checksum: &str, down: Option<&str>| RecordedDown {
            version: 1,
            checksum: checksum.to_owned(),
            down: down.map(str::to_owned),
        };
        let old = recorded(&applied.checksum, Some("DROP TABLE a; -- old"));
        let reverts = plan_down(&idx, &st, Goal::Redo(1), std::slice::from_ref(&old)).expect("plan");
        assert_eq!(reverts[0].down, "DROP TABLE a; -- old");
        // Recorded for another text (another apply), or without a down: refused, nothing guessed.
        let other = recorded("42", Some("DROP TABLE a;"));
        let refused = plan_down(&idx, &st, Goal::DownSteps(1), &[other]);
        assert!(matches!(refused, Err(Error::NoRecordedDown { recorded: false, .. })), "{refused:?}");
        let refused = plan_down(&idx, &st, Goal::DownSteps(1), &[recorded(&applied.checksum, None)]);
        assert!(matches!(refused, Err(Error::NoRecordedDown { recorded: true, .. })), "{refused:?}");
        // Released: today's refusal, whatever was recorded.
        let files = vec![edited.with_released(true)];
        let idx = index(&files).expect("valid");
        assert!(!wants_recorded(&idx, &st).expect("ok"));
        assert!(matches!(plan_down(&idx, &st, Goal::DownSteps(1), &[old]), Err(Error::Divergent(_))));
        // Unchanged: the file's down, recorded or not.
        let idx = index(&s[..1]).expect("valid");
        let reverts = plan_down(&idx, &st, Goal::Redo(5), &[]).expect("plan");
        assert_eq!(reverts[0].down, "DROP TABLE a;");
    }
}
