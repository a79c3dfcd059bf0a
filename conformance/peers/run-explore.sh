#!/bin/sh
# A bounded, fixed-seed `fcgi-conformance explore` of each real application
# and web server, with its findings pinned (issue 12) in
# conformance/peers/<name>/explore-expected.json and its minimal reproducers
# committed under conformance/peers/<name>/findings/.
#
#   run-explore.sh [--update] [--bin PATH] [--out DIR] [NAME ...]
#
# NAME defaults to the applications php-fpm fcgiwrap libfcgi flup go php-cgi
# uwsgi spawn-fcgi and the web servers nginx lighttpd apache2 h2o (each as
# run-app-suite.sh and run-server-suite.sh start them; flup-mpx is left out
# as there: after a hostile conversation it may stop serving for good).
# For each peer, on a fresh start each time:
#   1. explore --seed S --conversations N --no-shrink (S and N from
#      explore-expected.json, chosen so that each peer takes well under 20 s
#      here), --hostile for applications but fcgiwrap (below); a finding
#      whose signature (property + requirement ID, as first seen) is not
#      pinned fails, naming its (unshrunk) reproducer;
#   2. every committed findings/*.json is replayed (`replay --attempts 3`)
#      and must still reproduce its finding, unless that signature is pinned
#      "intermittent": a vanished finding fails, naming the file.
# --update runs the exploration once with shrinking (the reproducers) and
# EXPLORE_RUNS times (default 3) as above, and pins a signature seen in
# every one of those runs (its reproducer, shrunk where the first run saw
# it too, copied to findings/) and one seen in some only as "intermittent"
# (allowed, not required). EXPLORE_SHRINK=0 makes that first run unshrunk
# too (for the peers whose findings wait out --timeout: shrinking one takes
# minutes there), and its reproducers are committed as first seen.
# Reports in DIR/explore/NAME/ (default $FCGI_CONFORMANCE_OUT, else
# target/peer-reports). Peers run two at a time (PEER_JOBS, jobs.sh), each
# runner bounded by PEER_TIMEOUT seconds (default 600).
# The scratch folder is a fixed path (FCGI_EXPLORE_SCRATCH, default
# /tmp/fcgi-conformance-explore), not a random one: the reproducers carry
# the params sent, and php-fpm's, php-cgi's and fcgiwrap's SCRIPT_FILENAME
# is a path in it. Run it under `flock /tmp/peers.lock` beside other users.
# Exit status: 0 when every peer matched its pins, 1 otherwise, 2 when a
# peer could not be started.
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
        -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
        --) shift; break ;;
        -*) echo "run-explore.sh: unknown flag $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || set -- php-fpm fcgiwrap libfcgi flup go php-cgi uwsgi spawn-fcgi nginx lighttpd apache2 h2o
[ -x "$BIN" ] || { echo "run-explore.sh: no runner at $BIN (cargo build -p fcgi-conformance first, or --bin)" >&2; exit 2; }
RUNS=${EXPLORE_RUNS:-3}
case "$RUNS" in ''|*[!0-9]*|0) echo "EXPLORE_RUNS must be a count of 1 or more, got '$RUNS'" >&2; exit 2 ;; esac
. "$HERE/jobs.sh"
. "$HERE/app-params.sh"
DEFAULT_IFS=$IFS
PINS=$HERE/tools/explore_pins.py
OUT=$OUT/explore
mkdir -p "$OUT"
SCRATCH=${FCGI_EXPLORE_SCRATCH:-/tmp/fcgi-conformance-explore}
rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts NAME afresh and sets TARGET (the runner's flags for it): for an
# application its address and the params start.sh asks for, REQUEST_METHOD
# included (explore does not pick one; docs/echo-contract.md); for a web
# server where the runner listens and the keep-alive URL (else the plain
# one) the server forwards there. Returns non-zero if it did not start.
up() {
    mkdir -p "$S"
    case "$KIND" in
        app)
            "$HERE/start.sh" "$NAME" "$S" >"$S/start.out" 2>"$S/start.err" || return 1
            IFS='
'; set -f; TARGET="--connect
$(sed -n 's/^ADDR=//p' "$S/start.out")
$(app_param_flags "$S/start.out")"; set +f; IFS=$DEFAULT_IFS
            ;;
        server)
            APP=127.0.0.1:$(free_port)
            "$HERE/start.sh" "$NAME" "$S" "$APP" >"$S/start.out" 2>"$S/start.err" || return 1
            URL=$(sed -n 's/^HTTP_KEEPALIVE=//p' "$S/start.out")
            [ -n "$URL" ] || URL=$(sed -n 's/^HTTP=//p' "$S/start.out")
            TARGET="--listen
$APP
--http
$URL"
            ;;
    esac
}

down() { "$HERE/stop.sh" "$NAME" "$S" >/dev/null 2>&1; }

# runner COMMAND ARGS...: the runner's COMMAND with the target's flags
# (split on newlines only) and ARGS.
runner() {
    _cmd=$1
    shift
    IFS='
'; set -f; set -- "$_cmd" $TARGET "$@"; set +f; IFS=$DEFAULT_IFS
    timeout -k 5 "$PEER_TIMEOUT" "$BIN" "$@"
}

# explore_into DIR SHRINK: one exploration of the started peer, its
# report, JUnit and reproducers into DIR; SHRINK 0 is --no-shrink.
explore_into() {
    rm -rf "$1"
    mkdir -p "$1"
    _shrink=$2
    set -- "$1" --seed "$SEED" --conversations "$CONVERSATIONS" --timeout 2 --format json \
        --out "$1/found" --junit "$1/junit.xml"
    [ "$_shrink" = 1 ] || set -- "$@" --no-shrink
    [ "$KIND" = server ] && set -- "$@" --side server
    [ "$HOSTILE" = 1 ] && set -- "$@" --hostile
    # One conversation at a time, as the pins were measured: what a peer
    # does beside other conversations is not what this run pins.
    [ "$KIND" = app ] && set -- "$@" --jobs 1
    D=$1
    shift
    runner explore "$@" >"$D/explore.json" 2>"$D/explore.err"
    rc=$?
    [ $rc -ne 124 ] || echo "$NAME: explore did not finish within ${PEER_TIMEOUT}s (PEER_TIMEOUT)" >&2
    [ $rc -le 1 ] || { echo "$NAME: explore exit $rc:" >&2; cat "$D/explore.err" >&2; }
}

explore_one() {
    NAME=$1
    S=$SCRATCH/$NAME
    O=$OUT/$NAME
    EXPECT=$HERE/$NAME/explore-expected.json
    FINDINGS=$HERE/$NAME/findings
    case "$NAME" in
        nginx|lighttpd|apache2|h2o) KIND=server ;;
        *) KIND=app ;;
    esac
    # fcgiwrap is explored without --hostile: after a few hostile
    # conversations (unknown roles, records that do not frame) it answers
    # every request with `Status: 403` ("Cannot get script name") until it
    # is restarted, and every later conversation is a finding of that one
    # state (docs/interop.md). Web servers take no --hostile.
    HOSTILE=0
    [ "$KIND" = app ] && [ "$NAME" != fcgiwrap ] && HOSTILE=1
    set -- $(python3 "$PINS" settings "$EXPECT")
    SEED=$1 CONVERSATIONS=$2
    echo "== $NAME: explore --seed $SEED --conversations $CONVERSATIONS$([ $HOSTILE = 1 ] && echo ' --hostile')"
    t0=$(date +%s)
    mkdir -p "$O"
    if [ "$UPDATE" = 1 ]; then
        # Run 0 shrinks, for the reproducers; the runs that decide what is
        # pinned are as CI's (--no-shrink: a shrink's live runs change what
        # state later conversations find some peers in).
        up || { echo "could not start $NAME:" >&2; cat "$S/start.err" >&2; down; return 2; }
        explore_into "$O/run0" "${EXPLORE_SHRINK:-1}"
        down
        DIRS=
        i=1
        while [ "$i" -le "$RUNS" ]; do
            up || { echo "could not start $NAME:" >&2; cat "$S/start.err" >&2; down; return 2; }
            explore_into "$O/run$i" 0
            down
            DIRS="$DIRS $O/run$i"
            i=$((i + 1))
        done
        python3 "$PINS" update "$NAME" "$EXPECT" "$FINDINGS" "$O/run0" $DIRS
        STATUS=$?
    else
        up || { echo "could not start $NAME:" >&2; cat "$S/start.err" >&2; down; return 2; }
        explore_into "$O" 0
        down
        if [ -d "$FINDINGS" ]; then
            up || { echo "could not start $NAME:" >&2; cat "$S/start.err" >&2; down; return 2; }
            for f in "$FINDINGS"/*.json; do
                [ -f "$f" ] || continue
                runner replay "$f" --attempts 3 --timeout 2 --format json \
                    >"$O/replay-$(basename "$f")" 2>"$O/replay-$(basename "$f").err"
            done
            down
        fi
        python3 "$PINS" check "$NAME" "$EXPECT" "$FINDINGS" "$O"
        STATUS=$?
        [ $STATUS = 0 ] || echo "$NAME: findings differ from $EXPECT; reports in $O" >&2
    fi
    echo "  $NAME took $(($(date +%s) - t0))s"
    return $STATUS
}

run_jobs explore_one "$SCRATCH/logs" "$@"
STATUS=$?
rm -rf "$SCRATCH"
exit $STATUS
