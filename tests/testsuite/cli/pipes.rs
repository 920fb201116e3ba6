//! A reader that stops reading (`cargo dbmigrate status | head -1`): every command that prints
//! to stdout ends quietly with its own exit code (0 when it succeeded, as `cargo metadata |
//! head -c1` does), instead of panicking.

use dbmigrate_tests::{Fixture, cli_bin, text};
use std::process::{Command, Output, Stdio};

/// Runs `cargo dbmigrate <args>` in `dir` with a stdout whose reader is already closed, so the
/// first write fails with a broken pipe (deterministic, unlike racing a `head`).
fn with_closed_stdout(dir: &std::path::Path, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let child = Command::new(cli_bin())
        .arg("dbmigrate")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TERM_COLOR", "never")
        .env("DATABASE_URL", "sqlite:app.db")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cargo-dbmigrate");
    child.wait_with_output().expect("wait")
}

/// The same command with stdout captured: it must print something, or the closed pipe above
/// proves nothing.
fn stdout_of(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(cli_bin())
        .arg("dbmigrate")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TERM_COLOR", "never")
        .env("DATABASE_URL", "sqlite:app.db")
        .output()
        .expect("run");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A crate with two migrations applied in two runs (so there is a backup to list).
fn migrated_crate() -> Fixture {
    let fixture = Fixture::new("piped");
    fixture.write("migrations/V1__a.sql", "CREATE TABLE a (x INTEGER);\n");
    fixture.write("migrations/V1__a.down.sql", "DROP TABLE a;\n");
    let run = |fixture: &Fixture| {
        let out = fixture.cli().args(["run", "--database-url", "sqlite:app.db"]).output().expect("run");
        assert!(out.status.success(), "{}", text(&out));
    };
    run(&fixture);
    fixture.write("migrations/V2__b.sql", "CREATE TABLE b (x INTEGER);\n");
    fixture.write("migrations/V2__b.down.sql", "DROP TABLE b;\n");
    run(&fixture);
    fixture.write("migrations/V3__c.sql", "CREATE TABLE c (x INTEGER);\n");
    fixture
}

#[test]
fn every_printing_command_ends_quietly_on_a_closed_stdout() {
    let fixture = migrated_crate();
    let dir = fixture.path();
    let commands: &[&[&str]] = &[
        &["status"],
        &["status", "--format", "json"],
        &["history"],
        &["history", "--format", "json"],
        &["backups"],
        &["backups", "--format", "json"],
        &["current"],
        &["current", "--format", "json"],
        &["show", "1"],
        &["show", "1", "--format", "json"],
        &["check", "--format", "json"],
        &["run", "--dry-run"],
        &["down", "--dry-run"],
        &["init", "--dry-run"],
        &["--help"],
        &["--version"],
    ];
    for args in commands {
        assert!(!stdout_of(dir, args).is_empty(), "{args:?} prints nothing on stdout");
        let out = with_closed_stdout(dir, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("error"), "{args:?}: {stderr}");
    }
}

#[test]
fn new_creates_its_files_even_when_nobody_reads_the_paths() {
    // `cargo dbmigrate new x | head -0`: the files are written before the paths are printed.
    let fixture = migrated_crate();
    let out = with_closed_stdout(fixture.path(), &["new", "piped away"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("error"), "{stderr}");
    let made = fixture.list("migrations");
    assert_eq!(made.iter().filter(|f| f.contains("__piped_away")).count(), 2, "{made:?}");
}

#[test]
fn a_failure_is_still_reported_when_stdout_is_closed() {
    // Quiet is only for the reader's choice: a real error keeps its message and exit code.
    let fixture = migrated_crate();
    let out = with_closed_stdout(fixture.path(), &["show", "99"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.lines().any(|l| l.starts_with("error: ")), "{stderr}");
}

#[test]
fn a_found_problem_keeps_its_exit_code_when_stdout_is_closed() {
    // Quiet, but still truthful for `set -o pipefail`: `status --exit-code | head` with a
    // pending migration exits 1, as it would with its output read.
    let fixture = migrated_crate();
    let out = with_closed_stdout(fixture.path(), &["status", "--exit-code", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("error") && !stderr.contains("panicked"), "{stderr}");
}
