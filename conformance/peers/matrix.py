#!/usr/bin/env python3
"""Print the interop matrix (case x implementation) as markdown from the JSON
reports that run-app-suite.sh / run-server-suite.sh leave in a folder.

    matrix.py REPORT_DIR app|server [NAME ...]
"""
import json
import os
import sys

MARK = {"pass": "pass", "fail": "**FAIL**", "warn": "warn", "info": "info", "skip": "skip"}


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    folder, suite = sys.argv[1], sys.argv[2]
    names = sys.argv[3:]
    if not names:
        names = sorted(
            f[len(suite) + 1 : -5]
            for f in os.listdir(folder)
            if f.startswith(suite + "-") and f.endswith(".json")
        )
    reports = {}
    for n in names:
        path = os.path.join(folder, f"{suite}-{n}.json")
        with open(path) as fh:
            reports[n] = json.load(fh)
    cases = []
    for r in reports.values():
        for c in r["cases"]:
            if (c["section"], c["id"]) not in [(s, i) for s, i, _ in cases]:
                cases.append((c["section"], c["id"], c["title"]))
    print("| case | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for _, cid, _title in cases:
        row = []
        for n in names:
            v = next((c["verdict"] for c in reports[n]["cases"] if c["id"] == cid), "-")
            row.append(MARK.get(v, v))
        print(f"| `{cid}` | " + " | ".join(row) + " |")
    totals = []
    for n in names:
        s = reports[n]["summary"]
        totals.append(f"{s['pass']}/{s['fail']}/{s['warn']}/{s['info']}/{s['skip']}")
    print("| pass/fail/warn/info/skip | " + " | ".join(totals) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
