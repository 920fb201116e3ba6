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
         fn main() {\n\
             let report = migrations::run(\"sqlite:app.db\").expect(\"migrate\");\n\
             assert_eq!(report.migrations.len(), migrations::MIGRATIONS.len());\n\
         }\n",
    );
    let build = fixture.build();
    assert!(build.status.success(), "cargo build failed:\n{}", text(&build));
    let run = fixture.cargo(&["run", "-q"]);
    assert!(run.status.success(), "{}", text(&run));
    // The app's safe runner and the CLI share the history: nothing is pending for the CLI.
    let status =
        fixture.cli().args(["status", "--exit-code", "--format", "json", "--database-url", "sqlite:app.db"]).output();
    let status = status.expect("run status");
    assert!(status.status.success(), "{}", text(&status));
    let rows: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(rows["migrations"][0]["state"], "applied", "{rows}");
}

#[test]
fn async_apps_get_run_async() {
    let fixture = Fixture::new("async_app");
    // init sees tokio and turns on dbmigrate-build's `runtime-async` (and the runtime's `tokio`).
    let manifest = fixture.read("Cargo.toml")
        + "\n[dependencies]\ntokio = { version = \"1\", default-features = false, features = [\"rt\"] }\n";
    fixture.write("Cargo.toml", &manifest);
    fixture.init();
    assert!(fixture.read("Cargo.toml").contains("features = [\"runtime\", \"runtime-async\"]"));
    fixture.write("migrations/V1__t.sql", "CREATE TABLE t (x INTEGER);\n");
    fixture.write(
        "src/main.rs",
        "include!(concat!(env!(\"OUT_DIR\"), \"/dbmigrate.rs\"));\n\
         fn main() {\n\
             let rt = tokio::runtime::Builder::new_current_thread().build().expect(\"runtime\");\n\
             let report = rt.block_on(migrations::run_async(\"sqlite:app.db\")).expect(\"migrate\");\n\
             println!(\"applied {}\", report.migrations.len());\n\
         }\n",
    );
    let run = fixture.cargo(&["run", "-q"]);
    assert!(run.status.success(), "{}", text(&run));
    assert_eq!(String::from_utf8_lossy(&run.stdout), "applied 1\n");
}

// On other targets the crate would lack dbmigrate-runtime, which the generated `run` names.
#[cfg(unix)]
#[test]
fn a_target_specific_runtime_dependency_still_gets_run() {
    // The old build guessed `run` from `[dependencies]` text and silently dropped it here; now
    // the `runtime` feature that init writes decides.
    let fixture = Fixture::new("cfg_app");
    fixture.init();
    let manifest = fixture.read("Cargo.toml");
    let line = manifest.lines().find(|l| l.starts_with("dbmigrate-runtime = ")).expect("init adds the runtime");
    let manifest = manifest.replace(&format!("{line}\n"), "") + "\n[target.'cfg(unix)'.dependencies]\n" + line + "\n";
    fixture.write("Cargo.toml", &manifest);
    fixture.write("migrations/V1__t.sql", "CREATE TABLE t (x INTEGER);\n");
    fixture.write(
        "src/main.rs",
        "include!(concat!(env!(\"OUT_DIR\"), \"/dbmigrate.rs\"));\n\
         fn main() {\n\
             let report = migrations::run(\"sqlite:app.db\").expect(\"migrate\");\n\
             println!(\"applied {}\", report.migrations.len());\n\
         }\n",
    );
    let run = fixture.cargo(&["run", "-q"]);
    assert!(run.status.success(), "{}\n{manifest}", text(&run));
    assert_eq!(String::from_utf8_lossy(&run.stdout), "applied 1\n");
}

#[test]
fn in_a_git_checkout_the_default_database_and_the_backups_are_ignored() {
    let fixture = Fixture::new("git_app");
    std::fs::create_dir(fixture.path().join(".git")).expect("mkdir .git");
    fixture.write(".gitignore", "/target\n");
    fixture.init();
    assert_eq!(fixture.read(".gitignore"), "/target\n/.dbmigrate/\n/dev.db*\n");
    fixture.init();
    assert_eq!(fixture.read(".gitignore"), "/target\n/.dbmigrate/\n/dev.db*\n", "a second init adds nothing");
}
