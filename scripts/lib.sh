# Sourced by the scripts that run the `todos` binary (scripts/abuse.sh,
# scripts/fuzz.sh, bench/soak.sh): a step heading, and one `todos serve` on
# a fresh SQLite file started and stopped.

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%T)"; }

SERVER_PID=
ADDR=

# start_todos BIN DIR NAME [VAR=VALUE...]: `BIN serve` on DIR/NAME.db, on a
# free loopback port, logging to DIR/NAME.log (RUST_LOG, default warn), with
# the extra environment given; sets SERVER_PID and ADDR (host:port from its
# `listening on` line), or prints the log and exits 1.
start_todos() {
    local bin=$1 dir=$2 name=$3
    shift 3
    : >"$dir/$name.stdout"
    env DATABASE_URL="sqlite://$dir/$name.db?mode=rwc" RUST_LOG="${RUST_LOG:-warn}" "$@" \
        "$bin" serve --addr 127.0.0.1:0 >"$dir/$name.stdout" 2>"$dir/$name.log" &
    SERVER_PID=$!
    ADDR=
    for _ in $(seq 100); do
        ADDR=$(sed -n 's#^listening on http://##p' "$dir/$name.stdout")
        [ -n "$ADDR" ] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "todos did not start ($name):"
    cat "$dir/$name.log"
    exit 1
}

# Stops the server start_todos started, if it runs.
stop_todos() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
