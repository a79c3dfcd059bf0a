#!/bin/sh
# Runs `fcgi-conformance server` against real web servers on loopback and
# compares the verdicts with conformance/peers/<name>/expected.json.
#
#   run-server-suite.sh [--bin PATH] [--out DIR] [NAME...]
#
# NAME: nginx lighttpd apache2, and nginx-plain apache2-plain for the same
# servers' configs without connection reuse (default: all five; expectations
# in <server>/expected.json and <server>/expected-plain.json). For each: pick a free
# port for the runner, start the server with start.sh (forwarding to that
# port), run the suite (--junit and --transcript into DIR/NAME), stop the
# server by PID with stop.sh. Exits nonzero if any verdict differs from
# expected.json or a server does not start.
#   --bin PATH  the fcgi-conformance binary (default: target/debug or
#               $CARGO_TARGET_DIR/debug, built with cargo if missing)
#   --out DIR   reports and scratch space (default: a fresh mktemp -d)
# Environment: SUITE_TIMEOUT (seconds per wait, default 2).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=
OUT=
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) BIN=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        --*) echo "run-server-suite.sh: unknown flag $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
NAMES=${*:-nginx nginx-plain lighttpd apache2 apache2-plain}
TIMEOUT=${SUITE_TIMEOUT:-2}
if [ -z "$BIN" ]; then
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/fcgi-conformance
    if [ ! -x "$BIN" ]; then
        (cd "$ROOT" && cargo build -q -p fcgi-conformance) || exit 2
    fi
fi
[ -x "$BIN" ] || { echo "run-server-suite.sh: no binary at $BIN" >&2; exit 2; }
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/server-suite.XXXXXX)
mkdir -p "$OUT"
SCRATCH=$OUT/scratch

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

status=0
for NAME in $NAMES; do
    case "$NAME" in
        nginx|lighttpd|apache2) SERVER=$NAME; EXPECT=$HERE/$NAME/expected.json ;;
        nginx-plain|apache2-plain) SERVER=${NAME%-plain}; EXPECT=$HERE/$SERVER/expected-plain.json ;;
        *) echo "run-server-suite.sh: unknown server $NAME" >&2; status=1; continue ;;
    esac
    PORT=$(free_port)
    mkdir -p "$OUT/$NAME"
    if ! sh "$HERE/start.sh" "$SERVER" "$SCRATCH" "127.0.0.1:$PORT" >"$OUT/$NAME/start.out"; then
        echo "== $NAME: did not start" >&2
        sh "$HERE/stop.sh" "$SERVER" "$SCRATCH" >/dev/null 2>&1
        status=1
        continue
    fi
    # NAME: the keep-alive URL where the config has one (connection reuse
    # is what several cases look at), else the plain one; NAME-plain: the
    # URL without reuse.
    if [ "$SERVER" = "$NAME" ]; then
        URL=$(sed -n 's/^HTTP_KEEPALIVE=//p' "$OUT/$NAME/start.out")
        [ -n "$URL" ] || URL=$(sed -n 's/^HTTP=//p' "$OUT/$NAME/start.out")
    else
        URL=$(sed -n 's/^HTTP_PLAIN=//p' "$OUT/$NAME/start.out")
    fi
    AUTH=$(sed -n 's/^HTTP_AUTHORIZER=//p' "$OUT/$NAME/start.out")
    echo "== $NAME: $URL${AUTH:+ (authorizer $AUTH)}"
    set -- --timeout "$TIMEOUT" --listen "127.0.0.1:$PORT" --http "$URL" \
        --expect "$EXPECT" --junit "$OUT/$NAME/junit.xml" \
        --transcript "$OUT/$NAME/transcripts" --color never
    [ -n "$AUTH" ] && set -- "$@" --authorizer "$AUTH"
    "$BIN" server "$@" >"$OUT/$NAME/report.txt"
    rc=$?
    tail -n 2 "$OUT/$NAME/report.txt"
    sh "$HERE/stop.sh" "$SERVER" "$SCRATCH"
    if [ $rc -ne 0 ]; then
        echo "== $NAME: verdicts differ from $EXPECT (exit $rc); report in $OUT/$NAME/" >&2
        status=1
    fi
done
echo "reports in $OUT"
exit $status
