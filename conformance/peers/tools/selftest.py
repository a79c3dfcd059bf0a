#!/usr/bin/env python3
"""Smoke test of every peer: start it, check one echo exchange, stop it.

  selftest.py [PEER...]      (default: all)

Apps get one POST with a 5000-byte body, ECHO_ params, ECHO_STATUS=404,
ECHO_BIG=1000 and ECHO_STDERR; the answer is checked against
docs/echo-contract.md, allowing the deviations it lists. Web servers run in
front of python-echo; each of their URLs gets one POST. Prints one line per
check and "N passed, N failed". Every wait is bounded; every process
started is stopped.
"""
import os
import random
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from fcgi_client import request  # noqa: E402

APPS = ["php-fpm", "php-cgi", "fcgiwrap", "libfcgi", "libfcgi-opensocket",
        "flup", "flup-mpx", "go", "python-echo"]
SERVERS = ["nginx", "lighttpd", "apache2"]
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, (": " + detail) if detail and not ok else ""),
          flush=True)


def start(name, scratch, arg=None):
    cmd = [os.path.join(PEERS, "start.sh"), name, scratch] + ([arg] if arg else [])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        return None, p.stderr.strip().splitlines()[-1:] 
    lines = {}
    params = []
    for line in p.stdout.splitlines():
        k, v = line.split("=", 1)
        if k == "PARAM":
            params.append(tuple(v.split("=", 1)))
        else:
            lines[k] = v
    return (lines, params), None


def stop(name, scratch):
    subprocess.run([os.path.join(PEERS, "stop.sh"), name, scratch], timeout=30)


def check_app(name, scratch):
    got, err = start(name, scratch)
    if got is None:
        check(name + " starts", False, str(err))
        return
    lines, params = got
    try:
        body = bytes(random.Random(1).getrandbits(8) for _ in range(5000))
        req = [p for p in params if p[0] != "REQUEST_METHOD"] + [
            ("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", str(len(body))),
            ("ECHO_A", "1"), ("ECHO_B", "two words"), ("ECHO_STATUS", "404"),
            ("ECHO_BIG", "1000"), ("ECHO_STDERR", "to stderr")]
        res, _ = request(lines["ADDR"].replace("unix:", ""), req, body, timeout=10)
        out = res["stdout"]
        head, sep, payload = out.partition(b"\r\n\r\n")
        if not sep:
            head, sep, payload = out.partition(b"\n\n")
        headers = [h.strip() for h in head.splitlines()]
        status_ok = any(h.startswith(b"Status: 404") for h in headers)
        if name != "go":
            status_ok = b"Status: 404 Echo" in headers
        want = (b"FCGI-ECHO/1\n" + b"".join(sorted(
            b"param %s=%s\n" % (n.encode(), v.encode()) for n, v in req if n.startswith("ECHO_"))) +
            b"stdin 5000\n" + body + b"x" * 1000)
        lines_got = payload.split(b"\n")
        i = 1
        while i < len(lines_got) and lines_got[i].startswith(b"param "):
            i += 1
        got_sorted = (lines_got[0] + b"\n" + b"".join(sorted(l + b"\n" for l in lines_got[1:i])) +
                      b"\n".join(lines_got[i:]))
        check(name + " status", status_ok, repr(headers[:1]))
        check(name + " headers", b"X-Fcgi-Echo: 1" in headers and
              any(h.startswith(b"Content-Type: text/plain") for h in headers), repr(headers))
        check(name + " body", got_sorted == want, repr(payload[:120]))
        if name != "go":
            check(name + " stderr", b"to stderr" in res["stderr"], repr(res["stderr"][:80]))
        check(name + " end", res["app_status"] == 0 and res["protocol_status"] == 0,
              "%r %r" % (res["app_status"], res["protocol_status"]))
    except Exception as e:  # a broken peer is a failed check, not a crash
        check(name + " exchange", False, repr(e))
    finally:
        stop(name, scratch)


def check_server(name, scratch, app_addr):
    got, err = start(name, scratch, app_addr)
    if got is None:
        check(name + " starts", False, str(err))
        return
    lines, _ = got
    try:
        for key, url in sorted(lines.items()):
            if key == "HTTP_AUTHORIZER":
                with urllib.request.urlopen(url, timeout=10) as r:
                    data = r.read()
                check("%s %s" % (name, key), r.status == 200 and data.startswith(b"FCGI-ECHO/1\n")
                      and b"param ECHO_AUTHORIZED=yes\n" in data, repr(data[:80]))
                continue
            body = b"payload-" * 1000
            r = urllib.request.Request(url + "echo?q=1", data=body, method="POST")
            with urllib.request.urlopen(r, timeout=10) as resp:
                data = resp.read()
                ok = (resp.status == 200 and resp.headers.get("X-Fcgi-Echo") == "1" and
                      data == b"FCGI-ECHO/1\nstdin %d\n" % len(body) + body)
            check("%s %s" % (name, key), ok, repr(data[:80]))
    except Exception as e:
        check(name + " exchange", False, repr(e))
    finally:
        stop(name, scratch)


def main():
    want = sys.argv[1:] or APPS + SERVERS
    with tempfile.TemporaryDirectory(prefix="peers-selftest.") as scratch:
        for name in want:
            if name in APPS:
                check_app(name, scratch)
        servers = [n for n in want if n in SERVERS]
        if servers:
            got, err = start("python-echo", scratch)
            if got is None:
                check("python-echo starts", False, str(err))
            else:
                try:
                    for name in servers:
                        check_server(name, scratch, got[0]["ADDR"])
                finally:
                    stop("python-echo", scratch)
    failed = results.count(False)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
