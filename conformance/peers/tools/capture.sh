#!/bin/sh
# Record what nginx, lighttpd and apache2 send to a FastCGI app, and what
# each real app sends back, into <peer>/captures/*.bin.
#   tools/capture.sh SCRATCH_DIR [SERVER_OR_APP ...]
# Needs the peers installed (install.sh). Every process it starts it stops.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
S=$1; shift
mkdir -p "$S"; S=$(cd "$S" && pwd)
WHAT=${*:-nginx lighttpd apache2 php-fpm php-cgi fcgiwrap libfcgi flup go}
T=$HERE/tools

for peer in $WHAT; do
    case $peer in
    nginx|lighttpd|apache2)
        D=$S/dump-$peer; rm -rf "$D"; mkdir -p "$D"
        python3 "$T/echo_server.py" --dump "$D" --max-seconds 60 >"$S/echo-$peer.out" &
        EPID=$!
        i=0; while ! grep -q ADDR= "$S/echo-$peer.out" && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
        A=$(sed -n 's/^ADDR=//p' "$S/echo-$peer.out")
        "$HERE/start.sh" "$peer" "$S" "$A" >"$S/$peer.start"
        U=$(sed -n 's/^HTTP=//p' "$S/$peer.start")
        mkdir -p "$HERE/$peer/captures"
        n=0
        # name URL METHOD [BODY]: one capture per line
        while read -r name path method body; do
            before=$(ls "$D" | grep -c -- '-in.bin' || true)
            if [ -n "$body" ]; then python3 "$T/http_get.py" "$U${path#/}" "$method" "$body" >/dev/null
            else python3 "$T/http_get.py" "$U${path#/}" "$method" >/dev/null; fi
            sleep 0.3
            f=$(ls -t "$D"/*-in.bin | head -n 1)
            cp "$f" "$HERE/$peer/captures/$name.bin"
            echo "$peer: $name <- $(basename "$f") ($(wc -c <"$f") bytes)"
        done <<LIST
get-request /index.php?a=1 GET
post-request /form.php?x=y POST name=value&other=%C3%A9t%C3%A9
LIST
        case $peer in
        nginx)
            python3 "$T/http_get.py" "${U}plain/index.php?a=1" GET >/dev/null; sleep 0.3
            cp "$(ls -t "$D"/*-in.bin | head -n 1)" "$HERE/$peer/captures/get-request-plain.bin"
            echo "$peer: get-request-plain" ;;
        apache2)
            python3 "$T/http_get.py" "${U}reuse/index.php?a=1" GET >/dev/null; sleep 0.3
            cp "$(ls -t "$D"/*-in.bin | head -n 1)" "$HERE/$peer/captures/get-request-reuse.bin"
            echo "$peer: get-request-reuse" ;;
        lighttpd)
            AU=$(sed -n 's/^HTTP_AUTHORIZER=//p' "$S/$peer.start")
            python3 "$T/http_get.py" "$AU" GET >/dev/null; sleep 0.3
            # Two requests: the Authorizer one, then (after its 200) the
            # same URL in the Responder role carrying the Variable-* params.
            set -- $(ls -t "$D"/*-in.bin | head -n 2)
            cp "$2" "$HERE/$peer/captures/authorizer-request.bin"
            cp "$1" "$HERE/$peer/captures/authorizer-followup-request.bin"
            echo "$peer: authorizer-request, authorizer-followup-request" ;;
        esac
        "$HERE/stop.sh" "$peer" "$S"
        kill "$EPID" 2>/dev/null || true
        wait "$EPID" 2>/dev/null || true
        ;;
    *)
        "$HERE/start.sh" "$peer" "$S" >"$S/$peer.start"
        A=$(sed -n 's/^ADDR=//p' "$S/$peer.start")
        set --
        for p in $(sed -n 's/^PARAM=//p' "$S/$peer.start"); do set -- "$@" -p "$p"; done
        mkdir -p "$HERE/$peer/captures"
        python3 "$T/fcgi_client.py" "$A" "$@" -p REQUEST_METHOD=POST -p ECHO_NAME=capture \
            -p ECHO_STDERR=note --stdin-data 'hello=world' \
            --raw-out "$HERE/$peer/captures/response.bin" >/dev/null 2>&1 || true
        echo "$peer: response.bin ($(wc -c <"$HERE/$peer/captures/response.bin") bytes)"
        "$HERE/stop.sh" "$peer" "$S"
        ;;
    esac
done
