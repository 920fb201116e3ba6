//! A throwaway PostgreSQL server of the test's own (from the installed binaries, on a free
//! port, as the `postgres` user), for what the shared server must not suffer: a crash, a
//! restart, a second server with the same database names.

use std::path::PathBuf;
use std::process::Command;

/// A PostgreSQL server in a temp folder, stopped (immediately) and deleted on drop.
pub struct PgServer {
    dir: tempfile::TempDir,
    /// The port it listens on, at 127.0.0.1.
    pub port: u16,
}

impl PgServer {
    /// Initialises and starts a server; `None` where the binaries or the `postgres` user are
    /// missing (not this project's CI), so the caller can skip saying why.
    pub fn start() -> Option<Self> {
        let bin = pg_bin()?;
        let dir = tempfile::Builder::new().prefix("dbm-pg2-").tempdir().ok()?;
        let (uid, gid) = postgres_ids()?;
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).ok()?;
        let initdb = bin.join("initdb").display().to_string();
        let data = dir.path().join("data").display().to_string();
        if !as_postgres(&[&initdb, "-D", &data, "-A", "trust", "-U", "postgres"]) {
            return None;
        }
        let server = PgServer { dir, port: free_port()? };
        server.start_again().then_some(server)
    }

    /// Starts the stopped server again, on the same port and data; whether it came up.
    pub fn start_again(&self) -> bool {
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.path().display());
        let log = self.dir.path().join("log").display().to_string();
        as_postgres(&[&self.pg_ctl(), "-D", &self.data(), "-o", &opts, "-l", &log, "-w", "-t", "30", "start"])
    }

    /// Stops the server the way a crash or a failover does: `pg_ctl stop -m immediate` (every
    /// backend ends at once, without a checkpoint; the next start recovers from the WAL).
    pub fn crash(&self) {
        assert!(as_postgres(&[&self.pg_ctl(), "-D", &self.data(), "-m", "immediate", "-w", "stop"]), "pg_ctl stop");
    }

    /// Runs SQL in its `postgres` database with psql; panics when it fails.
    pub fn admin(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", "postgres", "-qAtc", sql])
            .output()
            .expect("psql");
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn pg_ctl(&self) -> String {
        pg_bin().map(|b| b.join("pg_ctl").display().to_string()).unwrap_or_default()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--", &self.pg_ctl(), "-D", &self.data(), "-m", "immediate", "stop"])
            .output();
    }
}

fn as_postgres(args: &[&str]) -> bool {
    let out = Command::new("runuser").args(["-u", "postgres", "--"]).args(args).output();
    out.is_ok_and(|o| o.status.success())
}

/// The newest installed PostgreSQL's `bin` folder (Debian's layout).
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
