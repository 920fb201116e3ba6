//! Several `run` processes started at once on an empty database: the lock makes every
//! migration apply exactly once, and every loser exits 0 with nothing to do.

use super::{crate_with, on_all_backends};
use dbmigrate_tests::{Backend, TestDb, dbm_command, text};
use std::process::Stdio;

on_all_backends!(two_runners, eight_runners);

fn two_runners(backend: Backend) {
    runners_at_once(backend, 2);
}

fn eight_runners(backend: Backend) {
    runners_at_once(backend, 8);
}

fn runners_at_once(backend: Backend, n: usize) {
    let fixture = crate_with(
        "conc",
        &[
            ("V1__t.sql", "CREATE TABLE t (id INT NOT NULL);\n"),
            ("V2__seed.sql", "INSERT INTO t (id) VALUES (42);\n"),
            ("V3__u.sql", "CREATE TABLE u (id INT PRIMARY KEY);\nINSERT INTO u (id) SELECT id FROM t;\n"),
        ],
    );
    let dir = fixture.path();
    let db = TestDb::new(backend, &format!("conc{n}"), dir);

    let children: Vec<_> = (0..n)
        .map(|_| {
            dbm_command(dir, &db.url, &["run", "--lock-timeout", "60"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn run")
        })
        .collect();
    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().expect("wait")).collect();

    for (i, out) in outputs.iter().enumerate() {
        let all = text(out);
        assert!(out.status.success(), "runner {i} of {n} failed:\n{all}");
        let lower = all.to_lowercase();
        for bad in ["already exists", "duplicate", "unique constraint", "deadlock"] {
            assert!(!lower.contains(bad), "runner {i} of {n} printed `{bad}`:\n{all}");
        }
    }
    assert_eq!(db.versions(), vec![1, 2, 3], "each migration recorded once");
    assert_eq!(db.query("SELECT count(*) FROM t"), "1", "the data migration's INSERT landed once");
    assert_eq!(db.query("SELECT count(*) FROM u"), "1");
    let applying: usize =
        outputs.iter().map(|o| String::from_utf8_lossy(&o.stderr).matches("Applying V2__seed").count()).sum();
    assert!(applying <= 1, "V2 was applied by {applying} runners");
}

#[test]
fn sqlite_lock_timeout_expires() {
    lock_timeout_expires(Backend::Sqlite);
}

#[test]
fn pg_lock_timeout_expires() {
    lock_timeout_expires(Backend::Postgres);
}

#[test]
fn maria_lock_timeout_expires() {
    lock_timeout_expires(Backend::Mariadb);
}

/// A `run` that cannot get the lock within `--lock-timeout` exits non-zero and changes nothing;
/// the holder finishes normally.
fn lock_timeout_expires(backend: Backend) {
    let slow = match backend {
        Backend::Sqlite => {
            "CREATE TABLE s (id INTEGER);\nINSERT INTO s SELECT x FROM (WITH RECURSIVE c(x) AS \
             (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000000) SELECT x FROM c);\n"
        }
        Backend::Postgres => "CREATE TABLE s (id INT);\nSELECT pg_sleep(4);\n",
        Backend::Mariadb => "CREATE TABLE s (id INT);\nSELECT SLEEP(4);\n",
    };
    let fixture = crate_with("locktimeout", &[("V1__slow.sql", slow), ("V2__t.sql", "CREATE TABLE t (id INT);\n")]);
    let dir = fixture.path();
    let db = TestDb::new(backend, "locktimeout", dir);

    let holder =
        dbm_command(dir, &db.url, &["run"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(800));
    let start = std::time::Instant::now();
    let waiter = dbm_command(dir, &db.url, &["run", "--lock-timeout", "1"]).output().expect("run");
    let waited = start.elapsed();
    let holder = holder.wait_with_output().expect("wait");

    assert!(holder.status.success(), "the holder:\n{}", text(&holder));
    assert!(!waiter.status.success(), "the waiter must time out:\n{}", text(&waiter));
    assert!(waited < std::time::Duration::from_secs(3), "gave up after {waited:?}");
    let stderr = String::from_utf8_lossy(&waiter.stderr);
    assert!(!stderr.contains("Applying"), "the waiter applied nothing:\n{stderr}");
    assert_eq!(db.versions(), vec![1, 2]);
    let applying: usize =
        [&holder, &waiter].iter().map(|o| String::from_utf8_lossy(&o.stderr).matches("Applying").count()).sum();
    assert_eq!(applying, 2, "{}{}", text(&holder), text(&waiter));
}
