//! The replay cache: a second `diff` on an unchanged history reads the migrations' schema from
//! `<target>/dbmigrate/replay/` instead of replaying it, gives the same result, and any change
//! to the history or its settings (or a damaged file) replays again.

use dbmigrate_tests::{Backend, Fixture, TestDb, code, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT NOT NULL);\n";
const WITH_PHONE: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT NOT NULL, phone TEXT);\n";
const REUSED: &str = "Reused the replayed schema";

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
    let mut args = vec!["diff", "-m", "change", "--dry-run", "-v"];
    args.extend_from_slice(extra);
    let out = run(f, &args);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr.contains(REUSED))
}

/// The one cache file the runs in `f` wrote.
fn cache_file(f: &Fixture) -> PathBuf {
    let dir = f.path().join("tgt/dbmigrate/replay");
    let files: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("the cache folder").map(|e| e.expect("entry").path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
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

/// Runs `diff --dry-run -v --dev-url dev` in `f` and proves no scratch database of it is left.
fn server_diff(f: &Fixture, dev: &str, left: impl Fn(u32) -> String) -> (String, bool) {
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
    let reused = String::from_utf8_lossy(&out.stderr).contains(REUSED);
    (String::from_utf8_lossy(&out.stdout).into_owned(), reused)
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
fn postgres_a_hit_creates_no_scratch_database_for_the_migrations() {
    let role = Role(format!("dbm_cache_probe_{}", std::process::id()));
    psql(&format!("DROP ROLE IF EXISTS {0}", role.0));
    psql(&format!("CREATE ROLE {0}", role.0));
    // The history grants to a role: once the role is gone, only a cache hit can avoid replaying it.
    let old = format!(
        "CREATE TABLE users (id integer PRIMARY KEY, mail text NOT NULL);\nGRANT SELECT ON users TO {};\n",
        role.0
    );
    let desired = "CREATE TABLE users (id integer PRIMARY KEY, mail text NOT NULL, phone text);\n";
    let f = project("cache_pg", "dialects = [\"postgres\"]", &old, desired);
    let dev = "postgres://postgres@127.0.0.1:5432/postgres";
    let left = |pid: u32| {
        psql(&format!(
            "SELECT string_agg(datname, ' ') FROM pg_database WHERE datname LIKE 'dbmigrate\\_diff\\_{pid}\\_%'"
        ))
    };
    let (cold, reused) = server_diff(&f, dev, left);
    assert!(!reused);
    psql(&format!("DROP ROLE {}", role.0));
    let (warm, reused) = server_diff(&f, dev, left);
    assert!(reused, "the second diff replayed again");
    assert_eq!(warm, cold);
    assert!(warm.contains("ADD COLUMN \\\"phone\\\""), "{warm}");
}

#[test]
fn mariadb_a_hit_creates_no_scratch_database_for_the_migrations() {
    let f = project("cache_my", "dialects = [\"mysql\"]", "", "");
    // The history copies rows from another database: once it is gone, only a hit avoids replaying.
    let probe = TestDb::new(Backend::Mariadb, "cache_probe", f.path());
    probe.query("CREATE TABLE seed (id INT PRIMARY KEY); INSERT INTO seed VALUES (1)");
    let old = format!(
        "CREATE TABLE users (id INT PRIMARY KEY, mail VARCHAR(100) NOT NULL);\nINSERT INTO users (id, mail) SELECT id, 'a' FROM {}.seed;\n",
        probe.name
    );
    f.write("migrations/V1__old.sql", &old);
    f.write("schema.sql", "CREATE TABLE users (id INT PRIMARY KEY, mail VARCHAR(100) NOT NULL, phone VARCHAR(20));\n");
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
    let (cold, reused) = server_diff(&f, dev, left);
    assert!(!reused);
    probe.query("DROP TABLE seed");
    let (warm, reused) = server_diff(&f, dev, left);
    assert!(reused, "the second diff replayed again");
    assert_eq!(warm, cold);
    assert!(warm.contains("phone"), "{warm}");
}
