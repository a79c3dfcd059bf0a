#!/usr/bin/env python3
"""Times the Python fcgiproto package (application side) on the same bytes
as the criterion benches: the nginx params block, the pathological block of
16000 tiny pairs, and one whole request. Prints JSON: {name: median ns}.

    python3 fcgiproto_bench.py benches/data/nginx-get-request.bin
"""
import json
import statistics
import struct
import sys
import timeit

import fcgiproto
from fcgiproto.records import decode_name_value_pairs, encode_name_value_pairs

BODY = (b"Content-type: text/html; charset=UTF-8\r\n\r\n"
        b"<!doctype html><title>ok</title><p>hello</p>\n")


def params_of(wire):
    """Concatenated PARAMS content of a record stream (type 4)."""
    out, pos = bytearray(), 0
    while pos + 8 <= len(wire):
        _v, t, _id, clen, plen, _r = struct.unpack_from(">BBHHBB", wire, pos)
        if t == 4:
            out += wire[pos + 8:pos + 8 + clen]
        pos += 8 + clen + plen
    return bytes(out)


def tiny_block(n=16000):
    return bytes(b for i in range(n)
                 for b in (1, 1, ord("A") + i % 26, ord("0") + i % 10))


def median_ns(fn, budget=0.3, repeat=15):
    """Median time of one call, in ns, over `repeat` timed batches."""
    number = 1
    while True:
        t = timeit.timeit(fn, number=number)
        if t > budget / repeat or number > 1 << 20:
            break
        number *= 2
    runs = timeit.repeat(fn, number=number, repeat=repeat)
    return statistics.median(runs) / number * 1e9


def main():
    wire = open(sys.argv[1], "rb").read()
    block = params_of(wire)
    tiny = tiny_block()
    pairs = [(n.encode(), v.encode()) for n, v in decode_name_value_pairs(block)]
    assert len(pairs) == 27, len(pairs)
    assert len(decode_name_value_pairs(tiny)) == 16000

    def receive():
        conn = fcgiproto.FastCGIConnection()
        events = conn.feed_data(wire)
        assert events, "no request event"
        return events

    def serve():
        conn = fcgiproto.FastCGIConnection()
        conn.feed_data(wire)
        conn.send_data(1, BODY, end_request=True)
        return conn.data_to_send()

    out = {
        "params_decode_bytes/nginx": median_ns(lambda: decode_name_value_pairs(block)),
        "params_decode_bytes/tiny-16000": median_ns(lambda: decode_name_value_pairs(tiny)),
        "params_encode_bytes/nginx": median_ns(lambda: encode_name_value_pairs(pairs)),
        "request_receive/nginx-get": median_ns(receive),
        "request_serve/nginx-get": median_ns(serve),
    }
    json.dump({"python": sys.version.split()[0], "medians_ns": out}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
