#!/usr/bin/env bash
# Benchmark: cargo-dbmigrate beside its peers (sqlx-cli, refinery_cli, diesel_cli) and the
# database's own client, in one run, on the same generated set of migrations (apply.sh's: a
# small CREATE TABLE + two-row INSERT each), laid out the way each tool wants it:
#   cargo-dbmigrate, refinery: migrations/V<i>__t<i>.sql     (refinery_schema_history)
#   sqlx:                      sqlx/migrations/<i>_t<i>.sql   (_sqlx_migrations)
#   diesel:                    diesel/migrations/<14-digit i>_t<i>/up.sql (+ down.sql)
#                              (__diesel_schema_migrations)
#
# For each backend it times, alternating the tools in every round so load drifts hit all alike:
#   apply   a fresh database per sample, every migration in its own transaction (refinery -g:
#           refinery's grouped mode, all in one); the floor is the database's own client running
#           the same SQL plus a history-row INSERT per migration (apply.sh's raw "per" script);
#   no-op   with everything applied (after a warm-up run and 2.5 s for the racy window), the
#           tool's `run` again; the floor is the client's `SELECT 1`;
#   scaffold  a new migration in the 1,000-file folder (`new`, `sqlx migrate add`,
#           `diesel migration generate`), against spawning /bin/true.
# and prints medians, ratios to the floor and the ranking. A peer whose binary is not on PATH is
# skipped with a line saying so; a tool whose apply does not leave N history rows is reported
# as failed and left out of the ranking. Run by hand, never by the tests.
#
# Usage: bash benches/peers.sh [sqlite] [pg] [maria]      (default: all three)
#   PEER_RUNS=5      apply samples per tool (median)
#   NOOP_RUNS=11     no-op samples per tool (median)
#   NEW_RUNS=11      scaffold samples per tool (median; NEW_RUNS=0 skips scaffolding)
#   N=1000           migrations
#   DBMIGRATE_BIN=path   time this cargo-dbmigrate binary instead of building the release one
# Peers (pinned; see benches/README.md):
#   cargo install --locked sqlx-cli@0.9.0 --no-default-features --features rustls,postgres,sqlite,mysql
#   cargo install --locked refinery_cli@0.10.0
#   cargo install --locked diesel_cli@2.3.14 --no-default-features --features postgres,sqlite,mysql
#     (diesel links libpq-dev, default-libmysqlclient-dev and libsqlite3-dev: apt-get install them)
# Servers as for apply.sh: PostgreSQL 127.0.0.1:5432 user postgres, MariaDB 127.0.0.1:3306 root.
set -euo pipefail
runs=${PEER_RUNS:-5}
noop_runs=${NOOP_RUNS:-11}
new_runs=${NEW_RUNS:-11}
n=${N:-1000}
backends=("$@"); [ ${#backends[@]} -gt 0 ] || backends=(sqlite pg maria)
source "$(dirname "$0")/lib.sh"
bench_setup dbm_peers

gen_migrations "$n"
mkdir -p "$work/sqlx/migrations" "$work/diesel/migrations"
for i in $(seq "$n"); do
  cp "$work/migrations/V${i}__t$i.sql" "$work/sqlx/migrations/${i}_t$i.sql"
  d=$work/diesel/migrations/$(printf '%014d' "$i")_t$i
  mkdir -p "$d"
  cp "$work/migrations/V${i}__t$i.sql" "$d/up.sql"
  echo "DROP TABLE t$i;" > "$d/down.sql"
done
raw_sql 'BEGIN IMMEDIATE' per "$n" > "$work/sqlite-per.sql"
raw_sql 'BEGIN' per "$n" > "$work/pg-per.sql"
raw_sql 'START TRANSACTION' per "$n" > "$work/maria-per.sql"

# The tools on this machine: cargo-dbmigrate and the client always, the peers when installed.
tools=(client cargo-dbmigrate)
for peer in sqlx refinery diesel; do
  if command -v "$peer" >/dev/null; then
    tools+=("$peer")
    [ "$peer" = refinery ] && tools+=(refinery-g)
  else
    echo "skipped: $peer is not on PATH (see the install commands in benches/peers.sh)"
  fi
done

# peer_url TOOL BACKEND: the scratch database's url in the spelling TOOL reads.
peer_url() {
  case $1/$2 in
    sqlx/sqlite) echo "sqlite://$work/bench.db?mode=rwc" ;;
    refinery*/sqlite) echo "sqlite://$work/bench.db" ;;
    diesel/sqlite) echo "$work/bench.db" ;;
    *) url_of "$2" ;;
  esac
}

# run_tool TOOL BACKEND: one `run` of TOOL against the scratch database (apply or no-op).
run_tool() {
  local url; url=$(peer_url "$1" "$2")
  case $1 in
    client) raw_client "$2" "$work/$2-per.sql" ;;
    cargo-dbmigrate) (cd "$work" && "$bin" dbmigrate run --database-url "$url") ;;
    sqlx) (cd "$work/sqlx" && sqlx migrate run --source migrations --database-url "$url") ;;
    refinery) (cd "$work" && DB_URL=$url refinery migrate -e DB_URL -p migrations) ;;
    refinery-g) (cd "$work" && DB_URL=$url refinery migrate -g -e DB_URL -p migrations) ;;
    diesel) (cd "$work/diesel" && diesel migration run --migration-dir migrations --database-url "$url") ;;
  esac
}

# history_rows TOOL BACKEND: the rows TOOL's history table holds on the scratch database.
history_rows() {
  local table=refinery_schema_history
  case $1 in
    sqlx) table=_sqlx_migrations ;;
    diesel) table=__diesel_schema_migrations ;;
  esac
  scalar "$2" "$work/bench.db" "SELECT count(*) FROM $table" 2>/dev/null || echo 0
}

# time_us CMD...: wall microseconds of CMD (its output dropped); fails when CMD fails.
time_us() {
  local t0 t1
  t0=$(now_us)
  "$@" >/dev/null 2>&1 || return 1
  t1=$(now_us)
  echo $((t1 - t0))
}

# bench_backend BACKEND: apply and no-op samples of every tool, then the table.
bench_backend() {
  local b=$1 t us
  declare -A apply=() noop=() failed=()
  for _ in $(seq "$runs"); do
    for t in "${tools[@]}"; do
      [ -n "${failed[$t]:-}" ] && continue
      fresh "$b"
      if ! us=$(time_us run_tool "$t" "$b") || [ "$(history_rows "$t" "$b")" != "$n" ]; then
        # The client writes refinery's table too; anything short of N rows is a failed apply.
        failed[$t]=1
        echo "$b: $t failed to apply the set (rerun it by hand to see why)" >&2
        continue
      fi
      apply[$t]+="$us "
    done
  done
  local floor_samples=""
  for t in "${tools[@]}"; do
    [ "$t" = client ] || [ -n "${failed[$t]:-}" ] && continue
    fresh "$b"
    run_tool "$t" "$b" >/dev/null 2>&1 || true
    sleep 2.5
    run_tool "$t" "$b" >/dev/null 2>&1 || { failed[$t]=1; continue; }
    for _ in $(seq "$noop_runs"); do
      us=$(time_us run_tool "$t" "$b") || { failed[$t]=1; break; }
      noop[$t]+="$us "
      floor_samples+="$(time_us floor "$b") "
    done
  done
  local client_apply floor_noop
  client_apply=$(printf '%s\n' ${apply[client]} | median)
  floor_noop=$(printf '%s\n' $floor_samples | median)
  echo
  echo "== $b: $n migrations; apply median of $runs (fresh database each), no-op median of $noop_runs"
  printf '%-16s %10s %8s %10s %8s\n' tool "apply ms" "/client" "no-op ms" "/floor"
  printf '%-16s %10s %8s %10s %8s\n' "client (floor)" "$(ms "$client_apply")" 1.00 "$(ms "$floor_noop")" 1.00
  local rows=""
  for t in "${tools[@]}"; do
    [ "$t" = client ] && continue
    if [ -n "${failed[$t]:-}" ] || [ -z "${apply[$t]:-}" ] || [ -z "${noop[$t]:-}" ]; then
      printf '%-16s %10s\n' "$t" failed
      continue
    fi
    local a o
    a=$(printf '%s\n' ${apply[$t]} | median); o=$(printf '%s\n' ${noop[$t]} | median)
    printf '%-16s %10s %8s %10s %8s\n' "$t" "$(ms "$a")" "$(ratio "$a" "$client_apply")" "$(ms "$o")" "$(ratio "$o" "$floor_noop")"
    rows+="$a $o $t"$'\n'
  done
  echo "ranking by apply: $(printf '%s' "$rows" | sort -n -k1 | awk 'NF {printf "%s%s", sep, $3; sep=" < "}')"
  echo "ranking by no-op: $(printf '%s' "$rows" | sort -n -k2 | awk 'NF {printf "%s%s", sep, $3; sep=" < "}')"
}

# scaffold_ms CMD...: median milliseconds of CMD creating a migration in a 1,000-file folder,
# removing what each run created (the folders' listings before and after) outside the timing.
scaffold_ms() {
  local dir=$1; shift
  local samples=() before us
  before=$(ls "$dir")
  for _ in $(seq "$new_runs"); do
    us=$(time_us "$@") || { echo failed; return; }
    samples+=("$us")
    comm -13 <(echo "$before") <(ls "$dir") | while read -r f; do rm -rf "${dir:?}/$f"; done
  done
  printf '%s\n' "${samples[@]}" | median | awk '{printf "%.2f", $1 / 1000}'
}

echo "peer benchmark: $n migrations; $(uptime | sed 's/.*load/load/'); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "tools: ${tools[*]}"
for b in "${backends[@]}"; do bench_backend "$b"; done

if [ "$new_runs" -gt 0 ]; then
  echo
  echo "== scaffold: a new migration in the folder of $n, median of $new_runs (ms)"
  echo "process spawn (/bin/true): $(scaffold_ms "$work/migrations" /bin/true)"
  echo "cargo-dbmigrate new:       $(cd "$work" && scaffold_ms "$work/migrations" "$bin" dbmigrate new bench_add)"
  if command -v sqlx >/dev/null; then
    echo "sqlx migrate add:          $(cd "$work/sqlx" && scaffold_ms "$work/sqlx/migrations" sqlx migrate add --source migrations bench_add)"
  fi
  if command -v diesel >/dev/null; then
    echo "diesel migration generate: $(cd "$work/diesel" && scaffold_ms "$work/diesel/migrations" diesel migration generate --migration-dir migrations bench_add)"
  fi
fi
echo "load at the end: $(uptime | sed 's/.*load/load/')"
