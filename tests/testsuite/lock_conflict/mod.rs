//! Two branches that each release a migration conflict on the lock; the printed instruction,
//! followed as written, resolves it after a merge and after a rebase alike.

use dbmigrate_tests::{Fixture, text};
use std::path::Path;
use std::process::{Command, Output};

fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"])
        .args(["-c", "merge.conflictStyle=diff3", "-c", "core.editor=true"])
        .args(args)
        .current_dir(dir)
        .env("GIT_EDITOR", "true")
        .output()
        .expect("run git")
}

#[track_caller]
fn ok(out: Output) -> Output {
    assert!(out.status.success(), "{}", text(&out));
    out
}

fn release(f: &Fixture) {
    let out = f.cli().arg("release").output().expect("release");
    assert!(out.status.success(), "{}", text(&out));
}

/// `main` with V1 released; `left` releases V3 and `right` releases V2, each committed.
fn two_branches() -> Fixture {
    let f = Fixture::new("lock-conflict");
    let dir = f.path();
    f.write("migrations/V1__base.sql", "create table base (id int);\n");
    ok(git(dir, &["init", "-q"]));
    release(&f);
    ok(git(dir, &["add", "-A"]));
    ok(git(dir, &["commit", "-qm", "base"]));
    ok(git(dir, &["checkout", "-qb", "left"]));
    f.write("migrations/V3__left.sql", "create table l (id int);\n");
    release(&f);
    ok(git(dir, &["add", "-A"]));
    ok(git(dir, &["commit", "-qm", "left"]));
    ok(git(dir, &["checkout", "-q", "main"]));
    ok(git(dir, &["checkout", "-qb", "right"]));
    f.write("migrations/V2__right.sql", "create table r (id int);\n");
    release(&f);
    ok(git(dir, &["add", "-A"]));
    ok(git(dir, &["commit", "-qm", "right"]));
    ok(git(dir, &["checkout", "-q", "left"]));
    f
}

/// `check` refuses the conflicted lock and prints one instruction, which is then followed.
fn follow_the_instruction(f: &Fixture) -> String {
    let check = f.cli().arg("check").output().expect("check");
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    let said = text(&check);
    assert!(said.contains("run `cargo dbmigrate release --resolve`"), "{said}");
    assert!(!said.contains("--theirs") && !said.contains("--ours"), "no side is named: {said}");
    let header = f.read("migrations/dbmigrate.lock");
    assert!(header.contains("cargo dbmigrate release --resolve"), "{header}");

    let resolved = f.cli().args(["release", "--resolve"]).output().expect("resolve");
    assert!(resolved.status.success(), "{}", text(&resolved));
    assert!(text(&resolved).contains("git add migrations/dbmigrate.lock"), "{}", text(&resolved));
    let check = f.cli().arg("check").output().expect("check");
    assert!(check.status.success(), "{}", text(&check));
    let again = f.cli().args(["release", "--resolve"]).output().expect("resolve again");
    assert!(text(&again).contains("no git conflict to resolve"), "{}", text(&again));
    ok(git(f.path(), &["add", "migrations/dbmigrate.lock"]));
    f.read("migrations/dbmigrate.lock")
}

fn released_versions(lock: &str) -> Vec<&str> {
    lock.lines().filter(|l| l.starts_with('V')).map(|l| l.split(' ').next().unwrap_or_default()).collect()
}

#[test]
fn a_merge_conflict_on_the_lock_is_resolved_by_the_printed_instruction() {
    let f = two_branches();
    assert!(!git(f.path(), &["merge", "-q", "right"]).status.success(), "the lock conflicts");
    let lock = follow_the_instruction(&f);
    ok(git(f.path(), &["commit", "-qm", "merge right"]));
    assert_eq!(released_versions(&lock), ["V1", "V2", "V3"]);
}

#[test]
fn a_rebase_conflict_on_the_lock_is_resolved_by_the_same_instruction() {
    let f = two_branches();
    assert!(!git(f.path(), &["rebase", "-q", "right"]).status.success(), "the lock conflicts");
    let lock = follow_the_instruction(&f);
    ok(git(f.path(), &["rebase", "--continue"]));
    assert_eq!(released_versions(&lock), ["V1", "V2", "V3"]);
    assert!(f.cli().arg("check").output().expect("check").status.success());
}

#[test]
fn the_same_version_on_both_sides_is_refused_and_the_lock_left_as_it_was() {
    let f = two_branches();
    // `right` also used version 3, for another migration.
    ok(git(f.path(), &["checkout", "-q", "right"]));
    f.write("migrations/V3__other.sql", "create table o (id int);\n");
    release(&f);
    ok(git(f.path(), &["add", "-A"]));
    ok(git(f.path(), &["commit", "-qm", "right v3"]));
    ok(git(f.path(), &["checkout", "-q", "left"]));
    assert!(!git(f.path(), &["merge", "-q", "right"]).status.success());
    let before = f.read("migrations/dbmigrate.lock");
    let out = f.cli().args(["release", "--resolve"]).output().expect("resolve");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("both sides released version 3"), "{}", text(&out));
    assert_eq!(f.read("migrations/dbmigrate.lock"), before, "nothing half-written");
}

/// A branch's unreleased V5 merged after `main`'s unreleased V7: `check` warns on V5 (the
/// build cannot see the order files arrived in), and the `renumber` it suggests clears it.
#[test]
fn an_unreleased_migration_merged_in_behind_a_newer_one_is_reported_by_check() {
    let f = Fixture::new("merge-order");
    let dir = f.path();
    f.write("migrations/V1__base.sql", "create table base (id int);\n");
    ok(git(dir, &["init", "-q"]));
    ok(git(dir, &["add", "-A"]));
    ok(git(dir, &["commit", "-qm", "base"]));
    ok(git(dir, &["checkout", "-qb", "feature"]));
    f.write("migrations/V5__feature.sql", "create table feature (id int);\n");
    ok(git(dir, &["add", "-A"]));
    ok(git(dir, &["commit", "-qm", "feature"]));
    ok(git(dir, &["checkout", "-q", "main"]));
    f.write("migrations/V7__main.sql", "create table main_t (id int);\n");
    ok(git(dir, &["add", "-A"]));
    ok(git(dir, &["commit", "-qm", "main"]));
    // Before the merge, each branch is in order.
    let check = f.cli().arg("check").output().expect("check");
    assert!(check.status.success() && !text(&check).contains("merged-out-of-order"), "{}", text(&check));

    ok(git(dir, &["merge", "-q", "--no-edit", "feature"]));
    let check = f.cli().arg("check").output().expect("check");
    let said = text(&check);
    assert!(check.status.success(), "a warning, not an error: {said}");
    assert!(said.contains("warning[merged-out-of-order]") && said.contains("V5__feature.sql"), "{said}");
    assert!(said.contains("after the newer `V7__main.sql`"), "{said}");
    let json = f.cli().args(["check", "--format", "json"]).output().expect("check json");
    assert!(String::from_utf8_lossy(&json.stdout).contains("\"merged-out-of-order\""), "{}", text(&json));

    // The first fix it names, followed as printed.
    let fix = said
        .lines()
        .find_map(|l| l.split_once("`cargo dbmigrate renumber ").map(|(_, rest)| rest.trim_end_matches('`').to_owned()))
        .expect("a renumber hint");
    let renumber = f.cli().args(["renumber", &fix]).output().expect("renumber");
    assert!(renumber.status.success(), "{}", text(&renumber));
    ok(git(dir, &["commit", "-qam", "renumber"]));
    let check = f.cli().arg("check").output().expect("check");
    assert!(!text(&check).contains("merged-out-of-order"), "{}", text(&check));
}
