//! §6.4 Filter: the app suite's cases.

use crate::app::ctx::{well_formed, Ctx};
use crate::app::request::parse_echo;
use crate::case::Outcome;
use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::role::Role;

use super::helpers::*;

super::cases! {
    section "6.4";
    "filter" ["R-6.4-1", "R-6.4-2", "R-6.4-7", "R-5.1-3"] Plain
        "a Filter request with DATA is served, or refused with UNKNOWN_ROLE"
        "Role Filter with STDIN, then DATA, FCGI_DATA_LENGTH and FCGI_DATA_LAST_MOD; a well-formed CGI response (with the echo contract, the data comes back) or FCGI_UNKNOWN_ROLE."
        => filter;
}

async fn filter(ctx: Ctx) -> Outcome {
    let data = varied(3000);
    let mut req = echo_req(&ctx, b"filter stdin")
        .param("FCGI_DATA_LENGTH", data.len().to_string())
        .param("FCGI_DATA_LAST_MOD", "1700000000");
    req.role = Role::Filter;
    req.data = Some(data.clone());
    let (c, resp) = match exchange(&ctx, &req.bytes(), 1, "filter").await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if resp.end.map(|e| e.protocol_status) == Some(ProtocolStatus::UnknownRole) {
        return Outcome::info("refuses the Filter role with FCGI_UNKNOWN_ROLE");
    }
    let out = match well_formed(&c, &resp) {
        Ok(o) => o,
        Err(o) => return o,
    };
    if !ctx.probed.echo {
        return Outcome::pass(format!("served: status {}", out.status));
    }
    match parse_echo(&out.body) {
        Some(e) => match e.data {
            Some(d) if d == data => Outcome::pass("served; FCGI_DATA came back unchanged"),
            Some(d) => Outcome::fail(
                format!("{} DATA bytes echoed", data.len()),
                format!("{} bytes", d.len()),
            ),
            None => Outcome::pass(format!(
                "served: status {} (the echo does not cover DATA)",
                out.status
            )),
        },
        None => Outcome::pass(format!(
            "served: status {} (body not in the echo form)",
            out.status
        )),
    }
}
