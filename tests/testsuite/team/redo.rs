//! The dev loop "apply, edit, redo": `redo` reverts an unreleased migration with the down script
//! recorded when it was applied, then applies the edited file, under one lock; released
//! migrations keep the refusal, and a redo stopped between its halves leaves a truthful status.

use super::{ok, states};
use crate::db::crate_with;
use dbmigrate_tests::{Backend, Fixture, TestDb, dbm, dbm_command};
use std::process::Stdio;
use std::time::{Duration, Instant};

const V1: &str = "V20260101000000__create_users.sql";
const V2: &str = "V20260102000000__create_posts.sql";
const V2_DOWN: &str = "V20260102000000__create_posts.down.sql";
const V1_DOWN: &str = "V20260101000000__create_users.down.sql";

/// V1 and V2, where V2 creates two tables and its down drops both.
fn two_migrations(name: &str) -> Fixture {
    crate_with(
        name,
        &[
            (V1, "CREATE TABLE users (id INT PRIMARY KEY);\n"),
            (V1_DOWN, "DROP TABLE users;\n"),
            (V2, "CREATE TABLE posts (id INT PRIMARY KEY);\nCREATE TABLE tags (id INT PRIMARY KEY);\n"),
            (V2_DOWN, "DROP TABLE tags;\nDROP TABLE posts;\n"),
        ],
    )
}

/// The edit: V2 no longer creates `tags`, so its new down does not drop it.
fn edit_v2(f: &Fixture) {
    f.write(&format!("migrations/{V2}"), "CREATE TABLE posts (id INT PRIMARY KEY, title VARCHAR(50));\n");
    f.write(&format!("migrations/{V2_DOWN}"), "DROP TABLE posts;\n");
}

fn the_dev_loop_reverts_with_the_recorded_down(backend: Backend) {
    let f = two_migrations("team_redo");
    let db = TestDb::new(backend, "redo", f.path());
    ok(&f, &db, &["run"], 0);
    edit_v2(&f);
    assert_eq!(states(&f, &db)[1], (20260102000000, "divergent".to_owned()));
    // `run` still refuses the edit: only a revert knows how to deal with it.
    ok(&f, &db, &["run"], 101);

    let dry = ok(&f, &db, &["redo", "--dry-run"], 0);
    assert!(dry.contains("DROP TABLE tags") && dry.contains("title VARCHAR(50)"), "{dry}");
    assert!(db.tables().contains(&"tags".to_owned()), "a dry run changes nothing");

    let redo = ok(&f, &db, &["redo", "--yes"], 0);
    assert!(redo.contains("Reverting") && redo.contains("Applying"), "{redo}");
    assert!(!redo.contains("Out of order"), "{redo}");
    // The old down ran (it alone drops `tags`), then the new up (the `title` column).
    assert_eq!(db.tables(), ["posts", "users"], "{:?}", db.backend);
    db.query("INSERT INTO posts (id, title) VALUES (1, 'hello')");
    assert!(states(&f, &db).iter().all(|(_, s)| s == "applied"), "{:?}", states(&f, &db));
    ok(&f, &db, &["status", "--exit-code"], 0);

    // Two steps: both reverted newest first, then applied oldest first, one document.
    let out = dbm(f.path(), &db.url, &["redo", "--steps", "2", "--yes", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    let versions: Vec<i64> =
        json["migrations"].as_array().expect("migrations").iter().map(|m| m["version"].as_i64().expect("v")).collect();
    assert_eq!(versions, [20260102000000, 20260101000000, 20260101000000, 20260102000000], "{json}");
    assert_eq!(json["after"], 20260102000000_i64, "{json}");
    assert_eq!(db.tables(), ["posts", "users"]);
    assert_eq!(db.query("SELECT count(*) FROM posts"), "0", "posts was dropped and created again");
    ok(&f, &db, &["status", "--exit-code"], 0);

    // Now unchanged since applied: `down` uses the file's down, as always.
    ok(&f, &db, &["down", "--yes"], 0);
    assert_eq!(db.tables(), ["users"]);
}

#[test]
fn sqlite_the_dev_loop_reverts_with_the_recorded_down() {
    the_dev_loop_reverts_with_the_recorded_down(Backend::Sqlite);
}

#[test]
fn pg_the_dev_loop_reverts_with_the_recorded_down() {
    the_dev_loop_reverts_with_the_recorded_down(Backend::Postgres);
}

#[test]
fn maria_the_dev_loop_reverts_with_the_recorded_down() {
    the_dev_loop_reverts_with_the_recorded_down(Backend::Mariadb);
}

/// `down` alone uses the recorded text too, and a text with quotes and backslashes survives
/// the round trip exactly.
fn down_of_an_edited_migration(backend: Backend) {
    let f = two_migrations("team_redo_down");
    let tricky = "-- it's a 'quoted' \\ backslash\nDROP TABLE tags;\nDROP TABLE posts;\n";
    f.write(&format!("migrations/{V2_DOWN}"), tricky);
    let db = TestDb::new(backend, "redo_down", f.path());
    ok(&f, &db, &["run"], 0);
    let recorded = db.query("SELECT down_sql FROM dbmigrate_downs WHERE version = 20260102000000");
    // The clients print a backslash escaped (MariaDB) or as is.
    assert!(recorded.contains("it's a 'quoted' ") && recorded.contains("DROP TABLE posts;"), "{recorded}");
    assert_eq!(recorded.replace("\\\\", "\\").replace("\\n", "\n").trim_end(), tricky.trim_end(), "{backend:?}");
    edit_v2(&f);
    ok(&f, &db, &["down", "--yes"], 0);
    assert_eq!(db.tables(), ["users"], "{backend:?}");
    assert_eq!(db.query("SELECT count(*) FROM dbmigrate_downs WHERE version = 20260102000000"), "0");
    ok(&f, &db, &["run"], 0);
    assert_eq!(db.tables(), ["posts", "users"]);
}

#[test]
fn sqlite_down_of_an_edited_migration() {
    down_of_an_edited_migration(Backend::Sqlite);
}

#[test]
fn maria_down_of_an_edited_migration() {
    down_of_an_edited_migration(Backend::Mariadb);
}

#[test]
fn pg_down_of_an_edited_migration() {
    down_of_an_edited_migration(Backend::Postgres);
}

/// Applied before down texts were recorded (by refinery, or an older dbmigrate): unchanged, the
/// file's down is used; edited, it refuses, and the printed fix works.
#[test]
fn without_a_recorded_down_the_printed_fix_works() {
    let f = two_migrations("team_redo_unrecorded");
    let db = TestDb::new(Backend::Sqlite, "redo_unrecorded", f.path());
    ok(&f, &db, &["run"], 0);
    db.query("DELETE FROM dbmigrate_downs");
    ok(&f, &db, &["redo", "--yes"], 0);
    assert_eq!(db.tables(), ["posts", "tags", "users"]);

    db.query("DELETE FROM dbmigrate_downs");
    let applied = (f.read(&format!("migrations/{V2}")), f.read(&format!("migrations/{V2_DOWN}")));
    edit_v2(&f);
    let refused = ok(&f, &db, &["redo", "--yes"], 101);
    assert!(refused.contains("error: cannot revert V20260102000000__create_posts.sql: it was edited"), "{refused}");
    assert!(refused.contains("hint: put back the up text that was applied"), "{refused}");
    assert_eq!(db.tables(), ["posts", "tags", "users"], "nothing changed");
    ok(&f, &db, &["down", "--yes"], 101);

    // The fix as printed: the applied text back, `down`, the edit back, `run`.
    let edited = (f.read(&format!("migrations/{V2}")), f.read(&format!("migrations/{V2_DOWN}")));
    f.write(&format!("migrations/{V2}"), &applied.0);
    f.write(&format!("migrations/{V2_DOWN}"), &applied.1);
    ok(&f, &db, &["down", "--yes"], 0);
    f.write(&format!("migrations/{V2}"), &edited.0);
    f.write(&format!("migrations/{V2_DOWN}"), &edited.1);
    ok(&f, &db, &["run"], 0);
    assert_eq!(db.tables(), ["posts", "users"]);
    ok(&f, &db, &["status", "--exit-code"], 0);
}

/// A released migration edited keeps today's refusal (the build's `released-edited`), and
/// nothing is reverted.
#[test]
fn a_released_edited_migration_is_refused() {
    let f = two_migrations("team_redo_released");
    f.init();
    let db = TestDb::new(Backend::Sqlite, "redo_released", f.path());
    ok(&f, &db, &["run"], 0);
    super::assert_code(&f.cli().args(["release"]).output().expect("release"), 0);
    edit_v2(&f);
    let refused = ok(&f, &db, &["redo", "--yes"], 1);
    assert!(refused.contains("released"), "{refused}");
    assert_eq!(db.tables(), ["posts", "tags", "users"], "nothing reverted");
}

/// Nothing applied: nothing to redo, said plainly, exit 0 (as `down` with nothing applied).
#[test]
fn redo_with_nothing_applied_says_so() {
    let f = two_migrations("team_redo_empty");
    let db = TestDb::new(Backend::Sqlite, "redo_empty", f.path());
    let out = ok(&f, &db, &["redo", "--yes"], 0);
    assert!(out.contains("nothing to do"), "{out}");
    assert!(db.versions().is_empty());
    ok(&f, &db, &["redo", "--steps", "0"], 2);
}

/// SIGKILL after the down half, while the up half runs: the revert is committed, the re-apply
/// rolled back, so `status` says pending and `run` finishes the work.
#[test]
fn pg_killed_between_the_halves() {
    let f = two_migrations("team_redo_kill");
    let db = TestDb::new(Backend::Postgres, "redo_kill", f.path());
    ok(&f, &db, &["run"], 0);
    let slow = "CREATE TABLE posts (id INT PRIMARY KEY, title VARCHAR(50));\nSELECT pg_sleep(30);\n";
    f.write(&format!("migrations/{V2}"), slow);
    f.write(&format!("migrations/{V2_DOWN}"), "DROP TABLE posts;\n");

    let mut child = dbm_command(f.path(), &db.url, &["redo", "--yes", "--no-backup"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // The up half is sleeping once the history no longer holds V2 and `posts` is back.
    let start = Instant::now();
    while !(db.versions() == [20260101000000]
        && db.query(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()",
        ) != "0")
    {
        assert!(start.elapsed() < Duration::from_secs(25), "the up half never started");
        assert!(child.try_wait().expect("try_wait").is_none(), "the redo ended early");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    // The server ends the killed session's statement when it notices.
    let start = Instant::now();
    while db.query(&format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
        db.name
    )) != "0"
    {
        assert!(start.elapsed() < Duration::from_secs(40), "the killed session did not end");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(states(&f, &db)[1], (20260102000000, "pending".to_owned()));
    assert_eq!(db.tables(), ["users"], "reverted by the old down, the re-apply rolled back");
    f.write(&format!("migrations/{V2}"), "CREATE TABLE posts (id INT PRIMARY KEY, title VARCHAR(50));\n");
    ok(&f, &db, &["run", "--lock-timeout", "20"], 0);
    assert_eq!(db.tables(), ["posts", "users"]);
    ok(&f, &db, &["status", "--exit-code"], 0);
}

/// On a terminal (`script` gives it one) `redo` asks first, naming the database; anything but
/// yes cancels with exit 2 and changes nothing.
#[test]
fn redo_asks_on_a_terminal() {
    let f = two_migrations("team_redo_ask");
    let db = TestDb::new(Backend::Sqlite, "redo_ask", f.path());
    ok(&f, &db, &["run"], 0);
    let ask = |answer: &str| {
        let command =
            format!("{} dbmigrate redo --no-backup --database-url {}", dbmigrate_tests::cli_bin().display(), db.url);
        let mut child = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(f.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn script");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), answer.as_bytes()).expect("answer");
        child.wait_with_output().expect("wait")
    };
    let no = ask("n\n");
    let printed = dbmigrate_tests::text(&no);
    assert!(printed.contains("redo the newest migration of sqlite:") && printed.contains("[y/N]"), "{printed}");
    assert!(printed.contains("redo cancelled; nothing was changed"), "{printed}");
    assert_eq!(dbmigrate_tests::code(&no), 2, "{printed}");
    let history = db.query("SELECT applied_on FROM refinery_schema_history WHERE version = 20260102000000");
    let yes = ask("y\n");
    assert_eq!(dbmigrate_tests::code(&yes), 0, "{}", dbmigrate_tests::text(&yes));
    let again = db.query("SELECT applied_on FROM refinery_schema_history WHERE version = 20260102000000");
    assert_ne!(history, again, "applied again after yes");
}

/// `redo --to V` redoes every migration newer than V (the version spelling `down --to` has),
/// and `--to 0` redoes them all.
#[test]
fn redo_to_a_version_redoes_the_newer_ones() {
    let f = two_migrations("team_redo_to");
    let db = TestDb::new(Backend::Sqlite, "redo_to", f.path());
    ok(&f, &db, &["run"], 0);
    let redo = |to: &str| {
        let out = dbm(f.path(), &db.url, &["redo", "--to", to, "--yes", "--format", "json"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
        assert_eq!(json["command"], "redo", "{json}");
        json["migrations"]
            .as_array()
            .expect("migrations")
            .iter()
            .map(|m| m["version"].as_i64().expect("v"))
            .collect::<Vec<_>>()
    };
    assert_eq!(redo("20260101000000"), [20260102000000, 20260102000000]);
    assert_eq!(redo("0"), [20260102000000, 20260101000000, 20260101000000, 20260102000000]);
    assert!(states(&f, &db).iter().all(|(_, s)| s == "applied"), "{:?}", states(&f, &db));
}
