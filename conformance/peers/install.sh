#!/bin/sh
# Install the real FastCGI peers (Debian packages + flup) and build the
# compiled echo apps. Idempotent; safe to run on every CI run.
#   install.sh [OUT_DIR]     (default: conformance/peers/bin, gitignored)
# start.sh finds the binaries through FCGI_PEERS_BIN (default the same dir).
# The PyPI packages (flup, fcgiproto) go into a virtual environment,
# OUT_DIR/venv, never into the system Python: Debian 12 marks its Python
# as externally managed and pip refuses it (PEP 668). start.sh runs flup
# with OUT_DIR/venv/bin/python3.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/bin}
PKGS="php-fpm php-cgi nginx-light lighttpd apache2 fcgiwrap libfcgi-dev libfcgi-bin spawn-fcgi golang-go uwsgi-core uwsgi-plugin-python3 h2o"
# The report tests: xmllint checks the JUnit report against docs/schemas/junit-10.xsd,
# headless chromium loads the HTML report (conformance/tests/html_report.rs).
# An image that only runs the suite (the Dockerfile) sets FCGI_PEERS_NO_TEST_TOOLS=1.
[ -n "${FCGI_PEERS_NO_TEST_TOOLS:-}" ] || PKGS="$PKGS libxml2-utils chromium"
# Debian's python3 has no venv module (nor ensurepip) without python3-venv;
# a python3 of its own (pyenv, a container image's) usually has both.
python3 -c 'import venv, ensurepip' 2>/dev/null || PKGS="$PKGS python3-venv"
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

mkdir -p "$OUT"
VENV=$OUT/venv
if ! "$VENV/bin/python3" -c 'import flup, fcgiproto' 2>/dev/null; then
    echo "install.sh: flup and fcgiproto into the virtual environment $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python3" -m pip install -q --disable-pip-version-check flup==1.0.3 fcgiproto
fi

sh "$HERE/build.sh" all "$OUT"
echo "install.sh: peers ready; binaries in $OUT"
