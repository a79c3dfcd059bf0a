# Sourced by the run-*-suite.sh scripts: run one function per peer, a few
# at a time.
#
#   run_jobs FUNC LOGDIR NAME...
#
# Runs `FUNC NAME` for each NAME in the background, at most $PEER_JOBS at
# once (default 2: this is a 2-core machine, and each peer and the runner
# want a core), with all its output in LOGDIR/NAME.log. Each log is printed
# whole as its job ends, so the output of two peers never interleaves.
# Returns the highest exit status of the jobs (0 when all passed).
# A NAME listed in $RUN_ALONE runs with no other job beside it: for a peer
# whose pinned verdicts need the machine to itself (see the scripts).
# Peers run side by side only because nothing of theirs is shared: each
# job has a scratch folder of its own and every port is a free one picked
# at start; each job's wait is bounded by the `timeout` its FUNC puts
# around the runner (PEER_TIMEOUT) and by start.sh's and stop.sh's own.

PEER_JOBS=${PEER_JOBS:-2}
case "$PEER_JOBS" in ''|*[!0-9]*|0) echo "PEER_JOBS must be a count of 1 or more (e.g. PEER_JOBS=2), got '$PEER_JOBS'" >&2; exit 2 ;; esac
# Seconds one peer's runner may take before it is stopped (its verdicts
# then count as different); the suites take 10-40s each here.
PEER_TIMEOUT=${PEER_TIMEOUT:-600}
case "$PEER_TIMEOUT" in ''|*[!0-9]*|0) echo "PEER_TIMEOUT must be whole seconds, 1 or more (e.g. PEER_TIMEOUT=600), got '$PEER_TIMEOUT'" >&2; exit 2 ;; esac

run_jobs() {
    _func=$1
    _logs=$2
    shift 2
    mkdir -p "$_logs"
    _running=
    _worst=0
    for _name in "$@"; do
        rm -f "$_logs/$_name.rc"
    done
    for _name in "$@"; do
        _slots=$PEER_JOBS
        case " ${RUN_ALONE:-} " in *" $_name "*) _slots=1 ;; esac
        while [ "$(_count $_running)" -ge "$_slots" ]; do
            _reap "$_logs" $_running
        done
        ( "$_func" "$_name" >"$_logs/$_name.log" 2>&1; echo $? >"$_logs/$_name.rc" ) &
        _running="$_running $_name"
        # Nothing starts beside a job that runs alone.
        case " ${RUN_ALONE:-} " in *" $_name "*) _reap "$_logs" $_running ;; esac
    done
    while [ -n "$(echo $_running)" ]; do
        _reap "$_logs" $_running
    done
    wait
    return "$_worst"
}

_count() { echo $#; }

# Waits (polling) until one of the named jobs has written its status, then
# prints its log, drops it from _running and keeps the worst status.
_reap() {
    _dir=$1
    shift
    while :; do
        for _n in "$@"; do
            [ -s "$_dir/$_n.rc" ] || continue
            cat "$_dir/$_n.log"
            _rc=$(cat "$_dir/$_n.rc")
            [ "$_rc" -le "$_worst" ] || _worst=$_rc
            _left=
            for _m in $_running; do
                [ "$_m" = "$_n" ] || _left="$_left $_m"
            done
            _running=$_left
            return 0
        done
        sleep 0.2
    done
}
