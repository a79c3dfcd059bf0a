#!/usr/bin/env python3
"""Send one browser-like HTTP/1.1 request: http_get.py URL [METHOD [BODY]].
Prints the status line, headers and body. Standard library only, 10 s timeout."""
import http.client
import sys
import urllib.parse

HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.5",
    "Accept-Encoding": "gzip, deflate",
    "Cookie": "session=abc123; theme=dark",
    "Connection": "keep-alive",
}


def main():
    url = urllib.parse.urlsplit(sys.argv[1])
    method = sys.argv[2] if len(sys.argv) > 2 else "GET"
    body = sys.argv[3].encode() if len(sys.argv) > 3 else None
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    headers = dict(HEADERS)
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, url.path + ("?" + url.query if url.query else ""), body, headers)
    r = c.getresponse()
    print("HTTP/1.1", r.status, r.reason)
    for k, v in r.getheaders():
        print("%s: %s" % (k, v))
    print()
    sys.stdout.flush()
    sys.stdout.buffer.write(r.read())
    c.close()


if __name__ == "__main__":
    main()
