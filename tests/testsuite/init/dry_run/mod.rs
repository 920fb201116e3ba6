use dbmigrate_tests::{assert_out, project_from};

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let root = project_from(&snapbox::current_dir!());
    let dir = root.path().expect("root");
    dbmigrate_tests::cli_at(dir).args(["init", "--dry-run"]).assert().success().stdout_eq(snapbox::file!["stdout.txt"]);
    assert!(!dir.join("build.rs").exists() && !dir.join("migrations").exists());
    // out/Cargo.toml is the unchanged input.
    assert_out(&snapbox::current_dir!(), &root);
}
