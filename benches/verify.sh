#!/usr/bin/env bash
# Benchmark: `cargo dbmigrate verify` of one migration against applying its up, down and up with
# the database's own client (sqlite3 / psql / mariadb) in the same run, medians of RUNS (5).
# The client baseline is timed twice: on a database that exists (the issue's "up, down, up"), and
# with the create and drop of a database around it, which is the whole of what verify does.
# Usage: bash benches/verify.sh [sqlite] [pg] [maria]   (default: all three; RUNS=5)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_setup dbm_verify
runs=${RUNS:-5}
backends=("$@"); [ ${#backends[@]} -gt 0 ] || backends=(sqlite pg maria)
PG=postgres://postgres@127.0.0.1:5432/postgres
MARIA=mysql://root@127.0.0.1:3306/

# One migration: a table with a few columns, a unique index and a foreign key to itself.
write_migration() {
  local id=$1 ref=$2
  cat > "$work/migrations/V1__users.sql" <<EOF
CREATE TABLE users (id $id PRIMARY KEY, mail VARCHAR(200) NOT NULL, name VARCHAR(100), boss $ref,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, FOREIGN KEY (boss) REFERENCES users (id));
CREATE UNIQUE INDEX users_mail ON users (mail);
EOF
  echo "DROP TABLE users;" > "$work/migrations/V1__users.down.sql"
}

# ms CMD...: one run of CMD in $work, in milliseconds.
ms() {
  local t0 t1
  t0=$(date +%s%N); (cd "$work" && "$@" >/dev/null 2>&1) || { echo "failed: $*" >&2; exit 1; }; t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 ))
}

up=$work/migrations/V1__users.sql
down=$work/migrations/V1__users.down.sql
sq() { for f in "$up" "$down" "$up"; do sqlite3 -bail "$1" < "$f"; done; }
pg_run() { for f in "$up" "$down" "$up"; do psql -h 127.0.0.1 -U postgres -d "$1" -qAtX -v ON_ERROR_STOP=1 -f "$f"; done; }
my_run() { for f in "$up" "$down" "$up"; do mariadb -h 127.0.0.1 -P 3306 -u root "$1" < "$f"; done; }
pg_admin() { psql -h 127.0.0.1 -U postgres -d postgres -qAtX -c "$1"; }
my_admin() { mariadb -h 127.0.0.1 -P 3306 -u root -e "$1"; }
pg_whole() { pg_admin "CREATE DATABASE $1"; pg_run "$1"; pg_admin "DROP DATABASE $1"; }
my_whole() { my_admin "CREATE DATABASE $1"; my_run "$1"; my_admin "DROP DATABASE $1"; }

for backend in "${backends[@]}"; do
  tool=() raw=() whole=()
  case $backend in
    sqlite) write_migration "INTEGER" "INTEGER"; args=() ;;
    pg) write_migration "BIGINT" "BIGINT"; args=(--dev-url "$PG") ;;
    maria) write_migration "BIGINT" "BIGINT"; args=(--dev-url "$MARIA") ;;
  esac
  (cd "$work" && "$bin" dbmigrate verify "${args[@]}" >/dev/null 2>&1) || { echo "verify fails on $backend" >&2; exit 1; }
  for i in $(seq "$runs"); do
    tool+=("$(ms "$bin" dbmigrate verify "${args[@]}")")
    db=${bench_db_prefix}_$i
    case $backend in
      sqlite)
        raw+=("$(ms sq "$work/raw$i.db")"); rm -f "$work/raw$i.db"
        whole+=("${raw[-1]}") ;; # a new sqlite file costs nothing more
      pg)
        pg_admin "DROP DATABASE IF EXISTS $db" >/dev/null; pg_admin "CREATE DATABASE $db" >/dev/null
        raw+=("$(ms pg_run "$db")"); pg_admin "DROP DATABASE $db" >/dev/null
        whole+=("$(ms pg_whole "${db}_w")") ;;
      maria)
        my_admin "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
        raw+=("$(ms my_run "$db")"); my_admin "DROP DATABASE $db"
        whole+=("$(ms my_whole "${db}_w")") ;;
    esac
  done
  t=$(printf '%s\n' "${tool[@]}" | median); r=$(printf '%s\n' "${raw[@]}" | median)
  w=$(printf '%s\n' "${whole[@]}" | median)
  echo "$backend: verify ${t} ms; client up+down+up ${r} ms (ratio $(awk "BEGIN {printf \"%.2f\", $t / $r}")); with create+drop ${w} ms (ratio $(awk "BEGIN {printf \"%.2f\", $t / $w}")); medians of $runs, load $(cut -d' ' -f1 /proc/loadavg)"
done
