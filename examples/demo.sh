#!/usr/bin/env bash
# The main job, on the embedded SQLite default: build `cargo dbmigrate`, then drive the
# example crate (examples/todo) through the daily loop, and show that the app's embedded
# refinery runner agrees with the CLI about what is applied.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

cargo build -q -p cargo-dbmigrate -p todo-example
export PATH="$target/debug:$PATH"   # makes `cargo dbmigrate` find the freshly built subcommand
cd "$root/examples/todo"
rm -f todo.db                       # start from an empty database each time

step cargo dbmigrate check;    cargo dbmigrate check
# status only reads, so it never creates a database: create the (empty) one first
step cargo dbmigrate database create;  cargo dbmigrate database create
step cargo dbmigrate status;   cargo dbmigrate status
step cargo dbmigrate run;      cargo dbmigrate run
step cargo dbmigrate current;  cargo dbmigrate current
step cargo dbmigrate history;  cargo dbmigrate history
step cargo dbmigrate down --yes; cargo dbmigrate down --yes   # --yes: it would ask on a terminal
step cargo dbmigrate status;   cargo dbmigrate status
step cargo dbmigrate run;      cargo dbmigrate run
step todo-example todo.db;     todo-example todo.db
