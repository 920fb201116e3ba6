//! PostgreSQL's "cannot run inside a transaction block" comes with the no-transaction marker
//! as the hint, and following the hint makes the run succeed.

use super::{assert_code, crate_with};
use dbmigrate_tests::{Backend, TestDb, dbm, text};

#[test]
fn pg_concurrent_index_gets_the_marker_hint_and_the_hint_works() {
    let body = "CREATE INDEX CONCURRENTLY t_id ON t (id);\n";
    let fixture = crate_with("notx", &[("V1__t.sql", "CREATE TABLE t (id INT);\n"), ("V2__index.sql", body)]);
    let dir = fixture.path();
    let db = TestDb::new(Backend::Postgres, "notx", dir);
    let out = dbm(dir, &db.url, &["run", "--no-backup"]);
    assert_code(&out, 101);
    let all = text(&out);
    assert!(all.contains("cannot run inside a transaction block"), "{all}");
    assert!(
        all.contains(
            "hint: put `-- dbmigrate:no-transaction` on the first line of V2__index.sql, on its own, to run it \
             outside a transaction"
        ),
        "{all}"
    );
    assert_eq!(db.versions(), vec![1]);
    // The hint, followed.
    fixture.write("migrations/V2__index.sql", &format!("-- dbmigrate:no-transaction\n{body}"));
    let out = dbm(dir, &db.url, &["run", "--no-backup"]);
    assert_code(&out, 0);
    assert_eq!(db.versions(), vec![1, 2]);
    assert_eq!(db.query("SELECT count(*) FROM pg_indexes WHERE indexname = 't_id'"), "1");
}
