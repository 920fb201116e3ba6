//! A `run` that waits for another migrator's lock says so once, naming the holder, as Cargo
//! does for its file lock; SQLite's lock side file is gone once nobody holds the lock.

use super::{assert_code, crate_with};
use dbmigrate_tests::{Backend, TestDb, dbm, dbm_command, text};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Waits (polling, up to a generous bound that only signals a hang) until `ready` holds.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(60), "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn second_run_waits(backend: Backend, slow: &str, holder: &str) {
    let fixture = crate_with("lockwait", &[("V1__slow.sql", slow), ("V2__t.sql", "CREATE TABLE t (id INT);\n")]);
    let dir = fixture.path();
    let db = TestDb::new(backend, "lockwait", dir);
    let first = dbm_command(dir, &db.url, &["run", "--no-backup", "--target", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let lock_file = dir.join(format!("{}.db.dbmigrate-lock", db.name));
    match backend {
        // The holder writes its pid once it has the lock.
        Backend::Sqlite => wait_until("the lock", || std::fs::read_to_string(&lock_file).is_ok_and(|t| !t.is_empty())),
        _ => wait_until("the lock", || {
            db.query(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            ) != "0"
        }),
    }
    let second = dbm(dir, &db.url, &["run", "--no-backup", "--lock-timeout", "60"]);
    let first = first.wait_with_output().expect("wait");
    assert_code(&first, 0);
    assert_code(&second, 0);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(stderr.matches("Blocking").count(), 1, "{}", text(&second));
    assert!(stderr.contains(&format!("Blocking waiting for the migration lock held by {holder}")), "{stderr}");
    assert!(!String::from_utf8_lossy(&first.stderr).contains("Blocking"), "the first one never waited");
    assert_eq!(db.versions(), vec![1, 2]);
    if backend == Backend::Sqlite {
        assert!(!lock_file.exists(), "the lock file outlived the lock");
    }
}

#[test]
fn sqlite_second_run_says_it_waits_once() {
    let slow = "CREATE TABLE s (id INTEGER);\nINSERT INTO s SELECT x FROM (WITH RECURSIVE c(x) AS \
                (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT x FROM c);\n";
    second_run_waits(Backend::Sqlite, slow, "process ");
}

#[test]
fn pg_second_run_says_it_waits_once() {
    second_run_waits(Backend::Postgres, "CREATE TABLE s (id INT);\nSELECT pg_sleep(2);\n", "pid ");
}

/// After `run`, `down`, `status` on a SQLite file, only the database is left beside it.
#[test]
fn sqlite_lock_file_is_removed() {
    let fixture =
        crate_with("lockfile", &[("V1__a.sql", "CREATE TABLE a (id INT);\n"), ("V1__a.down.sql", "DROP TABLE a;\n")]);
    let dir = fixture.path();
    let db = TestDb::new(Backend::Sqlite, "lockfile", dir);
    for args in [&["run", "--no-backup"][..], &["status"], &["down", "--no-backup"], &["stamp", "1"]] {
        let out = dbm(dir, &db.url, args);
        assert_code(&out, 0);
        let left: Vec<String> = std::fs::read_dir(dir)
            .expect("dir")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(&db.name))
            .collect();
        assert_eq!(left, vec![format!("{}.db", db.name)], "after {args:?}");
    }
}
