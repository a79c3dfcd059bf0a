#!/bin/sh
# Install the real FastCGI peers (Debian packages + flup) and build the
# compiled echo apps. Idempotent; safe to run on every CI run.
#   install.sh [OUT_DIR]     (default: conformance/peers/bin, gitignored)
# start.sh finds the binaries through FCGI_PEERS_BIN (default the same dir).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/bin}
PKGS="php-fpm php-cgi nginx-light lighttpd apache2 fcgiwrap libfcgi-dev libfcgi-bin spawn-fcgi golang-go"
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

missing=
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "install.sh: apt-get install$missing"
    $SUDO apt-get update -q
    # Installing apache2/nginx/lighttpd/php-fpm must not start their system
    # services (policy-rc.d 101 = "not allowed"); we start our own copies.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod 755 /usr/sbin/policy-rc.d
        REMOVE_POLICY=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
    [ -z "${REMOVE_POLICY:-}" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi

if ! python3 -c 'import flup, fcgiproto' 2>/dev/null; then
    python3 -m pip install -q flup==1.0.3 fcgiproto
fi

sh "$HERE/build.sh" all "$OUT"
echo "install.sh: peers ready; binaries in $OUT"
