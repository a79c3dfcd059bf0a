#!/usr/bin/env bash
# Checks the annotated specification in spec/ (the book's sources are in
# spec/src/; requirements.toml, this script and tools/ stay outside it):
#   1. every requirement ID in requirements.toml is unique and well formed,
#      and is defined by exactly one inline tag in src/fastcgi-1.0.md whose
#      level and party agree with the TOML; every requirement that is not
#      retired says how it is checked (`check`: cases, tests, cases and
#      tests, or none) and, with check = "none", why (`reason`);
#   2. every R-… ID mentioned in any markdown file under spec/ exists;
#   3. every OQ-n linked from the markdown exists in open-questions.md;
#   4. every `fcgi-bytes` example is numbered in sequence, has a kind, and
#      frames exactly (records) or decodes without leftovers (pairs);
#   5. src/requirements.md is up to date with requirements.toml
#      (`spec/check.sh --write` regenerates it);
#   6. `mdbook build spec` succeeds without warnings (skipped with
#      --no-build, e.g. where mdbook is not installed);
#   7. the case IDs agree with the runner's list (`fcgi-conformance list
#      --format json`): every real case is listed in the annotations of
#      its own section of fastcgi-1.0.md, every case ID not marked † in
#      the markdown is a real case, and no real case is marked †. The
#      binary is $FCGI_CONFORMANCE_BIN, else target/debug/fcgi-conformance
#      under the repository root; with neither, this check is skipped with
#      a note (a FCGI_CONFORMANCE_BIN that does not exist is an error).
# Exit status: 0 when everything holds, 1 otherwise, 2 for usage errors.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
write=0
build=1
for arg in "$@"; do
  case "$arg" in
    --write) write=1 ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "check.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

# The runner's list of cases, for check 7.
cases_json=""
if [ -n "${FCGI_CONFORMANCE_BIN:-}" ]; then
  if [ ! -x "$FCGI_CONFORMANCE_BIN" ]; then
    echo "spec check: FCGI_CONFORMANCE_BIN=$FCGI_CONFORMANCE_BIN is not an executable file" >&2
    exit 1
  fi
  bin="$FCGI_CONFORMANCE_BIN"
else
  bin="$here/../target/debug/fcgi-conformance"
fi
if [ -x "$bin" ]; then
  cases_json="$(mktemp)"
  trap 'rm -f "$cases_json"' EXIT
  if ! (cd "$here/.." && "$bin" list --format json) >"$cases_json"; then
    echo "spec check: '$bin list --format json' failed" >&2
    exit 1
  fi
else
  echo "spec check: note: no fcgi-conformance binary (set FCGI_CONFORMANCE_BIN or run" \
       "'cargo build -p fcgi-conformance'); case IDs not compared with the runner"
fi

SPEC_DIR="$here" WRITE="$write" CASES_JSON="$cases_json" python3 - <<'PY'
import os, re, sys, tomllib, pathlib

spec = pathlib.Path(os.environ["SPEC_DIR"])
write = os.environ["WRITE"] == "1"
errors = []

def err(msg):
    errors.append(msg)

# --- 1. requirements.toml ----------------------------------------------------
ID_RE = r"R-(?:\d+(?:\.\d+)?|[A-Z])-\d+"
CHECKS = ("cases", "tests", "cases and tests", "none")
with open(spec / "requirements.toml", "rb") as f:
    reqs = tomllib.load(f).get("requirement", [])
by_id = {}
for r in reqs:
    rid = r.get("id", "")
    if not re.fullmatch(ID_RE, rid):
        err(f"requirements.toml: malformed id {rid!r}")
    if rid in by_id:
        err(f"requirements.toml: duplicate id {rid}")
    by_id[rid] = r
    for key in ("section", "level", "party", "summary"):
        if not r.get(key):
            err(f"requirements.toml: {rid} lacks '{key}'")
    if r.get("level") not in ("MUST", "SHOULD", "MAY"):
        err(f"requirements.toml: {rid} has level {r.get('level')!r}")
    if r.get("party") not in ("application", "web-server", "both"):
        err(f"requirements.toml: {rid} has party {r.get('party')!r}")
    if not r.get("retired"):
        chk = r.get("check")
        if chk not in CHECKS:
            err(f"requirements.toml: {rid} has check {chk!r}; expected one of "
                + ", ".join(repr(c) for c in CHECKS))
        elif chk == "none" and not str(r.get("reason", "")).strip():
            err(f"requirements.toml: {rid} has check = \"none\" without a reason")
        elif chk != "none" and "reason" in r:
            err(f"requirements.toml: {rid} gives a reason, but only check = \"none\" takes one")
    sec = rid.split("-")[1] if rid.count("-") == 2 else None
    if sec is not None and r.get("section") != sec:
        err(f"requirements.toml: {rid} has section {r.get('section')!r}, id says {sec!r}")

src = spec / "src"
main_md = (src / "fastcgi-1.0.md").read_text()
TAG_RE = re.compile(r"(?<!`)\*\*\[(" + ID_RE + r")\]\*\* \((MUST|SHOULD|MAY), (application|web-server|both)\)")
tags = {}
for m in TAG_RE.finditer(main_md):
    rid, level, party = m.groups()
    tags.setdefault(rid, []).append((level, party))
for rid, found in tags.items():
    if len(found) > 1:
        err(f"fastcgi-1.0.md: {rid} is tagged {len(found)} times")
    r = by_id.get(rid)
    if r is None:
        continue  # reported below as an unknown ID
    level, party = found[0]
    if (level, party) != (r.get("level"), r.get("party")):
        err(f"fastcgi-1.0.md: {rid} tagged ({level}, {party}) but requirements.toml says "
            f"({r.get('level')}, {r.get('party')})")
anchors = set(re.findall(r'<a id="(' + ID_RE + r')"></a>\*\*\[', main_md))
for rid, r in by_id.items():
    if r.get("retired"):
        if rid in tags:
            err(f"fastcgi-1.0.md: {rid} is retired but still tagged; remove its tag")
        continue
    if rid in tags and rid not in anchors:
        err(f"fastcgi-1.0.md: the tag of {rid} lacks its anchor <a id=\"{rid}\"></a>")
    if rid not in tags:
        err(f"fastcgi-1.0.md: requirement {rid} has no inline tag **[{rid}]** (LEVEL, party)")

# --- 2. IDs mentioned anywhere in the markdown -------------------------------
md_files = sorted(p for p in spec.rglob("*.md") if "book" not in p.relative_to(spec).parts)
MENTION_RE = re.compile(r"(?<![\w-])(" + ID_RE + r")(?![\w.-]*\d)")
for p in md_files:
    for n, line in enumerate(p.read_text().splitlines(), 1):
        for m in MENTION_RE.finditer(line):
            if m.group(1) not in by_id:
                err(f"{p.name}:{n}: unknown requirement ID {m.group(1)}")

# --- 3. open questions ---------------------------------------------------------
oq_text = (src / "open-questions.md").read_text()
oq_defined = set(re.findall(r"^## (OQ-\d+):", oq_text, re.M))
oq_anchors = set(re.findall(r'^<a id="(oq-\d+)"></a>$', oq_text, re.M))
for oq in sorted(oq_defined):
    if oq.lower() not in oq_anchors:
        err(f"open-questions.md: {oq} lacks the anchor line <a id=\"{oq.lower()}\"></a> above its heading")
nums = sorted(int(x[3:]) for x in oq_defined)
if nums and nums != list(range(1, len(nums) + 1)):
    err(f"open-questions.md: OQ numbers are not 1..{len(nums)} without gaps")
for p in md_files:
    for n, line in enumerate(p.read_text().splitlines(), 1):
        for m in re.finditer(r"\bOQ-(\d+)\b", line):
            if f"OQ-{m.group(1)}" not in oq_defined:
                err(f"{p.name}:{n}: OQ-{m.group(1)} is not defined in open-questions.md")
        for m in re.finditer(r"open-questions\.md#(oq-\d+)", line):
            if m.group(1) not in oq_anchors:
                err(f"{p.name}:{n}: broken anchor #{m.group(1)}")

# --- 3b. conformance case IDs --------------------------------------------------
CASE_RE = re.compile(r"`((?:app|server)/([0-9A-B.]+)/[a-z0-9-]+)`")
sections = {r.get("section") for r in reqs} | {"1", "4", "5", "6"}
spec_cases = {m.group(1) for m in CASE_RE.finditer(main_md)}
for p in md_files:
    for n, line in enumerate(p.read_text().splitlines(), 1):
        for m in CASE_RE.finditer(line):
            cid, sec = m.groups()
            if sec not in sections:
                err(f"{p.name}:{n}: case {cid} names unknown section {sec}")
            if p.name != "fastcgi-1.0.md" and cid not in spec_cases:
                err(f"{p.name}:{n}: case {cid} is not listed in any section of fastcgi-1.0.md")

# --- 3c. case IDs against the runner's list -------------------------------------
import json
cases_checked = None
if os.environ.get("CASES_JSON"):
    try:
        with open(os.environ["CASES_JSON"]) as f:
            real = {c["id"]: c for c in json.load(f)}
    except (OSError, ValueError, KeyError, TypeError) as e:
        err(f"cannot read the runner's case list: {e}")
        real = None
    if real is not None and not real:
        err("the runner lists no cases (a stale or broken binary? "
            "rebuild with 'cargo build -p fcgi-conformance')")
    elif real is not None:
        cases_checked = len(real)
        # The text of each numbered section of fastcgi-1.0.md, up to the next one.
        HEAD_RE = re.compile(r"^#{2,3} (?:(\d+(?:\.\d+)?)\.? |Appendix ([A-Z])\. )", re.M)
        heads = list(HEAD_RE.finditer(main_md))
        section_text = {}
        for k, h in enumerate(heads):
            end = heads[k + 1].start() if k + 1 < len(heads) else len(main_md)
            section_text[h.group(1) or h.group(2)] = main_md[h.start():end]
        ID_IN_TEXT = re.compile(r"`((?:app|server)/[0-9A-Z.]+/[a-z0-9-]+)`(†?)")
        for cid, c in sorted(real.items()):
            sec = str(c.get("section", ""))
            if cid not in spec_cases:
                err(f"fastcgi-1.0.md: real case {cid} (section {sec}) is not listed; "
                    "add it to the Cases note of its section")
            elif sec not in section_text:
                err(f"fastcgi-1.0.md: real case {cid} names section {sec!r}, which has no heading")
            elif not re.search("`" + re.escape(cid) + "`", section_text[sec]):
                err(f"fastcgi-1.0.md: real case {cid} is not listed in section {sec}")
        for p in md_files:
            for n, line in enumerate(p.read_text().splitlines(), 1):
                for m in ID_IN_TEXT.finditer(line):
                    cid, dagger = m.groups()
                    if dagger and cid in real:
                        err(f"{p.name}:{n}: {cid} is a real case now; drop its †")
                    elif not dagger and cid not in real:
                        err(f"{p.name}:{n}: {cid} is not a case of the runner; "
                            "mark it † if it is a proposal")

# --- 4. byte examples ------------------------------------------------------------
def frame_records(b):
    i, count = 0, 0
    while i < len(b):
        if len(b) - i < 8:
            return f"{len(b) - i} stray bytes after record {count}"
        if b[i] != 1:
            return f"record {count} at offset {i} has version {b[i]}"
        clen = (b[i + 4] << 8) | b[i + 5]
        plen = b[i + 6]
        end = i + 8 + clen + plen
        if end > len(b):
            return f"record {count} at offset {i} runs {end - len(b)} bytes past the end"
        i, count = end, count + 1
    return None

def decode_pairs(b):
    i = 0
    def length(i):
        if i >= len(b):
            raise ValueError(f"length missing at offset {i}")
        if b[i] & 0x80:
            if i + 4 > len(b):
                raise ValueError(f"4-byte length truncated at offset {i}")
            return ((b[i] & 0x7F) << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3], i + 4
        return b[i], i + 1
    while i < len(b):
        n, i = length(i)
        v, i = length(i)
        if i + n + v > len(b):
            raise ValueError(f"pair at offset {i} overruns the input")
        i += n + v
    return None

EX_RE = re.compile(r"^Example (E-(\d+)): \[(\w+)\] ([^\n]+)\n```fcgi-bytes\n([0-9a-f \n]*?)\n```\nDecodes to: [^\n]+$", re.M)
blocks = len(re.findall(r"^```fcgi-bytes$", main_md, re.M))
seen = []
for m in EX_RE.finditer(main_md):
    name, num, kind, _desc, body = m.groups()
    seen.append(int(num))
    if not re.fullmatch(r"[0-9a-f]{2}(?:[ \n][0-9a-f]{2})*", body):
        err(f"{name}: the block must hold lower-case hex pairs separated by spaces or newlines")
        continue
    data = bytes(int(x, 16) for x in body.split())
    if kind == "records":
        problem = frame_records(data)
        if problem:
            err(f"{name}: {problem}")
    elif kind == "pairs":
        try:
            decode_pairs(data)
        except ValueError as e:
            err(f"{name}: {e}")
    else:
        err(f"{name}: unknown kind [{kind}]")
if len(seen) != blocks:
    err(f"fastcgi-1.0.md: {blocks} fcgi-bytes blocks but {len(seen)} well-formed examples "
        "(each needs 'Example E-n: [kind] …' before and 'Decodes to: …' after)")
if seen != list(range(1, len(seen) + 1)):
    err(f"fastcgi-1.0.md: examples are numbered {seen}, expected 1..{len(seen)} in order")

# --- 5. requirements.md ----------------------------------------------------------
lines = [
    "# Requirements index",
    "",
    "<!-- Generated by `spec/check.sh --write` from requirements.toml; do not edit. -->",
    "",
    "Every requirement of the [annotated specification](fastcgi-1.0.md), as listed",
    "in `spec/requirements.toml`. *Derived* requirements are not stated in the",
    "original but follow from it; see \"How levels were assigned\" in the",
    "specification. *Checked by* says whether a conformance case, a codec test,",
    "both or nothing checks the requirement today, and for nothing, why.",
    "",
]
from collections import Counter
live = [r for r in reqs if not r.get("retired")]
lv = Counter(r["level"] for r in live)
pt = Counter(r["party"] for r in live)
lines.append(f"{len(live)} requirements: " + ", ".join(f"{lv[k]} {k}" for k in ("MUST", "SHOULD", "MAY"))
             + "; " + ", ".join(f"{pt[k]} {k}" for k in ("application", "web-server", "both")) + ".")
lines.append("")
cur = None
for r in live:
    if r["section"] != cur:
        cur = r["section"]
        lines += ["", f"## Section {cur}" if cur not in ("A", "B") else f"## Appendix {cur}", "",
                  "| ID | level | party | summary | checked by |", "|---|---|---|---|---|"]
    d = " *(derived)*" if r.get("derived") else ""
    summ = r["summary"].replace("|", "\\|")
    chk = r.get("check", "")
    if chk == "none":
        chk = "none: " + str(r.get("reason", "")).replace("|", "\\|")
    lines.append(f"| [{r['id']}](fastcgi-1.0.md#{r['id']}) | {r['level']} | {r['party']} | {summ}{d} | {chk} |")
generated = "\n".join(lines) + "\n"
target = src / "requirements.md"
if write:
    target.write_text(generated)
elif not target.exists() or target.read_text() != generated:
    err("requirements.md is out of date: run spec/check.sh --write")

if errors:
    for e in errors:
        print("spec check: " + e, file=sys.stderr)
    print(f"spec check: {len(errors)} problem(s)", file=sys.stderr)
    sys.exit(1)
cases_note = f", {cases_checked} runner cases" if cases_checked is not None else ""
print(f"spec check: {len(by_id)} requirements, {len(oq_defined)} open questions, "
      f"{len(seen)} byte examples{cases_note}: OK")
PY

if [ "$build" = 1 ]; then
  if ! command -v mdbook >/dev/null 2>&1; then
    echo "spec check: mdbook not found (install with: cargo install mdbook --locked)" >&2
    exit 1
  fi
  log="$(mktemp)"
  trap 'rm -f "$log" ${cases_json:+"$cases_json"}' EXIT
  if ! mdbook build "$here" >"$log" 2>&1; then
    cat "$log" >&2
    echo "spec check: mdbook build failed" >&2
    exit 1
  fi
  if grep -E '\b(WARN|ERROR)\b' "$log" >&2; then
    echo "spec check: mdbook build printed warnings" >&2
    exit 1
  fi
  echo "spec check: mdbook build OK"
fi
