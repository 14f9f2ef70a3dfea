#!/usr/bin/env bash
# `just bench`: builds release binaries and measures todos against the
# bare-axum floor (bench/floor) on this machine. See BENCHMARKS.md.
#   DURATION=10s CONNECTIONS=32 THREADS=2 bench/run.sh
#   PROFILE="GET /todos" bench/run.sh   # + perf profile and flamegraph SVG
#   ROUTES="GET /todos,POST /todos" bench/run.sh   # only these routes
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
    SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "$@" \
        || { $SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "$@"; }
}
TARGET="${CARGO_TARGET_DIR:-target}"
if [ -n "${PROFILE:-}" ]; then
    command -v perf >/dev/null || apt_install linux-perf
    # Let perf sample a process it started neither as root nor as parent.
    [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 1 ] \
        || echo 1 > /proc/sys/kernel/perf_event_paranoid 2>/dev/null || true
    [ -x "$TARGET/tools/bin/inferno-flamegraph" ] \
        || cargo install --locked --root "$TARGET/tools" inferno --version 0.12.8
fi
command -v wrk >/dev/null || apt_install wrk
cargo build --release --locked -p todos-app -p todos-bench-floor
exec python3 bench/bench.py "$@"
