//! TLS on the real servers: PostgreSQL at 127.0.0.1:5432 runs with `ssl = on`
//! and a self-signed (snakeoil) certificate; MariaDB at 127.0.0.1:3306 has
//! TLS disabled (`have_ssl = DISABLED`). Each test makes its own database.
#![cfg(any(feature = "postgres", feature = "mysql"))]

mod common;

use common::{TestDb, quiet};
use dbmigrate_runtime::{DatabaseUrl, Engine, Error, Goal, TlsMode};

const PASSWORD: &str = "tls-s3cr3t-pw";

/// `db`'s url with `query` appended (the test urls have none of their own).
fn with_query(db: &TestDb, query: &str) -> DatabaseUrl {
    common::parse(&format!("{}?{query}", db.url))
}

/// `db`'s url with a password and `query`.
fn with_password(db: &TestDb, user: &str, query: &str) -> DatabaseUrl {
    let text = db.url.to_string().replacen(&format!("//{user}@"), &format!("//{user}:{PASSWORD}@"), 1);
    common::parse(&format!("{text}?{query}"))
}

/// Runs one migration on `url` that records what the migration connection
/// itself saw in a `seen` table, then checks its history row.
fn migrate_recording(db: &TestDb, url: &DatabaseUrl, select: &str) {
    let scripts = [common::script(1, "seen", &format!("CREATE TABLE seen AS {select};"), Some("DROP TABLE seen;"))];
    let mut engine = Engine::connect(url, db.options()).unwrap_or_else(|e| panic!("connect {url}: {e}"));
    let report = engine
        .migrate(&scripts, Goal::Latest, &mut quiet)
        .map_err(Error::from)
        .unwrap_or_else(|e| panic!("migrate {url}: {e}"));
    assert_eq!(report.after, Some(1));
    assert_eq!(db.scalar("SELECT count(*) FROM refinery_schema_history WHERE version = 1 AND name = 'seen'"), 1);
}

fn connect_error(url: &DatabaseUrl) -> String {
    let options = dbmigrate_runtime::Options { lock_timeout: std::time::Duration::from_secs(5), ..Default::default() };
    let err = match Engine::connect(url, options) {
        Ok(_) => panic!("{url} must not connect"),
        Err(e) => e,
    };
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    let all = format!("{url} {url:?} {err} {err:?}");
    assert!(!all.contains(PASSWORD), "password leaked: {all}");
    all
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

    const SEEN_SSL: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

    fn used_tls(db: &TestDb) -> bool {
        db.scalar("SELECT count(*) FROM seen WHERE ssl") == 1
    }

    /// The server's certificate file, which is its own root (self-signed).
    fn server_cert() -> String {
        let mut c = ::postgres::Client::connect(common::PG_ADMIN, ::postgres::NoTls).expect("connect");
        c.query_one("SHOW ssl_cert_file", &[]).expect("show").get(0)
    }

    #[test]
    fn require_migrates_over_tls() {
        let db = TestDb::postgres("tls");
        migrate_recording(&db, &with_query(&db, "sslmode=require"), SEEN_SSL);
        assert!(used_tls(&db), "sslmode=require: the migration connection was not encrypted");
    }

    #[test]
    fn disable_stays_plain() {
        let db = TestDb::postgres("tls");
        migrate_recording(&db, &with_query(&db, "sslmode=disable"), SEEN_SSL);
        assert!(!used_tls(&db), "sslmode=disable: the migration connection was encrypted");
    }

    #[test]
    fn default_prefers_tls_like_libpq() {
        let db = TestDb::postgres("tls");
        assert_eq!(db.url.tls().map(|t| t.mode), Some(TlsMode::Prefer));
        migrate_recording(&db, &db.url, SEEN_SSL);
        assert!(used_tls(&db), "no sslmode (prefer): the migration connection was not encrypted");
    }

    #[test]
    fn verify_full_fails_without_leaking_the_password() {
        // The certificate names localhost, not 127.0.0.1 (and on a machine
        // whose store does not hold the snakeoil certificate, it is also
        // untrusted).
        let db = TestDb::postgres("tls");
        let all = connect_error(&with_password(&db, "postgres", "sslmode=verify-full"));
        assert!(all.contains("certificate verification failed"), "{all}");
        assert!(all.contains("sslmode=verify-full"), "{all}");
        assert!(all.contains("***"), "{all}");
    }

    /// A self-signed certificate and its key made by the openssl tool.
    fn make_cert(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let (cert, key) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
        let made = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", &format!("/CN={name}")])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("run openssl");
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        (cert, key)
    }

    #[test]
    fn verify_ca_fails_against_another_root() {
        // sslrootcert replaces the system's roots, as in libpq.
        let db = TestDb::postgres("tls");
        let dir = tempfile::tempdir().expect("temp dir");
        let (ca, _) = make_cert(dir.path(), "dbm-other-ca");
        let query = format!("sslmode=verify-ca&sslrootcert={}", ca.display());
        let all = connect_error(&with_password(&db, "postgres", &query));
        assert!(all.contains("certificate verification failed"), "{all}");
        assert!(all.contains("sslmode=verify-ca"), "{all}");
    }

    /// Runs the openssl tool, failing the test on an error.
    fn openssl(args: &[&str]) {
        let out = std::process::Command::new("openssl").args(args).output().expect("run openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    #[test]
    fn client_keys_in_pkcs1_and_sec1_load() {
        // rustls reads PKCS#8, PKCS#1 (`BEGIN RSA PRIVATE KEY`) and SEC1
        // (`BEGIN EC PRIVATE KEY`) keys; an encrypted key is refused with the hint.
        let db = TestDb::postgres("tls");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = |name: &str| dir.path().join(name).display().to_string();
        openssl(&["genrsa", "-traditional", "-out", &path("rsa.key"), "2048"]);
        openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", &path("ec.key")]);
        for (key, header) in [("rsa.key", "BEGIN RSA PRIVATE KEY"), ("ec.key", "BEGIN EC PRIVATE KEY")] {
            let text = std::fs::read_to_string(path(key)).expect("read key");
            assert!(text.contains(header), "{key}: {text}");
            let cert = path(&format!("{key}.pem"));
            openssl(&["req", "-x509", "-key", &path(key), "-days", "1", "-subj", "/CN=dbm-client", "-out", &cert]);
            let query = format!("sslmode=require&sslcert={cert}&sslkey={}", path(key));
            let url = with_query(&db, &query);
            let engine = Engine::connect(&url, db.options()).unwrap_or_else(|e| panic!("{key}: {e}"));
            drop(engine);
        }
        let encrypted = path("encrypted.key");
        openssl(&["pkcs8", "-topk8", "-in", &path("rsa.key"), "-passout", "pass:x", "-out", &encrypted]);
        let query = format!("sslmode=require&sslcert={}&sslkey={encrypted}", path("rsa.key.pem"));
        let all = connect_error(&with_password(&db, "postgres", &query));
        assert!(all.contains("PKCS#8") && all.contains(&encrypted), "{all}");
    }

    /// A proxy to the server that answers every TLS request with `S` and then
    /// garbage, so the handshake fails, and passes plain connections through.
    fn broken_tls_proxy() -> u16 {
        use std::io::{Read, Write};
        use std::net::{Shutdown, TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                std::thread::spawn(move || {
                    let mut first = [0u8; 8];
                    if client.read_exact(&mut first).is_err() {
                        return;
                    }
                    // SSLRequest: length 8, code 80877103.
                    if first == [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f] {
                        let _ = client.write_all(b"Snot a tls record at all");
                        let _ = client.shutdown(Shutdown::Both);
                        return;
                    }
                    let Ok(mut server) = TcpStream::connect("127.0.0.1:5432") else { return };
                    if server.write_all(&first).is_err() {
                        return;
                    }
                    let (mut c2, mut s2) = (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
                    let up = std::thread::spawn(move || {
                        let _ = std::io::copy(&mut c2, &mut s2);
                        let _ = s2.shutdown(Shutdown::Write);
                    });
                    let _ = std::io::copy(&mut server, &mut client);
                    let _ = client.shutdown(Shutdown::Write);
                    let _ = up.join();
                });
            }
        });
        port
    }

    #[test]
    fn prefer_falls_back_to_plain_text_when_the_handshake_fails() {
        let db = TestDb::postgres("tls");
        let port = broken_tls_proxy();
        let url = common::parse(&format!("postgres://postgres@127.0.0.1:{port}/{}", db.name));
        migrate_recording(&db, &url, SEEN_SSL);
        assert!(!used_tls(&db), "the handshake cannot succeed through the proxy");
        let text = db.url.to_string().replacen(
            "//postgres@127.0.0.1:5432/",
            &format!("//postgres:{PASSWORD}@127.0.0.1:{port}/"),
            1,
        );
        let all = connect_error(&common::parse(&format!("{text}?sslmode=require")));
        assert!(all.contains("tls handshake failed (sslmode=require)"), "{all}");
    }

    #[test]
    fn client_certificate_is_loaded() {
        // The server asks for no client certificate: this checks that a
        // PKCS#8 pair loads and the connection still works, and that a key
        // in another format is refused with a hint.
        let db = TestDb::postgres("tls");
        let dir = tempfile::tempdir().expect("temp dir");
        let (cert, key) = make_cert(dir.path(), "dbm-client");
        let query = format!("sslmode=require&sslcert={}&sslkey={}", cert.display(), key.display());
        migrate_recording(&db, &with_query(&db, &query), SEEN_SSL);
        assert!(used_tls(&db));
        let query = format!("sslmode=require&sslcert={}&sslkey={}", cert.display(), cert.display());
        let all = connect_error(&with_password(&db, "postgres", &query));
        assert!(all.contains("PKCS#8"), "{all}");
    }

    #[test]
    fn verify_ca_trusts_sslrootcert() {
        let db = TestDb::postgres("tls");
        let query = format!("sslmode=verify-ca&sslrootcert={}", server_cert());
        migrate_recording(&db, &with_query(&db, &query), SEEN_SSL);
        assert!(used_tls(&db));
    }

    #[test]
    fn verify_full_checks_the_host_name() {
        let db = TestDb::postgres("tls");
        let cert = server_cert();
        // The certificate names localhost, not 127.0.0.1 (Debian's snakeoil
        // certificate names the machine: then only the failure is checked).
        let query = format!("sslmode=verify-full&sslrootcert={cert}");
        let all = connect_error(&with_password(&db, "postgres", &query));
        assert!(all.contains("certificate verification failed"), "{all}");
        assert!(all.contains("it does not name the host of the url"), "{all}");
        let names = std::process::Command::new("openssl")
            .args(["x509", "-noout", "-ext", "subjectAltName", "-in", &cert])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        if names.contains("DNS:localhost") {
            let url = common::parse(&format!(
                "postgres://postgres@localhost:5432/{}?sslmode=verify-full&sslrootcert={cert}",
                db.name
            ));
            migrate_recording(&db, &url, SEEN_SSL);
            assert!(used_tls(&db));
        }
    }

    #[test]
    fn missing_root_certificate_file_is_named() {
        let db = TestDb::postgres("tls");
        let all = connect_error(&with_password(&db, "postgres", "sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem"));
        assert!(all.contains("sslrootcert /nonexistent/ca.pem"), "{all}");
    }

    #[test]
    fn unknown_sslmode_is_a_url_error() {
        let err = DatabaseUrl::parse("postgres://postgres@127.0.0.1/x?sslmode=strict", std::path::Path::new("/"))
            .expect_err("unknown sslmode");
        assert!(matches!(err, Error::Url(_)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("sslmode `strict`"), "{text}");
        assert!(text.contains("disable, allow, prefer, require, verify-ca, verify-full"), "{text}");
    }
}

#[cfg(feature = "mysql")]
mod mysql {
    use super::*;

    const SEEN_CIPHER: &str = "SELECT VARIABLE_VALUE AS cipher FROM information_schema.SESSION_STATUS \
                               WHERE VARIABLE_NAME = 'Ssl_cipher'";

    fn used_tls(db: &TestDb) -> bool {
        db.scalar("SELECT count(*) FROM seen WHERE cipher <> ''") == 1
    }

    #[test]
    fn required_fails_clearly_on_a_server_without_tls() {
        let db = TestDb::mysql("tls");
        for query in ["ssl-mode=REQUIRED", "sslmode=required", "ssl-mode=VERIFY_IDENTITY"] {
            let all = connect_error(&with_password(&db, "root", query));
            assert!(all.contains("the server does not support tls"), "{all}");
            assert!(all.contains(query), "{all}");
        }
    }

    #[test]
    fn preferred_falls_back_to_plain_text() {
        let db = TestDb::mysql("tls");
        migrate_recording(&db, &with_query(&db, "ssl-mode=Preferred"), SEEN_CIPHER);
        assert!(!used_tls(&db));
    }

    #[test]
    fn disabled_and_the_default_stay_plain() {
        let db = TestDb::mysql("tls");
        assert_eq!(db.url.tls().map(|t| t.mode), Some(TlsMode::Disable));
        migrate_recording(&db, &with_query(&db, "ssl-mode=DISABLED"), SEEN_CIPHER);
        assert!(!used_tls(&db));
    }

    #[test]
    fn unknown_ssl_mode_is_a_url_error() {
        let err = DatabaseUrl::parse("mysql://root@127.0.0.1/x?ssl-mode=yes", std::path::Path::new("/"))
            .expect_err("unknown ssl-mode");
        assert!(matches!(err, Error::Url(_)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("ssl-mode `yes`"), "{text}");
        assert!(text.contains("DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY"), "{text}");
    }
}
