use dbmigrate_tests::{assert_out, project_from};

#[test]
fn call_is_inserted_into_plain_main() {
    let root = project_from(&snapbox::current_dir!());
    dbmigrate_tests::cli_at(root.path().expect("root"))
        .arg("init")
        .assert()
        .success()
        .stderr_eq(snapbox::file!["stderr.txt"]);
    assert_out(&snapbox::current_dir!(), &root);
}
