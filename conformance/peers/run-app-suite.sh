#!/bin/sh
# Run `fcgi-conformance app` against real FastCGI applications on loopback
# and compare each one's verdicts with conformance/peers/<name>/expected.json.
#
#   run-app-suite.sh [--update] [--bin PATH] [--out DIR] [NAME ...]
#
# NAME defaults to: php-fpm php-fpm-unix fcgiwrap libfcgi flup go php-cgi
# uwsgi spawn-fcgi. NAME-unix is the peer listening on a unix socket, pinned
# in <peer>/expected-unix.json; spawn-fcgi runs the runner's own
# reference-app (FCGI_CONFORMANCE_BIN). flup-mpx is left out of the default:
# after a hostile case it sometimes stops serving for good and sometimes
# recovers (docs/interop.md), so its verdicts cannot be pinned.
# --update rewrites expected.json from this run instead of comparing.
# Exit status: 0 when every peer matched its expectations, 1 otherwise,
# 2 when a peer could not be started.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${FCGI_CONFORMANCE_BIN:-$ROOT/target/debug/fcgi-conformance}
OUT=${FCGI_CONFORMANCE_OUT:-$ROOT/target/peer-reports}
UPDATE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --update) UPDATE=1; shift ;;
        --bin) BIN=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --) shift; break ;;
        -*) echo "run-app-suite.sh: unknown flag $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || set -- php-fpm php-fpm-unix fcgiwrap libfcgi flup go php-cgi uwsgi spawn-fcgi
[ -x "$BIN" ] || { echo "run-app-suite.sh: no runner at $BIN (cargo build -p fcgi-conformance first, or --bin)" >&2; exit 2; }
mkdir -p "$OUT"
SCRATCH=$(mktemp -d)
STATUS=0
for NAME in "$@"; do
    echo "== $NAME"
    # NAME-unix: the same peer listening on a unix socket, pinned in
    # <peer>/expected-unix.json.
    case "$NAME" in
        *-unix) PEER=${NAME%-unix}; LISTEN=$SCRATCH/$NAME.sock; EXPECT=$HERE/$PEER/expected-unix.json ;;
        *) PEER=$NAME; LISTEN=; EXPECT=$HERE/$NAME/expected.json ;;
    esac
    if ! "$HERE/start.sh" "$PEER" "$SCRATCH" $LISTEN >"$SCRATCH/$NAME.start" 2>"$SCRATCH/$NAME.err"; then
        echo "could not start $NAME:" >&2
        cat "$SCRATCH/$NAME.err" >&2
        STATUS=2
        continue
    fi
    ADDR=$(sed -n 's/^ADDR=//p' "$SCRATCH/$NAME.start")
    # The runner picks REQUEST_METHOD itself (GET, or POST with a body).
    set --
    while IFS= read -r line; do
        case "$line" in
            PARAM=REQUEST_METHOD=*) ;;
            PARAM=*) set -- "$@" --param "${line#PARAM=}" ;;
        esac
    done <"$SCRATCH/$NAME.start"
    mkdir -p "$(dirname "$EXPECT")"
    if [ "$UPDATE" = 1 ] || [ ! -f "$EXPECT" ]; then
        "$BIN" app --connect "$ADDR" "$@" --timeout 2 --format json \
            --junit "$OUT/app-$NAME.xml" --html "$OUT/app-$NAME.html" --transcript "$OUT/app-$NAME-transcripts" \
            >"$OUT/app-$NAME.json"
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); json.dump({c["id"]: c["verdict"] for c in d["cases"]}, open(sys.argv[2],"w"), indent=2, sort_keys=True); open(sys.argv[2],"a").write("\n")' \
            "$OUT/app-$NAME.json" "$EXPECT"
        echo "wrote $EXPECT"
    else
        "$BIN" app --connect "$ADDR" "$@" --timeout 2 --format json --expect "$EXPECT" \
            --junit "$OUT/app-$NAME.xml" --html "$OUT/app-$NAME.html" --transcript "$OUT/app-$NAME-transcripts" \
            >"$OUT/app-$NAME.json"
        rc=$?
        if [ $rc -ne 0 ]; then
            echo "$NAME: verdicts differ from $EXPECT (exit $rc)" >&2
            STATUS=1
        fi
    fi
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["summary"]; print(" ", d["target"]); print("  %d passed, %d failed, %d warn, %d info, %d skip in %.1fs" % (s["pass"], s["fail"], s["warn"], s["info"], s["skip"], d["duration_ms"]/1000))' "$OUT/app-$NAME.json"
    "$HERE/stop.sh" "$PEER" "$SCRATCH" >/dev/null 2>&1
done
rm -rf "$SCRATCH"
exit $STATUS
