//! `--spawn`: the runner starts the application as §2 describes: the
//! listening socket it created is the child's descriptor 0
//! (FCGI_LISTENSOCK_FILENO), FCGI_WEB_SERVER_ADDRS names the loopback
//! address, and the child is stopped by its PID.

use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::target::Addr;

/// A spawned application and the listening socket it was given.
pub struct Spawned {
    cmd: String,
    listener: std::net::TcpListener,
    addr: Addr,
    child: Option<Child>,
    /// Times the child had to be started again after dying mid-run.
    pub restarts: usize,
}

impl Spawned {
    /// Binds 127.0.0.1 on an ephemeral port and starts `cmd` (split on
    /// whitespace; quote-free) with that socket as descriptor 0.
    pub fn start(cmd: &str) -> Result<Spawned, String> {
        if cmd.split_whitespace().next().is_none() {
            return Err("--spawn needs a command, e.g. --spawn './app --flag'".into());
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("cannot bind a loopback port for --spawn: {e}"))?;
        let addr = Addr::Tcp(
            listener
                .local_addr()
                .map_err(|e| format!("cannot read the bound address: {e}"))?,
        );
        let mut s = Spawned {
            cmd: cmd.to_string(),
            listener,
            addr,
            child: None,
            restarts: 0,
        };
        s.launch()?;
        Ok(s)
    }

    fn launch(&mut self) -> Result<(), String> {
        let fd: OwnedFd = self
            .listener
            .try_clone()
            .map_err(|e| format!("cannot share the listening socket: {e}"))?
            .into();
        let mut parts = self.cmd.split_whitespace();
        let prog = parts.next().unwrap_or_default();
        let child = Command::new(prog)
            .args(parts)
            .stdin(Stdio::from(fd))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .env("FCGI_WEB_SERVER_ADDRS", "127.0.0.1")
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start '{}': {e} (check the --spawn command)",
                    self.cmd
                )
            })?;
        self.child = Some(child);
        Ok(())
    }

    /// Where the child listens.
    pub fn addr(&self) -> &Addr {
        &self.addr
    }

    /// True if the child has exited; it is then started again.
    pub fn died_and_restarted(&mut self) -> bool {
        let dead = match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(Some(_))) | Some(Err(_)) | None => true,
            Some(Ok(None)) => false,
        };
        if dead {
            self.restarts += 1;
            let _ = self.launch();
            std::thread::sleep(Duration::from_millis(100));
        }
        dead
    }

    /// Stops the child by its PID: SIGTERM through `kill`, then a hard kill.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = c.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            for _ in 0..20 {
                if matches!(c.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.stop();
    }
}

impl super::schedule::Keeper for Spawned {
    async fn revive(&mut self, ctx: &super::ctx::Ctx) -> (String, bool) {
        // The exit status may take a moment after the last answer failed.
        let grace = ctx.timeout.min(Duration::from_secs(2));
        let deadline = std::time::Instant::now() + grace;
        loop {
            if self.died_and_restarted() {
                let back = super::schedule::healthy(ctx).await.is_ok();
                let what = if back {
                    "the application process exited and was started again"
                } else {
                    "the application process exited; started again, it does not serve"
                };
                return (what.to_string(), back);
            }
            if std::time::Instant::now() >= deadline {
                return (
                    "the application process is still running but no longer serves".into(),
                    false,
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn gone(&mut self) -> bool {
        !matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }
}
