#!/usr/bin/env bash
# Benchmark: `cargo dbmigrate diff --dry-run` per backend, with a 200-table schema built by a
# 1,000-migration history (200 CREATE TABLEs with an index each, then 800 migrations each adding
# a column to one of them, every second one with an index on it) and one edit to the desired
# schema (a new table with a foreign key), against the floor: the database's own client
# (sqlite3 / psql / mariadb) replaying the same ups into a fresh database, one transaction per
# migration as the tool runs them (the fresh database's creation is timed too: `diff` creates
# its scratch database itself). Timed alternately in the same run:
#   cold  `diff` with the caches removed (replays the history while it loads the schema file,
#         introspects both, renders);
#   warm  a second `diff` with nothing changed (reads both cached schemas: no scratch database);
#   edit  a third `diff` after a comment is appended to the schema file (the replayed schema
#         from its cache, the schema file loaded again: the edit-then-diff loop).
#
# Usage: bash benches/diff.sh [sqlite] [pg] [maria]   (default: all three; release build)
#   RUNS=3              timed runs of each (median)
#   TABLES=200 N=1000   tables and migrations (N >= TABLES; fewer for a quick run)
#   DBMIGRATE_BIN=path  benchmark this binary instead of building the release one
# Goals (issue 13): cold <= 1.2x the floor, warm <= 1 s.
set -euo pipefail
runs=${RUNS:-3}
tables=${TABLES:-200}
n=${N:-1000}
backends=("$@")
[ ${#backends[@]} -gt 0 ] || backends=(sqlite pg maria)
source "$(dirname "$0")/lib.sh"
bench_setup dbm_diff_bench

dialect_of() { case $1 in sqlite) echo sqlite ;; pg) echo postgres ;; maria) echo mysql ;; esac; }
dev_of() {
  case $1 in
    sqlite) ;;
    pg) echo "--dev-url postgres://postgres@127.0.0.1:5432/postgres" ;;
    maria) echo "--dev-url mysql://root@127.0.0.1:3306/" ;;
  esac
}
create_table() {
  case $1 in
    sqlite) echo "CREATE TABLE t$2 (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);" ;;
    pg) echo "CREATE TABLE t$2 (id integer PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());" ;;
    maria) echo "CREATE TABLE t$2 (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);" ;;
  esac
}
begin_of() { case $1 in sqlite) echo "BEGIN IMMEDIATE;" ;; pg) echo "BEGIN;" ;; maria) echo "START TRANSACTION;" ;; esac; }

# make_crate BACKEND: $work/BACKEND, a crate of that dialect holding the history, its floor
# script ($work/BACKEND.sql) and the desired schema (schema dump + one new table).
make_crate() {
  local b=$1 dir=$work/$1 i t f
  mkdir -p "$dir/src" "$dir/migrations"
  printf '[package]\nname = "bench"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n\n[package.metadata.dbmigrate]\ndialects = ["%s"]\n' \
    "$(dialect_of "$b")" > "$dir/Cargo.toml"
  echo 'fn main() {}' > "$dir/src/main.rs"
  for i in $(seq "$n"); do
    f="$dir/migrations/V${i}__m$i.sql"
    if [ "$i" -le "$tables" ]; then
      { create_table "$b" "$i"; echo "CREATE INDEX t${i}_name ON t$i (name);"; } > "$f"
    else
      t=$(( (i % tables) + 1 ))
      echo "ALTER TABLE t$t ADD COLUMN c$i INTEGER;" > "$f"
      [ $((i % 2)) -eq 0 ] && echo "CREATE INDEX t${t}_c$i ON t$t (c$i);" >> "$f"
    fi
  done
  for i in $(seq "$n"); do
    begin_of "$b"
    cat "$dir/migrations/V${i}__m$i.sql"
    echo "COMMIT;"
  done > "$work/$b.sql"
  # shellcheck disable=SC2046
  (cd "$dir" && dbm schema dump $(dev_of "$b") >/dev/null 2>"$work/dump.err") || { cat "$work/dump.err"; exit 1; }
  printf '\nCREATE TABLE edit (id INTEGER PRIMARY KEY, t1_id INTEGER, FOREIGN KEY (t1_id) REFERENCES t1 (id));\n' >> "$dir/schema.sql"
}

# dbm ARGS...: the binary in the current crate, its target dir (and so its cache) inside it.
dbm() { env -u DATABASE_URL -u DBMIGRATE_DEV_URL CARGO_TARGET_DIR="$PWD/target" "$bin" dbmigrate "$@"; }

# diff_once BACKEND OUT: one `diff --dry-run`, its stdout to OUT.
diff_once() {
  # shellcheck disable=SC2046
  (cd "$work/$1" && dbm diff -m edit --dry-run $(dev_of "$1") > "$2")
}

echo "diff --dry-run, $tables tables, $n migrations, median of $runs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for b in "${backends[@]}"; do
  make_crate "$b"
  cold=() warm=() edit=() fl=()
  for _ in $(seq "$runs"); do
    rm -rf "$work/$b/target/dbmigrate/replay"
    t0=$(now_us); diff_once "$b" "$work/cold.out"; t1=$(now_us)
    diff_once "$b" "$work/warm.out"; t2=$(now_us)
    echo "-- edited $(now_us)" >> "$work/$b/schema.sql"
    t3=$(now_us); diff_once "$b" "$work/edit.out"; t4=$(now_us)
    fresh "$b" 2>/dev/null; raw_client "$b" "$work/$b.sql"; t5=$(now_us)
    cold+=($(( (t1 - t0) / 1000 ))) warm+=($(( (t2 - t1) / 1000 ))) edit+=($(( (t4 - t3) / 1000 )))
    fl+=($(( (t5 - t4) / 1000 )))
    grep -qiE 'CREATE TABLE [`"]?edit' "$work/cold.out" || { echo "$b: diff did not find the edit:"; cat "$work/cold.out"; exit 1; }
    cmp -s "$work/cold.out" "$work/warm.out" || { echo "$b: the warm diff differs from the cold one"; exit 1; }
    cmp -s "$work/cold.out" "$work/edit.out" || { echo "$b: the diff after a comment differs from the cold one"; exit 1; }
  done
  case $b in
    sqlite) got=$(scalar sqlite "$work/bench.db" "SELECT count(*) FROM sqlite_master WHERE type = 'table'") ;;
    pg) got=$(scalar pg "" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") ;;
    maria) got=$(scalar maria "" "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()") ;;
  esac
  [ "$got" -eq "$tables" ] || { echo "$b: the floor built $got tables, not $tables"; exit 1; }
  m_cold=$(printf '%s\n' "${cold[@]}" | median)
  m_warm=$(printf '%s\n' "${warm[@]}" | median)
  m_edit=$(printf '%s\n' "${edit[@]}" | median)
  m_floor=$(printf '%s\n' "${fl[@]}" | median)
  printf '%-6s floor %6d ms (%s)  cold %6d ms (%s) %sx floor (goal <= 1.2)  warm %5d ms (%s) (goal <= 1000)  edit %5d ms (%s)\n' \
    "$b" "$m_floor" "${fl[*]}" "$m_cold" "${cold[*]}" "$(ratio "$m_cold" "$m_floor")" "$m_warm" "${warm[*]}" "$m_edit" "${edit[*]}"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
