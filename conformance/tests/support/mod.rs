//! Shared by the end-to-end tests that run the real CLI against the
//! misbehaving peers of `tests/fixtures/hostile_peer.py`: starting fixtures
//! and the runner as real processes, a hard limit on every wait, the
//! runner's peak RSS, and finding (and killing) every process a test left.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The environment variable every process a test starts carries (runners,
/// fixtures, and through inheritance whatever they start), so that leftovers
/// are found in /proc by their environment.
pub const MARKER_VAR: &str = "FCGI_HOSTILE_TEST_MARKER";

/// Above this peak RSS the runner is killed at once: the test has failed
/// (its bound is far lower) and the machine is shared.
pub const RSS_KILL_KB: u64 = 512 * 1024;

/// The CLI under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_fcgi-conformance")
}

/// The fixture script.
pub fn fixture_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile_peer.py")
}

/// `python3 <script> <mode...>` as one whitespace-split command line, the
/// form `app --spawn` takes.
pub fn fixture_cmd(mode: &str) -> String {
    format!("python3 {} {mode}", fixture_script().display())
}

/// A marker no other process on the machine carries.
pub fn unique_marker(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{name}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// PIDs of the processes whose environment or argv holds `marker`.
pub fn procs_with(marker: &str) -> Vec<u32> {
    let me = std::process::id();
    let needle = marker.as_bytes();
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        // A zombie has an empty environ and cmdline: it is gone in all but name.
        let carries = ["environ", "cmdline"].iter().any(|f| {
            std::fs::read(e.path().join(f))
                .map(|b| b.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
        });
        if carries {
            found.push(pid);
        }
    }
    found
}

fn kill(sig: &str, target: &str) {
    let _ = Command::new("kill")
        .args([sig, "--", target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Kills every process carrying its marker when dropped, so that a failing
/// test leaves nothing behind either.
pub struct MarkerGuard {
    /// The marker.
    pub marker: String,
}

impl MarkerGuard {
    /// A new unique marker.
    pub fn new(name: &str) -> MarkerGuard {
        MarkerGuard {
            marker: unique_marker(name),
        }
    }

    /// Processes still carrying the marker, after giving exits `grace` to land.
    pub fn leftovers(&self, grace: Duration) -> Vec<u32> {
        let until = Instant::now() + grace;
        loop {
            let left = procs_with(&self.marker);
            if left.is_empty() || Instant::now() >= until {
                return left;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for MarkerGuard {
    fn drop(&mut self) {
        for _ in 0..3 {
            let left = procs_with(&self.marker);
            if left.is_empty() {
                return;
            }
            for pid in left {
                kill("-KILL", &pid.to_string());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A fixture process (its own process group), killed with its group on drop.
pub struct Fixture {
    child: Child,
    /// What it printed after `LISTENING`.
    pub addr: String,
}

impl Fixture {
    /// Starts `hostile_peer.py <args>` and waits (at most 10 s) for its
    /// `LISTENING <addr>` line.
    pub fn start(args: &[&str], marker: &MarkerGuard) -> Fixture {
        let mut child = Command::new("python3")
            .arg(fixture_script())
            .args(args)
            .env(MARKER_VAR, &marker.marker)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("python3 starts the fixture");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut f = Fixture {
            child,
            addr: String::new(),
        };
        let line = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
        match line.trim().strip_prefix("LISTENING ") {
            Some(a) => f.addr = a.to_string(),
            None => panic!("fixture {args:?} did not announce its address: {line:?}"),
        }
        f
    }

    /// The fixture's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        kill("-KILL", &format!("-{}", self.child.id()));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bundled reference application as its own process on a unix socket
/// in `dir` (`NAME.sock`), with `--fault`s, its own process group, killed
/// on drop.
pub struct ReferenceApp {
    child: Child,
    /// `unix:/…/NAME.sock`.
    pub addr: String,
}

impl ReferenceApp {
    /// Starts it and waits (at most 10 s) for its socket to appear.
    pub fn start(
        dir: &std::path::Path,
        name: &str,
        faults: &[&str],
        marker: &MarkerGuard,
    ) -> ReferenceApp {
        let sock = dir.join(format!("{name}.sock"));
        let mut cmd = Command::new(bin());
        cmd.args(["reference-app", "--listen"])
            .arg(format!("unix:{}", sock.display()));
        for f in faults {
            cmd.args(["--fault", f]);
        }
        let child = cmd
            .env(MARKER_VAR, &marker.marker)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("the reference application starts");
        let until = Instant::now() + Duration::from_secs(10);
        while !sock.exists() {
            assert!(Instant::now() < until, "the reference app never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        ReferenceApp {
            child,
            addr: format!("unix:{}", sock.display()),
        }
    }
}

impl Drop for ReferenceApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one run of the CLI did.
#[derive(Debug)]
pub struct RunResult {
    /// Exit code; None when ended by a signal (including our hard limit).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Wall time.
    pub wall: Duration,
    /// The last VmHWM read before it exited, in KiB.
    pub max_rss_kb: u64,
    /// Why we killed it, if we did.
    pub killed: Option<String>,
    /// The runner's PID (gone by now).
    pub pid: u32,
}

impl RunResult {
    /// A one-line summary for assertion messages and the measurement log.
    pub fn summary(&self) -> String {
        let tail: String = self
            .stderr
            .lines()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .join(" | ");
        format!(
            "exit {:?}, {:.1}s, max RSS {} MB, killed: {:?}, stderr tail: {tail}",
            self.code,
            self.wall.as_secs_f64(),
            self.max_rss_kb / 1024,
            self.killed
        )
    }

    /// The JSON report's `cases[].id -> verdict`.
    pub fn verdicts(&self) -> BTreeMap<String, String> {
        self.cases()
            .into_iter()
            .map(|(id, verdict, _)| (id, verdict))
            .collect()
    }

    /// The JSON report's cases as (id, verdict, detail), in report order.
    pub fn cases(&self) -> Vec<(String, String, String)> {
        let v: serde_json::Value = match serde_json::from_str(&self.stdout) {
            Ok(v) => v,
            Err(e) => panic!("the report is not JSON ({e}): {}", self.summary()),
        };
        v["cases"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                        (s("id"), s("verdict"), s("detail"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn collect(mut r: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.read_to_end(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    })
}

/// Something done to the running process once, after a delay.
type Poke = (Duration, Box<dyn FnMut(u32)>);

/// A prepared run of the CLI.
pub struct Runner {
    cmd: Command,
    limit: Duration,
    /// Called once, `after` into the run, with the runner's PID.
    poke: Option<Poke>,
}

impl Runner {
    /// `fcgi-conformance <args>` carrying `marker`, killed after `limit`.
    pub fn new(args: &[&str], marker: &MarkerGuard, limit: Duration) -> Runner {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env(MARKER_VAR, &marker.marker)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Runner {
            cmd,
            limit,
            poke: None,
        }
    }

    /// A program other than the CLI (e.g. `sh -c ...`), same handling.
    pub fn program(prog: &str, args: &[&str], marker: &MarkerGuard, limit: Duration) -> Runner {
        let mut r = Runner::new(&[], marker, limit);
        let mut cmd = Command::new(prog);
        cmd.args(args)
            .env(MARKER_VAR, &marker.marker)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        r.cmd = cmd;
        r
    }

    /// Calls `f(pid)` once, `after` into the run (e.g. to send a signal).
    pub fn poke(mut self, after: Duration, f: impl FnMut(u32) + 'static) -> Runner {
        self.poke = Some((after, Box::new(f)));
        self
    }

    /// Runs to the end, polling the peak RSS every 50 ms; kills the
    /// process past the hard limit or past [`RSS_KILL_KB`].
    pub fn run(mut self) -> RunResult {
        let t0 = Instant::now();
        let mut child = self.cmd.spawn().expect("the binary starts");
        let pid = child.id();
        let out = collect(child.stdout.take().expect("piped stdout"));
        let err = collect(child.stderr.take().expect("piped stderr"));
        let mut max_rss_kb = 0;
        let mut killed = None;
        let status = loop {
            if let Some(kb) = vm_hwm_kb(pid) {
                max_rss_kb = max_rss_kb.max(kb);
            }
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) => {}
                Err(e) => panic!("waiting for the runner: {e}"),
            }
            if let Some((after, f)) = self.poke.as_mut() {
                if t0.elapsed() >= *after {
                    f(pid);
                    self.poke = None;
                }
            }
            if killed.is_none() {
                if t0.elapsed() > self.limit {
                    killed = Some(format!("still running after {:?}", self.limit));
                } else if max_rss_kb > RSS_KILL_KB {
                    killed = Some(format!("peak RSS over {} MB", RSS_KILL_KB / 1024));
                }
                if killed.is_some() {
                    let _ = child.kill();
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let wall = t0.elapsed();
        RunResult {
            code: status.code(),
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
            wall,
            max_rss_kb,
            killed,
            pid,
        }
    }
}

/// Sends `sig` (e.g. "-TERM") to one PID.
pub fn signal(sig: &str, pid: u32) {
    kill(sig, &pid.to_string());
}

/// A fresh temporary directory, removed on drop.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// Appends a measurement line to `$HOSTILE_MEASURE_LOG` when set (for the
/// report of figures; the tests never depend on it).
pub fn measure(test: &str, r: &RunResult) {
    if let Ok(path) = std::env::var("HOSTILE_MEASURE_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{test}: {}", r.summary());
        }
    }
}
