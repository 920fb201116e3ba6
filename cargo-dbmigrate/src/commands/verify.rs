//! `cargo dbmigrate verify`: proves on a scratch database that every unreleased migration's down
//! undoes its up and that the up can run again after it.

use crate::cli::GlobalArgs;
use crate::ops::verify::{self, Checked, Outcome, Request, Verdict};
use crate::render::Format;
use crate::render::notes::Notes;
use crate::shell::{Shell, Verbosity};
use crate::{CliError, CliResult, exit_code, workspace};
use std::io::IsTerminal;

/// Prove that each unreleased migration's down undoes its up, on a scratch database.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate verify
  cargo dbmigrate verify --dev-url postgres://postgres@127.0.0.1:5432/postgres
  cargo dbmigrate verify --dev-url mysql://root@127.0.0.1:3306/ --all --format json

On a scratch database (a temporary SQLite file, or a uniquely named database on --dev-url's
server, dropped afterwards, also on Ctrl-C), the migrations before the first one to verify are
applied; then each unreleased migration (every one with --all) is applied, reverted and applied
again, and the schema is read from the catalog before and after each step. Findings:
down-incomplete (the schema after the down is not the one before the up), down-failed,
up-not-repeatable (the second up fails or gives another schema), up-failed; a migration
without a down is applied and reported as no-down. Exit code 1 when a finding is an error.
A crate whose database (as `run` would choose it) is PostgreSQL or MySQL/MariaDB needs
--dev-url; a SQLite crate verifies on a temporary file without it.")]
pub struct VerifyArgs {
    /// A server where a scratch database may be created (its database name is replaced)
    #[arg(long, value_name = "URL")]
    pub dev_url: Option<String>,
    /// Verify released migrations too, not only the unreleased ones
    #[arg(long)]
    pub all: bool,
    /// Output format; `json` prints one document on stdout
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Runs `verify`.
pub fn run(args: &VerifyArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let target = workspace::locate(global.selector())?;
    let request = Request { dev_url: args.dev_url.clone(), all: args.all };
    let mut notes = Notes::new(shell);
    // A line per migration as it is done, as `run` shows each one it applies: on a terminal
    // (a person is waiting), and with -v anywhere; piped output stays a summary, -q silent.
    let live = shell.verbosity() >= Verbosity::Verbose
        || (shell.verbosity() == Verbosity::Normal && std::io::stderr().is_terminal());
    let mut progress = |c: &Checked| {
        if live {
            shell.status("Verified", format!("{} {} ({} ms)", c.file, c.verdict.as_str(), c.took.as_millis()));
        }
    };
    let outcome = verify::verify(&target, &request, &mut |n| notes.show(n), &mut progress)?;
    if args.format == Format::Json {
        return Ok(print_json(&outcome));
    }
    crate::render::finding::print_all(&outcome.findings, shell);
    if outcome.has_errors() {
        shell.print_error(&failure(&outcome));
        return Ok(exit_code::PROBLEMS);
    }
    shell.status("Verified", summary(&outcome));
    Ok(exit_code::OK)
}

/// `3 migration(s) on a scratch postgres database: 2 passed, 1 without a down; 4 released not
/// verified (--all verifies them)`.
fn summary(o: &Outcome) -> String {
    let count = |v: Verdict| o.checked.iter().filter(|c| c.verdict == v).count();
    let mut text = format!(
        "{} migration(s) on a scratch {} database: {} passed",
        o.checked.len(),
        o.dialect.as_str(),
        count(Verdict::Passed)
    );
    for (v, what) in [(Verdict::Failed, "failed"), (Verdict::NoDown, "without a down"), (Verdict::NotRun, "not run")] {
        if count(v) > 0 {
            text.push_str(&format!(", {} {what}", count(v)));
        }
    }
    if o.released_skipped > 0 {
        text.push_str(&format!("; {} released not verified (--all verifies them)", o.released_skipped));
    }
    text
}

fn failure(o: &Outcome) -> CliError {
    let failed = o.checked.iter().filter(|c| c.verdict == Verdict::Failed).count();
    CliError::problems(format!("{failed} migration(s) failed verification ({})", summary(o)))
        .hint("fix each down (or up) as its `help:` says, then run `cargo dbmigrate verify` again")
}

fn print_json(o: &Outcome) -> i32 {
    let migrations: Vec<serde_json::Value> = o
        .checked
        .iter()
        .map(|c| {
            serde_json::json!({
                "version": c.version,
                "file": c.file,
                "result": c.verdict.as_str(),
                "duration_ms": crate::render::json::millis(c.took),
            })
        })
        .collect();
    let data = serde_json::json!({
        "dialect": o.dialect.as_str(),
        "released_skipped": o.released_skipped,
        "migrations": migrations,
        "findings": o.findings.iter().map(crate::render::finding::json).collect::<Vec<_>>(),
    });
    if !o.has_errors() {
        crate::render::json::print("verify", data);
        return exit_code::OK;
    }
    let mut error = failure(o);
    error.data = Some(data);
    crate::shell::outln!("{}", crate::render::json::failure("verify", &error));
    exit_code::PROBLEMS
}
