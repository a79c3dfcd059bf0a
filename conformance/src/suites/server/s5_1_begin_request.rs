//! §5.1 FCGI_BEGIN_REQUEST: the server suite's cases.

use crate::case::Outcome;
use fcgi_proto::application::{ProtocolStatus, FLAG_KEEP_CONN};
use fcgi_proto::record::RecordType;
use fcgi_proto::role::Role;

use super::helpers::*;

super::cases! {
    section "5.1";
    "begin-request" [R_5_1_1, R_5_1_4, R_5_1_5, R_5_1_7] Plain
        "BEGIN_REQUEST first, 8-byte body, Responder role, defined flags only"
        "A GET: the request's first record is BEGIN_REQUEST with an 8-byte body, role RESPONDER (1); flag bits other than FCGI_KEEP_CONN and the reserved bytes zero (warn otherwise)."
        => begin_request;
    "unknown-role" [R_5_1_3, R_5_5_6, R_5_1_4] Alone
        "An FCGI_UNKNOWN_ROLE answer"
        "The application refuses with FCGI_UNKNOWN_ROLE: the client gets a 5xx; a 2xx is a warning. The refusal counts only if it was really sent: a request whose BEGIN_REQUEST never arrived whole, or whose connection closed before the refusal could go out, fails whatever the client got."
        => unknown_role;
}

async fn begin_request(ctx: &mut Ctx) -> Outcome {
    let (seen, resp, body) = simple_get(ctx, "begin-request").await;
    let s = match usable(&seen, "GET /begin-request", &resp) {
        Ok(s) => s,
        Err(o) => return o,
    };
    if s.records.first().map(|r| r.0) != Some(RecordType::BeginRequest) {
        return Outcome::fail(
            "BEGIN_REQUEST as the request's first record (R-5.1-4)",
            format!("{:?}", s.records.first()),
        );
    }
    if s.role != Some(Role::Responder) {
        return Outcome::fail("role RESPONDER (1)", format!("{:?}", s.role));
    }
    let b = &s.begin_body;
    let flags = b.get(2).copied().unwrap_or(0);
    let reserved_zero = b.get(3..8).is_some_and(|r| r.iter().all(|&x| x == 0));
    if let Some(o) = expect_body(&resp, 200, &body) {
        return o;
    }
    if flags & !FLAG_KEEP_CONN != 0 || !reserved_zero {
        return Outcome::warn(
            "flag bits other than FCGI_KEEP_CONN and the 5 reserved bytes zero (R-5.1-7)",
            format!("body {b:02x?}"),
        );
    }
    Outcome::pass(format!(
        "BEGIN_REQUEST id {} role RESPONDER flags {flags:#04x}",
        s.id
    ))
}

async fn unknown_role(ctx: &mut Ctx) -> Outcome {
    refusal(ctx, ProtocolStatus::UnknownRole).await
}
