#!/usr/bin/env bash
# Benchmark: applying 1,000 generated migrations (a small CREATE TABLE + INSERT each) to an empty
# database on SQLite, PostgreSQL and MariaDB with the release binary, against the database's own
# client (sqlite3, psql, mariadb) running the same SQL, and the no-op `run` with 1,000 applied.
#
# The raw baseline runs each migration's SQL plus the same history-row INSERT the tool writes
# (the tool's work minus the tool), once with one transaction per migration and once with one
# transaction for all of them.
#
# Usage: bash benches/apply.sh [BACKENDS...]     (default: sqlite pg maria; run by hand, not in CI)
#   APPLY_RUNS=3   fresh-database applies per mode (median)
#   NOOP_RUNS=21   no-op runs (median)
#   N=1000         migrations
#   NOOP_ONLY=1    skip the timed applies: apply once, then time only the no-op `run` beside the
#                  client's floor (`sqlite3 db 'SELECT 1'`, `psql -c 'SELECT 1'`, `mariadb -e
#                  'SELECT 1'`), alternating the two, median of NOOP_RUNS each
#   DBMIGRATE_BIN=path  benchmark this binary instead of building the release one (before/after)
#   RELEASED=1     record the generated migrations in dbmigrate.lock first (`cargo dbmigrate release`),
#                  as a deployed project has them: the no-op then does not stat released files
# Servers: PostgreSQL at 127.0.0.1:5432 user postgres (trust), MariaDB at 127.0.0.1:3306 root
# (empty password). Creates and drops the databases dbm_bench_<pid>_pg / dbm_bench_<pid>_maria.
# PGSSLMODE=disable (honoured by psql too) compares both without TLS; the default is both with
# sslmode=prefer, which uses TLS when the server offers it.
# Needs /usr/bin/time (apt-get install time) for peak memory.
set -euo pipefail
apply_runs=${APPLY_RUNS:-3}
noop_runs=${NOOP_RUNS:-21}
n=${N:-1000}
backends=("$@"); [ ${#backends[@]} -gt 0 ] || backends=(sqlite pg maria)
source "$(dirname "$0")/lib.sh"
bench_setup dbm_bench

# The crate, and the raw SQL scripts (per dialect: the begin keyword).
gen_migrations "$n"
[ -z "${RELEASED:-}" ] || (cd "$work" && "$bin" dbmigrate release >/dev/null)
raw_sql 'BEGIN IMMEDIATE' per "$n" > "$work/sqlite-per.sql"
raw_sql 'BEGIN IMMEDIATE' single "$n" > "$work/sqlite-single.sql"
raw_sql 'BEGIN' per "$n" > "$work/pg-per.sql"
raw_sql 'BEGIN' single "$n" > "$work/pg-single.sql"
raw_sql 'START TRANSACTION' per "$n" > "$work/maria-per.sql"
raw_sql 'START TRANSACTION' single "$n" > "$work/maria-single.sql"

count_history() { scalar "$1" "$work/bench.db" 'SELECT count(*) FROM refinery_schema_history'; }

# time_apply BACKEND KIND(raw|tool) MODE(per|single): median microseconds over fresh databases.
time_apply() {
  local b=$1 kind=$2 mode=$3 samples=() t0 t1 url
  url=$(url_of "$b")
  for _ in $(seq "$apply_runs"); do
    fresh "$b"
    t0=$(now_us)
    if [ "$kind" = raw ]; then
      raw_client "$b" "$work/$b-$mode.sql"
    elif [ "$mode" = single ]; then
      (cd "$work" && "$bin" dbmigrate run --single-transaction --database-url "$url" >/dev/null 2>&1)
    else
      (cd "$work" && "$bin" dbmigrate run --database-url "$url" >/dev/null 2>&1)
    fi
    t1=$(now_us)
    local c; c=$(count_history "$b")
    [ "$c" = "$n" ] || { echo "$b $kind $mode: $c history rows, expected $n" >&2; exit 1; }
    samples+=($((t1 - t0)))
  done
  printf '%s\n' "${samples[@]}" | median
}

# max_rss_kb CMD...: peak resident set of one run, in KiB.
max_rss_kb() {
  (cd "$work" && /usr/bin/time -v "$@" 2>&1 >/dev/null) | awk -F': ' '/Maximum resident set size/ {print $2}'
}

# noop_only BACKEND: apply once, let the files' and the database's timestamps age past the
# racy window (2 s), then alternate no-op runs with the floor.
noop_only() {
  local b=$1 url tool=() flo=() t0 t1
  url=$(url_of "$b")
  fresh "$b"
  (cd "$work" && "$bin" dbmigrate run --no-backup --database-url "$url" >/dev/null 2>&1)
  sleep 2.5
  (cd "$work" && "$bin" dbmigrate run --database-url "$url" >/dev/null 2>&1)
  for _ in $(seq "$noop_runs"); do
    t0=$(now_us); (cd "$work" && "$bin" dbmigrate run --database-url "$url" >/dev/null 2>&1); t1=$(now_us)
    tool+=($((t1 - t0)))
    t0=$(now_us); floor "$b"; t1=$(now_us)
    flo+=($((t1 - t0)))
  done
  local m f
  m=$(printf '%s\n' "${tool[@]}" | median); f=$(printf '%s\n' "${flo[@]}" | median)
  echo "== $b: no-op run with $n applied: median $(ms "$m") ms; client floor (SELECT 1) $(ms "$f") ms; ratio $(ratio "$m" "$f")"
}

if [ -n "${NOOP_ONLY:-}" ]; then
  echo "cargo-dbmigrate no-op benchmark: $n migrations, $noop_runs runs each ($(uptime | sed 's/.*load/load/'))"
  for b in "${backends[@]}"; do noop_only "$b"; done
  exit 0
fi

echo "cargo-dbmigrate apply benchmark: $n migrations, $apply_runs apply run(s) per mode, $noop_runs no-op runs"
echo "binary: $bin ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
for b in "${backends[@]}"; do
  url=$(url_of "$b")
  raw_per=$(time_apply "$b" raw per)
  tool_per=$(time_apply "$b" tool per)
  # MariaDB commits DDL implicitly: the tool refuses --single-transaction there.
  if [ "$b" != maria ]; then
    raw_single=$(time_apply "$b" raw single)
    tool_single=$(time_apply "$b" tool single)
  fi
  # Peak memory of a full apply, then the no-op run with everything applied.
  fresh "$b"
  rss_apply=$(max_rss_kb "$bin" dbmigrate run --database-url "$url")
  samples=()
  for _ in $(seq "$noop_runs"); do
    t0=$(now_us); (cd "$work" && "$bin" dbmigrate run --database-url "$url" >/dev/null 2>&1); t1=$(now_us)
    samples+=($((t1 - t0)))
  done
  noop=$(printf '%s\n' "${samples[@]}" | median)
  rss_noop=$(max_rss_kb "$bin" dbmigrate run --database-url "$url")
  echo
  echo "== $b"
  echo "apply, one transaction per migration: tool $(ms "$tool_per") ms, raw client $(ms "$raw_per") ms, ratio $(ratio "$tool_per" "$raw_per") (goal <= 1.15)"
  [ "$b" = maria ] || echo "apply, one transaction for all:       tool $(ms "$tool_single") ms, raw client $(ms "$raw_single") ms, ratio $(ratio "$tool_single" "$raw_single") (goal <= 1.15)"
  echo "no-op run with $n applied:           median $(ms "$noop") ms"
  echo "peak RSS: apply $((rss_apply / 1024)).$(( (rss_apply % 1024) * 10 / 1024 )) MiB, no-op $((rss_noop / 1024)).$(( (rss_noop % 1024) * 10 / 1024 )) MiB (goal <= 16 MB)"
done
