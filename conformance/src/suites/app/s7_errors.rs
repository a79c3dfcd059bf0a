//! §7 Errors: the app suite's cases.

use crate::app::ctx::{well_formed, Ctx};
use crate::app::spawned;
use crate::case::Outcome;
use crate::spawn::TERM_GRACE;

super::cases! {
    section "7";
    "sigterm-exit" [R_7_2] Alone
        "what the application does on SIGTERM"
        "Only with --spawn: a second copy of the application is sent one request, then its process group gets SIGTERM; recorded: whether it is gone within the grace period and how it ended, or needed SIGKILL (info)."
        => sigterm_exit;
}

async fn sigterm_exit(ctx: Ctx) -> Outcome {
    let Some(cmd) = ctx.spawn_cmd.as_deref() else {
        return Outcome::skip("only with --spawn, where the runner starts the application");
    };
    let (mut child, addr) = match spawned::start(cmd) {
        Ok(x) => x,
        Err(e) => return Outcome::fail("a second copy of the application started", e),
    };
    let sub = Ctx {
        addr,
        ..ctx.clone()
    };
    let req = sub.req(1, b"before SIGTERM");
    let served = match sub.serve(&req, None).await {
        Ok((conn, resp)) => well_formed(&conn, &resp).map(|_| ()),
        Err(o) => Err(o),
    };
    let stopped = child.stop().await;
    // The case records the reaction to SIGTERM; a copy that did not serve
    // is said, not judged (other cases judge serving).
    let before = match served {
        Ok(()) => "after serving a request".to_string(),
        Err(o) => format!("after failing to serve a request ({})", o.detail),
    };
    let how = match &stopped.exit {
        Some(e) => format!("it {e}"),
        None => "its exit status was not seen".to_string(),
    };
    Outcome::info(if stopped.killed {
        format!(
            "still running {:.0}s after SIGTERM {before}: SIGKILL ended it ({how})",
            TERM_GRACE.as_secs_f64()
        )
    } else {
        format!(
            "gone within {:.0}s of SIGTERM {before}: {how}",
            TERM_GRACE.as_secs_f64()
        )
    })
}
