//! `--spawn` for the app suite: the runner starts the application as §2.2
//! describes, on [`crate::spawn`]: a listening socket it created on
//! 127.0.0.1 is the child's descriptor 0 (FCGI_LISTENSOCK_FILENO) and
//! FCGI_WEB_SERVER_ADDRS names the loopback address. The child is the
//! scheduler's [`Keeper`]: restarted, with the same socket, when it dies.

use std::time::Duration;

use super::ctx::Ctx;
use crate::schedule::Keeper;
use crate::spawn::{Child, Spec};
use crate::target::Addr;

/// Binds 127.0.0.1 on an ephemeral port and starts `cmd` (`sh -c`) with
/// that socket as descriptor 0. The child keeps the socket, so a restart
/// gets the same one.
pub fn start(cmd: &str) -> Result<(Child, Addr), String> {
    start_with(cmd, "127.0.0.1")
}

/// [`start`] with FCGI_WEB_SERVER_ADDRS set to `web_server_addrs`: the
/// cases of §3.2 start a copy of their own with a list that leaves the
/// runner out, or names it among others.
pub fn start_with(cmd: &str, web_server_addrs: &str) -> Result<(Child, Addr), String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot bind a loopback port for --spawn: {e}"))?;
    let addr = Addr::Tcp(
        listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?,
    );
    let child = Child::start(Spec {
        cmd: cmd.to_string(),
        stdin: Some(listener.into()),
        env: vec![("FCGI_WEB_SERVER_ADDRS".into(), web_server_addrs.into())],
    })?;
    Ok((child, addr))
}

impl Keeper<Ctx> for Child {
    async fn revive(&mut self, ctx: &Ctx) -> (String, bool) {
        // The exit status may take a moment after the last answer failed.
        let grace = ctx.timeout.min(Duration::from_secs(2));
        let Some(exit) = self.exited_within(grace).await else {
            return (
                "the application process is still running but no longer serves".into(),
                false,
            );
        };
        // Its words before the restart adds to them.
        let out = self.output_line();
        if let Err(e) = self.restart().await {
            return (
                format!("it {exit} ({out}); starting it again failed: {e}"),
                false,
            );
        }
        let back = super::runner::healthy(ctx).await.is_ok();
        let what = if back {
            format!("it {exit} ({out}) and was started again")
        } else {
            format!("it {exit} ({out}); started again, it does not serve")
        };
        (what, back)
    }

    fn gone(&mut self) -> bool {
        self.exited_now().is_some()
    }
}
