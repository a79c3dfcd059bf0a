#!/usr/bin/env python3
"""Probes behind the "probe 2" observations in spec/src/open-questions.md.

  probe-open-questions.py ADDR [NAME=VALUE ...]

ADDR and the NAME=VALUE params are what conformance/peers/start.sh prints
for a peer. Each probe opens its own connection, sends one odd but
legal-looking exchange, and prints a one-line summary of what came back
(conformance/peers/tools/probe.py does the summarising). Standard library
only. These are exploration aids for the open questions; the conformance
suite's cases are the real judges.
"""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "conformance", "peers", "tools"))
from fcgi_client import (ABORT_REQUEST, BEGIN_REQUEST, GET_VALUES, KEEP_CONN,  # noqa: E402
                         PARAMS, RESPONDER, STDIN, FcgiConn, begin_body,
                         encode_params, record, stream)
from probe import collect, summarize  # noqa: E402

def main():
    addr = sys.argv[1]
    params = [tuple(p.split("=", 1)) for p in sys.argv[2:]]
    def req(rid=1, role=RESPONDER, flags=0, stdin=b"", extra=(), pairs_raw=None):
        p = list(params) + list(extra)
        body = pairs_raw if pairs_raw is not None else encode_params(p)
        return (record(BEGIN_REQUEST, rid, begin_body(role, flags)) +
                stream(PARAMS, rid, body) + stream(STDIN, rid, stdin))
    def run(name, data, ends=1, timeout=3.0, after=None):
        try:
            c = FcgiConn(addr, timeout)
        except OSError as e:
            print("%-30s connect failed: %s" % (name, e)); return
        try:
            if callable(data): data(c)
            else: c.send(data)
            recs, closed, to = collect(c, ends, timeout)
            line = summarize(recs, closed, to)
            if after and not closed and not to:
                line += " ; then: " + after(c)
            print("%-30s %s" % (name, line))
        except OSError as e:
            print("%-30s error: %s" % (name, e))
        finally:
            c.close()
    def then_request(c):
        c.send(req(rid=3, extra=[("ECHO_N", "3")]))
        recs, closed, to = collect(c, 1, 3.0)
        return summarize(recs, closed, to)
    names = ["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"]
    run("get-values-id-1", record(GET_VALUES, 1, encode_params([(n, "") for n in names])), ends=0)
    def gv_mid(c):
        c.send(record(BEGIN_REQUEST, 1, begin_body(RESPONDER, KEEP_CONN)) +
               stream(PARAMS, 1, encode_params(params)) +
               record(GET_VALUES, 0, encode_params([(n, "") for n in names])) + stream(STDIN, 1, b""))
    run("get-values-mid-request", gv_mid, ends=1)
    # long form of short lengths
    def long_pairs(ps):
        out = b""
        for k, v in ps:
            k = k.encode() if isinstance(k, str) else k
            v = v.encode() if isinstance(v, str) else v
            out += struct.pack(">II", len(k) | 0x80000000, len(v) | 0x80000000) + k + v
        return out
    run("long-form-short-lengths", req(pairs_raw=long_pairs(list(params) + [("ECHO_LF", "1")])))
    # reserved byte and unknown flags
    def reserved(c):
        b = bytearray(req(flags=KEEP_CONN | 0x80))
        b[7] = 0x55
        c.send(bytes(b))
    run("reserved-and-flag-bits", reserved, after=then_request)
    # duplicate names
    run("duplicate-names", req(extra=[("ECHO_DUP", "first"), ("ECHO_DUP", "second")]), timeout=3.0)
    # extra empty STDIN after terminator, then a second request
    def extra_empty(c):
        c.send(req(flags=KEEP_CONN) + record(STDIN, 1))
    run("extra-empty-stdin", extra_empty, after=then_request)
    # records for inactive id during an active request
    def inactive(c):
        c.send(record(BEGIN_REQUEST, 1, begin_body(RESPONDER, KEEP_CONN)) +
               stream(PARAMS, 1, encode_params(params)) +
               record(STDIN, 7, b"junk") + record(PARAMS, 7, b"\x01\x01ab") +
               stream(STDIN, 1, b""))
    run("inactive-id-records", inactive, after=then_request)
    # BEGIN for an active id
    def dup_begin(c):
        c.send(record(BEGIN_REQUEST, 1, begin_body(RESPONDER, KEEP_CONN)) +
               record(BEGIN_REQUEST, 1, begin_body(RESPONDER, KEEP_CONN)) +
               stream(PARAMS, 1, encode_params(params)) + stream(STDIN, 1, b""))
    run("begin-active-id", dup_begin, ends=2, timeout=3.0)
    # unknown application type inside an active request
    def unk_app(c):
        c.send(record(BEGIN_REQUEST, 1, begin_body(RESPONDER, KEEP_CONN)) +
               stream(PARAMS, 1, encode_params(params)) + record(12, 1, b"zz") + stream(STDIN, 1, b""))
    run("unknown-type-12-id-1", unk_app)
    # abort while the response is streaming (long body, read slowly)
    def abort_late(c):
        c.send(req(flags=KEEP_CONN, stdin=b"x" * 10))
        time.sleep(0.05)
        c.send(record(ABORT_REQUEST, 1))
    run("abort-after-stdin-end", abort_late, ends=2, timeout=2.0)
    # empty GET_VALUES query
    run("get-values-empty", record(GET_VALUES, 0, b""), ends=0)

if __name__ == "__main__":
    main()
