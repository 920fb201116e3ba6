//! `cargo dbmigrate diff`, `schema dump` and `check --schema` on a real MariaDB, through the
//! CLI: each generated pair is proved by a round trip on a populated database, and no scratch
//! database outlives the command. (The renderer's cases are proved in the runtime's
//! `schema_mysql` tests; these prove the command wires them up.)

use super::{ok, spawn};
use dbmigrate_runtime::DatabaseUrl;
use dbmigrate_runtime::schema::{self, Renames, Schema};
use dbmigrate_tests::{Backend, Fixture, TestDb, code, dbm, text};
use std::process::{Command, Output};

const DEV: &str = "mysql://root@127.0.0.1:3306/";

/// A mysql crate whose migrations hold `old` (V1) and whose schema.sql is `desired`.
fn project(old: &str, desired: &str) -> Fixture {
    let f = Fixture::new("autogen_my");
    let manifest = std::fs::read_to_string(f.path().join("Cargo.toml")).expect("manifest");
    f.write("Cargo.toml", &format!("{manifest}\n[package.metadata.dbmigrate]\ndialects = [\"mysql\"]\n"));
    if !old.is_empty() {
        f.write("migrations/V1__old.sql", old);
        f.write("migrations/V1__old.down.sql", "-- irreversible in these tests\n");
    } else {
        std::fs::create_dir_all(f.path().join("migrations")).expect("mkdir");
    }
    f.write("schema.sql", desired);
    f
}

/// Runs the CLI in `f` and proves afterwards that no scratch database of that process is left.
fn run(f: &Fixture, args: &[&str]) -> Output {
    let child = spawn(f, args, &[]);
    let pid = child.id();
    let out = child.wait_with_output().expect("wait");
    assert_eq!(scratch_left(pid), "", "scratch databases left by {args:?}: {}", text(&out));
    out
}

/// The scratch databases the process `pid` made that still exist.
fn scratch_left(pid: u32) -> String {
    let sql = format!(
        "SELECT IFNULL(GROUP_CONCAT(SCHEMA_NAME), '') FROM information_schema.SCHEMATA \
         WHERE SCHEMA_NAME LIKE 'dbmigrate\\_diff\\_{pid}\\_%'"
    );
    let out = Command::new("mariadb")
        .args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-N", "-B", "-e", &sql])
        .output()
        .expect("mariadb");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn diff(f: &Fixture, extra: &[&str]) -> Output {
    let mut args = vec!["diff", "-m", "change", "--dev-url", DEV];
    args.extend_from_slice(extra);
    run(f, &args)
}

/// The written up file's name (not V1's).
fn written(f: &Fixture) -> String {
    let files = f.list("migrations");
    let up = files.iter().find(|n| n.starts_with('V') && !n.starts_with("V1__") && !n.ends_with(".down.sql"));
    up.unwrap_or_else(|| panic!("no migration written: {files:?}")).clone()
}

/// The schema of the database `db`, without the engine's tables.
fn introspect(db: &TestDb) -> Schema {
    let url = DatabaseUrl::parse(&db.url, std::path::Path::new(".")).expect("url");
    let timeout = std::time::Duration::from_secs(10);
    schema::introspect_mysql_url(&url, timeout, "refinery_schema_history").expect("introspect")
}

/// The schema `sql` gives when loaded into a fresh database by the mariadb client.
fn schema_of(f: &Fixture, name: &str, sql: &str) -> Schema {
    let db = TestDb::new(Backend::Mariadb, name, f.path());
    db.query(sql);
    introspect(&db)
}

fn assert_same(actual: &Schema, expected: &Schema, what: &str) {
    let diff = schema::differences(actual, expected, &Renames::default());
    assert!(diff.is_empty(), "{what}: {:#?}", diff.describe());
}

/// Generates the migration from `old` to `desired`, applies it to a database at `old` holding
/// `rows` (the database then has the desired schema, and `check --schema` sees no drift), then
/// reverts it (the old schema is back). Returns the up.
fn round_trip(old: &str, desired: &str, rows: &str, extra: &[&str]) -> String {
    let f = project(old, desired);
    let db = TestDb::new(Backend::Mariadb, "autogen", f.path());
    ok(dbm(f.path(), &db.url, &["run", "--no-backup"]));
    if !rows.is_empty() {
        db.query(rows);
    }
    ok(diff(&f, extra));
    let up_name = written(&f);
    let path = format!("migrations/{up_name}");
    let up = f.read(&path);
    if up.contains("-- dbmigrate:todo") {
        let refused = dbm(f.path(), &db.url, &["run", "--no-backup"]);
        assert_ne!(code(&refused), 0, "run must refuse a todo: {}", text(&refused));
        let kept: Vec<&str> = up.lines().filter(|l| !l.starts_with("-- dbmigrate:todo")).collect();
        f.write(&path, &(kept.join("\n") + "\n"));
    }
    ok(dbm(f.path(), &db.url, &["run", "--no-backup"]));
    assert_same(&introspect(&db), &schema_of(&f, "desired", desired), &format!("after the up:\n{up}"));
    // Nothing left to generate: the migrations now build the desired schema.
    ok(run(&f, &["check", "--schema", "--dev-url", DEV]));
    ok(dbm(f.path(), &db.url, &["down", "--steps", "1", "--no-backup", "--yes"]));
    assert_eq!(db.versions(), vec![1], "the down reverted the generated migration");
    assert_same(&introspect(&db), &schema_of(&f, "old", old), "after the down");
    up
}

const USERS: &str =
    "CREATE TABLE users (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, mail VARCHAR(40) NOT NULL);\n";
const ROWS: &str = "INSERT INTO users (mail) VALUES ('a@x'), ('b@x')";

#[test]
fn a_new_table_with_a_foreign_key_and_a_timestamp_default() {
    let desired = format!(
        "{USERS}CREATE TABLE posts (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, \
         user_id INT UNSIGNED NOT NULL, created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, \
         CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE);\n"
    );
    let up = round_trip(USERS, &desired, ROWS, &[]);
    assert!(up.contains("CREATE TABLE `posts`") && up.contains("ON DELETE CASCADE"), "{up}");
}

#[test]
fn a_not_null_column_without_a_default_takes_three_steps_and_a_todo() {
    let desired = "CREATE TABLE users (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, \
                   mail VARCHAR(40) NOT NULL, phone VARCHAR(20) NOT NULL);\n";
    let up = round_trip(USERS, desired, ROWS, &[]);
    assert!(up.contains("-- dbmigrate:todo"), "{up}");
}

#[test]
fn a_removed_column_is_destructive_and_a_declared_rename_keeps_the_data() {
    let desired = "CREATE TABLE users (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY);\n";
    let up = round_trip(USERS, desired, ROWS, &[]);
    assert!(up.contains("-- dbmigrate:destructive column `users.mail`"), "{up}");
    let renamed =
        "CREATE TABLE users (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(40) NOT NULL);\n";
    let up = round_trip(USERS, renamed, ROWS, &["--rename", "users.mail=email"]);
    assert!(up.contains("RENAME COLUMN `mail` TO `email`") && !up.contains("DROP COLUMN"), "{up}");
}

#[test]
fn check_schema_finds_drift_and_dump_bootstraps() {
    let f = project(USERS, &format!("{USERS}CREATE TABLE tags (name VARCHAR(20) NOT NULL PRIMARY KEY);\n"));
    let out = run(&f, &["check", "--schema", "--dev-url", DEV]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(text(&out).contains("schema-drift") && text(&out).contains("tags"), "{}", text(&out));
    ok(run(&f, &["schema", "dump", "--dev-url", DEV]));
    assert!(f.read("schema.sql").contains("CREATE TABLE `users`"), "{}", f.read("schema.sql"));
    ok(run(&f, &["check", "--schema", "--dev-url", DEV]));
    let out = ok(run(&f, &["diff", "-m", "none", "--dev-url", DEV]));
    assert_eq!(f.list("migrations").len(), 2, "nothing written: {out}");
}

#[test]
fn a_bad_schema_file_fails_naming_it_and_leaves_no_scratch_database() {
    let f = project(USERS, "CREATE TABLE broken (id INT PRIMARY KEY,);\n");
    let out = run(&f, &["diff", "-m", "x", "--dev-url", DEV]);
    assert_eq!(code(&out), 101, "{}", text(&out));
    assert!(text(&out).contains("schema.sql") && text(&out).contains("mysql"), "{}", text(&out));
}

#[test]
fn an_interrupted_diff_exits_130_and_drops_its_scratch_database() {
    let f = project(&format!("{USERS}SELECT SLEEP(5);\n"), USERS);
    let child = spawn(&f, &["diff", "-m", "x", "--dev-url", DEV], &[]);
    let pid = child.id();
    for _ in 0..200 {
        if !scratch_left(pid).is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!scratch_left(pid).is_empty(), "the diff never made its scratch database");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let kill = Command::new("kill").args(["-INT", &pid.to_string()]).status().expect("kill");
    assert!(kill.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(code(&out), 130, "{}", text(&out));
    assert_eq!(scratch_left(pid), "", "{}", text(&out));
}

#[test]
fn the_vaultwarden_history_is_dumped_and_reproduced_from_an_empty_history() {
    let Some(corpus) = dbmigrate_tests::corpus_root() else { return };
    let f = project("", "");
    let manifest = f.read("Cargo.toml");
    f.write(
        "Cargo.toml",
        &manifest.replace("dialects = [\"mysql\"]", "dialects = [\"mysql\"]\nsetup-sql = \"SET FOREIGN_KEY_CHECKS=0\""),
    );
    for entry in std::fs::read_dir(corpus.join("vaultwarden/mysql")).expect("corpus") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, f.path().join("migrations").join(path.file_name().expect("name"))).expect("copy");
    }
    // Adopting a history: released, so its drops (which cannot change) are not linted.
    ok(run(&f, &["release"]));
    ok(run(&f, &["schema", "dump", "--dev-url", DEV]));
    let dumped = f.read("schema.sql");
    assert!(dumped.matches("CREATE TABLE").count() > 10, "{dumped}");
    ok(run(&f, &["check", "--schema", "--dev-url", DEV]));
    let fresh = project("", &dumped);
    ok(diff(&fresh, &[]));
    ok(run(&fresh, &["check", "--schema", "--dev-url", DEV]));
}
