#!/usr/bin/env bash
# Runs every fuzz target for a bounded time, as CI does.
#
#   fuzz/run-ci.sh [SECONDS_PER_TARGET]      (default 30)
#
# - builds the fuzz crate's other targets (cargo check, so it never rots),
#   every target without sanitizer (with debug assertions and overflow
#   checks) and the ASAN_TARGETS with AddressSanitizer (RUSTC_BOOTSTRAP=1
#   on the stable toolchain);
# - runs each target for SECONDS_PER_TARGET on a copy of its committed
#   corpus in a temp dir, with -rss_limit_mb=256 -malloc_limit_mb=256, and
#   the ASan targets once more under ASan (RSS cap 1024 there: ASan's
#   shadow memory counts); FUZZ_JOBS runs go at once;
# - prints one summary line per run (execs/s, total execs, new units);
# - exits nonzero if any run crashed, leaked past the limits, timed out or
#   failed to start, printing the crashing input in base64.
# Nothing in the work tree changes apart from fuzz/target/.
# Environment: FUZZ_JOBS (default 2), ASAN_TARGETS (default
# "record_stream app_state_machine"), FUZZ_KEEP=DIR keeps the scratch dir.
set -euo pipefail

SECS=${1:-30}
case $SECS in '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;; esac
JOBS=${FUZZ_JOBS:-2}
ASAN_TARGETS=${ASAN_TARGETS:-record_stream app_state_machine}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
START=$(date +%s)

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

TARGETS=$(cargo fuzz list)
[ -n "$TARGETS" ] || { echo "no fuzz targets" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fcgi-fuzz.XXXXXX")
if [ -n "${FUZZ_KEEP:-}" ]; then
    mkdir -p "$FUZZ_KEEP"
    trap 'cp -r "$WORK"/. "$FUZZ_KEEP"/; rm -rf "$WORK"' EXIT
else
    trap 'rm -rf "$WORK"' EXIT
fi
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')

echo "== cargo check of the fuzz crate (all targets, --cfg fuzzing)"
(cd fuzz && CARGO_TARGET_DIR="$ROOT/fuzz/target/check" cargo check --all-targets --quiet)

echo "== build: no sanitizer, debug assertions"
cargo fuzz build -s none --debug-assertions --target-dir fuzz/target/none
mkdir -p "$WORK/bin/none" "$WORK/bin/asan"
for t in $TARGETS; do cp "fuzz/target/none/$TRIPLE/release/$t" "$WORK/bin/none/"; done

echo "== build: AddressSanitizer ($ASAN_TARGETS)"
for t in $ASAN_TARGETS; do
    RUSTC_BOOTSTRAP=1 cargo fuzz build -s address --debug-assertions \
        --target-dir fuzz/target/asan "$t"
    cp "fuzz/target/asan/$TRIPLE/release/$t" "$WORK/bin/asan/"
done

# One run: SAN TARGET. Writes $WORK/logs/SAN-TARGET.{log,rc}.
run_one() {
    local san=$1 t=$2
    local corpus="$WORK/corpus/$san-$t" art="$WORK/artifacts/$san-$t/"
    mkdir -p "$corpus" "$art" "$WORK/logs"
    if [ -d "fuzz/corpus/$t" ]; then cp -r "fuzz/corpus/$t/." "$corpus/"; fi
    local rc=0 rss=256
    # Under ASan the RSS also counts shadow memory and the allocator's
    # caches (400 MB after a minute of the state machines, with 50 MB live),
    # so its RSS cap is looser; the cap on any single allocation is not.
    [ "$san" = asan ] && rss=1024
    # The outer timeout is a backstop only: libFuzzer stops itself.
    timeout -k 10 $((SECS + 120)) "$WORK/bin/$san/$t" \
        -max_total_time="$SECS" -rss_limit_mb="$rss" -malloc_limit_mb=256 \
        -timeout=10 -dict=fuzz/fcgi.dict -print_final_stats=1 \
        -artifact_prefix="$art" "$corpus" >"$WORK/logs/$san-$t.log" 2>&1 || rc=$?
    echo "$rc" >"$WORK/logs/$san-$t.rc"
}

RUNS=()
for t in $TARGETS; do RUNS+=("none $t"); done
for t in $ASAN_TARGETS; do RUNS+=("asan $t"); done

echo "== fuzzing ${#RUNS[@]} runs, ${SECS}s each, $JOBS at a time"
running=0
for r in "${RUNS[@]}"; do
    # shellcheck disable=SC2086
    run_one $r &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

fstat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }
fail=0
printf '%-6s %-22s %10s %12s %6s %8s  %s\n' san target execs/s execs new peak_mb result
for r in "${RUNS[@]}"; do
    set -- $r
    log="$WORK/logs/$1-$2.log"
    rc=$(cat "$WORK/logs/$1-$2.rc" 2>/dev/null || echo 99)
    arts=$(find "$WORK/artifacts/$1-$2" -type f 2>/dev/null | wc -l)
    result=ok
    if [ "$rc" != 0 ] || [ "$arts" != 0 ]; then result="FAIL(rc=$rc)"; fail=1; fi
    printf '%-6s %-22s %10s %12s %6s %8s  %s\n' "$1" "$2" \
        "$(fstat average_exec_per_sec "$log")" "$(fstat number_of_executed_units "$log")" \
        "$(fstat new_units_added "$log")" "$(fstat peak_rss_mb "$log")" "$result"
done

if [ "$fail" != 0 ]; then
    for r in "${RUNS[@]}"; do
        set -- $r
        rc=$(cat "$WORK/logs/$1-$2.rc" 2>/dev/null || echo 99)
        arts=$(find "$WORK/artifacts/$1-$2" -type f 2>/dev/null)
        [ "$rc" = 0 ] && [ -z "$arts" ] && continue
        echo "==== $1 $2 (exit $rc): end of log"
        grep -v -E '^#[0-9]+.*(NEW|REDUCE|pulse)' "$WORK/logs/$1-$2.log" | tail -40
        for a in $arts; do
            echo "---- artifact $(basename "$a") (base64; save as fcgi-proto-checks/tests/fuzz-regressions/$2/crash-NAME):"
            base64 -w0 "$a"; echo
        done
    done
fi
echo "== fuzz/run-ci.sh: $(( $(date +%s) - START ))s wall, $([ $fail = 0 ] && echo 'no crashes' || echo 'FAILED')"
exit "$fail"
