//! Every flag a message suggests exists on the command it is suggested with: the texts the CLI
//! can print (the engine's errors, the CLI's hints, the renderers, the commands' help, the
//! build's findings) are scanned for `--flags`, and each is looked up in `<cmd> --help`. Words
//! that read like a setting ("enable out-of-order") must be a real flag or setting too.

use dbmigrate_tests::{cli_bin, workspace_root};
use std::collections::BTreeMap;
use std::path::Path;

/// The source files whose string literals reach the user.
const SOURCES: &[&str] = &[
    "runtime/src/error.rs",
    "cargo-dbmigrate/src/error.rs",
    "cargo-dbmigrate/src/render",
    "cargo-dbmigrate/src/commands",
    "cargo-dbmigrate/src/ops",
    "build-support/src/check.rs",
    "build-support/src/release_log.rs",
    "build-support/src/diagnostic.rs",
    "build-support/src/config.rs",
];

/// Flags of other programs that the texts quote.
const FOREIGN: &[&str] = &["git ", "pg_dump", "pg_restore", "psql", "mariadb", "mysqldump", "mysql "];

/// (file:line, command or "", flag) for every `--flag` in a string literal.
fn suggested_flags() -> Vec<(String, String, String)> {
    let flag = regex::Regex::new(r"--([a-z][a-z0-9-]*)").expect("regex");
    let command = regex::Regex::new(r"cargo dbmigrate ([a-z]+)").expect("regex");
    let mut found = Vec::new();
    for (path, text) in sources() {
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            // Text lines only: a literal continued with `\` has no quote of its own.
            // Arguments passed to a process are not text shown to anyone.
            if code.starts_with("//") || code.starts_with("#[arg") || code.contains(".arg(") || code.contains(".args(")
            {
                continue;
            }
            let start = 0;
            for m in flag.find_iter(&line[start..]) {
                let before = &line[start..start + m.start()];
                let segment = before.rsplit(['`', '"', ';']).next().unwrap_or(before);
                if FOREIGN.iter().any(|tool| segment.contains(tool)) {
                    continue;
                }
                let cmd = command.captures_iter(before).last().map(|c| c[1].to_owned()).unwrap_or_default();
                found.push((format!("{path}:{}", n + 1), cmd, m.as_str().to_owned()));
            }
        }
    }
    found
}

fn sources() -> Vec<(String, String)> {
    let root = workspace_root();
    let mut files = Vec::new();
    for rel in SOURCES {
        let path = root.join(rel);
        let paths: Vec<std::path::PathBuf> = if path.is_dir() {
            std::fs::read_dir(&path).expect("read_dir").map(|e| e.expect("entry").path()).collect()
        } else {
            vec![path]
        };
        for p in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "rs")) {
            let rel = p.strip_prefix(&root).unwrap_or(&p).display().to_string();
            files.push((rel, std::fs::read_to_string(&p).expect("read")));
        }
    }
    files
}

/// `cargo dbmigrate [cmd] --help`, once per command.
fn help<'a>(cache: &'a mut BTreeMap<String, String>, cmd: &str) -> &'a str {
    cache.entry(cmd.to_owned()).or_insert_with(|| {
        let mut c = std::process::Command::new(cli_bin());
        c.arg("dbmigrate");
        c.args(cmd.split_whitespace());
        let out = c.arg("--help").current_dir(Path::new("/")).output().expect("run --help");
        assert!(out.status.success(), "`{cmd} --help` fails: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
}

/// The subcommands, from the top-level help.
fn commands(cache: &mut BTreeMap<String, String>) -> Vec<String> {
    let top = help(cache, "").to_owned();
    top.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect()
}

/// Whether `cmd` or one of its subcommands (`schema dump`) takes `flag`.
fn takes_flag(cache: &mut BTreeMap<String, String>, cmd: &str, flag: &str) -> bool {
    let text = help(cache, cmd).to_owned();
    let subs: Vec<String> = text
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect();
    has_flag(&text, flag) || subs.iter().any(|s| has_flag(help(cache, &format!("{cmd} {s}")), flag))
}

fn has_flag(help: &str, flag: &str) -> bool {
    help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).any(|w| w == flag)
}

#[test]
fn every_suggested_flag_exists_on_its_command() {
    let mut cache = BTreeMap::new();
    let all = commands(&mut cache);
    assert!(all.contains(&"run".to_owned()) && all.contains(&"repair".to_owned()), "{all:?}");
    let flags = suggested_flags();
    assert!(flags.iter().any(|(_, c, f)| c == "run" && f == "--allow-out-of-order"), "the scan finds hints");
    let mut wrong = Vec::new();
    for (at, cmd, flag) in &flags {
        let ok = if cmd.is_empty() || !all.contains(cmd) {
            all.iter().any(|c| takes_flag(&mut cache, c, flag)) || has_flag(help(&mut cache, ""), flag)
        } else {
            takes_flag(&mut cache, cmd, flag)
        };
        if !ok {
            wrong.push(format!("{at}: `{flag}` (suggested with `{cmd}`)"));
        }
    }
    assert!(wrong.is_empty(), "flags that no command accepts:\n{}", wrong.join("\n"));
}

/// The crate settings' keys, read from build-support's `KEYS` (the tests do not link it).
fn setting_keys() -> Vec<String> {
    let text = std::fs::read_to_string(workspace_root().join("build-support/src/config.rs")).expect("read");
    let start = text.find("pub const KEYS").expect("KEYS");
    let end = start + text[start..].find("];").expect("end of KEYS");
    let keys: Vec<String> = text[start..end].split('"').skip(1).step_by(2).map(str::to_owned).collect();
    assert!(keys.contains(&"ddl-lock-timeout".to_owned()), "{keys:?}");
    keys
}

#[test]
fn every_setting_a_message_asks_to_enable_exists() {
    let phrase = regex::Regex::new(r"\b(?:enable|disable|raise|set) (?:the )?`?([a-z]+(?:-[a-z]+)+)").expect("regex");
    let keys = setting_keys();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut cache = BTreeMap::new();
    let all = commands(&mut cache);
    let mut wrong = Vec::new();
    for (path, text) in sources() {
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim_start().starts_with("//")) {
            for c in phrase.captures_iter(line) {
                let word = &c[1];
                let flag = format!("--{word}");
                if !keys.contains(&word) && !all.iter().any(|cmd| has_flag(help(&mut cache, cmd), &flag)) {
                    wrong.push(format!("{path}:{}: `{word}`", n + 1));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "messages name settings that do not exist:\n{}", wrong.join("\n"));
}
