//! Ctrl-C and SIGTERM during `run`, `down` or `redo`: before the deploy changes anything
//! (connecting, waiting for the migration lock) the first stops the process at once; after,
//! it asks the deploy to stop before the next migration (so nothing is left half done) and
//! says so at once, and a second stops the process.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A deploy's view of the signals: whether one asked it to stop, and the moment from which a
/// stop must wait for the migration in progress.
#[derive(Debug, Clone)]
pub struct Stop {
    requested: Arc<AtomicBool>,
    /// Set under the lock by [`Stop::commit`]; the watcher reads it under the same lock, so a
    /// signal either ends the process before the deploy changes anything or waits for it.
    committed: Arc<Mutex<bool>>,
}

impl Stop {
    /// Whether a signal asked the deploy to stop.
    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// From now on the deploy changes the database (a backup, then migrations): a first signal
    /// stops it between migrations instead of ending the process.
    pub fn commit(&self) {
        *self.committed.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = true;
    }
}

/// Installs the handlers; `None` where signals are not handled (not Unix, or the handlers
/// could not be installed: then a signal ends the process as before, which every migration's
/// transaction already makes safe on PostgreSQL and SQLite, and MySQL's progress marker makes
/// visible).
pub fn stop_between_migrations() -> Option<Stop> {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let stop = Stop { requested: Arc::new(AtomicBool::new(false)), committed: Arc::new(Mutex::new(false)) };
        for signal in [SIGINT, SIGTERM] {
            // A second signal, once the flag is set, exits at once with 128 + SIGINT.
            signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop.requested)).ok()?;
            signal_hook::flag::register(signal, Arc::clone(&stop.requested)).ok()?;
        }
        watch(stop.clone());
        Some(stop)
    }
    #[cfg(not(unix))]
    None
}

/// Acts on the first signal from a thread of its own (a signal handler may not print): ends the
/// process when nothing was changed yet, else says "stopping" so the user knows it was heard.
#[cfg(unix)]
fn watch(stop: Stop) {
    std::thread::spawn(move || {
        while !stop.requested() {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let committed = stop.committed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !*committed {
            // Held while exiting: the deploy cannot start changing things meanwhile.
            eprintln!("note: stopped before anything was changed (while connecting or waiting for the migration lock)");
            std::process::exit(130);
        }
        eprintln!(
            "note: stopping after the migration in progress (it finishes or rolls back whole); press Ctrl-C again to stop at once"
        );
    });
}
