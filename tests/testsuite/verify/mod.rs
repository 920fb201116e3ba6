//! `cargo dbmigrate verify` through the real binary on SQLite (a temporary file), PostgreSQL and
//! MariaDB (`--dev-url`): correct pairs pass, each kind of broken down is found and named, the
//! released migrations are left alone without `--all`, and no scratch database outlives the
//! command, whether it passed, failed or was interrupted.

use crate::db::{assert_code, crate_with, json, on_all_backends};
use dbmigrate_tests::{Backend, Fixture, cli_bin, text};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const MARIA: &str = "mysql://root@127.0.0.1:3306/";

const USERS: (&str, &str) = ("V1__users.sql", "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL);\n");
const USERS_DOWN: (&str, &str) = ("V1__users.down.sql", "DROP TABLE users;\n");
const PHONE: (&str, &str) = ("V2__phone.sql", "ALTER TABLE users ADD COLUMN phone VARCHAR(20);\n");

/// `cargo dbmigrate verify <args>` in `dir` (with `--dev-url` for a server backend), and the
/// process id its scratch databases are named after.
fn verify(dir: &std::path::Path, backend: Backend, args: &[&str]) -> (Output, u32) {
    let child = command(dir, backend, args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let pid = child.id();
    (child.wait_with_output().expect("wait"), pid)
}

fn command(dir: &std::path::Path, backend: Backend, args: &[&str]) -> Command {
    let mut cmd = Command::new(cli_bin());
    cmd.arg("dbmigrate").arg("verify").args(args).current_dir(dir);
    cmd.env("CARGO_TERM_COLOR", "never").env_remove("DATABASE_URL").env_remove("CI");
    match backend {
        Backend::Sqlite => {}
        Backend::Postgres => {
            cmd.args(["--dev-url", PG]);
        }
        Backend::Mariadb => {
            cmd.args(["--dev-url", MARIA]);
        }
    }
    cmd
}

/// The scratch databases of process `pid` still on the server (none for SQLite, whose
/// temporary folder is checked by the scratch module's own tests).
fn leftovers(backend: Backend, pid: u32) -> String {
    let like = format!("dbmigrate\\_verify\\_{pid}\\_%");
    let out = match backend {
        Backend::Sqlite => return String::new(),
        Backend::Postgres => Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qAtX", "-c"])
            .arg(format!("SELECT datname FROM pg_database WHERE datname LIKE '{like}'"))
            .output(),
        Backend::Mariadb => Command::new("mariadb")
            .args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-N", "-B", "-e"])
            .arg(format!("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{like}'"))
            .output(),
    }
    .expect("run the database client");
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[track_caller]
fn assert_clean(backend: Backend, pid: u32) {
    assert_eq!(leftovers(backend, pid), "", "scratch databases left behind");
}

/// The codes of the findings in a JSON document.
fn codes(doc: &serde_json::Value) -> Vec<String> {
    let findings = doc["findings"].as_array().expect("findings");
    findings.iter().map(|f| f["code"].as_str().expect("code").to_owned()).collect()
}

fn a_correct_pair_passes(backend: Backend) {
    let down = ("V2__phone.down.sql", "ALTER TABLE users DROP COLUMN phone;\n");
    let f = crate_with("verify_ok", &[USERS, USERS_DOWN, PHONE, down]);
    let (out, pid) = verify(f.path(), backend, &["--format", "json"]);
    assert_code(&out, 0);
    let doc = json(&out);
    let results: Vec<&str> =
        doc["migrations"].as_array().expect("rows").iter().map(|m| m["result"].as_str().expect("result")).collect();
    assert_eq!(results, ["passed", "passed"], "{doc}");
    assert_eq!(doc["findings"], serde_json::json!([]), "{doc}");
    assert_clean(backend, pid);
}

fn a_down_that_forgets_a_column_is_incomplete(backend: Backend) {
    // The down drops an index the up made, but not the column.
    let up = (
        "V2__phone.sql",
        "ALTER TABLE users ADD COLUMN phone VARCHAR(20);\nCREATE INDEX users_name ON users (name);\n",
    );
    let down_sql =
        if backend == Backend::Mariadb { "DROP INDEX users_name ON users;\n" } else { "DROP INDEX users_name;\n" };
    let f = crate_with("verify_column", &[USERS, USERS_DOWN, up, ("V2__phone.down.sql", down_sql)]);
    let (out, pid) = verify(f.path(), backend, &[]);
    assert_code(&out, 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error[down-incomplete]"), "{stderr}");
    assert!(stderr.contains("column users.phone is still there after the down"), "{stderr}");
    assert!(stderr.contains("--> migrations/V2__phone.sql"), "{stderr}");
    // The second up then fails on the column that is still there.
    assert!(stderr.contains("error[up-not-repeatable]"), "{stderr}");
    assert_clean(backend, pid);
}

fn a_failing_down_is_reported(backend: Backend) {
    let down = ("V2__phone.down.sql", "ALTER TABLE nope DROP COLUMN phone;\n");
    let f = crate_with("verify_fails", &[USERS, USERS_DOWN, PHONE, down]);
    let (out, pid) = verify(f.path(), backend, &["--format", "json"]);
    assert_code(&out, 1);
    let doc = json(&out);
    assert_eq!(codes(&doc), ["down-failed"], "{doc}");
    let message = doc["findings"][0]["message"].as_str().expect("message");
    assert!(message.contains("nope"), "the engine's error names the table: {message}");
    assert_eq!(doc["migrations"][1]["result"], "failed", "{doc}");
    assert_clean(backend, pid);
}

fn an_up_that_cannot_run_again_is_reported(backend: Backend) {
    // The down runs, but leaves the table the up creates: the second CREATE TABLE fails.
    let up = ("V2__audit.sql", "CREATE TABLE audit (id INT PRIMARY KEY);\n");
    let down = ("V2__audit.down.sql", "CREATE TABLE scratchpad (id INT);\nDROP TABLE scratchpad;\n");
    let f = crate_with("verify_repeat", &[USERS, USERS_DOWN, up, down]);
    let (out, pid) = verify(f.path(), backend, &["--format", "json"]);
    assert_code(&out, 1);
    let doc = json(&out);
    assert_eq!(codes(&doc), ["down-incomplete", "up-not-repeatable"], "{doc}");
    let repeat = doc["findings"][1]["message"].as_str().expect("message");
    assert!(repeat.contains("audit"), "{repeat}");
    assert_clean(backend, pid);
}

fn a_migration_without_a_down_is_applied_and_warned_about(backend: Backend) {
    let down = ("V3__more.down.sql", "DROP TABLE more;\n");
    let f = crate_with(
        "verify_nodown",
        &[USERS, USERS_DOWN, PHONE, ("V3__more.sql", "CREATE TABLE more (id INT);\n"), down],
    );
    let (out, pid) = verify(f.path(), backend, &["--format", "json"]);
    assert_code(&out, 0);
    let doc = json(&out);
    assert_eq!(codes(&doc), ["no-down"], "{doc}");
    let results: Vec<&str> =
        doc["migrations"].as_array().expect("rows").iter().map(|m| m["result"].as_str().expect("r")).collect();
    // V3 was verified on top of V2, which was applied without its down.
    assert_eq!(results, ["passed", "no-down", "passed"], "{doc}");
    assert_clean(backend, pid);
}

/// SIGINT while a migration sleeps on the server: exit 130 and the scratch database is gone.
fn an_interrupted_verify_drops_its_scratch_database(backend: Backend) {
    let (sleep, activity) = match backend {
        Backend::Postgres => (
            "SELECT pg_sleep(5);",
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(5)%' AND datname LIKE 'dbmigrate\\_verify\\_{pid}\\_%'",
        ),
        Backend::Mariadb => (
            "SELECT SLEEP(5);",
            "SELECT count(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SLEEP(5)%' AND DB LIKE 'dbmigrate\\_verify\\_{pid}\\_%'",
        ),
        Backend::Sqlite => return,
    };
    let up = ("V2__slow.sql", format!("CREATE TABLE slow (id INT);\n{sleep}\n"));
    let f =
        crate_with("verify_sigint", &[USERS, USERS_DOWN, (up.0, &up.1), ("V2__slow.down.sql", "DROP TABLE slow;\n")]);
    let child = command(f.path(), backend, &[]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let pid = child.id();
    let sql = activity.replace("{pid}", &pid.to_string());
    let deadline = Instant::now() + Duration::from_secs(30);
    while scalar(backend, &sql) == "0" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_ne!(leftovers(backend, pid), "", "the scratch database exists while the migration sleeps");
    assert!(Command::new("kill").args(["-INT", &pid.to_string()]).status().expect("kill").success());
    let out = child.wait_with_output().expect("wait");
    assert_code(&out, 130);
    assert_clean(backend, pid);
}

fn scalar(backend: Backend, sql: &str) -> String {
    let out = match backend {
        Backend::Postgres => Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qAtX", "-c", sql])
            .output(),
        _ => Command::new("mariadb")
            .args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-N", "-B", "-e", sql])
            .output(),
    }
    .expect("run the database client");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

on_all_backends!(
    a_correct_pair_passes,
    a_down_that_forgets_a_column_is_incomplete,
    a_failing_down_is_reported,
    an_up_that_cannot_run_again_is_reported,
    a_migration_without_a_down_is_applied_and_warned_about,
    an_interrupted_verify_drops_its_scratch_database,
    released_migrations_are_verified_only_with_all,
);

/// A released migration with a broken down is not verified (nothing can change it now); with
/// `--all` it is, and fails.
fn released_migrations_are_verified_only_with_all(backend: Backend) {
    let f = crate_with(
        "verify_released",
        &[
            USERS,
            ("V1__users.down.sql", "SELECT 1;\n"),
            PHONE,
            ("V2__phone.down.sql", "ALTER TABLE users DROP COLUMN phone;\n"),
        ],
    );
    release_up_to_1(&f);
    let (out, pid) = verify(f.path(), backend, &["--format", "json"]);
    assert_code(&out, 0);
    let doc = json(&out);
    assert_eq!(doc["released_skipped"], 1, "{doc}");
    let versions: Vec<i64> =
        doc["migrations"].as_array().expect("rows").iter().map(|m| m["version"].as_i64().expect("v")).collect();
    assert_eq!(versions, [2], "{doc}");
    assert_clean(backend, pid);
    let (out, pid) = verify(f.path(), backend, &["--all", "--format", "json"]);
    assert_code(&out, 1);
    let doc = json(&out);
    assert_eq!(codes(&doc)[0], "down-incomplete", "{doc}");
    assert!(doc["findings"][0]["message"].as_str().expect("m").contains("users"), "{doc}");
    assert_clean(backend, pid);
}

fn release_up_to_1(f: &Fixture) {
    let out = f.cli().args(["release", "--up-to", "1"]).output().expect("release");
    assert_code(&out, 0);
}

/// A crate whose database is a server cannot verify on a SQLite file: a usage error whose hint
/// shows the option with an example URL that works.
#[test]
fn a_server_crate_without_dev_url_is_told_how() {
    let f = crate_with("verify_usage", &[USERS, USERS_DOWN]);
    let manifest = f.read("Cargo.toml");
    f.write(
        "Cargo.toml",
        &format!("{manifest}\n[package.metadata.dbmigrate]\ndefault-database = \"postgres://u@db.example/app\"\n"),
    );
    let (out, _) = verify(f.path(), Backend::Sqlite, &[]);
    assert_code(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the database of `verify_usage` is postgres"), "{stderr}");
    assert!(stderr.contains("hint: pass a server where you may create databases: `cargo dbmigrate verify --dev-url postgres://postgres@127.0.0.1:5432/postgres`"), "{stderr}");
    // The hint's command works as shown.
    let (out, pid) = verify(f.path(), Backend::Postgres, &[]);
    assert_code(&out, 0);
    assert_clean(Backend::Postgres, pid);
}

/// The JSON document: the envelope, `dialect`, `released_skipped`, one row per migration with
/// its duration, and the findings as `check` prints them.
#[test]
fn json_shape() {
    let f = crate_with("verify_json", &[USERS, USERS_DOWN, PHONE]);
    let (out, _) = verify(f.path(), Backend::Sqlite, &["--format", "json"]);
    assert_code(&out, 0);
    let doc = json(&out);
    assert_eq!(doc["command"], "verify");
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["dialect"], "sqlite");
    assert_eq!(doc["released_skipped"], 0);
    let m = &doc["migrations"][1];
    assert_eq!(
        (m["version"].as_i64(), m["file"].as_str(), m["result"].as_str()),
        (Some(2), Some("migrations/V2__phone.sql"), Some("no-down"))
    );
    assert!(m["duration_ms"].is_u64(), "{doc}");
    let finding = &doc["findings"][0];
    assert_eq!(finding["severity"], "warning");
    assert_eq!(finding["code"], "no-down");
    assert_eq!(finding["file"], "migrations/V2__phone.sql");
    assert!(finding["help"].as_array().is_some_and(|h| !h.is_empty()), "{doc}");
}

/// `-v` prints a line per migration; the default prints the count.
#[test]
fn progress_is_a_line_per_migration_with_v_and_a_count_otherwise() {
    let f = crate_with(
        "verify_progress",
        &[USERS, USERS_DOWN, PHONE, ("V2__phone.down.sql", "ALTER TABLE users DROP COLUMN phone;\n")],
    );
    let (out, _) = verify(f.path(), Backend::Sqlite, &["-v"]);
    assert_code(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Verified migrations/V1__users.sql passed"), "{stderr}");
    assert!(stderr.contains("Verified migrations/V2__phone.sql passed"), "{stderr}");
    let (out, _) = verify(f.path(), Backend::Sqlite, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("V1__users"), "{stderr}");
    assert!(stderr.contains("Verified 2 migration(s) on a scratch sqlite database: 2 passed"), "{stderr}");
}

/// On a terminal, as `run` shows each migration it applies, verify shows a line per migration as
/// it is verified (without `-v`); `-q` silences them. Run under `script`, which gives the
/// command a pseudo-terminal, as a person's shell does.
#[test]
fn a_terminal_sees_a_line_per_migration_unless_quiet() {
    let f = crate_with(
        "verify_tty",
        &[USERS, USERS_DOWN, PHONE, ("V2__phone.down.sql", "ALTER TABLE users DROP COLUMN phone;\n")],
    );
    let on_tty = |args: &str| {
        let cmd = format!("'{}' dbmigrate verify {args}", cli_bin().display());
        let out = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .current_dir(f.path())
            .env("CARGO_TERM_COLOR", "never")
            .env_remove("DATABASE_URL")
            .env_remove("CI")
            .output()
            .expect("run `script` (util-linux)");
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).replace('\r', "")
    };
    let shown = on_tty("");
    let lines: Vec<&str> = shown.lines().map(str::trim).filter(|l| l.starts_with("Verified migrations/")).collect();
    assert_eq!(lines.len(), 2, "{shown}");
    assert!(lines[0].starts_with("Verified migrations/V1__users.sql passed ("), "{shown}");
    assert!(lines[1].starts_with("Verified migrations/V2__phone.sql passed ("), "{shown}");
    assert!(shown.contains("Verified 2 migration(s) on a scratch sqlite database: 2 passed"), "{shown}");
    let quiet = on_tty("-q");
    assert!(!quiet.contains("V1__users"), "{quiet}");
    assert!(!quiet.contains("Verified"), "{quiet}");
}
