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

mod registry;
mod tail;
#[cfg(test)]
mod tests;

#[allow(unused_imports, reason = "was public before the library API narrowed")]
pub use registry::{group_alive, install_cleanup, kill_all, stopping, Cleanup};
use registry::{register, signal_group, unregister};
use tail::{one_line, Tail};

/// A started command and its process group.
#[derive(Debug)]
pub struct Child {
    spec: Spec,
    leader: Option<tokio::process::Child>,
    /// The group while it is registered (the leader's PID).
    pgid: Option<i32>,
    /// How the leader ended, once seen.
    exit: Option<ExitDesc>,
    /// The current run's output: each restart starts fresh tails, so what
    /// a report quotes is the current child's.
    stdout: Tail,
    stderr: Tail,
    /// The run before the current one, its number and its tails: the only
    /// earlier output kept, so the tails are bounded in total (four
    /// [`TAIL_BYTES`]) however often the child is restarted.
    previous: Option<(usize, Tail, Tail)>,
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
            previous: None,
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

    /// The last [`TAIL_BYTES`] the current run wrote on stderr (lossy UTF-8).
    pub fn stderr_tail(&self) -> String {
        self.stderr.text()
    }

    /// The last [`TAIL_BYTES`] the current run wrote on stdout (lossy UTF-8).
    pub fn stdout_tail(&self) -> String {
        self.stdout.text()
    }

    /// The run before the current one: its number (1 is the first run)
    /// and the ends of its stderr and stdout. `None` before the first
    /// restart.
    pub fn previous_tails(&self) -> Option<(usize, String, String)> {
        self.previous
            .as_ref()
            .map(|(run, out, err)| (*run, err.text(), out.text()))
    }

    /// The end of the current run's output squeezed into one line for a
    /// message: `stderr: "..."` (stdout when stderr is empty), or that there
    /// was none.
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
    /// The new run gets fresh tails; the one before it keeps its own
    /// ([`Child::previous_tails`]), and its readers stop: a process that
    /// escaped the group and still holds the old pipes writes into nothing.
    pub async fn restart(&mut self) -> Result<(), String> {
        self.stop().await;
        for r in self.readers.drain(..) {
            r.abort();
        }
        let out = std::mem::take(&mut self.stdout);
        let err = std::mem::take(&mut self.stderr);
        self.previous = Some((self.restarts + 1, out, err));
        self.restarts += 1;
        self.launch()
    }

    /// Which run this is: 1 for the first start, one more for each restart.
    pub fn run(&self) -> usize {
        self.restarts + 1
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
