//! §4.1 FCGI_GET_VALUES, FCGI_GET_VALUES_RESULT: the app suite's cases.

use crate::app::conn::ConnError;
use crate::app::ctx::{dump_preview, same_as_sent, well_formed, Ctx};
use crate::case::{Outcome, Verdict};
use fcgi_proto::encoder::Encoder;
use fcgi_proto::management::{self};
use fcgi_proto::name_value;
use fcgi_proto::record::{RecordType, NULL_REQUEST_ID};
use tokio::time::Instant;

use super::helpers::*;

super::cases! {
    section "4.1";
    "get-values" [R_4_1_1, R_4_1_3, R_A_3] Alone
        "GET_VALUES for the three variables is answered"
        "GET_VALUES for FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS: one GET_VALUES_RESULT, request id 0, well-formed pairs, decimal values, MPXS 0 or 1."
        => get_values;
    "get-values-unknown-name" [R_4_1_2] Alone
        "unknown names are left out of GET_VALUES_RESULT"
        "GET_VALUES for an unknown name and FCGI_MPXS_CONNS; the result holds no unknown name."
        => get_values_unknown_name;
    "get-values-mid-request" [R_4_1_5] Alone
        "management records between a request's records change nothing"
        "A GET_VALUES after each record of a request: each answered or ignored, the request served alike."
        => get_values_mid_request;
    "get-values-mid-params" [R_4_1_5, R_6_2_4] Alone
        "GET_VALUES while PARAMS is still open starts nothing"
        "BEGIN_REQUEST and the PARAMS content without its empty record, then GET_VALUES (id 0), then a pause: GET_VALUES may be answered (R-4.1-5), but nothing may come for the request before PARAMS ends (R-6.2-4); then the rest, and the request is served as sent."
        => get_values_mid_params;
}

async fn get_values(ctx: Ctx) -> Outcome {
    let names: [&[u8]; 3] = [
        management::MAX_CONNS.as_bytes(),
        management::MAX_REQS.as_bytes(),
        management::MPXS_CONNS.as_bytes(),
    ];
    let (_c, block, id) = match get_values_exchange(&ctx, &names).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if id != NULL_REQUEST_ID {
        return Outcome::fail("request id 0 (R-A-3)", format!("request id {id}"));
    }
    let mut seen = Vec::new();
    for p in name_value::pairs(&block) {
        let (n, v) = match p {
            Ok(p) => p,
            Err(e) => return Outcome::fail("well-formed name-value pairs", e.to_string()),
        };
        let name = String::from_utf8_lossy(n).into_owned();
        let value = String::from_utf8_lossy(v).into_owned();
        let ok = match n {
            b"FCGI_MPXS_CONNS" => value == "0" || value == "1",
            b"FCGI_MAX_CONNS" | b"FCGI_MAX_REQS" => {
                !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
            }
            _ => true,
        };
        if !ok {
            return Outcome::fail(
                format!("{name} as a decimal value (R-4.1-3)"),
                format!("{value:?}"),
            );
        }
        seen.push(format!("{name}={value}"));
    }
    if seen.is_empty() {
        return Outcome::info("answered with an empty GET_VALUES_RESULT (knows none of the three)");
    }
    Outcome::pass(seen.join(", "))
}

async fn get_values_unknown_name(ctx: Ctx) -> Outcome {
    let names: [&[u8]; 2] = [
        b"FCGI_CONFORMANCE_NO_SUCH_NAME",
        management::MPXS_CONNS.as_bytes(),
    ];
    let (_c, block, _) = match get_values_exchange(&ctx, &names).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    for p in name_value::pairs(&block) {
        match p {
            Ok((n, v))
                if !management::KNOWN_VARIABLES
                    .iter()
                    .any(|k| k.as_bytes() == n) =>
            {
                return Outcome::fail(
                    "unknown names left out of GET_VALUES_RESULT",
                    format!("{} = {}", String::from_utf8_lossy(n), dump_preview(v)),
                )
            }
            Ok(_) => {}
            Err(e) => return Outcome::fail("well-formed name-value pairs", e.to_string()),
        }
    }
    Outcome::pass("the unknown name was left out")
}

async fn get_values_mid_request(ctx: Ctx) -> Outcome {
    let mut req = echo_req(&ctx, b"with management records");
    req.management_between = true;
    let (conn, resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let answers = conn
        .received
        .iter()
        .filter(|r| r.record_type == RecordType::GetValuesResult)
        .count();
    match well_formed(&conn, &resp) {
        Ok(out) => {
            let o = same_as_sent(&ctx, &req, &out);
            if o.verdict == crate::case::Verdict::Pass {
                Outcome::pass(format!(
                    "{}; {answers} GET_VALUES_RESULT answers received before END_REQUEST",
                    o.detail
                ))
            } else {
                o
            }
        }
        Err(o) => o,
    }
}

/// Records taken in the pause before the case stops looking.
const PAUSE_RECORDS: usize = 64;

async fn get_values_mid_params(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"GET_VALUES while PARAMS is open");
    let enc = Encoder::default();
    let mut head = begin_and_open_params(&req);
    let query = management::query([management::MPXS_CONNS.as_bytes()]).unwrap_or_default();
    let _ = enc.record(RecordType::GetValues, NULL_REQUEST_ID, &query, &mut head);
    let mut c = match ctx.conn("GET_VALUES mid-PARAMS").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut c, &head).await {
        return o;
    }
    // The same quiet period as app/6.1/output-after-params, which holds
    // PARAMS open without the GET_VALUES.
    let pause = held_open(ctx.timeout, ctx.probed.round_trip);
    let until = Instant::now() + pause;
    let mut answers: Vec<&str> = Vec::new();
    for _ in 0..PAUSE_RECORDS {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match c.next_record_within(left).await {
            Err(ConnError::Timeout) => break,
            Ok(r) if r.request_id == NULL_REQUEST_ID => answers.push(r.record_type.name()),
            Ok(r) => {
                return Outcome::fail(
                    "nothing for the request before PARAMS ends (R-6.2-4), GET_VALUES or not",
                    format!(
                        "{} for id {} after GET_VALUES, while PARAMS was still open: the request was acted on before its PARAMS ended",
                        r.record_type.name(),
                        r.request_id
                    ),
                )
            }
            Err(e) => {
                return Outcome::fail(
                    "GET_VALUES accepted while a request's PARAMS is open (R-4.1-5)",
                    e.to_string(),
                )
            }
        }
    }
    let o = end_params_and_judge(&ctx, &mut c, &req).await;
    if o.verdict != Verdict::Pass {
        return o;
    }
    let answered = if answers.is_empty() {
        "GET_VALUES not answered".to_string()
    } else {
        format!("answered with {}", answers.join(", "))
    };
    Outcome::pass(format!(
        "{answered}, and nothing for the request during a {:.2}s pause in PARAMS; then served as sent",
        pause.as_secs_f64()
    ))
}
