//! The outcome of `run` and `down` for people (a status line; on failure the error with the
//! way back) and for scripts (one JSON document).

use crate::backup::Backup;
use crate::ops::deploy::{DeployFailed, Deployed, Failure};
use crate::render::Format;
use crate::shell::Shell;
use crate::{CliError, CliResult, exit_code};
use dbmigrate_core::version::display as version_text;
use dbmigrate_runtime::{Applied, Direction};
use std::path::Path;
use std::time::Duration;

/// How the command was invoked, to print the command that restores a backup.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    pub manifest_path: Option<&'a Path>,
    pub package: Option<&'a str>,
    /// Whether `--database-url` was given (else the URL comes from the environment again).
    pub url_given: bool,
}

/// A finished deploy: a summary line, or the JSON document.
pub fn deployed(done: &Deployed, command: &str, format: Format, shell: &Shell) -> CliResult {
    let report = &done.report;
    if format == Format::Json {
        super::json::print(command, data(done));
        return Ok(exit_code::OK);
    }
    let total: Duration = report.migrations.iter().map(|m| m.duration).sum();
    match report.migrations.len() {
        0 => shell.status("Fresh", format!("nothing to do; at version {}", version_text(report.after))),
        n => shell.status(
            "Finished",
            format!(
                "{n} migration(s) in {:.2}s; version {} -> {}",
                total.as_secs_f64(),
                version_text(report.before),
                version_text(report.after)
            ),
        ),
    }
    Ok(exit_code::OK)
}

/// The data of a finished deploy, for its JSON document (and `database reset`'s).
pub fn data(done: &Deployed) -> serde_json::Value {
    let report = &done.report;
    Outcome {
        direction: report.direction,
        before: report.before,
        after: report.after,
        migrations: &report.migrations,
        backup: done.backup.as_ref(),
        ..Outcome::new(report.direction)
    }
    .json()
}

/// The keys of every `run` and `down` document, whether it succeeded, failed or was a dry run.
pub struct Outcome<'a> {
    pub direction: Direction,
    pub dry_run: bool,
    /// Highest applied version before and after; `None` when not known (dry run, failure).
    pub before: Option<i64>,
    pub after: Option<i64>,
    /// Applied (or reverted), including those done before a failure.
    pub migrations: &'a [Applied],
    /// The statements a dry run would execute.
    pub sql: Option<&'a [String]>,
    pub backup: Option<&'a Backup>,
    pub restored: bool,
}

impl<'a> Outcome<'a> {
    /// Nothing done yet.
    pub fn new(direction: Direction) -> Self {
        Self {
            direction,
            dry_run: false,
            before: None,
            after: None,
            migrations: &[],
            sql: None,
            backup: None,
            restored: false,
        }
    }

    pub fn json(&self) -> serde_json::Value {
        let migrations: Vec<_> = self
            .migrations
            .iter()
            .map(|m| {
                let direction = if m.direction == Direction::Up { "up" } else { "down" };
                serde_json::json!({ "version": m.version, "name": m.name, "direction": direction, "duration_ms": super::json::millis(m.duration) })
            })
            .collect();
        serde_json::json!({
            "direction": if self.direction == Direction::Up { "up" } else { "down" },
            "dry_run": self.dry_run,
            "before": self.before,
            "after": self.after,
            "migrations": migrations,
            "sql": self.sql,
            "backup": self.backup.map(|b| b.path.as_str()),
            "restored": self.restored,
        })
    }
}

/// A failed deploy: the error to return, with the way back as hints; a failed automatic
/// restore is printed first, and the JSON document when asked for.
pub fn failed(failed: DeployFailed, direction: Direction, how: Invocation<'_>, shell: &Shell) -> CliError {
    let mut error = match failed {
        DeployFailed::Refused(error) => error,
        DeployFailed::Verification(f) => verification_failed(*f, direction, shell),
        DeployFailed::Migration(f) => migration_failed(*f, direction, how, shell),
    };
    if error.data.is_none() {
        error.data = Some(Outcome::new(direction).json());
    }
    error
}

fn verification_failed(f: Failure, direction: Direction, shell: &Shell) -> CliError {
    let data = failure_data(&f, direction);
    let mut error = f.error;
    error.data = Some(data);
    match (&f.restore, &f.backup) {
        (Some(Ok(())), Some(b)) => error.hints.insert(0, format!("the database was restored from {}", b.id)),
        (Some(Err(r)), _) => shell.print_error(r),
        _ => {}
    }
    error
}

fn migration_failed(f: Failure, direction: Direction, how: Invocation<'_>, shell: &Shell) -> CliError {
    let data = failure_data(&f, direction);
    let mut error = f.error;
    if let Some(backup) = &f.backup {
        let restore = restore_command(how, &f.url.to_string(), backup);
        match &f.restore {
            Some(Ok(())) => {
                error.message.push_str(&format!("; the database was restored from {}", backup.id));
                error
                    .hints
                    .insert(0, "the database is back where it started; fix the migration and deploy again".into());
            }
            Some(Err(r)) => {
                shell.print_error(r);
                error.hints.insert(0, format!("the automatic restore failed; to retry it: {restore}"));
            }
            None => error.hints.insert(0, format!("to put the database back as it was before this run: {restore}")),
        }
    }
    error.data = Some(data);
    error
}

/// What a failed deploy did, for its JSON document.
fn failure_data(f: &Failure, direction: Direction) -> serde_json::Value {
    Outcome {
        migrations: &f.applied,
        backup: f.backup.as_ref(),
        restored: matches!(f.restore, Some(Ok(()))),
        ..Outcome::new(direction)
    }
    .json()
}

/// The command that restores `backup`, as the user would type it (never with a password: the
/// URL is the redacted form, a password shows as ***, to be filled in by the user).
pub fn restore_command(how: Invocation<'_>, url: &str, backup: &Backup) -> String {
    let mut cmd = format!("cargo dbmigrate restore {} --yes", backup.id);
    if let Some(path) = how.manifest_path {
        cmd.push_str(&format!(" --manifest-path {}", path.display()));
    }
    if let Some(p) = how.package {
        cmd.push_str(&format!(" -p {p}"));
    }
    if how.url_given {
        cmd.push_str(&format!(" --database-url '{url}'"));
    }
    cmd
}
