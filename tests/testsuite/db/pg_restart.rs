//! A PostgreSQL server that crashes (immediate shutdown) while `run` applies a slow migration,
//! then comes back: `run` fails at once with a transient error (no hang), the history after the
//! restart matches the schema (the interrupted migration pending, nothing half recorded), and
//! the next `run` completes.

use super::{assert_code, crate_with, json};
use dbmigrate_tests::pg_server::PgServer;
use dbmigrate_tests::{code, dbm, dbm_command, text};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn pg_crash_mid_migration_then_restart() {
    let Some(server) = PgServer::start() else {
        eprintln!("skipped: no PostgreSQL binaries or postgres user to start a server of the test's own");
        return;
    };
    let slow = "CREATE TABLE k (id INT);\nSELECT pg_sleep(60);\nINSERT INTO k VALUES (1);\n";
    let fixture = crate_with("pgcrash", &[("V1__a.sql", "CREATE TABLE a (id INT);\n"), ("V2__slow.sql", slow)]);
    let dir = fixture.path();
    server.admin("CREATE DATABASE app");
    let url = format!("postgres://postgres@127.0.0.1:{}/app?sslmode=disable", server.port);
    assert_code(&dbm(dir, &url, &["run", "--target", "1", "--no-backup"]), 0);

    // One retry, which comes while the server is still down: it shows the failure is transient.
    let child = dbm_command(dir, &url, &["run", "--no-backup", "--retry", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // The crash comes while V2's sleep runs (its session is seen waiting in pg_sleep).
    let waiting = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()";
    let start = Instant::now();
    while server.admin(waiting) == "0" {
        assert!(start.elapsed() < Duration::from_secs(30), "V2 never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    server.crash();
    let out = wait_bounded(child);
    let shown = text(&out);
    assert_eq!(code(&out), 101, "{shown}");
    assert!(shown.contains("V2__slow.sql failed at line 2: connection closed; retrying in"), "transient: {shown}");
    assert!(shown.contains("note: nothing was applied"), "V1 was applied by the earlier run: {shown}");

    // While the server is down, `status` fails too, saying so, without hanging.
    let down = dbm(dir, &url, &["status", "--connect-timeout", "2"]);
    assert_eq!(code(&down), 101, "{}", text(&down));

    assert!(server.start_again(), "the server restarts (and recovers from its WAL)");
    let status = json(&dbm(dir, &url, &["status", "--format", "json"]));
    assert_eq!(
        (status["migrations"][0]["state"].as_str(), status["migrations"][1]["state"].as_str()),
        (Some("applied"), Some("pending")),
        "{status}"
    );
    let app = format!("postgres://postgres@127.0.0.1:{}/app", server.port);
    let in_app = |sql: &str| {
        let out = std::process::Command::new("psql").args([&app, "-qAtXc", sql]).output().expect("psql");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(in_app("SELECT to_regclass('k') IS NULL"), "t", "V2's table rolled back with its transaction");
    assert_eq!(in_app("SELECT string_agg(version::text, ',' ORDER BY version) FROM refinery_schema_history"), "1");

    // V2 was never applied, so it may change: made quick for the rerun.
    fixture.write("migrations/V2__slow.sql", "CREATE TABLE k (id INT);\nINSERT INTO k VALUES (1);\n");
    assert_code(&dbm(dir, &url, &["run", "--no-backup"]), 0);
    assert_eq!(in_app("SELECT string_agg(version::text, ',' ORDER BY version) FROM refinery_schema_history"), "1,2");
    assert_eq!(in_app("SELECT count(*) FROM k"), "1", "applied once");
}

/// Waits for the CLI; 60 s is far beyond the crash's effect, so reaching it means a hang.
fn wait_bounded(mut child: std::process::Child) -> std::process::Output {
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("`run` hung after the server crashed: {:?}", child.wait_with_output().map(|o| text(&o)));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}
