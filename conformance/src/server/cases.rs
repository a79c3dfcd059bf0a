//! The cases of the web-server suite: what the server sends, how it reads
//! what the application sends, connection handling, the client going
//! away, and the Authorizer role. Each plays the application for one or a
//! few HTTP requests and judges both the records and the HTTP response.

use std::time::Duration;

use fcgi_proto::application::{ProtocolStatus, FLAG_KEEP_CONN};
use fcgi_proto::name_value::LengthForm;
use fcgi_proto::record::{Header, RecordType};
use fcgi_proto::role::Role;
use tokio::io::AsyncReadExt;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::harness::{AppSide, Ev, SeenRequest};
use super::http::{self, Framing, HttpRequest, HttpResponse, Url};
use crate::case::{CaseInfo, Outcome};

/// What every case gets.
pub struct Ctx {
    /// The runner's application side.
    pub app: AppSide,
    /// Base URL forwarded by the server to the runner.
    pub http: Url,
    /// A URL the server sends through the Authorizer role first, if it has one.
    pub authorizer: Option<Url>,
    /// Bound on every wait.
    pub timeout: Duration,
}

macro_rules! case {
    ($id:literal, $sec:literal, [$($r:literal),*], $title:literal, $expects:literal) => {
        CaseInfo { id: $id, title: $title, section: $sec, requirements: &[$($r),*], expects: $expects }
    };
}

/// Every case, in the order they run.
pub fn all() -> Vec<CaseInfo> {
    vec![
        // What the server sends.
        case!("server/5.1/begin-request", "5.1", ["R-5.1-1", "R-5.1-4", "R-5.1-5", "R-5.1-7"],
            "BEGIN_REQUEST first, 8-byte body, Responder role, defined flags only",
            "A GET: the request's first record is BEGIN_REQUEST with an 8-byte body, role RESPONDER (1); flag bits other than FCGI_KEEP_CONN and the reserved bytes zero (warn otherwise)."),
        case!("server/3.3/request-ids", "3.3", ["R-3.3-5", "R-5.1-6"],
            "Request ids are nonzero and never begun while active",
            "Three GETs in a row: every request id is nonzero and no BEGIN_REQUEST names an id still active on its connection."),
        case!("server/3.3/record-header", "3.3", ["R-3.3-1", "R-3.3-6", "R-3.3-7"],
            "Records carry version 1 and a zero reserved byte",
            "A POST: every record parses with version 1; the reserved header byte is 0 (warn otherwise)."),
        case!("server/3.3/padding-alignment", "3.3", ["R-3.3-4"],
            "Records are padded to 8-byte boundaries",
            "A POST: every record the server sends is padded so that the next starts at a multiple of 8 (SHOULD: warn otherwise)."),
        case!("server/5.2/params-terminated", "5.2", ["R-5.2-1", "R-5.2-2", "R-3.4-4"],
            "PARAMS is well-formed and ended by an empty record",
            "A GET: the PARAMS stream decodes as name-value pairs and ends with an empty PARAMS record."),
        case!("server/6.1/params-text", "6.1", ["R-6.1-7"],
            "Param values carry no NUL terminator",
            "A GET: no param name or value contains a NUL byte."),
        case!("server/6.2/meta-variables", "6.2", ["R-6.2-7"],
            "The CGI/1.1 meta-variables a Responder needs",
            "GET with a query string and a custom header: REQUEST_METHOD, QUERY_STRING, SERVER_PROTOCOL, GATEWAY_INTERFACE, SCRIPT_NAME, SERVER_NAME, SERVER_PORT, REMOTE_ADDR and HTTP_X_CONFORMANCE present and right (warn for each missing)."),
        case!("server/3.4/long-value", "3.4", ["R-3.4-2", "R-3.4-3"],
            "A header value longer than 127 bytes uses the 4-byte length",
            "A GET with a 300-byte header value: HTTP_X_LONG arrives whole, its length in the 4-byte form."),
        case!("server/5.3/stdin-body", "5.3", ["R-5.3-1", "R-3.3-12", "R-6.2-3", "R-6.1-2"],
            "STDIN is exactly the body, ended by an empty record",
            "A POST of 100000 bytes: the STDIN stream's value equals the body and ends with an empty STDIN record."),
        case!("server/6.2/content-length", "6.2", ["R-6.2-3", "R-6.2-7"],
            "CONTENT_LENGTH equals the bytes sent on STDIN",
            "A POST of 1000 bytes: CONTENT_LENGTH is \"1000\" and exactly 1000 bytes arrive on STDIN."),
        case!("server/6.1/stdin-empty", "6.1", ["R-6.1-5", "R-5.3-1"],
            "A request without body still gets the empty STDIN record",
            "A GET: STDIN is sent as one empty record."),
        // How it reads what the application sends.
        case!("server/3.3/stdout-one-byte-records", "3.3", ["R-3.3-12"],
            "STDOUT split into one-byte records",
            "The response is sent one byte per STDOUT record: the HTTP body is the same bytes."),
        case!("server/3.3/padding-0-and-255", "3.3", ["R-3.3-3"],
            "Records padded with 0 and 255 bytes",
            "STDOUT records alternate padding 0 and 255 (padding bytes 0xFF, not zero): the HTTP body is exact."),
        case!("server/5.3/large-response", "5.3", ["R-3.3-12", "R-5.3-3"],
            "A response far larger than one record",
            "A 1 MiB body holding every byte value, in maximum-size records: the HTTP body is exact."),
        case!("server/6.1/status-header", "6.1", ["R-6.1-8", "R-6.2-2"],
            "The CGI Status header sets the HTTP status",
            "The application answers \"Status: 404 Not Found\": the client gets 404 and the body."),
        case!("server/6.1/stderr-interleaved", "6.1", ["R-6.1-3", "R-5.3-2"],
            "STDERR interleaved with STDOUT",
            "STDOUT and STDERR records alternate: the HTTP body holds the STDOUT bytes only."),
        case!("server/5.5/end-without-stdout-end", "5.5", ["R-5.5-7"],
            "END_REQUEST without the empty STDOUT record",
            "The application ends the request with END_REQUEST but no empty STDOUT record: the client still gets the complete response."),
        case!("server/5.5/cant-mpx-conn", "5.5", ["R-5.5-2", "R-5.5-6"],
            "An FCGI_CANT_MPX_CONN answer",
            "The application refuses with FCGI_CANT_MPX_CONN: the server retries elsewhere or answers 5xx; a 2xx for a refused request is a warning."),
        case!("server/5.5/overloaded", "5.5", ["R-5.5-3", "R-5.5-6"],
            "An FCGI_OVERLOADED answer",
            "The application refuses with FCGI_OVERLOADED: the client gets a 5xx (or a retried success); a 2xx is a warning."),
        case!("server/5.1/unknown-role", "5.1", ["R-5.1-3", "R-5.5-6"],
            "An FCGI_UNKNOWN_ROLE answer",
            "The application refuses with FCGI_UNKNOWN_ROLE: the client gets a 5xx; a 2xx is a warning."),
        case!("server/5.5/close-before-output", "5.5", ["R-5.5-5"],
            "Connection closed with no output and no END_REQUEST",
            "The application closes right after reading the request: the client gets a 5xx, never a 2xx."),
        case!("server/5.5/close-mid-body", "5.5", ["R-5.5-5"],
            "Connection closed mid-body with no END_REQUEST",
            "The application sends the head and part of the body, then closes: the client gets a 5xx or a response whose framing shows it is cut, never a complete 200."),
        case!("server/3.3/malformed-record", "3.3", ["R-3.3-1", "R-3.3-6"],
            "A malformed record from the application",
            "The application answers with a record of version 9: the client gets a 5xx, never a 2xx."),
        // Connection handling.
        case!("server/3.5/keep-conn", "3.5", ["R-5.1-2", "R-3.5-2"],
            "FCGI_KEEP_CONN and connection reuse",
            "Three GETs in a row: reports whether FCGI_KEEP_CONN is set and how many connections carried them (info)."),
        case!("server/3.5/idle-close", "3.5", ["R-3.5-2", "R-5.1-2"],
            "The application closes an idle kept connection",
            "After a request on a kept connection the application closes it; the next request must still succeed (warn if not). Skipped when connections are not kept."),
        case!("server/3.5/stale-connection", "3.5", ["R-3.5-2", "R-5.5-5"],
            "A kept connection closed as the next request arrives (the pm.max_requests race)",
            "The application closes a reused connection right after the next request's records arrive, before any output: a server that retries on a fresh connection passes; a 5xx is a warning. Skipped when connections are not reused."),
        case!("server/4.1/get-values", "4.1", ["R-4.1-1", "R-4.1-4"],
            "Does the server send FCGI_GET_VALUES",
            "Reports whether the server asked FCGI_GET_VALUES at any point of the run so far, and for which names (info)."),
        case!("server/3.3/multiplex", "3.3", ["R-5.1-6", "R-6.1-3"],
            "Multiplexing, with responses interleaved and out of order",
            "Two concurrent requests: if they share a connection, the application answers them interleaved, the second first; both HTTP bodies must be exact. One connection each is reported as info."),
        // The client goes away.
        case!("server/5.4/client-disconnect", "5.4", ["R-5.4-3", "R-5.4-4", "R-5.4-1"],
            "The HTTP client disconnects mid-response",
            "The client reads the head and closes while the application still writes: reports FCGI_ABORT_REQUEST or a closed connection (info); neither within the timeout is a warning (the application works on for nobody)."),
        // Authorizer.
        case!("server/6.3/authorizer-variables", "6.3", ["R-6.3-1", "R-6.3-6"],
            "Authorizer 200 with Variable- headers",
            "The Authorizer answers 200 with Variable-AUTH_USER_ID: the request goes on and the variable reaches the Responder as a param."),
        case!("server/6.3/authorizer-deny", "6.3", ["R-6.3-4"],
            "Authorizer denies with 403",
            "The Authorizer answers 403 with a body: the client gets 403 and that body."),
        case!("server/6.3/authorizer-params", "6.3", ["R-6.3-2", "R-6.3-3"],
            "What an Authorizer receives",
            "The Authorizer request has no STDIN content, and no CONTENT_LENGTH, PATH_INFO, PATH_TRANSLATED or SCRIPT_NAME params."),
    ]
}

type HttpTask = JoinHandle<Result<HttpResponse, String>>;

impl Ctx {
    fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    fn spawn(&self, req: HttpRequest) -> HttpTask {
        self.spawn_to(&self.http.clone(), req)
    }

    fn spawn_to(&self, url: &Url, req: HttpRequest) -> HttpTask {
        let (url, t) = (url.clone(), self.timeout + Duration::from_millis(500));
        tokio::spawn(async move { http::send(&url, &req, t).await })
    }

    async fn finish(&self, task: HttpTask) -> Result<HttpResponse, String> {
        match tokio::time::timeout(self.timeout + Duration::from_secs(1), task).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(format!("HTTP task failed: {e}")),
            Err(_) => Err("no HTTP response within the timeout".into()),
        }
    }

    /// One request: the HTTP side, the FastCGI request it became, an answer.
    async fn exchange(
        &mut self,
        req: HttpRequest,
        answer: impl FnOnce(&AppSide, &SeenRequest),
    ) -> (Option<SeenRequest>, Result<HttpResponse, String>) {
        let task = self.spawn(req);
        let seen = self.app.collect(self.deadline()).await;
        if let Some(s) = &seen {
            if s.complete() && !s.closed {
                answer(&self.app, s);
            }
        }
        let resp = self.finish(task).await;
        (seen, resp)
    }
}

fn path(slug: &str) -> String {
    format!("fcgi-conformance/{slug}")
}

fn ok_response(body: &[u8]) -> Vec<u8> {
    let mut v =
        b"Status: 200 OK\r\nContent-Type: application/octet-stream\r\nX-Case: yes\r\n\r\n".to_vec();
    v.extend_from_slice(body);
    v
}

fn no_request(what: &str, resp: &Result<HttpResponse, String>) -> Outcome {
    Outcome::fail(
        format!("a FastCGI request for {what}"),
        format!(
            "none arrived within the timeout (HTTP side: {})",
            http_str(resp)
        ),
    )
}

fn http_str(resp: &Result<HttpResponse, String>) -> String {
    match resp {
        Ok(r) => r.summary(),
        Err(e) => format!("no response: {e}"),
    }
}

fn violation(seen: &SeenRequest) -> Option<Outcome> {
    let e = seen.violations.first()?;
    Some(Outcome::fail(
        format!(
            "well-formed records ({}{})",
            e.section(),
            e.requirement()
                .map(|r| format!(", {r}"))
                .unwrap_or_default()
        ),
        format!("{e}"),
    ))
}

/// Collected, complete, no violation: or the outcome that says why not.
fn usable(
    seen: &Option<SeenRequest>,
    what: &str,
    resp: &Result<HttpResponse, String>,
) -> Result<SeenRequest, Outcome> {
    let Some(s) = seen else {
        return Err(no_request(what, resp));
    };
    if let Some(o) = violation(s) {
        return Err(o);
    }
    if !s.complete() {
        return Err(Outcome::fail(
            "PARAMS and STDIN each ended by an empty record (R-5.2-1, R-5.3-1)",
            format!("not within {:?}: {}", Duration::ZERO, s.describe())
                .replace("0ns", "the timeout"),
        ));
    }
    Ok(s.clone())
}

fn expect_body(resp: &Result<HttpResponse, String>, status: u16, body: &[u8]) -> Option<Outcome> {
    let r = match resp {
        Ok(r) => r,
        Err(e) => {
            return Some(Outcome::fail(
                format!("HTTP {status} with the application's body"),
                format!("no response: {e}"),
            ))
        }
    };
    if r.status != status {
        return Some(Outcome::fail(format!("HTTP {status}"), r.summary()));
    }
    if !r.complete {
        return Some(Outcome::fail("a complete body", r.summary()));
    }
    if r.body != body {
        let at = r
            .body
            .iter()
            .zip(body)
            .position(|(a, b)| a != b)
            .unwrap_or(r.body.len().min(body.len()));
        return Some(Outcome::fail(
            format!("the {} body bytes the application sent", body.len()),
            format!("{} bytes, first difference at byte {at}", r.body.len()),
        ));
    }
    None
}

/// Runs one case by id.
pub async fn run(id: &str, ctx: &mut Ctx) -> Outcome {
    match id {
        "server/5.1/begin-request" => begin_request(ctx).await,
        "server/3.3/request-ids" => request_ids(ctx).await,
        "server/3.3/record-header" => record_header(ctx, false).await,
        "server/3.3/padding-alignment" => record_header(ctx, true).await,
        "server/5.2/params-terminated" => params_terminated(ctx).await,
        "server/6.1/params-text" => params_text(ctx).await,
        "server/6.2/meta-variables" => meta_variables(ctx).await,
        "server/3.4/long-value" => long_value(ctx).await,
        "server/5.3/stdin-body" => stdin_body(ctx).await,
        "server/6.2/content-length" => content_length(ctx).await,
        "server/6.1/stdin-empty" => stdin_empty(ctx).await,
        "server/3.3/stdout-one-byte-records" => one_byte_records(ctx).await,
        "server/3.3/padding-0-and-255" => padding_answers(ctx).await,
        "server/5.3/large-response" => large_response(ctx).await,
        "server/6.1/status-header" => status_header(ctx).await,
        "server/6.1/stderr-interleaved" => stderr_interleaved(ctx).await,
        "server/5.5/end-without-stdout-end" => end_without_stdout_end(ctx).await,
        "server/5.5/cant-mpx-conn" => refusal(ctx, ProtocolStatus::CantMpxConn).await,
        "server/5.5/overloaded" => refusal(ctx, ProtocolStatus::Overloaded).await,
        "server/5.1/unknown-role" => refusal(ctx, ProtocolStatus::UnknownRole).await,
        "server/5.5/close-before-output" => close_before_output(ctx).await,
        "server/5.5/close-mid-body" => close_mid_body(ctx).await,
        "server/3.3/malformed-record" => malformed_record(ctx).await,
        "server/3.5/keep-conn" => keep_conn(ctx).await,
        "server/3.5/idle-close" => idle_close(ctx).await,
        "server/3.5/stale-connection" => stale_connection(ctx).await,
        "server/4.1/get-values" => get_values(ctx).await,
        "server/3.3/multiplex" => multiplex(ctx).await,
        "server/5.4/client-disconnect" => client_disconnect(ctx).await,
        "server/6.3/authorizer-variables" => authorizer(ctx, true).await,
        "server/6.3/authorizer-deny" => authorizer(ctx, false).await,
        "server/6.3/authorizer-params" => authorizer_params(ctx).await,
        other => Outcome::skip(format!("no such case {other}")),
    }
}

async fn simple_get(
    ctx: &mut Ctx,
    slug: &str,
) -> (Option<SeenRequest>, Result<HttpResponse, String>, Vec<u8>) {
    let body = format!("response for {slug}\n").into_bytes();
    let b = body.clone();
    let (seen, resp) = ctx
        .exchange(HttpRequest::get(path(slug)), |app, s| {
            app.respond(s, &ok_response(&b))
        })
        .await;
    (seen, resp, body)
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

async fn request_ids(ctx: &mut Ctx) -> Outcome {
    let mut ids = Vec::new();
    for i in 0..3 {
        let (seen, resp, body) = simple_get(ctx, &format!("request-ids/{i}")).await;
        let s = match usable(&seen, "each GET", &resp) {
            Ok(s) => s,
            Err(o) => return o,
        };
        if s.id == 0 {
            return Outcome::fail("a nonzero request id (R-3.3-5)", "request id 0");
        }
        if let Some(o) = expect_body(&resp, 200, &body) {
            return o;
        }
        ids.push(format!("{} on conn {}", s.id, s.conn));
    }
    Outcome::pass(format!("request ids: {}", ids.join(", ")))
}

async fn record_header(ctx: &mut Ctx, alignment: bool) -> Outcome {
    let body: Vec<u8> = (0..777u32).map(|i| (i % 251) as u8).collect();
    let slug = if alignment {
        "padding-alignment"
    } else {
        "record-header"
    };
    let (seen, resp) = ctx
        .exchange(HttpRequest::post(path(slug), body), |app, s| {
            app.respond(s, &ok_response(b"ok"))
        })
        .await;
    let s = match usable(&seen, "a POST", &resp) {
        Ok(s) => s,
        Err(o) => return o,
    };
    if let Some(o) = expect_body(&resp, 200, b"ok") {
        return o;
    }
    if alignment {
        let bad: Vec<String> = s
            .records
            .iter()
            .filter(|(_, len, pad, _)| (len + usize::from(*pad)) % 8 != 0)
            .map(|(t, len, pad, _)| format!("{} len {len} pad {pad}", t.name()))
            .collect();
        if !bad.is_empty() {
            return Outcome::warn(
                "every record padded to a multiple of 8 bytes (R-3.3-4)",
                format!(
                    "{} of {} records not: {}",
                    bad.len(),
                    s.records.len(),
                    bad.iter().take(4).cloned().collect::<Vec<_>>().join("; ")
                ),
            );
        }
        return Outcome::pass(format!(
            "all {} records aligned to 8 bytes",
            s.records.len()
        ));
    }
    if let Some((t, _, _, r)) = s.records.iter().find(|(_, _, _, r)| *r != 0) {
        return Outcome::warn(
            "reserved header byte 0 (R-3.3-7)",
            format!("{} with reserved {r:#04x}", t.name()),
        );
    }
    Outcome::pass(format!(
        "{} records, version 1, reserved byte 0",
        s.records.len()
    ))
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

async fn params_text(ctx: &mut Ctx) -> Outcome {
    let (seen, resp, body) = simple_get(ctx, "params-text").await;
    let s = match usable(&seen, "GET /params-text", &resp) {
        Ok(s) => s,
        Err(o) => return o,
    };
    if let Some((n, _, _)) = s
        .params
        .iter()
        .find(|(n, v, _)| n.contains(&0) || v.contains(&0))
    {
        return Outcome::fail(
            "no NUL byte in names or values (R-6.1-7)",
            format!("NUL in {}", String::from_utf8_lossy(n)),
        );
    }
    if let Some(o) = expect_body(&resp, 200, &body) {
        return o;
    }
    Outcome::pass(format!("{} params, no NUL bytes", s.params.len()))
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

async fn long_value(ctx: &mut Ctx) -> Outcome {
    let long: String = (0..300)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let mut req = HttpRequest::get(path("long-value"));
    req.headers.push(("X-Long".into(), long.clone()));
    let (seen, resp) = ctx
        .exchange(req, |app, s| app.respond(s, &ok_response(b"long\n")))
        .await;
    let s = match usable(&seen, "GET /long-value", &resp) {
        Ok(s) => s,
        Err(o) => return o,
    };
    let Some((_, v, form)) = s.params.iter().find(|(n, _, _)| n == b"HTTP_X_LONG") else {
        return Outcome::fail(
            "param HTTP_X_LONG with the 300-byte value",
            "no HTTP_X_LONG param",
        );
    };
    if v != long.as_bytes() {
        return Outcome::fail("the 300-byte value intact", format!("{} bytes", v.len()));
    }
    if *form != LengthForm::Long {
        return Outcome::fail("the 4-byte length form (R-3.4-2)", format!("{form:?}"));
    }
    if let Some(o) = expect_body(&resp, 200, b"long\n") {
        return o;
    }
    Outcome::pass("HTTP_X_LONG: 300 bytes, 4-byte length")
}

async fn stdin_body(ctx: &mut Ctx) -> Outcome {
    let body: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(7) % 256) as u8)
        .collect();
    let (seen, resp) = ctx
        .exchange(
            HttpRequest::post(path("stdin-body"), body.clone()),
            |app, s| app.respond(s, &ok_response(b"got it\n")),
        )
        .await;
    let Some(s) = &seen else {
        return no_request("POST /stdin-body", &resp);
    };
    if let Some(o) = violation(s) {
        return o;
    }
    if s.stdin != body {
        return Outcome::fail(
            "STDIN equal to the 100000-byte body",
            format!(
                "{} bytes{}",
                s.stdin.len(),
                if s.stdin_ended {
                    ""
                } else {
                    ", stream not ended"
                }
            ),
        );
    }
    if !s.stdin_ended {
        return Outcome::fail(
            "STDIN ended by an empty record (R-5.3-1)",
            format!("no empty STDIN record: {}", s.describe()),
        );
    }
    // R-6.1-2: each input stream is finished before the next begins.
    let last_params = s
        .records
        .iter()
        .rposition(|(t, ..)| *t == RecordType::Params);
    let first_stdin = s.records.iter().position(|(t, ..)| *t == RecordType::Stdin);
    if let (Some(p), Some(i)) = (last_params, first_stdin) {
        if i < p {
            return Outcome::fail(
                "PARAMS finished before STDIN begins (R-6.1-2)",
                format!("STDIN record #{i} before PARAMS record #{p}"),
            );
        }
    }
    if let Some(o) = expect_body(&resp, 200, b"got it\n") {
        return o;
    }
    Outcome::pass(format!(
        "100000 bytes in {} STDIN records, the last empty",
        s.stdin_records
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

async fn stdin_empty(ctx: &mut Ctx) -> Outcome {
    let (seen, resp, body) = simple_get(ctx, "stdin-empty").await;
    let Some(s) = &seen else {
        return no_request("GET /stdin-empty", &resp);
    };
    if let Some(o) = violation(s) {
        return o;
    }
    if !s.stdin_ended {
        return Outcome::fail(
            "an empty STDIN record even with no body (R-6.1-5)",
            s.describe(),
        );
    }
    if !s.stdin.is_empty() {
        return Outcome::fail(
            "no STDIN content for a GET",
            format!("{} bytes", s.stdin.len()),
        );
    }
    if let Some(o) = expect_body(&resp, 200, &body) {
        return o;
    }
    Outcome::pass(format!("STDIN: {} record(s), empty", s.stdin_records))
}

async fn custom_answer(
    ctx: &mut Ctx,
    slug: &str,
    build: impl FnOnce(&AppSide, &SeenRequest) -> Vec<u8>,
    end: bool,
) -> (Option<SeenRequest>, Result<HttpResponse, String>) {
    ctx.exchange(HttpRequest::get(path(slug)), |app, s| {
        let bytes = build(app, s);
        app.write(s.conn, bytes);
        if end {
            app.end_request(s.conn, s.id, 0, ProtocolStatus::RequestComplete);
        }
    })
    .await
}

fn record(t: RecordType, id: u16, content: &[u8], pad: u8, fill: u8, out: &mut Vec<u8>) {
    let len = u16::try_from(content.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&Header::new(t, id, len, pad).to_bytes());
    out.extend_from_slice(content.get(..usize::from(len)).unwrap_or_default());
    out.extend(std::iter::repeat_n(fill, usize::from(pad)));
}

async fn one_byte_records(ctx: &mut Ctx) -> Outcome {
    let resp_bytes = ok_response(b"one byte at a time\n");
    let r2 = resp_bytes.clone();
    let (seen, resp) = custom_answer(
        ctx,
        "stdout-one-byte-records",
        move |_, s| {
            let mut out = Vec::new();
            for b in &r2 {
                record(
                    RecordType::Stdout,
                    s.id,
                    std::slice::from_ref(b),
                    0,
                    0,
                    &mut out,
                );
            }
            record(RecordType::Stdout, s.id, &[], 0, 0, &mut out);
            out
        },
        true,
    )
    .await;
    if let Err(o) = usable(&seen, "GET", &resp) {
        return o;
    }
    if let Some(o) = expect_body(&resp, 200, b"one byte at a time\n") {
        return o;
    }
    Outcome::pass(format!(
        "{} one-byte STDOUT records reassembled",
        resp_bytes.len()
    ))
}

async fn padding_answers(ctx: &mut Ctx) -> Outcome {
    let resp_bytes = ok_response(b"padded records, 0 and 255\n");
    let r2 = resp_bytes.clone();
    let (seen, resp) = custom_answer(
        ctx,
        "padding-0-and-255",
        move |_, s| {
            let mut out = Vec::new();
            for (i, c) in r2.chunks(7).enumerate() {
                let pad = if i % 2 == 0 { 255 } else { 0 };
                record(RecordType::Stdout, s.id, c, pad, 0xff, &mut out);
            }
            record(RecordType::Stdout, s.id, &[], 255, 0xff, &mut out);
            out
        },
        true,
    )
    .await;
    if let Err(o) = usable(&seen, "GET", &resp) {
        return o;
    }
    if let Some(o) = expect_body(&resp, 200, b"padded records, 0 and 255\n") {
        return o;
    }
    Outcome::pass("records with padding 0 and 255 (0xFF bytes) read correctly")
}

async fn large_response(ctx: &mut Ctx) -> Outcome {
    let body: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 256) as u8).collect();
    let r = ok_response(&body);
    let (seen, resp) = custom_answer(
        ctx,
        "large-response",
        move |app, s| app.stdout_bytes(s.id, &r, true),
        true,
    )
    .await;
    if let Err(o) = usable(&seen, "GET", &resp) {
        return o;
    }
    if let Some(o) = expect_body(&resp, 200, &body) {
        return o;
    }
    Outcome::pass("1 MiB body intact")
}

async fn status_header(ctx: &mut Ctx) -> Outcome {
    let (seen, resp) = custom_answer(
        ctx,
        "status-header",
        |app, s| {
            app.stdout_bytes(
                s.id,
                b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nno such thing\n",
                true,
            )
        },
        true,
    )
    .await;
    if let Err(o) = usable(&seen, "GET", &resp) {
        return o;
    }
    if let Some(o) = expect_body(&resp, 404, b"no such thing\n") {
        return o;
    }
    Outcome::pass("Status: 404 became HTTP 404")
}

async fn stderr_interleaved(ctx: &mut Ctx) -> Outcome {
    let head = b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    let (seen, resp) = custom_answer(
        ctx,
        "stderr-interleaved",
        move |app, s| {
            let mut out = Vec::new();
            let enc = app.encoder;
            let _ = enc.stream(RecordType::Stdout, s.id, &head, &mut out);
            for i in 0..3 {
                let _ = enc.stream(
                    RecordType::Stderr,
                    s.id,
                    format!("STDERR-LINE-{i}\n").as_bytes(),
                    &mut out,
                );
                let _ = enc.stream(
                    RecordType::Stdout,
                    s.id,
                    format!("body-{i}\n").as_bytes(),
                    &mut out,
                );
            }
            let _ = enc.end_stream(RecordType::Stderr, s.id, &mut out);
            let _ = enc.end_stream(RecordType::Stdout, s.id, &mut out);
            out
        },
        true,
    )
    .await;
    if let Err(o) = usable(&seen, "GET", &resp) {
        return o;
    }
    if let Ok(r) = &resp {
        if http::find(&r.body, b"STDERR-LINE").is_some() {
            return Outcome::fail(
                "STDERR kept out of the HTTP body (§5.3: it is the error stream)",
                "STDERR text in the body",
            );
        }
    }
    if let Some(o) = expect_body(&resp, 200, b"body-0\nbody-1\nbody-2\n") {
        return o;
    }
    let in_headers = resp
        .as_ref()
        .map(|r| r.headers.iter().any(|(_, v)| v.contains("STDERR-LINE")))
        .unwrap_or(false);
    Outcome::pass(format!(
        "body holds STDOUT only; STDERR {}",
        if in_headers {
            "appeared in a header"
        } else {
            "not in the HTTP response (left to the server's log)"
        }
    ))
}

async fn end_without_stdout_end(ctx: &mut Ctx) -> Outcome {
    let (seen, resp) = custom_answer(
        ctx,
        "end-without-stdout-end",
        |app, s| app.stdout_bytes(s.id, &ok_response(b"no empty STDOUT record\n"), false),
        true,
    )
    .await;
    if let Err(o) = usable(&seen, "GET", &resp) {
        return o;
    }
    if let Some(o) = expect_body(&resp, 200, b"no empty STDOUT record\n") {
        return o;
    }
    Outcome::pass("END_REQUEST ended the response")
}

async fn refusal(ctx: &mut Ctx, status: ProtocolStatus) -> Outcome {
    let slug = format!("refusal-{}", status.name().to_ascii_lowercase());
    let task = ctx.spawn(HttpRequest::get(path(&slug)));
    let first = ctx.app.collect(ctx.deadline()).await;
    let Some(s) = first else {
        let resp = ctx.finish(task).await;
        return no_request("the GET", &resp);
    };
    if let Some(o) = violation(&s) {
        return o;
    }
    ctx.app.end_request(s.conn, s.id, 0, status);
    // A server may retry elsewhere: answer a second attempt normally.
    let until = Instant::now() + ctx.timeout.min(Duration::from_secs(2));
    let mut task = task;
    let mut retried: Option<SeenRequest> = None;
    let limit = Instant::now() + ctx.timeout + Duration::from_secs(1);
    let resp = loop {
        tokio::select! {
            r = ctx.app.collect(until), if retried.is_none() => {
                match r {
                    Some(r2) if r2.complete() => {
                        ctx.app.respond(&r2, &ok_response(b"second try\n"));
                        retried = Some(r2);
                    }
                    _ => retried = Some(SeenRequest::default()),
                }
            }
            r = &mut task => break joined(r),
            () = tokio::time::sleep_until(limit) => {
                task.abort();
                break Err("no HTTP response within the timeout".into());
            }
        }
    };
    let was_retried = retried.is_some_and(|r| r.id != 0);
    match resp {
        Ok(r) if (500..600).contains(&r.status) => {
            Outcome::pass(format!("{} -> {}", status.name(), r.summary()))
        }
        Ok(r) if r.status == 200 && was_retried && r.body == b"second try\n" => Outcome::pass(
            format!("{} -> retried, then {}", status.name(), r.summary()),
        ),
        Ok(r) => Outcome::warn(
            format!(
                "a 5xx (or a retried success) for a request refused with FCGI_{}",
                status.name()
            ),
            r.summary(),
        ),
        Err(e) => Outcome::fail("an HTTP response", e),
    }
}

fn joined(
    r: Result<Result<HttpResponse, String>, tokio::task::JoinError>,
) -> Result<HttpResponse, String> {
    match r {
        Ok(r) => r,
        Err(e) => Err(format!("HTTP task failed: {e}")),
    }
}

fn cut_verdict(resp: &Result<HttpResponse, String>, what: &str) -> Outcome {
    match resp {
        Ok(r) if (500..600).contains(&r.status) => {
            Outcome::pass(format!("{what}: {}", r.summary()))
        }
        Ok(r) if !r.complete => Outcome::pass(format!("{what}: the cut shows: {}", r.summary())),
        Ok(r) if r.framing == Framing::Close && (200..300).contains(&r.status) => Outcome::fail(
            "a 5xx, or a body whose framing shows the cut (R-5.5-5)",
            format!(
                "{} — a close-delimited body the client takes as complete",
                r.summary()
            ),
        ),
        Ok(r) => Outcome::fail(
            "a 5xx, or a body whose framing shows the cut (R-5.5-5)",
            r.summary(),
        ),
        Err(e) if e.contains("timed out") => Outcome::warn(
            "a 5xx, or a closed connection, for the client (R-5.5-5)",
            format!("{what}: no response within the timeout ({e}); the client is left waiting"),
        ),
        Err(e) => Outcome::pass(format!("{what}: the client's connection was closed ({e})")),
    }
}

async fn close_before_output(ctx: &mut Ctx) -> Outcome {
    let task = ctx.spawn(HttpRequest::get(path("close-before-output")));
    let seen = ctx.app.collect(ctx.deadline()).await;
    let Some(s) = seen else {
        let resp = ctx.finish(task).await;
        return no_request("the GET", &resp);
    };
    ctx.app.close(s.conn);
    // A server may retry on a fresh connection: close that too.
    let until = Instant::now() + ctx.timeout.min(Duration::from_secs(2));
    let limit = Instant::now() + ctx.timeout + Duration::from_secs(1);
    let mut task = task;
    let mut collecting = true;
    let resp = loop {
        tokio::select! {
            r = ctx.app.collect(until), if collecting => match r {
                Some(r2) => ctx.app.close(r2.conn),
                None => collecting = false,
            },
            r = &mut task => break joined(r),
            () = tokio::time::sleep_until(limit) => {
                task.abort();
                break Err("no HTTP response within the timeout".into());
            }
        }
    };
    match &resp {
        Ok(r) if (200..300).contains(&r.status) => Outcome::fail("a 5xx (R-5.5-5)", r.summary()),
        _ => cut_verdict(&resp, "closed before output"),
    }
}

async fn close_mid_body(ctx: &mut Ctx) -> Outcome {
    let task = ctx.spawn(HttpRequest::get(path("close-mid-body")));
    let seen = ctx.app.collect(ctx.deadline()).await;
    let Some(s) = seen else {
        let resp = ctx.finish(task).await;
        return no_request("the GET", &resp);
    };
    let mut head = b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    head.extend(std::iter::repeat_n(b'z', 5000));
    ctx.app
        .write(s.conn, ctx.app.stdout_bytes(s.id, &head, false));
    tokio::time::sleep(Duration::from_millis(100)).await;
    ctx.app.close(s.conn);
    let resp = ctx.finish(task).await;
    cut_verdict(&resp, "closed mid-body")
}

async fn malformed_record(ctx: &mut Ctx) -> Outcome {
    let (seen, resp) = custom_answer(
        ctx,
        "malformed-record",
        |_, s| {
            let mut out = Vec::new();
            record(
                RecordType::Stdout,
                s.id,
                b"Status: 200 OK\r\n\r\nbad",
                0,
                0,
                &mut out,
            );
            if let Some(v) = out.first_mut() {
                *v = 9;
            }
            out
        },
        false,
    )
    .await;
    if let Err(o) = usable(&seen, "GET", &resp) {
        return o;
    }
    match &resp {
        Ok(r) if (200..300).contains(&r.status) => {
            Outcome::fail("a 5xx for a version-9 record (R-3.3-1)", r.summary())
        }
        Ok(r) => Outcome::pass(format!("version-9 record refused: {}", r.summary())),
        Err(e) if e.contains("timed out") => Outcome::warn(
            "a 5xx for a version-9 record (R-3.3-1)",
            format!("no response within the timeout ({e}): the server waits on the broken connection and the client is left waiting"),
        ),
        Err(e) => Outcome::pass(format!("version-9 record refused; the client's connection was closed ({e})")),
    }
}

async fn keep_conn(ctx: &mut Ctx) -> Outcome {
    let mut flags = Vec::new();
    let mut conns = Vec::new();
    for i in 0..3 {
        let (seen, resp, body) = simple_get(ctx, &format!("keep-conn/{i}")).await;
        let s = match usable(&seen, "each GET", &resp) {
            Ok(s) => s,
            Err(o) => return o,
        };
        if let Some(o) = expect_body(&resp, 200, &body) {
            return o;
        }
        flags.push(s.keep_conn);
        conns.push(s.conn);
    }
    let distinct: std::collections::BTreeSet<_> = conns.iter().collect();
    let set = flags.iter().filter(|f| **f).count();
    Outcome::info(format!(
        "FCGI_KEEP_CONN set on {set} of 3 requests; {} connection(s) carried the 3 requests",
        distinct.len()
    ))
}

/// One request to learn whether connections are kept; returns its connection.
async fn warm(ctx: &mut Ctx, slug: &str) -> Result<SeenRequest, Outcome> {
    let (seen, resp, body) = simple_get(ctx, slug).await;
    let s = usable(&seen, "the first GET", &resp)?;
    if let Some(o) = expect_body(&resp, 200, &body) {
        return Err(o);
    }
    Ok(s)
}

async fn idle_close(ctx: &mut Ctx) -> Outcome {
    let first = match warm(ctx, "idle-close/1").await {
        Ok(s) => s,
        Err(o) => return o,
    };
    if !first.keep_conn {
        return Outcome::skip(
            "the server does not set FCGI_KEEP_CONN: no idle connection to close",
        );
    }
    ctx.app.close(first.conn);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (seen, resp, body) = simple_get(ctx, "idle-close/2").await;
    match &resp {
        Ok(r) if r.status == 200 && r.complete && r.body == body => Outcome::pass(format!(
            "next request went over {}",
            seen.map_or("?".into(), |s| format!("connection {}", s.conn))
        )),
        _ => Outcome::warn(
            "the next request served on a fresh connection",
            http_str(&resp),
        ),
    }
}

async fn stale_connection(ctx: &mut Ctx) -> Outcome {
    let first = match warm(ctx, "stale-connection/1").await {
        Ok(s) => s,
        Err(o) => return o,
    };
    if !first.keep_conn {
        return Outcome::skip("the server does not set FCGI_KEEP_CONN: connections are not reused");
    }
    let task = ctx.spawn(HttpRequest::get(path("stale-connection/2")));
    let Some(second) = ctx.app.collect(ctx.deadline()).await else {
        let resp = ctx.finish(task).await;
        return no_request("the second GET", &resp);
    };
    if second.conn != first.conn {
        ctx.app.respond(&second, &ok_response(b"fresh\n"));
        let resp = ctx.finish(task).await;
        return Outcome::skip(format!(
            "the server set FCGI_KEEP_CONN but opened a new connection for the next request ({})",
            http_str(&resp)
        ));
    }
    // The race: the application closes the reused connection unanswered.
    ctx.app.close(second.conn);
    let third = ctx.app.collect(ctx.deadline()).await;
    if let Some(t) = &third {
        ctx.app.respond(t, &ok_response(b"retried\n"));
    }
    let resp = ctx.finish(task).await;
    match &resp {
        Ok(r) if r.status == 200 && r.complete && r.body == b"retried\n" => {
            Outcome::pass("the server retried on a fresh connection")
        }
        _ => Outcome::warn(
            "a retry on a fresh connection (the request never reached the application)",
            format!(
                "{}{}",
                http_str(&resp),
                if third.is_some() {
                    " after a retry"
                } else {
                    ", no retry"
                }
            ),
        ),
    }
}

async fn get_values(ctx: &mut Ctx) -> Outcome {
    let before = ctx.app.get_values_total;
    let (seen, resp, body) = simple_get(ctx, "get-values").await;
    if let Err(o) = usable(&seen, "GET", &resp) {
        return o;
    }
    if let Some(o) = expect_body(&resp, 200, &body) {
        return o;
    }
    let total = ctx.app.get_values_total;
    if total == 0 {
        Outcome::info("no FCGI_GET_VALUES seen in this run")
    } else {
        Outcome::info(format!(
            "{total} FCGI_GET_VALUES seen in this run ({} in this case)",
            total - before
        ))
    }
}

async fn multiplex(ctx: &mut Ctx) -> Outcome {
    let a = ctx.spawn(HttpRequest::get(path("multiplex/a")));
    let b = ctx.spawn(HttpRequest::get(path("multiplex/b")));
    let until = Instant::now() + ctx.timeout.min(Duration::from_secs(2));
    let reqs = ctx.app.collect_many(2, until).await;
    for r in &reqs {
        if let Some(o) = violation(r) {
            return o;
        }
    }
    let body_of =
        |r: &SeenRequest| format!("answer to id {} on conn {}\n", r.id, r.conn).into_bytes();
    let mut note = String::new();
    match reqs.as_slice() {
        [r1, r2] if r1.conn == r2.conn && r1.complete() && r2.complete() => {
            // Interleaved, second first.
            let enc = ctx.app.encoder;
            let (h1, h2) = (ok_response(&body_of(r1)), ok_response(&body_of(r2)));
            let (m1, m2) = (h1.len() / 2, h2.len() / 2);
            let mut out = Vec::new();
            let _ = enc.stream(
                RecordType::Stdout,
                r2.id,
                h2.get(..m2).unwrap_or_default(),
                &mut out,
            );
            let _ = enc.stream(
                RecordType::Stdout,
                r1.id,
                h1.get(..m1).unwrap_or_default(),
                &mut out,
            );
            let _ = enc.stream(
                RecordType::Stdout,
                r2.id,
                h2.get(m2..).unwrap_or_default(),
                &mut out,
            );
            let _ = enc.end_stream(RecordType::Stdout, r2.id, &mut out);
            ctx.app.write(r1.conn, out);
            ctx.app
                .end_request(r2.conn, r2.id, 0, ProtocolStatus::RequestComplete);
            let mut out = Vec::new();
            let _ = enc.stream(
                RecordType::Stdout,
                r1.id,
                h1.get(m1..).unwrap_or_default(),
                &mut out,
            );
            let _ = enc.end_stream(RecordType::Stdout, r1.id, &mut out);
            ctx.app.write(r1.conn, out);
            ctx.app
                .end_request(r1.conn, r1.id, 0, ProtocolStatus::RequestComplete);
            note = format!(
                "multiplexed ids {} and {} on connection {}",
                r1.id, r2.id, r1.conn
            );
        }
        [r1, r2] => {
            ctx.app.respond(r1, &ok_response(&body_of(r1)));
            ctx.app.respond(r2, &ok_response(&body_of(r2)));
            note = format!("one connection per request ({} and {})", r1.conn, r2.conn);
        }
        [r1] => {
            // Serialised: answer the first, then the second.
            ctx.app.respond(r1, &ok_response(&body_of(r1)));
            if let Some(r2) = ctx.app.collect(ctx.deadline()).await {
                ctx.app.respond(&r2, &ok_response(&body_of(&r2)));
                note = format!(
                    "the second request came only after the first ended (conn {} then {})",
                    r1.conn, r2.conn
                );
            }
        }
        _ => {}
    }
    let ra = ctx.finish(a).await;
    let rb = ctx.finish(b).await;
    if reqs.is_empty() {
        return no_request("two concurrent GETs", &ra);
    }
    for (name, r) in [("first", &ra), ("second", &rb)] {
        match r {
            Ok(r) if r.status == 200 && r.complete && r.body.starts_with(b"answer to id") => {}
            other => {
                return Outcome::fail(
                    format!("the {name} request answered with its own body"),
                    http_str(other),
                )
            }
        }
    }
    let distinct = match (&ra, &rb) {
        (Ok(x), Ok(y)) => x.body != y.body,
        _ => false,
    };
    if !distinct {
        return Outcome::fail(
            "each request gets its own response",
            "both got the same body",
        );
    }
    if note.starts_with("multiplexed") {
        Outcome::pass(format!(
            "{note}; interleaved out-of-order answers both right"
        ))
    } else {
        Outcome::info(format!("does not multiplex: {note}"))
    }
}

async fn client_disconnect(ctx: &mut Ctx) -> Outcome {
    let url = ctx.http.clone();
    let t = ctx.timeout;
    let (gone_tx, gone_rx) = tokio::sync::oneshot::channel::<String>();
    let started = tokio::spawn(async move {
        let req = HttpRequest::get(path("client-disconnect"));
        // Wait a little for the head (a buffering server may hold it), then go away.
        let note = match http::start(&url, &req, t.min(Duration::from_secs(1))).await {
            Ok(mut s) => {
                let mut b = [0u8; 64];
                let _ =
                    tokio::time::timeout(Duration::from_millis(100), s.stream.read(&mut b)).await;
                format!("the client read the head ({}) and closed", s.head.status)
            }
            Err(e) => format!("the client closed before any response ({e})"),
        };
        let _ = gone_tx.send(note);
    });
    let Some(s) = ctx.app.collect(ctx.deadline()).await else {
        return Outcome::fail("a FastCGI request", "none arrived");
    };
    if let Some(o) = violation(&s) {
        return o;
    }
    let mut head = b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    head.extend(std::iter::repeat_n(b'.', 32 * 1024));
    ctx.app
        .write(s.conn, ctx.app.stdout_bytes(s.id, &head, false));
    let client_note =
        match tokio::time::timeout(ctx.timeout + Duration::from_secs(1), gone_rx).await {
            Ok(Ok(n)) => n,
            _ => return Outcome::fail("the HTTP client to finish", "it did not"),
        };
    let _ = started.await;
    // Keep writing a little, as a slow application would, and watch.
    let deadline = ctx.deadline();
    let mut tick = Instant::now();
    loop {
        let until = (tick + Duration::from_millis(100)).min(deadline);
        match ctx.app.next(until).await {
            Some(e) if e.conn == s.conn => match e.ev {
                Ev::Abort { id } if id == s.id => {
                    ctx.app
                        .end_request(s.conn, s.id, 0, ProtocolStatus::RequestComplete);
                    return Outcome::info(format!(
                            "{client_note}; FCGI_ABORT_REQUEST sent (R-5.4-3), the application ended the request"
                        ));
                }
                Ev::Closed => {
                    return Outcome::info(format!("{client_note}; the server closed the connection (R-5.4-4), no FCGI_ABORT_REQUEST"));
                }
                _ => {}
            },
            Some(_) => {}
            None => {
                if Instant::now() >= deadline {
                    return Outcome::warn(
                        "FCGI_ABORT_REQUEST (R-5.4-3) or a closed connection (R-5.4-4) once the client is gone",
                        format!("{client_note}; neither within {:?}: the application would keep working for nobody", ctx.timeout),
                    );
                }
                tick = Instant::now();
                ctx.app
                    .write(s.conn, ctx.app.stdout_bytes(s.id, b"more\n", false));
            }
        }
    }
}

async fn authorizer(ctx: &mut Ctx, grant: bool) -> Outcome {
    let Some(url) = ctx.authorizer.clone() else {
        return Outcome::skip("no --authorizer URL: the server under test has no Authorizer configured (lighttpd has one: fastcgi.server mode \"authorizer\")");
    };
    let task = ctx.spawn_to(&url, HttpRequest::get(""));
    let Some(a) = ctx.app.collect(ctx.deadline()).await else {
        let resp = ctx.finish(task).await;
        return no_request("the Authorizer request", &resp);
    };
    if let Some(o) = violation(&a) {
        return o;
    }
    if a.role != Some(Role::Authorizer) {
        ctx.app
            .respond(&a, &ok_response(b"not an authorizer request\n"));
        let _ = ctx.finish(task).await;
        return Outcome::fail("role AUTHORIZER (2)", format!("{:?}", a.role));
    }
    if !grant {
        ctx.app.write(a.conn, ctx.app.stdout_bytes(a.id, b"Status: 403 Forbidden\r\nContent-Type: text/plain\r\n\r\ndenied by the authorizer\n", true));
        ctx.app
            .end_request(a.conn, a.id, 0, ProtocolStatus::RequestComplete);
        let resp = ctx.finish(task).await;
        return match expect_body(&resp, 403, b"denied by the authorizer\n") {
            Some(o) => o,
            None => Outcome::pass("403 and the authorizer's body reached the client"),
        };
    }
    ctx.app.write(
        a.conn,
        ctx.app.stdout_bytes(
            a.id,
            b"Status: 200 OK\r\nVariable-AUTH_USER_ID: alice\r\n\r\n",
            true,
        ),
    );
    ctx.app
        .end_request(a.conn, a.id, 0, ProtocolStatus::RequestComplete);
    // Either the server sends the request on to a Responder here, or serves it itself.
    let follow = ctx
        .app
        .collect(Instant::now() + ctx.timeout.min(Duration::from_secs(2)))
        .await;
    let Some(f) = follow else {
        let resp = ctx.finish(task).await;
        return match &resp {
            Ok(r) if r.status == 200 => Outcome::info(format!(
                "access granted and served by the server itself ({}); the variable could not be observed",
                r.summary()
            )),
            _ => Outcome::fail("the request to go on after a 200 (R-6.3-1)", http_str(&resp)),
        };
    };
    ctx.app.respond(&f, &ok_response(b"authorized content\n"));
    let resp = ctx.finish(task).await;
    if let Some(o) = expect_body(&resp, 200, b"authorized content\n") {
        return o;
    }
    match f.param_str("AUTH_USER_ID") {
        Some(v) if v == "alice" => Outcome::pass(format!(
            "Variable-AUTH_USER_ID reached the {} request as AUTH_USER_ID",
            f.role.map_or("?", Role::name)
        )),
        other => Outcome::fail(
            "param AUTH_USER_ID=alice on the following request (R-6.3-1)",
            format!("{other:?}"),
        ),
    }
}

async fn authorizer_params(ctx: &mut Ctx) -> Outcome {
    let Some(url) = ctx.authorizer.clone() else {
        return Outcome::skip(
            "no --authorizer URL: the server under test has no Authorizer configured",
        );
    };
    let task = ctx.spawn_to(&url, HttpRequest::get(""));
    let Some(a) = ctx.app.collect(ctx.deadline()).await else {
        let resp = ctx.finish(task).await;
        return no_request("the Authorizer request", &resp);
    };
    ctx.app.write(
        a.conn,
        ctx.app
            .stdout_bytes(a.id, b"Status: 403 Forbidden\r\n\r\nno\n", true),
    );
    ctx.app
        .end_request(a.conn, a.id, 0, ProtocolStatus::RequestComplete);
    let _ = ctx.finish(task).await;
    if let Some(o) = violation(&a) {
        return o;
    }
    if !a.stdin.is_empty() {
        return Outcome::fail(
            "no request body on STDIN (R-6.3-2)",
            format!("{} STDIN bytes", a.stdin.len()),
        );
    }
    let present: Vec<&str> = [
        "CONTENT_LENGTH",
        "PATH_INFO",
        "PATH_TRANSLATED",
        "SCRIPT_NAME",
    ]
    .into_iter()
    .filter(|n| a.param(n).is_some())
    .collect();
    if !present.is_empty() {
        return Outcome::fail(
            "no CONTENT_LENGTH, PATH_INFO, PATH_TRANSLATED or SCRIPT_NAME for an Authorizer (R-6.3-3)",
            format!("sent {}", present.join(", ")),
        );
    }
    Outcome::pass(format!(
        "{} params, none of the four left out by §6.3; STDIN {}",
        a.params.len(),
        if a.stdin_records == 0 {
            "not sent"
        } else {
            "empty"
        }
    ))
}
