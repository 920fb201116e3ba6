//! Creating a migration: its name from the user's message, a version that only grows, and
//! the up and down files, both or neither.

use crate::workspace::Target;
use crate::{CliError, fsutil};
use dbmigrate_core::file_name::{down_file, snake_ascii, up_file};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// The longest migration name accepted, in characters.
pub const MAX_NAME_LEN: usize = 100;

/// How the new migration's version was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The UTC time now.
    Now,
    /// One second after the newest migration, which is not older than now (two `new` in one
    /// second, clock skew).
    AfterNewest(i64),
    /// The newest migration's number plus one: the folder is numbered `V1`, `V2`, ….
    Sequence(i64),
}

/// What `new` wrote.
#[derive(Debug)]
pub struct Created {
    pub files: Vec<PathBuf>,
    pub version: i64,
    pub rule: Rule,
}

/// The migrations folder of `target`, the time now, and the version a new migration gets.
fn next_in(target: &Target) -> Result<(PathBuf, OffsetDateTime, i64, Rule), CliError> {
    let dir = target.migrations_dir().into_std_path_buf();
    let newest = dbmigrate_core::version::newest_in(&dir).map_err(|e| {
        CliError::failure(format!("cannot read the migrations folder `{}`: {e}", dir.display()))
            .hint("create it with `cargo dbmigrate init`")
    })?;
    let now = OffsetDateTime::now_utc();
    let (version, rule) = next_version(timestamp(now), newest)?;
    Ok((dir, now, version, rule))
}

/// Writes the migration `name` (from [`migration_name`] of `message`) into `target`'s folder.
pub fn create(target: &Target, name: &str, message: &str, with_down: bool) -> Result<Created, CliError> {
    let (dir, now, version, rule) = next_in(target)?;
    let files = write_files(&dir, version, name, message, now, with_down)?;
    Ok(Created { files, version, rule })
}

/// Writes the migration `name` with the given up and down SQL (from `diff`), versioned as
/// [`create`] versions, both files or neither.
pub fn create_with_sql(target: &Target, name: &str, message: &str, up: &str, down: &str) -> Result<Created, CliError> {
    let (dir, now, version, rule) = next_in(target)?;
    let one_line = message.replace(['\n', '\r'], " ");
    let created_at = now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let header =
        format!("-- {one_line}\n-- Generated {created_at} by cargo dbmigrate diff: review it before applying.\n\n");
    let up_path = inside(&dir, &up_file(version, name))?;
    fsutil::create_new(&up_path, &headed(&header, up))?;
    let down_path = inside(&dir, &down_file(version, name))?;
    if let Err(e) = fsutil::create_new(&down_path, &headed(&format!("-- Revert: {one_line}\n\n"), down)) {
        // Nothing half-written: a migration is both files or neither.
        let _ = std::fs::remove_file(&up_path);
        return Err(e);
    }
    Ok(Created { files: vec![up_path, down_path], version, rule })
}

/// `header` before `sql`, but after a `-- dbmigrate:no-transaction` line: that must stay first.
fn headed(header: &str, sql: &str) -> String {
    match sql.split_once('\n') {
        Some((first, rest)) if dbmigrate_core::sql::wants_no_transaction(sql) => format!("{first}\n{header}{rest}"),
        _ => format!("{header}{sql}"),
    }
}

/// Turns the user's message into `[a-z0-9_]+`, or says what is wrong with it.
pub fn migration_name(message: &str) -> Result<String, CliError> {
    let bad = |why: &str| {
        CliError::usage(format!("invalid migration message `{}`: {why}", message.escape_debug()))
            .hint("describe the change in a few words, e.g. `cargo dbmigrate new add users table`")
    };
    if message.contains(['/', '\\', '\0']) || message.contains("..") {
        return Err(bad("it must not contain `/`, `\\`, `..` or NUL"));
    }
    let ascii = deunicode::deunicode(message);
    let name = heck::ToSnakeCase::to_snake_case(ascii.as_str());
    let name = snake_ascii(&name);
    if name.is_empty() {
        return Err(bad("it has no letters or digits to name the file with"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(bad(&format!("the name would be {} characters long; the limit is {MAX_NAME_LEN}", name.len())));
    }
    Ok(name)
}

/// `YYYYMMDDHHMMSS` of a UTC time, as a number.
pub fn timestamp(t: OffsetDateTime) -> i64 {
    let (y, m, d) = (i64::from(t.year()), i64::from(u8::from(t.month())), i64::from(t.day()));
    let (hh, mm, ss) = (i64::from(t.hour()), i64::from(t.minute()), i64::from(t.second()));
    ((((y * 100 + m) * 100 + d) * 100 + hh) * 100 + mm) * 100 + ss
}

/// The time of a `YYYYMMDDHHMMSS` version, if it is one.
fn time_of(version: i64) -> Option<time::PrimitiveDateTime> {
    let digits = version.to_string();
    if digits.len() != 14 {
        return None;
    }
    let format = time::macros::format_description!("[year][month][day][hour][minute][second]");
    time::PrimitiveDateTime::parse(&digits, &format).ok()
}

/// The version after `newest` (`now`, a `YYYYMMDDHHMMSS` UTC time, when there is none), so
/// versions only ever grow and a timestamp stays a valid time:
/// - a timestamp older than now: now;
/// - a timestamp at or past now (two `new` in one second, clock skew): one second after it,
///   `20261201235959` giving `20261202000000`;
/// - a plain number (`V5`: the folder counts `V1`, `V2`, …): the next number, as sqlx-cli does.
pub fn next_version(now: i64, newest: Option<i64>) -> Result<(i64, Rule), CliError> {
    let Some(newest) = newest else { return Ok((now, Rule::Now)) };
    let last = |what: &str| {
        CliError::failure(format!("the newest migration has version {newest}, the last {what} there is"))
            .hint("no version can follow it: give that migration a smaller one (`cargo dbmigrate renumber <file>` if it is unreleased)")
    };
    match time_of(newest) {
        Some(_) if newest < now => Ok((now, Rule::Now)),
        Some(t) => {
            let next = t.checked_add(time::Duration::SECOND).ok_or_else(|| last("time"))?;
            let next = timestamp(next.assume_utc());
            // Past year 9999 the digits no longer read as a time.
            time_of(next).map(|_| (next, Rule::AfterNewest(newest))).ok_or_else(|| last("time"))
        }
        None => newest.checked_add(1).map(|next| (next, Rule::Sequence(newest))).ok_or_else(|| last("version")),
    }
}

fn write_files(
    dir: &Path,
    version: i64,
    name: &str,
    message: &str,
    now: OffsetDateTime,
    with_down: bool,
) -> Result<Vec<PathBuf>, CliError> {
    let one_line = message.replace(['\n', '\r'], " ");
    let created_at = now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let up_name = up_file(version, name);
    let up = inside(dir, &up_name)?;
    let signature = dbmigrate_core::sql::NEW_TEMPLATE_SIGNATURE;
    fsutil::create_new(&up, &format!("-- {one_line}\n-- Created {created_at} {signature}\n\n"))?;
    if !with_down {
        return Ok(vec![up]);
    }
    let down = inside(dir, &down_file(version, name))?;
    let text = format!(
        "-- Revert: {one_line}\n-- This must undo everything {up_name} does, in reverse order.\n\
         -- Left without statements, the migration counts as irreversible and `down` refuses it.\n\n"
    );
    if let Err(e) = fsutil::create_new(&down, &text) {
        // Nothing half-written: a migration is both files or neither.
        let _ = std::fs::remove_file(&up);
        return Err(e);
    }
    Ok(vec![up, down])
}

/// `dir/file`, checked to lie inside `dir` (the migrations folder may be a symlink).
fn inside(dir: &Path, file: &str) -> Result<PathBuf, CliError> {
    let path = dir.join(file);
    let real_dir =
        dir.canonicalize().map_err(|e| CliError::failure(format!("cannot resolve `{}`: {e}", dir.display())))?;
    match path.parent().map(Path::canonicalize) {
        Some(Ok(parent)) if parent == real_dir => Ok(path),
        _ => Err(CliError::failure(format!("refusing to write `{}` outside `{}`", path.display(), dir.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_snake_case_ascii() {
        assert_eq!(migration_name("Create Users table").ok().as_deref(), Some("create_users_table"));
        assert_eq!(migration_name("addEmailIndex").ok().as_deref(), Some("add_email_index"));
        assert_eq!(migration_name("café crème-brûlée").ok().as_deref(), Some("cafe_creme_brulee"));
        assert_eq!(migration_name("v2 API keys!").ok().as_deref(), Some("v2_api_keys"));
    }

    #[test]
    fn bad_messages_are_usage_errors() {
        for bad in ["", "  ", "!!!", "a/b", "a\\b", "..", "a\0b", &"x".repeat(101)] {
            let e = migration_name(bad).expect_err(bad);
            assert_eq!(e.code, crate::exit_code::USAGE, "{bad}");
        }
        assert!(migration_name(&"x".repeat(100)).is_ok());
    }

    #[test]
    fn versions_only_grow() {
        let next = |newest| next_version(20260101000000, newest).ok().map(|(v, _)| v);
        assert_eq!(next(None), Some(20260101000000));
        assert_eq!(next(Some(20251231000000)), Some(20260101000000));
        assert_eq!(next(Some(20260101000000)), Some(20260101000001));
        assert_eq!(next(Some(20270101000000)), Some(20270101000001));
        assert_eq!(next(Some(i64::MAX)), None, "never a duplicate of the largest version");
    }

    #[test]
    fn a_timestamp_stays_a_valid_time() {
        let next = |newest| next_version(20260101000000, Some(newest)).ok();
        assert_eq!(next(20261201235959), Some((20261202000000, Rule::AfterNewest(20261201235959))));
        assert_eq!(next(20261231235959), Some((20270101000000, Rule::AfterNewest(20261231235959))));
        assert_eq!(next(20280228235959), Some((20280229000000, Rule::AfterNewest(20280228235959))));
        assert_eq!(next(99991231235959), None, "no time follows the last second of year 9999");
    }

    #[test]
    fn a_numbered_folder_gets_the_next_number() {
        let next = |newest| next_version(20260101000000, Some(newest)).ok();
        assert_eq!(next(5), Some((6, Rule::Sequence(5))));
        // Not a valid time (second 60): counted as a number, as it was written.
        assert_eq!(next(20261201235960), Some((20261201235961, Rule::Sequence(20261201235960))));
    }

    #[test]
    fn timestamp_is_utc_digits() {
        let t = time::macros::datetime!(2026-11-25 14:30:05 UTC);
        assert_eq!(timestamp(t), 20261125143005);
    }
}
