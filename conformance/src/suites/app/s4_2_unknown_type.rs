//! §4.2 FCGI_UNKNOWN_TYPE: the app suite's cases.

use crate::app::ctx::Ctx;
use crate::case::Outcome;
use fcgi_proto::encoder::Encoder;
use fcgi_proto::management::UnknownTypeBody;
use fcgi_proto::record::{RecordType, NULL_REQUEST_ID};

use super::helpers::*;

super::cases! {
    section "4.2";
    "unknown-type" [R_4_2_1, R_4_2_2] Alone
        "an unknown management record type is answered with UNKNOWN_TYPE"
        "A record of type 99 with request id 0; the answer is UNKNOWN_TYPE, request id 0, naming 99."
        => unknown_type;
}

async fn unknown_type(ctx: Ctx) -> Outcome {
    let mut c = match ctx.conn("unknown type").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let mut b = Vec::new();
    let _ = Encoder::default().record(
        RecordType::Unknown(99),
        NULL_REQUEST_ID,
        b"????????",
        &mut b,
    );
    if let Err(o) = send_or_fail(&mut c, &b).await {
        return o;
    }
    match c.next_record().await {
        Ok(r) if r.record_type == RecordType::UnknownType => {
            if r.request_id != NULL_REQUEST_ID {
                return Outcome::fail(
                    "UNKNOWN_TYPE with request id 0",
                    format!("request id {}", r.request_id),
                );
            }
            match UnknownTypeBody::parse(&r.content, 0) {
                Ok(b) if b.record_type == 99 => Outcome::pass("UNKNOWN_TYPE naming type 99"),
                Ok(b) => Outcome::fail(
                    "UNKNOWN_TYPE naming type 99",
                    format!("naming type {}", b.record_type),
                ),
                Err(e) => Outcome::fail("an 8-byte UNKNOWN_TYPE body (R-4.2-2)", e.to_string()),
            }
        }
        Ok(r) => Outcome::fail(
            "UNKNOWN_TYPE",
            format!("{} for id {}", r.record_type.name(), r.request_id),
        ),
        Err(e) => Outcome::fail("UNKNOWN_TYPE", e.to_string()),
    }
}
