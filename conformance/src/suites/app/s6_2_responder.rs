//! §6.2 Responder: the app suite's cases.

use crate::app::ctx::Ctx;
use crate::case::Outcome;

use super::helpers::*;

super::cases! {
    section "6.2";
    "responder" [R_6_2_1, R_6_2_2, R_6_2_4, R_6_2_5, R_6_1_1] Plain
        "a Responder request is served with a CGI/1.1 response"
        "A POST with params and a body; the answer is a well-formed CGI response, STDOUT ended, END_REQUEST complete; with the echo contract, params and body come back."
        => responder;
}

async fn responder(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"name=value&x=1").param("ECHO_HELLO", "world");
    served_alike(ctx, req, None).await
}
