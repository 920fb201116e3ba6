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
