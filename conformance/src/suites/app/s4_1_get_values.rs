//! §4.1 FCGI_GET_VALUES, FCGI_GET_VALUES_RESULT: the app suite's cases.

use crate::app::ctx::{dump_preview, same_as_sent, well_formed, Ctx};
use crate::case::Outcome;
use fcgi_proto::management::{self};
use fcgi_proto::name_value;
use fcgi_proto::record::{RecordType, NULL_REQUEST_ID};

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
