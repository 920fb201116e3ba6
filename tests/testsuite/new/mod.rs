//! `cargo dbmigrate new <message…>`.

use dbmigrate_tests::{Fixture, cli_at};
use snapbox::str;

/// A crate with an empty migrations folder (no build needed for these tests).
fn crate_with_migrations() -> Fixture {
    let fixture = Fixture::new("app");
    std::fs::create_dir(fixture.path().join("migrations")).expect("mkdir");
    fixture
}

fn versions(fixture: &Fixture) -> Vec<i64> {
    fixture
        .list("migrations")
        .iter()
        .filter(|f| !f.ends_with(".down.sql"))
        .map(|f| f[1..f.find("__").expect("__")].parse().expect("version"))
        .collect()
}

#[test]
fn writes_up_and_down_with_headers_and_prints_paths() {
    let fixture = crate_with_migrations();
    cli_at(fixture.path())
        .args(["new", "Create", "Users table"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
migrations/V[..]__create_users_table.sql
migrations/V[..]__create_users_table.down.sql

"#]])
        .stderr_eq(str![[r#"
     Created migrations/V[..]__create_users_table.sql
     Created migrations/V[..]__create_users_table.down.sql

"#]]);
    let files = fixture.list("migrations");
    assert_eq!(files.len(), 2, "{files:?}");
    let down = fixture.read(&format!("migrations/{}", files[0]));
    let up = fixture.read(&format!("migrations/{}", files[1]));
    assert!(up.starts_with("-- Create Users table\n-- Created 20"), "{up}");
    assert!(down.contains(&format!("undo everything {}", files[1])), "{down}");
    // The version is a UTC timestamp YYYYMMDDHHMMSS.
    let v = versions(&fixture)[0].to_string();
    assert_eq!(v.len(), 14, "{v}");
}

#[test]
fn no_down_writes_only_the_up_file() {
    let fixture = crate_with_migrations();
    cli_at(fixture.path()).args(["new", "--no-down", "seed"]).assert().success();
    let files = fixture.list("migrations");
    assert!(files.len() == 1 && files[0].ends_with("__seed.sql"), "{files:?}");
}

#[test]
fn same_second_collisions_get_increasing_versions() {
    let fixture = crate_with_migrations();
    for _ in 0..3 {
        cli_at(fixture.path()).args(["new", "same"]).assert().success();
    }
    let v = versions(&fixture);
    assert!(v.len() == 3 && v[0] < v[1] && v[1] < v[2], "{v:?}");
}

#[test]
fn clock_skew_uses_newest_plus_one() {
    let fixture = crate_with_migrations();
    fixture.write("migrations/V29990101000000__from_the_future.sql", "select 1;\n");
    cli_at(fixture.path()).args(["new", "after"]).assert().success().stdout_eq(str![[r#"
migrations/V29990101000001__after.sql
migrations/V29990101000001__after.down.sql

"#]]);
}

#[test]
fn bad_messages_are_usage_errors_and_write_nothing() {
    let fixture = crate_with_migrations();
    let long = "x".repeat(101);
    for bad in ["!!!", "../escape", "a/b", "a\\b", long.as_str()] {
        let out = cli_at(fixture.path()).args(["new", bad]).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(err.starts_with("error: invalid migration message") && err.contains("hint: "), "{bad}: {err}");
    }
    assert!(fixture.list("migrations").is_empty());
}

#[test]
fn bad_message_snapshot() {
    let fixture = crate_with_migrations();
    cli_at(fixture.path()).args(["new", "../../etc/passwd"]).assert().code(2).stderr_eq(str![[r#"
error: invalid migration message `../../etc/passwd`: it must not contain `/`, `/`, `..` or NUL
hint: describe the change in a few words, e.g. `cargo dbmigrate new add users table`

"#]]);
}

#[test]
fn missing_folder_says_to_run_init() {
    let fixture = Fixture::new("app");
    cli_at(fixture.path()).args(["new", "x"]).assert().code(101).stderr_eq(str![[r#"
error: cannot read the migrations folder `[ROOT]/migrations`: No such file or directory (os error 2)
hint: create it with `cargo dbmigrate init`

"#]]);
}

#[test]
fn found_from_a_subfolder_and_with_manifest_path() {
    let fixture = crate_with_migrations();
    std::fs::create_dir(fixture.path().join("src/deep")).expect("mkdir");
    cli_at(&fixture.path().join("src/deep")).args(["new", "-q", "from_sub"]).assert().success().stderr_eq(str![""]);
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let manifest = fixture.path().join("Cargo.toml");
    cli_at(elsewhere.path()).args(["new", "via manifest", "--manifest-path"]).arg(&manifest).assert().success();
    assert_eq!(fixture.list("migrations").len(), 4);
}

/// The files `new` writes are a start, not a migration: left unedited, `check` (like the build)
/// refuses the up file, which would otherwise be recorded as applied and do nothing.
#[test]
fn an_unedited_new_migration_is_refused_until_written() {
    let fixture = crate_with_migrations();
    let out = cli_at(fixture.path()).args(["new", "add users"]).output().expect("run new");
    assert!(out.status.success());
    let up = String::from_utf8_lossy(&out.stdout).lines().next().expect("the up path").to_owned();
    let check = cli_at(fixture.path()).arg("check").output().expect("run check");
    assert_eq!(check.status.code(), Some(1), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(String::from_utf8_lossy(&check.stderr).contains("error[empty-up]"));
    fixture.write(&up, "CREATE TABLE users (id INTEGER PRIMARY KEY);\n");
    let check = cli_at(fixture.path()).arg("check").output().expect("run check");
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stderr));
}

#[test]
fn past_a_future_newest_the_version_stays_a_valid_time() {
    // One second after 23:59:59 is the next day's midnight, not second 60.
    let fixture = crate_with_migrations();
    fixture.write("migrations/V29991231235959__from_the_future.sql", "select 1;\n");
    cli_at(fixture.path())
        .args(["new", "after"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
migrations/V30000101000000__after.sql
migrations/V30000101000000__after.down.sql

"#]])
        .stderr_eq(str![[r#"
note: the newest migration, V29991231235959, is not older than now: V30000101000000 is one second after it
     Created migrations/V30000101000000__after.sql
     Created migrations/V30000101000000__after.down.sql

"#]]);
}

#[test]
fn a_numbered_folder_gets_the_next_number() {
    let fixture = crate_with_migrations();
    fixture.write("migrations/V4__a.sql", "select 1;\n");
    fixture.write("migrations/V5__b.sql", "select 1;\n");
    cli_at(fixture.path())
        .args(["new", "--no-down", "c"])
        .assert()
        .success()
        .stdout_eq(str![[r#"
migrations/V6__c.sql

"#]])
        .stderr_eq(str![[r#"
note: the migrations are numbered: V6 follows V5
     Created migrations/V6__c.sql

"#]]);
}
