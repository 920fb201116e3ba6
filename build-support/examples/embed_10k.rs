//! Times validation + code generation for a crate with N migrations (default 10,000), the
//! work `embed()` does inside a build script. Run it in the dev profile, as build scripts run:
//! `cargo run -p dbmigrate-build --example embed_10k -- [N] [RUNS]`.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(11);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"bench\"\n").expect("write");
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).expect("mkdir");
    for i in 0..n {
        let v = 20200101000000_i64 + i as i64;
        let up =
            format!("-- migration {i}\ncreate table t{i} (\n    id integer primary key,\n    name text not null\n);\n");
        std::fs::write(migrations.join(format!("V{v}__m{i}.sql")), up).expect("write");
        std::fs::write(migrations.join(format!("V{v}__m{i}.down.sql")), format!("drop table t{i};\n")).expect("write");
    }
    let out = dir.path().join("out");
    let mut ms: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let generated = dbmigrate_build::Embed::new().generate(dir.path(), &out);
            assert!(generated.code.is_some(), "{:?}", generated.directives);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    if std::env::var_os("PARTS").is_some() {
        let t = Instant::now();
        let (set, _) = dbmigrate_build::MigrationSet::load(dir.path(), "migrations");
        println!("  MigrationSet::load: {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        for m in &set.migrations {
            std::hint::black_box(dbmigrate_build::ContentHash::of_normalized(&m.up_sql));
            std::hint::black_box(m.down_sql.as_deref().map(dbmigrate_build::ContentHash::of_normalized));
        }
        println!("  sha256 of every file again: {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let mut total = 0;
        for e in std::fs::read_dir(&migrations).expect("dir") {
            total += std::fs::read(e.expect("e").path()).expect("read").len();
        }
        println!("  plain read of every file: {:.1} ms ({total} bytes)", t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "validation + codegen, {n} migrations (up + down files): median {:.1} ms (min {:.1}, max {:.1}) over {runs} runs",
        ms[runs / 2],
        ms[0],
        ms[runs - 1]
    );
}
