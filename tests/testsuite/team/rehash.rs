//! A released migration edited, then rehashed: the build and every database agree afterwards.

use super::{databases, ok, states};
use dbmigrate_tests::{Fixture, text};

const V1: &str = "V20260101000000__create_users.sql";
const V2: &str = "V20260102000000__create_posts.sql";

#[test]
fn released_edit_then_rehash_deploys_to_every_database() {
    let f = Fixture::new("team_rehash");
    f.init();
    f.write(&format!("migrations/{V1}"), "-- users\nCREATE TABLE users (id INT PRIMARY KEY);\n");
    f.write(&format!("migrations/{V2}"), "CREATE TABLE posts (id INT PRIMARY KEY);\n");
    let dbs = databases("rehash", &f);
    for db in &dbs {
        ok(&f, db, &["run"], 0);
    }
    super::assert_code(&f.cli().args(["release"]).output().expect("release"), 0);

    // The edit: only a comment, as a rehash is meant for.
    f.write(&format!("migrations/{V1}"), "-- users, keyed by id\nCREATE TABLE users (id INT PRIMARY KEY);\n");
    let build = f.build();
    assert!(!build.status.success(), "the build refuses the edit: {}", text(&build));
    assert!(text(&build).contains("released-edited") || text(&build).contains("released"), "{}", text(&build));
    let rehash = ["release", "--rehash", "20260101000000", "--reason", "clarify a comment"];
    super::assert_code(&f.cli().args(rehash).output().expect("rehash"), 0);
    let build = f.build();
    assert!(build.status.success(), "the build passes after the rehash: {}", text(&build));

    for db in &dbs {
        let before = states(&f, db);
        assert_eq!(before[0], (20260101000000, "rehashed".to_owned()), "{:?}: {before:?}", db.backend);
        let status = ok(&f, db, &["status"], 0);
        assert!(status.contains("`cargo dbmigrate run` updates its history row"), "{status}");

        let run = ok(&f, db, &["run"], 0);
        assert!(
            run.contains("Rehashed V20260101000000__create_users in the history: clarify a comment"),
            "{:?}: {run}",
            db.backend
        );
        assert!(!run.contains("Applying"), "nothing re-applied: {run}");
        assert!(states(&f, db).iter().all(|(_, s)| s == "applied"), "{:?}", states(&f, db));
        let audit = db.query("SELECT action, reason FROM dbmigrate_audit");
        assert_eq!(audit.replace('\t', " "), "rehash clarify a comment", "{:?}", db.backend);

        let again = ok(&f, db, &["run"], 0);
        assert!(again.contains("nothing to do") && !again.contains("Rehashed"), "second run: {again}");
        ok(&f, db, &["status", "--exit-code"], 0);
    }
}
