//! Shared helpers for the end-to-end tests: the real CLI binary, throwaway crates built with a
//! real `cargo build`, and snapshot assertions.

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
}

impl Fixture {
    /// A binary crate named `name` with an empty `main`.
    pub fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new().prefix("dbm-fixture-").tempdir().expect("tempdir");
        let fixture = Self { dir };
        fixture.write(
            "Cargo.toml",
            &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n"),
        );
        fixture.write("src/main.rs", "fn main() {}\n");
        // Start from this workspace's lock file, so the fixture resolves to the versions that
        // are already downloaded and builds offline.
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

/// Asserts the files of the case's `out/` folder match the project (other files are ignored).
#[track_caller]
pub fn assert_out(case_dir: &Path, root: &snapbox::dir::DirRoot) {
    assert().subset_eq(case_dir.join("out"), root.path().expect("mutable root"));
}

/// The CLI run in `dir`, with `[ROOT]` standing for `dir` in snapshots.
pub fn cli_at(dir: &Path) -> snapbox::cmd::Command {
    let mut redactions = snapbox::Redactions::new();
    let real = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    redactions.insert("[ROOT]", real).expect("redaction");
    cli().current_dir(dir).with_assert(assert().redact_with(redactions))
}
