//! §6.2 Responder: the server suite's cases.

use crate::case::Outcome;
use crate::server::http::HttpRequest;

use super::helpers::*;

super::cases! {
    section "6.2";
    "meta-variables" [R_6_2_7] Plain
        "The CGI/1.1 meta-variables a Responder needs"
        "GET with a query string and a custom header: REQUEST_METHOD, QUERY_STRING, SERVER_PROTOCOL, GATEWAY_INTERFACE, SCRIPT_NAME, SERVER_NAME, SERVER_PORT, REMOTE_ADDR and HTTP_X_CONFORMANCE present and right (warn for each missing)."
        => meta_variables;
    "content-length" [R_6_2_3, R_6_2_7] Plain
        "CONTENT_LENGTH equals the bytes sent on STDIN"
        "A POST of 1000 bytes: CONTENT_LENGTH is \"1000\" and exactly 1000 bytes arrive on STDIN."
        => content_length;
    "status-location" [R_6_1_8] Plain
        "A Location header without Status becomes a redirect"
        "The application answers with only `Location: http://example.invalid/elsewhere` and no Status (a CGI client redirect, RFC 3875 §6.2.3): the client gets 302 with that Location; another 3xx with it warns."
        => status_location;
    "chunked-body" [R_6_2_3, R_6_2_7] Plain
        "A chunked request body: CONTENT_LENGTH and STDIN"
        "A POST of 2500 bytes with Transfer-Encoding: chunked and no Content-Length: STDIN carries exactly those bytes and CONTENT_LENGTH is \"2500\" (CGI/1.1 §4.1.2: set whenever there is a body, the decimal length); a missing or other CONTENT_LENGTH fails; a 411 Length Required instead of forwarding is info."
        => chunked_body;
}

async fn meta_variables(ctx: &mut Ctx) -> Outcome {
    let body = b"meta\n".to_vec();
    let mut req = HttpRequest::get(format!("{}?a=1&b=two", path("meta-variables")));
    req.headers.push(("X-Conformance".into(), "yes".into()));
    let (seen, resp) = ctx
        .exchange(req, |app, s| app.respond(s, &ok_response(b"meta\n")))
        .await;
    let s = match usable(&seen, "GET /meta-variables", &resp) {
        Ok(s) => s,
        Err(o) => return o,
    };
    if let Some(o) = expect_body(&resp, 200, &body) {
        return o;
    }
    let mut missing = Vec::new();
    let want_eq = [
        ("REQUEST_METHOD", "GET"),
        ("QUERY_STRING", "a=1&b=two"),
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("HTTP_X_CONFORMANCE", "yes"),
    ];
    for (n, v) in want_eq {
        match s.param_str(n) {
            Some(got) if got == v => {}
            Some(got) => missing.push(format!("{n}={got:?} (want {v:?})")),
            None => missing.push(format!("{n} missing")),
        }
    }
    match s.param_str("SERVER_PROTOCOL") {
        Some(p) if p.starts_with("HTTP/1.") => {}
        other => missing.push(format!("SERVER_PROTOCOL {other:?}")),
    }
    for n in ["SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR"] {
        if s.param(n).is_none() {
            missing.push(format!("{n} missing"));
        }
    }
    if !missing.is_empty() {
        return Outcome::warn(
            "the CGI/1.1 meta-variables of RFC 3875 §4.1 (R-6.2-7)",
            missing.join(", "),
        );
    }
    Outcome::pass(format!(
        "{} params, the CGI/1.1 set present and right",
        s.params.len()
    ))
}

async fn content_length(ctx: &mut Ctx) -> Outcome {
    let body = vec![b'x'; 1000];
    let (seen, resp) = ctx
        .exchange(HttpRequest::post(path("content-length"), body), |app, s| {
            app.respond(s, &ok_response(b"ok\n"))
        })
        .await;
    let s = match usable(&seen, "POST /content-length", &resp) {
        Ok(s) => s,
        Err(o) => return o,
    };
    let cl = s.param_str("CONTENT_LENGTH");
    if cl.as_deref() != Some("1000") {
        return Outcome::fail("CONTENT_LENGTH \"1000\"", format!("{cl:?}"));
    }
    if s.stdin.len() != 1000 {
        return Outcome::fail(
            "1000 bytes on STDIN, as CONTENT_LENGTH says (R-6.2-3)",
            format!("{} bytes", s.stdin.len()),
        );
    }
    if let Some(o) = expect_body(&resp, 200, b"ok\n") {
        return o;
    }
    Outcome::pass("CONTENT_LENGTH 1000, 1000 STDIN bytes")
}

/// Where the status-location case redirects to: an absolute URI, so that
/// the answer is a client redirect, not a local one (RFC 3875 §6.2.2).
const ELSEWHERE: &str = "http://example.invalid/elsewhere";

async fn status_location(ctx: &mut Ctx) -> Outcome {
    let head = format!("Location: {ELSEWHERE}\r\n\r\n").into_bytes();
    let (seen, resp) = ctx
        .exchange(HttpRequest::get(path("status-location")), |app, s| {
            app.respond(s, &head)
        })
        .await;
    if let Err(o) = usable(&seen, "GET /status-location", &resp) {
        return o;
    }
    let r = match &resp {
        Ok(r) => r,
        Err(e) => return Outcome::fail("an HTTP response", e.clone()),
    };
    let location = r.header("location").unwrap_or_default().to_string();
    match (r.status, location == ELSEWHERE) {
        (302, true) => Outcome::pass(format!("302 with Location {location}")),
        (300..=399, true) => Outcome::warn(
            "302 Found for a CGI client redirect (RFC 3875 §6.2.3)",
            format!("{} with Location {location}", r.status),
        ),
        _ => Outcome::fail(
            format!("302 with Location {ELSEWHERE} (R-6.1-8)"),
            format!(
                "HTTP {}{}",
                r.status,
                if location.is_empty() {
                    ", no Location".to_string()
                } else {
                    format!(", Location {location}")
                }
            ),
        ),
    }
}

async fn chunked_body(ctx: &mut Ctx) -> Outcome {
    let body: Vec<u8> = (0..2500u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut req = HttpRequest::post(path("chunked-body"), body.clone());
    req.headers
        .push(("Transfer-Encoding".into(), "chunked".into()));
    let (seen, resp) = ctx
        .exchange(req, |app, s| app.respond(s, &ok_response(b"chunked\n")))
        .await;
    if seen.is_none() {
        if let Ok(r) = &resp {
            if r.status == 411 {
                return Outcome::info("refused with 411 Length Required; nothing forwarded");
            }
        }
    }
    let s = match usable(&seen, "POST /chunked-body (chunked)", &resp) {
        Ok(s) => s,
        Err(o) => return o,
    };
    if s.stdin != body {
        return Outcome::fail(
            "the 2500 body bytes on STDIN (R-6.2-3)",
            format!("{} STDIN bytes", s.stdin.len() as u64 + s.stdin_discarded),
        );
    }
    let cl = s.param_str("CONTENT_LENGTH");
    if cl.as_deref() != Some("2500") {
        return Outcome::fail(
            "CONTENT_LENGTH \"2500\", the length of the body received (CGI/1.1 §4.1.2, R-6.2-7)",
            match cl {
                Some(v) => format!("CONTENT_LENGTH {v:?}"),
                None => "no CONTENT_LENGTH".to_string(),
            },
        );
    }
    if let Some(o) = expect_body(&resp, 200, b"chunked\n") {
        return o;
    }
    Outcome::pass("2500 chunked bytes arrived on STDIN with CONTENT_LENGTH 2500")
}
