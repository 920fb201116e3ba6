//! `cargo dbmigrate lint`: the lint findings `cargo build` reports, listed on their own.

use crate::cli::GlobalArgs;
use crate::render::Format;
use crate::shell::{Shell, Verbosity};
use crate::{CliError, CliResult, exit_code, workspace};
use dbmigrate_build::internal::{Checked, Finding, Rule, Severity};

/// Lint the migrations' SQL for statements that fail or lose data on a populated table, as
/// `cargo build` does.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate lint
  cargo dbmigrate lint --all --format json
  cargo dbmigrate lint -p server

Checks each unreleased migration for every dialect in `dialects` (default: the dialect of
`default-database`). Exit code 1 when an error-level finding is present, 0 otherwise (warnings
are printed; statements the lint cannot read are `not-checked` infos, listed with -v and in
--format json). Silence a finding in one file with `-- dbmigrate:allow <rule> <reason>`; set a
rule's level in `[package.metadata.dbmigrate.lint]`.")]
pub struct LintArgs {
    /// Also lint released migrations (they cannot change, so the build does not report them)
    #[arg(long)]
    pub all: bool,
    /// Output format; `json` prints one document on stdout
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// Runs `lint`.
pub fn run(args: &LintArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let manifest = workspace::locate_manifest(global.selector())?;
    let checked = dbmigrate_build::internal::check_manifest(&manifest.path);
    let mut findings = dbmigrate_build::internal::lint_report(&checked, args.all);
    // Settings that cannot be read (the lint table among them) leave nothing linted: say why.
    findings.splice(0..0, checked.findings.iter().filter(|f| f.rule == Rule::BadConfig).cloned());
    let linted = if args.all { checked.set.migrations.len() } else { checked.unreleased().count() };
    let errors = findings.iter().filter(|f| f.is_error()).count();
    match args.format {
        Format::Json => print_json(&checked, &findings, linted, args.all),
        Format::Human => print_human(&checked, &findings, linted, shell),
    }
    Ok(if errors > 0 { exit_code::PROBLEMS } else { exit_code::OK })
}

fn shown_dir(checked: &Checked) -> &str {
    if checked.set.display_dir.is_empty() { "Cargo.toml" } else { &checked.set.display_dir }
}

fn print_human(checked: &Checked, findings: &[Finding], linted: usize, shell: &Shell) {
    crate::render::finding::print_all(findings, shell);
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let (errors, warnings, infos) = (count(Severity::Error), count(Severity::Warning), count(Severity::Info));
    let dir = shown_dir(checked);
    if errors > 0 {
        shell.print_error(
            &CliError::problems(format!("{errors} error(s) and {warnings} warning(s) in `{dir}`"))
                .hint("`cargo build` refuses these migrations too; fix them as each `help:` says"),
        );
        return;
    }
    let unread = match infos {
        0 => String::new(),
        n if shell.verbosity() >= Verbosity::Verbose => format!(", {n} statement(s) not checked"),
        n => format!(", {n} statement(s) not checked (`-v` lists them)"),
    };
    shell.status("Linted", format!("{linted} migrations in `{dir}`: {warnings} warning(s){unread}"));
}

fn print_json(checked: &Checked, findings: &[Finding], linted: usize, all: bool) {
    let data = serde_json::json!({
        "migrations_dir": checked.set.display_dir,
        "all": all,
        "linted": linted,
        "dialects": checked.config.target_dialects().iter().map(|d| d.as_str()).collect::<Vec<_>>(),
        "findings": findings.iter().map(crate::render::finding::json).collect::<Vec<_>>(),
    });
    let errors = findings.iter().filter(|f| f.is_error()).count();
    if errors == 0 {
        return crate::render::json::print("lint", data);
    }
    let mut error = CliError::problems(format!("{errors} lint error(s) in `{}`", shown_dir(checked)))
        .hint("`cargo build` refuses these migrations too; fix them as each finding's `help` says");
    error.data = Some(data);
    crate::shell::outln!("{}", crate::render::json::failure("lint", &error));
}
