#!/bin/sh
# Reproduces the tables of docs/performance.md in one run:
#   1. criterion benches of ours, the peers (async-fcgi with --features
#      agpl-peers), memcpy and a byte scan, all in the same run;
#   2. the Python fcgiproto timings (if the package is installed);
#   3. callgrind instruction counts per operation for ours.
# Prints markdown on stdout; the raw run is kept in $CARGO_TARGET_DIR.
#   benches/run.sh            # everything
#   FEATURES= benches/run.sh  # without the AGPL peer
# Needs: cargo, python3; valgrind for the instruction counts.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
cd "$ROOT"
T=${CARGO_TARGET_DIR:-$ROOT/target}
export CARGO_TARGET_DIR=$T
FEATURES=${FEATURES-agpl-peers}
FEAT_ARGS=""
[ -n "$FEATURES" ] && FEAT_ARGS="--features $FEATURES"
CRIT_ARGS=${CRIT_ARGS:-"--warm-up-time 1 --measurement-time 2 --noplot"}
LOG=$T/bench-run; mkdir -p "$LOG"
rm -rf "$T/criterion"

# The machine is shared: sample the load every 5 s while we measure.
: >"$LOG/load.txt"
( i=0; while [ $i -lt 720 ]; do cat /proc/loadavg >>"$LOG/load.txt"; sleep 5; i=$((i+1)); done ) &
LOADPID=$!
trap 'kill $LOADPID 2>/dev/null || true' EXIT INT TERM

START=$(date -u '+%Y-%m-%d %H:%M UTC')
# shellcheck disable=SC2086
cargo bench -p fcgi-benches $FEAT_ARGS --bench codec -- $CRIT_ARGS >"$LOG/criterion.txt" 2>&1 \
    || { tail -n 30 "$LOG/criterion.txt" >&2; exit 1; }

PYJSON=$LOG/fcgiproto.json
if python3 -c "import fcgiproto" 2>/dev/null; then
    python3 "$HERE/python/fcgiproto_bench.py" "$HERE/data/nginx-get-request.bin" >"$PYJSON"
else
    echo '{}' >"$PYJSON"
fi
END=$(date -u '+%Y-%m-%d %H:%M UTC')
kill $LOADPID 2>/dev/null || true

ICJSON=$LOG/icount.json
echo '{}' >"$ICJSON"
if command -v valgrind >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    cargo build --release -p fcgi-benches $FEAT_ARGS --bin icount >/dev/null 2>&1
    B=$T/release/icount
    N1=100; N2=1100
    printf '{' >"$ICJSON"; sep=""
    for op in $("$B" list); do
        a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$B" "$op" $N1 2>&1 | sed -n 's/.*Collected : //p')
        b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$B" "$op" $N2 2>&1 | sed -n 's/.*Collected : //p')
        printf '%s"%s": %s' "$sep" "$op" $(( (b - a) / (N2 - N1) )) >>"$ICJSON"; sep=", "
    done
    echo '}' >>"$ICJSON"
fi

echo "Run: \`benches/run.sh\` (cargo bench -p fcgi-benches $FEAT_ARGS --bench codec -- $CRIT_ARGS),"
echo "from $START to $END, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')."
echo
echo "Machine: $(nproc) CPUs; $(rustc --version)."
echo
echo '```'
lscpu | head -n 15
echo '```'
echo
awk '{ if ($1 > max) max = $1; s += $1; n++ } END { if (n) printf "Load average (1 min) during the criterion run: mean %.2f, max %.2f over %d samples.\n", s / n, max, n }' "$LOG/load.txt"
echo
python3 "$HERE/report.py" "$T/criterion" "$ICJSON" "$PYJSON"
