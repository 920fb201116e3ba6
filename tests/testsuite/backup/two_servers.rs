//! Two PostgreSQL servers (a second one started here, from the installed binaries, on another
//! port) each holding a database of the same name, as staging and production do: their backups
//! never share retention, `--latest` or a restore.

use super::{V1, backups, snapshot};
use crate::db::{assert_code, crate_with};
use dbmigrate_tests::pg_server::PgServer;
use dbmigrate_tests::{Backend, TestDb, dbm, text};

#[test]
fn two_servers_with_one_database_name_never_mix_backups() {
    let Some(second) = PgServer::start() else {
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
