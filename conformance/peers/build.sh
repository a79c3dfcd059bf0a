#!/bin/sh
# Build one compiled echo app: build.sh echo-libfcgi|echo-go|all OUT_DIR
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
WHAT=$1
OUT=$2
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
build_libfcgi() {
    cc -O2 -Wall -o "$OUT/echo-libfcgi" "$HERE/libfcgi/echo.c" -lfcgi
}
build_go() {
    # The standard library only: no modules, no network. Caches stay in OUT.
    (cd "$HERE/go" && GO111MODULE=off GOFLAGS= GOPROXY=off \
        GOCACHE="$OUT/.go-cache" GOPATH="$OUT/.go-path" \
        go build -o "$OUT/echo-go" echo.go)
}
case "$WHAT" in
    echo-libfcgi) build_libfcgi ;;
    echo-go) build_go ;;
    all) build_libfcgi; build_go ;;
    *) echo "build.sh: unknown target $WHAT" >&2; exit 2 ;;
esac
