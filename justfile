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

# What CI runs on a clean clone.
ci:
    bash .ci/run
