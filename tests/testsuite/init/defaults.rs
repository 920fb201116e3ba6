//! What `init` chooses for a first-time user: the default database of the engine asked for,
//! and files with the permissions `cargo new` gives.

use dbmigrate_tests::{Backend, Fixture, TestDb, text};

/// `init --db <engine>` in a crate named like a fresh database of that engine: with no URL
/// anywhere, `run` migrates the default database that init wrote.
fn default_database_is_a_local_one_named_after_the_crate(backend: Backend, db: &str, scheme: &str) {
    let scratch = tempfile::tempdir().expect("tempdir");
    let database = TestDb::new(backend, "init_default", scratch.path());
    let fixture = Fixture::new(&database.name);
    let out = fixture.cli().args(["init", "--db", db, "--db", "sqlite"]).output().expect("run init");
    assert!(out.status.success(), "{}", text(&out));
    let manifest = fixture.read("Cargo.toml");
    let url = format!("{scheme}://{}@localhost/{}", if db == "postgres" { "postgres" } else { "root" }, database.name);
    assert!(manifest.contains(&format!("default-database = \"{url}\"")), "{manifest}");
    fixture.write("migrations/V1__t.sql", "CREATE TABLE t (x INTEGER);\n");
    let run = fixture.cli().arg("run").output().expect("run");
    assert!(run.status.success(), "{}", text(&run));
    assert_eq!(database.tables(), ["t"]);
}

#[test]
fn postgres_default_database() {
    default_database_is_a_local_one_named_after_the_crate(Backend::Postgres, "postgres", "postgres");
}

#[test]
fn mysql_default_database() {
    default_database_is_a_local_one_named_after_the_crate(Backend::Mariadb, "mysql", "mysql");
}

#[test]
fn the_first_db_decides_and_sqlite_stays_the_default() {
    let fixture = Fixture::new("my-app");
    let out = fixture.cli().args(["init", "--db", "sqlite", "--db", "postgres"]).output().expect("run init");
    assert!(out.status.success(), "{}", text(&out));
    assert!(fixture.read("Cargo.toml").contains("default-database = \"sqlite:dev.db\""));
    let fixture = Fixture::new("my-app");
    let out = fixture.cli().args(["init", "--db", "mysql"]).output().expect("run init");
    assert!(out.status.success(), "{}", text(&out));
    // A hyphen needs quoting in a database name; the crate's name for code has none.
    assert!(fixture.read("Cargo.toml").contains("default-database = \"mysql://root@localhost/my_app\""));
}

#[cfg(unix)]
#[test]
fn written_files_get_the_usual_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |fixture: &Fixture, rel: &str| {
        std::fs::metadata(fixture.path().join(rel)).expect("metadata").permissions().mode() & 0o777
    };
    let fixture = Fixture::new("perm_app");
    // An existing file keeps its own mode; new ones get 0666 less the umask, as `cargo new`.
    std::fs::set_permissions(fixture.path().join("Cargo.toml"), std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let umask = {
        let probe = fixture.path().join("probe");
        std::fs::write(&probe, "").expect("probe");
        0o666 & !mode(&fixture, "probe")
    };
    let out = fixture.cli().arg("init").output().expect("run init");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(mode(&fixture, "build.rs"), 0o666 & !umask);
    assert_eq!(mode(&fixture, "migrations/.gitattributes"), 0o666 & !umask);
    assert_eq!(mode(&fixture, "Cargo.toml"), 0o640);
    assert_ne!(mode(&fixture, "build.rs"), 0o600, "the umask under test hides the old bug");
}
