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
# in 2026-11, after a hostile case, it sometimes stopped serving for good;
# seven runs of 2026-12-02 gave the same verdicts (pinned in its
# expected.json, checked by naming it), but the stop is not explained
# (docs/interop.md).
# --update rewrites expected.json from this run instead of comparing.
# Peers run two at a time (PEER_JOBS, see jobs.sh), each in a scratch folder
# of its own, each runner bounded by PEER_TIMEOUT seconds (default 600);
# each peer's output is printed whole when it ends.
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
. "$HERE/jobs.sh"
mkdir -p "$OUT"
SCRATCH=$(mktemp -d)

# One peer: start it (in a scratch folder of its own), run the suite,
# compare, stop it. Returns 0 (matched), 1 (differs) or 2 (did not start).
app_one() {
    NAME=$1
    S=$SCRATCH/$NAME
    mkdir -p "$S"
    STATUS=0
    echo "== $NAME"
    # NAME-unix: the same peer listening on a unix socket, pinned in
    # <peer>/expected-unix.json.
    case "$NAME" in
        *-unix) PEER=${NAME%-unix}; LISTEN=$S/$NAME.sock; EXPECT=$HERE/$PEER/expected-unix.json ;;
        *) PEER=$NAME; LISTEN=; EXPECT=$HERE/$NAME/expected.json ;;
    esac
    if ! "$HERE/start.sh" "$PEER" "$S" $LISTEN >"$S/$NAME.start" 2>"$S/$NAME.err"; then
        echo "could not start $NAME:" >&2
        cat "$S/$NAME.err" >&2
        "$HERE/stop.sh" "$PEER" "$S" >/dev/null 2>&1
        return 2
    fi
    ADDR=$(sed -n 's/^ADDR=//p' "$S/$NAME.start")
    # The runner picks REQUEST_METHOD itself (GET, or POST with a body).
    set --
    while IFS= read -r line; do
        case "$line" in
            PARAM=REQUEST_METHOD=*) ;;
            PARAM=*) set -- "$@" --param "${line#PARAM=}" ;;
        esac
    done <"$S/$NAME.start"
    mkdir -p "$(dirname "$EXPECT")"
    if [ "$UPDATE" = 1 ] || [ ! -f "$EXPECT" ]; then
        timeout -k 5 "$PEER_TIMEOUT" "$BIN" app --connect "$ADDR" "$@" --timeout 2 --format json \
            --junit "$OUT/app-$NAME.xml" --html "$OUT/app-$NAME.html" --transcript "$OUT/app-$NAME-transcripts" \
            >"$OUT/app-$NAME.json"
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); json.dump({c["id"]: c["verdict"] for c in d["cases"]}, open(sys.argv[2],"w"), indent=2, sort_keys=True); open(sys.argv[2],"a").write("\n")' \
            "$OUT/app-$NAME.json" "$EXPECT"
        echo "wrote $EXPECT"
    else
        timeout -k 5 "$PEER_TIMEOUT" "$BIN" app --connect "$ADDR" "$@" --timeout 2 --format json --expect "$EXPECT" \
            --junit "$OUT/app-$NAME.xml" --html "$OUT/app-$NAME.html" --transcript "$OUT/app-$NAME-transcripts" \
            >"$OUT/app-$NAME.json"
        rc=$?
        [ $rc -ne 124 ] || echo "$NAME: the runner did not finish within ${PEER_TIMEOUT}s (PEER_TIMEOUT)" >&2
        if [ $rc -ne 0 ]; then
            echo "$NAME: verdicts differ from $EXPECT (exit $rc)" >&2
            STATUS=1
        fi
    fi
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["summary"]; print(" ", d["target"]); print("  %d passed, %d failed, %d warn, %d info, %d skip in %.1fs" % (s["pass"], s["fail"], s["warn"], s["info"], s["skip"], d["duration_ms"]/1000))' "$OUT/app-$NAME.json"
    "$HERE/stop.sh" "$PEER" "$S" >/dev/null 2>&1
    return $STATUS
}

# Go runs alone: whether it sends its second END_REQUEST after an abort
# during STDIN (app/5.4/abort-during-stdin, pinned fail) within the case's
# quiet period depends on how busy the machine is. Seen here: late (a
# pass) in 1 of 2 runs beside another peer; alone, in 1 of 7 runs, at a
# load average of 10 from other work.
RUN_ALONE="go"
run_jobs app_one "$SCRATCH/logs" "$@"
STATUS=$?
rm -rf "$SCRATCH"
exit $STATUS
