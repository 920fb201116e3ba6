//! `run` (upgrade) and `down` (downgrade): lock, plan, apply with one transaction per
//! migration, progress on stderr, a summary (or one JSON document) at the end.

use super::db::{self, DbArgs};
use crate::cli::{Format, GlobalArgs};
use crate::shell::Shell;
use crate::{CliResult, exit_code};
use dbmigrate_runtime::{Direction, Event, Goal, Report};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Apply pending migrations (upgrade).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate run
  cargo dbmigrate run --database-url postgres://app@db.internal/app --format json
  cargo dbmigrate run --target 20260101120000 --dry-run

Each migration and its history row are committed in one transaction (PostgreSQL, SQLite);
a file starting with `-- dbmigrate:no-transaction` runs outside one. Only one migrator
runs at a time: others wait for the lock, then find nothing to do.")]
pub struct RunArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    deploy: crate::backup::deploy::DeployArgs,
    /// Stop after this version
    #[arg(long, value_name = "VERSION", value_parser = db::parse_version)]
    target: Option<i64>,
    /// Print the SQL that would run, history writes included; change nothing
    #[arg(long)]
    dry_run: bool,
    /// Run every pending migration in one transaction (not on MySQL/MariaDB)
    #[arg(long)]
    single_transaction: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Revert applied migrations (downgrade), newest first.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate down
  cargo dbmigrate down --steps 3
  cargo dbmigrate down --to 20260101120000 --dry-run

Refuses before changing anything when a migration to revert has no down file, an empty
one (irreversible), or was edited since it was applied.")]
pub struct DownArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    deploy: crate::backup::deploy::DeployArgs,
    /// How many migrations to revert
    #[arg(long, value_name = "N", conflicts_with = "to")]
    steps: Option<usize>,
    /// Revert every migration newer than this version (0 reverts all)
    #[arg(long, value_name = "VERSION", value_parser = db::parse_version)]
    to: Option<i64>,
    /// Print the SQL that would run; change nothing
    #[arg(long)]
    dry_run: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Runs `run`: a dry run here; the real thing through `backup::deploy` (backup under the lock,
/// retries, verification, restore on failure).
pub fn run(args: &RunArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let goal = args.target.map_or(Goal::Latest, Goal::UpTo);
    if args.dry_run {
        let mut session = db::open(global, &args.db, shell, args.single_transaction)?;
        let sql = session.engine.dry_run(&db::scripts(&session.set), goal).map_err(db::engine_error)?;
        return print_dry_run(&sql, args.format);
    }
    let deploy = deploy(&args.db, &args.deploy, args.single_transaction, args.format, global, shell);
    crate::backup::deploy::execute(goal, &deploy)
}

/// Runs `down`, like [`run`].
pub fn down(args: &DownArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let goal = match args.to {
        Some(v) => Goal::DownTo(v),
        None => Goal::DownSteps(args.steps.unwrap_or(1)),
    };
    if args.dry_run {
        let mut session = db::open(global, &args.db, shell, false)?;
        let sql = session.engine.dry_run(&db::scripts(&session.set), goal).map_err(db::engine_error)?;
        return print_dry_run(&sql, args.format);
    }
    let deploy = deploy(&args.db, &args.deploy, false, args.format, global, shell);
    crate::backup::deploy::execute(goal, &deploy)
}

/// Backups, retries and verification live in `backup::deploy`; dry runs stay here.
fn deploy<'a>(
    db: &'a DbArgs,
    deploy: &'a crate::backup::deploy::DeployArgs,
    single_transaction: bool,
    format: Format,
    global: &'a GlobalArgs,
    shell: &'a Shell,
) -> crate::backup::deploy::Deploy<'a> {
    crate::backup::deploy::Deploy { db, deploy, single_transaction, format, global, shell }
}

fn print_dry_run(sql: &[String], format: Format) -> CliResult {
    match format {
        Format::Json => println!("{}", serde_json::json!({ "dry_run": true, "sql": sql })),
        Format::Human => sql.iter().for_each(|s| println!("{}", s.trim_end())),
    }
    Ok(exit_code::OK)
}

fn version_text(v: Option<i64>) -> String {
    dbmigrate_core::version::display(v)
}

pub(crate) fn summarize(report: &Report, format: Format, shell: &Shell) -> CliResult {
    if format == Format::Json {
        let migrations: Vec<_> = report
            .migrations
            .iter()
            .map(|m| serde_json::json!({ "version": m.version, "name": m.name, "duration_ms": m.duration.as_secs_f64() * 1000.0 }))
            .collect();
        let direction = if report.direction == Direction::Up { "up" } else { "down" };
        println!(
            "{}",
            serde_json::json!({ "direction": direction, "before": report.before, "after": report.after, "migrations": migrations })
        );
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

/// Per-migration status lines, or a progress bar when stderr is a terminal and there is more
/// than a moment of work.
pub(crate) struct Progress<'a> {
    shell: &'a Shell,
    verb: &'static str,
    bar: Option<ProgressBar>,
}

impl<'a> Progress<'a> {
    pub(crate) fn new(shell: &'a Shell, verb: &'static str) -> Self {
        Self { shell, verb, bar: None }
    }

    pub(crate) fn on(&mut self, event: &Event) {
        match event {
            Event::Started { version, name, index, total, .. } => {
                let wants_bar = *total > 5
                    && std::io::stderr().is_terminal()
                    && self.shell.verbosity() == crate::shell::Verbosity::Normal;
                if wants_bar && self.bar.is_none() {
                    let bar = ProgressBar::new(*total as u64);
                    if let Ok(style) =
                        ProgressStyle::with_template("{prefix:>12.green.bold} [{bar:30}] {pos}/{len} {wide_msg}")
                    {
                        bar.set_style(style.progress_chars("=> "));
                    }
                    bar.set_prefix(self.verb);
                    self.bar = Some(bar);
                }
                match &self.bar {
                    Some(bar) => {
                        bar.set_position(*index as u64);
                        bar.set_message(db::label(*version, name));
                    }
                    None => self.shell.status(self.verb, db::label(*version, name)),
                }
            }
            Event::Finished { version, name, duration, .. } => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
                self.shell.verbose("Done", format!("{} in {:.3}s", db::label(*version, name), duration.as_secs_f64()));
            }
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
