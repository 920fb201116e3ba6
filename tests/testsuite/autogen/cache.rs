//! The replay cache: a second `diff` on an unchanged history reads the migrations' schema from
//! `<target>/dbmigrate/replay/` instead of replaying it (and on an unchanged schema file the
//! desired schema too), gives the same result, and any change or a damaged file reads afresh.

use dbmigrate_tests::{Backend, Fixture, TestDb, code, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT NOT NULL);\n";
const WITH_PHONE: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT NOT NULL, phone TEXT);\n";
const REUSED: &str = "Reused the replayed schema";
const REUSED_DESIRED: &str = "Reused the desired schema";

/// A crate with `old` as V1, `desired` as schema.sql and `metadata` as its dbmigrate settings.
fn project(name: &str, metadata: &str, old: &str, desired: &str) -> Fixture {
    let f = Fixture::new(name);
    if !metadata.is_empty() {
        let manifest = std::fs::read_to_string(f.path().join("Cargo.toml")).expect("manifest");
        f.write("Cargo.toml", &format!("{manifest}\n[package.metadata.dbmigrate]\n{metadata}\n"));
    }
    f.write("migrations/V1__old.sql", old);
    f.write("schema.sql", desired);
    f
}

/// `cargo dbmigrate <args>` in `f`, its target dir inside the fixture.
fn run(f: &Fixture, args: &[&str]) -> Output {
    Command::new(dbmigrate_tests::cli_bin())
        .arg("dbmigrate")
        .args(args)
        .current_dir(f.path())
        .env("CARGO_TERM_COLOR", "never")
        .env("CARGO_TARGET_DIR", f.path().join("tgt"))
        .env_remove("DATABASE_URL")
        .env_remove("DBMIGRATE_DEV_URL")
        .env_remove("CI")
        .output()
        .expect("run cargo-dbmigrate")
}

/// Runs `diff --dry-run -v` with `extra`; returns its stdout and whether it reused the cache.
fn diff(f: &Fixture, extra: &[&str]) -> (String, bool) {
    let (stdout, reused, _) = diff_both(f, extra);
    (stdout, reused)
}

/// Runs `diff --dry-run -v` with `extra`; returns its stdout and whether it reused the
/// replayed schema and the desired one.
fn diff_both(f: &Fixture, extra: &[&str]) -> (String, bool, bool) {
    let mut args = vec!["diff", "-m", "change", "--dry-run", "-v"];
    args.extend_from_slice(extra);
    let out = run(f, &args);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr.contains(REUSED), stderr.contains(REUSED_DESIRED))
}

/// The cache files the runs in `f` wrote: (the replayed schema's, the desired schema's).
fn cache_files(f: &Fixture) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let dir = f.path().join("tgt/dbmigrate/replay");
    let files: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("the cache folder").map(|e| e.expect("entry").path()).collect();
    files.into_iter().partition(|p| !p.to_string_lossy().ends_with(".desired.cache"))
}

/// The one replayed-schema cache file the runs in `f` wrote.
fn cache_file(f: &Fixture) -> PathBuf {
    let (replayed, _) = cache_files(f);
    assert_eq!(replayed.len(), 1, "{replayed:?}");
    replayed[0].clone()
}

/// The one desired-schema cache file the runs in `f` wrote.
fn desired_file(f: &Fixture) -> PathBuf {
    let (_, desired) = cache_files(f);
    assert_eq!(desired.len(), 1, "{desired:?}");
    desired[0].clone()
}

fn modified(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path).and_then(|m| m.modified()).expect("mtime")
}

#[test]
fn a_second_diff_on_an_unchanged_history_reuses_the_replayed_schema_with_the_same_result() {
    let f = project("cache_hit", "", USERS, WITH_PHONE);
    let (cold, reused) = diff(&f, &["--format", "json"]);
    assert!(!reused, "nothing was cached yet");
    let file = cache_file(&f);
    let name = file.file_name().expect("name").to_string_lossy().into_owned();
    assert!(name.starts_with("cache_hit-") && name.ends_with("-sqlite.cache"), "{file:?}");
    let written = modified(&file);
    let (warm, reused) = diff(&f, &["--format", "json"]);
    assert!(reused, "the second diff replayed again");
    assert_eq!(modified(&file), written, "a hit does not rewrite the cache");
    assert_eq!(warm, cold, "the cached schema gives the same diff");
    assert!(warm.contains("ADD COLUMN \\\"phone\\\" TEXT"), "{warm}");
    // `check --schema` and `schema dump` read it too, and the dump is the replayed one.
    let out = run(&f, &["check", "--schema", "-v"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(text(&out).contains("column `users.phone` is missing"), "{}", text(&out));
    assert!(text(&out).contains(REUSED), "{}", text(&out));
    assert_eq!(modified(&file), written, "check --schema replayed again");
    let out = run(&f, &["schema", "dump", "-v"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(text(&out).contains(REUSED), "{}", text(&out));
    assert!(f.read("schema.sql").contains("CREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT NOT NULL)"));
}

#[test]
fn editing_or_adding_a_migration_or_changing_setup_sql_replays_again() {
    let f = project("cache_edit", "", USERS, WITH_PHONE);
    let (first, _) = diff(&f, &[]);
    assert!(first.contains("ADD COLUMN \"phone\""), "{first}");
    // An edit of V1 that gives the desired schema: nothing to change any more.
    f.write("migrations/V1__old.sql", WITH_PHONE);
    let (edited, reused) = diff(&f, &["--format", "json"]);
    assert!(!reused, "an edited migration must replay");
    assert!(edited.contains("\"changed\":false"), "{edited}");
    // A new migration: its column is now to be dropped.
    f.write("migrations/V2__extra.sql", "ALTER TABLE users ADD COLUMN extra TEXT;\n");
    let (added, reused) = diff(&f, &[]);
    assert!(!reused, "an added migration must replay");
    assert!(added.contains("DROP COLUMN \"extra\""), "{added}");
    let (_, reused) = diff(&f, &[]);
    assert!(reused, "unchanged again: reused");
    // Setup SQL runs before the migrations: here it makes a table the desired schema lacks.
    let manifest = std::fs::read_to_string(f.path().join("Cargo.toml")).expect("manifest");
    let setup = "setup-sql = \"CREATE TABLE IF NOT EXISTS from_setup (x INTEGER)\"";
    f.write("Cargo.toml", &format!("{manifest}\n[package.metadata.dbmigrate]\n{setup}\n"));
    let (with_setup, reused) = diff(&f, &[]);
    assert!(!reused, "changed setup sql must replay");
    assert!(with_setup.contains("DROP TABLE \"from_setup\""), "{with_setup}");
}

#[test]
fn a_corrupt_cache_file_is_ignored_and_rewritten() {
    let f = project("cache_corrupt", "", USERS, WITH_PHONE);
    let (cold, _) = diff(&f, &[]);
    let file = cache_file(&f);
    let good = std::fs::read_to_string(&file).expect("cache");
    let header = good.lines().next().expect("header").to_owned();
    for damaged in [format!("{header}\n{{\"schema\": [tru"), String::new(), "garbage\n{}".into()] {
        std::fs::write(&file, &damaged).expect("damage");
        let (again, reused) = diff(&f, &[]);
        assert!(!reused, "a damaged cache was used: {damaged:?}");
        assert_eq!(again, cold);
        assert_eq!(std::fs::read_to_string(&file).expect("cache"), good, "rewritten");
    }
    let (_, reused) = diff(&f, &[]);
    assert!(reused);
}

#[test]
fn an_unchanged_schema_file_is_read_from_the_desired_cache_and_an_edit_reads_it_again() {
    let f = project("cache_desired", "", USERS, WITH_PHONE);
    let (cold, replay_hit, desired_hit) = diff_both(&f, &["--format", "json"]);
    assert!(!replay_hit && !desired_hit, "nothing was cached yet");
    let file = desired_file(&f);
    let name = file.file_name().expect("name").to_string_lossy().into_owned();
    assert!(name.starts_with("cache_desired-") && name.ends_with("-sqlite.desired.cache"), "{file:?}");
    let written = modified(&file);
    let (warm, replay_hit, desired_hit) = diff_both(&f, &["--format", "json"]);
    assert!(replay_hit && desired_hit, "the second diff read a schema afresh");
    assert_eq!(modified(&file), written, "a hit does not rewrite the cache");
    assert_eq!(warm, cold, "the cached schemas give the same diff");
    let out = run(&f, &["check", "--schema", "-v"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(text(&out).contains(REUSED_DESIRED), "{}", text(&out));
    // An edited schema file is read again; the unchanged history still comes from its cache.
    f.write("schema.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT NOT NULL, nick TEXT);\n");
    let (edited, replay_hit, desired_hit) = diff_both(&f, &[]);
    assert!(replay_hit && !desired_hit, "an edited schema file must be read again");
    assert!(edited.contains("ADD COLUMN \"nick\"") && !edited.contains("phone"), "{edited}");
    let (again, _, desired_hit) = diff_both(&f, &[]);
    assert!(desired_hit, "unchanged again: reused");
    assert_eq!(again, edited);
}

#[test]
fn a_damaged_desired_cache_file_is_ignored_and_rewritten() {
    let f = project("cache_desired_bad", "", USERS, WITH_PHONE);
    let (cold, _, _) = diff_both(&f, &[]);
    let file = desired_file(&f);
    let good = std::fs::read_to_string(&file).expect("cache");
    let header = good.lines().next().expect("header").to_owned();
    for damaged in [format!("{header}\n{{\"tables\": [tru"), String::new(), "garbage\n{}".into()] {
        std::fs::write(&file, &damaged).expect("damage");
        let (again, replay_hit, desired_hit) = diff_both(&f, &[]);
        assert!(replay_hit && !desired_hit, "a damaged cache was used: {damaged:?}");
        assert_eq!(again, cold);
        assert_eq!(std::fs::read_to_string(&file).expect("cache"), good, "rewritten");
    }
}

/// Runs `diff --dry-run -v --dev-url dev` in `f` and proves no scratch database of it is left.
fn server_diff(f: &Fixture, dev: &str, left: impl Fn(u32) -> String) -> (String, bool, bool) {
    let child = Command::new(dbmigrate_tests::cli_bin())
        .args(["dbmigrate", "diff", "-m", "change", "--dry-run", "-v", "--format", "json", "--dev-url", dev])
        .current_dir(f.path())
        .env("CARGO_TERM_COLOR", "never")
        .env("CARGO_TARGET_DIR", f.path().join("tgt"))
        .env_remove("DATABASE_URL")
        .env_remove("DBMIGRATE_DEV_URL")
        .env_remove("CI")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run cargo-dbmigrate");
    let pid = child.id();
    let out = child.wait_with_output().expect("wait");
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(left(pid), "", "scratch databases left: {}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr.contains(REUSED), stderr.contains(REUSED_DESIRED))
}

fn psql(sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qAtX", "-c", sql])
        .output()
        .expect("psql");
    assert!(out.status.success(), "{sql}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A role made for one test, dropped with the guard.
struct Role(String);

impl Drop for Role {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qAtX", "-c"])
            .arg(format!("DROP ROLE IF EXISTS {}", self.0))
            .output();
    }
}

#[test]
fn postgres_a_hit_creates_no_scratch_database_for_either_schema() {
    let role = Role(format!("dbm_cache_probe_{}", std::process::id()));
    psql(&format!("DROP ROLE IF EXISTS {0}", role.0));
    psql(&format!("CREATE ROLE {0}", role.0));
    // The history and the schema file grant to a role: once the role is gone, only cache hits
    // can avoid loading either into a scratch database.
    let old = format!(
        "CREATE TABLE users (id integer PRIMARY KEY, mail text NOT NULL);\nGRANT SELECT ON users TO {};\n",
        role.0
    );
    let desired = format!(
        "CREATE TABLE users (id integer PRIMARY KEY, mail text NOT NULL, phone text);\nGRANT SELECT ON users TO {};\n",
        role.0
    );
    let f = project("cache_pg", "dialects = [\"postgres\"]", &old, &desired);
    let dev = "postgres://postgres@127.0.0.1:5432/postgres";
    let left = |pid: u32| {
        psql(&format!(
            "SELECT string_agg(datname, ' ') FROM pg_database WHERE datname LIKE 'dbmigrate\\_diff\\_{pid}\\_%'"
        ))
    };
    let (cold, reused, desired_reused) = server_diff(&f, dev, left);
    assert!(!reused && !desired_reused);
    psql(&format!("DROP ROLE {}", role.0));
    let (warm, reused, desired_reused) = server_diff(&f, dev, left);
    assert!(reused, "the second diff replayed again");
    assert!(desired_reused, "the second diff loaded the schema file again");
    assert_eq!(warm, cold);
    assert!(warm.contains("ADD COLUMN \\\"phone\\\""), "{warm}");
}

#[test]
fn mariadb_a_hit_creates_no_scratch_database_for_either_schema() {
    let f = project("cache_my", "dialects = [\"mysql\"]", "", "");
    // The history and the schema file copy rows from another database: once they are gone,
    // only cache hits avoid loading either.
    let probe = TestDb::new(Backend::Mariadb, "cache_probe", f.path());
    probe.query("CREATE TABLE seed (id INT PRIMARY KEY); INSERT INTO seed VALUES (1)");
    let old = format!(
        "CREATE TABLE users (id INT PRIMARY KEY, mail VARCHAR(100) NOT NULL);\nINSERT INTO users (id, mail) SELECT id, 'a' FROM {}.seed;\n",
        probe.name
    );
    f.write("migrations/V1__old.sql", &old);
    let desired = format!(
        "CREATE TABLE users (id INT PRIMARY KEY, mail VARCHAR(100) NOT NULL, phone VARCHAR(20));\nINSERT INTO users (id, mail) SELECT id, 'a' FROM {}.seed;\n",
        probe.name
    );
    f.write("schema.sql", &desired);
    let dev = "mysql://root@127.0.0.1:3306/";
    let left = |pid: u32| {
        let sql = format!(
            "SELECT IFNULL(GROUP_CONCAT(SCHEMA_NAME), '') FROM information_schema.SCHEMATA \
             WHERE SCHEMA_NAME LIKE 'dbmigrate\\_diff\\_{pid}\\_%'"
        );
        let out = Command::new("mariadb")
            .args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-N", "-B", "-e", &sql])
            .output()
            .expect("mariadb");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let (cold, reused, desired_reused) = server_diff(&f, dev, left);
    assert!(!reused && !desired_reused);
    probe.query("DROP TABLE seed");
    let (warm, reused, desired_reused) = server_diff(&f, dev, left);
    assert!(reused, "the second diff replayed again");
    assert!(desired_reused, "the second diff loaded the schema file again");
    assert_eq!(warm, cold);
    assert!(warm.contains("phone"), "{warm}");
}

#[test]
fn postgres_when_both_schemas_fail_the_replay_is_reported_and_no_scratch_database_is_left() {
    // Both sides load at once now; the error is still the replay's, as when they ran in turn.
    let old = "CREATE TABLE users (id integer PRIMARY KEY);\nSELECT no_such_function();\n";
    let f = project("cache_pg_fail", "dialects = [\"postgres\"]", old, "CREATE TABLE broken (;\n");
    let child = Command::new(dbmigrate_tests::cli_bin())
        .args([
            "dbmigrate",
            "diff",
            "-m",
            "change",
            "--dry-run",
            "--dev-url",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ])
        .current_dir(f.path())
        .env("CARGO_TERM_COLOR", "never")
        .env("CARGO_TARGET_DIR", f.path().join("tgt"))
        .env_remove("DATABASE_URL")
        .env_remove("DBMIGRATE_DEV_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run cargo-dbmigrate");
    let pid = child.id();
    let out = child.wait_with_output().expect("wait");
    assert_eq!(code(&out), 101, "{}", text(&out));
    assert!(text(&out).contains("no_such_function"), "{}", text(&out));
    assert!(!text(&out).contains("does not load"), "{}", text(&out));
    let left = psql(&format!(
        "SELECT string_agg(datname, ' ') FROM pg_database WHERE datname LIKE 'dbmigrate\\_diff\\_{pid}\\_%'"
    ));
    assert_eq!(left, "", "scratch databases left");
    assert!(!f.path().join("tgt/dbmigrate/replay").exists(), "a failure cached something");
}
