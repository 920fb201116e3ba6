//! Conventions every command shares: help, version, exit codes for usage errors.

use dbmigrate_tests::cli;
use snapbox::str;

#[test]
fn help_lists_commands_and_exit_codes() {
    cli().arg("--help").assert().success().stdout_eq(snapbox::file!["help.txt"]);
}

#[test]
fn every_command_help_has_an_example() {
    let out = cli().arg("--help").output().expect("run");
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 2, "{help}");
    for command in commands {
        let out = cli().args([command, "--help"]).output().expect("run");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("Examples:\n  cargo dbmigrate"), "{command}: {text}");
    }
}

#[test]
fn unknown_flag_is_a_usage_error() {
    cli().args(["new", "--frobnicate"]).assert().code(2).stderr_eq(str![[r#"
error: unexpected argument '--frobnicate' found
...
"#]]);
}

#[test]
fn unknown_command_is_a_usage_error() {
    cli().arg("frobnicate").assert().code(2);
}

#[test]
fn version_is_printed() {
    cli().arg("--version").assert().success().stdout_eq(str!["cargo-dbmigrate [..]\n"]);
}

mod pipes;

/// The binary run by its own name, as a user who finds it on PATH might (no `dbmigrate` word,
/// which only `cargo` inserts).
fn direct() -> snapbox::cmd::Command {
    snapbox::cmd::Command::new(dbmigrate_tests::cli_bin())
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("DATABASE_URL")
        .with_assert(dbmigrate_tests::assert())
}

#[test]
fn run_directly_the_binary_takes_the_same_arguments() {
    direct().arg("--version").assert().success().stdout_eq(str!["cargo-dbmigrate [..]\n"]);
    direct().arg("--help").assert().success().stdout_eq(snapbox::file!["help.txt"]);
    let fixture = dbmigrate_tests::Fixture::new("direct");
    std::fs::create_dir(fixture.path().join("migrations")).expect("mkdir");
    // `status` only reads: it never creates the database, so give it an empty one.
    std::fs::write(fixture.path().join("direct.db"), "").expect("empty database");
    direct().args(["status", "--database-url", "sqlite:direct.db"]).current_dir(fixture.path()).assert().success();
    direct()
        .args(["dbmigrate", "status", "--database-url", "sqlite:direct.db"])
        .current_dir(fixture.path())
        .assert()
        .success();
}

#[test]
fn cargo_itself_runs_the_subcommand() {
    // `cargo dbmigrate --version` as a user types it: cargo finds `cargo-dbmigrate` on PATH.
    let bin_dir = dbmigrate_tests::cli_bin().parent().expect("bin dir").to_owned();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .expect("PATH");
    snapbox::cmd::Command::new(dbmigrate_tests::cargo())
        .args(["dbmigrate", "--version"])
        .env("PATH", path)
        .assert()
        .success()
        .stdout_eq(str!["cargo-dbmigrate [..]\n"]);
}

mod json_contract;
