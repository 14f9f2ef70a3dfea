#!/usr/bin/env bash
# Soak: mixed traffic against the release binary on a fresh SQLite file for
# SOAK_SECS seconds (default 600), sampling the server's RSS, open file
# descriptors, p99 and failures every 10 s (README: "Soak"). Passes when no
# request failed and nothing drifted; the figures go to target/soak/
# (samples.csv, summary.md, the server's log). The driver is
# tests/src/bin/soak.rs.
#
#   bench/soak.sh                  # 10 minutes
#   SOAK_SECS=120 bench/soak.sh    # as CI runs it
#
# Env: TODOS_BIN (default: build and use the release binary).
set -euo pipefail
cd "$(dirname "$0")/.."

SOAK_SECS=${SOAK_SECS:-600}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT_DIR=$PWD/target/soak

. scripts/lib.sh

if [ -z "${TODOS_BIN:-}" ]; then
    step "cargo build --release -p todos-app"
    cargo build --release --locked -p todos-app
fi
step "cargo build -p todos-tests --bin soak"
cargo build --locked -p todos-tests --bin soak

RUN_DIR=$(mktemp -d)
# Copies, so that a build in a shared target directory cannot swap them
# mid-run.
cp "${TODOS_BIN:-$TARGET_DIR/release/todos}" "$RUN_DIR/todos"
cp "$TARGET_DIR/debug/soak" "$RUN_DIR/soak"
mkdir -p "$OUT_DIR"

trap 'stop_todos; rm -rf "$RUN_DIR"' EXIT

step "start todos on a fresh SQLite file"
# Sign-ups are the account worker's steady diet: no per-address cap here.
start_todos "$RUN_DIR/todos" "$RUN_DIR" soak \
    JWT_SECRET=soak-signing-key-0123456789abcdefghijklmn TODOS_SIGNUP_LIMIT=0

step "soak for ${SOAK_SECS} s against $ADDR"
status=0
timeout $((SOAK_SECS + 120)) "$RUN_DIR/soak" "$ADDR" "$SERVER_PID" "$SOAK_SECS" "$OUT_DIR" || status=$?
stop_todos
cp "$RUN_DIR/soak.log" "$OUT_DIR/server.log"
if [ "$status" != 0 ]; then
    echo "-- last lines of the server's log:"
    tail -n 20 "$OUT_DIR/server.log"
fi
exit "$status"
