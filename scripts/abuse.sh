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

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%T)"; }

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

SERVER_PID=
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
trap 'stop_server; rm -rf "$RUN_DIR"' EXIT

# start_server NAME [VAR=VALUE...]: sets SERVER_PID and ADDR.
start_server() {
    local name=$1
    shift
    : >"$RUN_DIR/$name.stdout"
    env "$@" DATABASE_URL="sqlite://$RUN_DIR/$name.db?mode=rwc" RUST_LOG="${RUST_LOG:-warn}" \
        "$RUN_DIR/todos" serve --addr 127.0.0.1:0 >"$RUN_DIR/$name.stdout" 2>"$RUN_DIR/$name.log" &
    SERVER_PID=$!
    ADDR=
    for _ in $(seq 100); do
        ADDR=$(sed -n 's#^listening on http://##p' "$RUN_DIR/$name.stdout")
        [ -n "$ADDR" ] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "abuse: todos did not start for $name"
    cat "$RUN_DIR/$name.log"
    exit 1
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
    stop_server
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
