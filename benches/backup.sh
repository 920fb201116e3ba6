#!/usr/bin/env bash
# Benchmark: what a backup adds to `cargo dbmigrate run` on a ~100 MB database, per backend,
# against the dump tool run by hand (sqlite3 .backup, pg_dump -Fc, mariadb-dump), all measured
# in the same run. Each sample applies one trivial pending migration, then `down --no-backup`
# puts it back (untimed). overhead = median(run) - median(run --no-backup); ratio = overhead /
# median(dump tool). Goal: ratio <= 1.05. The CLI's backup also verifies (integrity_check,
# pg_restore --list, trailer) and flushes to disk, which the hand-run tool does not: the
# `tool+fsync` column adds that flush to the baseline.
# Restore: `cargo dbmigrate restore ID --yes --no-backup` (checksum, the engine's check, the
# restore itself: PostgreSQL in one transaction, MariaDB through a scratch database and one
# RENAME TABLE) against the tool restoring the same file by hand (sqlite3 .restore,
# pg_restore --clean --single-transaction, mariadb < dump). Goal: ratio <= 1.2.
# Usage: bash benches/backup.sh [RUNS] [ROWS]   (release build; servers on 127.0.0.1)
set -euo pipefail
runs=${1:-5}
rows=${2:-550000}
cd "$(dirname "$0")/.."
cargo build -q --release -p cargo-dbmigrate
bin=$PWD/${CARGO_TARGET_DIR:-target}/release/cargo-dbmigrate
work=$(mktemp -d); db=dbm_bench_backup_$$
cleanup() {
  rm -rf "$work"
  psql -h 127.0.0.1 -U postgres -qAtX -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  mariadb -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
}
trap cleanup EXIT
mkdir -p "$work/src" "$work/migrations" "$work/dumps"
printf '[package]\nname = "bench"\nversion = "0.1.0"\nedition = "2021"\n[package.metadata.dbmigrate.backup]\ndir = "backups"\nkeep = 2\n' > "$work/Cargo.toml"
echo 'CREATE TABLE bench_marker (id INTEGER);' > "$work/migrations/V2__marker.sql"
echo 'DROP TABLE bench_marker;' > "$work/migrations/V2__marker.down.sql"

# median_s CMD...: runs CMD $runs times (then $reset, untimed), prints the median in seconds.
median_s() {
  local samples=() t0 t1
  for _ in $(seq "$runs"); do
    t0=$(date +%s%N); (cd "$work" && "$@" >/dev/null 2>&1); t1=$(date +%s%N)
    samples+=($(( (t1 - t0) / 1000000 )))
    [ -n "$reset" ] && (cd "$work" && $reset >/dev/null 2>&1)
    rm -f "$work"/dumps/*
  done
  printf '%s\n' "${samples[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]/1000}'
}

# The tool, then an fsync of what it wrote: the CLI flushes every backup before trusting it.
synced() { "$@"; sync "$work"/dumps/*; }

bench() { # name url size-cmd dump-cmd...
  local name=$1 url=$2 size=$3; shift 3
  local with without tool tool_sync
  reset="$bin dbmigrate down --no-backup --database-url $url"
  with=$(median_s "$bin" dbmigrate run --database-url "$url")
  without=$(median_s "$bin" dbmigrate run --no-backup --database-url "$url")
  reset=""
  tool=$(median_s "$@")
  tool_sync=$(median_s synced "$@")
  awk -v n="$name" -v s="$size" -v w="$with" -v wo="$without" -v t="$tool" -v ts="$tool_sync" 'BEGIN {
    printf "%-8s %4s MB  run %6.3fs  --no-backup %6.3fs  overhead %6.3fs  tool %6.3fs (ratio %.2f)  tool+fsync %6.3fs (ratio %.2f)\n",
      n, s, w, wo, w - wo, t, (w - wo) / t, ts, (w - wo) / ts }'
}

echo "seeding $rows rows per backend (~100 MB each)..."
sqlite_db=$work/bench.db
printf 'CREATE TABLE big (id INTEGER PRIMARY KEY, a VARCHAR(64) NOT NULL, b VARCHAR(120) NOT NULL);\n' > "$work/migrations/V1__big.sql"
"$bin" dbmigrate run --no-backup --target 1 --database-url "sqlite:$sqlite_db" --manifest-path "$work/Cargo.toml" >/dev/null 2>&1
sqlite3 "$sqlite_db" "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $rows)
  INSERT INTO big SELECT x, hex(randomblob(32)), printf('%.120c', 'x') FROM c;"
psql -h 127.0.0.1 -U postgres -qAtX -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
pg_url="postgres://postgres@127.0.0.1:5432/$db"
"$bin" dbmigrate run --no-backup --target 1 --database-url "$pg_url" --manifest-path "$work/Cargo.toml" >/dev/null 2>&1
psql -h 127.0.0.1 -U postgres -d "$db" -qAtX -c "INSERT INTO big SELECT g, md5(g::text) || md5((g + 1)::text), repeat('x', 120) FROM generate_series(1, $rows) g" -c "VACUUM ANALYZE big"
mariadb -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
my_url="mysql://root@127.0.0.1:3306/$db"
"$bin" dbmigrate run --no-backup --target 1 --database-url "$my_url" --manifest-path "$work/Cargo.toml" >/dev/null 2>&1
mariadb -h 127.0.0.1 -u root -D "$db" -e "INSERT INTO big SELECT seq, concat(md5(seq), md5(seq + 1)), repeat('x', 120) FROM seq_1_to_$rows; ANALYZE TABLE big" >/dev/null

sqlite_mb=$(( $(stat -c %s "$sqlite_db") / 1048576 ))
pg_mb=$(psql -h 127.0.0.1 -U postgres -qAtX -c "SELECT pg_database_size('$db') / 1048576")
my_mb=$(mariadb -h 127.0.0.1 -u root -N -B -e "SELECT round(sum(data_length + index_length) / 1048576) FROM information_schema.tables WHERE table_schema = '$db'")

echo "medians over $runs runs:"
bench sqlite "sqlite:$sqlite_db" "$sqlite_mb" sqlite3 "$sqlite_db" ".backup $work/dumps/by-hand.db"
PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=$db bench postgres "$pg_url" "$pg_mb" pg_dump --format=custom --file "$work/dumps/by-hand.pgdump"
bench mariadb "$my_url" "$my_mb" mariadb-dump --host=127.0.0.1 --user=root --single-transaction --routines --triggers --events --hex-blob "--result-file=$work/dumps/by-hand.sql" "$db"

# restore_bench name url tool-function: the newest backup of the database, restored by the
# CLI and by the tool (a function reading $backup_file); both leave the same state.
restore_bench() {
  local name=$1 url=$2 tool_fn=$3 id ours tool
  "$bin" dbmigrate run --database-url "$url" --manifest-path "$work/Cargo.toml" >/dev/null 2>&1 || true
  id=$(ls -t "$work/backups" | grep -v '\.json$' | head -1)
  backup_file="$work/backups/$id"
  reset=""
  ours=$(median_s "$bin" dbmigrate restore "$id" --yes --no-backup --database-url "$url")
  tool=$(median_s "$tool_fn")
  "$bin" dbmigrate down --no-backup --database-url "$url" --manifest-path "$work/Cargo.toml" >/dev/null 2>&1 || true
  awk -v n="$name" -v o="$ours" -v t="$tool" 'BEGIN {
    printf "%-8s restore: cargo dbmigrate %6.3fs  tool %6.3fs  (ratio %.2f)\n", n, o, t, o / t }'
}
sqlite_restore() { sqlite3 "$sqlite_db" ".restore $backup_file"; }
pg_restore_by_hand() { pg_restore --clean --if-exists --single-transaction -h 127.0.0.1 -U postgres -d "$db" "$backup_file"; }
mariadb_restore() { mariadb -h 127.0.0.1 -u root "$db" < "$backup_file"; }

echo "restore, medians over $runs runs:"
restore_bench sqlite "sqlite:$sqlite_db" sqlite_restore
restore_bench postgres "$pg_url" pg_restore_by_hand
restore_bench mariadb "$my_url" mariadb_restore
