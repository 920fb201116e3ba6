//! `cargo dbmigrate diff`, `schema dump` and `check --schema` on SQLite: each generated pair is
//! proved by a round trip on a populated database (up gives the desired schema, down the old).

mod cache;
mod mysql;
mod pg;

use dbmigrate_runtime::schema::{self, Renames, Schema};
use dbmigrate_tests::{Fixture, code, dbm, text};
use std::path::Path;
use std::process::Output;

mod sqlite_more;

const HISTORY: &str = "refinery_schema_history";

/// A crate whose migrations hold `old` (V1) and whose schema.sql is `desired`.
fn project(old: &str, desired: &str) -> Fixture {
    let f = Fixture::new("autogen");
    f.write("migrations/V1__old.sql", old);
    f.write("migrations/V1__old.down.sql", "-- irreversible in these tests\n");
    f.write("schema.sql", desired);
    f
}

fn run(f: &Fixture, args: &[&str]) -> Output {
    f.cli().args(args).env_remove("DATABASE_URL").output().expect("run cargo-dbmigrate")
}

fn ok(out: Output) -> String {
    assert_eq!(code(&out), 0, "{}", text(&out));
    text(&out)
}

/// `cargo dbmigrate <args>` started in `f` with `envs` and none of the caller's database
/// settings, its output piped: the server dialects' tests watch its pid's scratch databases.
fn spawn(f: &Fixture, args: &[&str], envs: &[(&str, &str)]) -> std::process::Child {
    std::process::Command::new(dbmigrate_tests::cli_bin())
        .arg("dbmigrate")
        .args(args)
        .current_dir(f.path())
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("DATABASE_URL")
        .env_remove("DBMIGRATE_DEV_URL")
        .env_remove("CI")
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run cargo-dbmigrate")
}

/// The schema of `sql` loaded into a fresh SQLite file by the sqlite3 shell.
fn schema_of(dir: &Path, name: &str, sql: &str) -> Schema {
    let file = dir.join(name);
    let out = std::process::Command::new("sqlite3").arg(&file).arg(sql).output().expect("sqlite3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    schema::introspect_sqlite_file(&file, HISTORY).expect("introspect")
}

fn assert_same(actual: &Schema, expected: &Schema, what: &str) {
    let diff = schema::differences(actual, expected, &Renames::default());
    assert!(diff.is_empty(), "{what}: {:#?}", diff.describe());
    let names = |s: &Schema| s.tables.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(actual), names(expected), "{what}");
}

fn sqlite(file: &Path, sql: &str) {
    let out = std::process::Command::new("sqlite3").arg(file).arg(sql).output().expect("sqlite3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Generates the migration from `old` to `desired` (with `extra` arguments), then proves it:
/// applied to a database at `old` holding `rows`, it gives `desired`; reverted, `old` again.
/// Returns the up and down text.
fn round_trip(old: &str, desired: &str, rows: &str, extra: &[&str]) -> (String, String, String) {
    let f = project(old, desired);
    let mut args = vec!["diff", "-m", "change"];
    args.extend_from_slice(extra);
    let out = run(&f, &args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out);
    let files = f.list("migrations");
    let up_name = files.iter().find(|n| n.starts_with('V') && !n.starts_with("V1__") && !n.ends_with(".down.sql"));
    let up_name = up_name.unwrap_or_else(|| panic!("no migration written: {files:?}"));
    let up = f.read(&format!("migrations/{up_name}"));
    let down = f.read(&format!("migrations/{}", up_name.replace(".sql", ".down.sql")));
    if up.contains("-- dbmigrate:todo") {
        resolve_todos(&f, up_name);
    }
    if down.contains("-- dbmigrate:todo") {
        resolve_todos(&f, &up_name.replace(".sql", ".down.sql"));
    }
    let db = f.path().join("app.db");
    let url = format!("sqlite:{}", db.display());
    ok(dbm(f.path(), &url, &["run", "--to", "1", "--no-backup"]));
    if !rows.is_empty() {
        sqlite(&db, rows);
    }
    ok(dbm(f.path(), &url, &["run", "--no-backup"]));
    let want = schema_of(f.path(), "desired.db", desired);
    let got = schema::introspect_sqlite_file(&db, HISTORY).expect("introspect");
    assert_same(&got, &want, &format!("after the up:\n{up}"));
    ok(dbm(f.path(), &url, &["down", "--steps", "1", "--no-backup", "--yes"]));
    let before = schema_of(f.path(), "old.db", old);
    let got = schema::introspect_sqlite_file(&db, HISTORY).expect("introspect");
    assert_same(&got, &before, &format!("after the down:\n{down}"));
    (up, down, stderr)
}

/// Proves the build's guard refuses the placeholders, then plays the person who reviewed them.
fn resolve_todos(f: &Fixture, up_name: &str) {
    let out = run(f, &["check"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(text(&out).contains("todo-left"), "{}", text(&out));
    let path = format!("migrations/{up_name}");
    let text = f.read(&path);
    let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("-- dbmigrate:todo")).collect();
    f.write(&path, &(kept.join("\n") + "\n"));
    ok(run(f, &["check"]));
}

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT NOT NULL);\n";
const ROWS: &str = "INSERT INTO users (mail) VALUES ('a@x'), ('b@x');";

#[test]
fn a_new_table_with_a_foreign_key_and_a_default_timestamp() {
    let desired = format!(
        "{USERS}CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE, \
         created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);\nCREATE INDEX posts_user ON posts (user_id);\n"
    );
    let (up, down, _) = round_trip(USERS, &desired, ROWS, &[]);
    assert!(up.contains("CREATE TABLE \"posts\"") && up.contains("ON DELETE CASCADE"), "{up}");
    assert!(up.contains("CREATE INDEX posts_user"), "{up}");
    assert!(down.contains("DROP TABLE \"posts\";"), "{down}");
}

#[test]
fn a_new_nullable_column_and_one_with_a_server_default() {
    let desired = "CREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT NOT NULL, phone TEXT, \
                   active INTEGER NOT NULL DEFAULT 1);\n";
    let (up, down, _) = round_trip(USERS, desired, ROWS, &[]);
    assert!(up.contains("ALTER TABLE \"users\" ADD COLUMN \"phone\" TEXT;"), "{up}");
    assert!(up.contains("ADD COLUMN \"active\" INTEGER NOT NULL DEFAULT 1;"), "{up}");
    assert!(down.contains("DROP COLUMN \"active\""), "{down}");
}

#[test]
fn a_not_null_column_without_default_is_added_nullable_backfilled_then_rebuilt() {
    let desired = "CREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT NOT NULL, nickname TEXT NOT NULL);\n";
    let (up, _, _) = round_trip(USERS, desired, ROWS, &[]);
    let add = up.find("ADD COLUMN \"nickname\" TEXT;").expect("added nullable");
    let todo = up.find("-- dbmigrate:todo").expect("todo marker");
    let update = up.find("UPDATE \"users\" SET \"nickname\" = '';").expect("backfill");
    let rebuild = up.find("INSERT INTO \"dbmigrate_new_users\"").expect("rebuild");
    assert!(add < todo && todo < update && update < rebuild, "{up}");
}

#[test]
fn a_removed_column_is_destructive_with_a_warning() {
    let old = "CREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT NOT NULL, age INTEGER);\n";
    let (up, down, stderr) = round_trip(old, USERS, "INSERT INTO users (mail, age) VALUES ('a', 3);", &[]);
    assert!(
        up.contains(
            "-- dbmigrate:destructive drops column users.age and its data\nALTER TABLE \"users\" DROP COLUMN \"age\";"
        ),
        "{up}"
    );
    assert!(down.contains("ADD COLUMN \"age\" INTEGER;"), "{down}");
    assert!(stderr.contains("warning: dropping column `users.age` loses its data"), "{stderr}");
}

#[test]
fn a_removed_table_is_destructive_and_its_down_recreates_it() {
    let old = format!(
        "{USERS}CREATE TABLE logs (id INTEGER PRIMARY KEY, line TEXT);\nCREATE INDEX logs_line ON logs (line);\n"
    );
    let (up, down, stderr) = round_trip(&old, USERS, "INSERT INTO logs (line) VALUES ('x');", &[]);
    assert!(up.contains("-- dbmigrate:destructive drops table logs and its rows\nDROP TABLE \"logs\";"), "{up}");
    assert!(down.contains("rows are not restored") && down.contains("CREATE INDEX logs_line"), "{down}");
    assert!(stderr.contains("dropping table `logs` loses its rows"), "{stderr}");
}

#[test]
fn new_changed_and_removed_indexes() {
    let old =
        format!("{USERS}CREATE INDEX users_mail ON users (mail);\nCREATE INDEX users_id_mail ON users (id, mail);\n");
    let desired = format!(
        "{USERS}CREATE UNIQUE INDEX users_mail ON users (mail);\nCREATE INDEX users_lower ON users (lower(mail)) WHERE id > 0;\n"
    );
    let (up, down, _) = round_trip(&old, &desired, ROWS, &[]);
    assert!(up.contains("DROP INDEX \"users_id_mail\";") && up.contains("DROP INDEX \"users_mail\";"), "{up}");
    assert!(up.contains("CREATE UNIQUE INDEX users_mail") && up.contains("WHERE id > 0"), "{up}");
    assert!(down.contains("CREATE INDEX users_mail ON users (mail);"), "{down}");
}

#[test]
fn a_changed_column_type_rebuilds_the_table_keeping_rows_and_indexes() {
    let old = format!("{USERS}CREATE INDEX users_mail ON users (mail);\n");
    let desired = "CREATE TABLE users (id INTEGER PRIMARY KEY, mail VARCHAR(200) NOT NULL UNIQUE);\nCREATE INDEX users_mail ON users (mail);\n";
    let (up, _, _) = round_trip(&old, desired, ROWS, &[]);
    assert!(up.contains("ALTER TABLE \"dbmigrate_new_users\" RENAME TO \"users\";"), "{up}");
}

#[test]
fn a_drop_and_add_of_one_type_is_flagged_as_a_likely_rename() {
    let desired = "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n";
    let (up, down, stderr) = round_trip(USERS, desired, ROWS, &[]);
    assert!(down.contains("-- dbmigrate:todo replace the placeholder copied into `mail`"), "{down}");
    assert!(up.contains("-- likely a rename: ALTER TABLE \"users\" RENAME COLUMN \"mail\" TO \"email\";"), "{up}");
    assert!(stderr.contains("--rename users.mail=email"), "{stderr}");
}

#[test]
fn declared_renames_of_a_column_and_a_table_keep_the_data() {
    let desired = "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n";
    let (up, down, _) =
        round_trip(USERS, desired, ROWS, &["--rename", "users=people", "--rename", "people.mail=email"]);
    assert!(up.contains("ALTER TABLE \"users\" RENAME TO \"people\";"), "{up}");
    assert!(up.contains("ALTER TABLE \"people\" RENAME COLUMN \"mail\" TO \"email\";"), "{up}");
    assert!(!up.contains("destructive"), "{up}");
    assert!(down.contains("ALTER TABLE \"people\" RENAME TO \"users\";"), "{down}");
}

#[test]
fn nothing_to_change_writes_nothing() {
    let f = project(USERS, USERS);
    let out = ok(run(&f, &["diff", "-m", "nothing"]));
    assert!(out.contains("nothing was written"), "{out}");
    assert_eq!(f.list("migrations").len(), 2);
}

#[test]
fn dry_run_prints_the_pair_and_writes_nothing() {
    let f = project(USERS, "CREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT NOT NULL, phone TEXT);\n");
    let out = run(&f, &["diff", "-m", "phone", "--dry-run"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    ok(out);
    assert!(stdout.contains("-- up\nALTER TABLE \"users\" ADD COLUMN \"phone\" TEXT;"), "{stdout}");
    assert!(stdout.contains("-- down\nALTER TABLE \"users\" DROP COLUMN \"phone\";"), "{stdout}");
    assert_eq!(f.list("migrations").len(), 2);
}

#[test]
fn views_and_triggers_are_listed_as_not_compared() {
    let desired = format!("{USERS}CREATE VIEW mails AS SELECT mail FROM users;\n");
    let f = project(USERS, &desired);
    let out = ok(run(&f, &["diff", "-m", "nothing", "--format", "json"]));
    let doc: serde_json::Value = serde_json::from_str(out.lines().next().expect("json")).expect("json");
    assert_eq!(doc["command"], "diff");
    assert_eq!(doc["changed"], false);
    assert_eq!(doc["not_compared"], serde_json::json!(["view mails"]));
}

#[test]
fn check_schema_finds_drift_and_passes_once_the_migration_exists() {
    let f = project(USERS, "CREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT NOT NULL, phone TEXT);\n");
    let out = run(&f, &["check", "--schema"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("schema-drift") && all.contains("column `users.phone` is missing"), "{all}");
    assert!(all.contains("cargo dbmigrate diff -m"), "{all}");
    ok(run(&f, &["diff", "-m", "add phone"]));
    ok(run(&f, &["check", "--schema"]));
}

#[test]
fn schema_dump_then_check_schema_passes() {
    let old =
        format!("{USERS}CREATE INDEX users_mail ON users (mail);\nCREATE TABLE a (x INTEGER REFERENCES users (id));\n");
    let f = project(&old, "");
    std::fs::remove_file(f.path().join("schema.sql")).expect("rm");
    let out = run(&f, &["check", "--schema"]);
    assert_eq!(code(&out), 101, "{}", text(&out));
    assert!(text(&out).contains("cargo dbmigrate schema dump"), "{}", text(&out));
    ok(run(&f, &["schema", "dump"]));
    let first = f.read("schema.sql");
    ok(run(&f, &["check", "--schema"]));
    ok(run(&f, &["schema", "dump"]));
    assert_eq!(f.read("schema.sql"), first, "the dump is deterministic");
    ok(run(&f, &["diff", "-m", "nothing"]));
    assert_eq!(f.list("migrations").len(), 2);
}

#[test]
fn a_bad_rename_is_a_usage_error() {
    let f = project(USERS, USERS);
    let out = run(&f, &["diff", "-m", "x", "--rename", "users"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("hint: write `--rename old_table=new_table`"), "{}", text(&out));
}

const POSTS: &str =
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id) ON DELETE CASCADE);\n";

#[test]
fn a_changed_foreign_key_action_rebuilds_and_checks_the_keys() {
    let old = format!("{USERS}{POSTS}");
    let desired = format!("{USERS}{}", POSTS.replace("CASCADE", "SET NULL"));
    let rows = format!("{ROWS} INSERT INTO posts (user_id) VALUES (1);");
    let (up, down, _) = round_trip(&old, &desired, &rows, &[]);
    assert!(up.contains("ON DELETE SET NULL") && up.contains("pragma_foreign_key_check('posts')"), "{up}");
    assert!(down.contains("ON DELETE CASCADE"), "{down}");
}

#[test]
fn a_rebuild_that_breaks_a_foreign_key_fails_and_changes_nothing() {
    let f = project(USERS, &format!("{USERS}{POSTS}"));
    ok(run(&f, &["diff", "-m", "posts"]));
    f.write("schema.sql", &format!("{USERS}{}", POSTS.replace("user_id INTEGER", "user_id INTEGER NOT NULL")));
    ok(run(&f, &["diff", "-m", "required user"]));
    let db = f.path().join("app.db");
    let url = format!("sqlite:{}", db.display());
    ok(dbm(f.path(), &url, &["run", "--to", "1", "--no-backup"]));
    let next = f.list("migrations").into_iter().find(|n| n.ends_with("__posts.sql")).expect("posts");
    let version = next.trim_start_matches('V').split("__").next().expect("version").to_owned();
    ok(dbm(f.path(), &url, &["run", "--to", &version, "--no-backup"]));
    // An orphan row, possible while SQLite's foreign keys are off.
    sqlite(&db, "INSERT INTO posts (user_id) VALUES (42);");
    let out = dbm(f.path(), &url, &["run", "--no-backup"]);
    assert_eq!(code(&out), 101, "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("FOREIGN KEY constraint failed") || all.contains("rows_violating_foreign_keys"), "{all}");
    let posts = schema::introspect_sqlite_file(&db, HISTORY).expect("introspect").tables["posts"].clone();
    assert!(!posts.columns[1].not_null, "the failed rebuild was rolled back");
}

#[test]
fn a_self_referencing_table_with_a_composite_unique_constraint() {
    let desired = format!(
        "{USERS}CREATE TABLE nodes (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES nodes (id), a TEXT, b TEXT, UNIQUE (a, b));\n"
    );
    round_trip(USERS, &desired, ROWS, &[]);
    let with_unique = "CREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT NOT NULL, UNIQUE (mail, id));\n";
    let (up, _, _) = round_trip(USERS, with_unique, ROWS, &[]);
    assert!(up.contains("UNIQUE (mail, id)"), "{up}");
}

#[test]
fn a_crate_on_another_database_is_refused_with_the_way_forward() {
    let f = project(USERS, USERS);
    let out = f
        .cli()
        .args(["diff", "-m", "x"])
        .env("DATABASE_URL", "postgres://postgres:s3cret@127.0.0.1/app")
        .output()
        .expect("run");
    assert_eq!(code(&out), 2, "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("autogenerate on postgres replays the migrations into a scratch database"), "{all}");
    assert!(all.contains("hint: pass --dev-url postgres://postgres@127.0.0.1:5432/postgres"), "{all}");
    assert!(!all.contains("s3cret"), "never a password: {all}");
}

#[test]
fn the_same_schema_written_another_way_is_no_drift() {
    let old =
        "CREATE TABLE users (id integer primary key, mail text not null);\nCREATE INDEX users_mail ON users(mail);\n";
    let desired = "CREATE TABLE \"users\" (\n  id INTEGER PRIMARY KEY,\n  mail TEXT NOT NULL\n);\n\
                   CREATE INDEX IF NOT EXISTS \"users_mail\" ON \"users\" (mail);\n";
    let f = project(old, desired);
    ok(run(&f, &["check", "--schema"]));
    let out = ok(run(&f, &["diff", "-m", "nothing"]));
    assert!(out.contains("nothing was written"), "{out}");
}
