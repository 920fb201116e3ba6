//! Unreleased migrations that a merge or rebase brought in behind newer ones, found in git.
//!
//! Versions are creation times, so two branches each holding an unreleased migration can meet
//! with the older version arriving last: every developer database that already applied the
//! newer one would then refuse it at `run`. The files alone cannot show this; the order in
//! which they arrived on the current branch (its first-parent history) can, so `check` asks
//! git, and says nothing where there is no git.

use dbmigrate_build::internal::{Finding, Migration, Rule};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// Where a file arrived on the current branch: its place in the first-parent history, and the
/// commit that brought it.
struct Arrival {
    order: usize,
    commit: String,
    merge: bool,
}

/// One warning per unreleased migration that arrived after an unreleased one with a higher
/// version; `display` names a file of the folder as findings do.
pub fn late_arrivals<'a>(
    dir: &Path,
    unreleased: impl Iterator<Item = &'a Migration>,
    display: impl Fn(&str) -> String,
) -> Vec<Finding> {
    let Some(arrivals) = arrivals(dir) else { return Vec::new() };
    let mut known: Vec<(&Migration, &Arrival)> =
        unreleased.filter_map(|m| arrivals.get(&m.up_file).map(|a| (m, a))).collect();
    known.sort_by_key(|(m, a)| (a.order, m.version));
    let mut findings = Vec::new();
    // The newest migration among those that arrived in earlier commits than the one at hand.
    let mut newest_before: Option<&Migration> = None;
    for group in known.chunk_by(|x, y| x.1.order == y.1.order) {
        for (m, a) in group {
            if let Some(newer) = newest_before.filter(|n| n.version > m.version) {
                findings.push(warning(m, newer, a, &display));
            }
        }
        let newest_here = group.iter().map(|(m, _)| *m).max_by_key(|m| m.version);
        newest_before = newest_before.into_iter().chain(newest_here).max_by_key(|m| m.version);
    }
    findings
}

fn warning(m: &Migration, newer: &Migration, a: &Arrival, display: &impl Fn(&str) -> String) -> Finding {
    let how = if a.merge { "the merge" } else { "commit" };
    Finding::warning(
        Rule::MergedOutOfOrder,
        display(&m.up_file),
        format!(
            "unreleased migration arrived after the newer `{}` ({how} {}): databases that applied {} will refuse it",
            newer.up_file, a.commit, newer.up_file
        ),
    )
    .about(m.version)
    .help(format!("give it a fresh version with `cargo dbmigrate renumber {}`", display(&m.up_file)))
    .help("or, where it must stay, apply it with `cargo dbmigrate run --allow-out-of-order`")
}

/// When each file of `dir` was added on the current branch's first-parent history (file names
/// relative to `dir`); `None` outside a git work tree or when git is missing.
fn arrivals(dir: &Path) -> Option<HashMap<String, Arrival>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["log", "--first-parent", "--reverse", "--diff-filter=A", "--name-only", "--relative"])
        .args(["--no-renames", "--format=%x01%h %p", "--", "."])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut arrivals = HashMap::new();
    for (order, record) in text.split('\u{1}').filter(|r| !r.trim().is_empty()).enumerate() {
        let mut lines = record.lines();
        let mut head = lines.next().unwrap_or_default().split_whitespace();
        let commit = head.next().unwrap_or_default().to_owned();
        let merge = head.count() > 1;
        for file in lines.map(str::trim).filter(|l| !l.is_empty()) {
            arrivals.entry(file.to_owned()).or_insert(Arrival { order, commit: commit.clone(), merge });
        }
    }
    Some(arrivals)
}
