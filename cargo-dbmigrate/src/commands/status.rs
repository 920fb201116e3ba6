//! `status`: every migration with its state in the database (applied, pending, divergent,
//! missing, dirty).

use super::args::DbArgs;
use crate::cli::GlobalArgs;
use crate::ops::session;
use crate::render;
use crate::render::Format;
use crate::shell::Shell;
use crate::{CliResult, exit_code};
use dbmigrate_runtime::{MigrationState, MigrationStatus};
use serde_json::json;

/// Show every migration with its state: applied, pending, divergent, missing, dirty.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate status
  cargo dbmigrate status --exit-code     # in CI: exit 1 when anything is pending or wrong
  cargo dbmigrate status --format json")]
pub struct StatusArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Exit with 1 when a migration is pending, divergent, missing or dirty, or a file fails the check
    #[arg(long)]
    exit_code: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

impl StatusArgs {
    /// The output format asked for.
    pub fn format(&self) -> Format {
        self.format
    }
}

fn status_json(s: &MigrationStatus) -> serde_json::Value {
    let mut row = json!({
        "version": s.version, "name": s.name, "state": render::state_name(s.state),
        "applied_on": s.applied_on, "down": render::down_name(s.reversibility),
    });
    if let Some(n) = s.statements_done {
        row["statements_done"] = json!(n);
    }
    if let Some(v) = s.previous_version {
        row["previous_version"] = json!(v);
    }
    if let Some(reason) = &s.rehash {
        row["rehash_reason"] = json!(reason);
    }
    row
}

/// Runs `status`.
pub fn run(args: &StatusArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let mut session = args.db.open_to_inspect(global, shell)?;
    let scripts = session::scripts(&session.set);
    let rows = session.engine.status(&scripts)?;
    let problems = rows.iter().filter(|r| r.state != MigrationState::Applied).count();
    if args.format == Format::Human {
        print_status(&rows);
    }
    for (r, n) in rows.iter().filter_map(|r| r.statements_done.map(|n| (r, n))) {
        shell.note(format!(
            "{} is dirty: it stopped after {n} statement(s); fix the schema by hand, then \
             `cargo dbmigrate repair {} --as applied` (or `--as pending`)",
            dbmigrate_core::label(r.version, &r.name),
            r.version
        ));
    }
    for r in &rows {
        let label = dbmigrate_core::label(r.version, &r.name);
        if let Some(from) = r.previous_version {
            shell.note(format!(
                "{label} is recorded in the history as {} (same name and text, renumbered since); \
                 `cargo dbmigrate run` moves the row to the new version",
                dbmigrate_core::label(from, &r.name)
            ));
        }
        if let Some(reason) = &r.rehash {
            shell.note(format!(
                "{label} was applied before `release --rehash` ({reason}); `cargo dbmigrate run` updates its \
                 history row to the file's checksum"
            ));
        }
    }
    fixes(&rows).into_iter().for_each(|note| shell.note(note));
    if session.file_errors > 0 {
        // A file that fails the check is left out, so its migration reads as pending or missing.
        shell.note(format!(
            "{} file error(s) above: a migration whose file fails the check shows as missing or not at all",
            session.file_errors
        ));
    }
    let failing = problems + session.file_errors;
    let code = if args.exit_code && failing > 0 { exit_code::PROBLEMS } else { exit_code::OK };
    if args.format == Format::Json {
        print_json(&rows, problems, code);
    }
    Ok(code)
}

/// The document: every row, and with `--exit-code` and problems, `ok: false` and the reason.
fn print_json(rows: &[MigrationStatus], problems: usize, code: i32) {
    let data = json!({ "migrations": rows.iter().map(status_json).collect::<Vec<_>>(), "problems": problems });
    if code == exit_code::OK {
        return render::json::print("status", data);
    }
    let mut error = crate::CliError::problems(format!("{problems} migration(s) not applied as written"));
    error.hints = fixes(rows);
    error.data = Some(data);
    crate::shell::outln!("{}", render::json::failure("status", &error));
}

/// One note per kind of problem, naming what really moves it forward: `run` only applies
/// pending migrations (and updates rehashed or renumbered rows); the others need a person.
fn fixes(rows: &[MigrationStatus]) -> Vec<String> {
    use MigrationState as S;
    let of = |states: &[S]| rows.iter().filter(|r| states.contains(&r.state)).map(|r| r.version).collect::<Vec<_>>();
    let mut notes = Vec::new();
    let pending = of(&[S::Pending]);
    if !pending.is_empty() {
        let it = if pending.len() == 1 { "it" } else { "them" };
        notes.push(format!("{} pending: `cargo dbmigrate run` applies {it}", pending.len()));
    }
    let differ = of(&[S::Divergent, S::Renamed, S::NoChecksum, S::Duplicate]);
    if !differ.is_empty() {
        notes.push(format!(
            "{} divergent or renamed ({}): `cargo dbmigrate run` refuses while the history differs from the files; \
             revert the edit and put the change in a new migration, or, if the database has the schema the file \
             now describes, `cargo dbmigrate repair {} --as applied`",
            differ.len(),
            listed(&differ),
            one_or_placeholder(&differ)
        ));
    }
    let missing = of(&[S::Missing]);
    if !missing.is_empty() {
        notes.push(format!(
            "{} missing ({}): the history records a migration the folder lacks; restore its file, or \
             `cargo dbmigrate repair {} --as pending` to forget it",
            missing.len(),
            listed(&missing),
            one_or_placeholder(&missing)
        ));
    }
    notes
}

/// Up to three versions, then an ellipsis.
fn listed(versions: &[i64]) -> String {
    let mut text: Vec<String> = versions.iter().take(3).map(i64::to_string).collect();
    if versions.len() > 3 {
        text.push("…".into());
    }
    text.join(", ")
}

/// The version to put in a hint: the one there is, or a placeholder for each of several.
fn one_or_placeholder(versions: &[i64]) -> String {
    match versions {
        [one] => one.to_string(),
        _ => "VERSION".into(),
    }
}

fn print_status(rows: &[MigrationStatus]) {
    if rows.is_empty() {
        crate::shell::outln!("no migrations");
        return;
    }
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                render::state_name(r.state).to_owned(),
                r.version.to_string(),
                r.name.clone(),
                r.applied_on.as_deref().map_or_else(|| "-".to_owned(), render::time),
                render::down_name(r.reversibility).to_owned(),
            ]
        })
        .collect();
    for line in render::table(["STATE", "VERSION", "NAME", "APPLIED ON", "DOWN"], &cells) {
        crate::shell::outln!("{line}");
    }
}
