use dbmigrate_tests::{assert_out, project_from};

#[test]
fn dash_p_selects_one_member() {
    let root = project_from(&snapbox::current_dir!());
    let dir = root.path().expect("root");
    dbmigrate_tests::cli_at(dir)
        .args(["init", "-p", "app", "--db", "postgres", "--db", "sqlite"])
        .assert()
        .success()
        .stderr_eq(snapbox::file!["stderr.txt"]);
    // `other` is untouched: no build.rs, no migrations folder, same manifest.
    assert!(!dir.join("other/build.rs").exists() && !dir.join("other/migrations").exists());
    assert_out(&snapbox::current_dir!(), &root);
}

#[test]
fn virtual_manifest_without_dash_p_asks_for_a_package() {
    let root = project_from(&snapbox::current_dir!());
    dbmigrate_tests::cli_at(root.path().expect("root")).arg("init").assert().code(2).stderr_eq(snapbox::str![[r#"
error: `[ROOT]/Cargo.toml` is a virtual workspace manifest; select a crate to work on
hint: pass -p with one of: app, other

"#]]);
}
