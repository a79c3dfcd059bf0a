#!/usr/bin/env python3
"""Echo application as a WSGI app on flup's FastCGI server.

See docs/echo-contract.md. Usage: echo.py HOST:PORT|/unix/path|- [--multiplexed]
("-": the listening socket on descriptor 0, FCGI_LISTENSOCK_FILENO.)
Without --multiplexed flup answers FCGI_MPXS_CONNS=0 and serves one request
per connection at a time; with it, one thread per request on a connection.
"""
import sys

from flup.server.fcgi import WSGIServer


def app(environ, start_response):
    body = environ["wsgi.input"].read()
    status = environ.get("ECHO_STATUS")
    start_response("%s Echo" % status if status else "200 OK",
                   [("Content-Type", "text/plain"), ("X-Fcgi-Echo", "1")])
    if "ECHO_STDERR" in environ:
        environ["wsgi.errors"].write(environ["ECHO_STDERR"])
        environ["wsgi.errors"].flush()
    out = ["FCGI-ECHO/1\n"]
    out += ["param %s=%s\n" % (k, v) for k, v in environ.items()
            if k.startswith("ECHO_") and isinstance(v, str)]
    out.append("stdin %d\n" % len(body))
    # flup hands params over as str decoded from latin-1: encode them back.
    yield "".join(out).encode("latin-1") + body
    big = int(environ.get("ECHO_BIG", "0") or 0)
    while big > 0:
        n = min(big, 65536)
        yield b"x" * n
        big -= n


def main():
    addr = sys.argv[1]
    if addr == "-":
        bind = None
    elif addr.startswith("/"):
        bind = addr
    else:
        host, port = addr.rsplit(":", 1)
        bind = (host, int(port))
    WSGIServer(app, bindAddress=bind,
               multiplexed="--multiplexed" in sys.argv[2:]).run()


if __name__ == "__main__":
    main()
