//! Each rule's positive and negative case, per dialect it applies to, through `lint --format
//! json`: one crate per dialect holding many migrations, asserting rule ids and lines.

use super::{crate_for, found, lint_json};

/// `(file stem, up SQL)` → migration files with a down file each (so `no-down` stays out).
fn migrations(ups: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for (i, (name, sql)) in ups.iter().enumerate() {
        let v = i + 1;
        files.push((format!("V{v}__{name}.sql"), format!("{sql}\n")));
        files.push((format!("V{v}__{name}.down.sql"), "SELECT 1;\n".to_owned()));
    }
    files
}

/// Lints `ups` for `dialect` and asserts exactly `want` (code, version, line), in any order.
fn assert_lint(dialect: &str, extra: &str, ups: &[(&str, &str)], want: &[(&str, usize, u64)]) {
    let files = migrations(ups);
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, s)| (n.as_str(), s.as_str())).collect();
    let f = crate_for(&format!("lint_{dialect}"), dialect, extra, &refs);
    let (code, doc) = lint_json(&f, &[]);
    let mut got: Vec<(String, String, u64)> = found(&doc);
    let mut want: Vec<(String, String, u64)> =
        want.iter().map(|(rule, v, line)| ((*rule).to_owned(), format!("V{v}__{}.sql", ups[v - 1].0), *line)).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{dialect}: {doc:#}");
    let errors = doc["findings"].as_array().expect("findings").iter().any(|f| f["severity"] == "error");
    assert_eq!(code, if errors { 1 } else { 0 }, "exit 1 exactly when an error is found: {doc:#}");
}

#[test]
fn sqlite_rules() {
    let ups = [
        ("create_t", "CREATE TABLE t (id INT);\nCREATE INDEX t_id ON t (id);"),
        ("add_nn", "ALTER TABLE t ADD COLUMN c INT NOT NULL;"),
        ("add_nn_default", "ALTER TABLE t ADD COLUMN d INT NOT NULL DEFAULT 0;"),
        ("drop_t", "-- gone\nDROP TABLE t;"),
        ("drop_marked", "-- dbmigrate:destructive replaced by u long ago\nDROP TABLE t2;"),
        ("rename", "ALTER TABLE t RENAME TO u;"),
        ("rename_allowed", "-- dbmigrate:allow rename nothing reads it yet\nALTER TABLE u RENAME COLUMN a TO b;"),
        ("allow_no_reason", "-- dbmigrate:allow rename\nALTER TABLE u RENAME TO v;"),
        ("alter_col", "ALTER TABLE v ALTER COLUMN c TYPE TEXT;"),
        ("add_col", "ALTER TABLE v ADD COLUMN e TEXT;"),
        ("todo", "CREATE TABLE w (id INT);\n-- dbmigrate:todo fill each row\nUPDATE w SET id = 0;"),
        ("drop_col", "ALTER TABLE v DROP COLUMN e;"),
        ("allow_unknown", "-- dbmigrate:allow nope because\nSELECT 1;"),
        ("two_actions", "ALTER TABLE v ADD COLUMN f INT, ADD COLUMN g INT;"),
        ("index", "CREATE INDEX v_e ON v (e);\nCREATE TABLE x (id INT);\nCREATE TABLE y (id INT);"),
    ];
    let want = [
        ("not-null-without-default", 2, 1),
        ("destructive", 4, 2),
        ("rename", 6, 1),
        ("allow-without-reason", 8, 1),
        ("rename", 8, 2),
        ("sqlite-alter-unsupported", 9, 1),
        ("todo-left", 11, 2),
        ("destructive", 12, 1),
        ("allow-without-reason", 13, 1),
        ("sqlite-alter-unsupported", 14, 1),
    ];
    assert_lint("sqlite", "", &ups, &want);
}

#[test]
fn postgres_rules() {
    let ups = [
        ("create", "CREATE TABLE a (id INT);\nCREATE INDEX a_id ON a (id);"),
        ("index", "CREATE INDEX a_id2 ON a (id);"),
        ("concurrently", "CREATE INDEX CONCURRENTLY a_id3 ON a (id);"),
        ("concurrently_ok", "-- dbmigrate:no-transaction\nCREATE INDEX CONCURRENTLY a_id4 ON a (id);"),
        ("enum", "ALTER TYPE mood ADD VALUE 'meh';"),
        (
            "no_tx_two",
            "-- dbmigrate:no-transaction\nCREATE INDEX CONCURRENTLY i5 ON a (id);\nCREATE INDEX CONCURRENTLY i6 ON a (id);",
        ),
        ("fk", "ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (id) REFERENCES b (id);"),
        ("fk_ok", "ALTER TABLE a ADD CONSTRAINT a_c FOREIGN KEY (id) REFERENCES c (id) NOT VALID;"),
        ("set_nn", "ALTER TABLE a ALTER COLUMN id SET NOT NULL;"),
        (
            "set_nn_ok",
            "ALTER TABLE a ADD CONSTRAINT a_nn CHECK (x IS NOT NULL) NOT VALID;\n\
             ALTER TABLE a VALIDATE CONSTRAINT a_nn;\nALTER TABLE a ALTER COLUMN x SET NOT NULL;",
        ),
        ("volatile", "ALTER TABLE a ADD COLUMN at timestamptz DEFAULT now();"),
        ("constant", "ALTER TABLE a ADD COLUMN n int DEFAULT 0;"),
        ("narrow", "ALTER TABLE a ALTER COLUMN n TYPE smallint;"),
        ("widen", "ALTER TABLE a ALTER COLUMN n TYPE bigint;"),
        ("add_nn", "ALTER TABLE a ADD COLUMN c INT NOT NULL;"),
        ("rename", "ALTER TABLE a RENAME COLUMN c TO d;"),
        ("drop", "DROP TABLE b;"),
        ("drop_default", "ALTER TABLE a ALTER COLUMN n DROP DEFAULT;"),
    ];
    let want = [
        ("index-not-concurrent", 2, 1),
        ("needs-no-transaction", 3, 1),
        ("needs-no-transaction", 5, 1),
        ("no-transaction-multi", 6, 3),
        ("fk-without-not-valid", 7, 1),
        ("set-not-null-without-check", 9, 1),
        ("volatile-default", 11, 1),
        ("destructive", 13, 1),
        ("not-null-without-default", 15, 1),
        ("rename", 16, 1),
        ("destructive", 17, 1),
    ];
    // With a DDL lock timeout for every migration, no file needs its own.
    assert_lint("postgres", "ddl-lock-timeout = 5\n", &ups, &want);
    let ups = [
        ("no_timeout", "ALTER TABLE a ADD COLUMN z int;\nALTER TABLE a ADD COLUMN w int;"),
        ("own_timeout", "SET lock_timeout = '2s';\nALTER TABLE a ADD COLUMN y int;"),
        ("new_table", "CREATE TABLE q (id int);\nALTER TABLE q ADD COLUMN y int;"),
    ];
    assert_lint("postgres", "", &ups, &[("lock-timeout-missing", 1, 1)]);
}

#[test]
fn mysql_rules() {
    let ups = [
        ("two_ddl", "CREATE TABLE m (id INT);\nINSERT INTO m VALUES (1);\nCREATE TABLE n (id INT);"),
        ("one_ddl", "CREATE TABLE o (id INT);\nINSERT INTO o VALUES (1);"),
        ("change", "ALTER TABLE m CHANGE id ident BIGINT;"),
        ("modify", "ALTER TABLE m MODIFY ident VARCHAR(5);"),
        ("add_nn", "ALTER TABLE m ADD COLUMN c INT NOT NULL;"),
        ("add_nn_ok", "ALTER TABLE m ADD COLUMN d INT NOT NULL DEFAULT 0;"),
        ("constraint", "ALTER TABLE m ADD CONSTRAINT u UNIQUE (d);"),
        ("drop", "DROP TABLE o;"),
        ("rename", "RENAME TABLE n TO p;"),
        ("index", "CREATE INDEX m_d ON m (d);"),
    ];
    let want = [
        ("mysql-multi-ddl", 1, 3),
        ("rename", 3, 1),
        ("destructive", 4, 1),
        ("not-null-without-default", 5, 1),
        ("destructive", 8, 1),
        ("rename", 9, 1),
    ];
    assert_lint("mysql", "", &ups, &want);
}

/// Several dialects: each file is linted for each, and a finding both share is listed once.
#[test]
fn every_target_dialect_is_linted() {
    let files = migrations(&[("a", "ALTER TABLE t ALTER COLUMN c SET NOT NULL;\nDROP TABLE u;")]);
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, s)| (n.as_str(), s.as_str())).collect();
    let f = crate_for("lint_multi", "sqlite\", \"postgres", "ddl-lock-timeout = 5\n", &refs);
    let (code, doc) = lint_json(&f, &[]);
    let codes: Vec<String> = found(&doc).into_iter().map(|(c, _, line)| format!("{c}:{line}")).collect();
    assert_eq!(codes, ["sqlite-alter-unsupported:1", "set-not-null-without-check:1", "destructive:2"], "{doc:#}");
    assert_eq!(code, 1);
    assert_eq!(doc["dialects"], serde_json::json!(["sqlite", "postgres"]));
}

#[test]
fn levels_are_configurable_and_unknown_rules_refused() {
    let files = migrations(&[("a", "ALTER TABLE t RENAME TO u;\nDROP TABLE v;")]);
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, s)| (n.as_str(), s.as_str())).collect();
    let levels = "\n[package.metadata.dbmigrate.lint]\nrename = \"error\"\ndestructive = \"off\"\n";
    let f = crate_for("lint_levels", "sqlite", levels, &refs);
    let (code, doc) = lint_json(&f, &[]);
    assert_eq!(found(&doc), [("rename".to_owned(), "V1__a.sql".to_owned(), 1)], "{doc:#}");
    assert_eq!(doc["findings"][0]["severity"], "error");
    assert_eq!(code, 1);
    let f = crate_for("lint_levels_bad", "sqlite", "\n[package.metadata.dbmigrate.lint]\nrenames = \"off\"\n", &refs);
    let (code, doc) = lint_json(&f, &[]);
    assert_eq!(code, 1, "{doc:#}");
    let finding = &doc["findings"][0];
    assert_eq!(finding["code"], "bad-config", "{doc:#}");
    assert!(finding["message"].as_str().is_some_and(|m| m.contains("unknown lint rule `renames`")), "{doc:#}");
    assert!(finding["help"][0].as_str().is_some_and(|h| h.contains("not-null-without-default")), "{doc:#}");
}

/// Released migrations cannot change: their findings show only with `--all`.
#[test]
fn released_migrations_are_linted_only_with_all() {
    let files = migrations(&[("a", "ALTER TABLE t RENAME TO u;")]);
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, s)| (n.as_str(), s.as_str())).collect();
    let f = crate_for("lint_scope", "sqlite", "", &refs);
    assert_eq!(found(&lint_json(&f, &[]).1).len(), 1);
    let release = f.cli().arg("release").output().expect("release");
    assert!(release.status.success(), "{}", dbmigrate_tests::text(&release));
    f.write("migrations/V2__b.sql", "ALTER TABLE u RENAME TO w;\n");
    f.write("migrations/V2__b.down.sql", "SELECT 1;\n");
    let (code, doc) = lint_json(&f, &[]);
    assert_eq!(found(&doc), [("rename".to_owned(), "V2__b.sql".to_owned(), 1)], "{doc:#}");
    assert_eq!((code, doc["linted"].as_u64()), (0, Some(1)));
    let (_, doc) = lint_json(&f, &["--all"]);
    let files: Vec<String> = found(&doc).into_iter().map(|(_, file, _)| file).collect();
    assert_eq!(files, ["V1__a.sql", "V2__b.sql"], "{doc:#}");
    assert_eq!(doc["linted"].as_u64(), Some(2));
}

/// Adopting a history that ran in production: its drops are lint errors that nobody can fix any
/// more, so `release` takes them (and the build then stops reporting them); a placeholder left
/// for a person still refuses.
#[test]
fn release_adopts_a_history_with_lint_errors_but_not_with_a_placeholder() {
    let files = migrations(&[("a", "CREATE TABLE t (id INT);"), ("b", "DROP TABLE t;")]);
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, s)| (n.as_str(), s.as_str())).collect();
    let f = crate_for("lint_adopt", "sqlite", "", &refs);
    let (code, doc) = lint_json(&f, &[]);
    assert_eq!((code, found(&doc)), (1, vec![("destructive".to_owned(), "V2__b.sql".to_owned(), 1)]), "{doc:#}");
    f.write("migrations/V3__c.sql", "-- dbmigrate:todo fill it\nUPDATE t SET id = 0;\n");
    f.write("migrations/V3__c.down.sql", "SELECT 1;\n");
    let refused = f.cli().arg("release").output().expect("release");
    assert_eq!(dbmigrate_tests::code(&refused), 1, "{}", dbmigrate_tests::text(&refused));
    assert!(dbmigrate_tests::text(&refused).contains("todo-left"), "{}", dbmigrate_tests::text(&refused));
    std::fs::remove_file(f.path().join("migrations/V3__c.sql")).expect("rm");
    std::fs::remove_file(f.path().join("migrations/V3__c.down.sql")).expect("rm");
    let release = f.cli().arg("release").output().expect("release");
    assert!(release.status.success(), "{}", dbmigrate_tests::text(&release));
    let (code, doc) = lint_json(&f, &[]);
    assert_eq!((code, found(&doc).len()), (0, 0), "{doc:#}");
}

/// A table DDL the recognisers cannot read is `not-checked`, an info that never fails `lint`;
/// data statements, functions, views, triggers and settings-only changes are outside the rules'
/// scope and silent. Per dialect, then as a configured warning, then off.
#[test]
fn not_checked_is_an_info_for_unread_table_ddl_only() {
    let sqlite = [
        ("unknown_kind", "CREATE WIDGET w;"),
        ("alter_unknown", "ALTER TABLE t FROBNICATE c;"),
        ("view", "CREATE VIEW v AS SELECT 1;"),
        ("insert", "INSERT INTO t VALUES (1);"),
        ("drop_index", "DROP INDEX i;"),
        ("trigger", "CREATE TRIGGER g AFTER INSERT ON t BEGIN SELECT 1; END;"),
    ];
    let want = [("not-checked", 1, 1), ("not-checked", 2, 1), ("sqlite-alter-unsupported", 2, 1)];
    assert_lint("sqlite", "", &sqlite, &want);
    let postgres = [
        ("attach", "ALTER TABLE t ATTACH PARTITION p FOR VALUES IN (1);"),
        ("atomic", "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\nDROP TABLE t;"),
        ("function", "CREATE FUNCTION g() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;"),
        ("default", "ALTER TABLE t ALTER COLUMN c SET DEFAULT 1;"),
        ("owner", "ALTER TABLE t OWNER TO postgres;"),
        ("grant", "GRANT SELECT ON t TO PUBLIC;"),
        ("extension", "CREATE EXTENSION IF NOT EXISTS pgcrypto;"),
    ];
    assert_lint("postgres", "ddl-lock-timeout = 5\n", &postgres, &[("not-checked", 1, 1), ("not-checked", 2, 1)]);
    let mysql = [
        ("engine", "ALTER TABLE t ENGINE = InnoDB;"),
        ("ignore", "ALTER IGNORE TABLE t ADD c INT;"),
        ("columns", "ALTER TABLE t ADD (a INT NOT NULL, b INT);"),
        ("charset", "ALTER TABLE t DEFAULT CHARSET = utf8mb4;"),
        ("trigger", "CREATE TRIGGER g BEFORE INSERT ON t FOR EACH ROW SET NEW.id = 1;"),
        ("update", "UPDATE t SET id = 1;"),
    ];
    assert_lint("mysql", "", &mysql, &[("not-checked", 1, 1), ("not-checked", 2, 1), ("not-checked", 3, 1)]);

    let files = migrations(&[("a", "CREATE WIDGET w;")]);
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, s)| (n.as_str(), s.as_str())).collect();
    let f = crate_for("lint_nc_info", "postgres", "", &refs);
    let (code, doc) = lint_json(&f, &[]);
    assert_eq!((code, doc["findings"][0]["severity"].as_str()), (0, Some("info")), "{doc:#}");
    let message = doc["findings"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("`CREATE WIDGET …`"), "the statement is named: {doc:#}");
    let levels = "\n[package.metadata.dbmigrate.lint]\nnot-checked = \"warning\"\n";
    let f = crate_for("lint_nc_warning", "postgres", levels, &refs);
    let (code, doc) = lint_json(&f, &[]);
    assert_eq!((code, doc["findings"][0]["severity"].as_str()), (0, Some("warning")), "{doc:#}");
    let f = crate_for("lint_nc_off", "postgres", "\n[package.metadata.dbmigrate.lint]\nnot-checked = \"off\"\n", &refs);
    assert_eq!(found(&lint_json(&f, &[]).1), []);
}
