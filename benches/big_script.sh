#!/usr/bin/env bash
# Benchmark: one big INSERT-heavy migration (a seed or backfill of SIZE_MB megabytes, one row
# per INSERT, a comment every 1,000 rows, quotes and semicolons inside strings) applied by the
# release binary's `run --no-backup`, against the database's own client applying the same file
# in the same run: `sqlite3` (inside BEGIN/COMMIT, as the tool's transaction), `psql -1 -f`,
# `mariadb <`. Issue 10: the time must grow linearly with the size (goal: tool <= 1.5x client).
#
# Usage: bash benches/big_script.sh [BACKENDS...]   (default: sqlite pg maria; run by hand, not in CI)
#   SIZE_MB=50   size of the migration, in MB (several: SIZE_MB="16 50")
#   RUNS=3       fresh-database applies per side (median)
#   DBMIGRATE_BIN=path  benchmark this binary instead of building the release one
# Servers: PostgreSQL at 127.0.0.1:5432 user postgres (trust), MariaDB at 127.0.0.1:3306 root
# (empty password). Creates and drops the databases dbm_big_<pid>_pg / dbm_big_<pid>_maria.
# PGSSLMODE=disable (honoured by psql too) compares both without TLS.
set -euo pipefail
sizes=${SIZE_MB:-50}
runs=${RUNS:-3}
backends=("$@"); [ ${#backends[@]} -gt 0 ] || backends=(sqlite pg maria)
source "$(dirname "$0")/lib.sh"
bench_setup dbm_big
pgdb=${bench_db_prefix}_pg mydb=${bench_db_prefix}_maria

# generate MB > file: rows until the file reaches MB megabytes; prints the row count on stderr.
generate() {
  awk -v limit=$(( $1 * 1000 * 1000 )) 'BEGIN {
    q = sprintf("%c", 39)
    line = "CREATE TABLE seed (id INT PRIMARY KEY, name VARCHAR(64), note VARCHAR(255));"
    print line; size = length(line) + 1
    for (i = 1; size < limit; i++) {
      if (i % 1000 == 0) { line = "-- rows " i " and on;"; print line; size += length(line) + 1 }
      line = "INSERT INTO seed (id, name, note) VALUES (" i ", " q "name-" i q ", " q "it" q q "s row " i "; a note with a semicolon" q ");"
      print line; size += length(line) + 1
    }
    print i - 1 > "/dev/stderr"
  }'
}

url_of() {
  case $1 in
    sqlite) echo "sqlite:$work/big.db" ;;
    pg) echo "postgres://postgres@127.0.0.1:5432/$pgdb${PGSSLMODE:+?sslmode=$PGSSLMODE}" ;;
    maria) echo "mysql://root@127.0.0.1:3306/$mydb" ;;
  esac
}
fresh() {
  case $1 in
    sqlite) rm -f "$work"/big.db* ;;
    pg) psql -h 127.0.0.1 -U postgres -d postgres -qAtX -c "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" -c "CREATE DATABASE $pgdb" >/dev/null ;;
    maria) mariadb -h 127.0.0.1 -P 3306 -u root -e "DROP DATABASE IF EXISTS $mydb; CREATE DATABASE $mydb" ;;
  esac
}
client() { # backend file
  case $1 in
    sqlite) { echo 'BEGIN IMMEDIATE;'; cat "$2"; echo 'COMMIT;'; } | sqlite3 -bail "$work/big.db" >/dev/null ;;
    pg) psql -h 127.0.0.1 -U postgres -d $pgdb -qAtX -v ON_ERROR_STOP=1 -1 -f "$2" >/dev/null ;;
    maria) mariadb -h 127.0.0.1 -P 3306 -u root $mydb < "$2" >/dev/null ;;
  esac
}
count_rows() { scalar "$1" "$work/big.db" 'SELECT count(*) FROM seed'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { awk "BEGIN {printf \"%.2f\", $1 / 1000}"; }

# apply BACKEND KIND(tool|client) ROWS: milliseconds for one apply to a fresh database.
apply() {
  local b=$1 kind=$2 rows=$3 t0 t1 c
  fresh "$b"
  t0=$(now_ms)
  if [ "$kind" = client ]; then
    client "$b" "$work/migrations/V1__seed.sql"
  else
    (cd "$work" && "$bin" dbmigrate run --no-backup --database-url "$(url_of "$b")" >"$work/tool.log" 2>&1) ||
      { cat "$work/tool.log" >&2; exit 1; }
  fi
  t1=$(now_ms)
  c=$(count_rows "$b")
  [ "$c" = "$rows" ] || { echo "$b $kind: $c rows, expected $rows" >&2; exit 1; }
  echo $((t1 - t0))
}

echo "cargo-dbmigrate big-script benchmark: ${sizes// /, } MB, $runs run(s) per side"
echo "binary: $bin ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo
echo "| backend | size | rows | tool | client | ratio |"
echo "|---|---|---|---|---|---|"
for mb in $sizes; do
  rows=$(generate "$mb" 2>&1 >"$work/migrations/V1__seed.sql")
  for b in "${backends[@]}"; do
    # Alternated, so a slow spell of the disk (MariaDB commits each statement) hits both sides.
    tools=(); raws=()
    for i in $(seq "$runs"); do
      tools+=("$(apply "$b" tool "$rows")")
      raws+=("$(apply "$b" client "$rows")")
      # Each pair as it comes (on stderr): a slow backend's full set can take an hour.
      echo "  $b $mb MB run $i: tool $(secs "${tools[-1]}") s, client $(secs "${raws[-1]}") s" >&2
    done
    tool=$(printf '%s\n' "${tools[@]}" | median)
    raw=$(printf '%s\n' "${raws[@]}" | median)
    echo "| $b | $mb MB | $rows | $(secs "$tool") s | $(secs "$raw") s | $(awk "BEGIN {printf \"%.2f\", $tool / $raw}") |"
  done
done
