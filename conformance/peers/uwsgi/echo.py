"""Echo application (docs/echo-contract.md) as a WSGI app for uWSGI.

start.sh runs it as
  uwsgi --plugin python3 --fastcgi-socket ADDR --wsgi-file echo.py ...
uWSGI's FastCGI mode reads the request's params into the WSGI environ
(as str, decoded from latin-1) and the body into wsgi.input.
"""


def application(environ, start_response):
    length = environ.get("CONTENT_LENGTH") or ""
    body = environ["wsgi.input"].read(int(length)) if length.isdigit() else environ["wsgi.input"].read()
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
    yield "".join(out).encode("latin-1") + body
    big = int(environ.get("ECHO_BIG", "0") or 0)
    while big > 0:
        n = min(big, 65536)
        yield b"x" * n
        big -= n
