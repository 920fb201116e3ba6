//! Autogenerate on a real MariaDB/MySQL server (127.0.0.1:3306, root): each schema edit is
//! loaded old into one database and new into another, introspected, diffed and rendered; the
//! rendered up, applied through the engine, must give the new schema, and its down the old one.
#![cfg(feature = "mysql")]

mod common;

use common::{TestDb, quiet, script};
use dbmigrate_runtime::schema::{self, Migration, Renames, Schema};
use dbmigrate_runtime::{Engine, Goal, MigrationScript, Options};
use std::time::Duration;

const HISTORY: &str = "refinery_schema_history";

fn introspect(db: &TestDb) -> Schema {
    schema::introspect_mysql_url(&db.url, Duration::from_secs(10), HISTORY).expect("introspect")
}

/// `got` is `want`: no difference, and the same model down to each table's `SHOW CREATE TABLE`
/// text (key names and order, checks, charset), which the differ does not compare.
fn assert_same(got: Schema, want: &Schema, what: &str, m: &Migration) {
    let diff = schema::differences(&got, want, &Renames::default());
    assert!(diff.is_empty(), "{what}: {:?}\nup:\n{}\ndown:\n{}", diff.describe(), m.up, m.down);
    assert_eq!(&got, want, "{what}\nup:\n{}\ndown:\n{}", m.up, m.down);
}

fn migrate(db: &TestDb, scripts: &[MigrationScript<'_>], goal: Goal) {
    let mut engine = db.engine();
    if let Err(e) = engine.migrate(scripts, goal, &mut quiet) {
        let up = scripts.last().map(|s| s.up.to_string()).unwrap_or_default();
        panic!("{e}\nlast script:\n{up}");
    }
}

/// A schema edit: the old and new DDL, the declared renames, rows to load before the up, and
/// an edit of the generated up (a person replacing a placeholder).
#[derive(Default)]
struct Edit<'a> {
    old: &'a str,
    new: &'a str,
    renames: Renames,
    rows: &'a str,
    review: Option<fn(&str) -> String>,
}

/// What a round trip leaves for further checks: the migration, and the old database after up
/// and down (the old schema again, with its rows).
struct Done {
    m: Migration,
    db: TestDb,
}

fn round_trip(old: &str, new: &str) -> Done {
    Edit { old, new, ..Edit::default() }.run()
}

impl Edit<'_> {
    fn run(self) -> Done {
        let a = TestDb::mysql("gen_old");
        let b = TestDb::mysql("gen_new");
        let v1 = script(1, "old", self.old, None);
        migrate(&a, std::slice::from_ref(&v1), Goal::Latest);
        if !self.rows.is_empty() {
            a.exec(self.rows);
        }
        b.exec(self.new);
        let (before, want) = (introspect(&a), introspect(&b));
        let diff = schema::differences(&before, &want, &self.renames);
        assert!(!diff.is_empty(), "no difference found");
        let m = schema::render_mysql(&diff).expect("renders");
        eprintln!("up:\n{}\ndown:\n{}\nwarnings: {:?}", m.up, m.down, m.warnings);
        let up = self.review.map_or_else(|| m.up.clone(), |f| f(&m.up));
        let scripts = [v1, script(2, "generated", &up, Some(&m.down))];
        migrate(&a, &scripts, Goal::Latest);
        assert_same(introspect(&a), &want, "after up", &m);
        migrate(&a, &scripts, Goal::DownTo(1));
        assert_same(introspect(&a), &before, "after down", &m);
        Done { m, db: a }
    }
}

const USERS: &str =
    "CREATE TABLE users (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL);";

#[test]
fn new_table_with_a_foreign_key_and_a_timestamp_default() {
    let new = format!(
        "{USERS}\nCREATE TABLE posts (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, \
         user_id INT UNSIGNED NOT NULL, created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, \
         CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE);"
    );
    let done = round_trip(USERS, &new);
    assert!(done.m.up.contains("CREATE TABLE `posts`") && done.m.up.contains("current_timestamp()"), "{}", done.m.up);
    assert!(done.m.down.contains("DROP TABLE `posts`;"), "{}", done.m.down);
}

#[test]
fn new_column_goes_where_the_schema_puts_it() {
    let new = "CREATE TABLE users (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, \
               phone VARCHAR(20) NULL, name VARCHAR(20) NOT NULL);";
    let done = round_trip(USERS, new);
    assert!(done.m.up.contains("ADD COLUMN `phone` varchar(20) NULL AFTER `id`;"), "{}", done.m.up);
    assert!(done.m.down.contains("DROP COLUMN `phone`"), "{}", done.m.down);
}

#[test]
fn a_longer_varchar_is_quiet_and_a_shorter_one_warns() {
    let long = "CREATE TABLE users (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL);";
    let done = round_trip(USERS, long);
    assert!(done.m.up.contains("MODIFY COLUMN `name` varchar(40) NOT NULL;"), "{}", done.m.up);
    assert!(!done.m.up.contains("narrowing") && done.m.warnings.is_empty(), "{}", done.m.up);
    let done = round_trip(long, USERS);
    assert!(done.m.up.contains("-- warning: narrowing `users.name`: `varchar(40)` to `varchar(20)`"), "{}", done.m.up);
    assert!(done.m.warnings.iter().any(|w| w.contains("narrowing") || w.contains("`varchar(40)` to")));
}

#[test]
fn new_changed_and_unique_indexes() {
    let old = "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, mail VARCHAR(50), KEY ix (a));";
    let new = "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, mail VARCHAR(50), KEY ix (a, b), KEY iy (b), \
               UNIQUE KEY t_mail (mail));";
    let done = round_trip(old, new);
    let up = &done.m.up;
    assert!(up.contains("DROP INDEX `ix` ON `t`;") && up.contains("CREATE INDEX `ix` ON `t` (`a`, `b`);"), "{up}");
    assert!(up.contains("CREATE UNIQUE INDEX `t_mail` ON `t` (`mail`);"), "{up}");
}

#[test]
fn composite_primary_key_new_and_changed() {
    let old = "CREATE TABLE m (a INT NOT NULL, b INT NOT NULL, PRIMARY KEY (a));";
    let new = "CREATE TABLE m (a INT NOT NULL, b INT NOT NULL, PRIMARY KEY (a, b));\n\
               CREATE TABLE n (x INT NOT NULL, y VARCHAR(5) NOT NULL, PRIMARY KEY (x, y));";
    let done = round_trip(old, new);
    assert!(done.m.up.contains("DROP PRIMARY KEY, ADD PRIMARY KEY (`a`, `b`)"), "{}", done.m.up);
}

#[test]
fn self_referencing_foreign_keys() {
    let old = "CREATE TABLE folders (id INT PRIMARY KEY, name TEXT);";
    let new = "CREATE TABLE folders (id INT PRIMARY KEY, name TEXT, parent INT NULL, \
               CONSTRAINT folders_parent FOREIGN KEY (parent) REFERENCES folders (id));\n\
               CREATE TABLE nodes (id INT PRIMARY KEY, up INT, FOREIGN KEY (up) REFERENCES nodes (id) ON DELETE SET NULL);";
    let done = round_trip(old, new);
    assert!(
        done.m.up.contains("ADD CONSTRAINT `folders_parent` FOREIGN KEY (`parent`) REFERENCES `folders`"),
        "{}",
        done.m.up
    );
}

#[test]
fn a_foreign_key_action_change() {
    let old = format!(
        "{USERS}\nCREATE TABLE posts (id INT PRIMARY KEY, user_id INT UNSIGNED, \
         FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE RESTRICT);"
    );
    let new = format!(
        "{USERS}\nCREATE TABLE posts (id INT PRIMARY KEY, user_id INT UNSIGNED, \
         FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE);"
    );
    let done = round_trip(&old, &new);
    let up = &done.m.up;
    assert!(up.contains("DROP FOREIGN KEY `posts_ibfk_1`") && up.contains("ON DELETE CASCADE"), "{up}");
}

#[test]
fn removed_column_and_table_are_marked_and_come_back_empty() {
    let old = format!(
        "{USERS}\nALTER TABLE users ADD COLUMN bio TEXT DEFAULT 'none' COMMENT 'about', ADD COLUMN age INT;\n\
         CREATE TABLE audit (id INT PRIMARY KEY, user_id INT UNSIGNED, at DATETIME, \
         FOREIGN KEY (user_id) REFERENCES users (id), CHECK (id > 0));"
    );
    let done = round_trip(&old, USERS);
    let up = &done.m.up;
    assert!(up.contains("-- dbmigrate:destructive column `users.bio` is not in the desired schema"), "{up}");
    assert!(up.contains("-- dbmigrate:destructive column `users.age` is not in the desired schema"), "{up}");
    assert!(up.contains("-- dbmigrate:destructive table `audit` is not in the desired schema"), "{up}");
    assert!(up.find("DROP TABLE").unwrap_or(0) > up.find("MySQL/MariaDB commits").unwrap_or(usize::MAX), "{up}");
    assert!(done.m.down.contains("its rows are not restored") && done.m.down.contains("values are not restored"));
    assert!(done.m.down.contains("CHECK (`id` > 0)"), "the down recreates the check: {}", done.m.down);
    assert!(done.m.warnings.len() >= 2, "{:?}", done.m.warnings);
}

#[test]
fn not_null_with_a_default_uses_the_default() {
    let new = "CREATE TABLE users (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL, \
               active TINYINT(1) NOT NULL DEFAULT 1);";
    let done = Edit { old: USERS, new, rows: "INSERT INTO users (name) VALUES ('a'), ('b');", ..Edit::default() }.run();
    assert!(done.m.up.contains("ADD COLUMN `active` tinyint(1) NOT NULL DEFAULT 1 AFTER `name`;"), "{}", done.m.up);
    assert!(!done.m.up.contains("dbmigrate:todo"), "{}", done.m.up);
}

#[test]
fn not_null_without_a_default_takes_three_reviewed_steps_on_a_populated_table() {
    let new = "CREATE TABLE users (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL, \
               handle VARCHAR(30) NOT NULL);";
    let review = |up: &str| {
        let placeholder = "UPDATE `users` SET `handle` = '';";
        assert!(up.contains(placeholder), "{up}");
        let todo = up.lines().find(|l| l.starts_with("-- dbmigrate:todo")).expect("a todo line").to_owned();
        up.replace(placeholder, "UPDATE `users` SET `handle` = CONCAT('@', name);").replace(&todo, "")
    };
    let rows = "INSERT INTO users (name) VALUES ('ann'), ('bob');";
    let done = Edit { old: USERS, new, rows, review: Some(review), ..Edit::default() }.run();
    let up = &done.m.up;
    let add = up.find("ADD COLUMN `handle` varchar(30) NULL").expect("added nullable");
    let todo = up.find("-- dbmigrate:todo").expect("todo marker");
    let strict = up.find("MODIFY COLUMN `handle` varchar(30) NOT NULL").expect("made not null");
    assert!(add < todo && todo < strict, "{up}");
    // The rows outlived the up and down; applied once more by hand, the backfill holds.
    let scripts = [script(1, "old", USERS, None), script(2, "generated", &review(up), Some(&done.m.down))];
    migrate(&done.db, &scripts, Goal::Latest);
    assert_eq!(done.db.scalar("SELECT COUNT(*) FROM users WHERE handle = CONCAT('@', name)"), 2);
}

#[test]
fn a_column_made_not_null_fills_its_nulls_first() {
    let old = "CREATE TABLE t (id INT PRIMARY KEY, n INT NULL);";
    let new = "CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL DEFAULT 7);";
    let done = Edit { old, new, rows: "INSERT INTO t VALUES (1, NULL), (2, 3);", ..Edit::default() }.run();
    assert!(done.m.up.contains("UPDATE `t` SET `n` = 7 WHERE `n` IS NULL;"), "{}", done.m.up);
}

#[test]
fn declared_renames_of_a_table_and_a_column() {
    let old = "CREATE TABLE people (id INT PRIMARY KEY, mail VARCHAR(50));";
    let new = "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(50));";
    let mut renames = Renames::default();
    renames.tables.insert("people".into(), "users".into());
    renames.columns.insert(("users".into(), "mail".into()), "email".into());
    let done = Edit { old, new, renames, rows: "INSERT INTO people VALUES (1, 'a@b');", ..Edit::default() }.run();
    assert!(done.m.up.contains("RENAME TABLE `people` TO `users`;"), "{}", done.m.up);
    assert!(done.m.up.contains("ALTER TABLE `users` RENAME COLUMN `mail` TO `email`;"), "{}", done.m.up);
    assert!(!done.m.up.contains("DROP"), "{}", done.m.up);
    assert_eq!(done.db.scalar("SELECT COUNT(*) FROM people WHERE mail = 'a@b'"), 1);
}

#[test]
fn undeclared_renames_are_offered_in_comments() {
    let old = "CREATE TABLE t (id INT PRIMARY KEY, mail VARCHAR(50));\nCREATE TABLE old_t (x INT);";
    let new = "CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(50));\nCREATE TABLE new_t (x INT);";
    let done = round_trip(old, new);
    let up = &done.m.up;
    assert!(up.contains("-- likely a rename: ALTER TABLE `t` RENAME COLUMN `mail` TO `email`;"), "{up}");
    assert!(up.contains("-- likely a rename: RENAME TABLE `old_t` TO `new_t`;"), "{up}");
    assert!(done.m.warnings.iter().any(|w| w.contains("--rename t.mail=email")), "{:?}", done.m.warnings);
}

#[test]
fn server_default_and_enum_value_changes() {
    let old = "CREATE TABLE t (id INT PRIMARY KEY, state ENUM('new','done') NOT NULL DEFAULT 'new', \
               note VARCHAR(10) DEFAULT 'x');";
    let new = "CREATE TABLE t (id INT PRIMARY KEY, state ENUM('new','done','gone') NOT NULL DEFAULT 'new', \
               note VARCHAR(10) DEFAULT 'it''s', path VARCHAR(10) DEFAULT 'c:\\\\x');";
    let done = round_trip(old, new);
    let up = &done.m.up;
    assert!(up.contains("MODIFY COLUMN `state` enum('new','done','gone') NOT NULL DEFAULT 'new';"), "{up}");
    assert!(up.contains("MODIFY COLUMN `note` varchar(10) NULL DEFAULT 'it''s';"), "{up}");
    assert!(!up.contains("narrowing"), "{up}");
    assert!(done.m.down.contains("narrowing"), "removing an enum value narrows: {}", done.m.down);
}

#[test]
fn auto_increment_on_update_and_text_defaults_survive_a_modify() {
    let old = "CREATE TABLE t (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, \
               changed TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, \
               body TEXT DEFAULT 'empty', data BLOB DEFAULT 'raw', code VARCHAR(10) COLLATE utf8mb4_bin COMMENT 'the code');";
    let new = "CREATE TABLE t (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, \
               changed TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, \
               body TEXT DEFAULT 'blank', data BLOB DEFAULT 'raw', code VARCHAR(20) COLLATE utf8mb4_bin COMMENT 'the code', \
               extra TEXT DEFAULT 'e', twice BIGINT AS (CHAR_LENGTH(body) * 2) STORED, secret INT INVISIBLE DEFAULT 5);";
    let done = round_trip(old, new);
    let t = introspect(&done.db).tables.remove("t").expect("t");
    let ty = |c: &str| t.column(c).map(|c| c.decl_type.clone()).unwrap_or_default();
    assert!(ty("id").contains("AUTO_INCREMENT"), "{t:?}");
    assert!(ty("changed").contains("ON UPDATE current_timestamp()"), "{t:?}");
    assert!(ty("code").contains("COLLATE utf8mb4_bin") && ty("code").contains("COMMENT 'the code'"), "{t:?}");
    assert_eq!(t.column("data").and_then(|c| c.default.clone()).as_deref(), Some("'raw'"));
    assert!(done.m.up.contains("MODIFY COLUMN `body` text NULL DEFAULT 'blank';"), "{}", done.m.up);
    assert!(done.m.up.contains("ADD COLUMN `extra` text NULL DEFAULT 'e' AFTER `code`;"), "{}", done.m.up);
    // The round trip compared these after the up; the old database holds them no more.
    assert!(done.m.up.contains("`twice` bigint(20) GENERATED ALWAYS AS (char_length(`body`) * 2) STORED AFTER"));
    assert!(done.m.up.contains("`secret` int(11) NULL DEFAULT 5 INVISIBLE AFTER `twice`;"), "{}", done.m.up);
}

#[test]
fn views_triggers_and_routines_are_listed_not_compared() {
    let db = TestDb::mysql("gen_other");
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, CONSTRAINT positive CHECK (id > 0));\nCREATE VIEW v AS SELECT id FROM t;\n\
         CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.id = NEW.id;\nCREATE FUNCTION f() RETURNS INT RETURN 1;",
    );
    let s = introspect(&db);
    let listed: Vec<&str> = s.not_compared.iter().map(String::as_str).collect();
    assert_eq!(listed, ["function f", "trigger tr", "view v"]);
    assert_eq!(s.tables.keys().collect::<Vec<_>>(), ["t"]);
    // A table's check constraints are compared now, not listed.
    assert_eq!(s.tables["t"].checks.iter().collect::<Vec<_>>(), ["CHECK (`id` > 0)"]);
}

#[test]
fn the_engine_tables_are_not_part_of_the_schema() {
    let done = round_trip(
        USERS,
        "CREATE TABLE users (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(30) NOT NULL);",
    );
    let s = introspect(&done.db);
    assert_eq!(s.tables.keys().collect::<Vec<_>>(), ["users"]);
}

#[test]
fn vaultwarden_final_schema_round_trips_from_empty() {
    let Some(scripts) = common::read_corpus("mysql") else { return };
    let db = TestDb::mysql("gen_vw");
    let options = Options { setup_sql: Some("SET FOREIGN_KEY_CHECKS=0".into()), ..db.options() };
    Engine::connect(&db.url, options).expect("connect").migrate(&scripts, Goal::Latest, &mut quiet).expect("corpus");
    let full = introspect(&db);
    assert!(full.tables.len() > 10, "{:?}", full.tables.keys());
    assert_eq!(full, introspect(&db), "introspected twice, the schema reads the same");
    let empty = TestDb::mysql("gen_vw_empty");
    let diff = schema::differences(&introspect(&empty), &full, &Renames::default());
    let m = schema::render_mysql(&diff).expect("renders");
    let generated = [script(1, "generated", &m.up, Some(&m.down))];
    migrate(&empty, &generated, Goal::Latest);
    assert_same(introspect(&empty), &full, "vaultwarden from empty", &m);
    migrate(&empty, &generated, Goal::DownTo(0));
    assert!(introspect(&empty).tables.is_empty(), "the down drops every table:\n{}", m.down);
    let dumped = TestDb::mysql("gen_vw_dump");
    dumped.exec(&schema::dump_mysql(&full));
    assert_eq!(introspect(&dumped), full, "the dump loads back into the same schema, texts and all");
}

#[test]
fn widening_a_key_its_foreign_keys_use() {
    let old = format!(
        "{USERS}\nCREATE TABLE posts (id INT PRIMARY KEY, user_id INT UNSIGNED, \
         CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id));"
    );
    let new = "CREATE TABLE users (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL);\n\
               CREATE TABLE posts (id INT PRIMARY KEY, user_id BIGINT UNSIGNED, \
               CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id));";
    let rows = "INSERT INTO users (name) VALUES ('a');\nINSERT INTO posts VALUES (1, 1);";
    let done = Edit { old: &old, new, rows, ..Edit::default() }.run();
    let up = &done.m.up;
    let drop = up.find("DROP FOREIGN KEY `posts_user`").expect("dropped first");
    let modify = up.find("MODIFY COLUMN `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT").expect("widened");
    let add = up.find("ADD CONSTRAINT `posts_user`").expect("added again");
    assert!(drop < modify && modify < add, "{up}");
    assert!(done.m.warnings.is_empty(), "{:?}", done.m.warnings);
}

#[test]
fn tables_that_reference_each_other_created_and_dropped() {
    let new = "CREATE TABLE a (id INT PRIMARY KEY, b_id INT);\n\
               CREATE TABLE b (id INT PRIMARY KEY, a_id INT, CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES a (id));\n\
               ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b (id);";
    let done = round_trip(USERS, new);
    round_trip(new, USERS);
    let up = &done.m.up;
    let last_create = up.rfind("CREATE TABLE").expect("created");
    assert!(up.find("ALTER TABLE `a` ADD CONSTRAINT `a_b`").is_some_and(|at| at > last_create), "{up}");
}

#[test]
fn a_url_without_a_database_is_refused_by_name() {
    let url = common::parse("mysql://root:s3cret@127.0.0.1:3306");
    let why = schema::introspect_mysql_url(&url, Duration::from_secs(5), HISTORY).expect_err("no database");
    assert!(why.contains("names no database (add `/NAME` to it)") && !why.contains("s3cret"), "{why}");
}

#[test]
fn a_foreign_key_column_made_binary_and_longer() {
    let table = |ty: &str| {
        format!(
            "CREATE TABLE tags (k VARCHAR(10) {ty} PRIMARY KEY);\n\
             CREATE TABLE posts (id INT PRIMARY KEY, tag VARCHAR(10) {ty}, FOREIGN KEY (tag) REFERENCES tags (k));"
        )
    };
    let new = table("COLLATE utf8mb4_bin").replace("VARCHAR(10)", "VARCHAR(20)");
    let done = Edit { old: &table(""), new: &new, rows: "INSERT INTO tags VALUES ('a');", ..Edit::default() }.run();
    assert!(done.m.up.contains("MODIFY COLUMN `tag` varchar(20) COLLATE utf8mb4_bin NULL;"), "{}", done.m.up);
}

#[test]
fn check_constraints_are_compared_and_changed_by_name() {
    let old = "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, CONSTRAINT pos CHECK (a > 0), \
               CONSTRAINT gone CHECK (b < 10));";
    let new = "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, CONSTRAINT pos CHECK (a >= 0), \
               CONSTRAINT fresh CHECK (b > a));";
    let done = Edit { old, new, rows: "INSERT INTO t VALUES (1, 1, 2);", ..Edit::default() }.run();
    let up = &done.m.up;
    let drop = up.find("ALTER TABLE `t` DROP CONSTRAINT `pos`;").expect("dropped");
    let add = up.find("ALTER TABLE `t` ADD CONSTRAINT `pos` CHECK (`a` >= 0);").expect("added");
    assert!(drop < add, "{up}");
    assert!(up.contains("DROP CONSTRAINT `gone`;") && up.contains("ADD CONSTRAINT `fresh` CHECK (`b` > `a`);"), "{up}");
    assert!(done.m.down.contains("ADD CONSTRAINT `gone` CHECK (`b` < 10);"), "{}", done.m.down);
}

#[test]
fn table_engine_charset_and_comment_are_compared_and_altered() {
    let old = "CREATE TABLE t (id INT PRIMARY KEY, body TEXT, name VARCHAR(10)) ENGINE=InnoDB DEFAULT CHARSET=latin1;";
    let new = "CREATE TABLE t (id INT PRIMARY KEY, body TEXT, name VARCHAR(10)) ENGINE=MyISAM \
               DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='it''s t';";
    let rows = "INSERT INTO t VALUES (1, 'caf\u{e9}', 'x');";
    let done = Edit { old, new, rows, ..Edit::default() }.run();
    let up = &done.m.up;
    assert!(up.contains("ALTER TABLE `t` ENGINE=MyISAM;"), "{up}");
    assert!(up.contains("ALTER TABLE `t` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;"), "{up}");
    assert!(up.contains("ALTER TABLE `t` COMMENT='it''s t';"), "{up}");
    assert!(
        done.m.down.contains("ALTER TABLE `t` COMMENT='';") && done.m.down.contains("ENGINE=InnoDB;"),
        "{}",
        done.m.down
    );
    assert!(done.m.warnings.iter().any(|w| w.contains("converts")), "{:?}", done.m.warnings);
    assert_eq!(done.db.scalar("SELECT COUNT(*) FROM t WHERE body = 'caf\u{e9}'"), 1);
}
