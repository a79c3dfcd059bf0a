//! §6.3 Authorizer: the app suite's cases.

use crate::app::ctx::{well_formed, Ctx};
use crate::case::Outcome;
use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::role::Role;

use super::helpers::*;

super::cases! {
    section "6.3";
    "authorizer" ["R-6.3-6", "R-5.1-3"] Plain
        "an Authorizer request is served with a CGI response, or refused with UNKNOWN_ROLE"
        "Role Authorizer with empty STDIN; a well-formed CGI response with a status (Variable- headers recorded), or FCGI_UNKNOWN_ROLE."
        => authorizer;
}

async fn authorizer(ctx: Ctx) -> Outcome {
    let mut req = echo_req(&ctx, b"");
    req.role = Role::Authorizer;
    req.params
        .retain(|(n, _)| n != b"CONTENT_LENGTH" && n != b"SCRIPT_NAME");
    let (c, resp) = match exchange(&ctx, &req.bytes(), 1, "authorizer").await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if resp.end.map(|e| e.protocol_status) == Some(ProtocolStatus::UnknownRole) {
        return Outcome::info("refuses the Authorizer role with FCGI_UNKNOWN_ROLE");
    }
    match well_formed(&c, &resp) {
        Ok(out) => {
            let vars: Vec<String> = out
                .headers
                .iter()
                .filter(|(n, _)| {
                    n.len() > 9
                        && n.get(..9)
                            .is_some_and(|p| p.eq_ignore_ascii_case("Variable-"))
                })
                .map(|(n, _)| n.clone())
                .collect();
            Outcome::pass(format!(
                "served: status {}, {} Variable- header(s){}",
                out.status,
                vars.len(),
                if vars.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", vars.join(", "))
                }
            ))
        }
        Err(o) => o,
    }
}
