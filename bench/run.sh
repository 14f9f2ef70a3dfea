#!/usr/bin/env bash
# `just bench`: builds release binaries and measures todos against the
# bare-axum floor (bench/floor) on this machine. See BENCHMARKS.md.
#   DURATION=10s CONNECTIONS=32 THREADS=2 bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
    SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends wrk \
        || { $SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends wrk; }
fi
cargo build --release --locked -p todos-app -p todos-bench-floor
exec python3 bench/bench.py "$@"
