//! §6.4 Filter: the app suite's cases.

use crate::app::conn::ConnError;
use crate::app::ctx::{no_end, well_formed, Ctx};
use crate::app::request::parse_echo;
use crate::case::Outcome;
use fcgi_proto::application::{EndRequestBody, ProtocolStatus};
use fcgi_proto::record::RecordType;
use fcgi_proto::role::Role;
use tokio::time::Instant;

use super::helpers::*;

super::cases! {
    section "6.4";
    "filter" [R_6_4_1, R_6_4_2, R_6_4_5, R_6_4_7, R_5_1_3] Alone
        "a Filter request with DATA is served, or refused with UNKNOWN_ROLE"
        "Role Filter with STDIN and FCGI_DATA_LENGTH and FCGI_DATA_LAST_MOD; FCGI_DATA follows only once the application has read the end of STDIN without ending the request: after its answer to a GET_VALUES sent behind STDIN (a pause of a quarter of the timeout for a target that does not answer GET_VALUES there). A well-formed CGI response ended after the DATA was sent (with the echo contract, the data comes back), or FCGI_UNKNOWN_ROLE. A request ended before any DATA was sent fails with the echo contract (the answer cannot carry the data; a Filter that does not read it refuses the role, R-5.1-3) and is info without it (answered from a cache, R-6.4-5)."
        => filter;
    "filter-data-length" [R_6_4_6] Alone
        "what a Filter does when FCGI_DATA is shorter than FCGI_DATA_LENGTH"
        "Role Filter with FCGI_DATA_LENGTH 3000 but 1000 bytes of FCGI_DATA, all sent at once: refused, or served with some status, and how much data the answer says it got (info; the comparison is a SHOULD whose answer only the application can judge, R-6.4-6)."
        => filter_data_length;
}

async fn filter(ctx: Ctx) -> Outcome {
    let data = varied(3000);
    let mut req = echo_req(&ctx, b"filter stdin")
        .param("FCGI_DATA_LENGTH", data.len().to_string())
        .param("FCGI_DATA_LAST_MOD", "1700000000");
    req.role = Role::Filter;
    req.data = Some(data.clone());
    let mut c = match ctx.conn("filter").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let mut head = req.begin_bytes();
    head.extend(req.params_bytes());
    let (body, end) = req.stdin_parts();
    head.extend(body);
    head.extend(end);
    if let Err(o) = send_or_fail(&mut c, &head).await {
        return o;
    }
    // The Filter reads FCGI_DATA after STDIN (R-6.4-1): hold it back to
    // see whether the request is ended without it. Where the target
    // answers GET_VALUES after request records, one sent behind STDIN is
    // the barrier: an answer to it before any END_REQUEST means the end of
    // STDIN was read and the request left open. Otherwise, a pause.
    // Output before the data is allowed (R-6.4-4); only the end is judged.
    let pause = short(ctx.timeout).min(ctx.timeout);
    let barrier = ctx.probed.barrier && c.send(&crate::app::conn::barrier_bytes()).await.is_ok();
    let until = Instant::now() + if barrier { ctx.timeout } else { pause };
    let early: Option<EndRequestBody> = loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break None;
        }
        match c.next_record_within(left).await {
            Ok(r) if r.record_type == RecordType::EndRequest && r.request_id == 1 => {
                break response_from(&c, 1).end;
            }
            Ok(r) if barrier && r.record_type == RecordType::GetValuesResult => break None,
            Ok(_) => {}
            Err(ConnError::Timeout) => break None,
            Err(e) => return no_end(1, &e, &response_from(&c, 1)),
        }
    };
    if let Some(e) = early {
        let when = if barrier {
            "before its answer to a GET_VALUES sent behind STDIN".to_string()
        } else {
            format!("within {:.2}s of the end of STDIN", pause.as_secs_f64())
        };
        return ended_before_data(&ctx, e, &when);
    }
    if let Err(o) = send_or_fail(&mut c, &req.data_bytes()).await {
        return o;
    }
    if let Err((e, _)) = c.response(1).await {
        return no_end(1, &e, &response_from(&c, 1));
    }
    let resp = response_from(&c, 1);
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
    match parse_echo(out.body) {
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

/// The request ended while FCGI_DATA was still held back.
fn ended_before_data(ctx: &Ctx, e: EndRequestBody, when: &str) -> Outcome {
    let what = format!(
        "END_REQUEST {}({}) {when}, before any FCGI_DATA was sent",
        e.protocol_status.name(),
        e.protocol_status.code(),
    );
    match e.protocol_status {
        ProtocolStatus::UnknownRole => {
            Outcome::info("refuses the Filter role with FCGI_UNKNOWN_ROLE")
        }
        _ if ctx.probed.echo => Outcome::fail(
            "a Filter that reads FCGI_DATA, sent after STDIN (R-6.4-1), before it ends the request: with the echo contract the answer carries the data; a Filter that does not read it refuses the role (FCGI_UNKNOWN_ROLE, R-5.1-3)",
            what,
        ),
        _ => Outcome::info(format!(
            "{what}: answered without the file data, as a Filter may from its cache (R-6.4-5)"
        )),
    }
}

async fn filter_data_length(ctx: Ctx) -> Outcome {
    let mut req = echo_req(&ctx, b"filter stdin")
        .param("FCGI_DATA_LENGTH", "3000")
        .param("FCGI_DATA_LAST_MOD", "1700000000");
    req.role = Role::Filter;
    req.data = Some(varied(1000));
    let (c, resp) = match exchange(&ctx, &req.bytes(), req.id, "short data").await {
        Ok(x) => x,
        Err(o) => return Outcome::info(format!("not ended: {}", o.detail)),
    };
    if resp.end.map(|e| e.protocol_status) == Some(ProtocolStatus::UnknownRole) {
        return Outcome::info("refuses the Filter role with FCGI_UNKNOWN_ROLE");
    }
    let out = match well_formed(&c, &resp) {
        Ok(o) => o,
        Err(o) => return Outcome::info(format!("ended, but: {}", o.detail)),
    };
    let matches = out
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-data-length-matches"))
        .map(|(_, v)| format!("; X-Data-Length-Matches: {}", String::from_utf8_lossy(v)))
        .unwrap_or_default();
    let data = match parse_echo(out.body).and_then(|e| e.data) {
        Some(d) => format!("the echo shows {} DATA bytes", d.len()),
        None => "the answer shows no DATA".to_string(),
    };
    Outcome::info(format!(
        "with 1000 of 3000 announced DATA bytes: status {}, {data}{matches}",
        out.status
    ))
}
