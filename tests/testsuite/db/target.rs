//! Which database, always said: the first status line names the target (never a password) and
//! where its URL came from (flag > environment > `.env` > the crate's default), and CI refuses
//! to fall back to the default.

use super::{assert_code, crate_with, on_all_backends};
use dbmigrate_tests::{Backend, Fixture, TestDb, cli, code, dbm, text};
use std::process::Output;

on_all_backends!(first_line_names_the_target_and_its_source);

const FILES: &[(&str, &str)] = &[("V1__a.sql", "CREATE TABLE a (id INT);\n"), ("V1__a.down.sql", "DROP TABLE a;\n")];

fn first_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or_default().to_owned()
}

fn first_line_names_the_target_and_its_source(backend: Backend) {
    let fixture = crate_with("target", FILES);
    let dir = fixture.path();
    let db = TestDb::new(backend, "target", dir);
    for args in [&["status"][..], &["current"], &["history"], &["show", "1"], &["run"], &["down", "--yes"]] {
        let out = dbm(dir, &db.url, args);
        assert_code(&out, 0);
        assert_eq!(first_line(&out), format!("    Database {} (from --database-url)", db.url), "{args:?}");
    }
    let out = cli().current_dir(dir).arg("current").env("DATABASE_URL", &db.url).output().expect("run");
    assert_eq!(first_line(&out), format!("    Database {} (from $DATABASE_URL)", db.url), "{}", text(&out));
    let out = cli().current_dir(dir).args(["-q", "current"]).env("DATABASE_URL", &db.url).output().expect("run");
    assert!(out.stderr.is_empty(), "-q silences it: {}", text(&out));
    let json = super::json(&dbm(dir, &db.url, &["current", "--format", "json"]));
    assert_eq!((json["database"]["url"].as_str(), json["database"]["source"].as_str()), (Some(&*db.url), Some("flag")));
    if backend != Backend::Sqlite {
        // A password is shown as ***, whatever the command then does with the URL.
        let with_password = db.url.replacen("@", ":s3cr3t-pw@", 1);
        let out = dbm(dir, &with_password, &["current"]);
        let shown = db.url.replacen("@", ":***@", 1);
        assert_eq!(first_line(&out), format!("    Database {shown} (from --database-url)"));
        assert!(!text(&out).contains("s3cr3t"), "{}", text(&out));
    }
}

/// A member crate `app` in a workspace whose root is the fixture's folder.
fn workspace() -> Fixture {
    let fixture = Fixture::new("ws");
    fixture.write("Cargo.toml", "[workspace]\nmembers = [\"app\"]\nresolver = \"2\"\n");
    fixture.write("app/Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    fixture.write("app/src/main.rs", "fn main() {}\n");
    for (file, sql) in FILES {
        fixture.write(&format!("app/migrations/{file}"), sql);
    }
    // `current` only reads and never creates a database: every one the tests name exists.
    for db in ["dev", "ws", "crate", "env", "flag"] {
        fixture.write(&format!("app/{db}.db"), "");
    }
    fixture
}

/// `current` in the member crate with extra arguments and environment; its first line.
fn target_of(fixture: &Fixture, args: &[&str], env: Option<&str>) -> String {
    let mut cmd = cli().current_dir(fixture.path().join("app")).arg("current").args(args);
    if let Some(url) = env {
        cmd = cmd.env("DATABASE_URL", url);
    }
    let out = cmd.output().expect("run");
    assert_code(&out, 0);
    first_line(&out)
}

#[test]
fn dotenv_precedence_flag_environment_dotenv_default() {
    let fixture = workspace();
    let root = fixture.path().canonicalize().expect("canonical");
    let app = root.join("app");
    let line = |file: &std::path::Path, source: &str| format!("    Database sqlite:{} ({source})", file.display());
    assert_eq!(target_of(&fixture, &[], None), line(&app.join("dev.db"), "the crate's default-database"));
    fixture.write(".env", "# the workspace's\nDATABASE_URL=sqlite:ws.db\n");
    let ws_env = format!("from $DATABASE_URL in {}", root.join(".env").display());
    assert_eq!(target_of(&fixture, &[], None), line(&app.join("ws.db"), &ws_env), "the workspace root's .env");
    fixture.write("app/.env", "OTHER=1\nDATABASE_URL=\"sqlite:crate.db\"\n");
    let crate_env = format!("from $DATABASE_URL in {}", app.join(".env").display());
    assert_eq!(target_of(&fixture, &[], None), line(&app.join("crate.db"), &crate_env), "the crate's .env first");
    let from_env = target_of(&fixture, &[], Some("sqlite:env.db"));
    assert_eq!(from_env, line(&app.join("env.db"), "from $DATABASE_URL"), "the environment beats .env");
    let from_flag = target_of(&fixture, &["--database-url", "sqlite:flag.db"], Some("sqlite:env.db"));
    assert_eq!(from_flag, line(&app.join("flag.db"), "from --database-url"), "the flag beats everything");
    let off = target_of(&fixture, &["--no-dotenv"], None);
    assert_eq!(off, line(&app.join("dev.db"), "the crate's default-database"), "--no-dotenv");
}

#[test]
fn a_malformed_dotenv_names_its_file_and_line_not_its_contents() {
    let fixture = workspace();
    fixture.write("app/.env", "A=1\n# fine\nthis is not-an-assignment s3cr3t\n");
    let out = cli().current_dir(fixture.path().join("app")).arg("current").output().expect("run");
    assert_code(&out, 2);
    let all = text(&out);
    assert!(all.contains("/app/.env` is malformed at line 3") && !all.contains("s3cr3t"), "{all}");
    assert!(all.contains("--no-dotenv"), "{all}");
    let out = cli().current_dir(fixture.path().join("app")).args(["current", "--no-dotenv"]).output().expect("run");
    assert_code(&out, 0);
}

#[test]
fn ci_refuses_the_default_database_and_the_hint_works() {
    let fixture = crate_with("ci", FILES);
    let dir = fixture.path();
    for (ci, empty_url) in [("true", false), ("1", false), ("yes", true)] {
        let mut cmd = cli().current_dir(dir).arg("run").env("CI", ci);
        if empty_url {
            cmd = cmd.env("DATABASE_URL", "");
        }
        let out = cmd.output().expect("run");
        assert_code(&out, 2);
        let all = text(&out);
        assert!(all.contains("hint: pass --database-url URL, or set $DATABASE_URL"), "{all}");
    }
    let out = cli().current_dir(dir).args(["status", "--require-url"]).output().expect("run");
    assert_eq!((code(&out), text(&out).contains("--require-url is given")), (2, true), "{}", text(&out));
    assert!(!dir.join("dev.db").exists(), "nothing touched the default database");
    // The hint, followed: either way works.
    let out = cli().current_dir(dir).args(["run", "--database-url", "sqlite:ci.db"]).env("CI", "true").output();
    assert_code(&out.expect("run"), 0);
    let out =
        cli().current_dir(dir).args(["status", "--exit-code"]).env("CI", "true").env("DATABASE_URL", "sqlite:ci.db");
    assert_code(&out.output().expect("run"), 0);
    // `CI=false` is not CI (`current` only reads: the default database must exist).
    fixture.write("dev.db", "");
    let out = cli().current_dir(dir).arg("current").env("CI", "false").output().expect("run");
    assert_code(&out, 0);
}
