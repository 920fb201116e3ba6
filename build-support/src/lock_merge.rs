//! Resolving a release log that git left with conflict markers, by keeping both sides' releases.
//!
//! Two branches that each release a migration both append to the lock, so git conflicts on
//! it (on purpose: see the chain in [`crate::release_log`]). The lock is derived data, the
//! hashes of files that are all present after the merge, so the resolution is mechanical:
//! take each side as the whole lock it was, check each side's chain, and write the union with
//! a new chain. Nothing here names "ours" or "theirs", whose meanings swap during a rebase.

use crate::release_log::{LogLine, Rehash, ReleaseLog, Released};
use crate::{Finding, Rule};
use std::collections::BTreeMap;

/// The two versions of the lock a conflicted text holds (the common lines in both).
fn sides(text: &str) -> Option<(String, String)> {
    #[derive(PartialEq)]
    enum At {
        Both,
        First,
        Base,
        Second,
    }
    let (mut first, mut second, mut at, mut conflicted) = (String::new(), String::new(), At::Both, false);
    for line in text.lines() {
        let marker = |m: &str| line.starts_with(m);
        match at {
            _ if marker("<<<<<<<") => (at, conflicted) = (At::First, true),
            At::First if marker("|||||||") => at = At::Base,
            At::First | At::Base if marker("=======") => at = At::Second,
            At::Second if marker(">>>>>>>") => at = At::Both,
            At::Both => {
                for side in [&mut first, &mut second] {
                    side.push_str(line);
                    side.push('\n');
                }
            }
            At::First => (first.push_str(line), first.push('\n')).1,
            At::Second => (second.push_str(line), second.push('\n')).1,
            At::Base => {}
        }
    }
    (conflicted && at == At::Both).then_some((first, second))
}

/// What resolving found: the merged lock, or why it cannot be merged.
pub type Resolved = Result<ReleaseLog, Vec<Finding>>;

/// Rebuilds a conflicted lock from both sides' lines; `None` when `text` has no conflict.
pub fn resolve(text: &str, display: &str) -> Option<Resolved> {
    let text = crate::hash::normalize(text);
    let (first, second) = sides(&text)?;
    let incomplete =
        || Finding::error(Rule::LockConflict, display.to_owned(), "a conflict block is not closed by `>>>>>>>`");
    if first.is_empty() && second.is_empty() {
        return Some(Err(vec![incomplete()]));
    }
    let parse = |side: &str| ReleaseLog::parse(side, display);
    Some(match (parse(&first), parse(&second)) {
        (Ok(a), Ok(b)) => union(&a, &b, display),
        (a, b) => Err(a.err().into_iter().chain(b.err()).flatten().collect()),
    })
}

/// Every release of both sides in version order, then every rehash in the order each side
/// made them; the same version released, or rehashed, differently on the two sides is refused.
fn union(a: &ReleaseLog, b: &ReleaseLog, display: &str) -> Resolved {
    let mut findings = Vec::new();
    let mut releases: BTreeMap<i64, Released> = BTreeMap::new();
    for r in released(a).chain(released(b)) {
        match releases.get(&r.version) {
            Some(o) if (&o.name, o.up, o.down) != (&r.name, r.up, r.down) => {
                findings.push(clash(display, r.version, "released"));
            }
            _ => drop(releases.insert(r.version, Released { line: 0, ..r.clone() })),
        }
    }
    // A rehash one side made after the other's is sequential; two that each side made alone
    // for the same version are not.
    let only = |x: &ReleaseLog, y: &ReleaseLog| -> Vec<Rehash> {
        rehashed(x).filter(|h| !rehashed(y).any(|o| same(o, h))).cloned().collect()
    };
    let (a_only, b_only) = (only(a, b), only(b, a));
    let mut clashing: Vec<i64> =
        a_only.iter().filter(|h| b_only.iter().any(|o| o.version == h.version)).map(|h| h.version).collect();
    clashing.dedup();
    findings.extend(clashing.into_iter().map(|v| clash(display, v, "rehashed")));
    if !findings.is_empty() {
        return Err(findings);
    }
    let mut log = ReleaseLog::default();
    releases.into_values().for_each(|r| log.push(LogLine::Release(r)));
    for h in rehashed(a).chain(&b_only) {
        log.push(LogLine::Rehash(Rehash { line: 0, ..h.clone() }));
    }
    Ok(log)
}

fn released(log: &ReleaseLog) -> impl Iterator<Item = &Released> {
    log.lines().iter().filter_map(|l| if let LogLine::Release(r) = l { Some(r) } else { None })
}

fn rehashed(log: &ReleaseLog) -> impl Iterator<Item = &Rehash> {
    log.lines().iter().filter_map(|l| if let LogLine::Rehash(h) = l { Some(h) } else { None })
}

/// The same rehash on both sides (their line numbers differ).
fn same(a: &Rehash, b: &Rehash) -> bool {
    (a.version, a.up, a.down, &a.reason) == (b.version, b.up, b.down, &b.reason)
}

fn clash(display: &str, version: i64, what: &str) -> Finding {
    Finding::error(
        Rule::LockConflict,
        display.to_owned(),
        format!("both sides {what} version {version}, with different files"),
    )
    .about(version)
    .help("two branches used the same version: keep one side's migration under that version")
    .help("give the other a fresh version with `cargo dbmigrate renumber <file>` (before it is released anywhere), then run `cargo dbmigrate release --resolve` again")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Migration;
    use crate::hash::ContentHash;

    fn m(version: i64, up: &str) -> Migration {
        Migration {
            version,
            name: format!("m{version}"),
            up_file: dbmigrate_core::file_name::up_file(version, &format!("m{version}")),
            up_hash: ContentHash::of(up),
            down_file: None,
            down_hash: None,
            raw_differs: false,
        }
    }

    fn log(entries: &[(i64, &str)]) -> ReleaseLog {
        let mut log = ReleaseLog::default();
        entries.iter().for_each(|(v, up)| log.record(&m(*v, up)));
        log
    }

    /// What git writes: the common first and last lines, the rest in one conflict block
    /// (with the base section when `base` is given, as `merge.conflictStyle=diff3` does).
    fn conflicted(a: &str, b: &str, base: Option<&str>) -> String {
        let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
        let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        let tail = a[head..].iter().rev().zip(b[head..].iter().rev()).take_while(|(x, y)| x == y).count();
        let mut out: Vec<String> = a[..head].iter().map(|l| l.to_string()).collect();
        out.push("<<<<<<< HEAD".into());
        out.extend(a[head..a.len() - tail].iter().map(|l| l.to_string()));
        if let Some(base) = base {
            out.push("||||||| base".into());
            out.extend(base.lines().skip(head).map(str::to_owned));
        }
        out.push("=======".into());
        out.extend(b[head..b.len() - tail].iter().map(|l| l.to_string()));
        out.push(">>>>>>> feature".into());
        out.extend(a[a.len() - tail..].iter().map(|l| l.to_string()));
        out.join("\n") + "\n"
    }

    fn versions(log: &ReleaseLog) -> Vec<i64> {
        log.released().map(|r| r.version).collect()
    }

    #[test]
    fn a_lock_without_markers_has_nothing_to_resolve() {
        assert!(resolve(&log(&[(1, "a")]).render(), "lock").is_none());
    }

    #[test]
    fn both_sides_releases_are_kept_in_version_order_with_a_valid_chain() {
        let base = log(&[(1, "a")]);
        let ours = log(&[(1, "a"), (3, "c")]);
        let theirs = log(&[(1, "a"), (2, "b")]);
        for style in [None, Some(base.render())] {
            let text = conflicted(&ours.render(), &theirs.render(), style.as_deref());
            assert!(ReleaseLog::parse(&text, "lock").is_err(), "the conflicted text is refused as it is");
            let merged = resolve(&text, "lock").expect("a conflict").expect("mergeable");
            assert_eq!(versions(&merged), [1, 2, 3]);
            let reparsed = ReleaseLog::parse(&merged.render(), "lock").expect("the merged lock parses");
            assert_eq!(versions(&reparsed), [1, 2, 3]);
            // The same result whichever side is first: a rebase sees the sides swapped.
            let swapped = conflicted(&theirs.render(), &ours.render(), None);
            assert_eq!(resolve(&swapped, "lock").expect("a conflict").expect("mergeable").render(), merged.render());
        }
    }

    #[test]
    fn the_same_version_released_with_different_files_is_refused_naming_it() {
        let text = conflicted(&log(&[(1, "a"), (2, "b")]).render(), &log(&[(1, "a"), (2, "other")]).render(), None);
        let findings = resolve(&text, "lock").expect("a conflict").expect_err("clash");
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.contains("both sides released version 2"), "{}", findings[0].message);
        assert!(findings[0].help.iter().any(|h| h.contains("cargo dbmigrate renumber")));
    }

    #[test]
    fn rehashes_are_kept_and_independent_rehashes_of_one_version_are_refused() {
        let mut ours = log(&[(1, "a"), (2, "b")]);
        ours.rehash(&m(1, "a2"), "fix");
        let theirs = log(&[(1, "a"), (3, "c")]);
        let text = conflicted(&ours.render(), &theirs.render(), None);
        let merged = resolve(&text, "lock").expect("a conflict").expect("mergeable");
        assert_eq!(merged.expected(1).expect("released").up, ContentHash::of("a2"));
        assert_eq!(versions(&merged), [1, 2, 3]);

        let mut theirs = log(&[(1, "a"), (3, "c")]);
        theirs.rehash(&m(1, "a3"), "other fix");
        let text = conflicted(&ours.render(), &theirs.render(), None);
        let findings = resolve(&text, "lock").expect("a conflict").expect_err("clash");
        assert!(findings[0].message.contains("both sides rehashed version 1"), "{}", findings[0].message);
    }

    #[test]
    fn a_side_edited_by_hand_is_reported_not_merged() {
        let ours = log(&[(1, "a"), (2, "b")]).render().replace("V2 m2", "V2 m9");
        let text = conflicted(&ours, &log(&[(1, "a"), (3, "c")]).render(), None);
        let findings = resolve(&text, "lock").expect("a conflict").expect_err("bad side");
        assert!(findings.iter().all(|f| f.rule == Rule::LockMalformed), "{findings:?}");
    }
}
