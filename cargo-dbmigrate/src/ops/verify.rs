//! Verify: on a scratch database, apply each migration, revert it and apply it again, and
//! prove from the catalog that the down undid the up and that the up can run again.

use super::Notify;
use crate::CliError;
use crate::workspace::Target;
use dbmigrate_build::internal::{Finding, RELEASE_LOG_FILE, ReleaseLog, Rule};
use dbmigrate_core::file_name::{FileKind, MigrationFileName};
use dbmigrate_runtime::snapshot::{self, Snapshotter};
use dbmigrate_runtime::{DatabaseUrl, Dialect, Engine, Event, Goal, MigrationScript, Reversibility};
use std::time::{Duration, Instant};

/// How many differing lines a finding shows.
const SHOWN_LINES: usize = 6;

/// What `verify` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `--dev-url`: the server to make the scratch database on.
    pub dev_url: Option<String>,
    /// `--all`: released migrations too.
    pub all: bool,
}

/// How one migration fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Up, down and up again, and the schemas agree.
    Passed,
    /// An error finding names what went wrong.
    Failed,
    /// No down: applied, not verified (a `no-down` warning).
    NoDown,
    /// Not reached: an earlier migration left the scratch database in an unknown state.
    NotRun,
}

impl Verdict {
    /// The word `--format json` and `-v` show.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
            Verdict::NoDown => "no-down",
            Verdict::NotRun => "not-run",
        }
    }
}

/// One migration's result.
#[derive(Debug, Clone)]
pub struct Checked {
    pub version: i64,
    /// The up file, relative to the crate.
    pub file: String,
    pub verdict: Verdict,
    /// Up, down and up again with the snapshots between them.
    pub took: Duration,
}

/// What `verify` found.
#[derive(Debug)]
pub struct Outcome {
    /// The dialect of the scratch database.
    pub dialect: Dialect,
    /// The migrations verified (or not), in version order.
    pub checked: Vec<Checked>,
    /// Released migrations left out (no `--all`).
    pub released_skipped: usize,
    /// Every finding, in version order.
    pub findings: Vec<Finding>,
}

impl Outcome {
    /// Whether a finding is an error (exit 1).
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(Finding::is_error)
    }
}

/// Whether the migrations folder shows an up file the release log does not hold: a quick look
/// (one listing) deciding whether to start the scratch database early. With every migration
/// released (verify's common no-op in CI) none is created at all.
fn has_unreleased(target: &Target) -> bool {
    let dir = target.migrations_dir();
    let (log, _) = ReleaseLog::read(dir.join(RELEASE_LOG_FILE).as_std_path(), RELEASE_LOG_FILE);
    let Ok(entries) = std::fs::read_dir(dir.as_std_path()) else { return true };
    entries.filter_map(Result::ok).any(|e| {
        let name = e.file_name();
        let parsed = name.to_str().and_then(|n| MigrationFileName::parse(n).ok().flatten());
        parsed.is_some_and(|f| f.kind == FileKind::Up && !log.contains(f.version))
    })
}

/// Verifies the unreleased migrations of `target` (every one with `all`) on a scratch database;
/// `progress` hears of each migration as it is done.
pub fn verify(
    target: &Target,
    request: &Request,
    notify: &mut Notify<'_>,
    progress: &mut dyn FnMut(&Checked),
) -> Result<Outcome, CliError> {
    let dev_url = dev_url(target, request)?;
    // Created while the files are read and checked; dropped unused if there is nothing to
    // verify or the files refuse.
    let early = request.all || has_unreleased(target);
    let pending = early.then(|| super::scratch::Scratch::create_in_background(dev_url.as_ref(), "verify"));
    let set = super::session::load_valid_set(target, notify)?;
    let scripts = super::session::scripts(&set);
    let (log, _) = ReleaseLog::read(&set.dir.join(RELEASE_LOG_FILE), RELEASE_LOG_FILE);
    let first = set.migrations.iter().position(|m| request.all || !log.contains(m.version));
    let dialect = dev_url.as_ref().map_or(Dialect::Sqlite, DatabaseUrl::dialect);
    let mut outcome = Outcome { dialect, checked: Vec::new(), released_skipped: 0, findings: Vec::new() };
    let Some(first) = first else {
        outcome.released_skipped = set.migrations.len();
        return Ok(outcome);
    };
    outcome.released_skipped = set.migrations[..first].iter().filter(|m| log.contains(m.version)).count();
    let scratch = match pending {
        Some(pending) => pending.wait()?,
        None => super::scratch::Scratch::create(dev_url.as_ref(), "verify")?,
    };
    let mut run = Run::open(target, scratch.url())?;
    if first > 0 {
        run.apply_before(&scripts, set.migrations[first - 1].version)?;
    }
    let mut stopped = false;
    for (i, m) in set.migrations.iter().enumerate().skip(first) {
        let file = set.display(&m.up_file);
        let checked = if stopped {
            Checked { version: m.version, file, verdict: Verdict::NotRun, took: Duration::ZERO }
        } else {
            let prev = i.checked_sub(1).map_or(0, |p| set.migrations[p].version);
            let (checked, findings, go_on) = run.one(&scripts, &scripts[i], prev, file)?;
            outcome.findings.extend(findings);
            stopped = !go_on;
            checked
        };
        progress(&checked);
        outcome.checked.push(checked);
    }
    drop(run);
    drop(scratch);
    Ok(outcome)
}

/// The server to verify on: `--dev-url`, else `None` for a SQLite scratch file, which only a
/// crate whose database is SQLite may use.
fn dev_url(target: &Target, request: &Request) -> Result<Option<DatabaseUrl>, CliError> {
    if let Some(text) = &request.dev_url {
        let url = DatabaseUrl::parse(text, target.dir().as_std_path()).map_err(|e| {
            CliError::usage(format!("invalid --dev-url: {e}")).hint(
                "e.g. --dev-url postgres://postgres@127.0.0.1:5432/postgres or --dev-url mysql://root@127.0.0.1:3306/",
            )
        })?;
        return Ok(Some(url));
    }
    let dialect = crate_dialect(target);
    if dialect == Dialect::Sqlite {
        return Ok(None);
    }
    let example = match dialect {
        Dialect::Mysql => "mysql://root@127.0.0.1:3306/",
        _ => "postgres://postgres@127.0.0.1:5432/postgres",
    };
    Err(CliError::usage(format!(
        "the database of `{}` is {}, and verify needs a scratch database on such a server",
        target.package,
        dialect.as_str()
    ))
    .hint(format!("pass a server where you may create databases: `cargo dbmigrate verify --dev-url {example}`")))
}

/// The crate's dialect: its database URL as `run` would choose it, else the first of
/// `config.target_dialects()` (when no URL can be chosen, e.g. in CI without one).
fn crate_dialect(target: &Target) -> Dialect {
    match super::session::database_url(target, &super::session::DbChoice::default()) {
        Ok(url) => url.dialect(),
        Err(_) => target.config.target_dialects().first().copied().unwrap_or(Dialect::Sqlite),
    }
}

/// An engine and a snapshot reader on the scratch database.
struct Run {
    engine: Engine,
    snap: Snapshotter,
}

impl Run {
    fn open(target: &Target, url: &DatabaseUrl) -> Result<Run, CliError> {
        let db = super::session::DbChoice::default();
        let options = super::session::engine_options(target, &db, false);
        let engine = Engine::connect(url, options)?;
        let snap = Snapshotter::connect(url, &target.config.history_table, db.connect_timeout)?;
        Ok(Run { engine, snap })
    }

    /// Applies the migrations up to `version`, the base the first verified one starts from.
    fn apply_before(&mut self, scripts: &[MigrationScript<'_>], version: i64) -> Result<(), CliError> {
        self.migrate(scripts, Goal::UpTo(version)).map_err(|e| {
            CliError::failure(format!("the migrations up to version {version} do not apply to an empty database: {e}"))
                .hint("fix the migration it names (`cargo dbmigrate run` on an empty database shows the same), or verify each one from the first with `cargo dbmigrate verify --all`")
        })
    }

    fn migrate(&mut self, scripts: &[MigrationScript<'_>], goal: Goal) -> Result<(), String> {
        let result = self.engine.migrate(scripts, goal, &mut |_: &Event| {});
        result.map(drop).map_err(|e| dbmigrate_runtime::Error::from(e).to_string())
    }

    fn schema(&mut self) -> Result<Vec<String>, CliError> {
        Ok(self.snap.snapshot()?)
    }

    /// Up, snapshot, down, snapshot, up, snapshot for `script` (whose predecessor is `prev`):
    /// its result, its findings, and whether the scratch database is fit for the next one.
    fn one(
        &mut self,
        scripts: &[MigrationScript<'_>],
        script: &MigrationScript<'_>,
        prev: i64,
        file: String,
    ) -> Result<(Checked, Vec<Finding>, bool), CliError> {
        let start = Instant::now();
        let v = script.version;
        let found = |rule, message: String| Finding::error(rule, file.clone(), message).about(v);
        let done = |verdict| Checked { version: v, file: file.clone(), verdict, took: start.elapsed() };
        if script.reversibility() != Reversibility::Reversible {
            if let Err(e) = self.migrate(scripts, Goal::UpTo(v)) {
                return Ok((done(Verdict::Failed), vec![up_failed(found(Rule::UpFailed, e))], false));
            }
            let warning = Finding::warning(
                Rule::NoDown,
                file.clone(),
                "no down file, or one with nothing to run: applied, not verified",
            )
            .about(v)
            .help(
                "write the down (the reverse of the up) next to the up file, then run `cargo dbmigrate verify` again",
            );
            return Ok((done(Verdict::NoDown), vec![warning], true));
        }
        let s0 = self.schema()?;
        if let Err(e) = self.migrate(scripts, Goal::UpTo(v)) {
            return Ok((done(Verdict::Failed), vec![up_failed(found(Rule::UpFailed, e))], false));
        }
        let s1 = self.schema()?;
        if let Err(e) = self.migrate(scripts, Goal::DownTo(prev)) {
            let f = found(Rule::DownFailed, format!("the down fails right after the up: {e}"))
                .help("fix the down file so that it reverts exactly what the up did");
            return Ok((done(Verdict::Failed), vec![f], false));
        }
        let s2 = self.schema()?;
        let mut findings = Vec::new();
        if let Some(lines) = differences(&s0, &s2, "after the down") {
            let f = found(Rule::DownIncomplete, format!("the down does not undo the up: {}", lines.0));
            findings.push(with_lines(f.help("make the down drop or restore each object named"), &lines.1));
        }
        if let Err(e) = self.migrate(scripts, Goal::UpTo(v)) {
            let f = found(Rule::UpNotRepeatable, format!("the up fails when applied again after the down: {e}"))
                .help("the down leaves something behind that the up creates; make the down remove it");
            findings.push(f);
            return Ok((done(Verdict::Failed), findings, false));
        }
        let s3 = self.schema()?;
        if let Some(lines) = differences(&s1, &s3, "after the up ran again") {
            let f = found(Rule::UpNotRepeatable, format!("the up gives another schema the second time: {}", lines.0));
            findings.push(with_lines(f.help("make the down restore what the up expects to find"), &lines.1));
        }
        let verdict = if findings.is_empty() { Verdict::Passed } else { Verdict::Failed };
        Ok((done(verdict), findings, true))
    }
}

fn up_failed(f: Finding) -> Finding {
    let message = format!("the up fails on a scratch database holding the migrations before it: {}", f.message);
    Finding { message, ..f }.help("fix the up file; `cargo dbmigrate run` on a fresh database fails the same way")
}

fn with_lines(mut f: Finding, lines: &[String]) -> Finding {
    for l in lines {
        f.help.push(l.clone());
    }
    f
}

/// How `after` differs from `before`: a sentence naming the first objects ("column users.phone
/// is still there after the down"), and the first differing lines with `-`/`+`; `None` when
/// they agree.
fn differences(before: &[String], after: &[String], when: &str) -> Option<(String, Vec<String>)> {
    let (gone, new) = snapshot::compare(before, after);
    if gone.is_empty() && new.is_empty() {
        return None;
    }
    let gone_objects: Vec<&str> = gone.iter().map(|l| snapshot::object_of(l)).collect();
    let new_objects: Vec<&str> = new.iter().map(|l| snapshot::object_of(l)).collect();
    let mut said = Vec::new();
    for o in &new_objects {
        let verb = if gone_objects.contains(o) { "differs" } else { "is still there" };
        said.push(format!("{o} {verb} {when}"));
    }
    said.extend(gone_objects.iter().filter(|o| !new_objects.contains(o)).map(|o| format!("{o} is missing {when}")));
    // The most specific objects first: a column says more than the table holding it.
    said.sort_by_key(|s| !s.starts_with("column"));
    let more = said.len().saturating_sub(3);
    let mut sentence = said.into_iter().take(3).collect::<Vec<_>>().join("; ");
    if more > 0 {
        sentence.push_str(&format!("; and {more} more"));
    }
    let lines = gone.iter().map(|l| format!("- {l}")).chain(new.iter().map(|l| format!("+ {l}")));
    Some((sentence, lines.take(SHOWN_LINES).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_column_first() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        let before = s(&["column users.id: integer", "table users: create table users (id)"]);
        let after =
            s(&["column users.id: integer", "column users.phone: text", "table users: create table users (id, phone)"]);
        let (sentence, lines) = differences(&before, &after, "after the down").expect("differs");
        assert_eq!(sentence, "column users.phone is still there after the down; table users differs after the down");
        assert_eq!(lines[0], "- table users: create table users (id)");
        assert!(differences(&before, &before, "x").is_none());
    }
}
