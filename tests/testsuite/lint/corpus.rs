//! `lint --all` over the vaultwarden history (real files from a public project; skipped when
//! the corpus is absent), per dialect: no crash, and a summary of findings per rule, printed for
//! the notes (`--nocapture`).

use super::{crate_for, lint_json};
use std::collections::BTreeMap;

fn lint_corpus(folder: &str, dialect: &str) {
    let Some(corpus) = dbmigrate_tests::corpus_root() else { return };
    let dir = corpus.join("vaultwarden").join(folder);
    let f = crate_for("lint_vw", dialect, "", &[]);
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        f.write(&format!("migrations/{name}"), &std::fs::read_to_string(&path).expect("read"));
        files += 1;
    }
    let (code, doc) = lint_json(&f, &["--all"]);
    assert!(code == 0 || code == 1, "{doc:#}");
    let findings = doc["findings"].as_array().expect("findings");
    assert_eq!(doc["linted"].as_u64(), Some(files / 2), "every migration linted: {doc:#}");
    let mut summary: BTreeMap<String, usize> = BTreeMap::new();
    for finding in findings {
        let key = format!(
            "{} ({})",
            finding["code"].as_str().expect("code"),
            finding["severity"].as_str().expect("severity")
        );
        *summary.entry(key).or_default() += 1;
        assert!(finding["line"].is_u64() || finding["code"] == "no-down", "a SQL finding names its line: {finding}");
    }
    println!("vaultwarden/{folder} as {dialect}: {} migrations, {} findings: {summary:?}", files / 2, findings.len());
}

#[test]
fn vaultwarden_sqlite() {
    lint_corpus("sqlite", "sqlite");
}

#[test]
fn vaultwarden_postgresql() {
    lint_corpus("postgresql", "postgres");
}

#[test]
fn vaultwarden_mysql() {
    lint_corpus("mysql", "mysql");
}
