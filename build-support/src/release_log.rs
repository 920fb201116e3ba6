//! The log of released migrations, `migrations/dbmigrate.lock`: what `cargo build` holds the files to.
//!
//! (Not to be confused with the engine's migration lock, which keeps two migrators apart: this
//! file keeps the name `dbmigrate.lock` because it locks released migrations against edits.)
//!
//! ```text
//! # dbmigrate.lock: the released migrations. Written by `cargo dbmigrate release`; do not edit.
//! total=5b1f0c3e9a2d4477
//! V20260101000000 create_users up=<sha256> down=<sha256> chain=0f3a…
//! V20260102000000 add_email up=<sha256> down=- chain=9c2e…
//! rehash V20260101000000 up=<sha256> down=<sha256> chain=77d1… reason="fix a comment"
//! ```
//!
//! Each entry carries a chain hash over the line before it and the header carries the last
//! chain, so two branches that each release a migration conflict in git instead of merging
//! silently (the idea behind Atlas's `atlas.sum`). Rehash lines are an audited escape hatch:
//! they replace the hashes of an already released migration, with the reason on record.

use crate::hash::ContentHash;
use crate::{Finding, Migration, Rule};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The release log's file name, inside the migrations folder.
pub const RELEASE_LOG_FILE: &str = "dbmigrate.lock";

const HEADER: &str = "\
# dbmigrate.lock: the released migrations. Written by `cargo dbmigrate release`; do not edit.
# A released migration must never change: add a new one with `cargo dbmigrate new`.
# A git conflict here means two branches released migrations: keep both sides' migration
# files and run `cargo dbmigrate release --resolve` (the same after a merge or a rebase).
";

/// The one instruction for a lock with git conflict markers, after a merge or a rebase alike:
/// "ours" and "theirs" swap meaning during a rebase, so nothing here names a side.
pub const CONFLICT_HELP: &[&str] = &[
    "keep both sides' migration files, then run `cargo dbmigrate release --resolve`: it rebuilds the lock from both sides' releases (the same after a merge or a rebase)",
    "then `git add migrations/dbmigrate.lock` and continue the merge or rebase",
];

/// What a lock edited by hand (no conflict markers, but lines that do not add up) takes.
pub const MALFORMED_HELP: &[&str] = &[
    "the lock is written only by `cargo dbmigrate release`: restore it from version control as that command wrote it (e.g. `git checkout HEAD -- migrations/dbmigrate.lock`)",
    "then re-run `cargo dbmigrate release` to lock any unreleased migrations",
];

/// One line of the release log: a release or a rehash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogLine {
    /// A released migration.
    Release(Released),
    /// New hashes for a released migration, with the reason.
    Rehash(Rehash),
}

/// A released migration as the lock records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Released {
    /// Its version.
    pub version: i64,
    /// Its name (after `__`).
    pub name: String,
    /// The hash of its normalised up SQL.
    pub up: ContentHash,
    /// The hash of its normalised down SQL, if it had a down file.
    pub down: Option<ContentHash>,
    /// The 1-based line in the lock (0 for lines not yet written).
    pub line: usize,
}

/// A deliberate change of a released migration, recorded by `release --rehash`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rehash {
    /// The released version it changes.
    pub version: i64,
    /// The new up hash.
    pub up: ContentHash,
    /// The new down hash.
    pub down: Option<ContentHash>,
    /// Why, as given with `--reason`.
    pub reason: String,
    /// The 1-based line in the lock (0 for lines not yet written).
    pub line: usize,
}

/// The parsed release log. An absent file is an empty log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReleaseLog {
    /// The lines in file order: releases in version order, rehashes where they were added.
    lines: Vec<LogLine>,
    /// Each released version with its hashes after every rehash: lookups stay O(log n) for
    /// locks of thousands of migrations.
    current: BTreeMap<i64, Released>,
}

impl ReleaseLog {
    /// Reads the lock at `path`; `display` names it in findings. A missing file is an empty
    /// lock. On any finding the returned lock is empty, since nothing in it can be trusted.
    pub fn read(path: &Path, display: &str) -> (Self, Vec<Finding>) {
        match std::fs::read_to_string(path) {
            Ok(text) => match Self::parse(&text, display) {
                Ok(log) => (log, Vec::new()),
                Err(findings) => (Self::default(), findings),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Self::default(), Vec::new()),
            Err(e) => (
                Self::default(),
                vec![Finding::error(Rule::LockUnreadable, display.to_owned(), format!("cannot read the lock: {e}"))],
            ),
        }
    }

    /// Parses the text of a lock, checking the chain and the total.
    pub fn parse(text: &str, display: &str) -> Result<Self, Vec<Finding>> {
        let text = crate::hash::normalize(text);
        let conflicts = conflict_findings(&text, display);
        if !conflicts.is_empty() {
            return Err(conflicts);
        }
        let mut parser =
            Parser { display, log: Self::default(), chain: String::new(), total: None, findings: Vec::new() };
        for (i, raw) in text.lines().enumerate() {
            parser.line(i + 1, raw);
        }
        parser.finish()
    }

    /// The lock's text: header, total, then one line per entry.
    pub fn render(&self) -> String {
        let mut body = String::new();
        let mut chain = String::new();
        for line in &self.lines {
            let content = line.content();
            chain = chain_hash(&chain, &content);
            body.push_str(&line.with_chain(&content, &chain));
            body.push('\n');
        }
        format!("{HEADER}total={}\n{body}", total_of(&chain))
    }

    /// The lines in file order.
    pub fn lines(&self) -> &[LogLine] {
        &self.lines
    }

    /// The released migrations in version order, with their hashes after every rehash (`line`
    /// stays the line of the release).
    pub fn released(&self) -> impl Iterator<Item = &Released> {
        self.current.values()
    }

    /// The released migration `version` with its hashes after every rehash.
    pub fn expected(&self, version: i64) -> Option<Released> {
        self.current.get(&version).cloned()
    }

    /// The reason of the newest rehash of `version`, if it was ever rehashed: the engine trusts
    /// a history row of it holding another checksum (applied before the rehash) and updates it.
    pub fn rehash_reason(&self, version: i64) -> Option<&str> {
        self.lines.iter().rev().find_map(|line| match line {
            LogLine::Rehash(h) if h.version == version => Some(h.reason.as_str()),
            _ => None,
        })
    }

    /// Whether `version` is released.
    pub fn contains(&self, version: i64) -> bool {
        self.current.contains_key(&version)
    }

    /// The newest released version.
    pub fn newest(&self) -> Option<i64> {
        self.current.keys().next_back().copied()
    }

    /// Appends a line, keeping the index current.
    pub(crate) fn push(&mut self, line: LogLine) {
        match &line {
            LogLine::Release(r) => {
                self.current.insert(r.version, r.clone());
            }
            LogLine::Rehash(h) => {
                if let Some(r) = self.current.get_mut(&h.version) {
                    (r.up, r.down) = (h.up, h.down);
                }
            }
        }
        self.lines.push(line);
    }

    /// Records `migration` as released (the caller keeps versions increasing).
    pub fn record(&mut self, migration: &Migration) {
        self.push(LogLine::Release(Released {
            version: migration.version,
            name: migration.name.clone(),
            up: migration.up_hash,
            down: migration.down_hash,
            line: 0,
        }));
    }

    /// Records new hashes for the released `migration`, with the reason.
    pub fn rehash(&mut self, migration: &Migration, reason: &str) {
        let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
        self.push(LogLine::Rehash(Rehash {
            version: migration.version,
            up: migration.up_hash,
            down: migration.down_hash,
            reason,
            line: 0,
        }));
    }
}

impl LogLine {
    /// The line without its chain field: what the chain hashes.
    fn content(&self) -> String {
        let down = |d: &Option<ContentHash>| d.map_or_else(|| "-".to_owned(), |h| h.to_string());
        match self {
            Self::Release(r) => format!("V{} {} up={} down={}", r.version, r.name, r.up, down(&r.down)),
            Self::Rehash(h) => format!("rehash V{} up={} down={}", h.version, h.up, down(&h.down)),
        }
    }

    fn with_chain(&self, content: &str, chain: &str) -> String {
        match self {
            Self::Release(_) => format!("{content} chain={chain}"),
            Self::Rehash(h) => format!("{content} chain={chain} reason=\"{}\"", h.reason),
        }
    }
}

/// The chain of a line: 16 hex digits of SHA-256 over the previous chain and the line.
fn chain_hash(previous: &str, content: &str) -> String {
    let digest = Sha256::new().chain_update(previous).chain_update("\n").chain_update(content).finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The header's total: the last chain (the chain of nothing for an empty lock).
fn total_of(last_chain: &str) -> String {
    if last_chain.is_empty() { chain_hash("", "") } else { last_chain.to_owned() }
}

/// One finding per git conflict block, pointing at its `<<<<<<<` line.
fn conflict_findings(text: &str, display: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut start = None;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("<<<<<<<") {
            start = Some((i + 1, line.to_owned()));
        } else if line.starts_with(">>>>>>>") {
            let (first, text) = start.take().unwrap_or((i + 1, line.to_owned()));
            let message = format!("unresolved git merge conflict in the lock (lines {first}-{})", i + 1);
            findings.push(with_help(
                Finding::error(Rule::LockConflict, display.to_owned(), message).at_line(first, text),
                CONFLICT_HELP,
            ));
        }
    }
    if let Some((first, text)) = start {
        let message = format!("unresolved git merge conflict in the lock (from line {first})");
        findings.push(with_help(
            Finding::error(Rule::LockConflict, display.to_owned(), message).at_line(first, text),
            CONFLICT_HELP,
        ));
    }
    findings
}

fn with_help(finding: Finding, help: &[&str]) -> Finding {
    help.iter().fold(finding, |f, h| f.help(*h))
}

/// Line-by-line parsing state.
struct Parser<'a> {
    display: &'a str,
    log: ReleaseLog,
    chain: String,
    total: Option<(usize, String)>,
    findings: Vec<Finding>,
}

impl Parser<'_> {
    fn line(&mut self, number: usize, raw: &str) {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            return;
        }
        if let Some(total) = line.strip_prefix("total=") {
            match &self.total {
                None => self.total = Some((number, total.to_owned())),
                Some(_) => self.fail(number, raw, "a second `total=` line"),
            }
            return;
        }
        let parsed = match line.strip_prefix("rehash ") {
            Some(rest) => parse_rehash(rest, number).map(|(r, c)| (LogLine::Rehash(r), c)),
            None => parse_release(line, number).map(|(r, c)| (LogLine::Release(r), c)),
        };
        match parsed {
            Ok((entry, chain)) => self.push(number, raw, entry, chain),
            Err(why) => self.fail(number, raw, &why),
        }
    }

    fn push(&mut self, number: usize, raw: &str, entry: LogLine, chain: String) {
        let expected = chain_hash(&self.chain, &entry.content());
        if chain != expected {
            self.fail(
                number,
                raw,
                "the chain hash does not follow from the line before: the lock was edited or merged by hand",
            );
        }
        if let Err(why) = self.check_order(&entry) {
            self.fail(number, raw, &why);
        }
        self.chain = expected;
        self.log.push(entry);
    }

    fn check_order(&self, entry: &LogLine) -> Result<(), String> {
        match entry {
            LogLine::Release(r) => match self.log.newest() {
                Some(newest) if r.version <= newest => {
                    Err(format!("version {} is not greater than the released version {newest} before it", r.version))
                }
                _ => Ok(()),
            },
            LogLine::Rehash(h) if !self.log.contains(h.version) => {
                Err(format!("rehash of version {}, which is not released above it", h.version))
            }
            LogLine::Rehash(_) => Ok(()),
        }
    }

    fn fail(&mut self, number: usize, raw: &str, why: &str) {
        let finding =
            Finding::error(Rule::LockMalformed, self.display.to_owned(), format!("malformed lock line: {why}"))
                .at_line(number, raw);
        self.findings.push(with_help(finding, MALFORMED_HELP));
    }

    fn finish(mut self) -> Result<ReleaseLog, Vec<Finding>> {
        let expected = total_of(&self.chain);
        match self.total.clone() {
            None if !self.log.lines.is_empty() => {
                let finding =
                    Finding::error(Rule::LockMalformed, self.display.to_owned(), "the lock has no `total=` line");
                self.findings.push(with_help(finding, MALFORMED_HELP));
            }
            Some((number, total)) if total != expected && self.findings.is_empty() => {
                let why = format!(
                    "the total is `{total}` but the lines add up to `{expected}`: the lock was edited or merged by hand"
                );
                self.fail(number, &format!("total={total}"), &why);
            }
            _ => {}
        }
        if self.findings.is_empty() { Ok(self.log) } else { Err(self.findings) }
    }
}

/// Splits `key=value` fields; `reason="…"` runs to the end of the line.
fn fields(line: &str) -> (Vec<&str>, Option<&str>) {
    let (head, reason) = match line.split_once(" reason=") {
        Some((head, reason)) => (head, Some(reason.trim().trim_start_matches('"').trim_end_matches('"'))),
        None => (line, None),
    };
    (head.split_whitespace().collect(), reason)
}

fn field<'a>(token: Option<&&'a str>, key: &str) -> Result<&'a str, String> {
    token
        .and_then(|t| t.strip_prefix(key))
        .and_then(|t| t.strip_prefix('='))
        .ok_or_else(|| format!("expected `{key}=…`"))
}

fn parse_hash(text: &str, what: &str) -> Result<ContentHash, String> {
    ContentHash::from_hex(text).ok_or_else(|| format!("the {what} hash `{text}` is not 64 hex digits"))
}

fn parse_down(text: &str) -> Result<Option<ContentHash>, String> {
    if text == "-" { Ok(None) } else { parse_hash(text, "down").map(Some) }
}

fn parse_version(token: Option<&&str>) -> Result<i64, String> {
    let token = token.ok_or("expected a version like `V20260101000000`")?;
    token
        .strip_prefix('V')
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("`{token}` is not a version like `V20260101000000`"))
}

fn parse_release(line: &str, number: usize) -> Result<(Released, String), String> {
    let (tokens, reason) = fields(line);
    if reason.is_some() || tokens.len() != 5 {
        return Err("expected `V<version> <name> up=<hash> down=<hash or -> chain=<hash>`".to_owned());
    }
    let version = parse_version(tokens.first())?;
    let name = tokens[1].to_owned();
    let up = parse_hash(field(tokens.get(2), "up")?, "up")?;
    let down = parse_down(field(tokens.get(3), "down")?)?;
    let chain = field(tokens.get(4), "chain")?.to_owned();
    Ok((Released { version, name, up, down, line: number }, chain))
}

fn parse_rehash(rest: &str, number: usize) -> Result<(Rehash, String), String> {
    let (tokens, reason) = fields(rest);
    let reason = reason.filter(|r| !r.trim().is_empty()).ok_or("a rehash line needs a `reason=\"…\"`")?;
    if tokens.len() != 4 {
        return Err("expected `rehash V<version> up=<hash> down=<hash or -> chain=<hash> reason=\"…\"`".to_owned());
    }
    let version = parse_version(tokens.first())?;
    let up = parse_hash(field(tokens.get(1), "up")?, "up")?;
    let down = parse_down(field(tokens.get(2), "down")?)?;
    let chain = field(tokens.get(3), "chain")?.to_owned();
    Ok((Rehash { version, up, down, reason: reason.to_owned(), line: number }, chain))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migration(version: i64, name: &str, up: &str, down: Option<&str>) -> Migration {
        Migration {
            version,
            name: name.to_owned(),
            up_file: dbmigrate_core::file_name::up_file(version, name),
            up_hash: ContentHash::of(up),
            down_file: down.map(|_| dbmigrate_core::file_name::down_file(version, name)),
            down_hash: down.map(ContentHash::of),
            raw_differs: false,
        }
    }

    fn sample() -> ReleaseLog {
        let mut lock = ReleaseLog::default();
        lock.record(&migration(1, "a", "create table a(id int);", Some("drop table a;")));
        lock.record(&migration(2, "b", "create table b(id int);", None));
        lock.rehash(&migration(1, "a", "create table a (id int);", Some("drop table a;")), "fix\nspacing ");
        lock
    }

    const D: &str = "migrations/dbmigrate.lock";

    #[test]
    fn round_trips() {
        let text = sample().render();
        let parsed = ReleaseLog::parse(&text, D).expect("parses");
        assert_eq!(parsed.render(), text);
        assert!(text.contains("reason=\"fix spacing\""), "{text}");
        assert_eq!(parsed.expected(1).map(|r| r.up), Some(ContentHash::of("create table a (id int);")));
        assert_eq!(parsed.newest(), Some(2));
        assert!(ReleaseLog::parse(&text.replace('\n', "\r\n"), D).is_ok());
    }

    #[test]
    fn empty_lock_round_trips() {
        let text = ReleaseLog::default().render();
        assert_eq!(ReleaseLog::parse(&text, D), Ok(ReleaseLog::default()));
        assert_eq!(ReleaseLog::parse("", D), Ok(ReleaseLog::default()));
    }

    #[test]
    fn conflict_markers_name_their_lines() {
        let text = sample().render();
        let conflicted =
            text.replacen("total=", "<<<<<<< HEAD\ntotal=", 1).replacen("\nV1 ", "\n=======\n>>>>>>> other\nV1 ", 1);
        let findings = ReleaseLog::parse(&conflicted, D).expect_err("conflict");
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, Rule::LockConflict);
        assert_eq!(findings[0].line.as_ref().map(|l| l.0), Some(5));
        assert!(findings[0].message.contains("lines 5-8"), "{}", findings[0].message);
        assert_eq!(findings[0].help, CONFLICT_HELP);
    }

    #[test]
    fn hand_edits_break_the_chain() {
        let text = sample().render();
        let other = ContentHash::of("x").to_string();
        let edited = text.replacen(&ContentHash::of("create table b(id int);").to_string(), &other, 1);
        let findings = ReleaseLog::parse(&edited, D).expect_err("edited");
        assert!(findings[0].message.contains("chain hash"), "{}", findings[0].message);
        // Two branches' lines kept side by side: the second no longer follows the first.
        let mut a = ReleaseLog::default();
        a.record(&migration(1, "a", "x", None));
        let mut b = a.clone();
        a.record(&migration(2, "b", "y", None));
        b.record(&migration(3, "c", "z", None));
        let merged = format!("{}{}", a.render(), b.render().lines().last().unwrap_or_default());
        assert!(ReleaseLog::parse(&merged, D).is_err());
    }

    #[test]
    fn garbage_lines_are_reported_with_their_number() {
        let text = format!("{}nonsense here\n", sample().render());
        let findings = ReleaseLog::parse(&text, D).expect_err("garbage");
        let (number, line) = findings[0].line.clone().expect("line");
        assert_eq!((number, line.as_str()), (text.lines().count(), "nonsense here"));
    }
}
