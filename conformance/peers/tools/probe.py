#!/usr/bin/env python3
"""Probe a FastCGI application's quirks and print what it answered.

  probe.py ADDR [-p NAME=VALUE ...]     (the params start.sh printed)

Each probe opens its own connection with a short timeout and prints one
line: the probe's name and a summary of the records received (type, id,
content) up to END_REQUEST, a close, or the timeout. Standard library only.
"""
import argparse
import socket
import struct
import sys
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
from fcgi_client import (ABORT_REQUEST, AUTHORIZER, BEGIN_REQUEST, END_REQUEST,  # noqa: E402
                         FILTER, GET_VALUES, GET_VALUES_RESULT, KEEP_CONN, PARAMS,
                         PROTOCOL_STATUS, RESPONDER, STDIN, STDOUT, TYPE_NAMES,
                         UNKNOWN_TYPE, DATA, FcgiConn, begin_body, decode_params,
                         encode_params, record, stream)


VERBOSE = False


def summarize(recs, closed, timed_out):
    parts = []
    # Coalesce each run of one stream's records: STDOUT(id=1 x3 85B 'first line').
    merged = []
    for rtype, rid, content in recs:
        if (merged and content and merged[-1][0] == rtype == STDOUT or
                merged and content and merged[-1][0] == rtype == 7) and merged[-1][1] == rid and merged[-1][2]:
            merged[-1] = (rtype, rid, merged[-1][2] + content, merged[-1][3] + 1)
        else:
            merged.append((rtype, rid, content, 1))
    for rtype, rid, content, count in merged:
        name = TYPE_NAMES.get(rtype, str(rtype))
        if rtype == END_REQUEST and len(content) == 8:
            app, proto = struct.unpack(">IB3x", content)
            parts.append("%s(id=%d app=%d %s)" % (name, rid, app, PROTOCOL_STATUS.get(proto, proto)))
        elif rtype == GET_VALUES_RESULT:
            parts.append("%s(id=%d %s)" % (name, rid, ", ".join(
                "%s=%s" % (n.decode(), v.decode()) for n, v in decode_params(content))))
        elif rtype == UNKNOWN_TYPE:
            parts.append("%s(id=%d type=%d)" % (name, rid, content[0]))
        elif rtype == STDOUT and b"FCGI-ECHO/1\n" in content and not VERBOSE:
            body = content.split(b"FCGI-ECHO/1\n", 1)[1]
            status = content.split(b"\n", 1)[0].strip()
            parts.append("%s(id=%d%s %dB %r, echo: %d ECHO_ params, %r)" % (
                name, rid, " x%d" % count if count > 1 else "", len(content), status,
                body.count(b"param ECHO_"), body.split(b"stdin ", 1)[-1][:12]))
        elif content:
            shown = content if VERBOSE else content.split(b"\n", 1)[0][:40]
            parts.append("%s(id=%d%s %dB %r)" % (name, rid, " x%d" % count if count > 1 else "",
                                                len(content), shown))
        else:
            parts.append("%s(id=%d end)" % (name, rid))
    tail = " CLOSED" if closed else (" TIMEOUT" if timed_out else "")
    # Merge runs of same-type stream records for readability.
    return " ".join(parts) + tail


def collect(conn, until_ends=1, timeout=3.0):
    """Read records until `until_ends` END_REQUESTs, close, or timeout."""
    recs, ends = [], 0
    conn.sock.settimeout(timeout)
    closed = timed_out = False
    try:
        while ends < max(until_ends, 1):
            rec = conn.read_record()
            if rec is None:
                closed = True
                break
            recs.append(rec)
            if rec[0] == END_REQUEST:
                ends += 1
            if until_ends == 0:
                break
    except socket.timeout:
        timed_out = True
    except ConnectionResetError:
        closed = True
    return recs, closed, timed_out


def after_end_closed(conn, wait=1.0):
    """After END_REQUEST: does the app close the connection?"""
    conn.sock.settimeout(wait)
    try:
        data = conn.sock.recv(1)
        return "closes" if not data else "sends more bytes"
    except socket.timeout:
        return "keeps it open"
    except ConnectionResetError:
        return "resets"


def probes(addr, params):
    def req(rid=1, role=RESPONDER, flags=0, stdin=b"", extra=()):
        p = list(params) + list(extra)
        if stdin:
            p.append(("CONTENT_LENGTH", str(len(stdin))))
        return (record(BEGIN_REQUEST, rid, begin_body(role, flags)) +
                stream(PARAMS, rid, encode_params(p)) + stream(STDIN, rid, stdin))

    def run(name, data, ends=1, post=None, timeout=3.0):
        try:
            c = FcgiConn(addr, timeout)
        except OSError as e:
            print("%-28s connect failed: %s" % (name, e))
            return
        try:
            if callable(data):
                data(c)
            else:
                c.send(data)
            recs, closed, to = collect(c, ends, timeout)
            line = summarize(recs, closed, to)
            if post and not closed and not to:
                line += "; after END: " + post(c)
            print("%-28s %s" % (name, line))
        except OSError as e:
            print("%-28s error: %s" % (name, e))
        finally:
            c.close()

    names = ["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS", "X_UNKNOWN"]
    run("get-values", record(GET_VALUES, 0, encode_params([(n, "") for n in names])), ends=0)
    run("unknown-type-20", record(20, 0, b"abcdefgh"), ends=0)
    run("responder", req(stdin=b"hello"), post=after_end_closed)
    run("responder-keep-conn", req(flags=KEEP_CONN), post=after_end_closed)

    def two_sequential(c):
        c.send(req(rid=1, flags=KEEP_CONN, extra=[("ECHO_N", "1")]))
        recs, closed, to = collect(c, 1)
        c.send(req(rid=2, flags=KEEP_CONN, extra=[("ECHO_N", "2")]))
        c._pre = recs
    run("keep-conn-second-request", two_sequential)
    run("unknown-role-99", req(role=99))
    run("authorizer-role", req(role=AUTHORIZER))
    run("filter-role", req(role=FILTER) + stream(DATA, 1, b"filterdata"))

    # Multiplexing: two requests interleaved on one connection.
    def mpx(c):
        c.send(record(BEGIN_REQUEST, 1, begin_body(RESPONDER, KEEP_CONN)) +
               record(BEGIN_REQUEST, 2, begin_body(RESPONDER, KEEP_CONN)) +
               stream(PARAMS, 1, encode_params(list(params) + [("ECHO_N", "1")])) +
               stream(PARAMS, 2, encode_params(list(params) + [("ECHO_N", "2")])) +
               stream(STDIN, 2, b"") + stream(STDIN, 1, b""))
    run("multiplex-2-interleaved", mpx, ends=2, timeout=4.0)

    # Second request begun only after the first one's params+stdin are complete.
    def mpx_late(c):
        # Request 1 waits for its body (CONTENT_LENGTH=2) while request 2 arrives.
        c.send(record(BEGIN_REQUEST, 1, begin_body(RESPONDER, KEEP_CONN)) +
               stream(PARAMS, 1, encode_params(list(params) + [("ECHO_N", "1"), ("CONTENT_LENGTH", "2")])) +
               record(STDIN, 1, b"a"))
        time.sleep(0.3)
        c.send(req(rid=2, flags=KEEP_CONN, extra=[("ECHO_N", "2")]))
        time.sleep(0.3)
        c.send(record(STDIN, 1, b"b") + record(STDIN, 1))
    run("multiplex-2-overlapping", mpx_late, ends=2, timeout=4.0)

    def abort(c):
        c.send(record(BEGIN_REQUEST, 1, begin_body(RESPONDER, KEEP_CONN)) +
               stream(PARAMS, 1, encode_params(list(params) + [("CONTENT_LENGTH", "100")])) +
               record(STDIN, 1, b"partial"))
        time.sleep(0.2)
        c.send(record(ABORT_REQUEST, 1))
    run("abort-during-stdin", abort)
    run("abort-before-params", record(BEGIN_REQUEST, 1, begin_body()) + record(ABORT_REQUEST, 1))

    def tiny_records(c):
        body = encode_params(list(params) + [("ECHO_TINY", "yes")])
        data = record(BEGIN_REQUEST, 1, begin_body())
        for i in range(len(body)):
            data += record(PARAMS, 1, body[i:i + 1])
        data += record(PARAMS, 1) + record(STDIN, 1, b"a") + record(STDIN, 1, b"b") + record(STDIN, 1)
        c.send(data)
    run("params-1-byte-records", tiny_records)
    def pair_records(c):
        data = record(BEGIN_REQUEST, 1, begin_body())
        for pair in list(params) + [("ECHO_SPLIT", "pairs")]:
            data += record(PARAMS, 1, encode_params([pair]))
        c.send(data + record(PARAMS, 1) + stream(STDIN, 1, b""))
    run("params-1-pair-per-record", pair_records)
    run("long-param-4byte-length", req(extra=[("ECHO_LONG", "v" * 300), ("ECHO_" + "N" * 200, "1")]))
    run("request-id-0xffff", req(rid=0xFFFF))
    run("request-id-0", req(rid=0))
    run("version-2-record", b"\x02" + req()[1:])
    run("no-padding-records", record(BEGIN_REQUEST, 1, begin_body(), padding=0) +
        record(PARAMS, 1, encode_params(params), padding=0) + record(PARAMS, 1, padding=0) +
        record(STDIN, 1, b"abc", padding=0) + record(STDIN, 1, padding=0))
    run("padding-255", record(BEGIN_REQUEST, 1, begin_body(), padding=255) +
        record(PARAMS, 1, encode_params(params), padding=255) + record(PARAMS, 1, padding=255) +
        record(STDIN, 1, padding=255))
    run("stdin-before-params-end", record(BEGIN_REQUEST, 1, begin_body()) +
        record(PARAMS, 1, encode_params(params)) + stream(STDIN, 1, b"early") + record(PARAMS, 1))
    run("close-after-begin", lambda c: (c.send(record(BEGIN_REQUEST, 1, begin_body())),
                                        c.sock.shutdown(socket.SHUT_WR)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("-p", "--param", action="append", default=[])
    ap.add_argument("-v", action="store_true", help="print whole stream contents")
    a = ap.parse_args()
    global VERBOSE
    VERBOSE = a.v
    params = [tuple(p.split("=", 1)) for p in a.param]
    probes(a.addr, params)


if __name__ == "__main__":
    main()
