//! Times validation + code generation for a crate with N migrations (default 10,000), the
//! work `embed()` does inside a build script. Run it in the dev profile, as build scripts run:
//! `cargo run -p dbmigrate-build --example embed_10k -- [N] [RUNS]` (`PARTS=1` adds a breakdown).
//! `BENCH_DIALECTS=1` makes the crate look like `benches/build_guard.sh`'s: all three dialects, a
//! DDL lock timeout, every tenth migration an `ALTER TABLE` the lint reads whole, and no down
//! files (so every migration gets a `no-down` warning that the check then summarises).
//!
//! Each run is measured twice: cold (no hash cache in OUT_DIR, as on a first build) and warm
//! after adding one migration (the usual reason a build script reruns). The migration files get
//! a modification time an hour ago, as files from a checkout have; files written within the
//! last two seconds are never trusted from the cache.

use std::time::{Duration, Instant, SystemTime};

fn write_old(path: &std::path::Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).expect("create");
    file.write_all(text.as_bytes()).expect("write");
    file.set_modified(SystemTime::now() - Duration::from_secs(3600)).expect("set mtime");
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(11);
    let dir = tempfile::tempdir().expect("tempdir");
    let three = std::env::var_os("BENCH_DIALECTS").is_some();
    let metadata =
        "[package.metadata.dbmigrate]\ndialects = [\"sqlite\", \"postgres\", \"mysql\"]\nddl-lock-timeout = 5\n";
    let manifest = format!("[package]\nname = \"bench\"\n{}", if three { metadata } else { "" });
    std::fs::write(dir.path().join("Cargo.toml"), manifest).expect("write");
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).expect("mkdir");
    for i in 0..n {
        let v = 20200101000000_i64 + i as i64;
        let up = if three && i % 10 == 9 {
            format!("-- migration {i}\nalter table t{} add column note text not null default '';\n", i - 1)
        } else {
            format!("-- migration {i}\ncreate table t{i} (\n    id integer primary key,\n    name text not null\n);\n")
        };
        write_old(&migrations.join(format!("V{v}__m{i}.sql")), &up);
        if !three {
            write_old(&migrations.join(format!("V{v}__m{i}.down.sql")), &format!("drop table t{i};\n"));
        }
    }
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    // What `Embed::run` does, minus printing: generate, then write the code and the cache.
    let timed = || {
        let t = Instant::now();
        let generated = dbmigrate_build::Embed::new().generate(dir.path(), &out);
        assert!(generated.write(&out), "{:?}", generated.directives);
        t.elapsed().as_secs_f64() * 1000.0
    };
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let _ = std::fs::remove_file(out.join(dbmigrate_build::internal::CACHE_FILE));
        cold.push(timed());
        let v = 30000101000000_i64 + run as i64;
        std::fs::write(migrations.join(format!("V{v}__extra{run}.sql")), "create table extra (id integer);\n")
            .expect("write");
        warm.push(timed());
    }
    if std::env::var_os("PARTS").is_some() {
        let t = Instant::now();
        let (set, _) = dbmigrate_build::internal::MigrationSet::load(dir.path(), "migrations");
        println!("  MigrationSet::load (CLI, reads everything): {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        for m in &set.migrations {
            std::hint::black_box(set.texts.up(m).map(dbmigrate_build::internal::ContentHash::of_normalized));
            std::hint::black_box(set.texts.down(m).map(dbmigrate_build::internal::ContentHash::of_normalized));
        }
        println!("  sha256 of every file again: {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let mut total = 0;
        for e in std::fs::read_dir(&migrations).expect("dir") {
            total += std::fs::read(e.expect("e").path()).expect("read").len();
        }
        println!("  plain read of every file: {:.1} ms ({total} bytes)", t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        for e in std::fs::read_dir(&migrations).expect("dir") {
            std::hint::black_box(e.expect("e").metadata().expect("stat"));
        }
        println!("  stat of every file: {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
    }
    let files = if three { "up files only, 3 dialects" } else { "up + down files" };
    let report = |what: &str, ms: &mut Vec<f64>| {
        ms.sort_by(f64::total_cmp);
        println!(
            "validation + codegen, {n} migrations ({files}), {what}: median {:.1} ms (min {:.1}, max {:.1}) over {runs} runs",
            ms[runs / 2],
            ms[0],
            ms[runs - 1]
        );
    };
    report("cold (no cache)", &mut cold);
    report("warm (cache, one migration added)", &mut warm);
}
