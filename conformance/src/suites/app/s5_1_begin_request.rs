//! §5.1 FCGI_BEGIN_REQUEST: the app suite's cases.

use crate::app::conn::Conn;
use crate::app::ctx::{same_as_sent, well_formed, Ctx};
use crate::case::Outcome;
use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::role::Role;

use super::helpers::*;

super::cases! {
    section "5.1";
    "unknown-role" [R_5_1_3, R_3_5_1, R_5_1_2] Alone
        "an unknown role is refused with FCGI_UNKNOWN_ROLE"
        "BEGIN_REQUEST with role 99 and FCGI_KEEP_CONN clear; the answer is END_REQUEST with FCGI_UNKNOWN_ROLE and no STDOUT, not a dropped connection, and then the application closes the connection (R-3.5-1), within the timeout."
        => unknown_role;
    "keep-conn" [R_5_1_2, R_3_3_8] Plain
        "with FCGI_KEEP_CONN a second request is served on the same connection"
        "Two requests one after the other on one connection, both with FCGI_KEEP_CONN and the same id; both served, the connection stays open."
        => keep_conn;
    "reserved-flags" [R_5_1_7] Alone
        "unknown flag bits and reserved BEGIN_REQUEST bytes are ignored"
        "BEGIN_REQUEST with flags 0xfe (KEEP_CONN clear) and nonzero reserved bytes; the request is served alike (a SHOULD: a difference is a warning)."
        => reserved_flags;
    "begin-active-id" [R_5_1_6] Hostile
        "what the application does with a second BEGIN_REQUEST for an active id"
        "The web server breaks R-5.1-6; the application's reaction is recorded (info), and it must still serve a fresh connection."
        => begin_active_id;
}

async fn unknown_role(ctx: Ctx) -> Outcome {
    let mut req = ctx.req(1, b"");
    req.role = Role::Unknown(99);
    let mut c = match ctx.conn("unknown role").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut c, &req.bytes()).await {
        return o;
    }
    match c.response(1).await {
        Ok(resp) => match resp.end.map(|e| e.protocol_status) {
            Some(ProtocolStatus::UnknownRole) if resp.stdout.is_empty() => {
                closed_after_refusal(&ctx, &mut c).await
            }
            Some(ProtocolStatus::UnknownRole) => Outcome::fail(
                "FCGI_UNKNOWN_ROLE without serving",
                format!("{} STDOUT bytes before the refusal", resp.stdout.len()),
            ),
            Some(s) => Outcome::fail(
                "END_REQUEST with FCGI_UNKNOWN_ROLE",
                format!(
                    "protocolStatus {}({}), {} STDOUT bytes",
                    s.name(),
                    s.code(),
                    resp.stdout.len()
                ),
            ),
            None => Outcome::fail("END_REQUEST with FCGI_UNKNOWN_ROLE", "none"),
        },
        Err((e, partial)) => Outcome::fail(
            "END_REQUEST with FCGI_UNKNOWN_ROLE",
            format!("{e} ({} STDOUT bytes)", partial.stdout.len()),
        ),
    }
}

/// The refusal finished a request whose FCGI_KEEP_CONN was clear: the
/// application closes the connection (R-3.5-1, R-5.1-2), within the timeout.
async fn closed_after_refusal(ctx: &Ctx, c: &mut Conn) -> Outcome {
    let closed = read_on(c, ctx.timeout, ctx.timeout).await;
    if let Some(v) = c.violations.first() {
        return Outcome::fail("well-formed records after the refusal", v.to_string());
    }
    if closed {
        Outcome::pass("END_REQUEST with FCGI_UNKNOWN_ROLE, then the connection closed")
    } else {
        Outcome::fail(
            "the connection closed after the refusal of a request without FCGI_KEEP_CONN (R-3.5-1)",
            format!(
                "still open {:.2}s after END_REQUEST",
                ctx.timeout.as_secs_f64()
            ),
        )
    }
}

async fn keep_conn(ctx: Ctx) -> Outcome {
    let mut c = match ctx.conn("keep-conn").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    for round in 1..=2 {
        let req = echo_req(&ctx, format!("round {round}").as_bytes()).keep(true);
        if let Err(e) = c.send(&req.bytes()).await {
            return Outcome::fail(
                format!("request {round} accepted on the kept connection"),
                e.to_string(),
            );
        }
        let resp = match c.response(1).await {
            Ok(r) => r,
            Err((e, partial)) => {
                return Outcome::fail(
                    format!("END_REQUEST for request {round} on the kept connection"),
                    format!("{e} ({} STDOUT bytes)", partial.stdout.len()),
                )
            }
        };
        match well_formed(&c, &resp) {
            Ok(out) => {
                let o = same_as_sent(&ctx, &req, &out);
                if o.verdict != crate::case::Verdict::Pass {
                    return o;
                }
            }
            Err(o) => return o,
        }
    }
    Outcome::pass("two requests served on one kept connection, id 1 reused")
}

async fn reserved_flags(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"reserved flags");
    let mut wire = req.bytes();
    // BEGIN_REQUEST is the first record: flags at byte 10, reserved 11..16.
    if let Some(b) = wire.get_mut(10) {
        *b = 0xfe;
    }
    if let Some(r) = wire.get_mut(11..16) {
        r.copy_from_slice(&[1, 2, 3, 4, 5]);
    }
    soften(send_and_judge(&ctx, &req, &wire, "reserved flags").await)
}

async fn begin_active_id(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"").keep(true);
    let mut wire = req.begin_bytes();
    wire.extend(req.begin_bytes());
    match hostile(&ctx, &wire, true).await {
        Ok(what) => Outcome::info(format!(
            "on a second BEGIN_REQUEST for active id 1 the application {what}"
        )),
        Err(o) => o,
    }
}
