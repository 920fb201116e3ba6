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
