//! What a caller plugs into [`Engine::migrate`](crate::Engine::migrate) — a hook run before
//! anything changes, progress events — and the failure it gets back, which keeps the hook's own
//! error type and says what was done before it.

use std::convert::Infallible;
use std::fmt;
use std::time::Duration;

use crate::engine::Applied;
use crate::error::{Direction, Error};

/// What a migration is about to do, shown to [`Hooks::before_apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub direction: Direction,
    /// Highest applied version now.
    pub current: Option<i64>,
    /// The migrations about to be applied or reverted, in order: (version, name).
    pub migrations: Vec<(i64, String)>,
}

/// Progress reported while migrating; the engine itself prints nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Another migrator holds the migration lock: the call waits for it (up to
    /// [`Options::lock_timeout`](crate::Options)). Sent at most once per call, before the wait.
    WaitingForLock {
        /// Who holds it, when the backend can tell: `process 1234 (lock file …)` on SQLite,
        /// `pid 1234 (application) from 10.0.0.5` on PostgreSQL.
        holder: Option<String>,
    },
    Started {
        version: i64,
        name: String,
        direction: Direction,
        /// 0-based position in this call, out of `total`.
        index: usize,
        total: usize,
    },
    Finished {
        version: i64,
        name: String,
        direction: Direction,
        duration: Duration,
    },
    /// The history row of a migration applied before `release --rehash` now holds the file's
    /// checksum (before anything was applied; an audit row records it).
    Rehashed {
        version: i64,
        name: String,
        /// The reason recorded in the lock.
        reason: String,
    },
    /// The history row of a migration that `renumber` gave a new version moved to it (same
    /// name, same text; before anything was applied; an audit row records it).
    Renumbered {
        from: i64,
        to: i64,
        name: String,
    },
    /// The migration just applied is older than `newest`, already applied before the run
    /// (allowed by [`crate::Options::allow_out_of_order`]).
    OutOfOrder {
        version: i64,
        name: String,
        newest: i64,
    },
}

/// What a caller runs inside [`Engine::migrate`](crate::Engine::migrate). A closure taking
/// `&Event` is a `Hooks` that only watches progress.
pub trait Hooks {
    /// What `before_apply` fails with; it reaches the caller unchanged, as [`Cause::Hook`].
    type Error;

    /// Called under the migration lock once the plan is known, only when something will change,
    /// before anything does. This is where a deploy takes its backup: concurrent migrators wait
    /// on the lock, then find nothing to do, so exactly one backup is taken. An error aborts the
    /// call with nothing changed.
    fn before_apply(&mut self, planned: &Planned) -> Result<(), Self::Error> {
        let _ = planned;
        Ok(())
    }

    /// Called as each migration starts and finishes, and before waiting for another migrator.
    fn on_event(&mut self, event: &Event) {
        let _ = event;
    }

    /// Asked before each migration (not inside a single transaction for the whole run): `false`
    /// stops there with [`crate::Error::Interrupted`], every migration so far committed whole.
    /// This is how a CLI honours Ctrl-C without leaving anything half done.
    fn keep_going(&mut self) -> bool {
        true
    }
}

impl<F: FnMut(&Event)> Hooks for F {
    type Error = Infallible;

    fn on_event(&mut self, event: &Event) {
        self(event);
    }
}

/// Why a migration stopped.
#[derive(Debug)]
pub enum Cause<E> {
    /// The engine or the database failed.
    Engine(Error),
    /// [`Hooks::before_apply`] refused; nothing was changed.
    Hook(E),
}

/// A failed [`Engine::migrate`](crate::Engine::migrate): the cause, and what was done first.
#[derive(Debug)]
pub struct MigrateError<E = Infallible> {
    pub cause: Cause<E>,
    /// The migrations applied (or reverted) and committed before the failure, in order; empty
    /// in single-transaction mode, where the failure rolls the whole call back.
    pub applied: Vec<Applied>,
}

impl<E> MigrateError<E> {
    /// Whether a later try may succeed ([`Error::is_transient`]); a hook's refusal never is.
    pub fn is_transient(&self) -> bool {
        match &self.cause {
            Cause::Engine(e) => e.is_transient(),
            Cause::Hook(_) => false,
        }
    }
}

/// A failure before anything was applied.
impl<E> From<Error> for MigrateError<E> {
    fn from(e: Error) -> Self {
        MigrateError { cause: Cause::Engine(e), applied: Vec::new() }
    }
}

/// Without a hook that can fail, the engine's error (the list of what was applied is dropped).
impl From<MigrateError<Infallible>> for Error {
    fn from(e: MigrateError<Infallible>) -> Self {
        match e.cause {
            Cause::Engine(e) => e,
            Cause::Hook(never) => match never {},
        }
    }
}

impl<E: fmt::Display> fmt::Display for MigrateError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Cause::Engine(e) => e.fmt(f),
            Cause::Hook(e) => e.fmt(f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for MigrateError<E> {}
