//! The lint inside a real `cargo build`: errors fail it with file and line, warnings only warn,
//! `todo-left` is seen, `not-checked` infos stay quiet, and `check` and `lint` list exactly the
//! build's errors and warnings.

use super::lint_json;
use dbmigrate_tests::{Fixture, text};
use serde_json::Value;

/// The build's finding lines (`file:line: message`), errors then warnings, as Cargo prints them.
fn build_findings(stderr: &str, package: &str) -> Vec<String> {
    ["error", "warning"]
        .iter()
        .flat_map(|level| {
            let prefix = format!("{level}: {package}@0.1.0: ");
            stderr.lines().filter_map(move |l| l.strip_prefix(&prefix)).filter(|l| !l.starts_with(' '))
        })
        .map(str::to_owned)
        .collect()
}

/// A JSON document's findings in the same shape, errors then warnings.
fn doc_findings(doc: &Value) -> Vec<String> {
    let findings = doc["findings"].as_array().expect("findings");
    ["error", "warning"]
        .iter()
        .flat_map(|level| findings.iter().filter(move |f| f["severity"] == *level))
        .map(|f| {
            let line = f["line"].as_u64().map(|n| format!(":{n}")).unwrap_or_default();
            format!("{}{line}: {}", f["file"].as_str().unwrap_or_default(), f["message"].as_str().unwrap_or_default())
        })
        .collect()
}

fn write_migration(f: &Fixture, stem: &str, up: &str) {
    f.write(&format!("migrations/{stem}.sql"), up);
    f.write(&format!("migrations/{stem}.down.sql"), "SELECT 1;\n");
}

#[test]
fn the_build_fails_on_lint_errors_warns_on_warnings_and_agrees_with_check_and_lint() {
    let f = Fixture::new("lint_build");
    f.init();
    write_migration(&f, "V1__todo", "CREATE TABLE a (id INT);\n-- dbmigrate:todo set each row\nUPDATE a SET id = 0;\n");
    write_migration(&f, "V2__drop", "CREATE TABLE d (id INT);\nDROP TABLE b;\n");
    write_migration(&f, "V3__rename", "ALTER TABLE a RENAME TO c;\n");
    write_migration(&f, "V4__unread", "CREATE WIDGET w;\n");
    let out = f.build();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "the build should fail:\n{}", text(&out));
    let from_build = build_findings(&stderr, "lint_build");
    assert_eq!(
        from_build,
        [
            "migrations/V1__todo.sql:2: the migration holds a placeholder left for a person to replace",
            "migrations/V2__drop.sql:2: drops table `b`: its rows are lost",
            "migrations/V3__rename.sql:1: renames table `a`: instances still running the old code break during a rolling deploy",
        ],
        "{stderr}"
    );
    assert!(stderr.contains("error: lint_build@0.1.0:   2 | DROP TABLE b;"), "the line is shown:\n{stderr}");
    assert!(!stderr.contains("WIDGET"), "an info is not shown by the build:\n{stderr}");
    // `check` and `lint` list exactly these findings.
    let check = f.cli().args(["check", "--format", "json"]).output().expect("check");
    let check: Value = serde_json::from_slice(&check.stdout).expect("check json");
    assert_eq!(doc_findings(&check), from_build, "check");
    let (code, lint) = lint_json(&f, &[]);
    assert_eq!(doc_findings(&lint), from_build, "lint");
    assert_eq!(code, 1);
    let infos: Vec<&Value> =
        lint["findings"].as_array().expect("findings").iter().filter(|f| f["severity"] == "info").collect();
    assert_eq!(infos.len(), 1, "{lint:#}");
    assert_eq!((&infos[0]["code"], &infos[0]["line"]), (&Value::from("not-checked"), &Value::from(1)), "{lint:#}");

    // Errors fixed: the build succeeds and still warns.
    write_migration(&f, "V1__todo", "CREATE TABLE a (id INT);\nUPDATE a SET id = 0;\n");
    write_migration(
        &f,
        "V2__drop",
        "CREATE TABLE d (id INT);\n-- dbmigrate:destructive b was never used\nDROP TABLE b;\n",
    );
    let out = f.build();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "warnings do not fail the build:\n{}", text(&out));
    let warned = build_findings(&stderr, "lint_build");
    assert_eq!(warned, [from_build[2].clone()], "{stderr}");
    assert!(!stderr.contains("WIDGET"), "nor by a build that reads it from its cache:\n{stderr}");
    let (code, lint) = lint_json(&f, &[]);
    assert_eq!((code, doc_findings(&lint)), (0, warned));
    // A person sees the count, and with -v the statement.
    let human = f.cli().arg("lint").output().expect("lint");
    let said = text(&human);
    assert_eq!(human.status.code(), Some(0), "{said}");
    assert!(said.contains("1 warning(s), 1 statement(s) not checked (`-v` lists them)"), "{said}");
    assert!(!said.contains("not-checked"), "{said}");
    let verbose = f.cli().args(["lint", "-v"]).output().expect("lint -v");
    let said = text(&verbose);
    assert!(said.contains("info[not-checked]: `CREATE WIDGET …` is a form the lint cannot read"), "{said}");
    assert!(said.contains("V4__unread.sql:1"), "{said}");
}
