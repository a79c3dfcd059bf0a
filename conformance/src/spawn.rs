//! Processes the runner starts (`--spawn` in both suites): `sh -c CMD` in
//! a process group of its own, descriptor 0 as the caller gives it (the
//! app suite's listening socket, FastCGI §2.2 FCGI_LISTENSOCK_FILENO; the
//! server suite's /dev/null), stdout and stderr kept as bounded tails for
//! messages, and a stop that leaves nothing of the group behind.
//!
//! Every live group is listed in one registry, so that a signal to the
//! runner, a panic or the end of `main` kill what is left ([`install_cleanup`]),
//! and dropping a [`Child`] stops it too. A process that leaves the group
//! (`setsid`, `setpgid`) escapes all of this; daemonizing servers must be
//! run in the foreground.

use std::collections::VecDeque;
use std::fmt;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;

/// Bytes kept of each of the child's stdout and stderr (the last ones).
pub const TAIL_BYTES: usize = 8 * 1024;
/// How long [`Child::stop`] waits after SIGTERM before SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(2);
/// How long a stop waits for the group to empty after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(2);
/// How often group membership is checked while waiting.
const POLL: Duration = Duration::from_millis(10);

/// How to start a child.
#[derive(Debug)]
pub struct Spec {
    /// The command, run as `sh -c CMD`.
    pub cmd: String,
    /// Descriptor 0: this socket (shared, so a restart gets the same one), or /dev/null.
    pub stdin: Option<OwnedFd>,
    /// Variables added to the runner's environment.
    pub env: Vec<(String, String)>,
}

/// How a child ended, in words by [`fmt::Display`] that follow a subject:
/// "exited with status 3", "was killed by signal 6 (SIGABRT)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitDesc {
    /// It exited with this status.
    Status(i32),
    /// A signal killed it.
    Signal {
        /// The signal number.
        signal: i32,
        /// Whether it dumped core.
        core: bool,
    },
    /// Its status could not be read.
    Unknown(String),
}

impl From<ExitStatus> for ExitDesc {
    fn from(s: ExitStatus) -> ExitDesc {
        match (s.code(), s.signal()) {
            (Some(c), _) => ExitDesc::Status(c),
            (None, Some(signal)) => ExitDesc::Signal {
                signal,
                core: s.core_dumped(),
            },
            (None, None) => ExitDesc::Unknown(s.to_string()),
        }
    }
}

fn signal_name(n: i32) -> Option<&'static str> {
    Signal::try_from(n).ok().map(Signal::as_str)
}

impl fmt::Display for ExitDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitDesc::Status(c) => {
                write!(f, "exited with status {c}")?;
                // A shell that did not exec its command reports a signal as 128+N.
                if let Some(name) = (129..=192)
                    .contains(c)
                    .then(|| signal_name(c - 128))
                    .flatten()
                {
                    write!(f, " (a shell's way of saying signal {}, {name})", c - 128)?;
                }
                Ok(())
            }
            ExitDesc::Signal { signal, core } => {
                write!(f, "was killed by signal {signal}")?;
                if let Some(name) = signal_name(*signal) {
                    write!(f, " ({name})")?;
                }
                if *core {
                    f.write_str(", core dumped")?;
                }
                Ok(())
            }
            ExitDesc::Unknown(s) => write!(f, "ended ({s})"),
        }
    }
}

/// What [`Child::stop`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// How the first process ended, if it was seen ending.
    pub exit: Option<ExitDesc>,
    /// Whether SIGTERM was not enough and the group got SIGKILL.
    pub killed: bool,
    /// Whether no process of the group is left (zombies aside).
    pub group_empty: bool,
}

// ---- the registry of live process groups ----

static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

fn groups() -> MutexGuard<'static, Vec<i32>> {
    GROUPS.lock().unwrap_or_else(PoisonError::into_inner)
}

fn register(pgid: i32) {
    groups().push(pgid);
}

fn unregister(pgid: i32) {
    groups().retain(|g| *g != pgid);
}

/// Signals a group, only while it is registered: once a group is known
/// empty its number may belong to someone else.
fn signal_group(pgid: i32, sig: Signal) {
    let g = groups();
    if g.contains(&pgid) {
        let _ = killpg(Pid::from_raw(pgid), sig);
    }
}

/// Whether a process other than a zombie is left in the group. Orphaned
/// zombies count as gone: they hold no socket and, where PID 1 does not
/// reap, would never leave.
pub fn group_alive(pgid: i32) -> bool {
    match killpg(Pid::from_raw(pgid), None) {
        Err(Errno::ESRCH) => false,
        Err(_) => true,
        Ok(()) => live_members(pgid).is_none_or(|n| n > 0),
    }
}

/// Non-zombie processes in the group, from /proc (`None` where there is none).
fn live_members(pgid: i32) -> Option<usize> {
    let dir = std::fs::read_dir("/proc").ok()?;
    let mut n = 0;
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) S ppid pgrp ...": comm may hold anything, so split after its last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let (state, _ppid, pgrp) = (f.next(), f.next(), f.next());
        if pgrp.and_then(|p| p.parse::<i32>().ok()) == Some(pgid) && state != Some("Z") {
            n += 1;
        }
    }
    Some(n)
}

/// Kills every registered group: SIGTERM, a short wait, SIGKILL. For the
/// signal handler, the panic hook and the end of `main`; never blocks on
/// the registry (a panic may have happened while it was held).
pub fn kill_all() {
    let snapshot: Vec<i32> = match GROUPS.try_lock() {
        Ok(g) => g.clone(),
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().clone(),
        Err(std::sync::TryLockError::WouldBlock) => return,
    };
    if snapshot.is_empty() {
        return;
    }
    for g in &snapshot {
        let _ = killpg(Pid::from_raw(*g), Signal::SIGTERM);
    }
    let wait_empty = |limit: Duration| {
        let t0 = Instant::now();
        while snapshot.iter().any(|g| group_alive(*g)) && t0.elapsed() < limit {
            std::thread::sleep(POLL);
        }
    };
    wait_empty(Duration::from_millis(500));
    for g in &snapshot {
        if group_alive(*g) {
            let _ = killpg(Pid::from_raw(*g), Signal::SIGKILL);
        }
    }
    wait_empty(Duration::from_millis(500));
    if let Ok(mut g) = GROUPS.try_lock() {
        g.retain(|p| group_alive(*p));
    }
}

/// The signal the runner was stopped by (0: none yet).
static SIGNALLED: AtomicI32 = AtomicI32::new(0);

/// Whether the runner got SIGINT/SIGTERM and is killing its children.
pub fn stopping() -> bool {
    SIGNALLED.load(Ordering::SeqCst) != 0
}

/// Kills the registered groups when dropped (the end of `main`).
#[derive(Debug)]
pub struct Cleanup(());

impl Drop for Cleanup {
    /// After a SIGINT/SIGTERM, `main` may end first (the killed child ends
    /// its wait): the exit code is still the signal's, so wait for the
    /// handler to exit, and exit in its place if it does not.
    fn drop(&mut self) {
        kill_all();
        let sig = SIGNALLED.load(Ordering::SeqCst);
        if sig != 0 {
            std::thread::sleep(Duration::from_secs(3));
            std::process::exit(128 + sig);
        }
    }
}

/// Installs, once per process, what kills the registered groups when the
/// runner ends abnormally: a SIGINT/SIGTERM handler (which then exits with
/// 130/143) and a panic hook (before the previous hook runs). The returned
/// guard kills them at the end of `main`.
pub fn install_cleanup() -> Cleanup {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            kill_all();
            previous(info);
        }));
        let watch = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
        ])
        .map_err(|e| e.to_string())
        .and_then(|mut signals| {
            std::thread::Builder::new()
                .name("spawn-cleanup".into())
                .spawn(move || {
                    if let Some(sig) = signals.forever().next() {
                        SIGNALLED.store(sig, Ordering::SeqCst);
                        eprintln!(
                            "fcgi-conformance: stopped by {}; stopping what --spawn started",
                            signal_name(sig).unwrap_or("a signal")
                        );
                        kill_all();
                        std::process::exit(128 + sig);
                    }
                })
                .map(drop)
                .map_err(|e| e.to_string())
        });
        if let Err(e) = watch {
            eprintln!("fcgi-conformance: warning: cannot watch SIGINT/SIGTERM ({e}); a signal may leave --spawn children running");
        }
    });
    Cleanup(())
}

// ---- output tails ----

/// The last [`TAIL_BYTES`] of one output stream.
#[derive(Debug, Clone, Default)]
struct Tail(Arc<Mutex<VecDeque<u8>>>);

impl Tail {
    fn push(&self, bytes: &[u8]) {
        let mut t = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let keep = bytes.len().min(TAIL_BYTES);
        t.extend(&bytes[bytes.len() - keep..]);
        let excess = t.len().saturating_sub(TAIL_BYTES);
        t.drain(..excess);
    }

    fn text(&self) -> String {
        let t = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (a, b) = t.as_slices();
        String::from_utf8_lossy(&[a, b].concat()).into_owned()
    }

    /// Copies `r` into the tail until it ends, so the child never blocks on a full pipe.
    fn drain_from<R: AsyncRead + Unpin + Send + 'static>(&self, mut r: R) -> JoinHandle<()> {
        let tail = self.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = r.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                tail.push(buf.get(..n).unwrap_or_default());
            }
        })
    }
}

/// Squeezes output into one line of at most `max` characters, keeping the end.
fn one_line(text: &str, max: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let joined = lines.join(" | ");
    let count = joined.chars().count();
    if count <= max {
        joined
    } else {
        let skip = count - max;
        format!("...{}", joined.chars().skip(skip).collect::<String>())
    }
}

// ---- the child ----

/// A started command and its process group.
#[derive(Debug)]
pub struct Child {
    spec: Spec,
    leader: Option<tokio::process::Child>,
    /// The group while it is registered (the leader's PID).
    pgid: Option<i32>,
    /// How the leader ended, once seen.
    exit: Option<ExitDesc>,
    stdout: Tail,
    stderr: Tail,
    readers: Vec<JoinHandle<()>>,
    restarts: usize,
}

impl Child {
    /// Starts `sh -c CMD` in a new process group. Must run inside a tokio runtime.
    pub fn start(spec: Spec) -> Result<Child, String> {
        if spec.cmd.trim().is_empty() {
            return Err("--spawn needs a command, e.g. --spawn './app --flag'".into());
        }
        let mut c = Child {
            spec,
            leader: None,
            pgid: None,
            exit: None,
            stdout: Tail::default(),
            stderr: Tail::default(),
            readers: Vec::new(),
            restarts: 0,
        };
        c.launch()?;
        Ok(c)
    }

    fn launch(&mut self) -> Result<(), String> {
        let stdin = match &self.spec.stdin {
            Some(fd) => Stdio::from(
                fd.try_clone()
                    .map_err(|e| format!("cannot share the listening socket: {e}"))?,
            ),
            None => Stdio::null(),
        };
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c")
            .arg(&self.spec.cmd)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        for (k, v) in &self.spec.env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start 'sh -c {}': {e}", self.spec.cmd))?;
        let pgid = child
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .ok_or("the spawned command has no process id")?;
        register(pgid);
        if let Some(out) = child.stdout.take() {
            self.readers.push(self.stdout.drain_from(out));
        }
        if let Some(err) = child.stderr.take() {
            self.readers.push(self.stderr.drain_from(err));
        }
        self.leader = Some(child);
        self.pgid = Some(pgid);
        self.exit = None;
        Ok(())
    }

    /// The command as given.
    pub fn cmd(&self) -> &str {
        &self.spec.cmd
    }

    /// The PID of the current run's first process, which is also its process group id.
    pub fn pid(&self) -> Option<u32> {
        self.pgid.and_then(|p| u32::try_from(p).ok())
    }

    /// Times [`Child::restart`] started the command again.
    pub fn restarts(&self) -> usize {
        self.restarts
    }

    /// Reaps the leader if it has ended, without waiting.
    fn poll_leader(&mut self) {
        if self.exit.is_some() {
            return;
        }
        if let Some(l) = self.leader.as_mut() {
            match l.try_wait() {
                Ok(Some(s)) => self.exit = Some(s.into()),
                Ok(None) => {}
                Err(e) => self.exit = Some(ExitDesc::Unknown(e.to_string())),
            }
        }
    }

    /// Whether the child is gone for good: its first process ended and no
    /// process of its group is left. A leader that exits while a process
    /// it forked keeps serving (a daemonizing app) is still alive.
    fn gone(&mut self) -> bool {
        self.poll_leader();
        if self.exit.is_none() {
            return false;
        }
        match self.pgid {
            Some(g) if group_alive(g) => false,
            Some(g) => {
                unregister(g);
                self.pgid = None;
                true
            }
            None => true,
        }
    }

    /// Waits, without bound, until the child is gone (see [`Child::exited_within`])
    /// and says how its first process ended. Cancel-safe: for `select!`.
    pub async fn exited(&mut self) -> ExitDesc {
        if self.exit.is_none() {
            if let Some(l) = self.leader.as_mut() {
                self.exit = Some(match l.wait().await {
                    Ok(s) => s.into(),
                    Err(e) => ExitDesc::Unknown(e.to_string()),
                });
            }
        }
        while !self.gone() {
            tokio::time::sleep(POLL).await;
        }
        if stopping() {
            // The runner was signalled and killed it: not the child's failure
            // to report; the handler is about to exit.
            std::future::pending::<()>().await;
        }
        self.drain_output(Duration::from_millis(100)).await;
        self.exit
            .clone()
            .unwrap_or_else(|| ExitDesc::Unknown("never started".into()))
    }

    /// Whether the child has exited, without waiting (see [`Child::exited_within`]).
    pub fn exited_now(&mut self) -> Option<ExitDesc> {
        if self.gone() && !stopping() {
            self.exit.clone()
        } else {
            None
        }
    }

    /// Whether the child has exited, waiting up to `grace` (zero: just
    /// look): `Some` with how its first process ended once it has and no
    /// process of its group is left, `None` while it runs.
    pub async fn exited_within(&mut self, grace: Duration) -> Option<ExitDesc> {
        if self.gone() && !stopping() {
            self.drain_output(Duration::from_millis(100)).await;
            return self.exit.clone();
        }
        tokio::time::timeout(grace, self.exited()).await.ok()
    }

    /// Lets the output readers catch up with what the child wrote before it ended.
    async fn drain_output(&mut self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        for r in &mut self.readers {
            if !r.is_finished() {
                let _ = tokio::time::timeout_at(deadline, r).await;
            }
        }
        self.readers.retain(|r| !r.is_finished());
    }

    /// The last [`TAIL_BYTES`] the child wrote on stderr (lossy UTF-8).
    pub fn stderr_tail(&self) -> String {
        self.stderr.text()
    }

    /// The last [`TAIL_BYTES`] the child wrote on stdout (lossy UTF-8).
    pub fn stdout_tail(&self) -> String {
        self.stdout.text()
    }

    /// The end of the child's output squeezed into one line for a message:
    /// `stderr: "..."` (stdout when stderr is empty), or that there was none.
    pub fn output_line(&self) -> String {
        const MAX: usize = 400;
        let err = one_line(&self.stderr_tail(), MAX);
        if !err.is_empty() {
            return format!("stderr: \"{err}\"");
        }
        let out = one_line(&self.stdout_tail(), MAX);
        if !out.is_empty() {
            return format!("nothing on stderr; stdout: \"{out}\"");
        }
        "nothing on stderr or stdout".into()
    }

    /// Starts the command again with the same descriptor 0 and environment,
    /// after killing whatever is left of the previous run's group (a
    /// grandchild still holding the socket would compete for connections).
    pub async fn restart(&mut self) -> Result<(), String> {
        self.stop().await;
        let marker = format!(
            "\n[fcgi-conformance: restarted, run {}]\n",
            self.restarts + 2
        );
        self.stdout.push(marker.as_bytes());
        self.stderr.push(marker.as_bytes());
        self.restarts += 1;
        self.launch()
    }

    /// Stops the child: SIGTERM to its whole group, up to [`TERM_GRACE`]
    /// for the group to empty, then SIGKILL to the group and a bounded
    /// wait. Grandchildren are stopped with it.
    pub async fn stop(&mut self) -> Stopped {
        let Some(pgid) = self.pgid else {
            self.poll_leader();
            return Stopped {
                exit: self.exit.clone(),
                killed: false,
                group_empty: true,
            };
        };
        signal_group(pgid, Signal::SIGTERM);
        let mut empty = self.wait_gone(TERM_GRACE).await;
        let killed = !empty;
        if !empty {
            signal_group(pgid, Signal::SIGKILL);
            empty = self.wait_gone(KILL_WAIT).await;
        }
        self.drain_output(Duration::from_millis(100)).await;
        Stopped {
            exit: self.exit.clone(),
            killed,
            group_empty: empty,
        }
    }

    async fn wait_gone(&mut self, limit: Duration) -> bool {
        let t0 = Instant::now();
        loop {
            if self.gone() {
                return true;
            }
            if t0.elapsed() >= limit {
                return false;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Child {
    /// The fallback when [`Child::stop`] was not awaited (an early return,
    /// a panic): the same steps with short blocking waits.
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            let wait = |me: &mut Child, limit: Duration| {
                let t0 = Instant::now();
                while !me.gone() && t0.elapsed() < limit {
                    std::thread::sleep(POLL);
                }
            };
            signal_group(pgid, Signal::SIGTERM);
            wait(self, Duration::from_millis(300));
            if self.pgid.is_some() {
                signal_group(pgid, Signal::SIGKILL);
                wait(self, Duration::from_millis(500));
            }
        }
        for r in &self.readers {
            r.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every test is bounded: a hung child fails the test, never hangs it.
    const LIMIT: Duration = Duration::from_secs(15);

    fn sh(cmd: &str) -> Child {
        Child::start(Spec {
            cmd: cmd.into(),
            stdin: None,
            env: vec![("SPAWN_TEST".into(), "yes".into())],
        })
        .unwrap_or_else(|e| panic!("cannot start {cmd}: {e}"))
    }

    /// Whether `pid` is still a process that is not a zombie.
    fn running(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z"),
            Err(_) => false,
        }
    }

    /// Waits for the child to print a PID on stdout.
    async fn printed_pid(c: &Child) -> u32 {
        for _ in 0..500 {
            if let Some(p) = c
                .stdout_tail()
                .lines()
                .next()
                .and_then(|l| l.trim().parse().ok())
            {
                return p;
            }
            tokio::time::sleep(POLL).await;
        }
        panic!("no PID printed; stdout {:?}", c.stdout_tail());
    }

    #[tokio::test]
    async fn a_child_that_ignores_term_is_killed() {
        tokio::time::timeout(LIMIT, async {
            let mut c = sh("trap '' TERM; echo ready; while :; do sleep 0.05; done");
            while !c.stdout_tail().contains("ready") {
                tokio::time::sleep(POLL).await;
            }
            let pgid = c.pid().unwrap_or_default();
            let s = c.stop().await;
            assert!(s.killed, "{s:?}");
            assert!(s.group_empty, "{s:?}");
            assert_eq!(
                s.exit,
                Some(ExitDesc::Signal {
                    signal: 9,
                    core: false
                })
            );
            assert!(!group_alive(i32::try_from(pgid).unwrap_or_default()));
            assert!(!groups().contains(&i32::try_from(pgid).unwrap_or_default()));
        })
        .await
        .unwrap_or_else(|_| panic!("not within {LIMIT:?}"));
    }

    #[tokio::test]
    async fn a_grandchild_is_stopped_with_the_group() {
        tokio::time::timeout(LIMIT, async {
            let mut c = sh("sleep 100 & echo $!; wait");
            let grandchild = printed_pid(&c).await;
            assert!(running(grandchild));
            let s = c.stop().await;
            assert!(!s.killed, "TERM is enough here: {s:?}");
            assert!(s.group_empty);
            assert!(!running(grandchild), "the grandchild {grandchild} is left");
        })
        .await
        .unwrap_or_else(|_| panic!("not within {LIMIT:?}"));
    }

    #[tokio::test]
    async fn a_grandchild_left_after_its_parent_exits_is_killed() {
        tokio::time::timeout(LIMIT, async {
            // The first process exits at once; what it forked ignores TERM.
            let mut c = sh("(trap '' TERM; exec sleep 100) & echo $!; exit 0");
            let grandchild = printed_pid(&c).await;
            assert_eq!(
                c.exited_within(Duration::from_millis(300)).await,
                None,
                "a live grandchild keeps the child alive"
            );
            let s = c.stop().await;
            assert_eq!(s.exit, Some(ExitDesc::Status(0)));
            assert!(s.killed && s.group_empty, "{s:?}");
            assert!(!running(grandchild), "the grandchild {grandchild} is left");
        })
        .await
        .unwrap_or_else(|_| panic!("not within {LIMIT:?}"));
    }

    #[tokio::test]
    async fn the_stderr_tail_is_bounded_and_ends_with_the_last_bytes() {
        tokio::time::timeout(LIMIT, async {
            let mut c = sh(
                "i=0; while [ $i -lt 2000 ]; do echo line-$i >&2; i=$((i+1)); done; \
                 echo \"last words $SPAWN_TEST\" >&2; echo out; exit 3",
            );
            let e = c.exited_within(Duration::from_secs(10)).await;
            assert_eq!(e, Some(ExitDesc::Status(3)));
            assert_eq!(
                e.map(|e| e.to_string()).as_deref(),
                Some("exited with status 3")
            );
            let tail = c.stderr_tail();
            assert!(tail.len() <= TAIL_BYTES);
            assert!(tail.len() > TAIL_BYTES / 2, "{} bytes", tail.len());
            assert!(tail.ends_with("last words yes\n"), "{tail:?}");
            assert!(!tail.contains("line-0\n"));
            assert_eq!(c.stdout_tail(), "out\n");
            let line = c.output_line();
            assert!(
                !line.contains('\n') && line.ends_with("last words yes\""),
                "{line}"
            );
            assert!(line.chars().count() < 420, "{line}");
        })
        .await
        .unwrap_or_else(|_| panic!("not within {LIMIT:?}"));
    }

    #[tokio::test]
    async fn a_death_by_signal_is_described_and_a_restart_counted() {
        tokio::time::timeout(LIMIT, async {
            let mut c = sh("ulimit -c 0; echo dying >&2; kill -ABRT $$");
            let e = c.exited_within(Duration::from_secs(5)).await;
            assert_eq!(
                e.as_ref().map(ToString::to_string).as_deref(),
                Some("was killed by signal 6 (SIGABRT)")
            );
            assert_eq!(c.output_line(), "stderr: \"dying\"");
            c.restart().await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(c.restarts(), 1);
            let e = c.exited_within(Duration::from_secs(5)).await;
            assert!(
                matches!(e, Some(ExitDesc::Signal { signal: 6, .. })),
                "{e:?}"
            );
            assert!(c.stderr_tail().ends_with("restarted, run 2]\ndying\n"));
        })
        .await
        .unwrap_or_else(|_| panic!("not within {LIMIT:?}"));
    }

    #[tokio::test]
    async fn a_restart_gets_the_same_listening_socket() {
        tokio::time::timeout(LIMIT, async {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
            let fd: OwnedFd = l.try_clone().unwrap_or_else(|e| panic!("{e}")).into();
            let mut c = Child::start(Spec {
                cmd: "readlink /proc/$$/fd/0".into(),
                stdin: Some(fd),
                env: Vec::new(),
            })
            .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                c.exited_within(Duration::from_secs(5)).await,
                Some(ExitDesc::Status(0))
            );
            c.restart().await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                c.exited_within(Duration::from_secs(5)).await,
                Some(ExitDesc::Status(0))
            );
            let out = c.stdout_tail();
            let sockets: Vec<&str> = out.lines().filter(|l| l.starts_with("socket:")).collect();
            assert_eq!(sockets.len(), 2, "{out:?}");
            assert_eq!(sockets.first(), sockets.get(1));
        })
        .await
        .unwrap_or_else(|_| panic!("not within {LIMIT:?}"));
    }

    #[tokio::test]
    async fn dropping_a_child_stops_its_group() {
        tokio::time::timeout(LIMIT, async {
            let c = sh("sleep 100 & echo $!; wait");
            let grandchild = printed_pid(&c).await;
            drop(c);
            assert!(!running(grandchild), "the grandchild {grandchild} is left");
        })
        .await
        .unwrap_or_else(|_| panic!("not within {LIMIT:?}"));
    }

    #[test]
    fn exits_are_described_in_words() {
        assert_eq!(ExitDesc::Status(0).to_string(), "exited with status 0");
        assert_eq!(
            ExitDesc::Status(134).to_string(),
            "exited with status 134 (a shell's way of saying signal 6, SIGABRT)"
        );
        assert_eq!(
            ExitDesc::Signal {
                signal: 11,
                core: true
            }
            .to_string(),
            "was killed by signal 11 (SIGSEGV), core dumped"
        );
    }

    #[test]
    fn output_is_squeezed_into_one_bounded_line() {
        assert_eq!(one_line("a\n\n  b \nc\n", 100), "a | b | c");
        assert_eq!(one_line("0123456789", 4), "...6789");
        let t = Tail::default();
        t.push(&vec![b'x'; TAIL_BYTES * 2]);
        t.push(b"end");
        let text = t.text();
        assert_eq!(text.len(), TAIL_BYTES);
        assert!(text.ends_with("xend"));
    }

    #[test]
    fn an_empty_command_is_refused() {
        let e = Child::start(Spec {
            cmd: "  ".into(),
            stdin: None,
            env: Vec::new(),
        });
        assert!(e.is_err());
    }
}
