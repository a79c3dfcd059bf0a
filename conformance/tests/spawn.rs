//! End to end: an unusable target is answered with exit 2 and one line
//! within two timeouts (a `--spawn` child that exits or stays mute, a TCP
//! listener that never speaks), and a SIGTERM to the runner leaves no
//! process of the spawned group behind. Every run is bounded.

use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fcgi-conformance"))
}

/// Runs `cmd` to its end, killing it past `limit`; status, stderr, wall time.
fn run_bounded(mut cmd: Command, limit: Duration) -> (ExitStatus, String, Duration) {
    let t0 = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the runner: {e}"));
    let status = loop {
        if let Some(s) = child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break s;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the runner did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    (status, err, t0.elapsed())
}

/// Whether `pid` is a process other than a zombie.
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z")
    })
}

/// Waits up to `limit` for a file to hold a PID.
fn read_pid(path: &Path, limit: Duration) -> i32 {
    let t0 = Instant::now();
    loop {
        if let Some(p) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return p;
        }
        assert!(t0.elapsed() < limit, "no PID in {}", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts exit 2 with one line of stderr containing `want`, within `limit`.
fn unusable(cmd: Command, want: &str, limit: Duration) -> String {
    let (status, err, took) = run_bounded(cmd, limit + Duration::from_secs(10));
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(took < limit, "took {took:?}, more than {limit:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(want), "{err}");
    err
}

/// Two timeouts of 1 s, plus a margin for a loaded machine.
const TWO_TIMEOUTS: Duration = Duration::from_millis(2000 + 1500);

#[test]
fn a_child_that_exits_at_once_is_reported_with_its_status_and_stderr() {
    let mut c = bin();
    c.args(["app", "--timeout", "1", "--spawn", "true"]);
    unusable(
        c,
        "the application exited with status 0 before serving",
        TWO_TIMEOUTS,
    );
    let mut c = bin();
    c.args([
        "app",
        "--timeout",
        "1",
        "--spawn",
        "echo 'cannot open config' >&2; exit 3",
    ]);
    unusable(
        c,
        "exited with status 3 before serving: stderr: \"cannot open config\"",
        TWO_TIMEOUTS,
    );
    let mut c = bin();
    c.args([
        "app",
        "--timeout",
        "1",
        "--spawn",
        "ulimit -c 0; kill -ABRT $$",
    ]);
    unusable(
        c,
        "the application was killed by signal 6 (SIGABRT) before serving",
        TWO_TIMEOUTS,
    );
}

#[test]
fn a_mute_child_is_reported_within_two_timeouts_and_stopped() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let pidfile = dir.path().join("pid");
    let mut c = bin();
    c.args(["app", "--timeout", "1", "--spawn"])
        .arg(format!("sleep 100 & echo $! > {}; wait", pidfile.display()));
    unusable(c, "running but answered nothing within 2.0s", TWO_TIMEOUTS);
    let grandchild = read_pid(&pidfile, Duration::from_secs(1));
    assert!(
        !running(grandchild),
        "the spawned sleep {grandchild} is left"
    );
}

#[test]
fn a_listener_that_never_speaks_is_not_a_fastcgi_application() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = l.local_addr().unwrap_or_else(|e| panic!("{e}"));
    // Accept and hold every connection, answering nothing; the thread ends with the test process.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept() {
            held.push(s);
        }
    });
    let mut c = bin();
    c.args(["app", "--timeout", "1", "--connect"])
        .arg(addr.to_string());
    unusable(
        c,
        "accepted the connection but answered nothing within 2.0s",
        TWO_TIMEOUTS,
    );
}

/// Starts the runner on `script` (given the two PID files), sends it
/// SIGTERM while it probes, and checks it exits 143 leaving no process.
fn sigterm_leaves_nothing(script: &str) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (leader, grandchild) = (dir.path().join("leader"), dir.path().join("grandchild"));
    // A long timeout: the runner is still probing when the signal comes.
    let mut runner = bin()
        .args(["app", "--timeout", "30", "--spawn"])
        .arg(
            script
                .replace("LEADER", &leader.display().to_string())
                .replace("GRANDCHILD", &grandchild.display().to_string()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let pids = [
        read_pid(&leader, Duration::from_secs(5)),
        read_pid(&grandchild, Duration::from_secs(5)),
    ];
    let runner_pid = Pid::from_raw(i32::try_from(runner.id()).unwrap_or_default());
    kill(runner_pid, Signal::SIGTERM).unwrap_or_else(|e| panic!("{e}"));
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = runner.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(10) {
            let _ = runner.kill();
            panic!("the runner did not end on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(143));
    for p in pids {
        assert!(!running(p), "process {p} of the spawned group is left");
    }
}

#[test]
fn sigterm_to_the_runner_leaves_no_process_of_the_group() {
    // Children that die of TERM at once: the runner must still exit 143.
    sigterm_leaves_nothing("echo $$ > LEADER; sleep 100 & echo $! > GRANDCHILD; wait");
    // Children that ignore TERM: they get KILL.
    sigterm_leaves_nothing(
        "trap '' TERM; echo $$ > LEADER; sleep 100 & echo $! > GRANDCHILD; wait",
    );
}

#[test]
fn a_web_server_that_dies_at_start_up_is_reported_at_once() {
    let mut c = bin();
    c.args([
        "server",
        "--timeout",
        "1",
        "--http",
        "http://127.0.0.1:9/",
        "--spawn",
        "echo 'bad directive' >&2; exit 1",
    ]);
    // Well before the 10 s a spawned server is given to start.
    unusable(
        c,
        "exited with status 1 before answering at http://127.0.0.1:9/: stderr: \"bad directive\"",
        Duration::from_secs(4),
    );
}

/// The §3.2 cases under `--spawn`: the reference application honours
/// FCGI_WEB_SERVER_ADDRS (both pass); started with the variable removed,
/// it serves the unlisted runner, and `web-server-addrs-reject` fails.
#[test]
fn web_server_addrs_reject_fails_on_an_application_that_ignores_the_list() {
    let me = env!("CARGO_BIN_EXE_fcgi-conformance");
    let verdicts = |spawn: String| {
        let out = bin()
            .args([
                "app", "--spawn", &spawn, "--only", "app/3.2", "--format", "json",
            ])
            .args(["--timeout", "2"])
            .stderr(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run the runner: {e}"));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let v: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        let mut got = Vec::new();
        for c in v["cases"].as_array().into_iter().flatten() {
            got.push(format!(
                "{} {}",
                c["id"].as_str().unwrap_or("?"),
                c["verdict"].as_str().unwrap_or("?")
            ));
        }
        got.sort();
        got
    };
    assert_eq!(
        verdicts(format!("exec {me} reference-app")),
        [
            "app/3.2/web-server-addrs-accept pass",
            "app/3.2/web-server-addrs-reject pass"
        ]
    );
    assert_eq!(
        verdicts(format!(
            "exec env -u FCGI_WEB_SERVER_ADDRS {me} reference-app"
        )),
        [
            "app/3.2/web-server-addrs-accept pass",
            "app/3.2/web-server-addrs-reject fail"
        ]
    );
}
