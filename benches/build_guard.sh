#!/usr/bin/env bash
# Benchmarks of the build-time guard (issue 3). Prints medians.
#  1. validation + code generation for 10,000 migrations, timed inside a real build script
#     (dev profile, as users' build scripts run): goal <= 100 ms.
#  2. incremental `cargo build` after adding one migration to a crate holding 1,000, against
#     the same crate using refinery's `embed_migrations!` plus a rerun-if-changed build.rs:
#     goal ratio <= 1.05.
#  3. the number of crates in dbmigrate-build's dependency tree.
# Measured 2026-11-25, 2-core VM shared with other builds (load ~2.6), `bash benches/build_guard.sh 7`:
#  1. before the OUT_DIR hash cache: 287 ms median (min 220). Reading 10,000 files costs 55-75 ms
#     here even in a release build, SHA-256 in an unoptimised build script ~100 ms.
#     2026-11-25, with the cache (`bash benches/build_guard.sh 3`, load ~2): cold (no cache)
#     271 ms median (min 196); warm, one migration added: 170 ms median (min 108) -- goal NOT
#     met yet: stat of every file (~30-55 ms), decoding the cache, name parsing and pairing in
#     an unoptimised build dominate the warm run.
#  2. dbmigrate 952 ms vs refinery embed_migrations! 1442 ms: ratio 0.66 (goal <= 1.05 met).
#  3. 20 crates (was 85 with refinery-core as a dependency).
# 2026-12-01, with the lint (issue 14), three dialects, load 9.8-11.6 (shared machine), same run:
#  1. lint: cold 1934 ms median (min 574), warm 503 ms (min 151); main without lint: cold 885 ms
#     (min 692), warm 498 ms (min 313). The load dominates; see benches/README.md.
# 2026-12-01, cheaper debug-build code (issues 14/15), load 21-25, instructions by callgrind of
#  `embed_10k 1000 1` against the parent 91a637e (see benches/README.md): three dialects as here,
#  cold 309.7 M -> 272.0 M, warm 79.5 M -> 63.0 M; one dialect with downs, warm 128.9 M -> 93.7 M.
#  Wall clock at that load (not comparable between runs): parent cold 6932.6 ms / warm 2050.9 ms,
#  this branch later, while its tests compiled, 9915.4 / 3020.5 ms. Goals not judged here.
# Usage: bash benches/build_guard.sh [RUNS]   (default 11; builds offline in target/bench)
#   BENCH_ROOT=/path/to/other/checkout: measure that checkout's build-support with this script
#   (a baseline in the same run); BENCH_ONLY=1: part 1 only.
# Part 1 lints too (issue 14): the crate targets all three dialects, and every tenth migration
# is an ALTER TABLE the recognisers read.
set -euo pipefail
runs=${1:-11}
root=${BENCH_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}/bench
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]}'; }

# crate NAME DEPS BUILD_RS MAIN_RS: a crate in $work/NAME sharing this workspace's lock file.
crate() {
  mkdir -p "$work/$1/src" "$work/$1/migrations"
  printf '[package]\nname = "%s"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n\n%s\n' "$1" "$2" > "$work/$1/Cargo.toml"
  printf '%s\n' "$3" > "$work/$1/build.rs"
  printf '%s\n' "$4" > "$work/$1/src/main.rs"
  cp "$root/Cargo.lock" "$work/$1/Cargo.lock"
}

# fill NAME COUNT: COUNT migrations with a few lines of SQL each (up files only, so refinery's
# own discovery sees the same set).
fill() {
  for i in $(seq "$2"); do
    if (( i % 10 == 0 )); then
      printf -- '-- migration %s\nalter table t%s add column note text not null default %s;\n' "$i" "$((i - 1))" "''" \
        > "$work/$1/migrations/V$((20200101000000 + i))__m$i.sql"
    else
      printf -- '-- migration %s\ncreate table t%s (\n    id integer primary key,\n    name text not null\n);\n' "$i" "$i" \
        > "$work/$1/migrations/V$((20200101000000 + i))__m$i.sql"
    fi
  done
}

refinery='refinery = { version = "0.10", features = ["int8-versions", "rusqlite-bundled"] }'
dbm_build="[build-dependencies]
dbmigrate-build = { path = \"$root/build-support\" }"

# 1. Inside the build script: 21 rounds of a cold run (no hash cache in OUT_DIR, as on a first
#    build) and a warm run after adding one migration (why a build script reruns); medians.
crate embed10k "[package.metadata.dbmigrate]
dialects = [\"sqlite\", \"postgres\", \"mysql\"]
ddl-lock-timeout = 5

$dbm_build
[dependencies]
$refinery" '
fn main() {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let migrations = std::path::Path::new("migrations");
    let time = || {
        let t = std::time::Instant::now();
        assert!(dbmigrate_build::Embed::new().run());
        t.elapsed().as_secs_f64() * 1000.0
    };
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for i in 0..21 {
        let _ = std::fs::remove_file(out.join(dbmigrate_build::internal::CACHE_FILE));
        cold.push(time());
        std::fs::write(migrations.join(format!("V{}__extra.sql", 30000101000000_i64 + i)), "select 1;\n").unwrap();
        warm.push(time());
    }
    for i in 0..21 {
        let _ = std::fs::remove_file(migrations.join(format!("V{}__extra.sql", 30000101000000_i64 + i)));
    }
    assert!(dbmigrate_build::Embed::new().run()); // the code for the folder as it is now
    for (what, ms) in [("cold", &mut cold), ("warm, one migration added", &mut warm)] {
        ms.sort_by(f64::total_cmp);
        println!("cargo::warning=BENCH {what}: median {:.1} ms (min {:.1}, max {:.1}) over 21 runs", ms[10], ms[0], ms[20]);
    }
}' 'include!(concat!(env!("OUT_DIR"), "/dbmigrate.rs"));
fn main() { println!("{}", migrations::MIGRATIONS.len()); }'
fill embed10k 10000
# As after a checkout: files modified within 2 s of a cache write are never trusted from it.
find "$work/embed10k/migrations" -name '*.sql' -exec touch -d '1 hour ago' {} +
echo "building the 10,000-migration crate (first run compiles refinery)..." >&2
out=$(cd "$work/embed10k" && cargo build --offline 2>&1) || { echo "$out"; exit 1; }
echo "1. validation + codegen, 10,000 migrations, inside the build script:"
grep -o 'BENCH.*' <<<"$out" | sed 's/BENCH /   /'
[[ ${BENCH_ONLY:-} == 1 ]] && exit 0

# 2. Incremental build after adding one migration: ours vs refinery's macro.
crate ours "$dbm_build
[dependencies]
$refinery" 'fn main() { dbmigrate_build::embed(); }' 'include!(concat!(env!("OUT_DIR"), "/dbmigrate.rs"));
fn main() { println!("{}", migrations::runner().get_migrations().len()); }'
crate theirs "[dependencies]
$refinery" 'fn main() { println!("cargo::rerun-if-changed=migrations"); }' 'mod embedded { refinery::embed_migrations!("migrations"); }
fn main() { println!("{}", embedded::migrations::runner().get_migrations().len()); }'
fill ours 1000
fill theirs 1000

incremental() {
  (cd "$work/$1" && cargo build -q --offline)
  for i in $(seq "$runs"); do
    printf 'create table extra%s (id integer);\n' "$i" > "$work/$1/migrations/V30000101000000__extra.sql"
    local t0 t1; t0=$(date +%s%N); (cd "$work/$1" && cargo build -q --offline); t1=$(date +%s%N)
    rm "$work/$1/migrations/V30000101000000__extra.sql"
    (cd "$work/$1" && cargo build -q --offline)
    echo $(( (t1 - t0) / 1000000 ))
  done | median
}
a=$(incremental ours); b=$(incremental theirs)
echo "2. incremental cargo build after adding 1 of 1,000 migrations: dbmigrate ${a} ms, refinery embed_migrations! ${b} ms, ratio $(awk "BEGIN {printf \"%.3f\", $a / $b}") (median of $runs)"

# 3. Dependency tree.
n=$(cd "$root" && cargo tree -p dbmigrate-build -e normal --prefix none --offline | sed 's/ (\*)$//' | sort -u | wc -l)
echo "3. crates in dbmigrate-build's normal dependency tree (itself included): $n"
