#!/usr/bin/env bash
# Benchmark: `cargo dbmigrate new` in a crate whose migrations folder holds 1,000 migrations.
# Baselines measured in the same run: spawning a trivial process (the floor), and
# `sqlx migrate add` on the same folder when sqlx-cli is on PATH (the issue's goal: ≤ sqlx).
# Usage: bash benches/new.sh [RUNS]   (release build; prints medians in milliseconds)
set -euo pipefail
runs=${1:-41}
cd "$(dirname "$0")/.."
cargo build -q --release -p cargo-dbmigrate
bin=$PWD/${CARGO_TARGET_DIR:-target}/release/cargo-dbmigrate
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/migrations"
printf '[package]\nname = "bench"\nversion = "0.1.0"\nedition = "2021"\n' > "$work/Cargo.toml"
for i in $(seq 1000); do
  v=$((20200101000000 + i))
  echo "select $i;" > "$work/migrations/V${v}__m$i.sql"
  echo "select -$i;" > "$work/migrations/V${v}__m$i.down.sql"
done

# median_ms CMD...: runs CMD $runs times in $work, removing what it created, prints the median.
median_ms() {
  local samples=() t0 t1
  for _ in $(seq "$runs"); do
    t0=$(date +%s%N); (cd "$work" && "$@" >/dev/null 2>&1); t1=$(date +%s%N)
    samples+=($(( (t1 - t0) / 1000 )))
    find "$work/migrations" -newer "$work/Cargo.toml" -name '*bench_add*' -delete
  done
  printf '%s\n' "${samples[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1000}'
}

floor=$(median_ms /bin/true)
ours=$(median_ms "$bin" dbmigrate new bench_add)
echo "new with 1,000 migrations: median ${ours} ms over $runs runs (process-spawn floor ${floor} ms)"
if command -v sqlx >/dev/null; then
  theirs=$(median_ms sqlx migrate add -r --source migrations bench_add)
  echo "sqlx migrate add on the same folder: median ${theirs} ms; ratio $(awk "BEGIN {printf \"%.2f\", $ours / $theirs}")"
else
  echo "sqlx-cli not on PATH: install it with 'cargo install sqlx-cli --no-default-features --features sqlite' to compare"
fi
