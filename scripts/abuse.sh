#!/usr/bin/env bash
# Connection abuse against the release binary with its real timeouts
# (README: Connections and limits). Each scenario gets a fresh server:
#   big-heads  1,000 connections each sending a 400 KB head: the server's
#              RSS stays under 100 MB;
#   cap        TODOS_MAX_CONNECTIONS=64 and 500 connections: never more than
#              64 accepted at once, and a fresh client is served within 1 s
#              once they close;
#   timeouts   2,000 keep-alive connections left idle and 500 partial heads
#              are all closed by the 60 s idle and 10 s head timeouts, while
#              a fresh client's GET / and log-in are answered within 1 s.
# The socket driver is tests/src/bin/abuse.rs; it prints the figures. The
# scenarios take about 1.5 minutes after the builds, each bounded by
# `timeout`.
#
# Env: TODOS_BIN (default: build and use the release binary), e.g. an older
#      build to compare against.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR=${CARGO_TARGET_DIR:-target}

. scripts/lib.sh

if [ -z "${TODOS_BIN:-}" ]; then
    step "cargo build --release -p todos-app"
    cargo build --release --locked -p todos-app
fi
step "cargo build -p todos-tests --bin abuse"
cargo build --locked -p todos-tests --bin abuse

RUN_DIR=$(mktemp -d)
# Copies, so that a build in a shared target directory cannot swap them
# mid-run.
cp "${TODOS_BIN:-$TARGET_DIR/release/todos}" "$RUN_DIR/todos"
cp "$TARGET_DIR/debug/abuse" "$RUN_DIR/abuse"

trap 'stop_todos; rm -rf "$RUN_DIR"' EXIT

# start_server NAME [VAR=VALUE...]: sets SERVER_PID and ADDR.
start_server() {
    start_todos "$RUN_DIR/todos" "$RUN_DIR" "$@"
}

passed=0
failed=()
# run SCENARIO [VAR=VALUE...]
run() {
    local scenario=$1
    shift
    step "$scenario${*:+ ($*)}"
    start_server "$scenario" "$@"
    if timeout 150 "$RUN_DIR/abuse" "$scenario" "$ADDR" "$SERVER_PID"; then
        passed=$((passed + 1))
    else
        failed+=("$scenario")
        echo "-- last lines of the server's log:"
        tail -n 20 "$RUN_DIR/$scenario.log"
    fi
    stop_todos
}

run big-heads
run cap TODOS_MAX_CONNECTIONS=64
run timeouts

step "summary"
if [ ${#failed[@]} -gt 0 ]; then
    echo "abuse: the server broke a limit in: ${failed[*]} (figures above)"
fi
echo "abuse: $passed passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
