//! §2.2 File descriptors: the listening socket on descriptor 0: the app suite's cases.

use crate::app::ctx::{well_formed, Ctx};
use crate::case::Outcome;

super::cases! {
    section "2.2";
    "listen-socket" [R_2_2_1, R_2_2_4, R_3_2_1] Plain
        "accepts on the listening socket given as descriptor 0"
        "Only with --spawn: the runner hands the application a listening socket on descriptor 0 and expects requests on it to be served."
        => listen_socket;
}

async fn listen_socket(ctx: Ctx) -> Outcome {
    if !ctx.spawned {
        return Outcome::skip("only with --spawn, where the runner creates the listening socket");
    }
    let req = ctx.req(1, b"");
    match ctx.serve(&req, None).await {
        Ok((conn, resp)) => match well_formed(&conn, &resp) {
            Ok(_) => Outcome::pass("served a request accepted on descriptor 0"),
            Err(o) => o,
        },
        Err(o) => o,
    }
}
