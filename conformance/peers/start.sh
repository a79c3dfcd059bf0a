#!/bin/sh
# Start one real FastCGI peer on loopback, in the background.
#
#   start.sh NAME SCRATCH_DIR [APP_ADDR_OR_PORT]
#
# Applications (php-fpm php-cgi fcgiwrap libfcgi libfcgi-opensocket flup
# flup-mpx uwsgi spawn-fcgi go python-echo): the optional third argument is the port (or 127.0.0.1:PORT, or a
# unix socket path starting with /) to listen on; default: a free port.
# Prints   ADDR=127.0.0.1:PORT   (or ADDR=unix:/path)   and PARAM=NAME=VALUE
# lines the runner must send with every request.
# Web servers (nginx lighttpd apache2 h2o): the third argument is required, the
# FastCGI address HOST:PORT the runner listens on. Prints HTTP=http://.../
# and further URL lines (see README.md).
# Always writes SCRATCH_DIR/NAME.pid (the peer's process, leader of its own
# process group) and keeps its files under SCRATCH_DIR/NAME/. Stop with stop.sh.
set -eu

usage() { echo "usage: start.sh NAME SCRATCH_DIR [APP_ADDR_OR_PORT]" >&2; exit 2; }
[ $# -ge 2 ] || usage
NAME=$1
SCRATCH=$2
ARG3=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${FCGI_PEERS_BIN:-$HERE/bin}
WAIT_SECS=${FCGI_PEERS_WAIT:-10}
# flup comes from the virtual environment install.sh makes (PEP 668 keeps
# it out of Debian's Python); a peers directory made before there was one
# falls back to the python3 on PATH.
PY=python3
[ ! -x "$BIN/venv/bin/python3" ] || PY=$BIN/venv/bin/python3

mkdir -p "$SCRATCH"
SCRATCH=$(cd "$SCRATCH" && pwd)
DIR=$SCRATCH/$NAME
PIDFILE=$SCRATCH/$NAME.pid
mkdir -p "$DIR"
LOG=$DIR/$NAME.out
# Servers refuse to start over their own stale pid files (pids get reused).
rm -f "$DIR/httpd.pid" "$DIR/nginx.pid" "$DIR/h2o.pid"

die() { echo "start.sh: $NAME: $*" >&2; exit 1; }

if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    die "already running (pid $(cat "$PIDFILE")); stop.sh it first"
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Listen address for applications: sets LHOST/LPORT (tcp) or LSOCK (unix).
app_listen() {
    LSOCK= LHOST=127.0.0.1 LPORT=
    case "$ARG3" in
        "") LPORT=$(free_port) ;;
        /*) LSOCK=$ARG3; rm -f "$LSOCK" ;;   # apps leave stale sockets behind
        127.0.0.1:*) LPORT=${ARG3#127.0.0.1:} ;;
        *:*) die "apps listen on loopback only (127.0.0.1:PORT), got $ARG3" ;;
        *) LPORT=$ARG3 ;;
    esac
    echo "$LSOCK" >"$DIR/unix-socket"   # stop.sh removes it
    if [ -n "$LSOCK" ]; then LADDR=$LSOCK; SHOWN=unix:$LSOCK
    else LADDR=127.0.0.1:$LPORT; SHOWN=127.0.0.1:$LPORT; fi
}

server_listen() {
    [ -n "$ARG3" ] || die "web servers need the app address HOST:PORT as 3rd argument"
    APP_SOCK=
    case "$ARG3" in
        unix:/*) APP_SOCK=${ARG3#unix:}; APP_HOST=; APP_PORT= ;;
        127.0.0.1:*) APP_HOST=127.0.0.1; APP_PORT=${ARG3#127.0.0.1:} ;;
        localhost:*) APP_HOST=127.0.0.1; APP_PORT=${ARG3#localhost:} ;;
        *:*) die "loopback only: the app address must be 127.0.0.1:PORT" ;;
        *) APP_HOST=127.0.0.1; APP_PORT=$ARG3 ;;
    esac
    if [ -n "$APP_SOCK" ]; then APP_ADDR=unix:$APP_SOCK; else APP_ADDR=$APP_HOST:$APP_PORT; fi
    HTTP_PORT=$(free_port)
}

# Servers whose config has no unix-socket form here refuse one.
tcp_only() { [ -z "$APP_SOCK" ] || die "forwards over tcp only here (unix: is configured for nginx)"; }

# Launch "$@" as its own process-group leader (setsid execs in place: $! is
# the peer itself), all output to $LOG.
launch() {
    setsid "$@" </dev/null >>"$LOG" 2>&1 &
    PID=$!
    echo "$PID" >"$PIDFILE"
}

# Bounded wait until the listening address accepts a connection.
wait_ready() {
    python3 - "$1" "$WAIT_SECS" "$PID" <<'PY' || { tail -n 20 "$LOG" >&2; die "not ready after ${WAIT_SECS}s"; }
import os, socket, sys, time
addr, secs, pid = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
end = time.monotonic() + secs
while time.monotonic() < end:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("process %d exited" % pid)
    try:
        if addr.startswith("/"):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(1)
            s.connect(addr)
        else:
            h, p = addr.rsplit(":", 1)
            s = socket.create_connection((h, int(p)), timeout=1)
        s.close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
}

# Build a peer binary unless install.sh already did (into $BIN).
binary() { # NAME -> path
    if [ -x "$BIN/$1" ]; then echo "$BIN/$1"; return; fi
    sh "$HERE/build.sh" "$1" "$DIR" >&2 || die "build of $1 failed"
    echo "$DIR/$1"
}

is_root() { [ "$(id -u)" = 0 ]; }

case "$NAME" in
php-fpm)
    app_listen
    FPM=$(command -v php-fpm8.2 || command -v /usr/sbin/php-fpm8.2 || ls /usr/sbin/php-fpm* 2>/dev/null | head -n 1) || true
    [ -n "$FPM" ] || die "php-fpm not installed"
    # The workers read the script: put it in a folder of its own whose
    # whole path nobody can walk, or run them as root if that is impossible.
    cp "$HERE/php-fpm/echo.php" "$DIR/echo.php"
    chmod 755 "$DIR"; chmod 644 "$DIR/echo.php"
    USER_LINE="user = nobody
group = nogroup"
    if is_root && ! runuser -u nobody -- test -r "$DIR/echo.php" 2>/dev/null; then
        USER_LINE="user = root
group = root"
    fi
    is_root || USER_LINE=
    LISTEN=$LADDR
    { sed -e "s|@LISTEN@|$LISTEN|g" -e "s|@SCRATCH@|$DIR|g" "$HERE/php-fpm/pool.conf.in"
      echo "$USER_LINE"; } >"$DIR/pool.conf"
    [ -n "$LSOCK" ] && printf 'listen.mode = 0666\n' >>"$DIR/pool.conf"
    if is_root; then launch "$FPM" -F -R -y "$DIR/pool.conf"
    else launch "$FPM" -F -y "$DIR/pool.conf"; fi
    wait_ready "$LADDR"
    echo "ADDR=$SHOWN"
    echo "PARAM=SCRIPT_FILENAME=$DIR/echo.php"
    echo "PARAM=SCRIPT_NAME=/echo.php"
    echo "PARAM=REQUEST_METHOD=GET"
    ;;
php-cgi)
    app_listen
    cp "$HERE/php-fpm/echo.php" "$DIR/echo.php"
    # -n: no php.ini; the -d settings match php-fpm's pool.conf.in.
    launch env PHP_FCGI_CHILDREN=2 PHP_FCGI_MAX_REQUESTS=0 php-cgi -n \
        -d default_charset= -d expose_php=0 -d display_errors=0 \
        -d log_errors=1 -d variables_order=EGPCS -d cgi.fix_pathinfo=0 \
        -b "$LADDR"
    wait_ready "$LADDR"
    echo "ADDR=$SHOWN"
    echo "PARAM=SCRIPT_FILENAME=$DIR/echo.php"
    echo "PARAM=SCRIPT_NAME=/echo.php"
    echo "PARAM=REQUEST_METHOD=GET"
    ;;
fcgiwrap)
    app_listen
    cp "$HERE/fcgiwrap/echo.sh" "$DIR/echo.sh"
    chmod 755 "$DIR/echo.sh"
    if [ -n "$LSOCK" ]; then S=unix:$LSOCK; else S=tcp:$LADDR; fi
    # -f: the CGI program's stderr goes to FCGI_STDERR; -c 2: two workers.
    launch /usr/sbin/fcgiwrap -f -c 2 -s "$S"
    wait_ready "$LADDR"
    echo "ADDR=$SHOWN"
    echo "PARAM=SCRIPT_FILENAME=$DIR/echo.sh"
    echo "PARAM=SCRIPT_NAME=/echo.sh"
    echo "PARAM=REQUEST_METHOD=GET"
    echo "PARAM=GATEWAY_INTERFACE=CGI/1.1"
    ;;
libfcgi)
    app_listen
    APP=$(binary echo-libfcgi)
    if [ -n "$LSOCK" ]; then launch spawn-fcgi -n -s "$LSOCK" -M 0666 -- "$APP"
    else launch spawn-fcgi -n -a 127.0.0.1 -p "$LPORT" -- "$APP"; fi
    wait_ready "$LADDR"
    echo "ADDR=$SHOWN"
    ;;
libfcgi-opensocket)
    # Same app, opening its socket itself with FCGX_OpenSocket (no spawner).
    app_listen
    APP=$(binary echo-libfcgi)
    [ -z "$LSOCK" ] || die "tcp only"
    launch "$APP" "127.0.0.1:$LPORT"
    wait_ready "$LADDR"
    echo "ADDR=$SHOWN"
    ;;
flup|flup-mpx)
    app_listen
    MPX=
    [ "$NAME" = flup-mpx ] && MPX=--multiplexed
    launch "$PY" "$HERE/flup/echo.py" "$LADDR" $MPX
    wait_ready "$LADDR"
    echo "ADDR=$SHOWN"
    # Without these flup writes "missing FastCGI param ... required by WSGI"
    # to FCGI_STDERR on every request.
    echo "PARAM=SERVER_NAME=localhost"
    echo "PARAM=SERVER_PORT=80"
    echo "PARAM=SERVER_PROTOCOL=HTTP/1.1"
    echo "PARAM=REQUEST_METHOD=GET"
    ;;
python-echo)
    # The project's own reference echo app (tools/echo_server.py), tcp only.
    app_listen
    [ -z "$LSOCK" ] || die "tcp only"
    launch python3 "$HERE/tools/echo_server.py" --port "$LPORT" --max-seconds 86400
    wait_ready "$LADDR"
    echo "ADDR=$SHOWN"
    ;;
uwsgi)
    # uWSGI in its FastCGI mode, the WSGI echo app of uwsgi/echo.py. SIGTERM
    # would make the master reload its workers: --die-on-term makes it exit,
    # so stop.sh's TERM to the group stops it.
    app_listen
    command -v uwsgi >/dev/null || die "uwsgi not installed (uwsgi-core, uwsgi-plugin-python3)"
    set -- --plugin python3 --fastcgi-socket "$LADDR" --wsgi-file "$HERE/uwsgi/echo.py" \
        --master --processes 2 --threads 2 --die-on-term --need-app --disable-logging
    [ -z "$LSOCK" ] || set -- "$@" --chmod-socket=666
    launch uwsgi "$@"
    wait_ready "$LADDR"
    echo "ADDR=$SHOWN"
    echo "PARAM=REQUEST_METHOD=GET"
    ;;
spawn-fcgi)
    # spawn-fcgi binds the socket and execs the app with it on descriptor 0
    # (FCGI_LISTENSOCK_FILENO, §2.2); the app is the bundled reference
    # application, whose own verdicts are known.
    app_listen
    APP=${FCGI_CONFORMANCE_BIN:-$HERE/../../target/debug/fcgi-conformance}
    [ -x "$APP" ] || die "no runner at $APP (set FCGI_CONFORMANCE_BIN)"
    if [ -n "$LSOCK" ]; then launch spawn-fcgi -n -s "$LSOCK" -M 0666 -- "$APP" reference-app
    else launch spawn-fcgi -n -a 127.0.0.1 -p "$LPORT" -- "$APP" reference-app; fi
    wait_ready "$LADDR"
    echo "ADDR=$SHOWN"
    ;;
go)
    app_listen
    APP=$(binary echo-go)
    launch "$APP" "$LADDR"
    wait_ready "$LADDR"
    echo "ADDR=$SHOWN"
    # net/http/cgi.RequestFromMap answers 500 without these two.
    echo "PARAM=REQUEST_METHOD=GET"
    echo "PARAM=SERVER_PROTOCOL=HTTP/1.1"
    ;;
nginx)
    server_listen
    mkdir -p "$DIR/body" "$DIR/fcgi" "$DIR/proxy" "$DIR/uwsgi" "$DIR/scgi" "$DIR/logs"
    sed -e "s|@SCRATCH@|$DIR|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
        -e "s|@APP_ADDR@|$APP_ADDR|g" \
        "$HERE/nginx/nginx.conf.in" >"$DIR/nginx.conf"
    launch /usr/sbin/nginx -c "$DIR/nginx.conf" -p "$DIR/" -e "$DIR/error.log"
    wait_ready "127.0.0.1:$HTTP_PORT"
    echo "HTTP=http://127.0.0.1:$HTTP_PORT/"
    echo "HTTP_KEEPALIVE=http://127.0.0.1:$HTTP_PORT/"
    echo "HTTP_PLAIN=http://127.0.0.1:$HTTP_PORT/plain/"
    ;;
lighttpd)
    server_listen
    tcp_only
    mkdir -p "$DIR/docroot/auth" "$DIR/upload"
    printf 'AUTHORIZED\n' >"$DIR/docroot/auth/ok.txt"
    sed -e "s|@SCRATCH@|$DIR|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
        -e "s|@APP_HOST@|$APP_HOST|g" -e "s|@APP_PORT@|$APP_PORT|g" \
        "$HERE/lighttpd/lighttpd.conf.in" >"$DIR/lighttpd.conf"
    launch /usr/sbin/lighttpd -D -f "$DIR/lighttpd.conf"
    wait_ready "127.0.0.1:$HTTP_PORT"
    echo "HTTP=http://127.0.0.1:$HTTP_PORT/"
    echo "HTTP_AUTHORIZER=http://127.0.0.1:$HTTP_PORT/auth/ok.txt"
    ;;
apache2)
    server_listen
    tcp_only
    mkdir -p "$DIR/run" "$DIR/htdocs"
    sed -e "s|@SCRATCH@|$DIR|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
        -e "s|@APP_HOST@|$APP_HOST|g" -e "s|@APP_PORT@|$APP_PORT|g" \
        "$HERE/apache2/httpd.conf.in" >"$DIR/httpd.conf"
    # env -i: apache2 forwards its own environment (PATH...) as params.
    launch env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C \
        APACHE_RUN_DIR="$DIR/run" APACHE_LOCK_DIR="$DIR/run" \
        APACHE_LOG_DIR="$DIR" /usr/sbin/apache2 -X -f "$DIR/httpd.conf"
    wait_ready "127.0.0.1:$HTTP_PORT"
    echo "HTTP=http://127.0.0.1:$HTTP_PORT/"
    echo "HTTP_PLAIN=http://127.0.0.1:$HTTP_PORT/"
    echo "HTTP_KEEPALIVE=http://127.0.0.1:$HTTP_PORT/reuse/"
    echo "HTTP_AUTHORIZER=http://127.0.0.1:$HTTP_PORT/auth/ok.txt"
    ;;
h2o)
    server_listen
    tcp_only
    USER=
    is_root && USER="user: root"
    sed -e "s|@SCRATCH@|$DIR|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
        -e "s|@APP_HOST@|$APP_HOST|g" -e "s|@APP_PORT@|$APP_PORT|g" \
        -e "s|@USER@|$USER|g" "$HERE/h2o/h2o.conf.in" >"$DIR/h2o.conf"
    launch /usr/bin/h2o -c "$DIR/h2o.conf"
    wait_ready "127.0.0.1:$HTTP_PORT"
    echo "HTTP=http://127.0.0.1:$HTTP_PORT/"
    echo "HTTP_KEEPALIVE=http://127.0.0.1:$HTTP_PORT/"
    echo "HTTP_PLAIN=http://127.0.0.1:$HTTP_PORT/plain/"
    ;;
*)
    die "unknown peer (php-fpm php-cgi fcgiwrap libfcgi libfcgi-opensocket flup flup-mpx uwsgi spawn-fcgi go python-echo nginx lighttpd apache2 h2o)"
    ;;
esac
