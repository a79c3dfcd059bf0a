# Sourced by run-app-suite.sh and run-explore.sh: the per-peer params an
# application needs on every request, read from start.sh's output (its
# PARAM=NAME=VALUE lines; see README.md for why each peer needs them).
#
#   app_param_flags START_OUT [SKIP_NAME]
#
# Prints `--param` and `NAME=VALUE` on lines of their own for each PARAM
# line of START_OUT, leaving out the param SKIP_NAME (the app suite picks
# REQUEST_METHOD itself). Callers split the output on newlines only, with
# globbing off (set -f), into their "$@" (see run-app-suite.sh). The values
# are start.sh's own (scratch paths, fixed names): none has a newline.
app_param_flags() {
    awk -v skip="${2:-}" '
        /^PARAM=/ {
            v = substr($0, 7)
            if (skip != "" && index(v, skip "=") == 1) next
            print "--param"; print v
        }' "$1"
}
