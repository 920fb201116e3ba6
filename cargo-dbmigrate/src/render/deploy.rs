//! The outcome of `run` and `down` for people (a status line; on failure the error with the
//! way back) and for scripts (one JSON document).

use crate::backup::Backup;
use crate::ops::deploy::{DeployFailed, Deployed, Failure};
use crate::render::Format;
use crate::shell::Shell;
use crate::{CliError, CliResult, exit_code};
use dbmigrate_core::version::display as version_text;
use dbmigrate_runtime::{Direction, Report};
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
pub fn deployed(done: &Deployed, format: Format, shell: &Shell) -> CliResult {
    let report = &done.report;
    if format == Format::Json {
        crate::shell::outln!("{}", summary_json(report, done.backup.as_ref()));
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

fn summary_json(report: &Report, backup: Option<&Backup>) -> serde_json::Value {
    let migrations: Vec<_> = report
        .migrations
        .iter()
        .map(|m| serde_json::json!({ "version": m.version, "name": m.name, "duration_ms": m.duration.as_secs_f64() * 1000.0 }))
        .collect();
    let direction = if report.direction == Direction::Up { "up" } else { "down" };
    serde_json::json!({
        "direction": direction,
        "before": report.before,
        "after": report.after,
        "migrations": migrations,
        "verified": true,
        "backup": backup.map(|b| b.path.as_str()),
    })
}

/// A failed deploy: the error to return, with the way back as hints; a failed automatic
/// restore is printed first, and the JSON document when asked for.
pub fn failed(failed: DeployFailed, format: Format, how: Invocation<'_>, shell: &Shell) -> CliError {
    match failed {
        DeployFailed::Refused(error) => error,
        DeployFailed::Verification(f) => verification_failed(*f, shell),
        DeployFailed::Migration(f) => migration_failed(*f, format, how, shell),
    }
}

fn verification_failed(f: Failure, shell: &Shell) -> CliError {
    let mut error = f.error;
    match (&f.restore, &f.backup) {
        (Some(Ok(())), Some(b)) => error.hints.insert(0, format!("the database was restored from {}", b.id)),
        (Some(Err(r)), _) => shell.print_error(r),
        _ => {}
    }
    error
}

fn migration_failed(f: Failure, format: Format, how: Invocation<'_>, shell: &Shell) -> CliError {
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
    if format == Format::Json {
        let json = serde_json::json!({
            "ok": false,
            "error": error.message,
            "applied": f.applied.iter().map(|a| serde_json::json!({"version": a.version, "name": a.name})).collect::<Vec<_>>(),
            "backup": f.backup.as_ref().map(|b| b.path.as_str()),
            "restored": matches!(f.restore, Some(Ok(()))),
        });
        crate::shell::outln!("{json}");
        error.reported = true;
    }
    error
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
