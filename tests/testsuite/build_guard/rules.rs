//! One fixture per group of rules that fail in the same build; each snapshot holds the exact
//! text a user sees.

use super::{assert_check_agrees, failing_build, fixture};
use dbmigrate_tests::{assert, text};
use snapbox::str;

#[test]
#[cfg_attr(windows, ignore = "`|` is not allowed in Windows file names")]
fn names_duplicates_orphans_and_subfolders_fail_the_build() {
    let f = fixture(
        "guard-names",
        &[
            ("V2__ok.sql", "select 2;\n"),
            ("V1_x.sql", ""),
            ("v1__x.sql", ""),
            ("V1__x.SQL", ""),
            ("V1__bad-name.sql", ""),
            ("|1__x.sql", ""),
            ("nested/", ""),
            ("V20260101000000__a.sql", "select 1;\n"),
            ("V20260101000000__b.sql", "select 2;\n"),
            ("V5__gone.down.sql", "select 5;\n"),
        ],
    );
    let build = failing_build(&f);
    assert().eq(
        &build,
        str![[r#"
error: guard-names@0.1.0: migrations/nested: the migrations folder must be flat
error: guard-names@0.1.0:   help: refinery would run the SQL files inside it as migrations: move them up, or move the folder out
error: guard-names@0.1.0: migrations/V1__bad-name.sql: malformed migration file name: the name may hold only `a-z`, `0-9` and `_`
error: guard-names@0.1.0:   help: rename it to `V1__bad_name.sql`
error: guard-names@0.1.0: migrations/V1__x.SQL: malformed migration file name: the extension must be lowercase `.sql`
error: guard-names@0.1.0:   help: rename it to `V1__x.sql`
error: guard-names@0.1.0: migrations/V1_x.sql: malformed migration file name: the version must be followed by two underscores `__`
error: guard-names@0.1.0:   help: rename it to `V1__x.sql`
error: guard-names@0.1.0: migrations/v1__x.sql: malformed migration file name: a migration name starts with an uppercase `V`
error: guard-names@0.1.0:   help: rename it to `V1__x.sql`
error: guard-names@0.1.0: migrations/|1__x.sql: malformed migration file name: a migration name starts with an uppercase `V`
error: guard-names@0.1.0:   help: rename it to `V1__x.sql`
error: guard-names@0.1.0: migrations/V20260101000000__a.sql: version 20260101000000 is used by 2 files: `V20260101000000__a.sql`, `V20260101000000__b.sql`
error: guard-names@0.1.0:   help: give all but one a fresh version with `cargo dbmigrate renumber migrations/V20260101000000__b.sql`
error: guard-names@0.1.0: migrations/V5__gone.down.sql: down file without its up file `V5__gone.sql`
error: guard-names@0.1.0:   help: add `V5__gone.sql`, or delete the down file if the migration is gone
warning: guard-names@0.1.0: migrations/V2__ok.sql: the migration has no down file: `cargo dbmigrate down` cannot revert it
warning: guard-names@0.1.0:   help: add `migrations/V2__ok.down.sql` with the SQL that undoes it, unless it is irreversible on purpose

"#]],
    );
    assert_check_agrees(&f, "guard-names", &build);
}

/// Five released migrations, then every way of breaking the lock's promise at once.
#[test]
fn released_migrations_are_locked() {
    let files = [1, 2, 3, 4, 5].map(|v| (format!("V{v}__m{v}.sql"), format!("create table t{v} (id int);\n")));
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, s)| (n.as_str(), s.as_str())).collect();
    let f = fixture("guard-lock", &refs);
    f.cli().arg("release").assert().success();
    let m = |name: &str| f.path().join("migrations").join(name);
    let rm = |name: &str| std::fs::remove_file(m(name)).expect("rm");
    f.write("migrations/V1__m1.sql", "create table t1 (id bigint);\n"); // edited
    rm("V2__m2.sql"); // a gap: V3.. still there
    std::fs::rename(m("V3__m3.sql"), m("V3__third.sql")).expect("rename"); // renamed
    std::fs::rename(m("V4__m4.sql"), m("V40__m4.sql")).expect("rename"); // renumbered
    rm("V5__m5.sql"); // the newest: deleted
    f.write("migrations/V0__early.sql", "select 0;\n"); // out of order
    let build = failing_build(&f);
    assert().eq(
        &build,
        str![[r#"
error: guard-lock@0.1.0: migrations/V1__m1.sql: released migration was edited after it was released
error: guard-lock@0.1.0:   help: hash in migrations/dbmigrate.lock: 1e2cffd05f245863fa5bff27591f28e505fe4af466ad3337ebf8ae2015d5bf69
error: guard-lock@0.1.0:   help: hash on disk: 94726d9e8f09b21907b9013c96907c5fee2684ac52fc97c1c38e642835ab74fe
error: guard-lock@0.1.0:   help: revert the edit (`git checkout -- migrations/V1__m1.sql`) and add a new migration with `cargo dbmigrate new <message>`
error: guard-lock@0.1.0:   help: if databases must get the edited text, record it with `cargo dbmigrate release --rehash 1 --reason "…"`
error: guard-lock@0.1.0: migrations/V2__m2.sql: gap: version 2 is released (line 7 of dbmigrate.lock) but `V2__m2.sql` is missing
error: guard-lock@0.1.0:   help: restore it (`git checkout -- migrations/V2__m2.sql`): databases that applied it expect the file
error: guard-lock@0.1.0: migrations/V3__third.sql: released migration `V3__m3.sql` was renamed to `V3__third.sql`
error: guard-lock@0.1.0:   help: rename it back to `migrations/V3__m3.sql`: its name is recorded in databases that applied it
error: guard-lock@0.1.0:   help: to change anything, add a new migration with `cargo dbmigrate new <message>`
error: guard-lock@0.1.0: migrations/V40__m4.sql: released migration `V4__m4.sql` was renamed to `V40__m4.sql`
error: guard-lock@0.1.0:   help: rename it back to `migrations/V4__m4.sql`: its version and name are recorded in databases that applied it
error: guard-lock@0.1.0: migrations/V5__m5.sql: released migration was deleted
error: guard-lock@0.1.0:   help: restore it (`git checkout -- migrations/V5__m5.sql`): databases that applied it expect the file
error: guard-lock@0.1.0:   help: to undo its change, add a new migration with `cargo dbmigrate new <message>`
error: guard-lock@0.1.0: migrations/V0__early.sql: unreleased migration is out of order: version 0 is not newer than the newest released version 5
error: guard-lock@0.1.0:   help: databases already past that version would skip it or refuse to start
error: guard-lock@0.1.0:   help: give it a fresh version with `cargo dbmigrate renumber migrations/V0__early.sql`

"#]],
    );
    assert_check_agrees(&f, "guard-lock", &build);

    // release refuses while the set is broken; renumber fixes the out-of-order file and
    // refuses to touch a released one.
    f.cli().arg("release").assert().code(1);
    f.cli().args(["renumber", "migrations/V1__m1.sql"]).assert().code(1);
    let out = f.cli().args(["renumber", "migrations/V0__early.sql"]).output().expect("renumber");
    assert!(out.status.success(), "{}", text(&out));
    assert!(!f.list("migrations").contains(&"V0__early.sql".to_owned()));
    let after = failing_build(&f);
    assert!(after.contains("released migration was deleted") && !after.contains("out of order"), "{after}");
}

/// Two branches that each released a migration: git leaves conflict markers in the lock.
#[test]
fn a_conflicted_lock_fails_the_build() {
    let f = fixture("guard-conflict", &[("V1__a.sql", "select 1;\n")]);
    f.cli().arg("release").assert().success();
    let ours = f.read("migrations/dbmigrate.lock");
    let (head, _) = ours.split_once("total=").expect("total line");
    let conflicted = format!(
        "{head}<<<<<<< HEAD\ntotal=1111111111111111\nV1 a up=[..]\n=======\ntotal=2222222222222222\nV1 b up=[..]\n>>>>>>> feature\n"
    );
    f.write("migrations/dbmigrate.lock", &conflicted);
    let build = failing_build(&f);
    assert().eq(
        &build,
        str![[r#"
error: guard-conflict@0.1.0: migrations/dbmigrate.lock:5: unresolved git merge conflict in the lock (lines 5-11)
error: guard-conflict@0.1.0:   5 | <<<<<<< HEAD
error: guard-conflict@0.1.0:   help: keep both sides' migration files, then run `cargo dbmigrate release --resolve`: it rebuilds the lock from both sides' releases (the same after a merge or a rebase)
error: guard-conflict@0.1.0:   help: then `git add migrations/dbmigrate.lock` and continue the merge or rebase

"#]],
    );
    assert_check_agrees(&f, "guard-conflict", &build);
}

/// The engine refuses history tables over 54 characters (MySQL's side table must fit in 64);
/// the build used to accept them, so a crate built and then failed at `run`.
#[test]
fn a_history_table_the_engine_refuses_fails_the_build() {
    let f = fixture("guard-table", &[("V1__a.sql", "select 1;\n")]);
    let manifest = f.read("Cargo.toml");
    let table = "h".repeat(60);
    let settings = format!("[package.metadata.dbmigrate]\nhistory-table = \"{table}\"\n");
    f.write("Cargo.toml", &manifest.replacen("[package.metadata.dbmigrate]\n", &settings, 1));
    let build = failing_build(&f);
    assert().eq(
        &build,
        str![[r#"
error: guard-table@0.1.0: Cargo.toml: `package.metadata.dbmigrate.history-table` is 60 characters long; the limit is 54
error: guard-table@0.1.0:   help: shorten it: on MySQL/MariaDB the engine adds a `<table>_dbmigrate` table, and identifiers stop at 64 characters

"#]],
    );
    assert_check_agrees(&f, "guard-table", &build);
}
