# Task runner (https://just.systems). Every recipe is a plain cargo command,
# so nothing here is needed to build or test.

# Run the service on 127.0.0.1:8000 with todos.db and the in-memory cache.
run:
    cargo run --release

# The whole test suite, as the README and CI run it.
test:
    cargo test --workspace

fmt:
    cargo fmt --all

lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# The suite on SQLite, then again on Redis, MariaDB and PostgreSQL started
# on loopback (whichever of redis-server, mariadb-server, postgresql is installed).
test-all:
    scripts/test-all.sh

# Schemathesis (every check) against a live server on a fresh SQLite file;
# installs schemathesis from PyPI into target/fuzz-venv on first use.
fuzz:
    scripts/fuzz.sh

# Idle, slow, oversized and excess connections against the release binary
# (about 1.5 minutes after the build).
abuse:
    scripts/abuse.sh

# Mutation testing of the domain, auth and cache crates (cargo-mutants,
# installed into target/tools on first use); e.g. `just mutants --in-diff FILE`.
mutants *ARGS:
    scripts/mutants.sh {{ARGS}}

# App + MariaDB + Redis in Docker (needs JWT_SECRET; untested here: no Docker engine).
up:
    docker compose up --build

# Throughput and latency against the bare-axum floor (see BENCHMARKS.md).
bench:
    bench/run.sh

# Mixed traffic for SOAK_SECS seconds (default 600) against the release
# binary: no failures, no drift in RSS, open files or p99 (target/soak/).
soak:
    bench/soak.sh

# What CI runs on a clean clone.
ci:
    bash .ci/run
