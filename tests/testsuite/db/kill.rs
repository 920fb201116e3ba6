//! SIGKILL of a `run` in the middle of a long migration: afterwards the migration is either
//! applied and recorded, or neither (MariaDB, where DDL commits on its own: or marked dirty).

use super::{assert_code, crate_with, json};
use dbmigrate_tests::{Backend, TestDb, dbm, dbm_command};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn sqlite_killed_mid_migration() {
    killed_mid_migration(
        Backend::Sqlite,
        "CREATE TABLE k (id INTEGER);\n\
         INSERT INTO k SELECT x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000) SELECT x FROM c);\n",
    );
}

#[test]
fn pg_killed_mid_migration() {
    killed_mid_migration(
        Backend::Postgres,
        "CREATE TABLE k (id INT);\nSELECT pg_sleep(5);\nINSERT INTO k VALUES (1);\n",
    );
}

#[test]
fn maria_killed_mid_migration() {
    killed_mid_migration(Backend::Mariadb, "CREATE TABLE k (id INT);\nSELECT SLEEP(5);\nINSERT INTO k VALUES (1);\n");
}

/// Waits until no other session is connected to the database (the server noticed the kill).
fn wait_for_sessions_to_end(db: &TestDb) {
    let sql = match db.backend {
        Backend::Sqlite => return,
        Backend::Postgres => {
            format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()", db.name)
        }
        Backend::Mariadb => {
            format!(
                "SELECT count(*) FROM information_schema.processlist WHERE db = '{}' AND id <> CONNECTION_ID()",
                db.name
            )
        }
    };
    let start = Instant::now();
    while db.query(&sql) != "0" {
        assert!(start.elapsed() < Duration::from_secs(30), "the killed run's sessions did not end");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn killed_mid_migration(backend: Backend, slow: &str) {
    let fixture = crate_with("kill", &[("V1__a.sql", "CREATE TABLE a (id INT);\n"), ("V2__slow.sql", slow)]);
    let dir = fixture.path();
    let db = TestDb::new(backend, "kill", dir);
    let url = db.url.as_str();
    assert_code(&dbm(dir, url, &["run", "--target", "1"]), 0);

    let mut child = dbm_command(dir, url, &["run"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().expect("try_wait").is_none(), "the migration should still be running");
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    wait_for_sessions_to_end(&db);

    let recorded = db.versions().contains(&2);
    let created = db.has_table("k");
    let status = json(&dbm(dir, url, &["status", "--format", "json"]))["migrations"].clone();
    let state = status[1]["state"].as_str().expect("state").to_string();
    match backend {
        Backend::Mariadb => assert!(
            recorded == created || (!recorded && state == "dirty"),
            "recorded {recorded}, table created {created}, state {state}"
        ),
        _ => assert_eq!(recorded, created, "applied and recorded, or neither"),
    }
    eprintln!("{backend:?} after SIGKILL: recorded {recorded}, table created {created}, state {state}");
    if state == "dirty" {
        // MariaDB: the CREATE TABLE committed on its own; undo it and mark the migration pending.
        db.query("DROP TABLE IF EXISTS k");
        assert_code(&dbm(dir, url, &["repair", "--version", "2", "--as", "pending"]), 0);
        assert_code(&dbm(dir, url, &["run", "--lock-timeout", "20"]), 0);
        assert_eq!(db.versions(), vec![1, 2]);
    } else if !recorded {
        assert_eq!(state, "pending");
        // The lock was released with the process: a new run finishes the work (made quick: the
        // file was never applied, so it may change).
        fixture.write("migrations/V2__slow.sql", "CREATE TABLE k (id INT);\n");
        assert_code(&dbm(dir, url, &["run", "--lock-timeout", "20"]), 0);
        assert_eq!(db.versions(), vec![1, 2]);
        assert!(db.has_table("k"));
    }
}

/// SIGKILL between the statements of a no-transaction file (PostgreSQL): the first statement
/// committed on its own, so the migration is dirty, with the statements it reached.
#[test]
fn pg_killed_mid_no_transaction_file() {
    let slow =
        "-- dbmigrate:no-transaction\nCREATE TABLE k (id INT);\nSELECT pg_sleep(10);\nINSERT INTO k VALUES (1);\n";
    let fixture = crate_with("killnotx", &[("V1__a.sql", "CREATE TABLE a (id INT);\n"), ("V2__slow.sql", slow)]);
    let dir = fixture.path();
    let db = TestDb::new(Backend::Postgres, "killnotx", dir);
    let url = db.url.as_str();
    assert_code(&dbm(dir, url, &["run", "--target", "1"]), 0);

    let mut child = dbm_command(dir, url, &["run", "--no-backup"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    while !db.has_table("k") {
        assert!(start.elapsed() < Duration::from_secs(20), "the first statement never ran");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    wait_for_sessions_to_end(&db);

    let status = json(&dbm(dir, url, &["status", "--format", "json"]))["migrations"].clone();
    assert_eq!(status[1]["state"], "dirty", "{status}");
    assert_eq!(status[1]["statements_done"], 1, "{status}");
    let out = dbm(dir, url, &["run"]);
    assert_code(&out, 101);
    assert!(String::from_utf8_lossy(&out.stderr).contains("repair"), "{}", dbmigrate_tests::text(&out));
    db.query("DROP TABLE k");
    assert_code(&dbm(dir, url, &["repair", "--version", "2", "--as", "pending"]), 0);
    fixture.write("migrations/V2__slow.sql", "-- dbmigrate:no-transaction\nCREATE TABLE k (id INT);\n");
    assert_code(&dbm(dir, url, &["run"]), 0);
    assert_eq!(db.versions(), vec![1, 2]);
}

/// Ctrl-C (SIGINT) or SIGTERM during a run stops it before the next migration: the one in
/// progress finishes whole, the CLI says what was applied, exits 130, and nothing is dirty.
fn a_signal_stops_between_migrations(backend: Backend, signal: &str) {
    let sleep = match backend {
        Backend::Postgres => "SELECT pg_sleep(1);",
        Backend::Mariadb => "SELECT SLEEP(1);",
        Backend::Sqlite => return,
    };
    let files: Vec<(String, String)> =
        (1..=4).map(|v| (format!("V{v}__s{v}.sql"), format!("CREATE TABLE s{v} (id INT);\n{sleep}\n"))).collect();
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(f, t)| (f.as_str(), t.as_str())).collect();
    let fixture = crate_with("signal", &borrowed);
    let db = TestDb::new(backend, "signal", fixture.path());
    let child = dbm_command(fixture.path(), &db.url, &["run", "--no-backup"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Once the first migration is under way (its table exists), signal.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !db.has_table("s1") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args([signal, &pid]).status().expect("kill").success());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopping after the migration in progress"), "{stderr}");
    assert!(stderr.contains("applied before the failure: V1__s1"), "{stderr}");
    let applied = db.versions();
    assert!(!applied.is_empty() && applied.len() < 4, "stopped part way: {applied:?}");
    let status = json(&dbm(fixture.path(), &db.url, &["status", "--format", "json"]))["migrations"].clone();
    assert!(
        status.as_array().expect("rows").iter().all(|m| m["state"] == "applied" || m["state"] == "pending"),
        "{status}"
    );
    assert_code(&dbm(fixture.path(), &db.url, &["run", "--no-backup"]), 0);
}

#[test]
fn pg_sigint_stops_between_migrations() {
    a_signal_stops_between_migrations(Backend::Postgres, "-INT");
}

#[test]
fn maria_sigterm_stops_between_migrations() {
    a_signal_stops_between_migrations(Backend::Mariadb, "-TERM");
}
