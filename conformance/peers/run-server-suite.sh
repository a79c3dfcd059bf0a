#!/bin/sh
# Runs `fcgi-conformance server` against real web servers on loopback and
# compares the verdicts with conformance/peers/<name>/expected.json.
#
#   run-server-suite.sh [--update] [--bin PATH] [--out DIR] [NAME...]
#
# NAME: nginx lighttpd apache2 h2o; nginx-plain apache2-plain h2o-plain for
# the same servers' configs without connection reuse; nginx-unix for nginx's
# keep-alive config forwarding to the runner over a unix socket (default: all
# eight; expectations in <server>/expected.json, expected-plain.json,
# expected-unix.json). For each: pick a free port (or a socket path) for the
# runner, start the server with start.sh (forwarding there), run the suite
# (--junit and --transcript into DIR/NAME), stop the
# server by PID with stop.sh. Exits nonzero if any verdict differs from
# expected.json or a server does not start.
#   --update    rewrite the expectation files from this run instead of comparing
#   --bin PATH  the fcgi-conformance binary (default: $FCGI_CONFORMANCE_BIN,
#               else target/debug (or $CARGO_TARGET_DIR/debug), built if missing)
#   --out DIR   reports: DIR/NAME/{report.json,junit.xml,transcripts/}
#               (default: $FCGI_CONFORMANCE_OUT, else target/peer-reports)
# Configurations run two at a time (PEER_JOBS, see jobs.sh), each in a
# scratch folder of its own, each runner bounded by PEER_TIMEOUT seconds
# (default 600); each one's output is printed whole when it ends.
# Environment: SUITE_TIMEOUT (seconds per wait, default 2).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${FCGI_CONFORMANCE_BIN:-}
OUT=${FCGI_CONFORMANCE_OUT:-}
UPDATE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --update) UPDATE=1; shift ;;
        --bin) BIN=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        --*) echo "run-server-suite.sh: unknown flag $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
NAMES=${*:-nginx nginx-plain nginx-unix lighttpd apache2 apache2-plain h2o h2o-plain}
TIMEOUT=${SUITE_TIMEOUT:-2}
if [ -z "$BIN" ]; then
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/fcgi-conformance
    if [ ! -x "$BIN" ]; then
        (cd "$ROOT" && cargo build -q -p fcgi-conformance) || exit 2
    fi
fi
[ -x "$BIN" ] || { echo "run-server-suite.sh: no binary at $BIN" >&2; exit 2; }
[ -n "$OUT" ] || OUT=$ROOT/target/peer-reports
. "$HERE/jobs.sh"
mkdir -p "$OUT"
SCRATCH=$(mktemp -d /tmp/server-suite.XXXXXX)

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# One configuration: start its server (in a scratch folder of its own),
# run the suite, stop the server, compare. Returns 0 (matched) or 1.
server_one() {
    NAME=$1
    S=$SCRATCH/$NAME
    mkdir -p "$S"
    case "$NAME" in
        nginx|lighttpd|apache2|h2o) SERVER=$NAME; EXPECT=$HERE/$NAME/expected.json ;;
        nginx-plain|apache2-plain|h2o-plain) SERVER=${NAME%-plain}; EXPECT=$HERE/$SERVER/expected-plain.json ;;
        nginx-unix) SERVER=nginx; EXPECT=$HERE/nginx/expected-unix.json ;;
        *) echo "run-server-suite.sh: unknown server $NAME" >&2; return 1 ;;
    esac
    # NAME-unix: the runner listens on a unix socket and the server
    # forwards to it there.
    case "$NAME" in
        *-unix) APP=unix:$S/$NAME.sock ;;
        *) APP=127.0.0.1:$(free_port) ;;
    esac
    mkdir -p "$OUT/$NAME"
    if ! sh "$HERE/start.sh" "$SERVER" "$S" "$APP" >"$OUT/$NAME/start.out"; then
        echo "== $NAME: did not start" >&2
        sh "$HERE/stop.sh" "$SERVER" "$S" >/dev/null 2>&1
        return 1
    fi
    # NAME: the keep-alive URL where the config has one (connection reuse
    # is what several cases look at), else the plain one; NAME-plain: the
    # URL without reuse.
    if [ "$SERVER" = "$NAME" ] || [ "$NAME" = "$SERVER-unix" ]; then
        URL=$(sed -n 's/^HTTP_KEEPALIVE=//p' "$OUT/$NAME/start.out")
        [ -n "$URL" ] || URL=$(sed -n 's/^HTTP=//p' "$OUT/$NAME/start.out")
    else
        URL=$(sed -n 's/^HTTP_PLAIN=//p' "$OUT/$NAME/start.out")
    fi
    AUTH=$(sed -n 's/^HTTP_AUTHORIZER=//p' "$OUT/$NAME/start.out")
    echo "== $NAME: $URL${AUTH:+ (authorizer $AUTH)}"
    set -- --timeout "$TIMEOUT" --listen "$APP" --http "$URL" \
        --junit "$OUT/$NAME/junit.xml" --html "$OUT/$NAME/report.html" \
        --transcript "$OUT/$NAME/transcripts" --format json
    [ -n "$AUTH" ] && set -- "$@" --authorizer "$AUTH"
    [ $UPDATE = 1 ] || set -- "$@" --expect "$EXPECT"
    timeout -k 5 "$PEER_TIMEOUT" "$BIN" server "$@" >"$OUT/$NAME/report.json"
    rc=$?
    [ $rc -ne 124 ] || echo "== $NAME: the runner did not finish within ${PEER_TIMEOUT}s (PEER_TIMEOUT)" >&2
    sh "$HERE/stop.sh" "$SERVER" "$S"
    python3 - "$OUT/$NAME/report.json" "$UPDATE" "$EXPECT" <<'PY' || rc=1
import json, sys
path, update, expect = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
report = json.load(open(path))
s = report["summary"]
print("   %(pass)d pass, %(fail)d fail, %(warn)d warn, %(info)d info, %(skip)d skip" % s)
for c in report["cases"]:
    if c["verdict"] != "pass":
        print("   %-5s %s  %s" % (c["verdict"], c["id"], c["detail"][:160]))
if update:
    with open(expect, "w") as f:
        json.dump({c["id"]: c["verdict"] for c in report["cases"]}, f, indent=2, sort_keys=True)
        f.write("\n")
    print("   wrote " + expect)
PY
    if [ $UPDATE = 1 ]; then
        :
    elif [ $rc -ne 0 ]; then
        echo "== $NAME: verdicts differ from $EXPECT (exit $rc); report in $OUT/$NAME/" >&2
        return 1
    fi
    return 0
}

# Two at a time (PEER_JOBS): each configuration has its own scratch folder
# and free ports; nginx, nginx-plain and nginx-unix are separate servers.
run_jobs server_one "$SCRATCH/logs" $NAMES
status=$?
rm -rf "$SCRATCH"
echo "reports in $OUT"
exit $status
