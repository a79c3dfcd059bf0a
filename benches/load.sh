#!/bin/sh
# `fcgi-conformance load` side by side against four FastCGI applications, in
# one run: the bundled reference application, Go net/http/fcgi, php-fpm and
# libfcgi (the peers of conformance/peers/, started by its start.sh).
#
#   benches/load.sh [DURATION [CONNECTIONS [IN_FLIGHT]]]     (default 5s 8 1)
#
# Needs FCGI_PEERS_BIN (e.g. target/peers-bin) as conformance/peers/start.sh
# does, and a release build: cargo build --release -p fcgi-conformance (or
# FCGI_CONFORMANCE_BIN=path). Takes /tmp/peers.lock itself: the peers bind
# fixed loopback ports. Prints a markdown table: req/s, p50, p99 (µs),
# CPU per request of the target (utime+stime of its whole process group,
# from /proc/<pid>/stat, before and after the run), violations; and the
# CPU model. JSON reports are kept in $FCGI_LOAD_OUT (default target/load-bench).
# Every application sees the same load: --in-flight above 1 is clamped by
# `load` itself where the application does not multiplex (see the notes).
set -eu
if [ -z "${FCGI_LOAD_LOCKED:-}" ]; then
    FCGI_LOAD_LOCKED=1 exec flock /tmp/peers.lock "$0" "$@"
fi
DURATION=${1:-5s}
CONNS=${2:-8}
INFLIGHT=${3:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${FCGI_CONFORMANCE_BIN:-$ROOT/target/release/fcgi-conformance}
PEERS=$ROOT/conformance/peers
OUT=${FCGI_LOAD_OUT:-$ROOT/target/load-bench}
[ -x "$BIN" ] || { echo "load.sh: no $BIN: cargo build --release -p fcgi-conformance first" >&2; exit 2; }
mkdir -p "$OUT"
SCRATCH=$(mktemp -d /tmp/load-bench.XXXXXX)
REF_PID=
cleanup() {
    [ -n "$REF_PID" ] && kill -TERM "-$REF_PID" 2>/dev/null || true
    for n in go php-fpm libfcgi; do sh "$PEERS/stop.sh" "$n" "$SCRATCH" >/dev/null 2>&1 || true; done
    rm -rf "$SCRATCH"
}
trap cleanup EXIT INT TERM

# Clock ticks of user+system CPU, children waited for included, of every
# process in process group $1.
group_ticks() {
    python3 - "$1" <<'PY'
import os, sys
pg, total = int(sys.argv[1]), 0
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        s = open("/proc/%s/stat" % d).read()
    except OSError:
        continue
    f = s[s.rindex(")") + 2:].split()
    # fields after the name: state(3) ppid pgrp ... utime(14) stime cutime cstime
    if int(f[2]) == pg:
        total += sum(int(x) for x in f[11:15])
print(total)
PY
}

# measure LABEL PID ADDR [--param ...]
measure() {
    label=$1 pid=$2 addr=$3; shift 3
    before=$(group_ticks "$pid")
    code=0
    "$BIN" load --connect "$addr" --connections "$CONNS" --in-flight "$INFLIGHT" \
        --duration "$DURATION" --format json "$@" >"$OUT/$label.json" || code=$?
    after=$(group_ticks "$pid")
    python3 - "$label" "$OUT/$label.json" "$before" "$after" "$code" <<'PY'
import json, os, sys
label, path, before, after, code = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
try:
    r = json.load(open(path))
except ValueError:
    print("| %s | (no report, exit %s) | | | | |" % (label, code)); sys.exit(0)
done = r["requests"]["completed"]
tick = os.sysconf("SC_CLK_TCK")
cpu = (after - before) / tick * 1e6 / done if done else float("nan")
other = sum(r["errors"].values()) + sum(r["refusals"].values())
print("| %s | %.0f | %d | %d | %.1f | %d | %d |" % (
    label, r["requests_per_second"], r["latency_us"]["p50"], r["latency_us"]["p99"],
    cpu, r["violation_count"], other))
for n in r["notes"]:
    print("note (%s): %s" % (label, n), file=sys.stderr)
PY
}

echo "CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores; load: $CONNS connections, $INFLIGHT in flight, $DURATION each, $(date -u +%Y-%m-%d)"
echo
echo "| application | req/s | p50 µs | p99 µs | CPU µs/req | violations | errors+refusals |"
echo "|---|---:|---:|---:|---:|---:|---:|"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
setsid "$BIN" reference-app --listen "127.0.0.1:$PORT" </dev/null >"$SCRATCH/ref.log" 2>&1 &
REF_PID=$!
i=0
until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$PORT),1)" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "load.sh: reference-app did not listen" >&2; exit 1; }; sleep 0.1
done
measure reference-app "$REF_PID" "127.0.0.1:$PORT"
kill -TERM "-$REF_PID" 2>/dev/null || true; REF_PID=

for name in go php-fpm libfcgi; do
    if ! sh "$PEERS/start.sh" "$name" "$SCRATCH" >"$SCRATCH/$name.start" 2>"$SCRATCH/$name.err"; then
        echo "| $name | (did not start: $(tail -n 1 "$SCRATCH/$name.err")) | | | | | |"
        continue
    fi
    addr=$(sed -n 's/^ADDR=//p' "$SCRATCH/$name.start")
    set --
    for p in $(sed -n 's/^PARAM=//p' "$SCRATCH/$name.start"); do set -- "$@" --param "$p"; done
    measure "$name" "$(cat "$SCRATCH/$name.pid")" "$addr" "$@"
    sh "$PEERS/stop.sh" "$name" "$SCRATCH" >/dev/null 2>&1 || true
done
