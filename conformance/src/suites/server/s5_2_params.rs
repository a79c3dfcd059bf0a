//! §5.2 Name-value pair stream: FCGI_PARAMS: the server suite's cases.

use crate::case::Outcome;
use crate::server::http::HttpRequest;

use super::helpers::*;

super::cases! {
    section "5.2";
    "params-terminated" [R_5_2_1, R_5_2_2, R_3_4_4] Plain
        "PARAMS is well-formed and ended by an empty record"
        "A GET: the PARAMS stream decodes as name-value pairs and ends with an empty PARAMS record."
        => params_terminated;
    "params-duplicates" [R_5_2_2] Plain
        "Whether the server sends a name twice"
        "A GET with the header X-Dup twice (values one and two): the HTTP_X_DUP params the server sends, and whether any name appears twice in PARAMS (info)."
        => params_duplicates;
}

async fn params_terminated(ctx: &mut Ctx) -> Outcome {
    let (seen, resp, body) = simple_get(ctx, "params-terminated").await;
    let Some(s) = &seen else {
        return no_request("GET /params-terminated", &resp);
    };
    if let Some(o) = violation(s) {
        return o;
    }
    if !s.params_ended {
        return Outcome::fail(
            "PARAMS ended by an empty PARAMS record (R-5.2-1)",
            format!(
                "no empty PARAMS record within the timeout: {}",
                s.describe()
            ),
        );
    }
    if let Some(o) = expect_body(&resp, 200, &body) {
        return o;
    }
    Outcome::pass(format!(
        "{} pairs in {} PARAMS records, the last empty",
        s.params.len(),
        s.params_records
    ))
}

async fn params_duplicates(ctx: &mut Ctx) -> Outcome {
    let mut req = HttpRequest::get(path("params-duplicates"));
    req.headers.push(("X-Dup".into(), "one".into()));
    req.headers.push(("X-Dup".into(), "two".into()));
    let (seen, resp) = ctx
        .exchange(req, |app, s| app.respond(s, &ok_response(b"dup\n")))
        .await;
    let s = match usable(&seen, "GET /params-duplicates", &resp) {
        Ok(s) => s,
        Err(o) => return o,
    };
    if let Some(o) = expect_body(&resp, 200, b"dup\n") {
        return o;
    }
    let dups: Vec<String> = s
        .params
        .iter()
        .filter(|(n, _, _)| n.as_slice() == b"HTTP_X_DUP")
        .map(|(_, v, _)| format!("{:?}", String::from_utf8_lossy(v)))
        .collect();
    let mut names: Vec<&[u8]> = s.params.iter().map(|(n, _, _)| n.as_slice()).collect();
    names.sort_unstable();
    let twice: Vec<String> = names
        .windows(2)
        .filter_map(|w| match w {
            [a, b] if a == b => Some(String::from_utf8_lossy(a).into_owned()),
            _ => None,
        })
        .collect();
    Outcome::info(format!(
        "HTTP_X_DUP sent {} time(s): {}; {}",
        dups.len(),
        if dups.is_empty() {
            "none".to_string()
        } else {
            dups.join(", ")
        },
        if twice.is_empty() {
            "no name appears twice in PARAMS".to_string()
        } else {
            format!("names sent twice: {}", twice.join(", "))
        }
    ))
}
