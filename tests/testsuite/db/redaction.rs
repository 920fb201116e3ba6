//! A password never shows on stdout or stderr: not in the URL's user info (raw or
//! percent-encoded), not in a `password=`/`sslpassword=` query parameter, whatever fails
//! (refused port, unknown host, wrong credentials, a malformed URL) and whichever command runs.

use super::crate_with;
use dbmigrate_tests::{Backend, TestDb, cli_bin, code, text};
use std::process::Command;

const RAW: &str = "p@ss:w/rd";
const ENCODED: &str = "p%40ss%3Aw%2Frd";

const COMMANDS: &[&[&str]] = &[
    &["run"],
    &["run", "--dry-run"],
    &["-v", "run", "--single-transaction"],
    &["down"],
    &["down", "--to", "0", "--dry-run"],
    &["status"],
    &["status", "--exit-code", "--format", "json"],
    &["current"],
    &["history"],
    &["show", "1"],
    &["stamp", "1"],
    &["repair", "--version", "1", "--as", "pending"],
];

fn urls(pg: &TestDb, maria: &TestDb) -> Vec<String> {
    let (p, m) = (&pg.name, &maria.name);
    vec![
        // Refused port.
        format!("postgres://postgres:{ENCODED}@127.0.0.1:1/{p}"),
        format!("mysql://root:{ENCODED}@127.0.0.1:1/{m}"),
        // Unknown host.
        format!("postgres://postgres:{ENCODED}@no-such-host.invalid:5432/{p}"),
        format!("mysql://root:{ENCODED}@no-such-host.invalid:3306/{m}"),
        // Wrong credentials on the real servers.
        format!("postgres://no_such_user_dbm:{ENCODED}@127.0.0.1:5432/{p}"),
        format!("mysql://root:{ENCODED}@127.0.0.1:3306/{m}"),
        format!("mysql://no_such_user_dbm:{ENCODED}@127.0.0.1:3306/{m}"),
        // Secret query parameters, raw and encoded.
        format!("postgres://postgres@127.0.0.1:1/{p}?password={RAW}"),
        format!("postgres://no_such_user_dbm@127.0.0.1:5432/{p}?sslmode=disable&password={ENCODED}"),
        format!("postgres://postgres@127.0.0.1:1/{p}?sslpassword={RAW}&sslmode=prefer"),
        format!("mysql://root@127.0.0.1:1/{m}?password={ENCODED}"),
        format!("mysql://no_such_user_dbm@127.0.0.1:3306/{m}?password={RAW}"),
        // Malformed URLs that hold the password.
        format!("postgres://postgres:{RAW}@127.0.0.1:5432/{p}"),
        format!("postgres://postgres:{ENCODED}@127.0.0.1:notaport/{p}"),
        format!("mysql://root:{RAW}@127.0.0.1:3306/{m}"),
        format!("mysql://root:{ENCODED}@[::1/{m}"),
        format!("postgresql://postgres:{ENCODED}@/{p}?host=/no/such/socket/dir"),
    ]
}

#[track_caller]
fn assert_no_secret(what: &str, out: &std::process::Output) {
    let all = text(out);
    for secret in [RAW, ENCODED, "p%40ss", "ss:w/rd", "w%2Frd"] {
        assert!(!all.contains(secret), "{what} printed `{secret}` (exit {}):\n{all}", code(out));
    }
}

#[test]
fn password_never_printed() {
    let fixture =
        crate_with("redact", &[("V1__a.sql", "CREATE TABLE a (id INT);\n"), ("V1__a.down.sql", "DROP TABLE a;\n")]);
    let dir = fixture.path();
    // Real databases, so the wrong-credentials cases get as far as authentication.
    let pg = TestDb::new(Backend::Postgres, "redact", dir);
    let maria = TestDb::new(Backend::Mariadb, "redact", dir);

    for url in urls(&pg, &maria) {
        for args in COMMANDS {
            let what = format!("`{}` with {url}", args.join(" "));
            let out = Command::new(cli_bin())
                .arg("dbmigrate")
                .args(*args)
                .args(["--database-url", &url, "--lock-timeout", "5"])
                .current_dir(dir)
                .env("CARGO_TERM_COLOR", "never")
                .env("RUST_BACKTRACE", "1")
                .env_remove("DATABASE_URL")
                .output()
                .expect("run");
            assert_no_secret(&what, &out);
            assert_ne!(code(&out), 0, "{what} should fail:\n{}", text(&out));
        }
        // The same through $DATABASE_URL.
        let out = Command::new(cli_bin())
            .args(["dbmigrate", "-vv", "status"])
            .current_dir(dir)
            .env("DATABASE_URL", &url)
            .output()
            .expect("run");
        assert_no_secret(&format!("status with DATABASE_URL={url}"), &out);
    }
}

/// One- and two-letter passwords: a migration's error keeps its words ("relation … does not
/// exist" is not turned into "r***lation … do***s not …"), and the password field is still
/// hidden wherever the URL is shown.
#[test]
fn short_passwords_do_not_mangle_messages() {
    let fixture = crate_with("short", &[("V1__bad.sql", "INSERT INTO nope VALUES (1);\n")]);
    let db = TestDb::new(Backend::Postgres, "short", fixture.path());
    for password in ["e", "es"] {
        let url = db.url.replace("postgres@", &format!("postgres:{password}@"));
        let out = Command::new(cli_bin())
            .args(["dbmigrate", "-v", "run", "--no-backup", "--database-url", &url])
            .current_dir(fixture.path())
            .env("CARGO_TERM_COLOR", "never")
            .output()
            .expect("run");
        assert_eq!(code(&out), 101, "{}", text(&out));
        let all = text(&out);
        assert!(all.contains("relation \"nope\" does not exist"), "the message keeps its words:\n{all}");
        assert!(!all.contains(&format!(":{password}@")), "the password is hidden:\n{all}");
    }
}
