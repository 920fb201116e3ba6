//! The one validation of a crate's migrations, run by the build script ([`crate::embed`]) and
//! by `cargo dbmigrate check`, so the two can never disagree.

use crate::lint::Context as LintContext;
use crate::release_log::{RELEASE_LOG_FILE, ReleaseLog, Released};
use crate::{Config, ConfigError, Finding, Manifest, Migration, MigrationSet, Rule};
use dbmigrate_core::file_name::{down_file, up_file};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Everything known about a crate's migrations after validation.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    /// The crate's settings (defaults when the manifest could not be read).
    pub config: Config,
    /// The valid migrations on disk, with all their texts ([`check`]) or only the ones the
    /// build needs (the build script's load; see [`crate::set::Texts`]).
    pub set: MigrationSet,
    /// The released migrations, from `dbmigrate.lock` (empty when absent or unreadable).
    pub release_log: ReleaseLog,
    /// Every problem found, errors and warnings, in a stable order.
    pub findings: Vec<Finding>,
    /// The manifests the settings came from (for `rerun-if-changed`).
    pub manifests: Vec<PathBuf>,
}

impl Checked {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(Finding::is_error)
    }

    /// The release log's path (`dbmigrate.lock` in the migrations folder).
    pub fn release_log_path(&self) -> PathBuf {
        self.set.dir.join(RELEASE_LOG_FILE)
    }

    /// The migrations on disk that the release log does not hold yet.
    pub fn unreleased(&self) -> impl Iterator<Item = &Migration> {
        self.set.migrations.iter().filter(|m| !self.release_log.contains(m.version))
    }
}

/// How a check loads and lints the migration set: [`MigrationSet::load_linted`], or the build
/// script's cached load.
pub(crate) type Load<'a> = &'a mut dyn FnMut(&Path, &str, &LintContext) -> (MigrationSet, Vec<Finding>);

/// Reads `manifest_path`'s settings and validates its migrations against its lock.
pub fn check_manifest(manifest_path: &Path) -> Checked {
    check_manifest_with(manifest_path, &mut MigrationSet::load_linted)
}

/// [`check_manifest`] with another loader.
pub(crate) fn check_manifest_with(manifest_path: &Path, load: Load<'_>) -> Checked {
    let crate_root = manifest_path.parent().unwrap_or(Path::new("."));
    let mut manifests = vec![manifest_path.to_owned()];
    let config = Manifest::read(manifest_path).and_then(|m| {
        if let Ok(Some(ws)) = m.workspace_root() {
            manifests.push(ws.path);
        }
        m.config()
    });
    match config {
        Ok(config) => Checked { manifests, ..check_with(crate_root, &config, load) },
        Err(e) => Checked { manifests, findings: vec![config_finding(&e, crate_root)], ..Checked::default() },
    }
}

/// Validates the migrations of the crate at `crate_root` with `config`.
pub fn check(crate_root: &Path, config: &Config) -> Checked {
    check_with(crate_root, config, &mut MigrationSet::load_linted)
}

/// [`check`] with another loader.
pub(crate) fn check_with(crate_root: &Path, config: &Config, load: Load<'_>) -> Checked {
    let (set, mut findings) = load(crate_root, &config.migrations, &LintContext::of(config));
    let log_display = set.display(RELEASE_LOG_FILE);
    let (release_log, log_findings) = ReleaseLog::read(&set.dir.join(RELEASE_LOG_FILE), &log_display);
    // A log that does not parse cannot be compared with anything.
    if log_findings.is_empty() {
        let blocked = versions_with_findings(&findings);
        findings.extend(against_log(&set, &release_log, &blocked));
    }
    // Without a readable lock nothing is known to be unreleased: no `no-down` guesses.
    let lock_read = log_findings.is_empty();
    findings.extend(log_findings);
    let mut findings = down_warnings_for_unreleased(findings, &release_log, lock_read);
    // Released files are immutable: their findings would be noise nobody can fix.
    findings.extend(set.lints.iter().filter(|f| f.version.is_none_or(|v| !release_log.contains(v))).cloned());
    crate::lint::apply_levels(&mut findings, &config.lint);
    Checked { config: config.clone(), set, release_log, findings, manifests: Vec::new() }
}

/// The lint's findings (`cargo dbmigrate lint`): those of [`check`] for unreleased migrations,
/// and with `all` also those of released ones, in version order.
pub fn lint_report(checked: &Checked, all: bool) -> Vec<Finding> {
    let mut out: Vec<Finding> = checked.findings.iter().filter(|f| f.rule.is_lint()).cloned().collect();
    if all {
        let released = |f: &&Finding| f.version.is_some_and(|v| checked.release_log.contains(v));
        let mut more: Vec<Finding> = checked.set.lints.iter().filter(released).cloned().collect();
        crate::lint::apply_levels(&mut more, &checked.config.lint);
        out.extend(more);
        // Stable: each file's findings keep their order; a summary without version goes last.
        out.sort_by_key(|f| f.version.unwrap_or(i64::MAX));
    }
    out
}

/// The most `no-down` warnings listed one by one; the rest are counted in one more, so that
/// adopting a long history without down files does not bury the build's output.
const NO_DOWN_SHOWN: usize = 3;

/// `no-down` warnings for unreleased migrations only (a released migration cannot change),
/// the first few in full and the rest summarised.
fn down_warnings_for_unreleased(findings: Vec<Finding>, log: &ReleaseLog, lock_read: bool) -> Vec<Finding> {
    let is_no_down = |f: &Finding| f.rule == Rule::NoDown;
    // A migration with an error to fix first (renamed, out of order…) gets only that error.
    let with_errors: BTreeSet<i64> = findings.iter().filter(|f| f.is_error()).filter_map(|f| f.version).collect();
    let released = |f: &Finding| !lock_read || f.version.is_some_and(|v| log.contains(v) || with_errors.contains(&v));
    let (no_down, mut kept): (Vec<Finding>, Vec<Finding>) = findings.into_iter().partition(is_no_down);
    let no_down: Vec<Finding> = no_down.into_iter().filter(|f| !released(f)).collect();
    let more = no_down.len().saturating_sub(NO_DOWN_SHOWN);
    kept.extend(no_down.into_iter().take(NO_DOWN_SHOWN));
    if more > 0 {
        kept.push(
            Finding::warning(Rule::NoDown, None, format!("{more} more unreleased migration(s) have no down file, or an empty one"))
                .help("`cargo dbmigrate down` cannot revert them; `cargo dbmigrate release` stops these warnings for migrations that have shipped"),
        );
    }
    kept
}

/// A manifest problem as a finding about the manifest.
pub fn config_finding(e: &ConfigError, crate_root: &Path) -> Finding {
    let file = e.file.strip_prefix(crate_root).unwrap_or(&e.file).display().to_string().replace('\\', "/");
    let finding = Finding::error(Rule::BadConfig, file, e.message.clone());
    match &e.help {
        Some(help) => finding.help(help.clone()),
        None => finding,
    }
}

/// Versions whose files exist but were already reported (duplicates, unreadable files), so
/// the release-log checks do not also call them deleted.
fn versions_with_findings(findings: &[Finding]) -> BTreeSet<i64> {
    findings.iter().filter_map(|f| f.version).collect()
}

/// Compares the files on disk with the released migrations.
fn against_log(set: &MigrationSet, log: &ReleaseLog, blocked: &BTreeSet<i64>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut renamed_to = BTreeSet::new();
    let newest_present = log.released().map(|r| r.version).filter(|v| set.get(*v).is_some()).max();
    for expected in log.released() {
        match set.get(expected.version) {
            Some(m) => findings.extend(compare(set, expected, m)),
            None if blocked.contains(&expected.version) => {}
            None => {
                let moved = moved_to(set, log, expected);
                if let Some(m) = moved {
                    renamed_to.insert(m.version);
                }
                findings.push(missing(set, expected, moved, newest_present));
            }
        }
    }
    if let Some(newest) = log.newest() {
        let late = set.migrations.iter().filter(|m| !log.contains(m.version) && m.version <= newest);
        findings.extend(late.filter(|m| !renamed_to.contains(&m.version)).map(|m| out_of_order(set, m, newest)));
    }
    findings
}

/// A released migration whose files are still at its version: same name, same hashes.
fn compare(set: &MigrationSet, expected: &Released, m: &Migration) -> Option<Finding> {
    let locked_file = up_file(expected.version, &expected.name);
    if m.name != expected.name {
        return Some(
            Finding::error(
                Rule::ReleasedRenamed,
                set.display(&m.up_file),
                format!("released migration `{locked_file}` was renamed to `{}`", m.up_file),
            )
            .about(m.version)
            .help(format!(
                "rename it back to `{}`: its name is recorded in databases that applied it",
                set.display(&locked_file)
            ))
            .help("to change anything, add a new migration with `cargo dbmigrate new <message>`"),
        );
    }
    let (file, locked, disk) = if m.up_hash != expected.up {
        (m.up_file.clone(), Some(expected.up), Some(m.up_hash))
    } else if m.down_hash != expected.down {
        let down = down_file(m.version, &m.name);
        (m.down_file.clone().unwrap_or(down), expected.down, m.down_hash)
    } else {
        return None;
    };
    let show = |h: Option<crate::hash::ContentHash>| h.map_or_else(|| "none (no file)".to_owned(), |h| h.to_string());
    Some(
        Finding::error(Rule::ReleasedEdited, set.display(&file), "released migration was edited after it was released")
            .about(m.version)
            .help(format!("hash in {}: {}", set.display(RELEASE_LOG_FILE), show(locked)))
            .help(format!("hash on disk: {}", show(disk)))
            .help(format!("revert the edit (`git checkout -- {}`) and add a new migration with `cargo dbmigrate new <message>`", set.display(&file)))
            .help(format!(
                "if databases must get the edited text, record it with `cargo dbmigrate release --rehash {} --reason \"…\"`",
                m.version
            )),
    )
}

/// An unreleased migration that holds a released one's name or text under another version.
fn moved_to<'a>(set: &'a MigrationSet, log: &ReleaseLog, expected: &Released) -> Option<&'a Migration> {
    let candidates = || set.migrations.iter().filter(|m| !log.contains(m.version));
    candidates().find(|m| m.up_hash == expected.up).or_else(|| candidates().find(|m| m.name == expected.name))
}

/// A released version with no file: renamed, a gap in the released history, or deleted.
fn missing(set: &MigrationSet, expected: &Released, moved: Option<&Migration>, newest_present: Option<i64>) -> Finding {
    let file = up_file(expected.version, &expected.name);
    let shown = set.display(&file);
    let restore = format!("restore it (`git checkout -- {shown}`): databases that applied it expect the file");
    if let Some(m) = moved {
        return Finding::error(
            Rule::ReleasedRenamed,
            set.display(&m.up_file),
            format!("released migration `{file}` was renamed to `{}`", m.up_file),
        )
        .about(m.version)
        .help(format!("rename it back to `{shown}`: its version and name are recorded in databases that applied it"));
    }
    if newest_present.is_some_and(|v| v > expected.version) {
        let message = format!(
            "gap: version {} is released (line {} of {}) but `{file}` is missing",
            expected.version, expected.line, RELEASE_LOG_FILE
        );
        return Finding::error(Rule::ReleasedGap, shown.clone(), message).about(expected.version).help(restore);
    }
    Finding::error(Rule::ReleasedDeleted, shown, "released migration was deleted")
        .about(expected.version)
        .help(restore)
        .help("to undo its change, add a new migration with `cargo dbmigrate new <message>`")
}

fn out_of_order(set: &MigrationSet, m: &Migration, newest: i64) -> Finding {
    let shown = set.display(&m.up_file);
    Finding::error(
        Rule::OutOfOrder,
        shown.clone(),
        format!(
            "unreleased migration is out of order: version {} is not newer than the newest released version {newest}",
            m.version
        ),
    )
    .about(m.version)
    .help("databases already past that version would skip it or refuse to start")
    .help(format!("give it a fresh version with `cargo dbmigrate renumber {shown}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Crate(tempfile::TempDir);

    impl Crate {
        fn new(files: &[(&str, &str)]) -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::create_dir(dir.path().join("migrations")).expect("mkdir");
            let c = Self(dir);
            for (name, text) in files {
                c.write(name, text);
            }
            c
        }
        fn write(&self, name: &str, text: &str) {
            std::fs::write(self.0.path().join("migrations").join(name), text).expect("write");
        }
        fn remove(&self, name: &str) {
            std::fs::remove_file(self.0.path().join("migrations").join(name)).expect("rm");
        }
        fn check(&self) -> Checked {
            check(self.0.path(), &Config::default())
        }
        fn release_all(&self) {
            let checked = self.check();
            let mut log = checked.release_log.clone();
            checked.unreleased().for_each(|m| log.record(m));
            self.write(RELEASE_LOG_FILE, &log.render());
        }
        fn codes(&self) -> Vec<&'static str> {
            self.check().findings.iter().map(|f| f.rule.as_str()).collect()
        }
    }

    #[test]
    fn clean_set_and_lock() {
        let c = Crate::new(&[("V1__a.sql", "select 1;"), ("V2__b.sql", "select 2;"), ("V2__b.down.sql", "select 0;")]);
        c.release_all();
        c.write("V3__c.sql", "select 3;");
        c.write("V3__c.down.sql", "select 0;");
        let checked = c.check();
        assert!(checked.findings.is_empty(), "{:?}", checked.findings);
        assert_eq!(checked.unreleased().map(|m| m.version).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn edits_of_up_and_down_are_errors_but_crlf_is_not() {
        let c = Crate::new(&[("V1__a.sql", "select 1;\n"), ("V1__a.down.sql", "select 0;\n")]);
        c.release_all();
        c.write("V1__a.sql", "\u{feff}select 1;\r\n");
        assert!(c.codes().is_empty());
        c.write("V1__a.sql", "select 11;\n");
        assert_eq!(c.codes(), ["released-edited"]);
        c.write("V1__a.sql", "select 1;\n");
        c.write("V1__a.down.sql", "select 00;\n");
        assert_eq!(c.codes(), ["released-edited"]);
        c.remove("V1__a.down.sql");
        assert_eq!(c.codes(), ["released-edited"]);
    }

    #[test]
    fn rehash_accepts_the_new_text() {
        let c = Crate::new(&[("V1__a.sql", "select 1;\n")]);
        c.release_all();
        c.write("V1__a.sql", "select 2;\n");
        let checked = c.check();
        let mut log = checked.release_log.clone();
        log.rehash(&checked.set.migrations[0], "typo");
        c.write(RELEASE_LOG_FILE, &log.render());
        assert!(c.codes().is_empty());
    }

    #[test]
    fn deleted_gap_renamed_and_out_of_order() {
        let files =
            [("V1__a.sql", "1"), ("V2__b.sql", "2"), ("V3__c.sql", "3"), ("V4__d.sql", "4"), ("V5__e.sql", "5")];
        let c = Crate::new(&files);
        c.release_all();
        c.remove("V2__b.sql");
        c.remove("V5__e.sql");
        c.remove("V3__c.sql");
        c.write("V3__cc.sql", "3");
        c.remove("V4__d.sql");
        c.write("V9__d.sql", "4");
        c.write("V0__early.sql", "0");
        assert_eq!(
            c.codes(),
            ["released-gap", "released-renamed", "released-renamed", "released-deleted", "out-of-order",]
        );
    }

    #[test]
    fn duplicates_of_a_released_version_are_not_also_deleted() {
        let c = Crate::new(&[("V1__a.sql", "1")]);
        c.release_all();
        c.write("V1__b.sql", "2");
        assert_eq!(c.codes(), ["duplicate-version"]);
    }

    #[test]
    fn a_broken_lock_skips_the_lock_rules() {
        let c = Crate::new(&[("V1__a.sql", "1")]);
        c.write(RELEASE_LOG_FILE, "<<<<<<< HEAD\n=======\n>>>>>>> x\n");
        assert_eq!(c.codes(), ["lock-conflict"]);
    }

    #[test]
    fn config_errors_are_findings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let manifest = dir.path().join("Cargo.toml");
        std::fs::write(&manifest, "[package]\nname = \"x\"\n[package.metadata.dbmigrate]\nmigration = \"m\"\n")
            .expect("write");
        let checked = check_manifest(&manifest);
        assert_eq!(checked.findings.len(), 1);
        assert_eq!(checked.findings[0].file.as_deref(), Some("Cargo.toml"));
    }

    /// The drift behind issue 8: a 60-character history table built fine and failed at `run`.
    #[test]
    fn a_history_table_the_engine_refuses_is_a_bad_config_error() {
        let c = Crate::new(&[("V1__a.sql", "select 1;")]);
        let manifest = c.0.path().join("Cargo.toml");
        let table = "h".repeat(60);
        let text = format!("[package]\nname = \"x\"\n[package.metadata.dbmigrate]\nhistory-table = \"{table}\"\n");
        std::fs::write(&manifest, text).expect("write");
        let checked = check_manifest(&manifest);
        assert!(checked.has_errors());
        let rules: Vec<Rule> = checked.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, [Rule::BadConfig]);
        assert!(checked.findings[0].message.contains("the limit is 54"), "{}", checked.findings[0].message);
    }
}
