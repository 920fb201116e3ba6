//! Checks a version typed on the command line against the versions that exist, so a typo is
//! refused (exit 2, naming the nearest versions) instead of widening what a command does.

use super::session::{self, DbChoice};
use crate::CliError;
use crate::workspace::Target;
use dbmigrate_runtime::Engine;

/// A version that exists: its number and, when known, its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub version: i64,
    pub name: String,
}

/// Whether `0` ("before the first migration") is accepted: for a target (`run --to`,
/// `down --to`), not for a migration (`show`, `stamp`, `repair`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zero {
    Target,
    NotAllowed,
}

/// Whether a version only in the database's history counts: for `show`, `repair` and the
/// targets of `run`/`down` (a deleted file's migration is still real), not for `stamp`, which
/// records files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    Counts,
    FilesOnly,
}

/// Refuses a `version` that names no migration: the files are read first, so a known version
/// costs no connection; only an unknown one connects to look in the history.
pub fn require_known(
    target: &Target,
    db: &DbChoice,
    version: i64,
    zero: Zero,
    history: History,
) -> Result<(), CliError> {
    let mut known = in_files(target);
    if exists(version, &known, zero) {
        return Ok(());
    }
    if history == History::Counts {
        let url = session::database_url(target, db)?;
        let mut engine = Engine::connect(&url, session::engine_options(target, db, false))?;
        known.extend(in_history(&mut engine)?);
    }
    require(version, &known, zero)
}

/// The versions of the migration files, read and parsed without judging them (the command's
/// own validation reports findings); an unreadable folder knows no versions.
pub fn in_files(target: &Target) -> Vec<Known> {
    let checked = dbmigrate_build::internal::check(target.dir().as_std_path(), &target.config);
    checked.set.migrations.iter().map(|m| Known { version: m.version, name: m.name.clone() }).collect()
}

/// The versions recorded in the database's history.
pub fn in_history(engine: &mut Engine) -> Result<Vec<Known>, CliError> {
    Ok(engine.history()?.into_iter().map(|r| Known { version: r.version, name: r.name }).collect())
}

/// Whether `version` is one of `known` (or an accepted `0`).
pub fn exists(version: i64, known: &[Known], zero: Zero) -> bool {
    (version == 0 && zero == Zero::Target) || known.iter().any(|k| k.version == version)
}

/// `Ok` when `version` exists, else the usage error naming the nearest versions and, for a
/// near-miss by one digit, the version probably meant.
pub fn require(version: i64, known: &[Known], zero: Zero) -> Result<(), CliError> {
    if exists(version, known, zero) {
        return Ok(());
    }
    let mut error = CliError::usage(format!(
        "no migration has version {version} (in the migration files or the database's history); nothing was changed"
    ));
    if let Some(meant) = near_miss(version, known) {
        error = error.hint(format!("did you mean {meant}?"));
    }
    Err(error.hint(neighbours(version, known, zero)).hint("`cargo dbmigrate status` lists every version"))
}

/// The versions either side of `version`, as a hint.
fn neighbours(version: i64, known: &[Known], zero: Zero) -> String {
    let mut sorted: Vec<&Known> = known.iter().collect();
    sorted.sort_by_key(|k| k.version);
    sorted.dedup_by_key(|k| k.version);
    let below = sorted.iter().rev().find(|k| k.version < version);
    let above = sorted.iter().find(|k| k.version > version);
    let show = |k: &&&Known| format!("{} ({})", k.version, k.name);
    let mut parts: Vec<String> = below.iter().chain(above.iter()).map(show).collect();
    if zero == Zero::Target && below.is_none() {
        parts.insert(0, "0 (before the first)".to_owned());
    }
    match parts.is_empty() {
        true => "the nearest versions: none, there are no migrations".to_owned(),
        false => format!("the nearest versions: {}", parts.join(", ")),
    }
}

/// The one version whose digits are one edit (a digit missing, extra, changed, or two swapped)
/// away from `version`'s, when exactly one is.
fn near_miss(version: i64, known: &[Known]) -> Option<i64> {
    let typed = version.to_string();
    let mut close: Vec<i64> = known.iter().map(|k| k.version).filter(|v| one_edit(&typed, &v.to_string())).collect();
    close.dedup();
    match close.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// Whether `a` becomes `b` by one insertion, deletion, substitution or adjacent swap.
fn one_edit(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    match (ra.len(), rb.len()) {
        (0, 0) => false,
        (x, y) if x == y + 1 => ra[1..] == *rb,
        (x, y) if y == x + 1 => rb[1..] == *ra,
        (x, y) if x == y => ra[1..] == rb[1..] || (x >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(versions: &[i64]) -> Vec<Known> {
        versions.iter().map(|&v| Known { version: v, name: format!("m{v}") }).collect()
    }

    #[test]
    fn one_digit_edits_are_near_misses() {
        assert!(one_edit("2026120113151", "20261201131510"), "a digit missing");
        assert!(one_edit("202612011315100", "20261201131510"), "a digit extra");
        assert!(one_edit("20261201131519", "20261201131510"), "a digit changed");
        assert!(one_edit("20261201131501", "20261201131510"), "two swapped");
        assert!(!one_edit("20261201131510", "20261201131510"), "equal is no edit");
        assert!(!one_edit("123", "20261201131510"));
    }

    #[test]
    fn refusal_names_the_neighbours_and_the_likely_version() {
        let set = known(&[20261201131500, 20261201131510, 20261201131520]);
        assert!(require(20261201131510, &set, Zero::NotAllowed).is_ok());
        assert!(require(0, &set, Zero::Target).is_ok());
        let e = require(0, &set, Zero::NotAllowed).expect_err("refused");
        assert_eq!(e.code, crate::exit_code::USAGE);
        let e = require(2026120113151, &set, Zero::Target).expect_err("refused");
        assert_eq!(e.hints[0], "did you mean 20261201131510?");
        assert_eq!(e.hints[1], "the nearest versions: 0 (before the first), 20261201131500 (m20261201131500)");
        let e = require(20261201131515, &set, Zero::Target).expect_err("refused");
        assert_eq!(e.hints[0], "did you mean 20261201131510?", "one digit changed");
        assert_eq!(
            e.hints[1],
            "the nearest versions: 20261201131510 (m20261201131510), 20261201131520 (m20261201131520)"
        );
        let e = require(5, &[], Zero::NotAllowed).expect_err("refused");
        assert_eq!(e.hints[0], "the nearest versions: none, there are no migrations");
    }
}
