use dbmigrate_tests::{assert_out, project_from};

#[test]
fn unusual_build_rs_is_left_alone_with_the_line_to_add() {
    let root = project_from(&snapbox::current_dir!());
    dbmigrate_tests::cli_at(root.path().expect("root"))
        .arg("init")
        .assert()
        .code(1)
        .stderr_eq(snapbox::file!["stderr.txt"]);
    // build.rs is byte-for-byte what it was; the other edits were still made.
    assert_out(&snapbox::current_dir!(), &root);
}
