#!/usr/bin/env python3
"""Print the records of a raw FastCGI byte stream: dump_records.py FILE...
One line per record (type, request id, content and padding length); the
name-value pairs of PARAMS/GET_VALUES streams are decoded once each stream
ends. Standard library only."""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fcgi_client import PROTOCOL_STATUS, TYPE_NAMES, decode_params  # noqa: E402


def dump(data):
    i, params = 0, {}
    while i + 8 <= len(data):
        ver, rtype, rid, clen, plen = struct.unpack(">BBHHBx", data[i:i + 8])
        content = data[i + 8:i + 8 + clen]
        name = TYPE_NAMES.get(rtype, "type%d" % rtype)
        extra = ""
        if rtype == 1 and clen == 8:
            role, flags = struct.unpack(">HB5x", content)
            extra = " role=%d flags=%d" % (role, flags)
        elif rtype == 3 and clen == 8:
            app, proto = struct.unpack(">IB3x", content)
            extra = " appStatus=%d %s" % (app, PROTOCOL_STATUS.get(proto, proto))
        elif rtype in (5, 6, 7, 8) and clen:
            extra = " %r" % content[:60]
        print("@%-5d v%d %-17s id=%-5d content=%-5d padding=%d%s" % (i, ver, name, rid, clen, plen, extra))
        if rtype in (4, 9, 10):
            params.setdefault((rtype, rid), b"")
            params[(rtype, rid)] += content
            if clen == 0 or rtype != 4:
                for n, v in decode_params(params.pop((rtype, rid))):
                    print("        %s=%s" % (n.decode("latin-1"), v.decode("latin-1")))
        i += 8 + clen + plen
    if i != len(data):
        print("@%d: %d trailing bytes" % (i, len(data) - i))


for path in sys.argv[1:]:
    print("==", path)
    dump(open(path, "rb").read())
