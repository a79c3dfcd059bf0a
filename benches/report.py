#!/usr/bin/env python3
"""Turns one run of the benches into the markdown of docs/performance.md.

    report.py CRITERION_DIR ICOUNT_JSON PYTHON_JSON

CRITERION_DIR is criterion's output (target/criterion): every
`*/new/benchmark.json` with its `estimates.json` beside it is one row.
Medians only. Ratios are times: "ours / X" below 1 means ours took less
time than X. All ratios compare figures of the same run.
"""
import json
import os
import sys

TARGETS = [
    # (text, group, numerator fn, denominator fn, bound, kind)
    ("params decode, nginx block: async-fcgi at least 5x slower than ours",
     "params_decode_bytes/nginx", "async-fcgi", "ours", 5.0, "min"),
    ("params decode, nginx block: ours within 3x of memcpy",
     "params_decode_bytes/nginx", "ours", "memcpy", 3.0, "max"),
    ("whole request: tokio-fastcgi `Requests::next` at least 10x slower than ours (decoder)",
     "request_receive/nginx-get", "tokio-fastcgi", "ours-decoder", 10.0, "min"),
    ("whole request: tokio-fastcgi `Requests::next` at least 10x slower than ours (in place)",
     "request_receive/nginx-get", "tokio-fastcgi", "ours-in-place", 10.0, "min"),
    ("params encode, nginx block: async-fcgi at least 5x slower than ours",
     "params_encode_bytes/nginx", "async-fcgi", "ours", 5.0, "min"),
    ("record decode, 65535-byte records, whole buffer: within 2x of memcpy",
     "record_decode/65535", "ours-whole", "memcpy", 2.0, "max"),
    ("record decode, 65535-byte records, 1 KiB chunks: within 2x of memcpy",
     "record_decode/65535", "ours-chunked-1KiB", "memcpy", 2.0, "max"),
    # Issue 11: the right floor for a params decode is a skip-only walk of
    # the same pairs (reference::skip_walk), not memcpy.
    ("params decode, nginx block: ours within 1.2x of the skip-only walk",
     "params_decode_pairs/nginx", "ours", "skip-walk", 1.2, "max"),
    ("params decode, 4096 pairs: ours within 1.2x of the skip-only walk",
     "params_decode_pairs/pairs-4096", "ours", "skip-walk", 1.2, "max"),
]

ORDER = ["params_decode_bytes", "params_decode_pairs", "params_encode_bytes",
         "params_encode_pairs", "record_decode", "record_encode",
         "request_receive", "request_serve", "client_request"]


def load(crit_dir):
    rows = {}
    for root, _dirs, files in os.walk(crit_dir):
        if os.path.basename(root) != "new" or "benchmark.json" not in files:
            continue
        b = json.load(open(os.path.join(root, "benchmark.json")))
        e = json.load(open(os.path.join(root, "estimates.json")))
        rows.setdefault(b["group_id"], {})[b["function_id"]] = (
            e["median"]["point_estimate"], b.get("throughput"))
    return rows


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def sig(x):
    """Three significant digits, thousands separated, no exponent."""
    if x >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}" if x >= 0.001 else f"{x:.2e}"


def fmt_tp(ns, tp):
    if not tp:
        return ""
    (kind, n), = tp.items()
    per_s = n / (ns * 1e-9)
    if kind == "Bytes":
        return f"{sig(per_s / 2**20)} MiB/s"
    if n == 1:
        return f"{sig(per_s)} req/s"
    return f"{sig(per_s / 1e6)} M pairs/s"


def group_key(g):
    head = g.split("/")[0]
    return (ORDER.index(head) if head in ORDER else 99, g)


def main():
    crit, icount_path, py_path = sys.argv[1:4]
    rows = load(crit)
    icount = json.load(open(icount_path)) if os.path.exists(icount_path) else {}
    py = json.load(open(py_path)) if os.path.exists(py_path) else {}
    py_medians = py.get("medians_ns", {})

    print("| group | implementation | median | throughput | ours / this |")
    print("|---|---|---:|---:|---|")
    for g in sorted(rows, key=group_key):
        fns = rows[g]
        ours = [f for f in fns if f.startswith("ours")]
        entries = list(fns.items())
        if g in py_medians:
            entries.append(("python fcgiproto¹", (py_medians[g], None)))
        # Ours first, then peers, then the physical references.
        rank = lambda f: (0 if f.startswith("ours") else
                          2 if f in ("memcpy", "scan", "skip-walk") else 1, f)
        for f, (ns, tp) in sorted(entries, key=lambda kv: rank(kv[0])):
            if f.startswith("ours"):
                ratio = ""
            else:
                ratio = ", ".join(
                    (f"{o}: " if len(ours) > 1 else "") + sig(fns[o][0] / ns)
                    for o in ours)
            tp = tp if tp is not None else (fns[ours[0]][1] if ours else None)
            print(f"| {g} | {f} | {fmt_time(ns)} | {fmt_tp(ns, tp)} | {ratio} |")
    if py_medians:
        print()
        print(f"¹ Python {py.get('python', '?')} `fcgiproto` timed by "
              "`benches/python/fcgiproto_bench.py` in the same run.sh "
              "invocation, right after criterion (timeit, median of 15 batches); "
              "its throughput is the same bytes or pairs as ours.")

    print()
    print("### Targets (issue 7)")
    print()
    print("| target | measured | met? |")
    print("|---|---:|---|")
    for text, g, num, den, bound, kind in TARGETS:
        try:
            r = rows[g][num][0] / rows[g][den][0]
        except KeyError:
            print(f"| {text} | not measured | no |")
            continue
        ok = r >= bound if kind == "min" else r <= bound
        print(f"| {text} | {num} / {den} = {sig(r)} | {'yes' if ok else 'no'} |")

    if icount:
        print()
        print("### Instructions per operation (callgrind)")
        print()
        print("| operation | instructions | per unit | peer / ours |")
        print("|---|---:|---|---:|")
        units = {"params-decode-nginx": (27, "pair"),
                 "params-decode-tiny": (16000, "pair"),
                 "params-encode-nginx": (27, "pair"),
                 "record-decode-8k": (129, "record"),
                 "record-decode-chunked-8": (131073, "record"),
                 "peer-async-fcgi-params-decode-nginx": (27, "pair"),
                 "peer-async-fcgi-params-encode-nginx": (27, "pair")}
        same = {"peer-tokio-fastcgi-request-receive": "request-receive",
                "peer-tokio-fastcgi-request-serve": "request-serve",
                "peer-fastcgi-client-request": "client-request",
                "peer-async-fcgi-params-decode-nginx": "params-decode-nginx",
                "peer-async-fcgi-params-encode-nginx": "params-encode-nginx"}
        for op, n in icount.items():
            per = ""
            if op in units:
                k, u = units[op]
                per = f"{n / k:.1f} per {u}"
            ratio = ""
            if op in same and icount.get(same[op]):
                ratio = sig(n / icount[same[op]])
            print(f"| {op} | {n:,} | {per} | {ratio} |")

if __name__ == "__main__":
    main()
