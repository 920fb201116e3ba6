//! Ctrl-C and SIGTERM during `run` or `down`: the first asks the deploy to stop before the next
//! migration (so nothing is left half done) and says so at once; the second stops the process.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Installs the handlers and returns the flag the first signal sets; `None` where signals are
/// not handled (not Unix, or the handlers could not be installed: then a signal ends the
/// process as before, which every migration's transaction already makes safe on PostgreSQL
/// and SQLite, and MySQL's progress marker makes visible).
pub fn stop_between_migrations() -> Option<Arc<AtomicBool>> {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let stop = Arc::new(AtomicBool::new(false));
        for signal in [SIGINT, SIGTERM] {
            // A second signal, once the flag is set, exits at once with 128 + SIGINT.
            signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop)).ok()?;
            signal_hook::flag::register(signal, Arc::clone(&stop)).ok()?;
        }
        announce(Arc::clone(&stop));
        Some(stop)
    }
    #[cfg(not(unix))]
    None
}

/// Says "stopping" on stderr as soon as the flag is set, from a thread of its own (a signal
/// handler may not print), so the user knows the first Ctrl-C was heard.
#[cfg(unix)]
fn announce(stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        eprintln!(
            "note: stopping after the migration in progress (it finishes or rolls back whole); press Ctrl-C again to stop at once"
        );
    });
}
