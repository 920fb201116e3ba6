use dbmigrate_tests::{assert_out, project_from};
use snapbox::str;

#[test]
fn second_init_changes_nothing() {
    let root = project_from(&snapbox::current_dir!());
    let dir = root.path().expect("root");
    dbmigrate_tests::cli_at(dir).arg("init").assert().success();
    let before = std::fs::read(dir.join("Cargo.toml")).expect("read");
    dbmigrate_tests::cli_at(dir).arg("init").assert().success().stderr_eq(str![[r#"
   Unchanged `app` is already set up for migrations

"#]]);
    assert_eq!(before, std::fs::read(dir.join("Cargo.toml")).expect("read"));
    assert_out(&snapbox::current_dir!(), &root);
}
