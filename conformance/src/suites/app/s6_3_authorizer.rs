//! §6.3 Authorizer: the app suite's cases.

use crate::app::ctx::{well_formed, Ctx};
use crate::case::Outcome;
use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::role::Role;

use super::helpers::*;

super::cases! {
    section "6.3";
    "authorizer" [R_6_3_6, R_6_3_1, R_5_1_3] Alone
        "an Authorizer request is served with a CGI response, or refused with UNKNOWN_ROLE"
        "Role Authorizer with empty STDIN, twice: a grant, then a denial asked for (ECHO_STATUS=403, QUERY_STRING=deny); each a well-formed CGI response with a status (Variable- headers recorded), or FCGI_UNKNOWN_ROLE. Variable- headers in a response whose status is not 200 are a warning: they mean something only in a 200 (R-6.3-1), otherwise they reach the HTTP client."
        => authorizer;
}

/// What an Authorizer answered: refused the role, or a status and the
/// names of its `Variable-` headers.
enum Answer {
    Refused,
    Served(u16, Vec<String>),
}

async fn ask(ctx: &Ctx, deny: bool) -> Result<Answer, Outcome> {
    let mut req = echo_req(ctx, b"");
    if deny {
        req = req
            .param("ECHO_STATUS", "403")
            .param("QUERY_STRING", "deny");
    }
    req.role = Role::Authorizer;
    req.params
        .retain(|(n, _)| n != b"CONTENT_LENGTH" && n != b"SCRIPT_NAME");
    let label = if deny {
        "authorizer denial"
    } else {
        "authorizer"
    };
    let (c, resp) = exchange(ctx, &req.bytes(), 1, label).await?;
    if resp.end.map(|e| e.protocol_status) == Some(ProtocolStatus::UnknownRole) {
        return Ok(Answer::Refused);
    }
    let out = well_formed(&c, &resp)?;
    let vars = out
        .headers
        .iter()
        .filter(|(n, _)| {
            n.len() > 9
                && n.get(..9)
                    .is_some_and(|p| p.eq_ignore_ascii_case("Variable-"))
        })
        .map(|(n, _)| n.clone())
        .collect();
    Ok(Answer::Served(out.status, vars))
}

fn summary(status: u16, vars: &[String]) -> String {
    if vars.is_empty() {
        format!("status {status}, no Variable- header")
    } else {
        format!(
            "status {status}, {} Variable- header(s) ({})",
            vars.len(),
            vars.join(", ")
        )
    }
}

/// `Variable-` headers outside a 200 are a warning (R-6.3-1 gives them a
/// meaning only there); `None` when the answer is clean.
fn stray_variables(what: &str, status: u16, vars: &[String]) -> Option<Outcome> {
    (status != 200 && !vars.is_empty()).then(|| {
        Outcome::warn(
            "Variable- headers only in a 200 response (R-6.3-1); in any other they reach the HTTP client",
            format!("{what}: {}", summary(status, vars)),
        )
    })
}

async fn authorizer(ctx: Ctx) -> Outcome {
    let (status, vars) = match ask(&ctx, false).await {
        Ok(Answer::Refused) => {
            return Outcome::info("refuses the Authorizer role with FCGI_UNKNOWN_ROLE")
        }
        Ok(Answer::Served(s, v)) => (s, v),
        Err(o) => return o,
    };
    if let Some(o) = stray_variables("the first request", status, &vars) {
        return o;
    }
    let denial = match ask(&ctx, true).await {
        Ok(Answer::Refused) => {
            return Outcome::fail(
                "the Authorizer role served on the second request as on the first",
                "FCGI_UNKNOWN_ROLE",
            )
        }
        Ok(Answer::Served(s, v)) => {
            if let Some(o) = stray_variables("the denial asked for", s, &v) {
                return o;
            }
            if s == 200 {
                format!(
                    "the denial asked for was not made ({}), so not judged",
                    summary(s, &v)
                )
            } else {
                format!("the denial asked for: {}", summary(s, &v))
            }
        }
        Err(o) => return o,
    };
    Outcome::pass(format!("served: {}; {denial}", summary(status, &vars)))
}
