//! The lint (issue 14) through the real CLI and real `cargo build`s: each rule's positive and
//! negative case per dialect, suppression, levels, scope, the build's errors and warnings
//! agreeing with `check` and `lint`, and the vaultwarden corpus.

mod build;
mod corpus;
mod rules;

use dbmigrate_tests::{Fixture, text};
use serde_json::Value;
use std::process::Output;

/// A crate for `dialect` (`[package.metadata.dbmigrate] dialects`) holding `files` in its
/// migrations folder, with `extra` appended to its manifest.
fn crate_for(name: &str, dialect: &str, extra: &str, files: &[(&str, &str)]) -> Fixture {
    let f = Fixture::new(name);
    let manifest = f.read("Cargo.toml");
    f.write("Cargo.toml", &format!("{manifest}\n[package.metadata.dbmigrate]\ndialects = [\"{dialect}\"]\n{extra}"));
    for (file, sql) in files {
        f.write(&format!("migrations/{file}"), sql);
    }
    f
}

/// `cargo dbmigrate lint <args> --format json`: (exit code, document).
fn lint_json(f: &Fixture, args: &[&str]) -> (i32, Value) {
    let out: Output = f.cli().arg("lint").args(args).args(["--format", "json"]).output().expect("run lint");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("json: {e}\n{}", text(&out)));
    (out.status.code().unwrap_or(-1), doc)
}

/// The findings of a document as `(code, file name, line)`.
fn found(doc: &Value) -> Vec<(String, String, u64)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let file = f["file"].as_str().unwrap_or_default();
            let name = file.rsplit('/').next().unwrap_or_default().to_owned();
            (f["code"].as_str().expect("code").to_owned(), name, f["line"].as_u64().unwrap_or(0))
        })
        .collect()
}
