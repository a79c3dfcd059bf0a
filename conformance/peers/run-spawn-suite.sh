#!/bin/sh
# Runs the cases that need `fcgi-conformance app --spawn` (§2.2 the listening
# socket on descriptor 0, §3.2 FCGI_WEB_SERVER_ADDRS, §7 SIGTERM) against
# real applications the runner starts itself, and compares the verdicts
# with conformance/peers/<name>/expected-spawn.json.
#
#   run-spawn-suite.sh [--update] [NAME ...]
#
# NAME: libfcgi php-cgi fcgiwrap flup (default: all four). Each is started
# by the runner as `sh -c CMD` with a loopback listening socket on
# descriptor 0; the §3.2 and §7 cases start copies of their own. Every wait
# is bounded by --timeout 2 and the runner's SIGTERM/SIGKILL grace.
# Environment: FCGI_CONFORMANCE_BIN (default target/debug/fcgi-conformance),
# FCGI_PEERS_BIN (install.sh's output, default conformance/peers/bin),
# FCGI_CONFORMANCE_OUT (reports, default target/peer-reports).
# Peers run two at a time (PEER_JOBS, see jobs.sh), each runner bounded by
# PEER_TIMEOUT seconds (default 600); each peer's output is printed whole
# when it ends.
# Exit status: 0 when every peer matched, 1 otherwise, 2 on a setup error.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${FCGI_CONFORMANCE_BIN:-$ROOT/target/debug/fcgi-conformance}
PEERS=${FCGI_PEERS_BIN:-$HERE/bin}
OUT=${FCGI_CONFORMANCE_OUT:-$ROOT/target/peer-reports}
PY=python3
[ ! -x "$PEERS/venv/bin/python3" ] || PY=$PEERS/venv/bin/python3
UPDATE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --update) UPDATE=1; shift ;;
        -*) echo "run-spawn-suite.sh: unknown flag $1 (use --update)" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || set -- libfcgi php-cgi fcgiwrap flup
[ -x "$BIN" ] || { echo "run-spawn-suite.sh: no runner at $BIN (cargo build -p fcgi-conformance first)" >&2; exit 2; }
. "$HERE/jobs.sh"
mkdir -p "$OUT"
SCRATCH=$(mktemp -d)
chmod 755 "$SCRATCH"
cp "$HERE/php-fpm/echo.php" "$SCRATCH/echo.php"
cp "$HERE/fcgiwrap/echo.sh" "$SCRATCH/echo.sh"
chmod 755 "$SCRATCH/echo.sh"

# One peer, started by the runner: run its cases, compare. Returns 0
# (matched), 1 (differs) or 2 (unknown peer).
spawn_one() {
    NAME=$1
    STATUS=0
    # The command the runner starts on descriptor 0, and the params the
    # peer needs (as start.sh gives them).
    case "$NAME" in
        libfcgi) CMD="exec $PEERS/echo-libfcgi"; set -- ;;
        php-cgi) CMD="PHP_FCGI_CHILDREN=2 PHP_FCGI_MAX_REQUESTS=0 exec php-cgi -n -d default_charset= -d expose_php=0 -d display_errors=0 -d cgi.fix_pathinfo=0"
                 set -- --param "SCRIPT_FILENAME=$SCRATCH/echo.php" --param SCRIPT_NAME=/echo.php ;;
        fcgiwrap) CMD="exec /usr/sbin/fcgiwrap -f -c 2"
                  set -- --param "SCRIPT_FILENAME=$SCRATCH/echo.sh" --param SCRIPT_NAME=/echo.sh --param GATEWAY_INTERFACE=CGI/1.1 ;;
        flup) CMD="exec $PY $HERE/flup/echo.py -"
              set -- --param SERVER_NAME=localhost --param SERVER_PORT=80 --param SERVER_PROTOCOL=HTTP/1.1 ;;
        *) echo "run-spawn-suite.sh: unknown peer $NAME (libfcgi php-cgi fcgiwrap flup)" >&2; return 2 ;;
    esac
    echo "== $NAME (--spawn)"
    EXPECT=$HERE/$NAME/expected-spawn.json
    set -- "$@" --spawn "$CMD" --only app/2.2 --only app/3.2 --only app/7 --timeout 2 --format json
    [ "$UPDATE" = 1 ] || set -- "$@" --expect "$EXPECT"
    timeout -k 5 "$PEER_TIMEOUT" "$BIN" app "$@" >"$OUT/app-$NAME-spawn.json"
    rc=$?
    [ $rc -ne 124 ] || echo "== $NAME: the runner did not finish within ${PEER_TIMEOUT}s (PEER_TIMEOUT)" >&2
    python3 - "$OUT/app-$NAME-spawn.json" "$UPDATE" "$EXPECT" <<'PY' || rc=1
import json, sys
path, update, expect = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
try:
    d = json.load(open(path))
except ValueError:
    sys.exit("   no report (the runner's message is above)")
for c in d["cases"]:
    print("   %-5s %s  %s" % (c["verdict"], c["id"], c["detail"][:140]))
if update:
    with open(expect, "w") as f:
        json.dump({c["id"]: c["verdict"] for c in d["cases"]}, f, indent=2, sort_keys=True)
        f.write("\n")
    print("   wrote " + expect)
PY
    if [ "$UPDATE" = 0 ] && [ $rc -ne 0 ]; then
        echo "== $NAME: verdicts differ from $EXPECT (exit $rc)" >&2
        STATUS=1
    fi
    return $STATUS
}

run_jobs spawn_one "$SCRATCH/logs" "$@"
STATUS=$?
rm -rf "$SCRATCH"
exit $STATUS
