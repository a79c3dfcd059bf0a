#!/usr/bin/env bash
# The published crates as crates.io would hold them: `cargo package` both
# (fcgi-conformance against the fcgi-proto packaged beside it), unpack the
# .crate files outside the workspace, and run each one's own tests there.
# This catches what works only in the repository: a file the package does
# not ship, a path outside the crate, a dependency that exists only as a
# path. Tests that need the repository (spec/, docs/, the other crates'
# sources) say SKIPPED there; they run in-tree in `cargo test --workspace`.
# hostile_targets (about 2 minutes of misbehaving processes, nothing that
# depends on packaging) runs in-tree only, to keep this step short.
#   .ci/package-test.sh      (build cache: target/package-test)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TARGET_DIR="$ROOT/target/package-test"

# --allow-dirty: a local run mid-change packages the working tree as it is;
# CI's checkout is clean anyway. --no-verify: the tests below build it.
cargo package --workspace --exclude fcgi-proto-checks --exclude fcgi-benches --exclude fcgi-example-tokio-app \
    --allow-dirty --no-verify --target-dir "$ROOT/target"
U=$(mktemp -d "${TMPDIR:-/tmp}/fcgi-packages.XXXXXX")
trap 'rm -rf "$U"' EXIT
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
# -m: the files get the time of unpacking, not the tarball's. With the
# tarball's (older than the cache), cargo would take the previous run's
# test binaries for fresh and test stale code.
for c in fcgi-proto fcgi-conformance; do
    tar -xzmf "$ROOT/target/package/$c-$VERSION.crate" -C "$U"
done

echo "package-test: fcgi-proto $VERSION, unpacked in $U"
(cd "$U/fcgi-proto-$VERSION" && cargo test --locked --all-features --quiet)

echo "package-test: fcgi-conformance $VERSION, with the fcgi-proto packaged beside it"
cd "$U/fcgi-conformance-$VERSION"
TESTS=()
for t in tests/*.rs; do
    name=$(basename "$t" .rs)
    [ "$name" = hostile_targets ] || TESTS+=(--test "$name")
done
# --features harness: tests/harness.rs needs it (required-features).
cargo test --quiet --config "patch.crates-io.fcgi-proto.path=\"../fcgi-proto-$VERSION\"" \
    --features harness --lib --bins "${TESTS[@]}"
echo "package-test: both packaged crates pass their own tests"
