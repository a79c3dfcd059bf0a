#!/bin/sh
# nginx -> fcgi-conformance proxy -> php-fpm, on loopback: a handful of
# HTTP requests with curl through nginx, whose FastCGI connections the
# proxy relays to php-fpm and checks live; then the proxy's JSON summary
# (schema fcgi-conformance-proxy/1) against the pinned counts of
# php-fpm/proxy-expected.json, and one recorded conversation replayed
# against php-fpm, where it must reproduce its finding.
#
#   run-proxy-check.sh [--bin PATH] [--out DIR]
#
#   --bin PATH  the fcgi-conformance binary (default: $FCGI_CONFORMANCE_BIN,
#               else target/debug (or $CARGO_TARGET_DIR/debug), built if missing)
#   --out DIR   the summary, the proxy's lines and the recordings go to
#               DIR/proxy-nginx-php-fpm/ (default: $FCGI_CONFORMANCE_OUT,
#               else target/peer-reports)
# Uses start.sh/stop.sh for both peers (FCGI_PEERS_BIN as they do). Every
# wait is bounded (curl 10 s per request, the proxy 10 s to stop); the
# whole check takes a few seconds. Run it under `flock /tmp/peers.lock`
# when other peer runs share the machine. Exits nonzero on any difference.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${FCGI_CONFORMANCE_BIN:-}
OUT=${FCGI_CONFORMANCE_OUT:-}
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) BIN=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "run-proxy-check.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ -z "$BIN" ]; then
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/fcgi-conformance
    if [ ! -x "$BIN" ]; then
        (cd "$ROOT" && cargo build -q -p fcgi-conformance) || exit 2
    fi
fi
[ -x "$BIN" ] || { echo "run-proxy-check.sh: no binary at $BIN" >&2; exit 2; }
[ -n "$OUT" ] || OUT=$ROOT/target/peer-reports
OUT=$OUT/proxy-nginx-php-fpm
rm -rf "$OUT"
mkdir -p "$OUT/recorded"
S=$(mktemp -d /tmp/proxy-check.XXXXXX)
PROXY_PID=

fail() { echo "run-proxy-check.sh: $*" >&2; exit 1; }
cleanup() {
    [ -z "$PROXY_PID" ] || kill -KILL "$PROXY_PID" 2>/dev/null
    sh "$HERE/stop.sh" nginx "$S" >/dev/null 2>&1
    sh "$HERE/stop.sh" php-fpm "$S" >/dev/null 2>&1
    rm -rf "$S"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

sh "$HERE/start.sh" php-fpm "$S" >"$S/php-fpm.out" || fail "php-fpm did not start"
APP=$(sed -n 's/^ADDR=//p' "$S/php-fpm.out")
PORT=$(free_port)
"$BIN" proxy --listen "127.0.0.1:$PORT" --upstream "$APP" --record "$OUT/recorded" \
    --format json >"$OUT/summary.json" 2>"$OUT/proxy.log" &
PROXY_PID=$!
i=0
until grep -q 'listening on' "$OUT/proxy.log" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 100 ] || { cat "$OUT/proxy.log" >&2; fail "the proxy did not listen within 10 s"; }
    kill -0 "$PROXY_PID" 2>/dev/null || { cat "$OUT/proxy.log" >&2; fail "the proxy exited"; }
    sleep 0.1
done
sh "$HERE/start.sh" nginx "$S" "127.0.0.1:$PORT" >"$S/nginx.out" || fail "nginx did not start"
HTTP=$(sed -n 's/^HTTP=//p' "$S/nginx.out")
# nginx's root is its scratch folder: the script php-fpm runs is put there.
cp "$HERE/php-fpm/echo.php" "$S/nginx/echo.php"
mkdir -p "$S/nginx/plain"
cp "$HERE/php-fpm/echo.php" "$S/nginx/plain/echo.php"
chmod 755 "$S/nginx" "$S/nginx/plain"; chmod 644 "$S/nginx/echo.php" "$S/nginx/plain/echo.php"

# Three GETs and a POST on the kept upstream connection (FCGI_KEEP_CONN),
# two GETs on a connection each (/plain/).
get() { curl -sS --max-time 10 "$@"; }
n=0
for q in a b c; do
    get "${HTTP}echo.php?q=$q" >"$S/body" || fail "GET echo.php?q=$q failed"
    grep -q '^FCGI-ECHO/1' "$S/body" || fail "GET echo.php?q=$q: not the echo: $(head -c 200 "$S/body")"
    n=$((n + 1))
done
get -X POST --data-binary 'hello proxy' -H 'Content-Type: text/plain' "${HTTP}echo.php" >"$S/body" \
    || fail "POST echo.php failed"
grep -q '^stdin 11$' "$S/body" || fail "POST echo.php: the body did not come through: $(head -c 200 "$S/body")"
n=$((n + 1))
for q in d e; do
    get "${HTTP}plain/echo.php?q=$q" >"$S/body" || fail "GET plain/echo.php?q=$q failed"
    grep -q '^FCGI-ECHO/1' "$S/body" || fail "GET plain/echo.php?q=$q: not the echo"
    n=$((n + 1))
done
echo "run-proxy-check.sh: $n HTTP requests answered through nginx -> proxy -> php-fpm"

# nginx's stop closes its kept connection; then the proxy stops and reports.
sh "$HERE/stop.sh" nginx "$S" >/dev/null 2>&1
sleep 0.2
kill -TERM "$PROXY_PID"
i=0
while kill -0 "$PROXY_PID" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "the proxy did not stop within 10 s of SIGTERM"
    sleep 0.1
done
wait "$PROXY_PID"
CODE=$?
PROXY_PID=
cat "$OUT/proxy.log"
cat "$OUT/summary.json"

python3 - "$OUT/summary.json" "$HERE/php-fpm/proxy-expected.json" "$CODE" <<'PY' || exit 1
import json, sys
got = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))
code = int(sys.argv[3])
bad = []
def walk(w, g, path):
    for k, v in w.items():
        if k.startswith("_"):
            continue
        if isinstance(v, dict):
            walk(v, g.get(k, {}) if isinstance(g, dict) else {}, path + k + ".")
        elif not isinstance(g, dict) or g.get(k) != v:
            bad.append("%s%s: expected %r, got %r" % (path, k, v, g.get(k) if isinstance(g, dict) else None))
walk(want, got, "")
if got.get("schema") != "fcgi-conformance-proxy/1":
    bad.append("schema: %r" % got.get("schema"))
want_code = 1 if want.get("violations", {}).get("total", 0) else 0
if code != want_code:
    bad.append("exit code %d, expected %d" % (code, want_code))
for b in bad:
    print("run-proxy-check.sh: summary: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
echo "run-proxy-check.sh: the summary matches php-fpm/proxy-expected.json"

# One recorded connection with a finding, replayed against php-fpm.
FILE=$(grep -l '"finding": {' "$OUT"/recorded/*.json 2>/dev/null | head -n 1)
[ -n "$FILE" ] || fail "no recorded conversation carries a finding"
set --
while IFS= read -r p; do set -- "$@" --param "$p"; done <<EOF2
$(sed -n 's/^PARAM=//p' "$S/php-fpm.out")
EOF2
"$BIN" replay "$FILE" --connect "$APP" --timeout 3 "$@" >"$OUT/replay.txt" 2>&1
RC=$?
cat "$OUT/replay.txt"
[ $RC -eq 1 ] && grep -q 'reproduces' "$OUT/replay.txt" \
    || fail "replay of $(basename "$FILE") against php-fpm: exit $RC, expected 1 and 'reproduces'"
echo "run-proxy-check.sh: ok"
