//! Every database URL form a user can type, through the real binary, by `--database-url` and
//! by `$DATABASE_URL`: a malformed one is a usage error (exit 2) that says what is wrong and
//! shows the right form, never a panic, never the password.

use super::crate_with;
use dbmigrate_tests::{cli_bin, code, text};
use std::process::{Command, Output};

/// `(url, what the message must say)`.
const MALFORMED: &[(&str, &str)] = &[
    ("sqlite", "`sqlite` names no file: write e.g. sqlite:dev.db"),
    ("sqlite:", "the sqlite url names no file"),
    ("sqlite://", "the sqlite url names no file"),
    ("sqlite:app.db?mode=rwx", "unknown sqlite mode `rwx`"),
    ("sqlite:app.db?cache=shared", "unknown sqlite url parameter `cache`"),
    ("postgres", "`postgres` names no server: write e.g. postgres://user:password@localhost:5432/app"),
    ("postgres://", "the url names no host: write e.g. postgres://"),
    ("postgresql://@", "the url names no host"),
    ("postgres://u:s3cret@:5432/db", "the url names no host"),
    ("mysql://@", "the url names no host: write e.g. mysql://user:password@localhost:3306/app"),
    ("mysql://", "the url names no host"),
    ("file.db", "`file.db` has no scheme: for a SQLite file write sqlite:file.db"),
    ("./file.db", "for a SQLite file write sqlite:./file.db"),
    ("oracle://scott:s3cret@h/db", "unknown scheme `oracle:`"),
    ("host=localhost dbname=x user=postgres", "write it as a url, postgres://postgres@localhost/x"),
    ("host=h dbname=x password=s3cret", "postgres://:***@h/x"),
    ("postgres://u:s3cret@h:70000/db", "the port is not a number from 0 to 65535"),
    ("postgres://u:s3c/ret@h/db", "the port is not a number"),
    ("mysql://u:s3cret@h:99999/db", "the port is not a number"),
];

fn status(dir: &std::path::Path, flag: Option<&str>, env: Option<&str>) -> Output {
    let mut cmd = Command::new(cli_bin());
    cmd.args(["dbmigrate", "status"]).current_dir(dir).env("CARGO_TERM_COLOR", "never").env_remove("DATABASE_URL");
    if let Some(url) = flag {
        cmd.args(["--database-url", url]);
    }
    if let Some(url) = env {
        cmd.env("DATABASE_URL", url);
    }
    cmd.output().expect("run cargo-dbmigrate")
}

#[track_caller]
fn assert_usage_error(what: &str, out: &Output, wanted: &str) {
    let all = text(out);
    assert_eq!(code(out), 2, "{what}: exit code\n{all}");
    assert!(!all.contains("panicked"), "{what} panicked:\n{all}");
    assert!(all.contains(wanted), "{what}: the message lacks `{wanted}`:\n{all}");
    assert!(all.contains("hint:"), "{what}: no hint:\n{all}");
    assert!(!all.contains("s3c"), "{what}: the password is shown:\n{all}");
}

#[test]
fn every_malformed_url_is_a_usage_error_that_shows_the_right_form() {
    let fixture = crate_with("urls", &[("V1__a.sql", "CREATE TABLE a (id INT);\n")]);
    let dir = fixture.path();
    for (url, wanted) in MALFORMED {
        assert_usage_error(&format!("--database-url {url}"), &status(dir, Some(url), None), wanted);
        assert_usage_error(&format!("DATABASE_URL={url}"), &status(dir, None, Some(url)), wanted);
    }
    // Nothing was created on the way: not `sqlite`, `file.db` or an in-memory stand-in.
    assert!(!dir.join("sqlite").exists() && !dir.join("file.db").exists() && !dir.join("app.db").exists());
}

/// The example the hint gives for a libpq string works when followed.
#[test]
fn the_converted_libpq_url_works() {
    let fixture = crate_with("libpq", &[("V1__a.sql", "CREATE TABLE a (id INT);\n")]);
    let db = dbmigrate_tests::TestDb::new(dbmigrate_tests::Backend::Postgres, "libpq", fixture.path());
    let libpq = format!("host=127.0.0.1 port=5432 dbname={} user=postgres", db.name);
    let out = status(fixture.path(), Some(&libpq), None);
    let converted = format!("postgres://postgres@127.0.0.1:5432/{}", db.name);
    assert_usage_error("a libpq string", &out, &format!("write it as a url, {converted}"));
    let out = status(fixture.path(), Some(&converted), None);
    assert_eq!(code(&out), 0, "{}", text(&out));
}
