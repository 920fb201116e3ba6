//! A database migrated by plain refinery is adopted as is, and a file whose line ends were
//! converted to CRLF (or from CRLF) after it was applied counts as unchanged.

use super::{assert_code, crate_with, json, on_all_backends};
use dbmigrate_runtime::MigrationScript;
use dbmigrate_tests::{Backend, TestDb, dbm};

on_all_backends!(adopts_refinery_history, crlf_conversion_is_unchanged, applied_crlf_now_lf_is_unchanged);

const V1: &str = "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\n";
const V2: &str = "CREATE TABLE b (id INT);\n";
const V3: &str = "INSERT INTO a VALUES (3);\n";

/// What refinery 0.10's runner writes (`int8-versions`): its table, and one row per migration
/// with the client's UTC time in RFC 3339 and its checksum as a decimal u64.
fn refinery_history(db: &TestDb, rows: &[(i64, &str, &str)]) {
    db.query(
        "CREATE TABLE IF NOT EXISTS refinery_schema_history(version BIGINT PRIMARY KEY, name VARCHAR(255), \
         applied_on VARCHAR(255), checksum VARCHAR(255))",
    );
    for (version, name, sql) in rows {
        let checksum = MigrationScript::new(*version, *name, *sql, None::<&str>).checksum().expect("checksum");
        db.query(&format!(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) \
             VALUES ({version}, '{name}', '2025-06-01T10:00:00.123456789Z', '{checksum}')"
        ));
    }
}

fn adopts_refinery_history(backend: Backend) {
    let fixture = crate_with("adopt", &[("V1__a.sql", V1), ("V2__b.sql", V2)]);
    let dir = fixture.path();
    let db = TestDb::new(backend, "adopt", dir);
    let url = db.url.as_str();
    // The schema as refinery left it.
    db.query("CREATE TABLE a (id INT)");
    db.query("INSERT INTO a VALUES (1)");
    db.query("CREATE TABLE b (id INT)");
    refinery_history(&db, &[(1, "a", V1), (2, "b", V2)]);

    assert_code(&dbm(dir, url, &["status", "--exit-code"]), 0);
    let status = json(&dbm(dir, url, &["status", "--format", "json"]))["migrations"].clone();
    assert_eq!(status[0]["state"], "applied", "{status}");
    assert_eq!(status[1]["state"], "applied", "{status}");
    assert_eq!(status[0]["applied_on"], "2025-06-01T10:00:00.123456789Z", "{status}");

    let out = dbm(dir, url, &["run"]);
    assert_code(&out, 0);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Applying"), "nothing to do");
    assert_eq!(db.query("SELECT count(*) FROM a"), "1");
    assert_eq!(db.versions(), vec![1, 2]);

    // A new migration lands on top, and its row is one refinery reads back.
    fixture.write("migrations/V3__fill.sql", V3);
    assert_code(&dbm(dir, url, &["run"]), 0);
    assert_eq!(db.versions(), vec![1, 2, 3]);
    assert_eq!(db.query("SELECT count(*) FROM a"), "2");
    let expected = MigrationScript::new(3, "fill", V3, None::<&str>).checksum().expect("checksum");
    assert_eq!(db.query("SELECT checksum FROM refinery_schema_history WHERE version = 3"), expected.to_string());
    let applied_on = db.query("SELECT applied_on FROM refinery_schema_history WHERE version = 3");
    assert!(applied_on.ends_with('Z') && applied_on.contains('T'), "RFC 3339 UTC: {applied_on}");
}

fn crlf_conversion_is_unchanged(backend: Backend) {
    let fixture = crate_with("crlf", &[("V1__a.sql", V1), ("V1__a.down.sql", "DROP TABLE a;\n"), ("V2__b.sql", V2)]);
    let dir = fixture.path();
    let db = TestDb::new(backend, "crlf", dir);
    let url = db.url.as_str();
    assert_code(&dbm(dir, url, &["run"]), 0);

    // A checkout with core.autocrlf converts every file.
    fixture.write("migrations/V1__a.sql", &V1.replace('\n', "\r\n"));
    fixture.write("migrations/V1__a.down.sql", "DROP TABLE a;\r\n");
    fixture.write("migrations/V2__b.sql", &V2.replace('\n', "\r\n"));
    assert_code(&dbm(dir, url, &["status", "--exit-code"]), 0);
    let status = json(&dbm(dir, url, &["status", "--format", "json"]))["migrations"].clone();
    assert_eq!(status[0]["state"], "applied", "{status}");
    let out = dbm(dir, url, &["run"]);
    assert_code(&out, 0);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Applying"), "nothing to do");
    assert_eq!(db.query("SELECT count(*) FROM a"), "1");
}

/// refinery on a Windows checkout recorded the checksum of the CRLF text; the file is LF now.
fn applied_crlf_now_lf_is_unchanged(backend: Backend) {
    let fixture = crate_with("crlf2", &[("V1__a.sql", V1), ("V2__b.sql", V2)]);
    let dir = fixture.path();
    let db = TestDb::new(backend, "crlf2", dir);
    let url = db.url.as_str();
    db.query("CREATE TABLE a (id INT)");
    db.query("INSERT INTO a VALUES (1)");
    refinery_history(&db, &[(1, "a", &V1.replace('\n', "\r\n"))]);

    let status = json(&dbm(dir, url, &["status", "--format", "json"]))["migrations"].clone();
    assert_eq!(status[0]["state"], "applied", "{status}");
    assert_eq!(status[1]["state"], "pending", "{status}");
    assert_code(&dbm(dir, url, &["run"]), 0);
    assert_eq!(db.versions(), vec![1, 2]);
    assert_eq!(db.query("SELECT count(*) FROM a"), "1");
}
