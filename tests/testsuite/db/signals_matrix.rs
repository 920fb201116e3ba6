//! SIGINT, SIGTERM and SIGKILL at each phase of `run` (connect, lock, backup, apply, record) on
//! every backend, table-driven: the CLI is held at the phase by something outside it (a stuck
//! server, a lock holder, a slow dump tool, a slow statement, a slow trigger on the history),
//! signalled once it is there, and then: it ends by itself (or was SIGKILLed), `status` matches
//! the schema, a rerun of `run` applies everything exactly once, and after SIGINT/SIGTERM the
//! CLI said what was applied.

use super::{crate_with, json};
use crate::backup::configure as configure_backup;
use dbmigrate_tests::{Backend, TestDb, code, dbm, dbm_command, text};
use std::io::{BufRead, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where `run` is held when the signal comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connect,
    Lock,
    Backup,
    Apply,
    Record,
}

const SIGNALS: [&str; 3] = ["INT", "TERM", "KILL"];

/// How long each hold lasts (the sleeps) or is bounded (the timeouts), in seconds: long enough
/// for the signal to land inside it, short enough to keep the 45 scenarios quick.
const HOLD: &str = "1.5";

/// The slow statement of each backend, about `HOLD` seconds (SQLite: a recursive count).
fn slow_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "SELECT pg_sleep(1.5)",
        Backend::Mariadb => "SELECT SLEEP(1.5)",
        Backend::Sqlite => {
            "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT x FROM c)"
        }
    }
}

/// What holds the CLI at the phase: processes to kill and a listener to leave, once it ended.
#[derive(Default)]
struct Hold {
    url: Option<String>,
    args: Vec<&'static str>,
    holders: Vec<Child>,
    accepted: Option<Arc<AtomicBool>>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        for child in &mut self.holders {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The scenario: V1 applied beforehand; `run` is to apply V2 (the one held) and V3.
fn scenario(backend: Backend, phase: Phase, signal: &str) {
    let v2 = match phase {
        Phase::Apply if backend == Backend::Sqlite => {
            format!("CREATE TABLE t2 (id INT);\nINSERT INTO t2 {};\n", slow_sql(backend))
        }
        Phase::Apply => format!("CREATE TABLE t2 (id INT);\n{};\n", slow_sql(backend)),
        _ => "CREATE TABLE t2 (id INT);\n".to_string(),
    };
    let files = [
        ("V1__t1.sql", "CREATE TABLE t1 (id INT);\n"),
        ("V2__t2.sql", &v2),
        ("V3__t3.sql", "CREATE TABLE t3 (id INT);\n"),
    ];
    let fixture = crate_with("sm", &files);
    let dir = fixture.path();
    let db = TestDb::new(backend, "sm", dir);
    super::assert_code(&dbm(dir, &db.url, &["run", "--target", "1", "--no-backup"]), 0);
    if backend == Backend::Sqlite && phase == Phase::Backup {
        // Enough pages that the online backup API takes a while to copy them.
        db.query("CREATE TABLE dbm_ballast AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 60000) SELECT x, randomblob(1000) AS b FROM c");
    }
    let hold = hold(backend, phase, &db, &fixture);
    let url = hold.url.clone().unwrap_or_else(|| db.url.clone());
    let mut args = vec!["run", "-v"];
    args.extend(&hold.args);
    if phase != Phase::Backup {
        args.push("--no-backup");
    }
    let mut child = dbm_command(dir, &url, &args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let (stderr, reader) = collect(child.stderr.take().expect("stderr"));
    wait_until_held(backend, phase, &db, &hold, &stderr, &mut child);
    let pid = child.id().to_string();
    assert!(Command::new("kill").args([&format!("-{signal}"), &pid]).status().expect("kill").success());
    let out = wait_bounded(child);
    reader.join().expect("the stderr reader");
    drop(hold);
    let shown = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr.lock().expect("stderr").as_str());
    let what = format!("{backend:?} {phase:?} SIG{signal}: exit {:?}\n{shown}", out.status.code());
    eprintln!("{what}");
    if signal == "KILL" {
        assert_eq!(code(&out), -1, "{what}");
        wait_for_sessions_to_end(&db);
    } else {
        // Connect and lock: nothing was changed yet, so the process ends at once; later
        // phases: the migration in progress (V2) finishes whole and the run stops before V3.
        assert_eq!(code(&out), 130, "{what}");
        match phase {
            Phase::Connect | Phase::Lock => {
                assert!(shown.contains("note: stopped before anything was changed"), "says so: {what}");
            }
            Phase::Backup => assert!(shown.contains("note: nothing was applied\n"), "says so: {what}"),
            Phase::Apply | Phase::Record => {
                assert!(shown.contains("note: applied before the failure: V2__t2\n"), "says what was applied: {what}");
            }
        }
        if !matches!(phase, Phase::Connect | Phase::Lock) {
            assert!(shown.contains("every migration so far was applied whole"), "says it is consistent: {what}");
        }
    }
    if phase == Phase::Record {
        drop_slow_trigger(&db);
    }
    if phase == Phase::Backup && signal == "KILL" {
        // The dump cut short stays a hidden temp file: never listed, so never offered to restore.
        let listed = crate::backup::backups(dir);
        assert!(listed.is_empty(), "{listed:?}: {what}");
    }
    truthful_then_rerun(&fixture, &db, &what);
}

/// Sets up what holds the CLI at `phase`.
fn hold(backend: Backend, phase: Phase, db: &TestDb, fixture: &dbmigrate_tests::Fixture) -> Hold {
    let mut hold = Hold::default();
    match (phase, backend) {
        (Phase::Connect, Backend::Sqlite) => {
            // No network: the first access waits for a writer holding the file (the busy timeout).
            hold.holders.push(sqlite_writer(db));
            hold.args = vec!["--lock-timeout", "2"];
        }
        (Phase::Connect, _) => {
            let (port, accepted) = blackhole();
            let scheme = if backend == Backend::Postgres { "postgres://postgres" } else { "mysql://root" };
            hold.url = Some(format!("{scheme}@127.0.0.1:{port}/{}", db.name));
            hold.accepted = Some(accepted);
            hold.args = vec!["--connect-timeout", "2"];
        }
        (Phase::Lock, _) => {
            hold.holders.push(lock_holder(db));
            hold.args = vec!["--lock-timeout", "2"];
        }
        (Phase::Backup, Backend::Sqlite) => {}
        (Phase::Backup, _) => {
            let (key, tool) =
                if backend == Backend::Postgres { ("pg-dump", "pg_dump") } else { ("mysqldump", "mariadb-dump") };
            let stub = slow_tool(fixture.path(), tool);
            configure_backup(fixture, &format!("{key} = \"{}\"", stub.display()));
        }
        (Phase::Apply, _) => {}
        (Phase::Record, _) => slow_trigger(db),
    }
    hold
}

/// Waits until the CLI is held at the phase (panics after 30 s, or when it ended first).
fn wait_until_held(
    backend: Backend,
    phase: Phase,
    db: &TestDb,
    hold: &Hold,
    stderr: &Mutex<String>,
    child: &mut Child,
) {
    let said = |s: &str| stderr.lock().expect("stderr").contains(s);
    let start = Instant::now();
    loop {
        let held = match (phase, backend) {
            (Phase::Connect, Backend::Sqlite) | (Phase::Lock, Backend::Sqlite) => said("Connecting"),
            (Phase::Connect, _) => hold.accepted.as_ref().is_some_and(|a| a.load(Ordering::SeqCst)),
            (Phase::Lock, Backend::Postgres) => active(db, "query LIKE 'SELECT pg_try_advisory_lock%'"),
            (Phase::Lock, Backend::Mariadb) => active(db, "info LIKE 'SELECT GET_LOCK%'"),
            (Phase::Backup, _) => said("Backing up"),
            (Phase::Apply, _) => said("Applying V2__t2"),
            (Phase::Record, Backend::Postgres) => active(db, "wait_event = 'PgSleep'"),
            (Phase::Record, Backend::Mariadb) => active(db, "state = 'User sleep'"),
            (Phase::Record, Backend::Sqlite) => said("Applying V2__t2"),
        };
        if held {
            break;
        }
        assert!(child.try_wait().expect("try_wait").is_none(), "ended before {phase:?}: {}", stderr.lock().expect("e"));
        assert!(start.elapsed() < Duration::from_secs(30), "never reached {phase:?}: {}", stderr.lock().expect("e"));
        std::thread::sleep(Duration::from_millis(20));
    }
    // SQLite's waits and a statement under way show nothing outside the process: let it get into
    // what it announced. A backup is signalled as soon as it is announced (SQLite's is quick).
    let settle = match phase {
        Phase::Backup => 0,
        Phase::Apply => 300,
        _ if backend == Backend::Sqlite => 300,
        _ => 0,
    };
    std::thread::sleep(Duration::from_millis(settle));
}

/// Whether another session of the database matches `filter` (a condition on
/// `pg_stat_activity` or MariaDB's `information_schema.processlist`).
fn active(db: &TestDb, filter: &str) -> bool {
    let sql = match db.backend {
        Backend::Postgres => format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid() AND {filter}",
            db.name
        ),
        _ => format!(
            "SELECT count(*) FROM information_schema.processlist WHERE db = '{}' AND id <> CONNECTION_ID() AND {filter}",
            db.name
        ),
    };
    db.query(&sql) != "0"
}

/// Collects a child's stderr on a thread of its own (joined to have all of it).
fn collect(stderr: std::process::ChildStderr) -> (Arc<Mutex<String>>, std::thread::JoinHandle<()>) {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&text);
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut all = sink.lock().expect("stderr");
            all.push_str(&line);
            all.push('\n');
        }
    });
    (text, reader)
}

/// Waits for the CLI; 60 s is far beyond every hold here, so reaching it means a hang.
fn wait_bounded(mut child: Child) -> std::process::Output {
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the signalled CLI hung: {:?}", child.wait_with_output().map(|o| text(&o)));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// A listener that accepts and never answers; the flag says a client connected.
fn blackhole() -> (u16, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&accepted);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            flag.store(true, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (port, accepted)
}

/// `sqlite3` holding an exclusive transaction on the database until killed.
fn sqlite_writer(db: &TestDb) -> Child {
    let mut child = session(Command::new("sqlite3").arg(db.url.trim_start_matches("sqlite:")), "BEGIN EXCLUSIVE;");
    child.stdin.as_mut().expect("stdin").write_all(b"SELECT 'locked';\n").expect("write");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read");
    assert_eq!(line.trim(), "locked");
    child
}

/// A database client that ran `sql` and then waits on its open stdin (so that killing it closes
/// its connection, and the server ends the session and whatever it held at once).
fn session(client: &mut Command, sql: &str) -> Child {
    let mut child = client.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("spawn the client");
    child.stdin.as_mut().expect("stdin").write_all(format!("{sql}\n").as_bytes()).expect("write");
    child
}

/// A session holding the migration lock, until killed.
fn lock_holder(db: &TestDb) -> Child {
    let table = "refinery_schema_history";
    match db.backend {
        Backend::Sqlite => {
            // `-o`: the lock stays with flock itself, not the command, so killing flock frees it.
            let lock = format!("{}.dbmigrate-lock", db.url.trim_start_matches("sqlite:"));
            let child = Command::new("flock").args(["-o", &lock, "sleep", "120"]).spawn().expect("flock");
            let start = Instant::now();
            while Command::new("flock").args(["-n", &lock, "true"]).status().expect("flock").success() {
                assert!(start.elapsed() < Duration::from_secs(10), "flock never took the lock");
                std::thread::sleep(Duration::from_millis(20));
            }
            child
        }
        Backend::Postgres => {
            let key = i64::from_ne_bytes(fnv1a(&format!("dbmigrate:{table}")).to_ne_bytes());
            let mut psql = Command::new("psql");
            psql.args(["-h", "127.0.0.1", "-U", "postgres", "-d", &db.name, "-qAtX"]);
            let child = session(&mut psql, &format!("SELECT pg_advisory_lock({key});"));
            let ours = "database = (SELECT oid FROM pg_database WHERE datname = current_database())";
            let sql = format!("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND {ours}");
            wait_for(|| db.query(&sql) != "0");
            child
        }
        Backend::Mariadb => {
            let full = format!("dbmigrate:{}:{table}", db.name);
            let name = if full.len() <= 64 { full } else { format!("dbmigrate:{:016x}", fnv1a(&full)) };
            let mut client = Command::new("mariadb");
            client.args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-D", &db.name]);
            let child = session(&mut client, &format!("SELECT GET_LOCK('{name}', 0);"));
            wait_for(|| db.query(&format!("SELECT IS_USED_LOCK('{name}') IS NOT NULL")) == "1");
            child
        }
    }
}

fn wait_for(ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(10), "the holder never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The 64-bit FNV-1a hash the lock names and keys use (`dbmigrate_core::stable_hash`).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// A dump tool that waits `HOLD` seconds before doing its work (its `--version` answers at once).
fn slow_tool(dir: &std::path::Path, tool: &str) -> std::path::PathBuf {
    let real = String::from_utf8_lossy(
        &Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().expect("sh").stdout,
    )
    .trim()
    .to_string();
    let path = dir.join(format!("slow-{tool}"));
    let script = format!("#!/bin/sh\ncase \"$*\" in *--version*) ;; *) sleep {HOLD} ;; esac\nexec {real} \"$@\"\n");
    std::fs::write(&path, script).expect("write the stub");
    let mut perms = std::fs::metadata(&path).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).expect("chmod");
    path
}

/// A trigger that makes each insert into the history take `HOLD` seconds.
fn slow_trigger(db: &TestDb) {
    db.query(&match db.backend {
        Backend::Postgres => "CREATE FUNCTION dbm_slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1.5); RETURN NEW; END $$; \
             CREATE TRIGGER dbm_slow BEFORE INSERT ON refinery_schema_history FOR EACH ROW EXECUTE FUNCTION dbm_slow()"
            .to_string(),
        Backend::Mariadb => {
            "CREATE TRIGGER dbm_slow BEFORE INSERT ON refinery_schema_history FOR EACH ROW SET @dbm_slow = SLEEP(1.5)".to_string()
        }
        // A trigger may not use WITH: a cross join of a table made beforehand is the slow part.
        Backend::Sqlite => "CREATE TABLE dbm_rows AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 9000) SELECT x FROM c; \
             CREATE TRIGGER dbm_slow BEFORE INSERT ON refinery_schema_history BEGIN SELECT count(*) FROM dbm_rows a, dbm_rows b; END"
            .to_string(),
    });
}

fn drop_slow_trigger(db: &TestDb) {
    db.query(if db.backend == Backend::Postgres {
        "DROP TRIGGER dbm_slow ON refinery_schema_history"
    } else {
        "DROP TRIGGER dbm_slow"
    });
}

/// Waits until no other session is connected to the database (the server noticed the kill).
fn wait_for_sessions_to_end(db: &TestDb) {
    if db.backend == Backend::Sqlite {
        return;
    }
    let start = Instant::now();
    while active(db, "1 = 1") {
        assert!(start.elapsed() < Duration::from_secs(30), "the killed run's sessions did not end");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `status` says of each migration what the schema shows (recorded iff its table exists, or
/// dirty with the table there on MariaDB); then, once a dirty one is repaired, a rerun of `run`
/// applies the rest, each exactly once.
fn truthful_then_rerun(fixture: &dbmigrate_tests::Fixture, db: &TestDb, what: &str) {
    let dir = fixture.path();
    let status = json(&dbm(dir, &db.url, &["status", "--format", "json"]));
    let recorded = db.versions();
    let states: Vec<&str> =
        status["migrations"].as_array().expect("rows").iter().filter_map(|m| m["state"].as_str()).collect();
    eprintln!("{}: states afterwards {states:?}", what.lines().next().unwrap_or_default());
    for m in status["migrations"].as_array().expect("rows") {
        let v = m["version"].as_i64().expect("version");
        let (state, table) = (m["state"].as_str().expect("state"), db.has_table(&format!("t{v}")));
        let shown = format!("V{v}: state {state}, recorded {}, table {table}: {what}", recorded.contains(&v));
        match state {
            "applied" => assert!(recorded.contains(&v) && table, "{shown}"),
            "pending" => assert!(!recorded.contains(&v) && !table, "{shown}"),
            "dirty" => {
                assert!(db.backend == Backend::Mariadb && !recorded.contains(&v) && table, "{shown}");
                // The table is there and what did not run (a sleep) changes nothing: record it.
                let version = v.to_string();
                super::assert_code(&dbm(dir, &db.url, &["repair", "--version", &version, "--as", "applied"]), 0);
            }
            other => panic!("unexpected state {other}: {shown}"),
        }
    }
    let out = dbm(dir, &db.url, &["run", "--no-backup"]);
    super::assert_code(&out, 0);
    assert_eq!(db.versions(), vec![1, 2, 3], "{what}");
    let tables: Vec<String> = db.tables().into_iter().filter(|t| !t.starts_with("dbm_")).collect();
    assert_eq!(tables, ["t1", "t2", "t3"], "{what}");
}

/// The three signals at one phase, side by side (each on its own database).
fn at(backend: Backend, phase: Phase) {
    std::thread::scope(|s| {
        let runs: Vec<_> = SIGNALS.iter().map(|signal| s.spawn(move || scenario(backend, phase, signal))).collect();
        for run in runs {
            if let Err(panic) = run.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
}

/// One `#[test]` per backend and phase: `db::signals_matrix::<backend>::<phase>`.
macro_rules! matrix {
    ($($module:ident = $backend:ident;)*) => {
        $(
            mod $module {
                use super::{Backend, Phase, at};
                #[test] fn connect() { at(Backend::$backend, Phase::Connect) }
                #[test] fn lock() { at(Backend::$backend, Phase::Lock) }
                #[test] fn backup() { at(Backend::$backend, Phase::Backup) }
                #[test] fn apply() { at(Backend::$backend, Phase::Apply) }
                #[test] fn record() { at(Backend::$backend, Phase::Record) }
            }
        )*
    };
}

matrix! {
    sqlite = Sqlite;
    pg = Postgres;
    maria = Mariadb;
}
