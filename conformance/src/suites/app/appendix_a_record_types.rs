//! §A Appendix A: the properties of the record types: the app suite's cases.

use crate::app::ctx::{well_formed, Ctx};
use crate::case::Outcome;
use fcgi_proto::record::RecordType;

use super::helpers::*;

super::cases! {
    section "A";
    "direction" [R_A_1] Plain
        "the application sends only the application's record types"
        "A request with a 3000-byte body: every record that comes back is STDOUT, STDERR, END_REQUEST, GET_VALUES_RESULT or UNKNOWN_TYPE, never a type only the web server sends (R-A-1)."
        => direction;
}

/// The types appendix A gives the application to send.
fn applications(t: RecordType) -> bool {
    matches!(
        t,
        RecordType::Stdout
            | RecordType::Stderr
            | RecordType::EndRequest
            | RecordType::GetValuesResult
            | RecordType::UnknownType
    )
}

async fn direction(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, &varied(3000));
    let (c, resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if let Some(r) = c.received.iter().find(|r| !applications(r.record_type)) {
        return Outcome::fail(
            "only STDOUT, STDERR, END_REQUEST, GET_VALUES_RESULT and UNKNOWN_TYPE from the application (R-A-1)",
            format!("{} for id {}", r.record_type.name(), r.request_id),
        );
    }
    if let Err(o) = well_formed(&c, &resp) {
        return o;
    }
    let mut types: Vec<&str> = c.received.iter().map(|r| r.record_type.name()).collect();
    types.dedup();
    Outcome::pass(format!(
        "{} records, of the application's types only ({})",
        c.received.len(),
        types.join(", ")
    ))
}
