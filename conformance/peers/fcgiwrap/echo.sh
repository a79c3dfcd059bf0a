#!/bin/sh
# Echo application as a CGI/1.1 script (run by fcgiwrap): see docs/echo-contract.md.
# POSIX sh; the body may hold any bytes, so it goes through a temporary file.
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT
if [ -n "${CONTENT_LENGTH:-}" ]; then
    head -c "$CONTENT_LENGTH" >"$tmp"
else
    cat >"$tmp"
fi
len=$(wc -c <"$tmp" | tr -d ' ')
if [ -n "${ECHO_STATUS:-}" ]; then
    printf 'Status: %s Echo\n' "$ECHO_STATUS"
else
    printf 'Status: 200 OK\n'
fi
printf 'Content-Type: text/plain\nX-Fcgi-Echo: 1\n\n'
if [ -n "${ECHO_STDERR+set}" ]; then
    printf '%s' "$ECHO_STDERR" >&2
fi
printf 'FCGI-ECHO/1\n'
# Params are environment variables; values never hold a newline (contract).
env | grep '^ECHO_' | sed 's/^/param /'
printf 'stdin %s\n' "$len"
cat "$tmp"
if [ -n "${ECHO_BIG:-}" ]; then
    head -c "$ECHO_BIG" /dev/zero | tr '\0' x
fi
