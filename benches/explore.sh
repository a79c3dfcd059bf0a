#!/bin/sh
# `fcgi-conformance explore` throughput and shrinking time, against the
# bundled reference application (no real peers, no fixed ports):
#
#   benches/explore.sh [CONVERSATIONS [SEEDS]]     (default 300 "1 2 3")
#
# Conversations per second: `explore` in process against the faithful
# reference application, one run per seed. Shrinking: the reference
# application started by --spawn with one injected fault (cut-long-values:
# a value over 127 bytes is cut), the first finding shrunk; the time is
# the run's wall time minus nothing (the finding comes in the first few
# conversations), with the attempts the shrinker made. Needs a release
# build: cargo build --release -p fcgi-conformance (or FCGI_CONFORMANCE_BIN=path).
# Prints a markdown table; a speed is never asserted anywhere.
set -eu
N=${1:-300}
SEEDS=${2:-1 2 3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${FCGI_CONFORMANCE_BIN:-$ROOT/target/release/fcgi-conformance}
[ -x "$BIN" ] || { echo "explore.sh: no $BIN: cargo build --release -p fcgi-conformance first" >&2; exit 2; }
OUT=$(mktemp -d /tmp/explore-bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT INT TERM
field() { python3 -c "import json,sys; v=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }
echo "| run | conversations | seconds | conversations/s | finding | attempts | records |"
echo "|---|---|---|---|---|---|---|"
for s in $SEEDS; do
    "$BIN" explore --seed "$s" --conversations "$N" --format json --out "$OUT/f" > "$OUT/r$s.json" || true
    echo "| reference-app, seed $s | $(field "$OUT/r$s.json" 'v["conversations"]') | $(field "$OUT/r$s.json" 'round(v["elapsed_s"],2)') | $(field "$OUT/r$s.json" 'round(v["conversations_per_s"],1)') | $(field "$OUT/r$s.json" 'len(v["findings"])') | | |"
done
"$BIN" explore --spawn "$BIN reference-app --fault cut-long-values" --seed 21 --conversations 100 \
    --findings 1 --timeout 2 --format json --out "$OUT/f" > "$OUT/shrink.json" || true
echo "| shrink, fault cut-long-values | $(field "$OUT/shrink.json" 'v["conversations"]') | $(field "$OUT/shrink.json" 'round(v["elapsed_s"],2)') | | $(field "$OUT/shrink.json" 'v["findings"][0]["finding"]["requirement"]') | $(field "$OUT/shrink.json" 'v["findings"][0]["attempts"]') | $(field "$OUT/shrink.json" 'v["findings"][0]["records"]') |"
echo
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
