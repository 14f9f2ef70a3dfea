#!/usr/bin/env bash
# The whole suite on every backend: first the README's test command
# (embedded SQLite, in-process cache), then the integration suite again on
# real Redis + SQLite, MariaDB and PostgreSQL, started on loopback by
# scripts/test-services.sh for whichever of them is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%T)"; }

RUN_DIR=$(mktemp -d)
trap 'scripts/test-services.sh stop "$RUN_DIR"; rm -rf "$RUN_DIR"' EXIT
step "start test services"
scripts/test-services.sh start "$RUN_DIR"
REDIS_URL= MARIADB_URL= POSTGRES_URL=
# shellcheck disable=SC1091
. "$RUN_DIR/env"
redis=$REDIS_URL mariadb=$MARIADB_URL postgres=$POSTGRES_URL
unset REDIS_URL MARIADB_URL POSTGRES_URL DATABASE_URL

step "the README's test command: cargo test --workspace (SQLite, in-process cache)"
cargo test --workspace --locked

if [ -n "$redis" ]; then
    step "cache contract and integration suite on Redis + SQLite"
    REDIS_URL=$redis cargo test --locked -p todos-cache -p todos-tests
fi
if [ -n "$mariadb" ]; then
    step "integration suite on MariaDB${redis:+ + Redis}"
    DATABASE_URL=$mariadb REDIS_URL=$redis cargo test --locked -p todos-tests -p todos-persistence
fi
if [ -n "$postgres" ]; then
    step "integration suite on PostgreSQL${redis:+ + Redis}"
    DATABASE_URL=$postgres REDIS_URL=$redis cargo test --locked -p todos-tests -p todos-persistence
fi
step "all suites passed"
