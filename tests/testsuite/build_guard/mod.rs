//! The build-time guard: real `cargo build`s of throwaway crates whose migrations break a rule,
//! asserting the exact errors, and `cargo dbmigrate check` agreeing with each build.
//!
//! Fixture builds are the slow part, so one fixture shows every rule that can fail in the same
//! build; a snapshot fails as soon as one of its rules is removed.

mod lifecycle;
mod rules;

use dbmigrate_tests::{Fixture, text};
use std::process::Output;

/// A crate set up with `cargo dbmigrate init` and the given migration files (a name ending in
/// `/` is a folder).
fn fixture(name: &str, files: &[(&str, &str)]) -> Fixture {
    let fixture = Fixture::new(name);
    fixture.init();
    for (file, sql) in files {
        match file.strip_suffix('/') {
            Some(dir) => fixture.write(&format!("migrations/{dir}/V9__inner.sql"), "select 9;\n"),
            None => fixture.write(&format!("migrations/{file}"), sql),
        }
    }
    fixture
}

/// The build's `error:`/`warning:` lines, without Cargo's own closing line.
fn diagnostics(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines = stderr.lines().filter(|l| l.starts_with("error") || l.starts_with("warning"));
    // Cargo's own notes depend on timing (other crates still compiling), not on the guard.
    let cargo_notes =
        ["error: build script logged errors", "warning: build failed, waiting for other jobs to finish..."];
    lines.filter(|l| !cargo_notes.contains(l)).map(|l| format!("{l}\n")).collect()
}

/// Builds, expecting failure, and returns the diagnostics.
fn failing_build(fixture: &Fixture) -> String {
    let out = fixture.build();
    assert!(!out.status.success(), "the build should fail:\n{}", text(&out));
    assert!(!text(&out).contains("panicked"), "the build script must not panic:\n{}", text(&out));
    diagnostics(&out)
}

/// `cargo dbmigrate check --format json`: (exit code, document).
fn check_json(fixture: &Fixture) -> (i32, serde_json::Value) {
    let out = fixture.cli().args(["check", "--format", "json"]).output().expect("run check");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("json: {e}\n{}", text(&out)));
    (out.status.code().unwrap_or(-1), doc)
}

/// `check` reports exactly the findings the build reported, in the same order, and exits 1.
fn assert_check_agrees(fixture: &Fixture, package: &str, build: &str) {
    let (code, doc) = check_json(fixture);
    assert_eq!(code, 1, "{doc:#}");
    // Cargo prints a build script's warnings after its errors: compare errors, then warnings.
    let from_build: Vec<&str> = ["error", "warning"]
        .iter()
        .flat_map(|level| {
            let prefix = format!("{level}: {package}@0.1.0: ");
            build.lines().filter_map(move |l| l.strip_prefix(&prefix)).filter(|l| !l.starts_with(' '))
        })
        .collect();
    let findings = doc["findings"].as_array().expect("findings");
    let from_check: Vec<String> = ["error", "warning"]
        .iter()
        .flat_map(|level| findings.iter().filter(move |f| f["severity"] == *level))
        .map(|f| match (f["file"].as_str(), f["line"].as_u64()) {
            (Some(file), Some(line)) => format!("{file}:{line}: {}", f["message"].as_str().unwrap_or_default()),
            (Some(file), None) => format!("{file}: {}", f["message"].as_str().unwrap_or_default()),
            _ => f["message"].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    assert_eq!(from_build, from_check);
}
