//! What users see: the exact human (and JSON) output of every database command on each
//! backend, as one transcript per backend, so that moving code between layers is proven not to
//! change a line of it; every database command appears with `--format json` and, where it has
//! one, `--dry-run`. Times, durations, sizes and backup names vary by run and are redacted.

use super::{crate_with, on_all_backends};
use dbmigrate_tests::{Backend, TestDb, code, dbm};
use std::fmt::Write as _;
use std::path::Path;

on_all_backends!(transcript);

const FILES: &[(&str, &str)] = &[
    ("V1__a.sql", "CREATE TABLE a (id INT PRIMARY KEY);\nINSERT INTO a VALUES (1);\n"),
    ("V1__a.down.sql", "DROP TABLE a;\n"),
    ("V2__b.sql", "CREATE TABLE b (id INT PRIMARY KEY);\n"),
    ("V2__b.down.sql", "DROP TABLE b;\n"),
    ("V3__fill.sql", "INSERT INTO a VALUES (2);\nINSERT INTO b VALUES (1);\n"),
    ("V3__fill.down.sql", "DELETE FROM b;\nDELETE FROM a WHERE id = 2;\n"),
];

/// The commands of a day's work, in order, including refusals and a failing migration.
const STEPS: &[&[&str]] = &[
    &["database", "create"],
    &["database", "create", "--format", "json"],
    &["status"],
    &["current"],
    &["current", "--format", "json"],
    &["history"],
    &["history", "--format", "json"],
    &["run", "--to", "1"],
    &["status"],
    &["status", "--format", "json"],
    &["run", "--dry-run"],
    &["run", "--dry-run", "--format", "json"],
    &["run"],
    &["run"],
    &["current"],
    &["current", "--format", "json"],
    &["history"],
    &["history", "--format", "json"],
    &["show", "2"],
    &["show", "V3", "--format", "json"],
    &["down"],
    &["down", "--steps", "1", "--dry-run"],
    &["down", "--steps", "1", "--dry-run", "--format", "json"],
    &["down", "--steps", "1", "--format", "json"],
    &["down", "--to", "0"],
    &["run", "--format", "json"],
    &["stamp", "3"],
    &["stamp", "3", "--format", "json"],
    &["backups", "--format", "json"],
];

fn transcript(backend: Backend) {
    let fixture = crate_with("transcript", FILES);
    let dir = fixture.path();
    let db = TestDb::new(backend, "transcript", dir);
    let mut out = String::new();
    let mut step = |args: &[&str]| record(&mut out, dir, &db, args);
    for args in STEPS {
        step(args);
    }
    // An applied migration edited: run and down refuse, status says so.
    let v2 = dir.join("migrations/V2__b.sql");
    std::fs::write(&v2, "CREATE TABLE b (id INT PRIMARY KEY, x INT);\n").expect("edit V2");
    step(&["status"]);
    step(&["run"]);
    std::fs::write(&v2, FILES[2].1).expect("restore V2");
    // A migration whose second statement fails.
    std::fs::write(dir.join("migrations/V4__bad.sql"), "CREATE TABLE c (id INT);\nINSERT INTO nope VALUES (1);\n")
        .expect("write V4");
    step(&["run", "--no-backup"]);
    step(&["run", "--no-backup", "--format", "json"]);
    step(&["status"]);
    step(&["status", "--exit-code", "--format", "json"]);
    if backend == Backend::Mariadb {
        step(&["repair", "4", "--as", "pending"]);
        db.query("DROP TABLE c");
    }
    step(&["run", "--restore-on-failure"]);
    step(&["status"]);
    std::fs::remove_file(dir.join("migrations/V4__bad.sql")).expect("rm V4");
    // An irreversible migration: down refuses before changing anything.
    std::fs::write(dir.join("migrations/V4__keep.sql"), "CREATE TABLE c (id INT);\n").expect("write V4");
    std::fs::write(dir.join("migrations/V4__keep.down.sql"), "-- irreversible\n").expect("write V4 down");
    step(&["run", "--no-backup"]);
    step(&["down", "--no-backup"]);
    step(&["repair", "4", "--as", "applied"]);
    step(&["repair", "4", "--as", "applied", "--format", "json"]);
    step(&["status", "--exit-code"]);
    step(&["status", "--format", "json", "--exit-code"]);
    let backups = dbmigrate_tests::cli().current_dir(dir).arg("backups").output().expect("run backups");
    let _ = writeln!(out, "$ cargo dbmigrate backups\nexit: {}", code(&backups));
    // Its columns are padded to the real database name, whose length varies with the pid.
    let listing = redact(&String::from_utf8_lossy(&backups.stdout), dir, &db);
    out.push_str(&regex::Regex::new(" {2,}").expect("valid pattern").replace_all(&listing, "  "));
    out.push('\n');
    let mut step = |args: &[&str]| record(&mut out, dir, &db, args);
    step(&["restore", "--latest", "--yes", "--no-backup", "--format", "json"]);
    step(&["database", "reset", "--yes", "--no-backup", "--format", "json"]);
    step(&["database", "drop", "--yes", "--no-backup"]);
    step(&["database", "drop", "--yes", "--no-backup", "--format", "json"]);
    snapbox::assert_data_eq!(out, snapbox::Data::read_from(&snapshot_path(backend), None).raw());
}

fn snapshot_path(backend: Backend) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("testsuite/db/transcript/{}.txt", backend.name()))
}

/// Runs one command and appends its exit code, stdout and stderr, redacted.
fn record(out: &mut String, dir: &Path, db: &TestDb, args: &[&str]) {
    let output = dbm(dir, &db.url, args);
    let _ = writeln!(out, "$ cargo dbmigrate {}", args.join(" "));
    let _ = writeln!(out, "exit: {}", code(&output));
    for (name, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        if !text.is_empty() {
            let _ = writeln!(out, "--- {name}");
            out.push_str(&redact(&text, dir, db));
            if !text.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out.push('\n');
}

/// Replaces what differs between runs: the fixture's folder, the database, times, durations.
fn redact(text: &str, dir: &Path, db: &TestDb) -> String {
    let text = text.replace(&db.url, "[URL]").replace(&dir.display().to_string(), "[ROOT]").replace(&db.name, "[DB]");
    let rules = [
        // Tables show times in one width, so their columns stay aligned once redacted.
        (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z  ", "[TIME]                    "),
        (r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", "[TIME]"),
        // A backup name's time, with the counter of one taken in the same second as another.
        (r"\d{8}T\d{6}(\.\d+)?(Z(-\d+)?)?", "[STAMP]"),
        // Sizes: an empty database's dump is bytes on one server and KiB on another.
        (r"\d+(\.\d+)? ?(KiB|MiB|B)\b", "[SIZE]"),
        (r"\d+\.\d+ ?(s|ms)\b", "[N]$1"),
        (r#""duration_ms":\d+"#, r#""duration_ms":[N]"#),
        // A backup's bytes and hash vary with the times stored in it.
        (r#""(bytes|sha256)":("[0-9a-f]{64}"|\d+)"#, r#""$1":[N]"#),
    ];
    rules.iter().fold(text, |text, (pattern, with)| {
        regex::Regex::new(pattern).expect("valid pattern").replace_all(&text, *with).into_owned()
    })
}
