#!/usr/bin/env python3
"""The pinned findings of `fcgi-conformance explore` against one real peer
(run-explore.sh; standard library only).

  explore_pins.py settings EXPECT
      prints "SEED CONVERSATIONS" from the peer's explore-expected.json, or
      the defaults when it has none.
  explore_pins.py check NAME EXPECT FINDINGS OUT
      OUT/explore.json is the fixed-seed run, OUT/replay-*.json the replays
      of FINDINGS/*.json. Fails (exit 1), naming the file, when a committed
      reproducer no longer reproduces its finding (a vanished finding) or
      the run shows a signature (property + requirement ID) not pinned in
      EXPECT (a new finding); exit 0 otherwise.
  explore_pins.py update NAME EXPECT FINDINGS SHRUNK_DIR RUN_DIR...
      pins from RUN_DIR/explore.json of each run: a signature found in every
      run is "pinned" and its reproducer is copied to
      FINDINGS/<property>-<requirement>.json, the shrunk one from
      SHRUNK_DIR/explore.json (a run with shrinking) where that run saw the
      signature too, else the first run's as first seen; one found in some
      runs only is "intermittent" (allowed, not required). Notes already
      written in EXPECT are kept; the settings (seed, conversations) too.

Signatures are "PROPERTY R-x-y", e.g. "records-accepted R-5.3-1", of a
finding as first seen: which conversation of a seed shows what is fixed,
but shrinking (live runs, some timing-dependent) may end on another
property of the same fault, so the reproducer's own finding (the one its
replay must show) is kept beside it as "shrunk_to".
"""

import glob
import json
import os
import shutil
import sys

DEFAULTS = {"seed": 1, "conversations": 100}


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        sys.exit("explore_pins.py: %s: %s" % (path, e))


def signature(f):
    return "%s %s" % (f.get("property", "?"), f.get("requirement", "?"))


def sent_bytes(conversation):
    """Bytes the runner sends in a conversation file (its to-target writes)."""
    return sum(len(e.get("hex", "")) // 2
               for c in conversation.get("connections", [])
               for e in c.get("events", []) if e.get("dir") == "to-target")


def settings(expect):
    e = load(expect)
    s = dict(DEFAULTS)
    s.update({k: e[k] for k in DEFAULTS if k in e})
    print(int(s["seed"]), int(s["conversations"]))


def run_report(out):
    path = os.path.join(out, "explore.json")
    r = load(path)
    if not r:
        return None, "no report %s (the runner did not finish?)" % path
    return r, None


def check(name, expect, findings, out):
    e = load(expect)
    pinned = e.get("findings", {})
    problems = []
    r, err = run_report(out)
    if err:
        problems.append(err)
    else:
        if r.get("unusable"):
            problems.append("the run stopped early: %s" % r["unusable"])
        seen = []
        for f in r.get("findings", []):
            sig = signature(f["first"])
            seen.append(sig)
            if sig not in pinned:
                problems.append(
                    "new finding %s (§%s): %s; reproducer %s (pin it: run-explore.sh --update %s, "
                    "then describe it in docs/interop.md)"
                    % (sig, f["finding"].get("section", "?"), f["finding"].get("observed", ""),
                       f.get("file") or f.get("file_error"), name))
        print("  explore: seed %s, %s conversations in %.1fs, %d finding(s)%s"
              % (r.get("seed"), r.get("conversations"), r.get("elapsed_s", 0.0), len(seen),
                 (": " + ", ".join(seen)) if seen else ""))
    for path in sorted(glob.glob(os.path.join(findings, "*.json"))):
        base = os.path.basename(path)
        rep = load(os.path.join(out, "replay-" + base))
        sig = signature(load(path).get("finding") or {})
        status = "pinned"
        for k, v in pinned.items():
            if v.get("reproducer") == "findings/" + base:
                status = v.get("status", "pinned")
        if rep.get("reproduces"):
            print("  replay %s: reproduces %s (run %s)" % (base, sig, rep.get("runs")))
        elif status == "intermittent":
            print("  replay %s: did not reproduce %s (pinned intermittent: allowed)" % (base, sig))
        else:
            got = rep.get("found")
            problems.append(
                "vanished finding %s: %s no longer reproduces it in %s run(s)%s"
                % (sig, path, rep.get("runs", 0),
                   ("; it shows %s instead" % signature(got)) if got else ""))
    for p in problems:
        print("%s: %s" % (name, p), file=sys.stderr)
    return 1 if problems else 0


def update(name, expect, findings, shrunk_dir, runs):
    e = load(expect)
    old = e.get("findings", {})
    reports = []
    for d in runs:
        r, err = run_report(d)
        if err:
            sys.exit("explore_pins.py: %s: %s" % (name, err))
        reports.append(r)
    counts = {}
    first = {}
    shrunk, err = run_report(shrunk_dir)
    if err:
        sys.exit("explore_pins.py: %s: %s" % (name, err))
    for f in shrunk.get("findings", []):
        sig = signature(f["first"])
        if sig not in first and f.get("file"):
            first[sig] = f
    for r in reports:
        sigs = set()
        for f in r.get("findings", []):
            sig = signature(f["first"])
            sigs.add(sig)
            if sig not in first and f.get("file"):
                first[sig] = f
        for sig in sigs:
            counts[sig] = counts.get(sig, 0) + 1
    os.makedirs(findings, exist_ok=True)
    for p in glob.glob(os.path.join(findings, "*.json")):
        os.remove(p)
    pins = {}
    for sig in sorted(counts):
        n = counts[sig]
        entry = {"status": "pinned" if n == len(reports) else "intermittent",
                 "seen": "%d of %d runs" % (n, len(reports))}
        if entry["status"] == "pinned" and sig in first:
            dest = sig.replace(" ", "-") + ".json"
            shutil.copyfile(first[sig]["file"], os.path.join(findings, dest))
            entry["reproducer"] = "findings/" + dest
            entry["shrunk_to"] = signature(first[sig]["finding"])
            entry["records"] = first[sig].get("records")
            entry["bytes_sent"] = sent_bytes(load(os.path.join(findings, dest)))
        if old.get(sig, {}).get("note"):
            entry["note"] = old[sig]["note"]
        pins[sig] = entry
    out = {k: e.get(k, DEFAULTS[k]) for k in DEFAULTS}
    out["peer"] = name
    out["findings"] = pins
    with open(expect, "w") as f:
        json.dump(out, f, indent=2, sort_keys=True)
        f.write("\n")
    if not os.listdir(findings):
        os.rmdir(findings)
    print("  wrote %s: %s" % (expect, ", ".join(
        "%s (%s)" % (s, pins[s]["status"]) for s in pins) or "no finding"))
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "settings":
        settings(argv[2])
        return 0
    if len(argv) == 6 and argv[1] == "check":
        return check(*argv[2:])
    if len(argv) >= 7 and argv[1] == "update":
        return update(argv[2], argv[3], argv[4], argv[5], argv[6:])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
