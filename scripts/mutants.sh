#!/usr/bin/env bash
# Mutation testing of todos-domain, todos-auth and todos-cache (README:
# "Mutation testing"): cargo-mutants makes one small mistake at a time in
# their code and runs their own tests; a mistake that no test notices, or
# that makes them hang, fails the run. Exclusions, each with its reason,
# are in .cargo/mutants.toml. Installs the pinned cargo-mutants into the
# target dir on first use; reports go to target/mutants/*/mutants.out.
# Extra arguments go to cargo-mutants, e.g. only the mutants in what a
# branch changed:
#
#   scripts/mutants.sh --in-diff <(git diff main)
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=27.0.0
target=${CARGO_TARGET_DIR:-target}
case $target in /*) ;; *) target=$PWD/$target ;; esac
out=$target/mutants
mkdir -p "$out"
rm -f "$out"/*.status

export PATH="$target/tools/bin:$PATH"
if [ "$(cargo mutants --version 2>/dev/null)" != "cargo-mutants $VERSION" ]; then
    # A debug build compiles in far less time; its own work is negligible.
    cargo install --locked --debug cargo-mutants --version "$VERSION" --root "$target/tools"
fi

# Both runs below read the diff: a pipe (`<(…)`) could be read only once.
args=()
while [ $# -gt 0 ]; do
    case $1 in
        --in-diff) cat "$2" > "$out/in.diff"; args+=(--in-diff "$out/in.diff"); shift 2 ;;
        --in-diff=*) cat "${1#*=}" > "$out/in.diff"; args+=(--in-diff "$out/in.diff"); shift ;;
        *) args+=("$1"); shift ;;
    esac
done

# Each run builds in copies of the tree with their own target/: a shared
# CARGO_TARGET_DIR would have them overwrite each other's builds. Without
# REDIS_URL the run is the same everywhere: the cache's tests cover the
# in-process cache, and the Redis adapter as far as it goes without a server.
unset CARGO_TARGET_DIR REDIS_URL

# Two runs at once, one job each, so that no job moves between packages:
# cargo resolves dependency features per selection of packages, and each
# move rebuilds much of the dependency tree. The domain's mutants run the
# domain's tests; auth's and the cache's run both of theirs (neither
# depends on the other, so only the mutated crate is rebuilt, and a caught
# auth mutant stops before the cache's tests).
run() { # name, cargo-mutants options...
    local name=$1
    shift
    {
        status=0
        cargo mutants --jobs 1 --timeout 30 --output "$out/$name" "$@" ${args[@]+"${args[@]}"} \
            || status=$?
        echo "$status" > "$out/$name.status"
    } 2>&1 | sed -u "s/^/[$name] /"
}
run domain --package todos-domain &
run auth-cache --package todos-auth --package todos-cache \
    --test-package todos-auth --test-package todos-cache &
wait

failed=0
for name in domain auth-cache; do
    status=$(cat "$out/$name.status" 2>/dev/null || echo 1)
    # 2: missed mutants, 3: timeouts, 4: tests fail unmutated (mutants.rs).
    if [ "$status" != 0 ]; then
        echo "mutants: $name failed (cargo-mutants exit $status); see $out/$name/mutants.out" >&2
        [ "$failed" != 0 ] || failed=$status
    fi
done
exit "$failed"
