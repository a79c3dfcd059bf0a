#!/bin/bash
# The reference application's CPU per request under `fcgi-conformance load`
# beside the transport's floor, in one run, interleaved (docs/performance.md,
# "The floor under load"):
#
#   benches/floor.sh [ROUNDS [REQUESTS [CONNECTIONS]]]     (default 5 100000 1)
#
# Each round runs `load -n REQUESTS -c CONNECTIONS` against, one after another:
# `reference-app --listen`, `load-floor tokio` (the same runtime and system
# calls, nothing else) and `load-floor blocking` (a blocking read and write per
# request). CPU per request is the server's utime+stime from /proc/<pid>/stat
# before and after, divided by completed requests (load's own CPU is in its
# own process, not counted). Needs release builds:
#   cargo build --release -p fcgi-conformance -p fcgi-benches --bin fcgi-conformance --bin load-floor
# Loopback ports 19701-19703. Nothing here is asserted anywhere.
set -eu
ROUNDS=${1:-5}
REQS=${2:-100000}
CONNS=${3:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${FCGI_CONFORMANCE_BIN:-$ROOT/target/release/fcgi-conformance}
FLOOR=${FCGI_LOAD_FLOOR_BIN:-$ROOT/target/release/load-floor}
for b in "$BIN" "$FLOOR"; do
    [ -x "$b" ] || { echo "floor.sh: no $b: cargo build --release -p fcgi-conformance -p fcgi-benches first" >&2; exit 2; }
done
OUT=$(mktemp -d /tmp/load-floor.XXXXXX)
SPID=
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; rm -rf "$OUT"' EXIT INT TERM

# run LABEL PORT CMD...: one measurement, one markdown row
run() {
    label=$1 port=$2; shift 2
    "$@" 2>/dev/null &
    SPID=$!
    for _ in $(seq 50); do
        "$BIN" load --connect "127.0.0.1:$port" -n 1 >/dev/null 2>&1 && break
        sleep 0.1
    done
    t0=$(awk '{print $14, $15}' "/proc/$SPID/stat")
    "$BIN" load --connect "127.0.0.1:$port" -c "$CONNS" -n "$REQS" --format json >"$OUT/r.json" || true
    t1=$(awk '{print $14, $15}' "/proc/$SPID/stat")
    kill "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=
    python3 - "$label" "$OUT/r.json" $t0 $t1 <<'PY'
import json, os, sys
label, path = sys.argv[1], sys.argv[2]
u0, s0, u1, s1 = map(int, sys.argv[3:7])
r = json.load(open(path))
n = r["requests"]["completed"]
us = 1e6 / os.sysconf("SC_CLK_TCK") / max(n, 1)
print("| %s | %.0f | %.2f | %.2f | %.2f | %d |" % (
    label, r["requests_per_second"], (u1 - u0) * us, (s1 - s0) * us,
    (u1 - u0 + s1 - s0) * us, sum(r["errors"].values()) + sum(r["refusals"].values())))
PY
}

echo "| server (round, load average) | req/s | user µs/req | sys µs/req | CPU µs/req | errors |"
echo "|---|---:|---:|---:|---:|---:|"
for i in $(seq "$ROUNDS"); do
    la=$(cut -d' ' -f1 /proc/loadavg)
    run "reference-app ($i, $la)" 19701 "$BIN" reference-app --listen 127.0.0.1:19701
    run "load-floor tokio ($i)" 19702 "$FLOOR" tokio 127.0.0.1:19702
    run "load-floor blocking ($i)" 19703 "$FLOOR" blocking 127.0.0.1:19703
done
