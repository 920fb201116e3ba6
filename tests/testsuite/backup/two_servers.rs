//! Two PostgreSQL servers (a second one started here, from the installed binaries, on another
//! port) each holding a database of the same name, as staging and production do: their backups
//! never share retention, `--latest` or a restore.

use super::{V1, backups, snapshot};
use crate::db::{assert_code, crate_with};
use dbmigrate_tests::{Backend, TestDb, dbm, text};
use std::path::PathBuf;
use std::process::Command;

/// A throwaway PostgreSQL server, stopped and deleted on drop.
struct Server {
    dir: tempfile::TempDir,
    port: u16,
}

impl Server {
    /// `None` where the binaries or the `postgres` user are missing (not this project's CI).
    fn start() -> Option<Self> {
        let bin = pg_bin()?;
        let dir = tempfile::Builder::new().prefix("dbm-pg2-").tempdir().ok()?;
        let (uid, gid) = postgres_ids()?;
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).ok()?;
        let data = dir.path().join("data");
        let as_postgres = |args: &[&str]| {
            Command::new("runuser").args(["-u", "postgres", "--"]).args(args).output().map(|o| o.status.success())
        };
        let initdb = bin.join("initdb").display().to_string();
        let data_s = data.display().to_string();
        if !as_postgres(&[&initdb, "-D", &data_s, "-A", "trust", "-U", "postgres"]).ok()? {
            return None;
        }
        let port = free_port()?;
        let opts = format!("-p {port} -k {} -c listen_addresses=127.0.0.1", dir.path().display());
        let pg_ctl = bin.join("pg_ctl").display().to_string();
        let log = dir.path().join("log").display().to_string();
        as_postgres(&[&pg_ctl, "-D", &data_s, "-o", &opts, "-l", &log, "-w", "-t", "30", "start"]).ok()?;
        Some(Server { dir, port })
    }

    fn admin(&self, sql: &str) {
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", "postgres", "-qAtc", sql])
            .output()
            .expect("psql");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(bin) = pg_bin() {
            let data = self.dir.path().join("data").display().to_string();
            let pg_ctl = bin.join("pg_ctl").display().to_string();
            let _ = Command::new("runuser")
                .args(["-u", "postgres", "--", &pg_ctl, "-D", &data, "-m", "immediate", "stop"])
                .output();
        }
    }
}

fn pg_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> =
        std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| Some(e.ok()?.path())).collect();
    found.sort();
    found.pop().map(|p| p.join("bin")).filter(|p| p.join("pg_ctl").is_file())
}

fn postgres_ids() -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

fn free_port() -> Option<u16> {
    std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok().map(|a| a.port())
}

#[test]
fn two_servers_with_one_database_name_never_mix_backups() {
    let Some(second) = Server::start() else {
        eprintln!("skipped: no PostgreSQL binaries or postgres user to start a second server with");
        return;
    };
    let fixture = crate_with("twosrv", &[V1]);
    let prod = TestDb::new(Backend::Postgres, "twosrv", fixture.path());
    second.admin(&format!("CREATE DATABASE {}", prod.name));
    let staging_url = format!("postgres://postgres@127.0.0.1:{}/{}", second.port, prod.name);
    assert_code(&dbm(fixture.path(), &prod.url, &["run"]), 0);
    assert_code(&dbm(fixture.path(), &staging_url, &["run"]), 0);
    // Staging deploys four more times: its rotation must not touch production's backup.
    for v in 2..=5 {
        fixture.write(&format!("migrations/V{v}__s{v}.sql"), &format!("CREATE TABLE s{v} (id INTEGER);\n"));
        assert_code(&dbm(fixture.path(), &staging_url, &["run"]), 0);
    }
    let all = backups(fixture.path());
    let prod_key = format!("postgres://127.0.0.1:5432/{}", prod.name);
    let of_prod: Vec<_> = all.iter().filter(|b| b["source"] == prod_key.as_str()).collect();
    assert_eq!(of_prod.len(), 1, "production's backup survives staging's rotation: {all:?}");
    assert_eq!(all.len(), 4, "production's one and staging's newest three: {all:?}");
    // Production's --latest is production's own backup, never staging's newer ones.
    prod.query("INSERT INTO t1 (id, v) VALUES (99, 'prod only')");
    let before = snapshot(&prod);
    let out = dbm(fixture.path(), &prod.url, &["restore", "--latest", "--yes", "--no-backup"]);
    assert_code(&out, 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains(of_prod[0]["id"].as_str().unwrap_or("?")), "{}", text(&out));
    assert_ne!(snapshot(&prod), before);
    assert_eq!(prod.tables(), Vec::<String>::new(), "production's backup was taken before V1");
    // A staging backup named explicitly is refused for production.
    let staging_backup = all.iter().rfind(|b| b["source"] != prod_key.as_str()).expect("staging's");
    let out = dbm(fixture.path(), &prod.url, &["restore", staging_backup["id"].as_str().expect("id"), "--yes"]);
    assert_code(&out, 2);
}
