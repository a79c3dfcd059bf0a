//! §8 Types and constants: the app suite's cases.

use crate::app::conn::Conn;
use crate::app::ctx::Ctx;
use crate::case::Outcome;
use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::encoder::Encoder;
use fcgi_proto::record::{RecordType, NULL_REQUEST_ID};

use super::helpers::*;

super::cases! {
    section "8";
    "unknown-application-type" [R_8_3, R_A_3] Alone
        "a record of undefined type 20 for an active request"
        "A record of type 20 with the request's id between PARAMS and STDIN: answered with UNKNOWN_TYPE, ignored, or refused (info); the request must still be served or refused, not hang. An UNKNOWN_TYPE answer, being a management record, carries request id 0: any other id fails (R-A-3)."
        => unknown_application_type;
    "type-zero" [R_8_3, R_A_3] Alone
        "a record of undefined type 0 for an active request"
        "The same with type 0, the one undefined value below the defined types: answered with UNKNOWN_TYPE, ignored, or refused (info); the request must still be served or refused. An UNKNOWN_TYPE under any id but 0 fails (R-A-3)."
        => type_zero;
}

async fn unknown_application_type(ctx: Ctx) -> Outcome {
    undefined_type(ctx, 20).await
}

async fn type_zero(ctx: Ctx) -> Outcome {
    undefined_type(ctx, 0).await
}

/// A record of the undefined type `t` with the request's id between PARAMS
/// and STDIN: what the application does with it, and whether the request
/// is still served or refused.
async fn undefined_type(ctx: Ctx, t: u8) -> Outcome {
    let req = echo_req(&ctx, format!("with a type-{t} record").as_bytes());
    let mut wire = req.begin_bytes();
    wire.extend(req.params_bytes());
    let _ = Encoder::default().record(RecordType::Unknown(t), 1, b"?", &mut wire);
    let (body, end) = req.stdin_parts();
    wire.extend(body);
    wire.extend(end);
    let mut c = match ctx.conn(&format!("type {t}")).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut c, &wire).await {
        return o;
    }
    let answered = |c: &Conn| {
        c.received
            .iter()
            .any(|r| r.record_type == RecordType::UnknownType)
    };
    let response = c.response(1).await;
    // A management record under a request's id breaks R-A-3, a MUST,
    // whatever else the application did with the type.
    if let Some(r) = c
        .received
        .iter()
        .find(|r| r.record_type == RecordType::UnknownType && r.request_id != NULL_REQUEST_ID)
    {
        return Outcome::fail(
            "UNKNOWN_TYPE, a management record, with request id 0 (R-A-3)",
            format!("UNKNOWN_TYPE with request id {}", r.request_id),
        );
    }
    match response {
        Ok(resp) => Outcome::info(format!(
            "request {} ({}); {}",
            match resp.end.map(|e| e.protocol_status) {
                Some(ProtocolStatus::RequestComplete) => "served",
                Some(_) => "refused",
                None => "not ended",
            },
            if answered(&c) {
                "the type was answered with UNKNOWN_TYPE"
            } else {
                "no UNKNOWN_TYPE was sent"
            },
            match c.violations.first() {
                Some(v) => format!("violation: {v}"),
                None => "no violation".to_string(),
            }
        )),
        Err((e, _)) => Outcome::info(format!(
            "the request was not answered ({e}){}",
            if answered(&c) {
                " after an UNKNOWN_TYPE"
            } else {
                ""
            }
        )),
    }
}
