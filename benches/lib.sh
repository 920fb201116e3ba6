# Shared by the benchmark scripts (sourced, not run): builds the release binary into $bin,
# makes a throwaway crate in $work, and drops the scratch databases <prefix>_<pid>_pg and
# <prefix>_<pid>_maria and $work on exit. Usage: source benches/lib.sh; bench_setup dbm_bench
bench_setup() {
  # The process id keeps two benchmarks on the same servers from dropping each other's databases.
  bench_db_prefix=$1_$$
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  # DBMIGRATE_BIN: time a binary built elsewhere (say, the commit before a change) instead.
  [ -n "${DBMIGRATE_BIN:-}" ] || cargo build -q --release -p cargo-dbmigrate
  bin=${DBMIGRATE_BIN:-$PWD/${CARGO_TARGET_DIR:-target}/release/cargo-dbmigrate}
  work=$(mktemp -d)
  trap bench_cleanup EXIT
  mkdir -p "$work/src" "$work/migrations"
  printf '[package]\nname = "bench"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n' > "$work/Cargo.toml"
  echo 'fn main() {}' > "$work/src/main.rs"
}

# median: the median of the numbers on stdin, one a line.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# scalar BACKEND SQLITE_FILE SQL: the one value SQL returns from BACKEND's scratch database
# (SQLite: the file given; the servers: <prefix>_pg / <prefix>_maria).
scalar() {
  case $1 in
    sqlite) sqlite3 "$2" "$3" ;;
    pg) psql -h 127.0.0.1 -U postgres -d "${bench_db_prefix}_pg" -qAtX -c "$3" ;;
    maria) mariadb -h 127.0.0.1 -P 3306 -u root -N -B "${bench_db_prefix}_maria" -e "$3" ;;
  esac
}

bench_cleanup() {
  psql -h 127.0.0.1 -U postgres -d postgres -qAtX -c "DROP DATABASE IF EXISTS ${bench_db_prefix}_pg WITH (FORCE)" >/dev/null 2>&1 || true
  mariadb -h 127.0.0.1 -P 3306 -u root -e "DROP DATABASE IF EXISTS ${bench_db_prefix}_maria" >/dev/null 2>&1 || true
  rm -rf "$work"
}

# --- The generated set and the databases' own clients, shared by apply.sh and peers.sh. ---

# gen_migrations N: $work/migrations/V<i>__t<i>.sql, a small CREATE TABLE + two-row INSERT each.
gen_migrations() {
  local i
  for i in $(seq "$1"); do
    printf 'CREATE TABLE t%d (id INT PRIMARY KEY, v VARCHAR(32));\nINSERT INTO t%d (id, v) VALUES (1, '"'a'"'), (2, '"'b'"');\n' "$i" "$i" \
      > "$work/migrations/V${i}__t$i.sql"
  done
}

# raw_sql BEGIN_KEYWORD MODE(per|single) N > file: the set's SQL for the database's own client,
# plus the history-row INSERT the tool writes, one transaction per migration or one for all.
raw_sql() {
  local begin=$1 mode=$2 n=$3 i
  echo 'CREATE TABLE IF NOT EXISTS refinery_schema_history(version BIGINT PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));'
  [ "$mode" = single ] && echo "$begin;"
  for i in $(seq "$n"); do
    [ "$mode" = per ] && echo "$begin;"
    cat "$work/migrations/V${i}__t$i.sql"
    echo "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES ($i, 't$i', '2026-01-01T00:00:00.000000000Z', '1234567890123456789');"
    [ "$mode" = per ] && echo "COMMIT;"
  done
  [ "$mode" = single ] && echo "COMMIT;"
  true
}

# url_of BACKEND: the scratch database's url (PGSSLMODE, when set, goes into the postgres url).
url_of() {
  case $1 in
    sqlite) echo "sqlite:$work/bench.db" ;;
    pg) echo "postgres://postgres@127.0.0.1:5432/${bench_db_prefix}_pg${PGSSLMODE:+?sslmode=$PGSSLMODE}" ;;
    maria) echo "mysql://root@127.0.0.1:3306/${bench_db_prefix}_maria" ;;
  esac
}

# fresh BACKEND: an empty scratch database.
fresh() {
  case $1 in
    sqlite) rm -f "$work"/bench.db* ;;
    pg) psql -h 127.0.0.1 -U postgres -d postgres -qAtX -c "DROP DATABASE IF EXISTS ${bench_db_prefix}_pg WITH (FORCE)" -c "CREATE DATABASE ${bench_db_prefix}_pg" >/dev/null ;;
    maria) mariadb -h 127.0.0.1 -P 3306 -u root -e "DROP DATABASE IF EXISTS ${bench_db_prefix}_maria; CREATE DATABASE ${bench_db_prefix}_maria" ;;
  esac
}

# raw_client BACKEND FILE: the database's own client runs FILE on the scratch database.
raw_client() {
  case $1 in
    sqlite) sqlite3 -bail "$work/bench.db" < "$2" >/dev/null ;;
    pg) psql -h 127.0.0.1 -U postgres -d "${bench_db_prefix}_pg" -qAtX -v ON_ERROR_STOP=1 -f "$2" >/dev/null ;;
    maria) mariadb -h 127.0.0.1 -P 3306 -u root "${bench_db_prefix}_maria" < "$2" >/dev/null ;;
  esac
}

# floor BACKEND: the database's own client connecting to the scratch database and running
# `SELECT 1` (the no-op's floor).
floor() {
  case $1 in
    sqlite) sqlite3 "$work/bench.db" 'SELECT 1' >/dev/null ;;
    pg) psql -h 127.0.0.1 -U postgres -d "${bench_db_prefix}_pg" -qAtX -c 'SELECT 1' >/dev/null ;;
    maria) mariadb -h 127.0.0.1 -P 3306 -u root "${bench_db_prefix}_maria" -e 'SELECT 1' >/dev/null ;;
  esac
}

now_us() { echo $(( $(date +%s%N) / 1000 )); }
ms() { awk "BEGIN {printf \"%.1f\", $1 / 1000}"; }
ratio() { awk "BEGIN {printf \"%.2f\", $1 / $2}"; }
