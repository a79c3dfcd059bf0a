#!/usr/bin/env python3
"""A small FastCGI 1.0 client, standard library only.

Library: FcgiConn (records in/out), encode_params, request().
CLI:
  fcgi_client.py ADDR [-p NAME=VALUE ...] [--stdin-file F | --stdin-data S]
                 [--role N] [--id N] [--keep-conn] [--raw-out FILE]
                 [--get-values NAME,NAME] [--timeout S]
ADDR is HOST:PORT or a unix socket path. Prints the app's FCGI_STDOUT to
stdout, FCGI_STDERR to stderr and "END appStatus=.. protocolStatus=.." to
stderr. --raw-out saves every byte the peer sent back.
"""
import argparse
import socket
import struct
import sys

VERSION = 1
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR, \
    DATA, GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = range(1, 12)
RESPONDER, AUTHORIZER, FILTER = 1, 2, 3
KEEP_CONN = 1
TYPE_NAMES = {1: "BEGIN_REQUEST", 2: "ABORT_REQUEST", 3: "END_REQUEST",
              4: "PARAMS", 5: "STDIN", 6: "STDOUT", 7: "STDERR", 8: "DATA",
              9: "GET_VALUES", 10: "GET_VALUES_RESULT", 11: "UNKNOWN_TYPE"}
PROTOCOL_STATUS = {0: "REQUEST_COMPLETE", 1: "CANT_MPX_CONN",
                   2: "OVERLOADED", 3: "UNKNOWN_ROLE"}


def record(rtype, req_id, content=b"", padding=None):
    """One record; padding defaults to 8-byte alignment like most servers."""
    if padding is None:
        padding = (-len(content)) % 8
    return struct.pack(">BBHHBx", VERSION, rtype, req_id, len(content),
                       padding) + content + b"\0" * padding


def stream(rtype, req_id, data, chunk=65535):
    """A stream: data split into records, then the empty record that ends it."""
    out = b""
    for i in range(0, len(data), chunk):
        out += record(rtype, req_id, data[i:i + chunk])
    return out + record(rtype, req_id)


def _length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def encode_params(pairs):
    """Name-value pairs (list of (bytes|str, bytes|str)) to their wire form."""
    out = b""
    for name, value in pairs:
        name = name.encode() if isinstance(name, str) else name
        value = value.encode() if isinstance(value, str) else value
        out += _length(len(name)) + _length(len(value)) + name + value
    return out


def decode_params(data):
    """The reverse of encode_params; returns a list of (bytes, bytes)."""
    pairs, i = [], 0

    def length():
        nonlocal i
        if data[i] < 128:
            i += 1
            return data[i - 1]
        n = struct.unpack(">I", data[i:i + 4])[0] & 0x7FFFFFFF
        i += 4
        return n
    while i < len(data):
        nl = length()
        vl = length()
        pairs.append((data[i:i + nl], data[i + nl:i + nl + vl]))
        i += nl + vl
    return pairs


def begin_body(role=RESPONDER, flags=0):
    return struct.pack(">HB5x", role, flags)


def connect(addr, timeout=5.0):
    if addr.startswith("/"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(addr)
    else:
        host, port = addr.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=timeout)
    return s


class FcgiConn:
    """A connection that reads whole records; keeps every byte received."""

    def __init__(self, addr, timeout=5.0):
        self.sock = connect(addr, timeout)
        self.buf = b""
        self.raw = b""
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, n):
        while len(self.buf) < n and not self.eof:
            chunk = self.sock.recv(65536)
            if not chunk:
                self.eof = True
                break
            self.raw += chunk
            self.buf += chunk
        return len(self.buf) >= n

    def read_record(self):
        """(type, request_id, content) or None at end of stream."""
        if not self._fill(8):
            return None
        ver, rtype, rid, clen, plen = struct.unpack(">BBHHBx", self.buf[:8])
        if not self._fill(8 + clen + plen):
            return None
        content = self.buf[8:8 + clen]
        self.buf = self.buf[8 + clen + plen:]
        return rtype, rid, content

    def close(self):
        self.sock.close()


def request_bytes(params, stdin=b"", role=RESPONDER, req_id=1, keep_conn=False,
                  data=None):
    out = record(BEGIN_REQUEST, req_id, begin_body(role, KEEP_CONN if keep_conn else 0))
    out += stream(PARAMS, req_id, encode_params(params))
    out += stream(STDIN, req_id, stdin)
    if data is not None:
        out += stream(DATA, req_id, data)
    return out


def read_response(conn, req_id=1):
    """Read until END_REQUEST for req_id. Returns dict(stdout, stderr,
    app_status, protocol_status, records) ; app_status None if the
    connection closed first."""
    res = {"stdout": b"", "stderr": b"", "app_status": None,
           "protocol_status": None, "records": []}
    while True:
        rec = conn.read_record()
        if rec is None:
            return res
        rtype, rid, content = rec
        res["records"].append(rec)
        if rid != req_id:
            continue
        if rtype == STDOUT:
            res["stdout"] += content
        elif rtype == STDERR:
            res["stderr"] += content
        elif rtype == END_REQUEST:
            res["app_status"], res["protocol_status"] = struct.unpack(">IB3x", content)
            return res


def request(addr, params, stdin=b"", timeout=5.0, **kw):
    """One request on a fresh connection; returns (response dict, raw bytes)."""
    conn = FcgiConn(addr, timeout)
    try:
        conn.send(request_bytes(params, stdin, **kw))
        res = read_response(conn, kw.get("req_id", 1))
        return res, conn.raw
    finally:
        conn.close()


def get_values(addr, names, timeout=5.0):
    conn = FcgiConn(addr, timeout)
    try:
        conn.send(record(GET_VALUES, 0, encode_params([(n, "") for n in names])))
        rec = conn.read_record()
        return rec, conn.raw
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("addr")
    ap.add_argument("-p", "--param", action="append", default=[])
    ap.add_argument("--stdin-file")
    ap.add_argument("--stdin-data", default="")
    ap.add_argument("--role", type=int, default=RESPONDER)
    ap.add_argument("--id", type=int, default=1)
    ap.add_argument("--keep-conn", action="store_true")
    ap.add_argument("--raw-out")
    ap.add_argument("--get-values")
    ap.add_argument("--timeout", type=float, default=5.0)
    a = ap.parse_args()
    if a.get_values:
        rec, raw = get_values(a.addr, a.get_values.split(","), a.timeout)
        if a.raw_out:
            open(a.raw_out, "wb").write(raw)
        if rec is None:
            print("no answer (connection closed)")
            return 1
        rtype, rid, content = rec
        print(TYPE_NAMES.get(rtype, rtype), rid,
              [(n.decode(), v.decode()) for n, v in decode_params(content)]
              if rtype == GET_VALUES_RESULT else content)
        return 0
    params = [tuple(p.split("=", 1)) for p in a.param]
    stdin = open(a.stdin_file, "rb").read() if a.stdin_file else a.stdin_data.encode()
    if stdin and not any(n == "CONTENT_LENGTH" for n, _ in params):
        params.append(("CONTENT_LENGTH", str(len(stdin))))
    res, raw = request(a.addr, params, stdin, a.timeout, role=a.role,
                       req_id=a.id, keep_conn=a.keep_conn)
    if a.raw_out:
        open(a.raw_out, "wb").write(raw)
    sys.stdout.buffer.write(res["stdout"])
    sys.stdout.flush()
    sys.stderr.buffer.write(res["stderr"])
    sys.stderr.write("END appStatus=%s protocolStatus=%s\n" % (
        res["app_status"], PROTOCOL_STATUS.get(res["protocol_status"],
                                               res["protocol_status"])))
    return 0 if res["app_status"] is not None else 1


if __name__ == "__main__":
    sys.exit(main())
