#!/bin/bash
# The latency `fcgi-conformance proxy` adds: `load` against the bundled
# reference application directly and through the proxy, alternating, in
# one run; then the proxy's peak RSS (VmHWM) and its summary.
#
#   benches/proxy.sh [ROUNDS [SECONDS [CONNECTIONS]]]   (default 3 5 4)
#
# Uses target/release/fcgi-conformance ($FCGI_CONFORMANCE_BIN to override;
# build it with `cargo build --release -p fcgi-conformance`). Loopback only;
# every process it starts is stopped by its PID at the end.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${FCGI_CONFORMANCE_BIN:-$ROOT/target/release/fcgi-conformance}
ROUNDS=${1:-3}; SECS=${2:-5}; CONNS=${3:-4}
[ -x "$B" ] || { echo "benches/proxy.sh: no binary at $B" >&2; exit 2; }
T=$(mktemp -d)
APP= PX=
trap '[ -z "$PX" ] || kill "$PX" 2>/dev/null; [ -z "$APP" ] || kill "$APP" 2>/dev/null; rm -rf "$T"' EXIT
"$B" reference-app --listen 127.0.0.1:0 2>"$T/app.err" & APP=$!
"$B" --version >/dev/null
for _ in $(seq 50); do grep -q listening "$T/app.err" && break; sleep 0.1; done
APPADDR=$(grep -o '127.0.0.1:[0-9]*' "$T/app.err" | head -1)
"$B" proxy --listen 127.0.0.1:0 --upstream "$APPADDR" --format json >"$T/sum.json" 2>"$T/proxy.err" & PX=$!
for _ in $(seq 50); do grep -q listening "$T/proxy.err" && break; sleep 0.1; done
PXADDR=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$T/proxy.err" | cut -d' ' -f3)
echo "reference app $APPADDR, proxy $PXADDR, $ROUNDS rounds of ${SECS}s, $CONNS connections"
for i in $(seq "$ROUNDS"); do
    for which in direct proxy; do
        A=$APPADDR; [ "$which" = proxy ] && A=$PXADDR
        "$B" load --connect "$A" -c "$CONNS" --duration "${SECS}s" --format json >"$T/$which-$i.json"
        python3 - "$T/$which-$i.json" "$which" "$i" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
print("%-6s round %s: %6.0f requests/s  p50 %5s us  p99 %5s us  violations %s" % (
    sys.argv[2], sys.argv[3], v["requests_per_second"], v["latency_us"]["p50"],
    v["latency_us"]["p99"], v["violation_count"]))
PY
    done
done
echo "proxy peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$PX/status)"
kill -INT "$PX"; wait "$PX"; echo "proxy exit $?"; PX=
python3 -c "import json,sys; v=json.load(open(sys.argv[1])); print('proxy summary: %d connections, %d requests, %d violations, %d checks stopped' % (v['connections'], v['requests'], v['violations']['total'], v['checking_stopped']))" "$T/sum.json"
