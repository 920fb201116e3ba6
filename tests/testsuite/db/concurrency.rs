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
