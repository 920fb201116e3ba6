use dbmigrate_tests::{assert_out, project_from};
use snapbox::str;

#[test]
fn case() {
    let root = project_from(&snapbox::current_dir!());
    dbmigrate_tests::cli_at(root.path().expect("root"))
        .arg("init")
        .assert()
        .success()
        .stdout_eq(str![""])
        .stderr_eq(snapbox::file!["stderr.txt"]);
    assert_out(&snapbox::current_dir!(), &root);
}
