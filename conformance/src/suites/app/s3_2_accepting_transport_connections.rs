//! §3.2 Accepting transport connections: FCGI_WEB_SERVER_ADDRS: the app suite's cases.

use crate::app::conn::ConnError;
use crate::app::ctx::{well_formed, Ctx};
use crate::app::spawned;
use crate::case::Outcome;

use super::helpers::*;

super::cases! {
    section "3.2";
    "web-server-addrs-reject" [R_3_2_2] Alone
        "a connection from an address FCGI_WEB_SERVER_ADDRS leaves out is closed"
        "Only with --spawn: a second copy of the application is started with FCGI_WEB_SERVER_ADDRS=192.0.2.1 (an address the runner is not); a request from 127.0.0.1 must get the connection closed before any record (R-3.2-2)."
        => web_server_addrs_reject;
    "web-server-addrs-accept" [R_3_2_2] Alone
        "a connection from an address FCGI_WEB_SERVER_ADDRS lists is served"
        "Only with --spawn: a second copy started with FCGI_WEB_SERVER_ADDRS=192.0.2.1,127.0.0.1 (the runner second in a list of two) serves a request as usual."
        => web_server_addrs_accept;
}

/// The address no loopback peer has: TEST-NET-1 (RFC 5737).
const ELSEWHERE: &str = "192.0.2.1";

/// A copy of the spawned application with FCGI_WEB_SERVER_ADDRS set to
/// `addrs`, and a context that talks to it; or the outcome that says why not.
fn copy(ctx: &Ctx, addrs: &str) -> Result<(crate::spawn::Child, Ctx), Outcome> {
    let Some(cmd) = ctx.spawn_cmd.as_deref() else {
        return Err(Outcome::skip(
            "only with --spawn, where the runner sets the application's environment",
        ));
    };
    let (child, addr) = spawned::start_with(cmd, addrs)
        .map_err(|e| Outcome::fail("a second copy of the application started", e))?;
    Ok((
        child,
        Ctx {
            addr,
            ..ctx.clone()
        },
    ))
}

async fn web_server_addrs_reject(ctx: Ctx) -> Outcome {
    let (mut child, sub) = match copy(&ctx, ELSEWHERE) {
        Ok(x) => x,
        Err(o) => return o,
    };
    let o = reject(&sub).await;
    child.stop().await;
    o
}

async fn reject(ctx: &Ctx) -> Outcome {
    let req = echo_req(ctx, b"from an unlisted address");
    let mut c = match ctx.conn("unlisted peer").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    // A write may already fail on a connection closed at once.
    let _ = c.send(&req.bytes()).await;
    let want = format!(
        "the connection closed before any record (FCGI_WEB_SERVER_ADDRS={ELSEWHERE}, R-3.2-2)"
    );
    match c.closed_within(ctx.timeout).await {
        Ok(None) | Err(ConnError::Io(_)) => {
            Outcome::pass("closed the connection from 127.0.0.1 before any record")
        }
        Ok(Some(r)) => Outcome::fail(
            want,
            format!(
                "{} for id {}: the unlisted peer was served",
                r.record_type.name(),
                r.request_id
            ),
        ),
        Err(ConnError::Timeout) => Outcome::fail(want, "the connection kept open and silent"),
        Err(e) => Outcome::fail(want, e.to_string()),
    }
}

async fn web_server_addrs_accept(ctx: Ctx) -> Outcome {
    let (mut child, sub) = match copy(&ctx, &format!("{ELSEWHERE},127.0.0.1")) {
        Ok(x) => x,
        Err(o) => return o,
    };
    let req = sub.req(1, b"from a listed address");
    let o = match sub.serve(&req, None).await {
        Ok((conn, resp)) => match well_formed(&conn, &resp) {
            Ok(_) => Outcome::pass(format!(
                "served 127.0.0.1, listed second in FCGI_WEB_SERVER_ADDRS={ELSEWHERE},127.0.0.1"
            )),
            Err(o) => o,
        },
        Err(o) => o,
    };
    child.stop().await;
    o
}
