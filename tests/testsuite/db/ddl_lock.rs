//! DDL behind an application's open transaction: the migration gives up after
//! `--ddl-lock-timeout` instead of queueing every query on the table behind it, records nothing,
//! gets through with `--retry` once the application commits, and a killed CLI leaves no
//! statement queued on the server.

use super::{assert_code, crate_with};
use dbmigrate_tests::{Backend, TestDb, dbm, dbm_command};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FILES: &[(&str, &str)] = &[
    ("V1__users.sql", "CREATE TABLE users (id INT PRIMARY KEY);\nINSERT INTO users VALUES (1);\n"),
    ("V2__email.sql", "ALTER TABLE users ADD COLUMN email VARCHAR(100);\n"),
];

/// An application session: the database's client with a transaction that read `users` and
/// stays open until [`App::commit`].
struct App {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl App {
    fn open(db: &TestDb) -> App {
        let mut cmd = match db.backend {
            Backend::Postgres => {
                let mut c = Command::new("psql");
                c.args(["-h", "127.0.0.1", "-U", "postgres", "-d", &db.name, "-qAtX"]);
                c
            }
            Backend::Mariadb => {
                let mut c = Command::new("mariadb");
                // -n: flush each result, so the test sees it while the session stays open.
                c.args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-n", "-N", "-B", "-D", &db.name]);
                c
            }
            Backend::Sqlite => unreachable!("server backends only"),
        };
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("client");
        let out = BufReader::new(child.stdout.take().expect("stdout"));
        let begin = if db.backend == Backend::Postgres { "BEGIN" } else { "START TRANSACTION" };
        let mut app = App { child, out };
        app.send(&format!("{begin};"));
        assert_eq!(app.query("SELECT count(*) FROM users;"), "1");
        app
    }

    fn send(&mut self, sql: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{sql}").and_then(|()| stdin.flush()).expect("write to the client");
    }

    /// Runs a one-row query in the open transaction and returns its answer.
    fn query(&mut self, sql: &str) -> String {
        self.send(sql);
        let mut line = String::new();
        self.out.read_line(&mut line).expect("read the client");
        line.trim().to_string()
    }

    fn commit(mut self) {
        self.send("COMMIT;");
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Whether the CLI's ALTER is still on the server (running or queued for the lock).
fn alter_on_server(db: &TestDb) -> bool {
    let sql = match db.backend {
        Backend::Postgres => format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND query LIKE 'ALTER TABLE users%'",
            db.name
        ),
        _ => format!(
            "SELECT count(*) FROM information_schema.processlist WHERE db = '{}' AND info LIKE 'ALTER TABLE users%'",
            db.name
        ),
    };
    db.query(&sql) != "0"
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn setup(backend: Backend, test: &str) -> (dbmigrate_tests::Fixture, TestDb) {
    let fixture = crate_with(test, FILES);
    let db = TestDb::new(backend, test, fixture.path());
    assert_code(&dbm(fixture.path(), &db.url, &["run", "--target", "1", "--no-backup"]), 0);
    (fixture, db)
}

fn gives_up_and_retries(backend: Backend) {
    let (fixture, db) = setup(backend, "ddllock");
    let (dir, url) = (fixture.path(), db.url.as_str());
    let mut app = App::open(&db);

    let start = Instant::now();
    let out = dbm(dir, url, &["run", "--no-backup", "--ddl-lock-timeout", "1"]);
    assert_code(&out, 101);
    assert!(start.elapsed() < Duration::from_secs(15), "gave up promptly: {:?}", start.elapsed());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("V2__email.sql") && stderr.contains("waiting 1s for a table lock"), "{stderr}");
    assert!(stderr.contains("--ddl-lock-timeout") && stderr.contains("--retry"), "the hint: {stderr}");
    // The application was never stalled, and nothing was recorded or changed.
    assert_eq!(app.query("SELECT count(*) FROM users;"), "1");
    assert_eq!(db.query("SELECT count(*) FROM users"), "1", "another session reads the table too");
    assert_eq!(db.versions(), vec![1]);
    assert!(!alter_on_server(&db), "nothing left queued");

    // Retried until the application commits (about a second and a half later).
    let committer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        app.commit();
    });
    let out = dbm(dir, url, &["run", "--no-backup", "--ddl-lock-timeout", "1", "--retry", "3"]);
    committer.join().expect("commit");
    assert_code(&out, 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("retrying"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(db.versions(), vec![1, 2]);
}

fn succeeds_after_the_app_commits(backend: Backend) {
    let (fixture, db) = setup(backend, "ddlcommit");
    let app = App::open(&db);
    assert_code(&dbm(fixture.path(), &db.url, &["run", "--no-backup", "--ddl-lock-timeout", "1"]), 101);
    app.commit();
    assert_code(&dbm(fixture.path(), &db.url, &["run", "--no-backup", "--ddl-lock-timeout", "1"]), 0);
    assert_eq!(db.versions(), vec![1, 2]);
}

/// SIGKILL while the ALTER waits for the lock: the server drops it (PostgreSQL through
/// `client_connection_check_interval`), long before the 60 s timeout would have.
fn killed_while_waiting(backend: Backend) {
    let (fixture, db) = setup(backend, "ddlkill");
    let mut app = App::open(&db);
    let mut cli = dbm_command(fixture.path(), &db.url, &["run", "--no-backup", "--ddl-lock-timeout", "60"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_until("the ALTER waits for the lock", || alter_on_server(&db));
    cli.kill().expect("SIGKILL");
    let _ = cli.wait();
    let killed = Instant::now();
    wait_until("the killed CLI's ALTER is gone", || !alter_on_server(&db));
    assert!(killed.elapsed() < Duration::from_secs(10), "gone after {:?}", killed.elapsed());
    assert_eq!(app.query("SELECT count(*) FROM users;"), "1");
    app.commit();
    assert_eq!(db.versions(), vec![1]);
    if backend == Backend::Mariadb {
        // Its marker was set before the ALTER was sent, which may have committed on its own:
        // dirty until a person looks (here: the column is not there).
        let status = super::json(&dbm(fixture.path(), &db.url, &["status", "--format", "json"]))["migrations"].clone();
        assert_eq!(status[1]["state"], "dirty", "{status}");
        assert_code(&dbm(fixture.path(), &db.url, &["repair", "--version", "2", "--as", "pending"]), 0);
    }
    assert_code(&dbm(fixture.path(), &db.url, &["run", "--no-backup"]), 0);
}

#[test]
fn pg_gives_up_and_retries() {
    gives_up_and_retries(Backend::Postgres);
}

#[test]
fn maria_gives_up_and_retries() {
    gives_up_and_retries(Backend::Mariadb);
}

#[test]
fn pg_succeeds_after_the_app_commits() {
    succeeds_after_the_app_commits(Backend::Postgres);
}

#[test]
fn maria_succeeds_after_the_app_commits() {
    succeeds_after_the_app_commits(Backend::Mariadb);
}

#[test]
fn pg_killed_while_waiting() {
    killed_while_waiting(Backend::Postgres);
}

#[test]
fn maria_killed_while_waiting() {
    killed_while_waiting(Backend::Mariadb);
}
