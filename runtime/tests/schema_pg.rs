//! Autogenerate on a real PostgreSQL (127.0.0.1:5432): the old and new DDL are loaded into two
//! databases, introspected, diffed and rendered; the up, applied through the engine to the old
//! database with its rows, must give the new schema, and the down the old one again.
#![cfg(feature = "postgres")]

mod common;

use common::{TestDb, quiet, script};
use dbmigrate_runtime::schema::{self, Migration, PgSchemaSession, Renames, Schema};
use dbmigrate_runtime::{Goal, MigrationScript};

const HISTORY: &str = "refinery_schema_history";

fn introspect(db: &TestDb) -> Schema {
    let skip = schema::engine_tables(HISTORY);
    let skip: Vec<&str> = skip.iter().map(String::as_str).collect();
    PgSchemaSession::connect(&db.url).expect("connect").introspect(&skip).expect("introspect")
}

fn assert_same(got: &Schema, want: &Schema, what: &str, m: &Migration) {
    let diff = schema::differences(got, want, &Renames::default());
    assert!(diff.is_empty(), "{what}: {:?}\nup:\n{}\ndown:\n{}", diff.describe(), m.up, m.down);
}

fn migrate(db: &TestDb, scripts: &[MigrationScript<'_>], goal: Goal) -> Result<(), String> {
    db.engine().migrate(scripts, goal, &mut quiet).map(|_| ()).map_err(|e| e.to_string())
}

/// The migration from `old` to `new`, proved on a database at `old` holding `rows`; returns it
/// and that database (at `old` again).
fn round_trip(old: &str, new: &str, rows: &str) -> (Migration, TestDb) {
    let a = TestDb::postgres("gen_old");
    let b = TestDb::postgres("gen_new");
    let v1 = script(1, "old", old, None);
    migrate(&a, std::slice::from_ref(&v1), Goal::Latest).expect("old");
    if !rows.is_empty() {
        a.exec(rows);
    }
    b.exec(new);
    let (before, want) = (introspect(&a), introspect(&b));
    let diff = schema::differences(&before, &want, &Renames::default());
    assert!(!diff.is_empty(), "no difference found");
    let m = schema::render_pg(&diff);
    let scripts = [v1, script(2, "generated", &m.up, Some(&m.down))];
    migrate(&a, &scripts, Goal::Latest).unwrap_or_else(|e| panic!("{e}\nup:\n{}", m.up));
    assert_same(&introspect(&a), &want, "after up", &m);
    migrate(&a, &scripts, Goal::DownTo(1)).unwrap_or_else(|e| panic!("{e}\ndown:\n{}", m.down));
    assert_same(&introspect(&a), &before, "after down", &m);
    (m, a)
}

const MOOD: &str = "CREATE TYPE mood AS ENUM ('happy', 'meh', 'sad');\n\
                    CREATE TABLE people (id int PRIMARY KEY, m mood NOT NULL DEFAULT 'meh', was mood);\n";

#[test]
fn an_enum_label_removed_and_the_rest_reordered_converts_every_column() {
    let new = MOOD.replace("'happy', 'meh', 'sad'", "'sad', 'happy'").replace("DEFAULT 'meh'", "DEFAULT 'sad'");
    let rows = "INSERT INTO people VALUES (1, 'sad', 'happy'), (2, 'happy', NULL)";
    let (m, db) = round_trip(MOOD, &new, rows);
    assert!(m.up.contains("-- dbmigrate:destructive enum type mood loses the labels 'meh'"), "{}", m.up);
    assert!(
        m.up.contains("ALTER TABLE \"people\" ALTER COLUMN \"was\" TYPE \"mood\" USING \"was\"::text::\"mood\";"),
        "{}",
        m.up
    );
    assert!(!m.up.contains("dbmigrate:todo") && !m.up.contains("no-transaction"), "{}", m.up);
    assert_eq!(db.scalar("SELECT count(*) FROM people WHERE m = 'sad' AND was = 'happy'"), 1, "rows kept");
    // Rows that hold a removed label stop the up with an error naming them.
    db.exec("INSERT INTO people VALUES (3, 'meh', NULL)");
    let scripts = [script(1, "old", MOOD, None), script(2, "generated", &m.up, Some(&m.down))];
    let why = migrate(&db, &scripts, Goal::Latest).expect_err("a row holds 'meh'");
    assert!(why.contains("column people.m holds labels that enum type mood loses"), "{why}");
    assert_eq!(db.scalar("SELECT count(*) FROM people WHERE m = 'meh'"), 1, "nothing changed");
}
