//! `cargo dbmigrate release`: records the unreleased migrations in the lock, after which
//! `cargo build` refuses any edit of them.

use crate::cli::GlobalArgs;
use crate::render::Format;
use crate::shell::Shell;
use crate::{CliError, CliResult, exit_code, fsutil, workspace};
use dbmigrate_build::internal::{Checked, Finding, ReleaseLog, Rule};

/// Lock the unreleased migrations: from now on `cargo build` refuses edits of them.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate release
  cargo dbmigrate release --up-to 20261125143000
  cargo dbmigrate release --rehash 20261125143000 --reason \"fix a comment typo\"
  cargo dbmigrate release --resolve     # after git left conflict markers in the lock

Run it when the migrations ship (merge to main, tag a release) and commit
migrations/dbmigrate.lock with them. --rehash accepts a deliberate edit of a released
migration and records the reason in the lock; databases that applied the old text will
report it as divergent, so use it only for changes that need no re-run. --resolve rebuilds
a lock that a merge or rebase left conflicted from both sides' releases.")]
pub struct ReleaseArgs {
    /// Release only migrations up to this version (inclusive)
    #[arg(long, value_name = "VERSION", conflicts_with = "rehash")]
    pub up_to: Option<i64>,
    /// Accept the edited text of this released migration
    #[arg(long, value_name = "VERSION", requires = "reason")]
    pub rehash: Option<i64>,
    /// Why the released migration was edited (recorded in the lock)
    #[arg(long, value_name = "TEXT", requires = "rehash")]
    pub reason: Option<String>,
    /// Rebuild a lock left with git conflict markers from both sides' releases
    #[arg(long, conflicts_with_all = ["up_to", "rehash"])]
    pub resolve: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Runs `release`.
pub fn run(args: &ReleaseArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let target = workspace::locate(global.selector())?;
    let checked = dbmigrate_build::internal::check(target.dir().as_std_path(), &target.config);
    let log_path = checked.release_log_path();
    let shown = fsutil::display_rel(&log_path, target.dir());
    let done = if args.resolve {
        if resolve(&log_path, &shown, &target, shell)? { vec![("Resolved", shown.clone(), None)] } else { Vec::new() }
    } else {
        let log = match (args.rehash, &args.reason) {
            (Some(version), Some(reason)) => rehash(&checked, version, reason, shell)?,
            _ => release(&checked, args.up_to, shell)?,
        };
        match log {
            Some((log, done)) => {
                // Written first: what is announced is what the lock holds.
                fsutil::write_atomic(&log_path, &log.render())?;
                for (verb, file, reason) in &done {
                    shell.status(verb, reason.as_ref().map_or_else(|| file.clone(), |r| format!("{file} ({r})")));
                }
                shell.note(format!("commit `{shown}` together with the migrations"));
                done
            }
            None => Vec::new(),
        }
    };
    if args.format == Format::Json {
        let changes: Vec<_> = done
            .iter()
            .map(|(verb, file, reason)| {
                serde_json::json!({ "action": verb.to_lowercase(), "file": file, "reason": reason })
            })
            .collect();
        crate::render::json::print("release", serde_json::json!({ "lock_file": shown, "changes": changes }));
    }
    Ok(exit_code::OK)
}

/// Refuses to go on while the migrations have problems, showing them. Lint findings do not
/// refuse: releasing says the migrations already ran (or are adopted from a history that did),
/// and a released migration's SQL can no longer change, so its findings cannot be acted on.
fn refuse_on_errors<'a>(findings: impl Iterator<Item = &'a Finding>, shell: &Shell) -> Result<(), CliError> {
    let errors: Vec<Finding> =
        findings.filter(|f| f.is_error() && (!f.rule.is_lint() || f.rule == Rule::TodoLeft)).cloned().collect();
    if errors.is_empty() {
        return Ok(());
    }
    crate::render::finding::print_all(&errors, shell);
    Err(CliError::problems("cannot release: the migrations have problems")
        .hint("fix them as each `help:` says, then run release again"))
}

/// The new release log and the lines to announce once it is written.
/// Each line: the verb, the up file, and the reason of a rehash.
type Recorded = Option<(ReleaseLog, Vec<(&'static str, String, Option<String>)>)>;

fn release(checked: &Checked, up_to: Option<i64>, shell: &Shell) -> Result<Recorded, CliError> {
    refuse_on_errors(checked.findings.iter(), shell)?;
    let mut log = checked.release_log.clone();
    let chosen: Vec<_> = checked.unreleased().filter(|m| up_to.is_none_or(|v| m.version <= v)).collect();
    if chosen.is_empty() {
        shell.status("Unchanged", "no unreleased migrations to release");
        return Ok(None);
    }
    let mut done = Vec::new();
    for m in chosen {
        log.record(m);
        done.push(("Released", checked.set.display(&m.up_file), None));
    }
    Ok(Some((log, done)))
}

fn rehash(checked: &Checked, version: i64, reason: &str, shell: &Shell) -> Result<Recorded, CliError> {
    if reason.trim().is_empty() {
        return Err(CliError::usage("--reason is empty").hint("say why the released migration had to change"));
    }
    // The edit being accepted is the one problem allowed; anything else still blocks.
    let is_this_edit = |f: &&Finding| f.rule == Rule::ReleasedEdited && f.version == Some(version);
    refuse_on_errors(checked.findings.iter().filter(|f| !is_this_edit(f)), shell)?;
    let Some(expected) = checked.release_log.expected(version) else {
        return Err(CliError::usage(format!("version {version} is not released"))
            .hint("--rehash is for migrations already in the lock; edit unreleased ones freely"));
    };
    let Some(m) = checked.set.get(version) else {
        return Err(CliError::failure(format!(
            "released version {version} has no file in `{}`",
            checked.set.display_dir
        )));
    };
    if (m.up_hash, m.down_hash) == (expected.up, expected.down) {
        shell.status("Unchanged", format!("`{}` matches the lock; nothing to rehash", checked.set.display(&m.up_file)));
        return Ok(None);
    }
    let mut log = checked.release_log.clone();
    log.rehash(m, reason);
    Ok(Some((log, vec![("Rehashed", checked.set.display(&m.up_file), Some(reason.to_owned()))])))
}

/// `--resolve`: the lock rebuilt from both sides of a git conflict, then checked like a build;
/// whether there was a conflict to resolve.
fn resolve(
    log_path: &std::path::Path,
    shown: &str,
    target: &workspace::Target,
    shell: &Shell,
) -> Result<bool, CliError> {
    let text = std::fs::read_to_string(log_path)
        .map_err(|e| CliError::failure(format!("cannot read `{shown}`: {e}")).hint("run it where the lock is"))?;
    let merged = match dbmigrate_build::internal::resolve_lock_conflict(&text, shown) {
        None => {
            shell.status("Unchanged", format!("`{shown}` has no git conflict to resolve"));
            return Ok(false);
        }
        Some(Err(findings)) => {
            crate::render::finding::print_all(&findings, shell);
            return Err(CliError::problems(format!("cannot resolve `{shown}`; it is left as it was"))
                .hint("fix what each `help:` says, then run `cargo dbmigrate release --resolve` again"));
        }
        Some(Ok(log)) => log,
    };
    fsutil::write_atomic(log_path, &merged.render())?;
    let count = merged.released().count();
    shell.status("Resolved", format!("`{shown}`: {count} released migration(s) from both sides"));
    // The merge may have brought unreleased migrations older than released ones: say so now.
    let checked = dbmigrate_build::internal::check(target.dir().as_std_path(), &target.config);
    crate::render::finding::print_all(&checked.findings, shell);
    if checked.findings.iter().any(Finding::is_error) {
        return Err(CliError::problems("the lock is resolved, but the migrations have problems")
            .hint("fix them as each `help:` says; `cargo dbmigrate check` lists them again"));
    }
    shell.note(format!("`git add {shown}`, then continue the merge or rebase"));
    Ok(true)
}
