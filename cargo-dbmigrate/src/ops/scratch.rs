//! Scratch databases for autogenerate and verify: uniquely named, on the server the user names
//! (`--dev-url`) or a SQLite file in a temporary folder, and always dropped afterwards — on
//! success, on error, and on Ctrl-C or SIGTERM.

use crate::CliError;
use dbmigrate_runtime::{DatabaseUrl, Dialect, admin};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::Duration;

/// How long creating or dropping a scratch database may wait for the server.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The scratch databases alive now, dropped by the signal watcher before the process exits.
static LIVE: Mutex<Vec<DatabaseUrl>> = Mutex::new(Vec::new());

/// The folders of live SQLite scratch files, removed by the signal watcher (a `TempDir` is
/// removed on drop, which `process::exit` skips).
static LIVE_DIRS: Mutex<Vec<std::path::PathBuf>> = Mutex::new(Vec::new());

/// Set by the signal watcher: the work failing under it (its database dropped) must not end
/// the process with its own error before the watcher exits with 130.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// `CREATE DATABASE` statements in flight. A drop sent while one runs finds nothing, and the
/// database appears after it: the watcher waits for them (bounded) before dropping.
static CREATING: AtomicU32 = AtomicU32::new(0);

/// A database that exists only for one command; dropped (and proven gone) when this is dropped.
#[derive(Debug)]
pub struct Scratch {
    url: DatabaseUrl,
    /// The folder of a SQLite scratch file, removed with it.
    _dir: Option<tempfile::TempDir>,
}

impl Scratch {
    /// A new, empty scratch database: on the server of `dev_url` (its database name is
    /// replaced by a unique one), or a SQLite file in a temporary folder when `dev_url` is
    /// `None`. `purpose` goes into the name (`dbmigrate_diff_…`) so a stray one is recognised.
    pub fn create(dev_url: Option<&DatabaseUrl>, purpose: &str) -> Result<Scratch, CliError> {
        watch_signals();
        let Some(server) = dev_url.filter(|u| u.dialect() != Dialect::Sqlite) else {
            let dir =
                tempfile::tempdir().map_err(|e| CliError::failure(format!("cannot create a scratch folder: {e}")))?;
            let file = dir.path().join(format!("{purpose}.db"));
            let url = DatabaseUrl::parse(&format!("sqlite:{}", file.display()), dir.path())?;
            LIVE_DIRS.lock().unwrap_or_else(PoisonError::into_inner).push(dir.path().to_owned());
            return Ok(Scratch { url, _dir: Some(dir) });
        };
        let url = server.with_database(&unique_name(purpose));
        // Registered before it exists: a signal during CREATE still drops it.
        LIVE.lock().unwrap_or_else(PoisonError::into_inner).push(url.clone());
        CREATING.fetch_add(1, Ordering::SeqCst);
        let created = admin::create(&url, ADMIN_TIMEOUT);
        CREATING.fetch_sub(1, Ordering::SeqCst);
        if let Err(e) = created {
            forget(&url);
            return Err(CliError::from(e).hint(format!(
                "--dev-url must name a server where this user may create databases, e.g. {}",
                example(server.dialect())
            )));
        }
        Ok(Scratch { url, _dir: None })
    }

    /// [`Scratch::create`] on a thread, so that a server's `CREATE DATABASE` (hundreds of
    /// milliseconds: PostgreSQL copies its template) overlaps the caller's own start-up work.
    /// A SQLite file costs nothing and is created at once.
    pub fn create_in_background(dev_url: Option<&DatabaseUrl>, purpose: &'static str) -> Pending {
        match dev_url.filter(|u| u.dialect() != Dialect::Sqlite) {
            None => Pending(Some(Creation::Done(Box::new(Scratch::create(dev_url, purpose))))),
            Some(server) => {
                let server = server.clone();
                Pending(Some(Creation::Running(std::thread::spawn(move || Scratch::create(Some(&server), purpose)))))
            }
        }
    }

    /// The scratch database's URL.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }
}

/// A scratch database being created. Dropped without [`Pending::wait`] (the caller failed
/// first), it waits for the creation and drops the database: none outlives the process.
pub struct Pending(Option<Creation>);

enum Creation {
    Running(std::thread::JoinHandle<Result<Scratch, CliError>>),
    Done(Box<Result<Scratch, CliError>>),
}

impl Pending {
    /// The scratch database, once created.
    pub fn wait(mut self) -> Result<Scratch, CliError> {
        match self.0.take() {
            Some(Creation::Running(thread)) => {
                thread.join().unwrap_or_else(|_| Err(CliError::failure("creating the scratch database panicked")))
            }
            Some(Creation::Done(done)) => *done,
            None => Err(CliError::failure("the scratch database was already taken")),
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(Creation::Running(thread)) = self.0.take() {
            // The created database is dropped with the `Scratch` the thread returns.
            let _ = thread.join();
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(dir) = &self._dir {
            // The folder goes with the file when `_dir` drops.
            LIVE_DIRS.lock().unwrap_or_else(PoisonError::into_inner).retain(|d| d != dir.path());
            return;
        }
        while INTERRUPTED.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50)); // the watcher exits with 130
        }
        if let Err(e) = admin::drop_database(&self.url, ADMIN_TIMEOUT, true) {
            eprintln!("warning: the scratch database {} could not be dropped: {e}", self.url);
            eprintln!("hint: drop it with `cargo dbmigrate database drop --no-backup --database-url <its url>`");
        }
        forget(&self.url);
    }
}

fn forget(url: &DatabaseUrl) {
    LIVE.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|u| u.database() != url.database() || u.host() != url.host() || u.port() != url.port());
}

/// `dbmigrate_<purpose>_<pid>_<n>`: unique on the server for this process's lifetime.
fn unique_name(purpose: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("dbmigrate_{purpose}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

fn example(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Mysql => "mysql://root@127.0.0.1:3306/",
        _ => "postgres://postgres@127.0.0.1:5432/postgres",
    }
}

/// Waits until no `CREATE DATABASE` is in flight, at most a little longer than one may take
/// to connect; past that the drop is tried anyway and a leftover is named by its warning.
fn wait_for_creations() {
    let limit = std::time::Instant::now() + ADMIN_TIMEOUT + Duration::from_secs(5);
    while CREATING.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < limit {
        std::thread::sleep(Duration::from_millis(20));
    }
    if CREATING.load(Ordering::SeqCst) > 0 {
        eprintln!("warning: a scratch database was still being created after {ADMIN_TIMEOUT:?} (+5 s)");
    }
}

/// On the first SIGINT or SIGTERM, drops every live scratch database and exits with 130.
fn watch_signals() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        #[cfg(unix)]
        {
            let flag = Arc::new(AtomicBool::new(false));
            for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                if signal_hook::flag::register(signal, Arc::clone(&flag)).is_err() {
                    return;
                }
            }
            std::thread::spawn(move || {
                while !flag.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                INTERRUPTED.store(true, Ordering::SeqCst);
                wait_for_creations();
                let live = std::mem::take(&mut *LIVE.lock().unwrap_or_else(PoisonError::into_inner));
                for url in &live {
                    if let Err(e) = admin::drop_database(url, ADMIN_TIMEOUT, true) {
                        eprintln!("warning: the scratch database {url} could not be dropped: {e}");
                    }
                }
                for dir in LIVE_DIRS.lock().unwrap_or_else(PoisonError::into_inner).iter() {
                    let _ = std::fs::remove_dir_all(dir);
                }
                eprintln!("note: interrupted; the scratch databases were dropped");
                std::process::exit(130);
            });
        }
    });
}
