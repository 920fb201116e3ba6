//! The work behind the commands, as functions that return typed outcomes and report progress
//! as [`Note`]s: nothing here knows of clap, stdout or colours.
//!
//! Layers point one way: `commands` (arguments, rendering) → `ops` (the work) → the
//! mechanisms (`workspace`, `backup`, `uptodate`) and the engine.

pub mod autogen;
pub mod database;
pub mod deploy;
pub mod dotenv;
pub mod init;
pub mod merge_order;
pub mod new;
pub mod renumber;
pub mod replay_cache;
pub mod restore;
pub mod safety;
pub mod scratch;
pub mod session;
pub mod verify;
pub mod versions;

use crate::backup::Backup;
use camino::Utf8Path;
use dbmigrate_build::internal::Finding;
use dbmigrate_runtime::{Applied, DatabaseUrl, Direction, Error, Event};
use std::path::Path;
use std::time::Duration;

/// Something an operation did or is about to do, for the command to show as it sees fit.
#[derive(Debug)]
pub enum Note<'a> {
    /// A finding of the migration set (errors are followed by a refusal).
    Finding(&'a Finding),
    /// The database the command works on, and where its URL came from: said first.
    Target(&'a session::Chosen),
    /// About to connect.
    Connecting(&'a DatabaseUrl),
    /// The no-op fast path answered: the database is at the unchanged folder's newest version.
    UpToDate,
    /// No backup: the database lives in memory.
    BackupSkipped,
    /// A backup is being taken into `dir`.
    BackingUp { database: &'a str, dir: &'a Utf8Path },
    /// A backup was taken.
    BackedUp { backup: &'a Backup, took: Duration },
    /// The engine's progress through the migrations.
    Migration(&'a Event),
    /// The engine returned, successfully or not: no more [`Note::Migration`] follow.
    MigrationsDone,
    /// A migration failed; these were committed before it, and `half_applied` names the file
    /// the failure left dirty, if it did.
    Failed { direction: Direction, applied: &'a [Applied], half_applied: Option<&'a str> },
    /// A transient failure, tried again after `wait`.
    Retrying { error: &'a Error, wait: Duration, attempt: u32, of: u32 },
    /// A backup is being restored.
    Restoring { database: &'a str, from: &'a Utf8Path },
    /// A backup was restored after a failure.
    Restored { database: &'a str, version: Option<i64> },
    /// Something went wrong that does not fail the operation.
    Warning(&'a str),
    /// A file or folder was written.
    Wrote { path: &'a Path, created: bool },
    /// The migrations' schema was read from the replay cache at this path (the history is unchanged).
    ReusedSchema(&'a Path),
    /// The desired schema was read from the cache at this path (the schema file is unchanged).
    ReusedDesired(&'a Path),
}

/// Where an operation sends its notes.
pub type Notify<'n> = dyn FnMut(Note<'_>) + 'n;
