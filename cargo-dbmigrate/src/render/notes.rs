//! The operations' notes as Cargo-style status lines on stderr, with a progress bar instead of
//! per-migration lines when stderr is a terminal and there is more than a moment of work.

use crate::ops::Note;
use crate::shell::{Shell, Verbosity};
use dbmigrate_runtime::{Direction, Event};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// Shows notes on `shell`; keeps the progress bar between them.
pub struct Notes<'a> {
    shell: &'a Shell,
    bar: Option<ProgressBar>,
}

impl<'a> Notes<'a> {
    pub fn new(shell: &'a Shell) -> Self {
        Self { shell, bar: None }
    }

    /// Shows one note.
    pub fn show(&mut self, note: Note<'_>) {
        let shell = self.shell;
        match note {
            Note::Finding(f) => shell.raw(super::finding::render(f, shell.styled())),
            Note::Target(chosen) => {
                super::json::remember_target(chosen);
                shell.status("Database", format!("{} ({})", chosen.url, chosen.source));
            }
            Note::Connecting(url) => shell.verbose("Connecting", url),
            Note::UpToDate => {
                shell.verbose("Up to date", "the history matches the unchanged migrations folder; no file was read");
            }
            Note::BackupSkipped => shell.verbose("Skipping", "backup of an in-memory database"),
            Note::BackingUp { database, dir } => shell.status("Backing up", format!("{database} to {dir}")),
            Note::BackedUp { backup, took } => shell.status(
                "Backed up",
                format!("{} ({}, {:.2}s)", backup.path, super::size(backup.bytes), took.as_secs_f64()),
            ),
            Note::Migration(event) => self.migration(event),
            Note::MigrationsDone => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
            }
            Note::Failed { direction, applied, half_applied } => {
                let verb = if direction == Direction::Up { "applied" } else { "reverted" };
                let half = half_applied.map(|f| format!("; {f} was left half applied (dirty)")).unwrap_or_default();
                // "applied before the failure: none" read as if something had been tried; a
                // refusal before the first migration tried nothing. A redo reverts, then
                // applies: each half is listed with its own verb.
                let (ours, other): (Vec<_>, Vec<_>) = applied.iter().cloned().partition(|a| a.direction == direction);
                let then = match other.as_slice() {
                    [] => String::new(),
                    other => format!("; then applied: {}", done_list(other, shell.verbosity())),
                };
                match applied {
                    [] if half.is_empty() => shell.note(format!("nothing was {verb}")),
                    [] => shell.note(format!("no migration was {verb} whole{half}")),
                    _ => shell.note(format!(
                        "{verb} before the failure: {}{then}{half}",
                        done_list(&ours, shell.verbosity())
                    )),
                }
            }
            Note::Retrying { error, wait, attempt, of } => {
                shell.warn(format!("{error}; retrying in {:.1}s ({attempt}/{of})", wait.as_secs_f64()));
            }
            Note::Restoring { database, from } => {
                shell.status("Restoring", format!("{database} from {from}"));
            }
            Note::Warning(text) => shell.warn(text),
            // The command that writes files names them itself.
            Note::Wrote { .. } => {}
            Note::ReusedSchema(path) => shell.verbose(
                "Reused",
                format!("the replayed schema from {} (the migrations are unchanged)", path.display()),
            ),
            Note::ReusedDesired(path) => shell.verbose(
                "Reused",
                format!("the desired schema from {} (the schema file is unchanged)", path.display()),
            ),
            Note::Restored { database, version } => {
                shell.status("Restored", format!("{database} to version {}", dbmigrate_core::version::display(version)))
            }
        }
    }

    fn migration(&mut self, event: &Event) {
        match event {
            Event::Started { version, name, index, total, direction } => {
                let verb = if *direction == Direction::Up { "Applying" } else { "Reverting" };
                let wants_bar =
                    *total > 5 && std::io::stderr().is_terminal() && self.shell.verbosity() == Verbosity::Normal;
                if wants_bar && self.bar.is_none() {
                    self.bar = Some(progress_bar(*total, verb));
                }
                match &self.bar {
                    Some(bar) => {
                        bar.set_position(*index as u64);
                        bar.set_message(dbmigrate_core::label(*version, name));
                    }
                    None => self.shell.status(verb, dbmigrate_core::label(*version, name)),
                }
            }
            // As Cargo's "Blocking waiting for file lock on package cache": once, before the wait.
            Event::WaitingForLock { holder } => {
                let by = holder.as_deref().map(|h| format!(" held by {h}")).unwrap_or_default();
                self.shell.status("Blocking", format!("waiting for the migration lock{by}"));
            }
            Event::Finished { version, name, duration, .. } => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
                let label = dbmigrate_core::label(*version, name);
                self.shell.verbose("Done", format!("{label} in {:.3}s", duration.as_secs_f64()));
            }
            Event::Rehashed { version, name, reason } => self
                .shell
                .status("Rehashed", format!("{} in the history: {reason}", dbmigrate_core::label(*version, name))),
            Event::Renumbered { from, to, name } => self.shell.status(
                "Renumbered",
                format!(
                    "{} → {} in the history (same migration)",
                    dbmigrate_core::label(*from, name),
                    dbmigrate_core::label(*to, name)
                ),
            ),
            Event::OutOfOrder { version, name, newest } => self.shell.status(
                "Out of order",
                format!(
                    "{} applied after the newer V{newest} (--allow-out-of-order)",
                    dbmigrate_core::label(*version, name)
                ),
            ),
        }
    }
}

/// What was done before a failure: every label, or for a long list (a failed `down --to 0`
/// of hundreds) the count, the first and the last, unless `-v` asks for all.
fn done_list(applied: &[dbmigrate_runtime::Applied], verbosity: Verbosity) -> String {
    const LONG: usize = 8;
    let label = |a: &dbmigrate_runtime::Applied| dbmigrate_core::label(a.version, &a.name);
    match applied {
        [] => "nothing".to_owned(),
        [first, .., last] if applied.len() > LONG && verbosity < Verbosity::Verbose => {
            format!("{} migrations, {} … {} (-v lists them all)", applied.len(), label(first), label(last))
        }
        all => all.iter().map(label).collect::<Vec<_>>().join(", "),
    }
}

fn progress_bar(total: usize, verb: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) = ProgressStyle::with_template("{prefix:>12.green.bold} [{bar:30}] {pos}/{len} {wide_msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(verb);
    bar
}

/// The database a command worked on, for its JSON document: the redacted URL and where it
/// came from (`flag`, `env`, `dotenv`, `default`), with the variable and file when there is one.
pub fn target_json(chosen: &crate::ops::session::Chosen) -> serde_json::Value {
    use crate::ops::session::UrlSource;
    let (source, var, file) = match &chosen.source {
        UrlSource::Flag => ("flag", None, None),
        UrlSource::Env(var) => ("env", Some(var.as_str()), None),
        UrlSource::DotEnv { var, file } => ("dotenv", Some(var.as_str()), Some(file.display().to_string())),
        UrlSource::Default => ("default", None, None),
    };
    serde_json::json!({ "url": chosen.url.to_string(), "source": source, "variable": var, "file": file })
}
