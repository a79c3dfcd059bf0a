//! §6.1 Role protocols: the app suite's cases.

use crate::app::conn::ConnError;
use crate::app::ctx::{same_as_sent, well_formed, Ctx};
use crate::case::{Outcome, Verdict};
use fcgi_proto::encoder::Encoder;
use fcgi_proto::stream::StreamType;

use super::helpers::*;

super::cases! {
    section "6.1";
    "output-after-params" [R_6_2_4] Alone
        "no output before PARAMS has ended"
        "BEGIN_REQUEST and the PARAMS content without its empty record, then a pause: nothing may come for the request before PARAMS ends (R-6.2-4); then the rest, and the request is served as sent."
        => output_after_params;
    "stdin-before-params-end" [R_6_1_2] Hostile
        "what the application does with STDIN sent before PARAMS has ended"
        "A web server sends PARAMS, then STDIN, each ended before the next (R-6.1-2); here the STDIN content comes before PARAMS' empty record. Recorded: served as sent, served otherwise, refused or closed (info)."
        => stdin_before_params_end;
}

async fn output_after_params(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"after a pause in PARAMS");
    let head = begin_and_open_params(&req);
    let mut c = match ctx.conn("params held open").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut c, &head).await {
        return o;
    }
    let pause = held_open(ctx.timeout, ctx.probed.round_trip);
    match c.next_record_within(pause).await {
        Err(ConnError::Timeout) => {}
        Ok(r) => {
            return Outcome::fail(
                "nothing for the request before PARAMS ends (R-6.2-4)",
                format!(
                    "{} for id {} while PARAMS was still open",
                    r.record_type.name(),
                    r.request_id
                ),
            )
        }
        Err(e) => {
            return Outcome::fail(
                "the connection kept open while PARAMS is still arriving",
                e.to_string(),
            )
        }
    }
    let o = end_params_and_judge(&ctx, &mut c, &req).await;
    if o.verdict == Verdict::Pass {
        return Outcome::pass(format!(
            "nothing sent during a {:.2}s pause in PARAMS; then served as sent",
            pause.as_secs_f64()
        ));
    }
    o
}

async fn stdin_before_params_end(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"stdin first");
    let mut wire = begin_and_open_params(&req);
    let (body, end) = req.stdin_parts();
    wire.extend(body);
    let _ = Encoder::default().end_stream(StreamType::Params, req.id, &mut wire);
    wire.extend(end);
    match exchange(&ctx, &wire, req.id, "stdin before params end").await {
        Ok((c, resp)) => {
            let status = resp
                .end
                .map(|e| e.protocol_status.name().to_string())
                .unwrap_or_default();
            let o = match well_formed(&c, &resp) {
                Ok(out) => same_as_sent(&ctx, &req, &out),
                Err(o) => o,
            };
            Outcome::info(if o.verdict == Verdict::Pass {
                format!("served as sent ({status})")
            } else {
                format!("ended ({status}) but not as sent: {}", o.detail)
            })
        }
        Err(o) => Outcome::info(format!("not served: {}", o.detail)),
    }
}
