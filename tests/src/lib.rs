//! Shared helpers for the end-to-end tests: the real CLI binary, throwaway crates built with a
//! real `cargo build`, and snapshot assertions.

pub mod pg_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The root of this repository's workspace.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_owned()
}

/// The cargo that runs the tests (`$CARGO`), else `cargo` on PATH.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// The target folder the workspace builds into (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// The shared corpus of real migration histories: `$DBMIGRATE_CORPUS`, else `../shared/corpus`
/// beside the checkout. `None`, after saying why, where neither exists (a fresh clone on its
/// own); `.ci/run` sets `DBMIGRATE_REQUIRE_CORPUS`, so CI fails instead of skipping.
pub fn corpus_root() -> Option<PathBuf> {
    let root =
        std::env::var_os("DBMIGRATE_CORPUS").map_or_else(|| workspace_root().join("../shared/corpus"), PathBuf::from);
    if root.is_dir() {
        return Some(root);
    }
    assert!(
        std::env::var_os("DBMIGRATE_REQUIRE_CORPUS").is_none(),
        "the corpus is required but {} is missing",
        root.display()
    );
    eprintln!("skipped: no corpus at {} (set DBMIGRATE_CORPUS to run the real-history tests)", root.display());
    None
}

/// The `cargo-dbmigrate` binary, built once per test process (a no-op when it is up to date).
pub fn cli_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let status = Command::new(cargo())
            .args(["build", "--quiet", "-p", "cargo-dbmigrate", "--bin", "cargo-dbmigrate"])
            .current_dir(workspace_root())
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building cargo-dbmigrate failed");
        target_dir().join("debug").join(format!("cargo-dbmigrate{}", std::env::consts::EXE_SUFFIX))
    })
}

/// `cargo-dbmigrate dbmigrate` as cargo runs it, with a clean, colourless environment.
pub fn cli() -> snapbox::cmd::Command {
    snapbox::cmd::Command::new(cli_bin())
        .arg("dbmigrate")
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("DATABASE_URL")
        // CI sets `CI`, which refuses the crate's default database: tests choose their own.
        .env_remove("CI")
        .env_remove("NO_COLOR")
        .with_assert(assert())
}

/// Snapshot assertions: `SNAPSHOTS=overwrite` rewrites the expected files.
pub fn assert() -> snapbox::Assert {
    snapbox::Assert::new().action_env("SNAPSHOTS")
}

/// A throwaway crate in a temp folder, its own workspace, building against this repository's
/// `dbmigrate-build` and sharing one target folder with every other fixture so dependencies
/// compile once.
pub struct Fixture {
    dir: tempfile::TempDir,
    fetched: std::cell::Cell<bool>,
}

impl Fixture {
    /// A binary crate named `name` with an empty `main`.
    pub fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new().prefix("dbm-fixture-").tempdir().expect("tempdir");
        let fixture = Self { dir, fetched: std::cell::Cell::new(false) };
        fixture.write(
            "Cargo.toml",
            &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n"),
        );
        fixture.write("src/main.rs", "fn main() {}\n");
        // Start from this workspace's lock file, so the fixture resolves to the versions this
        // workspace is tested with.
        std::fs::copy(workspace_root().join("Cargo.lock"), fixture.path().join("Cargo.lock")).expect("copy lock");
        fixture
    }

    /// The crate's folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (creating folders).
    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    /// Reads a file.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// The sorted file names in a folder of the crate.
    pub fn list(&self, rel: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path().join(rel))
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// `cargo-dbmigrate dbmigrate` run inside the crate.
    pub fn cli(&self) -> snapbox::cmd::Command {
        cli().current_dir(self.path())
    }

    /// `cargo dbmigrate init` pointed at this repository's build-support crate.
    pub fn init(&self) -> Output {
        let out = Command::new(cli_bin())
            .args(["dbmigrate", "init", "--dbmigrate-build-path"])
            .arg(workspace_root().join("build-support"))
            .current_dir(self.path())
            .output()
            .expect("run init");
        assert!(out.status.success(), "init failed: {}", String::from_utf8_lossy(&out.stderr));
        out
    }

    /// A real `cargo <args>` of the crate, offline, with the shared fixture target folder.
    pub fn cargo(&self, args: &[&str]) -> Output {
        self.fetch_once();
        Command::new(cargo())
            .args(args)
            .arg("--offline")
            .current_dir(self.path())
            .env("CARGO_TARGET_DIR", target_dir().join("fixtures"))
            .env("CARGO_TERM_COLOR", "never")
            .env_remove("DATABASE_URL")
            .output()
            .expect("run cargo")
    }

    /// Downloads what the crate needs, once, online: the build itself runs `--offline` so its
    /// output never shows downloads, and a fresh Cargo home has none of the crates a fixture's
    /// features add to the workspace's lock file.
    fn fetch_once(&self) {
        if self.fetched.replace(true) {
            return;
        }
        let out = Command::new(cargo())
            .args(["fetch", "--quiet"])
            .current_dir(self.path())
            .output()
            .expect("run cargo fetch");
        assert!(out.status.success(), "cargo fetch failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// `cargo build`, returning the output.
    pub fn build(&self) -> Output {
        self.cargo(&["build"])
    }
}

/// Stdout and stderr of an output, for assertion messages.
pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A copy of a test case's `in/` folder in a temp folder (`DirRoot` removes it on drop).
pub fn project_from(case_dir: &Path) -> snapbox::dir::DirRoot {
    snapbox::dir::DirRoot::mutable_temp()
        .and_then(|root| root.with_template(&case_dir.join("in")))
        .expect("copy the case's in/ folder")
}

/// Asserts the files of the case's `out/` folder match the project (other files are ignored);
/// `[CHECKOUT]` stands for this repository, which `init` names in the manifest.
#[track_caller]
pub fn assert_out(case_dir: &Path, root: &snapbox::dir::DirRoot) {
    assert()
        .redact_with(checkout_redactions())
        .subset_matches(case_dir.join("out"), root.path().expect("mutable root"));
}

/// `[CHECKOUT]` for this repository's folder: `init` by the binary built from it depends on its
/// crates by path.
pub fn checkout_redactions() -> snapbox::Redactions {
    let mut redactions = snapbox::Redactions::new();
    let real = workspace_root().canonicalize().unwrap_or_else(|_| workspace_root());
    redactions.insert("[CHECKOUT]", real).expect("redaction");
    redactions
}

/// The CLI run in `dir`, with `[ROOT]` standing for `dir` in snapshots.
pub fn cli_at(dir: &Path) -> snapbox::cmd::Command {
    let mut redactions = checkout_redactions();
    let real = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    redactions.insert("[ROOT]", real).expect("redaction");
    cli().current_dir(dir).with_assert(assert().redact_with(redactions))
}

/// A database backend the `db::` tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file in the fixture's folder.
    Sqlite,
    /// PostgreSQL at 127.0.0.1:5432, user postgres (trust).
    Postgres,
    /// MariaDB at 127.0.0.1:3306, root with an empty password.
    Mariadb,
}

impl Backend {
    /// Every backend.
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::Mariadb];

    /// A short name, for database names and messages.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "pg",
            Backend::Mariadb => "maria",
        }
    }
}

/// A fresh database of its own for one test, dropped when the guard is dropped (also when the
/// test fails). On SQLite it is a file in the fixture's folder.
pub struct TestDb {
    /// The backend.
    pub backend: Backend,
    /// The database's name (the file name on SQLite).
    pub name: String,
    /// The URL to pass to `--database-url`.
    pub url: String,
    sqlite_path: Option<PathBuf>,
}

impl TestDb {
    /// Creates an empty database `dbm_cli_<test>_<pid>_<n>` (SQLite: a file in `dir`).
    pub fn new(backend: Backend, test: &str, dir: &Path) -> Self {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("dbm_cli_{}_{test}_{}_{n}", backend.name(), std::process::id());
        let (url, sqlite_path) = match backend {
            Backend::Sqlite => {
                let path = dir.join(format!("{name}.db"));
                (format!("sqlite:{}", path.display()), Some(path))
            }
            Backend::Postgres => (format!("postgres://postgres@127.0.0.1:5432/{name}"), None),
            Backend::Mariadb => (format!("mysql://root@127.0.0.1:3306/{name}"), None),
        };
        let db = TestDb { backend, name, url, sqlite_path };
        db.admin(&format!("DROP DATABASE IF EXISTS {0}; CREATE DATABASE {0}", db.name));
        db
    }

    fn admin(&self, sql: &str) {
        let out = match self.backend {
            // An empty file is an empty SQLite database: it exists, as a server's new database
            // does, so the commands that only read (and never create a file) can open it.
            Backend::Sqlite => {
                let path = self.sqlite_path.as_ref().expect("sqlite path");
                std::fs::write(path, b"").expect("create the sqlite file");
                return;
            }
            Backend::Postgres => {
                let mut cmd = Command::new("psql");
                cmd.args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qAtX", "-v", "ON_ERROR_STOP=1"]);
                for part in sql.split("; ") {
                    cmd.args(["-c", part]);
                }
                cmd.output()
            }
            Backend::Mariadb => {
                Command::new("mariadb").args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-e", sql]).output()
            }
        }
        .expect("run the database client");
        assert!(out.status.success(), "{sql}: {}", text(&out));
    }

    /// Runs SQL with the database's own client; the output is one line per row, tab-separated,
    /// without headers. Panics when the client fails.
    pub fn query(&self, sql: &str) -> String {
        let out = self.try_query(sql);
        assert!(out.status.success(), "{sql}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Like [`TestDb::query`], but returns the client's output whether it failed or not.
    pub fn try_query(&self, sql: &str) -> Output {
        match self.backend {
            Backend::Sqlite => Command::new("sqlite3")
                .args(["-batch", "-bail", "-separator", "\t"])
                .arg(self.sqlite_path.as_ref().expect("sqlite path"))
                .arg(sql)
                .output(),
            Backend::Postgres => Command::new("psql")
                .args(["-h", "127.0.0.1", "-U", "postgres", "-d", &self.name, "-qAtX", "-F", "\t"])
                .args(["-v", "ON_ERROR_STOP=1", "-c", sql])
                .output(),
            Backend::Mariadb => Command::new("mariadb")
                .args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-N", "-B", "-D", &self.name, "-e", sql])
                .output(),
        }
        .expect("run the database client")
    }

    /// Whether a table exists in the database.
    pub fn has_table(&self, table: &str) -> bool {
        let sql = match self.backend {
            Backend::Sqlite => format!("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"),
            Backend::Postgres => {
                format!("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = '{table}'")
            }
            Backend::Mariadb => format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{table}'"
            ),
        };
        self.query(&sql) != "0"
    }

    /// The versions recorded in `refinery_schema_history`, ascending (empty when the table is absent).
    pub fn versions(&self) -> Vec<i64> {
        if !self.has_table("refinery_schema_history") {
            return Vec::new();
        }
        self.query("SELECT version FROM refinery_schema_history ORDER BY version")
            .lines()
            .map(|l| l.trim().parse().expect("a version"))
            .collect()
    }

    /// The user tables (not the history tables nor dbmigrate's own), sorted.
    pub fn tables(&self) -> Vec<String> {
        let sql = match self.backend {
            Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            Backend::Postgres => "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
            Backend::Mariadb => {
                "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name"
            }
        };
        self.query(sql)
            .lines()
            .map(str::to_string)
            // dbmigrate's own tables (audit, recorded downs) are not the application's.
            .filter(|t| {
                !t.is_empty()
                    && !t.starts_with("refinery_schema_history")
                    && !t.starts_with("sqlite_")
                    && !t.starts_with("dbmigrate_")
            })
            .collect()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self.backend {
            Backend::Sqlite => {}
            Backend::Postgres => {
                let _ = Command::new("psql")
                    .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qAtX", "-c"])
                    .arg(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
                    .output();
            }
            Backend::Mariadb => {
                let _ = Command::new("mariadb")
                    .args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-e"])
                    .arg(format!("DROP DATABASE IF EXISTS {}", self.name))
                    .output();
            }
        }
    }
}

/// The real binary as `cargo dbmigrate <args>` in `dir`, against `url`, as a plain
/// `std::process::Command` (for spawning several at once, or killing one).
pub fn dbm_command(dir: &Path, url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(cli_bin());
    cmd.arg("dbmigrate")
        .args(args)
        .arg("--database-url")
        .arg(url)
        .current_dir(dir)
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("DATABASE_URL")
        .env_remove("CI")
        .env_remove("NO_COLOR");
    cmd
}

/// Runs `cargo dbmigrate <args> --database-url <url>` in `dir` and returns its output.
pub fn dbm(dir: &Path, url: &str, args: &[&str]) -> Output {
    dbm_command(dir, url, args).output().expect("run cargo-dbmigrate")
}

/// The exit code of an output (`-1` when killed by a signal).
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}
