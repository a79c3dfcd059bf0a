#!/usr/bin/env python3
"""A FastCGI echo application in Python that can also record what it gets.

  echo_server.py [--port N] [--dump DIR] [--max-seconds S]

Listens on 127.0.0.1 (port 0 = a free one; prints "ADDR=127.0.0.1:PORT"),
answers every Responder request as docs/echo-contract.md says, one request
at a time per connection (FCGI_MPXS_CONNS=0; a second concurrent request id
gets FCGI_CANT_MPX_CONN), honours FCGI_KEEP_CONN, answers FCGI_GET_VALUES
and unknown record types. Authorizer role: 200 with a
"Variable-ECHO_AUTHORIZED: yes" header and an empty body, or "403 Denied"
when QUERY_STRING contains "deny". Filter role: like Responder, plus a line
"data LENGTH" and the FCGI_DATA bytes after the stdin echo.
With --dump DIR every request's raw bytes as received (from its
BEGIN_REQUEST, or the connection's first byte, to the record that completed
it) go to DIR/conn<C>-req<R>-in.bin and the bytes sent back to
DIR/conn<C>-req<R>-out.bin. Standard library only; stops by itself after
--max-seconds (default 600).
"""
import argparse
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fcgi_client import (ABORT_REQUEST, AUTHORIZER, BEGIN_REQUEST, DATA,  # noqa: E402
                         END_REQUEST, FILTER, GET_VALUES, GET_VALUES_RESULT,
                         KEEP_CONN, PARAMS, RESPONDER, STDERR, STDIN, STDOUT,
                         UNKNOWN_TYPE, decode_params, encode_params, record)

CANT_MPX_CONN, UNKNOWN_ROLE = 1, 3


def stream_out(rtype, rid, data):
    out = b""
    for i in range(0, len(data), 65535 - 7):
        out += record(rtype, rid, data[i:i + 65528])
    return out + record(rtype, rid) if data else out


def echo_response(params, stdin, data=None, role=RESPONDER):
    """(stdout bytes, stderr bytes) for one request."""
    p = dict(params)
    if role == AUTHORIZER:
        if b"deny" in p.get(b"QUERY_STRING", b""):
            return b"Status: 403 Denied\r\nContent-Type: text/plain\r\n\r\nDENIED\n", b""
        return b"Status: 200 OK\r\nVariable-ECHO_AUTHORIZED: yes\r\n\r\n", b""
    status = p.get(b"ECHO_STATUS")
    head = b"Status: " + (status + b" Echo" if status is not None else b"200 OK") + \
        b"\r\nContent-Type: text/plain\r\nX-Fcgi-Echo: 1\r\n\r\n"
    body = b"FCGI-ECHO/1\n"
    for n, v in params:
        if n.startswith(b"ECHO_"):
            body += b"param " + n + b"=" + v + b"\n"
    body += b"stdin %d\n" % len(stdin) + stdin
    if data is not None:
        body += b"data %d\n" % len(data) + data
    big = p.get(b"ECHO_BIG")
    if big and big.isdigit():
        body += b"x" * int(big)
    return head + body, p.get(b"ECHO_STDERR", b"")


class Conn(threading.Thread):
    counter = 0
    lock = threading.Lock()

    def __init__(self, sock, dump):
        super().__init__(daemon=True)
        self.sock, self.dump = sock, dump
        with Conn.lock:
            Conn.counter += 1
            self.n = Conn.counter
        self.reqs = 0

    def run(self):
        self.sock.settimeout(60)
        buf = b""
        raw_start = 0   # where the current request's raw bytes begin in raw
        raw = b""
        cur = None      # current request state
        try:
            while True:
                while len(buf) < 8 or len(buf) < 8 + struct.unpack(">H", buf[4:6])[0] + buf[6]:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                    raw += chunk
                ver, rtype, rid, clen, plen = struct.unpack(">BBHHBx", buf[:8])
                content = buf[8:8 + clen]
                consumed = 8 + clen + plen
                buf = buf[consumed:]
                end_of_rec = len(raw) - len(buf)
                if rid == 0:
                    if rtype == GET_VALUES:
                        vals = {b"FCGI_MAX_CONNS": b"16", b"FCGI_MAX_REQS": b"16", b"FCGI_MPXS_CONNS": b"0"}
                        pairs = [(n, vals[n]) for n, _ in decode_params(content) if n in vals]
                        self.sock.sendall(record(GET_VALUES_RESULT, 0, encode_params(pairs)))
                    else:
                        self.sock.sendall(record(UNKNOWN_TYPE, 0, bytes([rtype]) + b"\0" * 7))
                    continue
                if rtype == BEGIN_REQUEST:
                    role, flags = struct.unpack(">HB5x", content)
                    if cur is not None:
                        self.sock.sendall(record(END_REQUEST, rid, struct.pack(">IB3x", 0, CANT_MPX_CONN)))
                        continue
                    if role not in (RESPONDER, AUTHORIZER, FILTER):
                        self.sock.sendall(record(END_REQUEST, rid, struct.pack(">IB3x", 0, UNKNOWN_ROLE)))
                        continue
                    cur = {"id": rid, "role": role, "keep": flags & KEEP_CONN, "params": b"",
                           "params_done": False, "stdin": b"", "stdin_done": False,
                           "data": b"", "data_done": role != FILTER}
                    continue
                if cur is None or rid != cur["id"]:
                    continue  # the spec: ignore records of inactive requests
                if rtype == PARAMS:
                    if clen:
                        cur["params"] += content
                    else:
                        cur["params_done"] = True
                elif rtype == STDIN:
                    if clen:
                        cur["stdin"] += content
                    else:
                        cur["stdin_done"] = True
                elif rtype == DATA:
                    if clen:
                        cur["data"] += content
                    else:
                        cur["data_done"] = True
                elif rtype == ABORT_REQUEST:
                    out = record(END_REQUEST, rid, struct.pack(">IB3x", 1, 0))
                    self.sock.sendall(out)
                    self.finish(raw[raw_start:end_of_rec], out)
                    raw_start = end_of_rec
                    keep, cur = cur["keep"], None
                    if not keep:
                        return
                    continue
                ready = cur["params_done"] and cur["stdin_done"] and cur["data_done"]
                if cur["role"] == AUTHORIZER:
                    ready = cur["params_done"] and (cur["stdin_done"] or True)
                if not ready:
                    continue
                params = decode_params(cur["params"])
                stdout, stderr = echo_response(
                    params, cur["stdin"], cur["data"] if cur["role"] == FILTER else None, cur["role"])
                out = b""
                if stderr:
                    out += stream_out(STDERR, rid, stderr)
                out += stream_out(STDOUT, rid, stdout)
                out += record(END_REQUEST, rid, struct.pack(">IB3x", 0, 0))
                self.sock.sendall(out)
                self.finish(raw[raw_start:end_of_rec], out)
                raw_start = end_of_rec
                keep, cur = cur["keep"], None
                if not keep:
                    return
        except OSError:
            return
        finally:
            self.sock.close()

    def finish(self, inbytes, outbytes):
        self.reqs += 1
        if self.dump:
            base = os.path.join(self.dump, "conn%d-req%d" % (self.n, self.reqs))
            with open(base + "-in.bin", "wb") as f:
                f.write(inbytes)
            with open(base + "-out.bin", "wb") as f:
                f.write(outbytes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--dump")
    ap.add_argument("--max-seconds", type=float, default=600)
    a = ap.parse_args()
    if a.dump:
        os.makedirs(a.dump, exist_ok=True)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(64)
    ls.settimeout(1)
    print("ADDR=127.0.0.1:%d" % ls.getsockname()[1], flush=True)
    end = time.monotonic() + a.max_seconds
    while time.monotonic() < end:
        try:
            s, _ = ls.accept()
        except socket.timeout:
            continue
        Conn(s, a.dump).start()


if __name__ == "__main__":
    main()
