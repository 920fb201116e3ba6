//! `init` then `new` on a throwaway crate, then a real `cargo build` of it.

use dbmigrate_tests::{Fixture, text};

#[test]
fn init_then_new_produce_a_crate_that_builds() {
    let fixture = Fixture::new("fresh_app");
    fixture.init();
    let out = fixture.cli().args(["new", "create users"]).output().expect("run new");
    assert!(out.status.success(), "{}", text(&out));
    let up = String::from_utf8_lossy(&out.stdout).lines().next().expect("up path").to_owned();
    let mut sql = fixture.read(&up);
    sql.push_str("CREATE TABLE users (id INTEGER PRIMARY KEY);\n");
    fixture.write(&up, &sql);
    // The crate uses the embedded migrations the way init tells users to.
    fixture.write(
        "src/main.rs",
        "include!(concat!(env!(\"OUT_DIR\"), \"/dbmigrate.rs\"));\n\
         fn main() { assert_eq!(migrations::MIGRATIONS.len(), 1); let _ = migrations::runner(); }\n",
    );
    let build = fixture.build();
    assert!(build.status.success(), "cargo build failed:\n{}", text(&build));
    let run = fixture.cargo(&["run", "-q"]);
    assert!(run.status.success(), "{}", text(&run));
}
