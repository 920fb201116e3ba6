//! `cargo dbmigrate diff`, `schema dump` and `check --schema` on a real PostgreSQL: each
//! generated pair is proved by a round trip on a populated database (up gives the desired
//! schema, down the old), and no scratch database outlives the command.

use super::{ok, spawn};
use dbmigrate_runtime::DatabaseUrl;
use dbmigrate_runtime::schema::{self, PgSchemaSession, Renames, Schema};
use dbmigrate_tests::{Backend, Fixture, TestDb, code, dbm, text};
use std::process::{Command, Output};

const HISTORY: &str = "refinery_schema_history";
const DEV: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A postgres crate whose migrations hold `old` (V1) and whose schema.sql is `desired`.
fn project(old: &str, desired: &str) -> Fixture {
    let f = Fixture::new("autogen_pg");
    let manifest = std::fs::read_to_string(f.path().join("Cargo.toml")).expect("manifest");
    f.write("Cargo.toml", &format!("{manifest}\n[package.metadata.dbmigrate]\ndialects = [\"postgres\"]\n"));
    f.write("migrations/V1__old.sql", old);
    f.write("migrations/V1__old.down.sql", "-- irreversible in these tests\n");
    f.write("schema.sql", desired);
    f
}

/// Runs the CLI in `f` and proves afterwards that no scratch database of that process is left.
fn run(f: &Fixture, args: &[&str]) -> Output {
    run_with(f, args, &[])
}

/// [`run`] with environment variables set.
fn run_with(f: &Fixture, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let child = spawn(f, args, envs);
    let pid = child.id();
    let out = child.wait_with_output().expect("wait");
    assert_eq!(scratch_left(pid), "", "scratch databases left by {args:?}: {}", text(&out));
    out
}

/// The scratch databases the process `pid` made that still exist.
fn scratch_left(pid: u32) -> String {
    let sql =
        format!("SELECT string_agg(datname, ' ') FROM pg_database WHERE datname LIKE 'dbmigrate\\_diff\\_{pid}\\_%'");
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qAtX", "-c", &sql])
        .output()
        .expect("psql");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn diff(f: &Fixture, extra: &[&str]) -> Output {
    let mut args = vec!["diff", "-m", "change", "--dev-url", DEV];
    args.extend_from_slice(extra);
    run(f, &args)
}

/// The schema of the database `db`, without the engine's tables.
fn introspect(db: &TestDb) -> Schema {
    let url = DatabaseUrl::parse(&db.url, std::path::Path::new(".")).expect("url");
    let skip = schema::engine_tables(HISTORY);
    let skip: Vec<&str> = skip.iter().map(String::as_str).collect();
    PgSchemaSession::connect(&url).expect("connect").introspect(&skip).expect("introspect")
}

/// The schema `sql` gives when loaded into a fresh database by psql.
fn schema_of(f: &Fixture, name: &str, sql: &str) -> Schema {
    let db = TestDb::new(Backend::Postgres, name, f.path());
    if !sql.trim().is_empty() {
        db.query(sql);
    }
    introspect(&db)
}

fn assert_same(actual: &Schema, expected: &Schema, what: &str) {
    let diff = schema::differences(actual, expected, &Renames::default());
    assert!(diff.is_empty(), "{what}: {:#?}", diff.describe());
    let names = |s: &Schema| s.tables.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(actual), names(expected), "{what}");
}

/// The written up file's name (not V1's).
fn written(f: &Fixture) -> String {
    let files = f.list("migrations");
    let up = files.iter().find(|n| n.starts_with('V') && !n.starts_with("V1__") && !n.ends_with(".down.sql"));
    up.unwrap_or_else(|| panic!("no migration written: {files:?}")).clone()
}

/// Generates the migration from `old` to `desired` (with `extra` arguments), then proves it:
/// applied to a database at `old` holding `rows`, it gives `desired`; reverted, `old` again.
/// Returns the up, the down and the diff's stderr.
fn round_trip(old: &str, desired: &str, rows: &str, extra: &[&str]) -> (String, String, String) {
    let f = project(old, desired);
    // The database is at the old schema, with rows, before the migration is generated.
    let db = TestDb::new(Backend::Postgres, "autogen", f.path());
    ok(dbm(f.path(), &db.url, &["run", "--no-backup"]));
    if !rows.is_empty() {
        db.query(rows);
    }
    let out = diff(&f, extra);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out);
    let up_name = written(&f);
    let down_name = up_name.replace(".sql", ".down.sql");
    let (up, down) = (f.read(&format!("migrations/{up_name}")), f.read(&format!("migrations/{down_name}")));
    if up.contains("-- dbmigrate:todo") {
        let refused = dbm(f.path(), &db.url, &["run", "--no-backup"]);
        assert_ne!(code(&refused), 0, "run must refuse a todo: {}", text(&refused));
        assert!(text(&refused).contains("todo"), "{}", text(&refused));
        resolve_todos(&f, &up_name);
    }
    ok(dbm(f.path(), &db.url, &["run", "--no-backup"]));
    assert_same(&introspect(&db), &schema_of(&f, "desired", desired), &format!("after the up:\n{up}"));
    ok(dbm(f.path(), &db.url, &["down", "--steps", "1", "--no-backup", "--yes"]));
    assert_same(&introspect(&db), &schema_of(&f, "old", old), &format!("after the down:\n{down}"));
    (up, down, stderr)
}

/// Proves `check` refuses the placeholders, then plays the person who reviewed them.
fn resolve_todos(f: &Fixture, up_name: &str) {
    let out = run(f, &["check"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(text(&out).contains("todo-left"), "{}", text(&out));
    let path = format!("migrations/{up_name}");
    let kept: Vec<String> =
        f.read(&path).lines().filter(|l| !l.starts_with("-- dbmigrate:todo")).map(str::to_owned).collect();
    f.write(&path, &(kept.join("\n") + "\n"));
    ok(run(f, &["check"]));
}

const USERS: &str = "CREATE TABLE users (id serial PRIMARY KEY, mail varchar(40) NOT NULL);\n";
const ROWS: &str = "INSERT INTO users (mail) VALUES ('a@x'), ('b@x')";

#[test]
fn a_new_table_with_a_foreign_key_and_a_default_timestamp() {
    let desired = format!(
        "{USERS}CREATE TABLE posts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
         user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE, \
         created_at timestamptz NOT NULL DEFAULT now());\nCREATE INDEX posts_user ON posts (user_id);\n"
    );
    let (up, down, _) = round_trip(USERS, &desired, ROWS, &[]);
    assert!(up.contains("CREATE TABLE \"posts\"") && up.contains("ON DELETE CASCADE"), "{up}");
    assert!(up.contains("\"created_at\" timestamp with time zone DEFAULT now() NOT NULL"), "{up}");
    assert!(up.contains("CREATE INDEX posts_user ON public.posts"), "{up}");
    assert!(down.contains("DROP TABLE \"posts\";"), "{down}");
}

#[test]
fn a_new_column_a_longer_one_another_type_and_a_server_default_change() {
    let old = "CREATE TABLE users (id serial PRIMARY KEY, mail varchar(40) NOT NULL, age text, active boolean DEFAULT true);\n";
    let desired = "CREATE TABLE users (id serial PRIMARY KEY, mail varchar(80) NOT NULL, age integer, \
                   active boolean DEFAULT false, phone text);\n\
                   COMMENT ON TABLE users IS 'people who sign in';\nCOMMENT ON COLUMN users.mail IS 'where mail goes';\n";
    let rows = "INSERT INTO users (mail, age) VALUES ('a@x', '30'), ('b@x', NULL)";
    let (up, down, stderr) = round_trip(old, desired, rows, &[]);
    assert!(up.contains("ALTER TABLE \"users\" ADD COLUMN \"phone\" text;"), "{up}");
    assert!(up.contains("ALTER COLUMN \"mail\" TYPE character varying(80);"), "{up}");
    assert!(up.contains("ALTER COLUMN \"age\" TYPE integer USING \"age\"::integer;"), "{up}");
    assert!(up.contains("ALTER COLUMN \"active\" SET DEFAULT false;"), "{up}");
    assert!(down.contains("ALTER COLUMN \"active\" SET DEFAULT true;"), "{down}");
    assert!(!up.contains("narrowing") && !stderr.contains("narrowed"), "{up}");
    assert!(up.contains("COMMENT ON TABLE \"users\" IS 'people who sign in';"), "{up}");
    assert!(down.contains("COMMENT ON COLUMN \"users\".\"mail\" IS NULL;"), "{down}");
}

#[test]
fn a_narrowing_change_is_written_with_a_warning() {
    let desired = "CREATE TABLE users (id serial PRIMARY KEY, mail varchar(20) NOT NULL);\n";
    let (up, _, stderr) = round_trip(USERS, desired, ROWS, &[]);
    let warn = up.find("-- warning: narrowing character varying(40) to character varying(20)").expect("warned");
    assert!(warn < up.find("TYPE character varying(20)").expect("altered"), "{up}");
    assert!(stderr.contains("warning: column `users.mail` is narrowed"), "{stderr}");
}

#[test]
fn new_changed_partial_and_expression_indexes() {
    let old =
        format!("{USERS}CREATE INDEX users_mail ON users (mail);\nCREATE INDEX users_gone ON users (id, mail);\n");
    let desired = format!(
        "{USERS}CREATE UNIQUE INDEX users_mail ON users (lower(mail));\nCREATE INDEX users_short ON users (mail) WHERE id < 10;\n"
    );
    let (up, down, _) = round_trip(&old, &desired, ROWS, &[]);
    assert!(up.contains("DROP INDEX \"users_mail\";") && up.contains("DROP INDEX \"users_gone\";"), "{up}");
    assert!(up.contains("CREATE UNIQUE INDEX users_mail ON public.users USING btree (lower((mail)::text));"), "{up}");
    assert!(up.contains("WHERE (id < 10);"), "{up}");
    assert!(down.contains("CREATE INDEX users_gone ON public.users USING btree (id, mail);"), "{down}");
}

#[test]
fn a_removed_column_and_table_are_destructive_and_the_down_recreates_them() {
    let old = format!(
        "{}CREATE TABLE audit (id int PRIMARY KEY, note text);\n",
        USERS.replace(");", ", phone text NOT NULL DEFAULT '');")
    );
    let (up, down, stderr) = round_trip(&old, USERS, ROWS, &[]);
    assert!(up.contains("-- dbmigrate:destructive drops column users.phone and its data\nALTER TABLE \"users\" DROP COLUMN \"phone\";"), "{up}");
    assert!(up.contains("-- dbmigrate:destructive drops table audit and its rows\nDROP TABLE \"audit\";"), "{up}");
    assert!(down.contains("its values are not restored") && down.contains("its rows are not restored"), "{down}");
    assert!(stderr.contains("dropping column `users.phone` loses its data"), "{stderr}");
    assert!(stderr.contains("dropping table `audit` loses its rows"), "{stderr}");
}

#[test]
fn a_not_null_column_takes_its_default_or_the_three_safe_steps() {
    let with_default =
        "CREATE TABLE users (id serial PRIMARY KEY, mail varchar(40) NOT NULL, score integer NOT NULL DEFAULT 0);\n";
    let (up, _, _) = round_trip(USERS, with_default, ROWS, &[]);
    assert!(up.contains("ADD COLUMN \"score\" integer DEFAULT 0 NOT NULL;") && !up.contains("todo"), "{up}");
    let without = "CREATE TABLE users (id serial PRIMARY KEY, mail varchar(40) NOT NULL, nick text NOT NULL);\n";
    let (up, _, _) = round_trip(USERS, without, ROWS, &[]);
    let add = up.find("ADD COLUMN \"nick\" text;").expect("added nullable");
    let todo = up.find("-- dbmigrate:todo").expect("todo marker");
    let update = up.find("UPDATE \"users\" SET \"nick\" = '';").expect("backfill");
    let set = up.find("ALTER COLUMN \"nick\" SET NOT NULL;").expect("set not null");
    assert!(add < todo && todo < update && update < set, "{up}");
}

#[test]
fn declared_renames_keep_the_data_and_likely_ones_are_offered() {
    let rest = "CREATE INDEX users_seen ON users (id DESC);\nCREATE INDEX users_mail ON users (lower(mail)) WHERE mail <> 'mail';\n\
                CREATE TABLE posts (id serial PRIMARY KEY, user_id int REFERENCES users (id));\n";
    let old = format!("{}{rest}", USERS.replace(");", ", CHECK (mail <> ''));"));
    let desired = format!(
        "CREATE TABLE people (id serial PRIMARY KEY, email varchar(40) NOT NULL, CHECK (email <> ''));\n{}",
        rest.replace(" users ", " people ").replace("(mail)", "(email)").replace("mail <>", "email <>")
    );
    let renames = ["--rename", "users=people", "--rename", "people.mail=email"];
    let (up, down, _) = round_trip(&old, &desired, ROWS, &renames);
    assert!(up.contains("ALTER TABLE \"users\" RENAME TO \"people\";"), "{up}");
    assert!(up.contains("ALTER TABLE \"people\" RENAME COLUMN \"mail\" TO \"email\";"), "{up}");
    assert!(!up.contains("DROP"), "{up}");
    assert!(down.contains("ALTER TABLE \"people\" RENAME TO \"users\";"), "{down}");
    let desired = "CREATE TABLE users (id serial PRIMARY KEY, email varchar(40) NOT NULL);\n";
    let f = project(USERS, desired);
    let out = diff(&f, &["--dry-run"]);
    let all = ok(out);
    assert!(all.contains("-- likely a rename: ALTER TABLE \"users\" RENAME COLUMN \"mail\" TO \"email\";"), "{all}");
    assert!(all.contains("pass `--rename users.mail=email`"), "{all}");
}

#[test]
fn an_enum_label_is_added_in_a_no_transaction_file_and_the_down_removes_it() {
    let old = "CREATE TYPE mood AS ENUM ('happy', 'sad');\nCREATE TABLE people (id serial PRIMARY KEY, m mood NOT NULL DEFAULT 'happy');\n";
    let desired = old.replace("'happy', 'sad'", "'happy', 'meh', 'sad'");
    let (up, down, _) = round_trip(old, &desired, "INSERT INTO people (m) VALUES ('sad'), ('happy')", &[]);
    assert!(up.starts_with("-- dbmigrate:no-transaction\n"), "{up}");
    assert!(up.contains("ALTER TYPE \"mood\" ADD VALUE 'meh' BEFORE 'sad';"), "{up}");
    assert!(down.contains("CREATE TYPE \"mood\" AS ENUM ('happy', 'sad');"), "{down}");
}

#[test]
fn check_constraint_and_foreign_key_action_changes_are_dropped_and_added() {
    let old = format!(
        "{USERS}CREATE TABLE posts (id serial PRIMARY KEY, user_id int REFERENCES users (id), stars int CHECK (stars >= 0));\n"
    );
    let desired = old
        .replace("REFERENCES users (id)", "REFERENCES users (id) ON DELETE CASCADE")
        .replace("stars >= 0", "stars BETWEEN 0 AND 5");
    let (up, down, _) = round_trip(&old, &desired, ROWS, &[]);
    assert!(up.contains("DROP CONSTRAINT \"posts_user_id_fkey\";"), "{up}");
    assert!(up.contains("ADD CONSTRAINT \"posts_user_id_fkey\" FOREIGN KEY (\"user_id\") REFERENCES \"users\" (\"id\") ON DELETE CASCADE;"), "{up}");
    assert!(
        up.contains("DROP CONSTRAINT \"posts_stars_check\";") && up.contains("CHECK (((stars >= 0) AND (stars <= 5)))"),
        "{up}"
    );
    assert!(down.contains("CHECK ((stars >= 0))"), "{down}");
}

#[test]
fn composite_keys_self_references_uniques_and_a_non_public_schema() {
    let desired = format!(
        "{USERS}CREATE SCHEMA app;\nCREATE TABLE app.nodes (id int PRIMARY KEY, parent int REFERENCES app.nodes (id), a text, b text, UNIQUE (a, b));\n\
         CREATE TABLE app.memberships (user_id int REFERENCES users (id), node_id int REFERENCES app.nodes (id), PRIMARY KEY (user_id, node_id));\n\
         CREATE INDEX memberships_node ON app.memberships (node_id);\n"
    );
    let (up, down, _) = round_trip(USERS, &desired, ROWS, &[]);
    let at = |what: &str| up.find(what).unwrap_or_else(|| panic!("no `{what}` in {up}"));
    assert!(at("CREATE SCHEMA \"app\";") < at("CREATE TABLE"), "{up}");
    assert!(at("CREATE TABLE \"app\".\"nodes\"") < at("CREATE TABLE \"app\".\"memberships\""), "{up}");
    assert!(up.contains("PRIMARY KEY (\"user_id\", \"node_id\")") && up.contains("UNIQUE (\"a\", \"b\")"), "{up}");
    assert!(down.trim_end().ends_with("DROP SCHEMA \"app\";"), "{down}");
    let with_unique = USERS.replace(");", ", UNIQUE (mail));");
    let (up, _, _) = round_trip(USERS, &with_unique, ROWS, &[]);
    assert!(up.contains("ADD CONSTRAINT \"users_mail_key\" UNIQUE (\"mail\");"), "{up}");
}

#[test]
fn check_schema_finds_drift_and_passes_once_the_migration_exists() {
    let f = project(USERS, &USERS.replace(");", ", phone text);"));
    let out = run(&f, &["check", "--schema", "--dev-url", DEV]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("schema-drift") && all.contains("column `users.phone` is missing"), "{all}");
    ok(diff(&f, &[]));
    ok(run(&f, &["check", "--schema", "--dev-url", DEV]));
    let out = diff(&f, &[]);
    assert!(ok(out).contains("nothing was written"));
}

#[test]
fn schema_dump_then_check_schema_passes_and_diff_writes_nothing() {
    let old = format!(
        "CREATE TYPE mood AS ENUM ('a', 'b');\n{USERS}CREATE TABLE posts (id serial PRIMARY KEY, user_id int REFERENCES users (id) ON DELETE SET NULL, m mood, \
         stars int CHECK (stars > 0));\nCREATE INDEX posts_user ON posts (user_id) WHERE user_id IS NOT NULL;\nCREATE VIEW v AS SELECT 1 AS one;\n\
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n\
         CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION touch();\n\
         CREATE POLICY own ON posts USING (user_id > 0);\n"
    );
    let f = project(&old, "");
    let out = run(&f, &["check", "--schema", "--dev-url", DEV]);
    assert_eq!(code(&out), 1, "an empty desired schema is drift: {}", text(&out));
    ok(run(&f, &["schema", "dump", "--dialect", "postgres", "--dev-url", DEV]));
    let first = f.read("schema.sql");
    assert!(first.contains("CREATE TYPE \"mood\"") && first.contains("CREATE TABLE \"posts\""), "{first}");
    ok(run(&f, &["check", "--schema", "--dev-url", DEV]));
    ok(run(&f, &["schema", "dump", "--dev-url", DEV]));
    assert_eq!(f.read("schema.sql"), first, "the dump is deterministic");
    let all = ok(diff(&f, &[]));
    for object in ["view v", "function touch", "trigger posts.posts_touch", "policy posts.own"] {
        assert!(all.contains(&format!("not compared: {object}")), "{all}");
    }
    assert_eq!(f.list("migrations").len(), 2);
}

#[test]
fn without_a_dev_url_or_with_several_dialects_it_says_what_to_pass_and_the_env_serves() {
    let f = project(USERS, USERS);
    let out = run(&f, &["diff", "-m", "x"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("hint: pass --dev-url postgres://postgres@127.0.0.1:5432/postgres"), "{}", text(&out));
    let manifest = f.read("Cargo.toml").replace("dialects = [\"postgres\"]", "dialects = [\"sqlite\", \"postgres\"]");
    f.write("Cargo.toml", &manifest);
    let out = run(&f, &["check", "--schema"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("pass --dialect sqlite or --dialect postgres"), "{}", text(&out));
    f.write("schema.postgres.sql", USERS);
    ok(run(&f, &["check", "--schema", "--dialect", "postgres", "--dev-url", DEV]));
    ok(run_with(&f, &["check", "--schema", "--dialect", "postgres"], &[("DBMIGRATE_DEV_URL", DEV)]));
}

#[test]
fn a_failing_replay_leaves_no_scratch_database() {
    let f = project("CREATE TABLE users (id int PRIMARY KEY);\nSELECT no_such_function();\n", USERS);
    let out = diff(&f, &[]);
    assert_eq!(code(&out), 101, "{}", text(&out));
    assert!(text(&out).contains("no_such_function"), "{}", text(&out));
    let f = project(USERS, "CREATE TABLE broken (;\n");
    let out = diff(&f, &[]);
    assert_eq!(code(&out), 101, "{}", text(&out));
    assert!(text(&out).contains("does not load into postgres"), "{}", text(&out));
}

#[test]
#[cfg(unix)]
fn an_interrupted_diff_exits_130_and_drops_its_scratch_database() {
    let f = project(&format!("{USERS}SELECT pg_sleep(5);\n"), USERS);
    let child = spawn(&f, &["diff", "-m", "x", "--dev-url", DEV], &[]);
    let pid = child.id();
    // Wait (bounded) until the scratch database exists: the replay is then under way.
    for _ in 0..200 {
        if !scratch_left(pid).is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!scratch_left(pid).is_empty(), "the diff never made its scratch database");
    let kill = Command::new("kill").args(["-INT", &pid.to_string()]).status().expect("kill");
    assert!(kill.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(code(&out), 130, "{}", text(&out));
    assert_eq!(scratch_left(pid), "", "{}", text(&out));
}

#[test]
fn the_vaultwarden_history_is_dumped_and_reproduced_from_an_empty_history() {
    let Some(corpus) = dbmigrate_tests::corpus_root() else { return };
    let source = corpus.join("vaultwarden/postgresql");
    let f = project("", "");
    std::fs::remove_dir_all(f.path().join("migrations")).expect("rm");
    std::fs::create_dir_all(f.path().join("migrations")).expect("mkdir");
    for entry in std::fs::read_dir(&source).expect("corpus") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, f.path().join("migrations").join(path.file_name().expect("name"))).expect("copy");
    }
    // Adopting a history: released, so its drops (which cannot change) are not linted.
    ok(run(&f, &["release"]));
    ok(run(&f, &["schema", "dump", "--dev-url", DEV]));
    let dumped = f.read("schema.sql");
    ok(run(&f, &["check", "--schema", "--dev-url", DEV]));
    let fresh = project("", &dumped);
    std::fs::remove_file(fresh.path().join("migrations/V1__old.sql")).expect("rm");
    std::fs::remove_file(fresh.path().join("migrations/V1__old.down.sql")).expect("rm");
    ok(diff(&fresh, &[]));
    ok(run(&fresh, &["check", "--schema", "--dev-url", DEV]));
    let want = schema_of(&f, "vw", &dumped);
    assert!(want.tables.len() > 10, "{:?}", want.tables.keys());
}

const CYCLE: &str = "CREATE TABLE a (id int PRIMARY KEY, b_id int);\n\
                     CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a (id));\n\
                     ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b (id);\n";

#[test]
fn tables_that_reference_each_other_are_created_then_joined_and_dropped_keys_first() {
    let (up, down, _) = round_trip(USERS, &format!("{USERS}{CYCLE}"), ROWS, &[]);
    let at = |text: &str, what: &str| text.find(what).unwrap_or_else(|| panic!("no `{what}` in {text}"));
    let last_create = up.rfind("CREATE TABLE").expect("created");
    assert!(
        at(&up, "ALTER TABLE \"a\" ADD CONSTRAINT \"a_b\" FOREIGN KEY (\"b_id\") REFERENCES \"b\"") > last_create,
        "{up}"
    );
    assert!(at(&down, "ALTER TABLE \"a\" DROP CONSTRAINT \"a_b\";") < at(&down, "DROP TABLE"), "{down}");
    // The other way: both tables leave, the cycle's key first, and the down makes them again.
    let rows = format!("{ROWS};\nINSERT INTO a VALUES (1, NULL);\nINSERT INTO b VALUES (1, 1);\nUPDATE a SET b_id = 1");
    let (up, down, _) = round_trip(&format!("{USERS}{CYCLE}"), USERS, &rows, &[]);
    let first_drop = at(&up, "DROP TABLE");
    assert!(up.find("DROP CONSTRAINT").is_some_and(|k| k < first_drop), "{up}");
    assert!(down.rfind("ADD CONSTRAINT").is_some_and(|k| k > down.rfind("CREATE TABLE").unwrap_or(0)), "{down}");
}

#[test]
fn deferrable_and_match_full_foreign_keys_are_compared_and_changed() {
    let old = format!(
        "{USERS}CREATE TABLE posts (id serial PRIMARY KEY, user_id int, other int, \
                       FOREIGN KEY (user_id, other) REFERENCES users (id, other));\n"
    )
    .replace("NOT NULL);", "NOT NULL, other int, UNIQUE (id, other));");
    let desired = old.replace(
        "REFERENCES users (id, other)",
        "REFERENCES users (id, other) MATCH FULL DEFERRABLE INITIALLY DEFERRED",
    );
    let (up, down, _) = round_trip(&old, &desired, ROWS, &[]);
    assert!(up.contains("DROP CONSTRAINT \"posts_user_id_other_fkey\";"), "{up}");
    assert!(up.contains("MATCH FULL") && up.contains("DEFERRABLE INITIALLY DEFERRED;"), "{up}");
    assert!(!down.contains("MATCH FULL") && !down.contains("DEFERRABLE"), "{down}");
    // Deferrable but checked at once by default is a third state.
    let immediate = old.replace("REFERENCES users (id, other)", "REFERENCES users (id, other) DEFERRABLE");
    let (up, _, _) = round_trip(&desired, &immediate, ROWS, &[]);
    assert!(up.contains(" DEFERRABLE;") && !up.contains("MATCH FULL"), "{up}");
    // A new table carries them in its CREATE TABLE.
    let (up, _, _) = round_trip(
        USERS.replace("NOT NULL);", "NOT NULL, other int, UNIQUE (id, other));").as_str(),
        &desired,
        ROWS,
        &[],
    );
    assert!(up.contains("CREATE TABLE \"posts\"") && up.contains("MATCH FULL DEFERRABLE INITIALLY DEFERRED"), "{up}");
}
