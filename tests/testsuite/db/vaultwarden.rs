//! The vaultwarden migration history (real files from a public project, one folder per dialect,
//! in ../shared/corpus beside the checkout, or $DBMIGRATE_CORPUS) through the CLI: every up applies, a second `run` has nothing to do,
//! `status` marks the empty downs irreversible, `down --to 0` refuses before changing anything
//! and names an irreversible migration, and `run` afterwards still has nothing to do.
//!
//! The files are AGPL-3.0 test data: copied into the fixture at test time, never committed.

use super::{assert_code, json};
use dbmigrate_tests::{Backend, Fixture, TestDb, dbm, text};
use std::path::Path;

#[test]
fn sqlite_vaultwarden() {
    vaultwarden(Backend::Sqlite, "sqlite");
}

#[test]
fn pg_vaultwarden() {
    vaultwarden(Backend::Postgres, "postgresql");
}

#[test]
fn maria_vaultwarden() {
    vaultwarden(Backend::Mariadb, "mysql");
}

/// Whether a down file is empty or holds only whitespace and `--` comments.
fn blank(sql: &str) -> bool {
    sql.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with("--")
    })
}

/// `(version, label, irreversible)` of every migration of the dialect, ascending.
fn copy_corpus(corpus: &Path, dialect: &str, fixture: &Fixture) -> Vec<(i64, String, bool)> {
    let dir = corpus.join("vaultwarden").join(dialect);
    let mut migrations = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        let file = path.file_name().expect("name").to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("read");
        fixture.write(&format!("migrations/{file}"), &text);
        if let Some(stem) = file.strip_suffix(".sql").filter(|s| !s.ends_with(".down")) {
            let version: i64 = stem[1..].split("__").next().expect("version").parse().expect("digits");
            let down = std::fs::read_to_string(Path::new(&dir).join(format!("{stem}.down.sql"))).ok();
            let irreversible = down.as_deref().is_none_or(blank);
            migrations.push((version, stem.to_string(), irreversible));
        }
    }
    migrations.sort();
    migrations
}

fn vaultwarden(backend: Backend, dialect: &str) {
    let Some(corpus) = dbmigrate_tests::corpus_root() else { return };
    let fixture = Fixture::new("vw");
    if backend == Backend::Mariadb {
        // vaultwarden's own MySQL runner does this on its connection.
        fixture.write(
            "Cargo.toml",
            "[package]\nname = \"vw\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [package.metadata.dbmigrate]\nsetup-sql = \"SET FOREIGN_KEY_CHECKS=0\"\n\n[workspace]\n",
        );
    }
    let migrations = copy_corpus(&corpus, dialect, &fixture);
    // The history drops and narrows on purpose (the lint's `destructive` errors); what this test
    // is about is applying it.
    // It is written for one dialect: the lint reads it as such.
    let settings = "[package.metadata.dbmigrate]\n";
    let mut manifest = fixture.read("Cargo.toml");
    if !manifest.contains(settings) {
        manifest.push_str(&format!("\n{settings}"));
    }
    let manifest = manifest.replacen(settings, &format!("{settings}dialects = [\"{dialect}\"]\n"), 1);
    fixture.write("Cargo.toml", &format!("{manifest}\n[package.metadata.dbmigrate.lint]\ndestructive = \"warning\"\n"));
    assert!(migrations.len() > 40, "{} migrations", migrations.len());
    let dir = fixture.path();
    let db = TestDb::new(backend, "vw", dir);
    let url = db.url.as_str();
    let all: Vec<i64> = migrations.iter().map(|m| m.0).collect();

    // Every up applies.
    let out = dbm(dir, url, &["run"]);
    assert_code(&out, 0);
    assert_eq!(db.versions(), all);
    let tables = db.tables();
    assert!(tables.iter().any(|t| t == "users"), "{tables:?}");

    // A second run has nothing to do.
    let out = dbm(dir, url, &["run"]);
    assert_code(&out, 0);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Applying"), "{}", text(&out));
    assert_code(&dbm(dir, url, &["status", "--exit-code"]), 0);

    // status marks exactly the empty-down ones irreversible.
    let status = json(&dbm(dir, url, &["status", "--format", "json"]))["migrations"].clone();
    let rows = status.as_array().expect("array");
    assert_eq!(rows.len(), migrations.len());
    for (row, (version, label, irreversible)) in rows.iter().zip(&migrations) {
        assert_eq!(row["version"].as_i64(), Some(*version));
        assert_eq!(row["state"], "applied", "{label}: {row}");
        let down = row["down"].as_str().expect("down");
        assert_eq!(down.starts_with("irreversible"), *irreversible, "{label}: {row}");
    }

    // down to zero refuses before changing anything, naming an irreversible migration (the
    // newest one, the first that stops it).
    let history_before =
        db.query("SELECT version, name, applied_on, checksum FROM refinery_schema_history ORDER BY version");
    let out = dbm(dir, url, &["down", "--to", "0"]);
    assert_ne!(out.status.code(), Some(0), "down --to 0 must refuse:\n{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let newest_irreversible = &migrations.iter().rev().find(|m| m.2).expect("an irreversible migration").1;
    assert!(stderr.contains(newest_irreversible.as_str()), "names {newest_irreversible}:\n{stderr}");
    assert!(!stderr.contains("Reverting"), "{stderr}");
    let history_after =
        db.query("SELECT version, name, applied_on, checksum FROM refinery_schema_history ORDER BY version");
    assert_eq!(history_before, history_after, "history unchanged");
    assert_eq!(db.tables(), tables, "schema unchanged");

    // And run still has nothing to do.
    let out = dbm(dir, url, &["run"]);
    assert_code(&out, 0);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Applying"), "{}", text(&out));
    assert_eq!(db.versions(), all);
}
