//! §5.4 FCGI_ABORT_REQUEST: the app suite's cases.

use crate::app::ctx::{same_as_sent, well_formed, Ctx};
use crate::app::request::Req;
use crate::case::Outcome;
use fcgi_proto::encoder::Encoder;
use fcgi_proto::record::RecordType;
use fcgi_proto::stream::StreamType;

use super::helpers::*;

super::cases! {
    section "5.4";
    "abort-after-begin" [R_5_4_1, R_5_5_5] Alone
        "ABORT_REQUEST right after BEGIN_REQUEST ends the request"
        "BEGIN_REQUEST then ABORT_REQUEST; the request ends with exactly one END_REQUEST (counted after reading on to the close or a quiet period), the connection is not dropped without it."
        => abort_after_begin;
    "abort-after-params" [R_5_4_1, R_5_5_5] Alone
        "ABORT_REQUEST after PARAMS ends the request"
        "BEGIN_REQUEST, PARAMS, then ABORT_REQUEST; the request ends with exactly one END_REQUEST (counted after reading on to the close or a quiet period)."
        => abort_after_params;
    "abort-during-stdin" [R_5_4_1, R_5_5_5] Alone
        "ABORT_REQUEST while STDIN is open ends the request"
        "A POST whose body is half sent, then ABORT_REQUEST; the request ends with exactly one END_REQUEST (counted after reading on to the close or a quiet period)."
        => abort_during_stdin;
    "abort-during-response" [R_5_4_1, R_5_5_5] Alone
        "ABORT_REQUEST while the response streams ends the request"
        "With the echo contract, a 4 MiB response is asked for and aborted after its first STDOUT record; the request ends with exactly one END_REQUEST, counted after reading on to the close or a quiet period (a second one fails)."
        => abort_during_response;
    "abort-spares-others" [R_5_4_1, R_5_5_5, R_B_1] Alone
        "aborting one request leaves another on the connection unharmed"
        "Two requests on one connection (multiplexing applications only), the first aborted; the second is served in full, and each ends with exactly one END_REQUEST."
        => abort_spares_others;
}

async fn abort_after_begin(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"").keep(true);
    abort_at(&ctx, req.begin_bytes(), "abort after begin").await
}

async fn abort_after_params(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"").keep(true);
    let mut b = req.begin_bytes();
    b.extend(req.params_bytes());
    abort_at(&ctx, b, "abort after params").await
}

async fn abort_during_stdin(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, &varied(4096)).keep(true);
    let mut b = req.begin_bytes();
    b.extend(req.params_bytes());
    let mut half = Vec::new();
    let _ = Encoder::default().stream(
        StreamType::Stdin,
        1,
        req.stdin.get(..2048).unwrap_or_default(),
        &mut half,
    );
    b.extend(half);
    abort_at(&ctx, b, "abort during stdin").await
}

async fn abort_during_response(ctx: Ctx) -> Outcome {
    if !ctx.probed.echo {
        return Outcome::skip("needs the echo contract to ask for a long response");
    }
    let req = echo_req(&ctx, b"")
        .keep(true)
        .param("ECHO_BIG", (4usize << 20).to_string());
    let mut c = match ctx.conn("abort during response").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut c, &req.bytes()).await {
        return o;
    }
    // Wait for the first STDOUT record, then abort.
    match c.next_record().await {
        Ok(r) if r.record_type == RecordType::Stdout && r.request_id == 1 => {}
        Ok(r) if r.record_type == RecordType::EndRequest => {
            return Outcome::info("the whole response arrived before an abort could be sent")
        }
        Ok(r) => {
            return Outcome::fail(
                "STDOUT for request 1",
                format!("{} for id {}", r.record_type.name(), r.request_id),
            )
        }
        Err(e) => return Outcome::fail("STDOUT for request 1", e.to_string()),
    }
    let mut a = Vec::new();
    let _ = Encoder::default().abort_request(1, &mut a);
    if let Err(o) = send_or_fail(&mut c, &a).await {
        return o;
    }
    match c.response(1).await {
        Ok(resp) => {
            if let Some(o) = crate::app::ctx::over_bound(&resp) {
                return o;
            }
            if let Err(o) = one_end_each(&ctx, &mut c, &[1]).await {
                return o;
            }
            if let Some(v) = c.violations.first() {
                return Outcome::fail("well-formed records after the abort", v.to_string());
            }
            let full = (4usize << 20) as f64;
            Outcome::pass(format!(
                "END_REQUEST after {:.0}% of the response",
                100.0 * (resp.stdout.len() as f64) / full
            ))
        }
        Err((e, partial)) => Outcome::fail(
            "END_REQUEST after ABORT_REQUEST (R-5.4-1)",
            format!("{e} after {} STDOUT bytes", partial.stdout.len()),
        ),
    }
}

async fn abort_spares_others(ctx: Ctx) -> Outcome {
    if ctx.probed.mpxs_conns != Some(true) {
        return Outcome::skip(
            "the application does not say it multiplexes (FCGI_MPXS_CONNS is not 1)",
        );
    }
    let a = echo_req(&ctx, b"").keep(true);
    let mut b = Req::responder(2, &ctx.params, b"second body")
        .param("ECHO_ID", "2")
        .keep(true);
    b.params_record_size = std::num::NonZeroU16::new(64);
    let mut wire = a.begin_bytes();
    wire.extend(b.begin_bytes());
    wire.extend(a.params_bytes());
    let _ = Encoder::default().abort_request(1, &mut wire);
    wire.extend(b.bytes().get(b.begin_bytes().len()..).unwrap_or_default());
    let mut c = match ctx.conn("abort one of two").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut c, &wire).await {
        return o;
    }
    let resps = match c.responses(&[1, 2]).await {
        Ok(r) => r,
        Err((e, _)) => return Outcome::fail("END_REQUEST for both requests", e.to_string()),
    };
    if let Err(o) = one_end_each(&ctx, &mut c, &[1, 2]).await {
        return o;
    }
    let Some(second) = resps.get(1) else {
        return Outcome::fail("two responses", "fewer");
    };
    match well_formed(&c, second) {
        Ok(out) => {
            let o = same_as_sent(&ctx, &b, &out);
            if o.verdict == crate::case::Verdict::Pass {
                Outcome::pass("request 1 aborted and ended; request 2 served in full")
            } else {
                o
            }
        }
        Err(o) => o,
    }
}
