//! `database create | drop | reset` and `run --create-database` on every backend: the state
//! they leave is checked with the database's own client, drops are backed up and the printed
//! way back works, and destructive commands refuse without --yes or without a database name.

use super::{assert_code, crate_with, on_all_backends};
use dbmigrate_tests::{Backend, TestDb, cli_bin, code, dbm, text};
use std::process::{Command, Output};

on_all_backends!(create_drop_reset, refusals, run_creates_the_database, a_dropped_database_comes_back);

const FILES: &[(&str, &str)] = &[
    ("V1__a.sql", "CREATE TABLE a (id INT PRIMARY KEY);\nINSERT INTO a VALUES (1);\n"),
    ("V1__a.down.sql", "DROP TABLE a;\n"),
];

/// Whether the database exists, asked of the database's own client (or the file system).
fn exists(db: &TestDb) -> bool {
    let name = &db.name;
    let out = match db.backend {
        Backend::Sqlite => return std::path::Path::new(db.url.trim_start_matches("sqlite:")).exists(),
        Backend::Postgres => Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qAtX", "-c"])
            .arg(format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"))
            .output(),
        Backend::Mariadb => Command::new("mariadb")
            .args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-N", "-B", "-e"])
            .arg(format!("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"))
            .output(),
    }
    .expect("run the client");
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim() == "1"
}

#[track_caller]
fn ok(out: Output, expect: &str) -> String {
    assert_code(&out, 0);
    let all = text(&out);
    assert!(all.contains(expect), "expected `{expect}` in:\n{all}");
    all
}

fn create_drop_reset(backend: Backend) {
    let fixture = crate_with("dbcmd", FILES);
    let dir = fixture.path();
    let db = TestDb::new(backend, "dbcmd", dir);
    let url = db.url.as_str();
    ok(dbm(dir, url, &["database", "drop", "--yes", "--no-backup"]), &format!("Database {url} (from --database-url)"));
    assert!(!exists(&db), "gone after drop");
    ok(dbm(dir, url, &["database", "drop", "--yes"]), "absent");
    ok(dbm(dir, url, &["database", "create"]), &format!("Created {url}"));
    assert!(exists(&db), "there after create");
    ok(dbm(dir, url, &["database", "create"]), "already exists");
    ok(dbm(dir, url, &["run"]), "Applying V1__a");
    db.query("INSERT INTO a VALUES (2)");
    let out = ok(dbm(dir, url, &["database", "reset", "--yes"]), "Backed up");
    assert!(out.contains("Dropped") && out.contains("Applying V1__a"), "{out}");
    assert_eq!((db.versions(), db.query("SELECT count(*) FROM a")), (vec![1], "1".to_owned()), "fresh and migrated");
    let json = super::json(&dbm(dir, url, &["database", "create", "--format", "json"]));
    assert_eq!(json["result"], "already exists");
    assert_eq!(json["database"]["source"], "flag");
}

fn refusals(backend: Backend) {
    let fixture = crate_with("dbrefuse", FILES);
    let dir = fixture.path();
    let db = TestDb::new(backend, "dbrefuse", dir);
    ok(dbm(dir, &db.url, &["database", "create"]), "");
    for action in ["drop", "reset"] {
        let out = dbm(dir, &db.url, &["database", action]);
        assert_code(&out, 2);
        assert!(text(&out).contains("hint: add --yes"), "{}", text(&out));
        assert!(exists(&db), "{action} without --yes changed nothing");
    }
    let nameless = match backend {
        Backend::Sqlite => "sqlite::memory:",
        Backend::Postgres => "postgres://postgres@127.0.0.1:5432",
        Backend::Mariadb => "mysql://root@127.0.0.1:3306/",
    };
    for action in ["create", "drop", "reset"] {
        let args = if action == "create" { vec!["database", action] } else { vec!["database", action, "--yes"] };
        let out = dbm(dir, nameless, &args);
        assert_code(&out, 2);
        assert!(text(&out).contains("names no database"), "{}", text(&out));
    }
}

fn run_creates_the_database(backend: Backend) {
    let fixture = crate_with("dbrun", FILES);
    let dir = fixture.path();
    let db = TestDb::new(backend, "dbrun", dir);
    ok(dbm(dir, &db.url, &["database", "drop", "--yes", "--no-backup"]), "");
    assert!(!exists(&db));
    if backend != Backend::Sqlite {
        assert_eq!(code(&dbm(dir, &db.url, &["run"])), 101, "a missing server database fails a plain run");
    }
    ok(dbm(dir, &db.url, &["run", "--create-database"]), "Applying V1__a");
    assert_eq!(db.versions(), vec![1]);
    ok(dbm(dir, &db.url, &["run", "--create-database"]), "nothing to do");
}

/// The drop's backup and the printed way back (`database create && restore ID --yes`), followed.
fn a_dropped_database_comes_back(backend: Backend) {
    let fixture = crate_with("dbback", FILES);
    let dir = fixture.path();
    let db = TestDb::new(backend, "dbback", dir);
    ok(dbm(dir, &db.url, &["run"]), "");
    db.query("INSERT INTO a VALUES (42)");
    let out = ok(dbm(dir, &db.url, &["database", "drop", "--yes"]), "the dropped database is backed up in");
    assert!(!exists(&db));
    let way_back = out.lines().find_map(|l| l.strip_prefix("note: to bring it back: ")).expect("the way back");
    for command in way_back.split(" && ") {
        let words: Vec<String> = command.split_whitespace().map(|w| w.trim_matches('\'').to_owned()).collect();
        assert_eq!(words[..2], ["cargo", "dbmigrate"], "{command}");
        let out = Command::new(cli_bin()).arg("dbmigrate").args(&words[2..]).current_dir(dir).output().expect("run");
        assert_code(&out, 0);
    }
    assert_eq!((db.versions(), db.query("SELECT id FROM a ORDER BY id")), (vec![1], "1\n42".to_owned()));
}

#[test]
fn postgres_drop_names_the_sessions_in_the_way_and_force_ends_them() {
    let fixture = crate_with("dbforce", FILES);
    let dir = fixture.path();
    let db = TestDb::new(Backend::Postgres, "dbforce", dir);
    let mut holder = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", &db.name, "-qAtX", "-c", "SELECT pg_sleep(60)"])
        .spawn()
        .expect("start psql");
    let sessions = format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{}'", db.name);
    let connected = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        db.query(&sessions) != "1"
    });
    assert!(connected, "psql connected");
    let out = dbm(dir, &db.url, &["database", "drop", "--yes", "--no-backup"]);
    assert_code(&out, 101);
    let all = text(&out);
    assert!(all.contains("1 other session(s) are connected to it") && all.contains("--force"), "{all}");
    assert!(exists(&db), "nothing dropped");
    ok(dbm(dir, &db.url, &["database", "drop", "--yes", "--no-backup", "--force"]), "Dropped");
    assert!(!exists(&db));
    let _ = holder.kill();
    let _ = holder.wait();
}
