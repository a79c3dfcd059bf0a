//! §5.5 FCGI_END_REQUEST: the app suite's cases.

use crate::app::ctx::Ctx;
use crate::case::Outcome;
use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::record::RecordType;

use super::helpers::*;

super::cases! {
    section "5.5";
    "end-request-body" [R_5_5_1, R_6_2_5, R_3_3_13] Plain
        "END_REQUEST has an 8-byte body with FCGI_REQUEST_COMPLETE"
        "A plain request; END_REQUEST content is exactly 8 bytes, protocolStatus 0 (appStatus recorded)."
        => end_request_body;
    "nothing-after-end" [R_5_5_4, R_5_5_5] Plain
        "no record for a request id after its END_REQUEST"
        "A request with FCGI_KEEP_CONN; after END_REQUEST the runner reads on to the close or a quiet period (bounded by the timeout): nothing more arrives for that id, a second END_REQUEST included."
        => nothing_after_end;
    "interleaved-two" [R_5_5_2, R_5_5_5, R_3_3_8, R_B_1] Alone
        "two interleaved requests are each served or the second refused with CANT_MPX_CONN"
        "Two requests on one connection with their records interleaved: each served under its own id, or the second refused with FCGI_CANT_MPX_CONN; never dropped, never under the wrong id; exactly one END_REQUEST per id, counted after reading on to the close or a quiet period."
        => interleaved_two;
    "interleaved-many" [R_5_5_2, R_5_5_5, R_B_1] Alone
        "eight interleaved requests are each served or refused, under their own ids"
        "Eight requests, ids 1..8, records interleaved round-robin; each ends under its own id with exactly one END_REQUEST, with a full answer or FCGI_CANT_MPX_CONN."
        => interleaved_many;
    "mpxs-consistent" [R_4_1_3, R_5_5_2] Alone
        "behaviour matches what FCGI_MPXS_CONNS says"
        "Compares the FCGI_MPXS_CONNS answer with the interleaving behaviour: says 1 and serves both, or says 0 and refuses (or serves); saying 1 and refusing is a warning."
        => mpxs_consistent;
}

async fn end_request_body(ctx: Ctx) -> Outcome {
    let req = ctx.req(1, b"");
    let (conn, resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let Some(end) = conn
        .received
        .iter()
        .find(|r| r.record_type == RecordType::EndRequest)
    else {
        return Outcome::fail("END_REQUEST", "none");
    };
    if end.content.len() != 8 {
        return Outcome::fail(
            "an 8-byte END_REQUEST body",
            format!("{} bytes", end.content.len()),
        );
    }
    match resp.end {
        Some(e) if e.protocol_status == ProtocolStatus::RequestComplete => Outcome::pass(format!(
            "8-byte body, REQUEST_COMPLETE, appStatus {}",
            e.app_status
        )),
        Some(e) => Outcome::fail(
            "FCGI_REQUEST_COMPLETE",
            format!("{}({})", e.protocol_status.name(), e.protocol_status.code()),
        ),
        None => Outcome::fail("END_REQUEST", "none"),
    }
}

async fn nothing_after_end(ctx: Ctx) -> Outcome {
    let req = ctx.req(1, b"").keep(true);
    let (mut conn, _resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    // Everything up to the first END_REQUEST was read by `serve`.
    let before = conn.received.len();
    let past = read_past(&ctx, &mut conn, true).await;
    if let Some(r) = conn
        .received
        .get(before..)
        .and_then(|a| a.iter().find(|r| r.request_id == 1))
    {
        return Outcome::fail(
            "nothing for request 1 after its END_REQUEST (R-5.5-4)",
            format!(
                "{} for id {} ({} END_REQUEST records in all)",
                r.record_type.name(),
                r.request_id,
                end_count(&conn, 1)
            ),
        );
    }
    match conn.violations.first() {
        Some(v) => Outcome::fail("well-formed records", v.to_string()),
        None => Outcome::pass(format!("nothing more {}", past.words(&ctx))),
    }
}

async fn interleaved_two(ctx: Ctx) -> Outcome {
    let (c, reqs, resps) = match interleaved(&ctx, 2, "two interleaved").await {
        Ok(x) => x,
        Err(o) => return o,
    };
    match judge_interleaved(&ctx, &c, &reqs, &resps) {
        Ok((served, refused)) => Outcome::pass(format!(
            "{served} served, {refused} refused with CANT_MPX_CONN"
        )),
        Err(o) => o,
    }
}

async fn interleaved_many(ctx: Ctx) -> Outcome {
    let (c, reqs, resps) = match interleaved(&ctx, 8, "eight interleaved").await {
        Ok(x) => x,
        Err(o) => return o,
    };
    match judge_interleaved(&ctx, &c, &reqs, &resps) {
        Ok((served, refused)) => Outcome::pass(format!("{served} served, {refused} refused")),
        Err(o) => o,
    }
}

async fn mpxs_consistent(ctx: Ctx) -> Outcome {
    let Some(says) = ctx.probed.mpxs_conns else {
        return Outcome::skip("the application did not answer FCGI_MPXS_CONNS");
    };
    let (c, reqs, resps) = match interleaved(&ctx, 2, "mpxs check").await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let (served, refused) = match judge_interleaved(&ctx, &c, &reqs, &resps) {
        Ok(x) => x,
        Err(o) => return o,
    };
    match (says, refused) {
        (true, 0) => Outcome::pass("says FCGI_MPXS_CONNS=1 and served both interleaved requests"),
        (true, _) => Outcome::warn(
            "both interleaved requests served, as FCGI_MPXS_CONNS=1 promises",
            format!("{served} served, {refused} refused"),
        ),
        (false, 0) => Outcome::info("says FCGI_MPXS_CONNS=0 yet served both interleaved requests"),
        (false, _) => Outcome::pass("says FCGI_MPXS_CONNS=0 and refused the second request"),
    }
}
