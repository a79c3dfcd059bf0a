#!/bin/sh
# Stop a peer started by start.sh: stop.sh NAME SCRATCH_DIR
# TERM to its process group (php-fpm workers, spawn-fcgi's child, fcgiwrap's
# workers, CGI children), then KILL after a bounded wait. Removes the pid
# file and any unix socket left in SCRATCH_DIR/NAME/.
set -u
[ $# -eq 2 ] || { echo "usage: stop.sh NAME SCRATCH_DIR" >&2; exit 2; }
NAME=$1
DIR=$2/$NAME
PIDFILE=$2/$NAME.pid
[ -f "$PIDFILE" ] || { echo "stop.sh: $NAME: no pid file $PIDFILE" >&2; exit 0; }
PID=$(cat "$PIDFILE")
case "$PID" in ''|*[!0-9]*) echo "stop.sh: bad pid file" >&2; exit 1 ;; esac
# Alive: any process of the group that is not a zombie (an orphaned zombie
# may wait a while for its reaper; it holds no socket).
alive() {
    ps -e -o pgid= -o stat= | awk -v p="$PID" '$1 == p && $2 !~ /^Z/ { f = 1 } END { exit !f }'
}
# The peer leads its own process group (start.sh used setsid).
kill -TERM "-$PID" 2>/dev/null || kill -TERM "$PID" 2>/dev/null
i=0
while alive && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if alive; then
    kill -KILL "-$PID" 2>/dev/null || kill -KILL "$PID" 2>/dev/null
    i=0
    while alive && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
fi
rm -f "$PIDFILE" "$DIR/httpd.pid" "$DIR/nginx.pid"
if [ -s "$DIR/unix-socket" ]; then
    S=$(cat "$DIR/unix-socket")
    [ -S "$S" ] && rm -f "$S"
fi
[ -d "$DIR" ] && find "$DIR" -maxdepth 2 -type s -exec rm -f {} + 2>/dev/null
alive && { echo "stop.sh: $NAME: pid $PID still alive" >&2; exit 1; }
exit 0
