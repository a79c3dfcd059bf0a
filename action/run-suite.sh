#!/usr/bin/env bash
# The step of action.yml that runs the suite, kept apart so that a test
# (conformance/tests/action_script.rs) runs it as the action does.
# Reads INPUT_* (action.yml's inputs), writes the reports into
# INPUT_REPORT_DIR, the outputs into $GITHUB_OUTPUT when set, and exits
# with the suite's code (0 when INPUT_FAIL_ON_FAIL is false and the run
# happened).
set -uo pipefail
BIN=${FCGI_CONFORMANCE_BIN:-fcgi-conformance}
SUITE=${INPUT_SUITE:-app}
DIR=${INPUT_REPORT_DIR:-fcgi-conformance-report}
case "$SUITE" in
    app|server) ;;
    *) echo "fcgi-conformance action: suite is '$SUITE': give app or server" >&2; exit 2 ;;
esac
mkdir -p "$DIR" || exit 2
args=("$SUITE" --color never
      --json "$DIR/report.json" --html "$DIR/report.html"
      --junit "$DIR/junit.xml" --transcript "$DIR/transcripts")
[ -z "${INPUT_CONNECT:-}" ] || args+=(--connect "$INPUT_CONNECT")
[ -z "${INPUT_SPAWN:-}" ] || args+=(--spawn "$INPUT_SPAWN")
[ -z "${INPUT_EXPECT:-}" ] || args+=(--expect "$INPUT_EXPECT")
# Extra flags are split on whitespace, as a user writes them in YAML.
read -r -a extra <<< "${INPUT_ARGS:-}"
args+=("${extra[@]}")
"$BIN" "${args[@]}"
code=$?
if [ -n "${GITHUB_OUTPUT:-}" ]; then
    {
        echo "exit-code=$code"
        echo "report-json=$DIR/report.json"
        echo "report-html=$DIR/report.html"
        echo "junit=$DIR/junit.xml"
    } >> "$GITHUB_OUTPUT"
fi
if [ "$code" = 1 ] && [ "${INPUT_FAIL_ON_FAIL:-true}" = false ]; then
    echo "fcgi-conformance action: cases failed; fail-on-fail is false, so the step passes" >&2
    exit 0
fi
exit "$code"
