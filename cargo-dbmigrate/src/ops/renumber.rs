//! Giving an unreleased migration a fresh version: both of its files renamed (with `git mv` in a
//! git work tree, so history shows a rename), or neither, and the old version rewritten where the
//! files' header comments name it.

use super::new::{next_version, timestamp};
use crate::CliError;
use crate::workspace::Target;
use dbmigrate_build::internal::{RELEASE_LOG_FILE, ReleaseLog};
use dbmigrate_core::{FileKind, MigrationFileName};
use std::path::{Path, PathBuf};

/// Renames `file`'s migration to a version newer than every other; returns (from, to) per file.
pub fn renumber(target: &Target, file: &Path) -> Result<Vec<(PathBuf, PathBuf)>, CliError> {
    let dir = target.migrations_dir().into_std_path_buf();
    let parsed = parse_file(file, &dir)?;
    let log = read_release_log(&dir, &target.config.migrations)?;
    refuse_released(&log, &parsed, file)?;
    let newest = newest_version(&dir)?.max(log.newest());
    let (version, _) = next_version(timestamp(time::OffsetDateTime::now_utc()), newest)?;
    let moves = plan(&dir, &parsed, version)?;
    let git = in_git_work_tree(&dir);
    rename_all(&moves, git)?;
    let (old, new) =
        (dbmigrate_core::label(parsed.version, &parsed.name), dbmigrate_core::label(version, &parsed.name));
    for (_, to) in &moves {
        rewrite_header(to, &old, &new)?;
    }
    Ok(moves)
}

/// Whether `dir` is inside a git work tree (and git is there to ask).
fn in_git_work_tree(dir: &Path) -> bool {
    std::process::Command::new("git")
        .args(["rev-parse", "--is-inside-work-tree"])
        .current_dir(dir)
        .stderr(std::process::Stdio::null())
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.starts_with(b"true"))
}

/// Renames one file: `git mv` when asked and it can (the file is tracked), else a plain rename.
fn rename(from: &Path, to: &Path, git: bool) -> std::io::Result<()> {
    if git {
        let moved = std::process::Command::new("git")
            .arg("mv")
            .arg("--")
            .arg(from)
            .arg(to)
            .current_dir(from.parent().unwrap_or(Path::new(".")))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if moved {
            return Ok(());
        }
    }
    std::fs::rename(from, to)
}

/// Replaces `old` with `new` in the file's leading comment lines (the header `new` writes names
/// the up file in the down file's); the SQL below them is left alone.
fn rewrite_header(path: &Path, old: &str, new: &str) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::failure(format!("cannot rewrite the header of `{}`: {e}", path.display()));
    let text = std::fs::read_to_string(path).map_err(fail)?;
    let mut out = String::with_capacity(text.len());
    let mut in_header = true;
    for line in text.split_inclusive('\n') {
        in_header &= line.trim_start().starts_with("--") || line.trim().is_empty();
        match in_header {
            true => out.push_str(&line.replace(old, new)),
            false => out.push_str(line),
        }
    }
    if out != text {
        std::fs::write(path, out).map_err(fail)?;
    }
    Ok(())
}

/// The migration named by `file`, which must be in the migrations folder.
fn parse_file(file: &Path, dir: &Path) -> Result<MigrationFileName, CliError> {
    let Some(name) = file.file_name().and_then(|n| n.to_str()) else {
        return Err(CliError::usage(format!("`{}` is not a migration file", file.display())));
    };
    let in_dir = dir.join(name);
    let same_dir = match (file.parent().filter(|p| !p.as_os_str().is_empty()), dir.canonicalize()) {
        (None, _) => true,
        (Some(parent), Ok(real)) => parent.canonicalize().is_ok_and(|p| p == real),
        (Some(_), Err(_)) => false,
    };
    if !same_dir || !in_dir.is_file() {
        return Err(CliError::usage(format!(
            "`{}` is not a file in the migrations folder `{}`",
            file.display(),
            dir.display()
        )));
    }
    match MigrationFileName::parse(name) {
        Ok(Some(parsed)) => Ok(parsed),
        Ok(None) => Err(CliError::usage(format!("`{name}` is not an SQL migration"))),
        Err(e) => {
            Err(CliError::usage(format!("`{name}` is not a valid migration name: {e}")).hint(e.suggestion.map_or_else(
                || "rename it to `V<version>__<name>.sql`".to_owned(),
                |s| format!("rename it to `{s}` first"),
            )))
        }
    }
}

fn read_release_log(dir: &Path, display_dir: &str) -> Result<ReleaseLog, CliError> {
    let (log, findings) = ReleaseLog::read(&dir.join(RELEASE_LOG_FILE), &format!("{display_dir}/{RELEASE_LOG_FILE}"));
    match findings.first() {
        None => Ok(log),
        Some(f) => Err(CliError::failure(format!("cannot tell which migrations are released: {f}"))
            .hint("fix the lock first (`cargo dbmigrate check` shows how)")),
    }
}

fn refuse_released(log: &ReleaseLog, parsed: &MigrationFileName, file: &Path) -> Result<(), CliError> {
    match log.expected(parsed.version) {
        Some(released) if released.name == parsed.name => Err(CliError::problems(format!(
            "`{}` is released (in {RELEASE_LOG_FILE}); databases that applied it know it by version {}",
            file.display(),
            parsed.version
        ))
        .hint("leave it as it is; to change the schema, add a new migration with `cargo dbmigrate new <message>`")),
        _ => Ok(()),
    }
}

/// The newest version among the folder's file names, valid or duplicated alike.
fn newest_version(dir: &Path) -> Result<Option<i64>, CliError> {
    dbmigrate_core::version::newest_in(dir)
        .map_err(|e| CliError::failure(format!("cannot read `{}`: {e}", dir.display())))
}

/// (from, to) for the up and down files that exist.
fn plan(dir: &Path, parsed: &MigrationFileName, version: i64) -> Result<Vec<(PathBuf, PathBuf)>, CliError> {
    let mut moves = Vec::new();
    for kind in [FileKind::Up, FileKind::Down] {
        let from = dir.join(dbmigrate_core::file_name::file_name(parsed.version, &parsed.name, kind));
        let to = dir.join(dbmigrate_core::file_name::file_name(version, &parsed.name, kind));
        if to.exists() {
            return Err(CliError::failure(format!("`{}` already exists", to.display())));
        }
        if from.is_file() {
            moves.push((from, to));
        }
    }
    Ok(moves)
}

/// Renames every pair, undoing the ones done when one fails: a migration is both files or neither.
fn rename_all(moves: &[(PathBuf, PathBuf)], git: bool) -> Result<(), CliError> {
    for (i, (from, to)) in moves.iter().enumerate() {
        if let Err(e) = rename(from, to, git) {
            for (back_from, back_to) in moves[..i].iter().rev() {
                let _ = rename(back_to, back_from, git);
            }
            return Err(CliError::failure(format!("cannot rename `{}`: {e}", from.display())));
        }
    }
    Ok(())
}
