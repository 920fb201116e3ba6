//! The README's "Getting started", command by command, in a new crate: the binary the test
//! suite builds stands in for the installed one, and `init` gets no flags, as a user types it.

use dbmigrate_tests::{Fixture, text, workspace_root};

/// The commands of the README's first section that this test runs (the install and
/// `cargo new` steps are the test's binary and its fixture crate).
const README_COMMANDS: &[&str] = &[
    "cargo install --path cargo-dbmigrate",
    "cd .. && cargo new myapp && cd myapp",
    "cargo dbmigrate init",
    "cargo dbmigrate new create users table",
    "echo 'CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);' >> migrations/V*__create_users_table.sql",
    "echo 'DROP TABLE users;' >> migrations/V*__create_users_table.down.sql",
    "cargo build",
    "cargo dbmigrate run",
    "cargo dbmigrate status",
    "cargo run",
];

const APP: &str = "include!(concat!(env!(\"OUT_DIR\"), \"/dbmigrate.rs\"));

fn main() {
    let report = migrations::run(\"sqlite:dev.db\").expect(\"migrate\");
    println!(\"{} migration(s) applied\", report.migrations.len());
}
";

#[test]
fn the_readme_commands_are_the_ones_tested() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README");
    let start = readme.find("## Getting started").expect("a Getting started section");
    let section = readme[start..].split("\n## ").next().unwrap_or_default();
    let lines: Vec<&str> = section.lines().map(|l| l.split("  #").next().unwrap_or(l).trim()).collect();
    for command in README_COMMANDS {
        assert!(lines.contains(command), "README's Getting started lacks `{command}`:\n{section}");
    }
    assert!(section.contains(APP), "README's Getting started lacks the app's main.rs:\n{section}");
}

#[test]
fn the_readme_path_works_with_no_flags() {
    let fixture = Fixture::new("myapp");
    let init = fixture.cli().arg("init").output().expect("run init");
    assert!(init.status.success(), "{}", text(&init));
    // Before publication the crates come from the checkout the binary was built from.
    let stderr = String::from_utf8_lossy(&init.stderr);
    assert!(stderr.contains("Using dbmigrate-build and dbmigrate-runtime from"), "{stderr}");
    let new = fixture.cli().args(["new", "create", "users", "table"]).output().expect("run new");
    assert!(new.status.success(), "{}", text(&new));
    let paths: Vec<String> = String::from_utf8_lossy(&new.stdout).lines().map(str::to_owned).collect();
    assert!(paths.len() == 2 && paths[1].ends_with("__create_users_table.down.sql"), "{paths:?}");
    let append = |rel: &str, sql: &str| fixture.write(rel, &(fixture.read(rel) + sql + "\n"));
    append(&paths[0], "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);");
    append(&paths[1], "DROP TABLE users;");
    fixture.write("src/main.rs", APP);
    let build = fixture.build();
    assert!(build.status.success(), "cargo build failed:\n{}", text(&build));
    let run = fixture.cli().arg("run").output().expect("run run");
    assert!(run.status.success(), "{}", text(&run));
    assert!(fixture.path().join("dev.db").is_file(), "run uses the crate's default sqlite:dev.db");
    let status = fixture.cli().args(["status", "--exit-code"]).output().expect("run status");
    assert!(status.status.success(), "{}", text(&status));
    assert!(String::from_utf8_lossy(&status.stdout).contains("applied"), "{}", text(&status));
    // The app's embedded runner agrees with the CLI: nothing left to apply.
    let app = fixture.cargo(&["run", "-q"]);
    assert!(app.status.success(), "{}", text(&app));
    assert_eq!(String::from_utf8_lossy(&app.stdout), "0 migration(s) applied\n");
}
