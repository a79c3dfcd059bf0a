#!/usr/bin/env bash
# Builds the fuzz targets into $OUT the way OSS-Fuzz and ClusterFuzzLite
# expect (one binary per target, <target>_seed_corpus.zip, <target>.dict,
# <target>.options). Plain bash: it also runs outside their images.
#
#   fuzz/oss-fuzz/build.sh            # OUT defaults to a fresh temp dir
#   OUT=/some/dir fuzz/oss-fuzz/build.sh
#
# Inside the OSS-Fuzz / ClusterFuzzLite builder, $SANITIZER is set and the
# image's cargo wrapper adds the sanitizer and coverage flags, on its nightly
# toolchain. Outside it (no $SANITIZER), the targets build without a
# sanitizer (-s none), which works on a stable toolchain.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/fcgi-fuzz-out.XXXXXX")}
mkdir -p "$OUT"
cd "$ROOT"

TARGETS=$(cargo fuzz list)
if [ -n "${SANITIZER:-}" ]; then
    # The builder image chooses the sanitizer from $SANITIZER.
    cargo fuzz build -O --debug-assertions
else
    cargo fuzz build -O --debug-assertions -s none
fi

TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
BIN="$ROOT/fuzz/target/$TRIPLE/release"
for t in $TARGETS; do
    cp "$BIN/$t" "$OUT/$t"
    cp "$ROOT/fuzz/fcgi.dict" "$OUT/$t.dict"
    # Hostile lengths must not become memory: one allocation over 256 MB is
    # a finding (the RSS cap stays the platform's: sanitizers inflate RSS).
    printf '[libfuzzer]\nmalloc_limit_mb = 256\n' >"$OUT/$t.options"
    if [ -d "$ROOT/fuzz/corpus/$t" ]; then
        rm -f "$OUT/${t}_seed_corpus.zip"
        (cd "$ROOT/fuzz/corpus/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
    fi
done
echo "fuzz/oss-fuzz/build.sh: $(echo $TARGETS | wc -w) targets in $OUT"
ls "$OUT"
