//! MySQL/MariaDB `restore` of a damaged backup: corrupt bytes, truncated at a statement boundary,
//! truncated mid-statement with the trailer put back. Each fails with a clear error that quotes
//! none of the backup's rows, and leaves the database exactly as it was; a good backup still
//! round-trips, views and triggers included.

use super::{backups, rehash_manifest, snapshot};
use crate::db::{assert_code, crate_with};
use dbmigrate_tests::{Backend, Fixture, TestDb, dbm, text};
use std::path::PathBuf;

/// A value of the backup's rows that no message may ever show.
const CANARY: &str = "zq-canary-4711";

/// Data in several tables, a foreign key, a view and a trigger.
const V1: (&str, &str) = (
    "V1__shop.sql",
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(80) NOT NULL);\n\
     CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER NOT NULL, note VARCHAR(80) NOT NULL, \
     total INTEGER NOT NULL, FOREIGN KEY (customer) REFERENCES customers (id));\n\
     INSERT INTO customers VALUES (1, 'zq-canary-4711@example.com'), (2, 'b@example.com');\n\
     INSERT INTO orders VALUES (1, 1, 'zq-canary-4711 first order', 10), (2, 2, 'second', 20), (3, 1, 'third', 30);\n\
     CREATE VIEW order_totals AS SELECT customer, SUM(total) AS total FROM orders GROUP BY customer;\n\
     CREATE TRIGGER orders_note BEFORE INSERT ON orders FOR EACH ROW SET NEW.note = UPPER(NEW.note);\n",
);

/// Changes rows, the view and the trigger.
const V2: (&str, &str) = (
    "V2__change.sql",
    "INSERT INTO orders VALUES (4, 2, 'fourth', 40);\n\
     UPDATE customers SET email = 'changed' WHERE id = 2;\n\
     DROP VIEW order_totals;\n\
     CREATE VIEW order_totals AS SELECT customer, COUNT(*) AS total FROM orders GROUP BY customer;\n\
     DROP TRIGGER orders_note;\n\
     CREATE TRIGGER orders_total BEFORE INSERT ON orders FOR EACH ROW SET NEW.total = NEW.total * 2;\n",
);

/// A table the backup at version 1 does not have.
const V3: (&str, &str) =
    ("V3__more.sql", "CREATE TABLE more (id INTEGER PRIMARY KEY);\nINSERT INTO more VALUES (1);\n");

/// Rows of every table, history rows, `SHOW CREATE TABLE`s, views, triggers.
type State = (Vec<(String, usize, u64)>, String, Vec<String>, String, String);

/// Everything a restore must put back or leave alone: every table's rows, the history's rows,
/// the tables' definitions, the views and the triggers.
fn state(db: &TestDb) -> State {
    let history = db.query("SELECT * FROM refinery_schema_history ORDER BY version");
    let tables = db.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() \
         AND table_type = 'BASE TABLE' ORDER BY 1",
    );
    let created = tables.lines().map(|t| db.query(&format!("SHOW CREATE TABLE `{t}`"))).collect();
    let views = db.query(
        "SELECT table_name, view_definition FROM information_schema.views WHERE table_schema = DATABASE() ORDER BY 1",
    );
    let triggers = db.query(
        "SELECT trigger_name, event_object_table, action_timing, event_manipulation, action_statement \
         FROM information_schema.triggers WHERE trigger_schema = DATABASE() ORDER BY 1",
    );
    (snapshot(db), history, created, views, triggers)
}

/// A database at version 3, with its state at version 1 and the backup taken then (by the
/// `run` that applied V2).
fn at_v3(test: &str) -> (Fixture, TestDb, PathBuf, State) {
    let fixture = crate_with(test, &[V1]);
    let db = TestDb::new(Backend::Mariadb, test, fixture.path());
    assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    let at_v1 = state(&db);
    for migration in [V2, V3] {
        fixture.write(&format!("migrations/{}", migration.0), migration.1);
        assert_code(&dbm(fixture.path(), &db.url, &["run"]), 0);
    }
    assert_eq!(db.versions(), vec![1, 2, 3]);
    let listed = backups(fixture.path());
    let backup = listed.iter().find(|b| b["version"] == 1).unwrap_or_else(|| panic!("a backup at 1: {listed:?}"));
    let path = PathBuf::from(backup["path"].as_str().expect("path"));
    (fixture, db, path, at_v1)
}

/// Where `needle` starts in the backup (it must be there).
fn find(bytes: &[u8], needle: &str) -> usize {
    bytes.windows(needle.len()).position(|w| w == needle.as_bytes()).unwrap_or_else(|| panic!("`{needle}` in the dump"))
}

/// Damages the backup at version 1, restores it, and checks the refusal: exit 101, `expected`
/// in the message, no row of the backup in the output, the database and its history as before,
/// no scratch database left.
fn refused(test: &str, damage: impl Fn(&[u8]) -> Vec<u8>, expected: &str) {
    let (fixture, db, backup, _) = at_v3(test);
    let before = state(&db);
    let bytes = std::fs::read(&backup).expect("read the backup");
    std::fs::write(&backup, damage(&bytes)).expect("damage the backup");
    rehash_manifest(&backup);

    let id = backup.file_name().and_then(|n| n.to_str()).expect("id");
    let out = dbm(fixture.path(), &db.url, &["restore", id, "--yes"]);
    assert_code(&out, 101);
    let all = text(&out);
    assert!(all.contains(expected), "expected `{expected}`:\n{all}");
    assert!(all.contains(&format!("the database `{}` was not changed", db.name)), "{all}");
    assert!(all.contains("hint: the backup is damaged or incomplete: restore another one"), "{all}");
    assert!(!all.contains(CANARY), "the output shows a row of the backup:\n{all}");
    assert_eq!(state(&db), before, "every table, row, history row, view and trigger as before");
    assert_eq!(db.versions(), vec![1, 2, 3]);
    assert_eq!(db.query(&format!("SHOW DATABASES LIKE '{}\\_dbm\\_%'", db.name)), "", "scratch database dropped");
}

/// Flipped bytes inside the `orders` rows; the file keeps its length and its trailer.
#[test]
fn corrupt_bytes_change_nothing() {
    let damage = |bytes: &[u8]| {
        let mut bytes = bytes.to_vec();
        let at = find(&bytes, "INSERT INTO `orders` VALUES") + "INSERT INTO `orders` VALUES".len();
        bytes[at..at + 3].copy_from_slice(b"\xff\xfe\x00");
        bytes
    };
    refused("corrupt", damage, "`mariadb` failed replaying");
}

/// Cut just before `orders`: every statement left is whole, only the trailer is missing.
#[test]
fn truncated_at_a_statement_boundary_changes_nothing() {
    let damage = |bytes: &[u8]| bytes[..find(bytes, "--\n-- Table structure for table `orders`")].to_vec();
    refused("cutstmt", damage, "has no `-- Dump completed` trailer");
}

/// Cut inside a row of `orders`, with the trailer put back: the trailer check passes and the
/// replay into the scratch database is what fails.
#[test]
fn truncated_mid_statement_changes_nothing() {
    let damage = |bytes: &[u8]| {
        let rows = find(bytes, "INSERT INTO `orders` VALUES");
        let cut = rows + find(&bytes[rows..], CANARY) + CANARY.len() / 2;
        let mut damaged = bytes[..cut].to_vec();
        damaged.extend_from_slice(b"\n-- Dump completed on 2026-01-01  0:00:00\n");
        damaged
    };
    refused("cutmid", damage, "ERROR 1064 (42000) at line");
}

/// The backup at version 1 restored over version 3: rows, history, the view's and the
/// trigger's definitions as at version 1, and nothing of the swap left behind.
#[test]
fn good_backup_round_trips_with_views_and_triggers() {
    let (fixture, db, backup, at_v1) = at_v3("goodrt");
    let id = backup.file_name().and_then(|n| n.to_str()).expect("id");
    let out = dbm(fixture.path(), &db.url, &["restore", id, "--yes"]);
    assert_code(&out, 0);
    assert!(!text(&out).contains(CANARY), "{}", text(&out));
    assert_eq!(db.versions(), vec![1]);
    assert_eq!(state(&db), at_v1, "tables, rows, history, view and trigger as at version 1");
    assert!(!db.has_table("more"));
    // The trigger and the view work on the restored tables.
    db.query("INSERT INTO orders VALUES (9, 2, 'lower', 5)");
    assert_eq!(db.query("SELECT note, total FROM orders WHERE id = 9"), "LOWER\t5");
    assert_eq!(db.query("SELECT total FROM order_totals WHERE customer = 2"), "25");
    assert_eq!(db.query(&format!("SHOW DATABASES LIKE '{}\\_dbm\\_%'", db.name)), "", "scratch database dropped");
}
