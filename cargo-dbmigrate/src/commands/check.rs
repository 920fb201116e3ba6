//! `cargo dbmigrate check`: the build's validation, outside a build (for CI and editors).

use crate::cli::GlobalArgs;
use crate::render::Format;
use crate::shell::Shell;
use crate::{CliError, CliResult, exit_code, workspace};
use dbmigrate_build::internal::Checked;

/// Check the migrations exactly as `cargo build` does: names, duplicates, the lock of released
/// migrations, order.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate check
  cargo dbmigrate check -p server --format json
  cargo dbmigrate check --schema
  cargo dbmigrate check --schema --dev-url postgres://postgres@127.0.0.1:5432/postgres

Exit code 0 when the migrations are clean, 1 when a problem was found. The rules are the ones
`dbmigrate_build::embed()` applies in build.rs, so a clean check means a clean build.
With --schema the migrations are also replayed into a scratch database (PostgreSQL: on the
--dev-url server) and compared with the desired schema file; each difference is a
`schema-drift` finding.")]
pub struct CheckArgs {
    /// Also compare the schema the migrations build with the desired schema file (`schema.sql`)
    #[arg(long)]
    pub schema: bool,
    #[command(flatten)]
    pub source: super::args::SchemaSourceArgs,
    /// Output format; `json` prints one document on stdout
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// Runs `check`.
pub fn run(args: &CheckArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    // The settings are checked as the build checks them: a bad one is a finding, not a failure.
    let manifest = workspace::locate_manifest(global.selector())?;
    let mut checked = dbmigrate_build::internal::check_manifest(&manifest.path);
    // Beyond the build's rules: what git knows of the order the files arrived in.
    let late =
        crate::ops::merge_order::late_arrivals(&checked.set.dir, checked.unreleased(), |f| checked.set.display(f));
    checked.findings.extend(late);
    if args.schema && !checked.has_errors() {
        let drift = schema_drift(args, global, shell)?;
        checked.findings.extend(drift);
    }
    match args.format {
        Format::Json => print_json(&checked),
        Format::Human => print_human(&checked, shell)?,
    }
    Ok(if checked.has_errors() { exit_code::PROBLEMS } else { exit_code::OK })
}

/// The differences between the migrations' schema and the desired one, as findings.
fn schema_drift(
    args: &CheckArgs,
    global: &GlobalArgs,
    shell: &Shell,
) -> Result<Vec<dbmigrate_build::internal::Finding>, CliError> {
    use dbmigrate_build::internal::{Finding, Rule};
    let target = workspace::locate(global.selector())?;
    let source = args.source.resolve(&target)?;
    let renames = dbmigrate_runtime::schema::Renames::default();
    // The set's findings were collected above already; only the caches' notes are news here.
    let mut notes = crate::render::notes::Notes::new(shell);
    let mut notify = |n: crate::ops::Note<'_>| {
        if matches!(n, crate::ops::Note::ReusedSchema(_) | crate::ops::Note::ReusedDesired(_)) {
            notes.show(n);
        }
    };
    let comparison = crate::ops::autogen::compare(&target, &source, &renames, &mut notify)?;
    let file = crate::fsutil::display_rel(&comparison.schema_file, target.dir().as_std_path());
    let findings = comparison.diff.describe().into_iter().map(|line| {
        Finding::error(
            Rule::SchemaDrift,
            file.clone(),
            format!("the migrations do not give the desired schema: {line}"),
        )
        .help("write the migration that closes the gap with `cargo dbmigrate diff -m \"<message>\"`")
    });
    Ok(findings.collect())
}

fn print_human(checked: &Checked, shell: &Shell) -> Result<(), CliError> {
    crate::render::finding::print_all(&checked.findings, shell);
    let errors = checked.findings.iter().filter(|f| f.is_error()).count();
    // Empty when the settings could not be read, so no folder was checked.
    let dir = if checked.set.display_dir.is_empty() { "Cargo.toml" } else { &checked.set.display_dir };
    if errors > 0 {
        let plural = if errors == 1 { "problem" } else { "problems" };
        shell.print_error(
            &CliError::problems(format!("{errors} {plural} in `{dir}`"))
                .hint("`cargo build` refuses these migrations too; fix them as each `help:` says"),
        );
        return Ok(());
    }
    let total = checked.set.migrations.len();
    let unreleased = checked.unreleased().count();
    shell.status(
        "Checked",
        format!("{total} migrations in `{dir}`: {} released, {unreleased} unreleased", total - unreleased),
    );
    Ok(())
}

fn print_json(checked: &Checked) {
    let findings: Vec<serde_json::Value> = checked.findings.iter().map(crate::render::finding::json).collect();
    let data = serde_json::json!({
        "migrations_dir": checked.set.display_dir,
        "total": checked.set.migrations.len(),
        "released": checked.release_log.released().count(),
        "unreleased": checked.unreleased().map(|m| m.version).collect::<Vec<_>>(),
        "findings": findings,
    });
    if !checked.has_errors() {
        return crate::render::json::print("check", data);
    }
    let errors = checked.findings.iter().filter(|f| f.is_error()).count();
    let mut error = CliError::problems(format!("{errors} problem(s) in `{}`", checked.set.display_dir))
        .hint("`cargo build` refuses these migrations too; fix them as each finding's `help` says");
    error.data = Some(data);
    crate::shell::outln!("{}", crate::render::json::failure("check", &error));
}
