//! §4 Management record types: the app suite's cases.

use crate::app::ctx::Ctx;
use crate::app::ctx::{same_as_sent, well_formed};
use crate::case::{Outcome, Verdict};
use fcgi_proto::encoder::Encoder;
use fcgi_proto::management::{self};
use fcgi_proto::record::{RecordType, NULL_REQUEST_ID};

use super::helpers::*;

super::cases! {
    section "4";
    "management-nonzero-id" [R_A_3] Alone
        "what the application does with GET_VALUES carrying request id 1"
        "A web server must send management records with id 0; this one does not. Recorded: answered, ignored or closed (info)."
        => management_nonzero_id;
    "application-type-id-zero" [R_A_3] Hostile
        "what the application does with STDIN carrying request id 0"
        "A web server must send the application record types with a nonzero id; a STDIN record with id 0 comes first, then a normal request on the same connection. Recorded: whether the request is still served, and anything sent for id 0 (info); an application record (STDOUT, STDERR, END_REQUEST) answered under id 0 warns (OQ-16)."
        => application_type_id_zero;
}

async fn management_nonzero_id(ctx: Ctx) -> Outcome {
    let mut c = match ctx.conn("management id 1").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let block = management::query([management::MPXS_CONNS.as_bytes()]).unwrap_or_default();
    let mut b = Vec::new();
    let _ = Encoder::default().record(RecordType::GetValues, 1, &block, &mut b);
    if let Err(o) = send_or_fail(&mut c, &b).await {
        return o;
    }
    let what = reaction(&mut c, short(ctx.timeout)).await;
    Outcome::info(format!(
        "on GET_VALUES with request id 1 the application {what}"
    ))
}

async fn application_type_id_zero(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"after a STDIN with id 0");
    let mut wire = Vec::new();
    let _ = Encoder::default().record(RecordType::Stdin, NULL_REQUEST_ID, b"stray", &mut wire);
    wire.extend(req.bytes());
    let (c, resp) = match exchange(&ctx, &wire, req.id, "STDIN id 0").await {
        Ok(x) => x,
        Err(o) => {
            return Outcome::info(format!(
                "after STDIN with request id 0 the request was not served: {}",
                o.detail
            ))
        }
    };
    let for_zero: Vec<&str> = c
        .received
        .iter()
        .filter(|r| r.request_id == NULL_REQUEST_ID)
        .map(|r| r.record_type.name())
        .collect();
    // OQ-16: answering under id 0 with an application record breaks the
    // rule on the application's side too, although the input was illegal.
    if let Some(r) = c
        .received
        .iter()
        .find(|r| r.request_id == NULL_REQUEST_ID && !r.record_type.is_management())
    {
        return Outcome::warn(
            "no application record under request id 0 (R-A-3, OQ-16)",
            format!("{} for id 0", r.record_type.name()),
        );
    }
    let served = match well_formed(&c, &resp) {
        Ok(out) => same_as_sent(&ctx, &req, &out),
        Err(o) => o,
    };
    Outcome::info(format!(
        "after STDIN with request id 0 the request was {}; {}",
        if served.verdict == Verdict::Pass {
            "served as sent".to_string()
        } else {
            format!("not served right ({})", served.detail)
        },
        if for_zero.is_empty() {
            "nothing was sent for id 0".to_string()
        } else {
            format!("sent for id 0: {}", for_zero.join(", "))
        }
    ))
}
