//! SQLite's harder autogenerate cases, each a round trip on a populated database: destructive
//! reasons, narrowing warnings, triggers and defaults across a rebuild, rebuilding a table
//! other tables reference, and the vaultwarden history's schema regenerated from nothing.

use super::{HISTORY, ROWS, USERS, assert_same, ok, project, round_trip, run, schema_of, sqlite};
use dbmigrate_runtime::schema;
use dbmigrate_tests::{Fixture, code, corpus_root, dbm, text};
use std::path::PathBuf;

/// The value `sql` selects from the SQLite file `db`, by the sqlite3 shell.
fn query(db: &std::path::Path, sql: &str) -> String {
    let out = std::process::Command::new("sqlite3").arg(db).arg(sql).output().expect("sqlite3");
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A generated migration applied to a database at `old` that holds `rows`, left at the desired
/// schema for the test to look at before it runs the down.
struct Applied {
    f: Fixture,
    db: PathBuf,
    url: String,
    up: String,
    down: String,
    stderr: String,
}

impl Applied {
    fn new(old: &str, desired: &str, rows: &str) -> Self {
        let f = project(old, desired);
        let out = run(&f, &["diff", "-m", "change"]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        ok(out);
        let files = f.list("migrations");
        let up_name = files.iter().find(|n| !n.starts_with("V1__") && !n.ends_with(".down.sql")).expect("written");
        let up = f.read(&format!("migrations/{up_name}"));
        let down = f.read(&format!("migrations/{}", up_name.replace(".sql", ".down.sql")));
        let db = f.path().join("app.db");
        let url = format!("sqlite:{}", db.display());
        ok(dbm(f.path(), &url, &["run", "--to", "1", "--no-backup"]));
        if !rows.is_empty() {
            sqlite(&db, rows);
        }
        ok(dbm(f.path(), &url, &["run", "--no-backup"]));
        let want = schema_of(f.path(), "desired.db", desired);
        let got = schema::introspect_sqlite_file(&db, HISTORY).expect("introspect");
        assert_same(&got, &want, &format!("after the up:\n{up}"));
        Applied { f, db, url, up, down, stderr }
    }

    /// Runs the down and proves the schema is `old` again.
    fn revert(&self, old: &str) {
        ok(dbm(self.f.path(), &self.url, &["down", "--steps", "1", "--no-backup", "--yes"]));
        let before = schema_of(self.f.path(), "old.db", old);
        let got = schema::introspect_sqlite_file(&self.db, HISTORY).expect("introspect");
        assert_same(&got, &before, &format!("after the down:\n{}", self.down));
    }

    fn query(&self, sql: &str) -> String {
        query(&self.db, sql)
    }
}

/// The line before the first line of `sql` that starts with `statement`.
fn line_before<'a>(sql: &'a str, statement: &str) -> &'a str {
    let lines: Vec<&str> = sql.lines().collect();
    let at = lines.iter().position(|l| l.starts_with(statement)).unwrap_or_else(|| panic!("{statement}: {sql}"));
    lines[at.saturating_sub(1)]
}

#[test]
fn destructive_markers_say_what_is_lost_right_before_the_statement() {
    let old = format!("{USERS}CREATE TABLE logs (id INTEGER PRIMARY KEY, line TEXT);\n")
        .replace("mail TEXT NOT NULL", "mail TEXT NOT NULL, phone TEXT");
    let (up, _, _) = round_trip(&old, USERS, "INSERT INTO users (mail, phone) VALUES ('a', '1');", &[]);
    assert_eq!(
        line_before(&up, "ALTER TABLE \"users\" DROP COLUMN \"phone\""),
        "-- dbmigrate:destructive drops column users.phone and its data"
    );
    assert_eq!(line_before(&up, "DROP TABLE \"logs\""), "-- dbmigrate:destructive drops table logs and its rows");
    // A unique column cannot be dropped with ALTER TABLE: the rebuild's DROP TABLE carries it.
    let old = "CREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT NOT NULL, nick TEXT UNIQUE, age INTEGER);\n";
    let (up, _, stderr) = round_trip(old, USERS, "INSERT INTO users (mail, nick, age) VALUES ('a', 'n', 3);", &[]);
    assert_eq!(
        line_before(&up, "DROP TABLE \"users\""),
        "-- dbmigrate:destructive drops columns users.nick, users.age and their data"
    );
    assert!(up.matches("dbmigrate:destructive").count() == 1, "{up}");
    assert!(stderr.contains("warning: dropping column `users.nick` loses its data"), "{stderr}");
}

#[test]
fn a_narrowing_change_is_warned_before_the_copy_step() {
    let old = "CREATE TABLE users (id INTEGER PRIMARY KEY, mail VARCHAR(200) NOT NULL, score TEXT);\n";
    let desired = "CREATE TABLE users (id INTEGER PRIMARY KEY, mail VARCHAR(50) NOT NULL, score INTEGER);\n";
    let a = Applied::new(old, desired, "INSERT INTO users (mail, score) VALUES ('a@x', '7'), ('b@x', 'n/a');");
    let copy = a.up.find("INSERT INTO \"dbmigrate_new_users\"").expect("copy step");
    let mail = a.up.find("-- warning: narrowing users.mail from VARCHAR(200) to VARCHAR(50)").expect("mail");
    let score = a.up.find("-- warning: narrowing users.score from TEXT to INTEGER").expect("score");
    assert!(mail < copy && score < copy, "{}", a.up);
    assert!(a.stderr.contains("warning: narrowing column `users.score` from `TEXT` to `INTEGER`"), "{}", a.stderr);
    // The widening back is no narrowing.
    assert!(!a.down.contains("narrowing"), "{}", a.down);
    // SQLite converts what it can and keeps the rest: no row is lost.
    assert_eq!(a.query("SELECT typeof(score) || ':' || score FROM users ORDER BY id"), "integer:7\ntext:n/a");
    a.revert(old);
}

#[test]
fn triggers_of_a_rebuilt_table_are_made_again() {
    let trigger =
        "CREATE TRIGGER users_audit AFTER INSERT ON users BEGIN INSERT INTO audit (mail) VALUES (new.mail); END;\n";
    let audit = "CREATE TABLE audit (mail TEXT);\n";
    let old = format!("{USERS}{audit}{trigger}");
    let desired = format!("{}{audit}{trigger}", USERS.replace("mail TEXT", "mail VARCHAR(320)"));
    let a = Applied::new(&old, &desired, ROWS);
    let rename = a.up.find("RENAME TO \"users\";").expect("rebuild");
    assert!(a.up[rename..].contains("CREATE TRIGGER users_audit"), "{}", a.up);
    assert_eq!(a.query("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'users_audit'"), "1");
    a.query("INSERT INTO users (mail) VALUES ('after@up')");
    assert_eq!(a.query("SELECT group_concat(mail) FROM audit"), "a@x,b@x,after@up");
    a.revert(&old);
    a.query("INSERT INTO users (mail) VALUES ('after@down')");
    assert_eq!(a.query("SELECT count(*) FROM audit WHERE mail = 'after@down'"), "1");
}

#[test]
fn views_and_other_tables_triggers_naming_a_rebuilt_table_keep_working() {
    let others = "CREATE TABLE inbox (mail TEXT);\nCREATE VIEW mails AS SELECT mail FROM users;\n\
                  CREATE TRIGGER inbox_user AFTER INSERT ON inbox BEGIN INSERT INTO users (mail) VALUES (new.mail); END;\n";
    let old = format!("{USERS}{others}");
    let desired = format!("{}{others}", USERS.replace("mail TEXT", "mail VARCHAR(320)"));
    let a = Applied::new(&old, &desired, ROWS);
    a.query("INSERT INTO inbox (mail) VALUES ('c@x')");
    assert_eq!(a.query("SELECT group_concat(mail) FROM mails"), "a@x,b@x,c@x");
    a.revert(&old);
    a.query("INSERT INTO inbox (mail) VALUES ('d@x')");
    assert_eq!(a.query("SELECT count(*) FROM mails"), "4");
}

#[test]
fn a_default_only_change_rebuilds_keeping_rows_and_new_rows_get_the_new_default() {
    let old = "CREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT NOT NULL, plan TEXT NOT NULL DEFAULT 'free');\n";
    let desired = old.replace("'free'", "'trial'");
    let a = Applied::new(
        old,
        &desired,
        "INSERT INTO users (mail) VALUES ('a@x'); INSERT INTO users (mail, plan) VALUES ('b@x', 'pro');",
    );
    assert!(a.up.contains("DEFAULT 'trial'") && a.up.contains("RENAME TO \"users\";"), "{}", a.up);
    assert!(!a.up.contains("dbmigrate:destructive"), "{}", a.up);
    a.query("INSERT INTO users (mail) VALUES ('new@x')");
    assert_eq!(a.query("SELECT group_concat(mail || '=' || plan) FROM users"), "a@x=free,b@x=pro,new@x=trial");
    a.revert(old);
    a.query("INSERT INTO users (mail) VALUES ('back@x')");
    assert_eq!(a.query("SELECT plan FROM users WHERE mail = 'back@x'"), "free");
}

const POSTS: &str =
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE);\n";

#[test]
fn rebuilding_a_referenced_table_keeps_the_children_rows_and_keys() {
    let old = format!("{USERS}{POSTS}");
    let desired = format!("{}{POSTS}", USERS.replace("mail TEXT NOT NULL", "mail VARCHAR(100) NOT NULL UNIQUE"));
    let rows = format!("{ROWS} INSERT INTO posts (user_id) VALUES (1), (1), (2);");
    let a = Applied::new(&old, &desired, &rows);
    assert!(a.up.starts_with("-- dbmigrate:no-transaction\n"), "{}", a.up);
    assert!(a.down.starts_with("-- dbmigrate:no-transaction\n"), "{}", a.down);
    assert_eq!(a.query("SELECT count(*) FROM posts"), "3", "no child row was deleted by the cascade");
    let keys = a.query("SELECT \"table\" || '.' || \"to\" || ' ' || on_delete FROM pragma_foreign_key_list('posts')");
    assert_eq!(keys, "users.id CASCADE");
    // The keys are on again and hold: an orphan is refused, a cascade still cascades.
    let orphan = std::process::Command::new("sqlite3")
        .arg(&a.db)
        .arg("PRAGMA foreign_keys=ON; INSERT INTO posts (user_id) VALUES (99);")
        .output()
        .expect("sqlite3");
    assert!(!orphan.status.success(), "an orphan row was accepted");
    // The history row is written and no progress marker is left behind.
    assert_eq!(a.query(&format!("SELECT count(*) FROM {HISTORY}")), "2");
    let status = ok(dbm(a.f.path(), &a.url, &["status"]));
    assert!(!status.to_lowercase().contains("dirty") && !status.contains("unfinished"), "{status}");
    a.revert(&old);
    assert_eq!(a.query("SELECT count(*) FROM posts"), "3");
    a.query("PRAGMA foreign_keys=ON; DELETE FROM users WHERE id = 2;");
    assert_eq!(a.query("SELECT count(*) FROM posts"), "2", "the cascade still works after the down");
}

#[test]
fn a_referenced_rebuild_that_breaks_a_key_is_rolled_back() {
    let f = project(&format!("{USERS}{POSTS}"), &format!("{}{POSTS}", USERS.replace("TEXT", "VARCHAR(9)")));
    ok(run(&f, &["diff", "-m", "shorter mail"]));
    let db = f.path().join("app.db");
    let url = format!("sqlite:{}", db.display());
    ok(dbm(f.path(), &url, &["run", "--to", "1", "--no-backup"]));
    // An orphan row, possible while SQLite's foreign keys are off.
    sqlite(&db, &format!("{ROWS} INSERT INTO posts (user_id) VALUES (42);"));
    let out = dbm(f.path(), &url, &["run", "--no-backup"]);
    assert_ne!(code(&out), 0, "{}", text(&out));
    assert!(text(&out).contains("rows_violating_foreign_keys"), "{}", text(&out));
    let users = schema::introspect_sqlite_file(&db, HISTORY).expect("introspect").tables["users"].clone();
    assert_eq!(users.columns[1].decl_type, "TEXT", "the rebuild was rolled back");
    assert_eq!(query(&db, "SELECT count(*) FROM posts"), "1");
    // The file's own transaction rolled back and nothing else it ran persisted (the pragma is
    // the connection's): the migration is still pending, not dirty, and the error says so.
    assert!(text(&out).contains("nothing of the file persisted"), "{}", text(&out));
    assert!(!text(&out).to_lowercase().contains("dirty") && !text(&out).contains("repair"), "{}", text(&out));
    assert_eq!(query(&db, &format!("SELECT count(*) FROM {HISTORY}")), "1");
    let status = ok(dbm(f.path(), &url, &["status"]));
    assert!(!status.to_lowercase().contains("dirty") && status.contains("pending"), "{status}");
    // Fixing the data is all it takes: the next run applies it.
    sqlite(&db, "DELETE FROM posts WHERE user_id = 42;");
    ok(dbm(f.path(), &url, &["run", "--no-backup"]));
    let users = schema::introspect_sqlite_file(&db, HISTORY).expect("introspect").tables["users"].clone();
    assert_eq!(users.columns[1].decl_type, "VARCHAR(9)");
}

#[test]
fn a_no_transaction_file_that_fails_after_persisting_a_statement_is_dirty_and_its_hint_works() {
    // A statement run in autocommit mode persists: the failure after it leaves the file dirty.
    let f = project(USERS, USERS);
    let up = "-- dbmigrate:no-transaction\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\n\
              BEGIN IMMEDIATE;\nINSERT INTO users (mail) VALUES (NULL);\nCOMMIT;\n";
    f.write("migrations/V2__notes.sql", up);
    f.write("migrations/V2__notes.down.sql", "DROP TABLE notes;\n");
    let db = f.path().join("app.db");
    let url = format!("sqlite:{}", db.display());
    let out = dbm(f.path(), &url, &["run", "--no-backup"]);
    assert_ne!(code(&out), 0, "{}", text(&out));
    assert!(!text(&out).contains("nothing of the file persisted"), "{}", text(&out));
    let status = dbm(f.path(), &url, &["status"]);
    assert!(text(&status).to_lowercase().contains("dirty"), "{}", text(&status));
    // The half applied file is finished by hand, as the hint's `--as applied` expects.
    assert!(text(&out).contains("cargo dbmigrate repair 2 --as applied"), "{}", text(&out));
    ok(dbm(f.path(), &url, &["repair", "2", "--as", "applied"]));
    assert_eq!(query(&db, "SELECT count(*) FROM sqlite_master WHERE name = 'notes'"), "1");
    let status = ok(dbm(f.path(), &url, &["status"]));
    assert!(!status.to_lowercase().contains("dirty") && !status.contains("pending"), "{status}");
}

/// Copies the corpus's vaultwarden SQLite history into `f`'s migrations folder.
fn copy_vaultwarden(f: &Fixture, corpus: &std::path::Path) {
    let from = corpus.join("vaultwarden/sqlite");
    for entry in std::fs::read_dir(&from).expect("corpus folder") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        if name.ends_with(".sql") {
            f.write(&format!("migrations/{name}"), &std::fs::read_to_string(&path).expect("read"));
        }
    }
}

#[test]
fn vaultwarden_sqlite_schema_is_dumped_and_regenerated_from_an_empty_history() {
    let Some(corpus) = corpus_root() else { return };
    let full = Fixture::new("vaultwarden");
    copy_vaultwarden(&full, &corpus);
    // Adopting a history: its migrations ran in production already, so they are released (and
    // not linted: their drops cannot be changed).
    ok(run(&full, &["release"]));
    ok(run(&full, &["schema", "dump"]));
    let dumped = full.read("schema.sql");
    assert!(dumped.contains("CREATE TABLE") && dumped.contains("ciphers"), "{dumped}");
    ok(run(&full, &["check", "--schema"]));

    let fresh = Fixture::new("vaultwarden_init");
    std::fs::create_dir_all(fresh.path().join("migrations")).expect("mkdir");
    fresh.write("schema.sql", &dumped);
    ok(run(&fresh, &["diff", "-m", "init"]));
    let written = fresh.list("migrations");
    assert_eq!(written.len(), 2, "{written:?}");
    let db = fresh.path().join("app.db");
    let url = format!("sqlite:{}", db.display());
    ok(dbm(fresh.path(), &url, &["run", "--no-backup"]));
    ok(run(&fresh, &["check", "--schema"]));
    let want = schema_of(fresh.path(), "desired.db", &dumped);
    let got = schema::introspect_sqlite_file(&db, HISTORY).expect("introspect");
    assert_same(&got, &want, "vaultwarden regenerated");
    let out = ok(run(&fresh, &["diff", "-m", "again"]));
    assert!(out.contains("nothing was written"), "{out}");
}

/// The `CREATE TRIGGER` texts of table `table` in the SQLite file `db`, in name order.
fn triggers_of(db: &std::path::Path, table: &str) -> Vec<String> {
    let schema = schema::introspect_sqlite_file(db, HISTORY).expect("introspect");
    schema.tables.get(table).map(|t| t.triggers.clone()).unwrap_or_default()
}

#[test]
fn triggers_of_a_table_renamed_and_rebuilt_follow_it_and_come_back_with_the_down() {
    let audit = "CREATE TABLE audit (mail TEXT);\n";
    let trigger = |t: &str| {
        format!(
            "CREATE TRIGGER {t}_audit AFTER INSERT ON {t} BEGIN INSERT INTO audit (mail) SELECT mail FROM {t} WHERE id = new.id; END;\n"
        )
    };
    let old = format!("{USERS}{audit}{}", trigger("users"));
    let accounts = USERS.replace("users", "accounts").replace("mail TEXT", "mail VARCHAR(320)");
    let desired = format!("{accounts}{audit}{}", trigger("accounts"));
    let f = project(&old, &desired);
    ok(run(&f, &["diff", "-m", "change", "--rename", "users=accounts"]));
    let db = f.path().join("app.db");
    let url = format!("sqlite:{}", db.display());
    ok(dbm(f.path(), &url, &["run", "--to", "1", "--no-backup"]));
    sqlite(&db, ROWS);
    ok(dbm(f.path(), &url, &["run", "--no-backup"]));
    let up = f.list("migrations").into_iter().find(|n| !n.starts_with("V1__") && !n.ends_with(".down.sql"));
    let up = f.read(&format!("migrations/{}", up.expect("written")));
    let want = schema_of(f.path(), "desired.db", &desired);
    let got = schema::introspect_sqlite_file(&db, HISTORY).expect("introspect");
    assert_same(&got, &want, &format!("after the up:\n{up}"));
    assert!(up.contains("ALTER TABLE \"dbmigrate_new_accounts\" RENAME TO \"accounts\";"), "a rebuild: {up}");
    let desired_db = f.path().join("desired.db");
    assert_eq!(triggers_of(&db, "accounts"), triggers_of(&desired_db, "accounts"), "{up}");
    query(&db, "INSERT INTO accounts (mail) VALUES ('after@up')");
    assert_eq!(query(&db, "SELECT group_concat(mail) FROM audit"), "a@x,b@x,after@up");

    ok(dbm(f.path(), &url, &["down", "--steps", "1", "--no-backup", "--yes"]));
    let before = schema_of(f.path(), "old.db", &old);
    let got = schema::introspect_sqlite_file(&db, HISTORY).expect("introspect");
    assert_same(&got, &before, "after the down");
    assert_eq!(triggers_of(&db, "users"), triggers_of(&f.path().join("old.db"), "users"));
    query(&db, "INSERT INTO users (mail) VALUES ('after@down')");
    assert_eq!(query(&db, "SELECT count(*) FROM audit WHERE mail = 'after@down'"), "1");
}

#[test]
fn strict_without_rowid_collated_generated_and_expression_indexed_tables_survive_a_rebuild() {
    let items = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE NOT NULL, \
                 price INTEGER NOT NULL, qty INTEGER NOT NULL, total INTEGER GENERATED ALWAYS AS (price * qty) STORED, \
                 half INTEGER AS (price / 2)) STRICT;\nCREATE INDEX items_lower ON items (lower(name));\n";
    let tags = "CREATE TABLE tags (name TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID;\n";
    let old = format!("{items}{tags}");
    // A default (rebuilds items), a generated column's expression, and a NOT NULL (rebuilds tags).
    let desired = format!("{items}{tags}")
        .replace("qty INTEGER NOT NULL", "qty INTEGER NOT NULL DEFAULT 1")
        .replace("(price * qty) STORED", "(price * qty * 2) STORED")
        .replace("n INTEGER)", "n INTEGER NOT NULL DEFAULT 0)");
    let rows = "INSERT INTO items (name, price, qty) VALUES ('Ab', 10, 3); INSERT INTO tags VALUES ('x', 1);";
    let a = Applied::new(&old, &desired, rows);
    assert!(a.up.contains("RENAME TO \"items\";") && a.up.contains("RENAME TO \"tags\";"), "{}", a.up);
    let sql = |t: &str| a.query(&format!("SELECT sql FROM sqlite_master WHERE name = '{t}'"));
    assert!(sql("items").contains("COLLATE NOCASE") && sql("items").ends_with("STRICT"), "{}", sql("items"));
    assert!(sql("tags").ends_with("WITHOUT ROWID"), "{}", sql("tags"));
    assert!(sql("items_lower").contains("lower(name)"), "{}", sql("items_lower"));
    assert_eq!(a.query("SELECT name || ':' || total || ':' || half FROM items WHERE name = 'ab'"), "Ab:60:5");
    a.query("INSERT INTO items (name, price) VALUES ('c', 4)");
    assert_eq!(a.query("SELECT total FROM items WHERE name = 'c'"), "8");
    a.revert(&old);
    assert_eq!(a.query("SELECT group_concat(total) FROM items"), "30,4");
    assert_eq!(a.query("SELECT n FROM tags"), "1");
}
