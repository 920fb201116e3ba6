use dbmigrate_tests::project_from;
use snapbox::str;

#[test]
fn unknown_package_is_a_usage_error_listing_members() {
    let root = project_from(&snapbox::current_dir!());
    let dir = root.path().expect("root");
    dbmigrate_tests::cli_at(dir).args(["init", "-p", "nope"]).assert().code(2).stderr_eq(str![[r#"
error: package `nope` is not a member of the workspace
hint: the members are: app

"#]]);
    assert!(!dir.join("app/build.rs").exists(), "nothing written");
}
