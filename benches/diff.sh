#!/usr/bin/env bash
# Benchmark: `cargo dbmigrate diff --dry-run` on SQLite, with a 200-table schema built by a
# 1,000-migration history (200 CREATE TABLEs, then 800 migrations each adding a column to one
# of them, every second one with an index on it) and one edit to the desired schema (a new
# table), against the floor: the sqlite3 shell replaying the same history into a fresh file,
# one transaction per migration as the tool runs them. Both are timed alternately, same run.
# `diff` also loads the schema file and introspects both schemas; the floor does neither.
#
# Usage: bash benches/diff.sh                 (release build; run by hand, not in CI)
#   RUNS=5          timed runs of each (median)
#   TABLES=200 N=1000   tables and migrations (N >= TABLES)
#   DBMIGRATE_BIN=path  benchmark this binary instead of building the release one
# Prints the medians in milliseconds and their ratio (the issue's goal: <= 1.2).
set -euo pipefail
runs=${RUNS:-5}
tables=${TABLES:-200}
n=${N:-1000}
source "$(dirname "$0")/lib.sh"
bench_setup dbm_diff_bench

# The history: migration i creates table t_i (i <= tables), or adds column c_i to one table.
for i in $(seq "$n"); do
  f="$work/migrations/V${i}__m$i.sql"
  if [ "$i" -le "$tables" ]; then
    printf 'CREATE TABLE t%d (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);\nCREATE INDEX t%d_name ON t%d (name);\n' \
      "$i" "$i" "$i" > "$f"
  else
    t=$(( (i % tables) + 1 ))
    printf 'ALTER TABLE t%d ADD COLUMN c%d INTEGER;\n' "$t" "$i" > "$f"
    [ $((i % 2)) -eq 0 ] && printf 'CREATE INDEX t%d_c%d ON t%d (c%d);\n' "$t" "$i" "$t" "$i" >> "$f"
  fi
done
# The floor's script: every up in version order, each in its own transaction.
for i in $(seq "$n"); do
  echo "BEGIN IMMEDIATE;"
  cat "$work/migrations/V${i}__m$i.sql"
  echo "COMMIT;"
done > "$work/replay.sql"

# The desired schema: what the history builds, plus one new table.
(cd "$work" && env -u DATABASE_URL "$bin" dbmigrate schema dump >/dev/null)
printf '\nCREATE TABLE edit (id INTEGER PRIMARY KEY, t1_id INTEGER REFERENCES t1 (id));\n' >> "$work/schema.sql"
out=$(cd "$work" && env -u DATABASE_URL "$bin" dbmigrate diff -m edit --dry-run)
grep -q 'CREATE TABLE "edit"' <<<"$out" || { echo "diff did not find the edit:"; echo "$out"; exit 1; }

now_us() { echo $(( $(date +%s%N) / 1000 )); }
ours=() floor=()
for _ in $(seq "$runs"); do
  t0=$(now_us)
  (cd "$work" && env -u DATABASE_URL "$bin" dbmigrate diff -m edit --dry-run >/dev/null)
  t1=$(now_us)
  rm -f "$work/floor.db"
  sqlite3 "$work/floor.db" < "$work/replay.sql"
  t2=$(now_us)
  ours+=($(( (t1 - t0) / 1000 ))) floor+=($(( (t2 - t1) / 1000 )))
done
[ "$(scalar sqlite "$work/floor.db" "SELECT count(*) FROM sqlite_master WHERE type = 'table'")" -eq "$tables" ]
m_ours=$(printf '%s\n' "${ours[@]}" | median)
m_floor=$(printf '%s\n' "${floor[@]}" | median)
echo "diff --dry-run, $tables tables, $n migrations (sqlite): median ${m_ours} ms over $runs runs (${ours[*]})"
echo "sqlite3 replaying the same history into a fresh file:   median ${m_floor} ms (${floor[*]})"
echo "ratio $(awk "BEGIN {printf \"%.2f\", $m_ours / $m_floor}") (goal <= 1.2); load: $(cut -d' ' -f1-3 /proc/loadavg)"
