//! A server that accepts TCP and then never answers (or answers a few bytes and stalls, or
//! completes the handshake and stalls the history query): every database command gives up within
//! its bound, names the phase that timed out, and never hangs.

use super::crate_with;
use dbmigrate_tests::{Backend, TestDb, code, dbm_command, text};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// A listener on 127.0.0.1 that accepts every connection, writes `greeting` to it and then never
/// reads or writes again; the connections are kept open on its thread for the test's life.
fn stuck_server(greeting: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(greeting);
            held.push(stream);
        }
    });
    port
}

/// Runs the CLI and waits for it; 60 s is far beyond any bound used here, so reaching it means
/// the command hung (the tool's own exit is what is tested, never its duration).
fn run_bounded(url: &str, args: &[&str]) -> Output {
    let fixture = crate_with("faults", &[("V1__a.sql", "CREATE TABLE a (id INT);\n")]);
    let mut child =
        dbm_command(fixture.path(), url, args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("`{}` hung on a stuck server: {:?}", args.join(" "), child.wait_with_output().map(|o| text(&o)));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

/// `status`, `run` and `run --retry 1` all fail, saying the bound and the phase.
fn gives_up(url: &str, extra: &[&str], seconds: u64, phase: &str) {
    for command in [&["status"][..], &["run"], &["run", "--retry", "1"]] {
        let args: Vec<&str> = command.iter().chain(extra).copied().collect();
        let out = run_bounded(url, &args);
        let shown = text(&out);
        assert_ne!(code(&out), 0, "{args:?}: {shown}");
        let expected = format!("timed out after {seconds}s connecting to");
        assert!(shown.contains(&expected) && shown.contains(&format!("({phase})")), "{args:?}: {shown}");
        assert!(shown.contains("--connect-timeout"), "the hint names the option: {shown}");
        if command.contains(&"--retry") {
            assert!(shown.to_lowercase().contains("retry"), "a timeout is transient, so it is retried: {shown}");
        }
    }
}

#[test]
fn pg_blackhole() {
    let port = stuck_server(b"");
    // libpq's default sslmode=prefer: the first answer awaited is the TLS one.
    gives_up(&format!("postgres://postgres@127.0.0.1:{port}/app"), &["--connect-timeout", "2"], 2, "tls handshake");
    let plain = format!("postgres://postgres@127.0.0.1:{port}/app?sslmode=disable");
    gives_up(&plain, &["--connect-timeout", "2"], 2, "authentication");
}

#[test]
fn pg_slow_server() {
    // Accepts the TLS request (`S`), then never sends its hello.
    let port = stuck_server(b"S");
    let url = format!("postgres://postgres@127.0.0.1:{port}/app?sslmode=require");
    gives_up(&url, &["--connect-timeout", "2"], 2, "tls handshake");
    // Starts an authentication message in plain text, then stalls.
    let port = stuck_server(b"R\0\0");
    gives_up(
        &format!("postgres://postgres@127.0.0.1:{port}/app?sslmode=disable"),
        &["--connect-timeout", "2"],
        2,
        "authentication",
    );
}

#[test]
fn pg_url_connect_timeout() {
    let port = stuck_server(b"");
    let url = format!("postgres://postgres:secret@127.0.0.1:{port}/app?connect_timeout=2&sslmode=disable");
    // The url's own bound wins over the option's.
    gives_up(&url, &["--connect-timeout", "30"], 2, "authentication");
    let out = run_bounded(&url, &["status"]);
    assert!(!text(&out).contains("secret"), "{}", text(&out));
}

#[test]
fn maria_blackhole() {
    let port = stuck_server(b"");
    gives_up(&format!("mysql://root@127.0.0.1:{port}/app"), &["--connect-timeout", "2"], 2, "authentication");
}

#[test]
fn maria_slow_server() {
    // The first bytes of a greeting packet's header, then nothing.
    let port = stuck_server(b"\x4a\x00\x00");
    gives_up(&format!("mysql://root@127.0.0.1:{port}/app"), &["--connect-timeout", "2"], 2, "authentication");
}

#[test]
fn maria_url_connect_timeout() {
    let port = stuck_server(b"");
    let url = format!("mysql://root@127.0.0.1:{port}/app?connect_timeout=2");
    gives_up(&url, &[], 2, "authentication");
}

#[test]
fn a_zero_or_malformed_url_timeout_is_refused() {
    for bad in ["0", "soon"] {
        let out = run_bounded(&format!("postgres://postgres@127.0.0.1:1/app?connect_timeout={bad}"), &["status"]);
        assert_ne!(code(&out), 0);
        assert!(text(&out).contains("e.g. connect_timeout=10"), "{}", text(&out));
    }
    let out = run_bounded("postgres://postgres@127.0.0.1:1/app", &["status", "--connect-timeout", "0"]);
    assert_ne!(code(&out), 0, "{}", text(&out));
}

/// A proxy on 127.0.0.1 to the real server at `upstream`, forwarding both ways (so the
/// handshake and login are real) until the client sends a query naming the history table:
/// from then on that connection forwards nothing more, in either direction, and stays open.
fn stalling_proxy(upstream: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
            let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else { continue };
            std::thread::spawn(move || forward_until_history(client, server));
            // Replies flow until the client's side stops: then nothing more is sent to it.
            std::thread::spawn(move || forward(server2, client2));
        }
    });
    port
}

/// Copies `from` to `to` until the bytes seen name `refinery_schema_history` (other than in
/// MariaDB's `GET_LOCK`, whose own bound is the lock timeout's); then holds both sockets open
/// without reading or writing again.
fn forward_until_history(mut from: TcpStream, mut to: TcpStream) {
    const NEEDLE: &[u8] = b"refinery_schema_history";
    let (mut seen, mut buf) = (Vec::new(), [0u8; 8192]);
    while let Ok(n @ 1..) = from.read(&mut buf) {
        seen.extend_from_slice(&buf[..n]);
        let has = |needle: &[u8]| seen.windows(needle.len()).any(|w| w == needle);
        if has(NEEDLE) && !has(b"GET_LOCK") {
            // Stop the reply direction too: the server's answer must never arrive.
            let _ = to.shutdown(std::net::Shutdown::Read);
            std::thread::sleep(Duration::from_secs(600));
            return;
        }
        seen.drain(..seen.len().saturating_sub(NEEDLE.len()));
        if to.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

fn forward(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
}

/// A server that logs the client in and then never answers the history query: `status`,
/// `current`, `history` and `run` fail with a timeout naming the phase, never hang.
fn history_read_stalls(backend: Backend, upstream: u16, params: &str) {
    let fixture = crate_with("stall", &[("V1__a.sql", "CREATE TABLE a (id INT);\n")]);
    let db = TestDb::new(backend, "stall", fixture.path());
    let port = stalling_proxy(upstream);
    let scheme = if backend == Backend::Postgres { "postgres://postgres" } else { "mysql://root" };
    let url = format!("{scheme}@127.0.0.1:{port}/{}?{params}", db.name);
    for command in [&["status"][..], &["current"], &["history"], &["run", "--no-backup"]] {
        let args: Vec<&str> = command.iter().chain(&["--connect-timeout", "2"]).copied().collect();
        let out = run_bounded(&url, &args);
        let shown = text(&out);
        assert_eq!(code(&out), 101, "{args:?}: {shown}");
        assert!(shown.contains("timed out after 2s") && shown.contains("(reading the reply)"), "{args:?}: {shown}");
        assert!(shown.contains("--connect-timeout"), "the hint names the option: {shown}");
    }
    assert_eq!(db.versions(), Vec::<i64>::new(), "nothing was applied through the stalled server");
}

#[test]
fn maria_history_read_stalls() {
    history_read_stalls(Backend::Mariadb, 3306, "ssl-mode=DISABLED");
}

#[test]
fn pg_history_read_stalls() {
    history_read_stalls(Backend::Postgres, 5432, "sslmode=disable");
}
