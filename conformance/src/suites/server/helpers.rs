//! What several of the server suite's sections share: request builders, exchanges and verdict helpers.

use crate::case::Outcome;
use crate::server::harness::{AppSide, SeenRequest};
use crate::server::http::{self, Framing, HttpRequest, HttpResponse, Url};
use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::record::{Header, RecordType};
use fcgi_proto::role::Role;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

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

impl Ctx {
    pub(crate) fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    pub(crate) fn spawn(&self, req: HttpRequest) -> HttpTask {
        self.spawn_to(&self.http.clone(), req)
    }

    pub(crate) fn spawn_to(&self, url: &Url, req: HttpRequest) -> HttpTask {
        let (url, t) = (url.clone(), self.timeout + Duration::from_millis(500));
        tokio::spawn(async move { http::send(&url, &req, t).await })
    }

    /// [`Ctx::spawn`], telling `head_seen` when the client has the response head.
    pub(crate) fn spawn_telling(
        &self,
        req: HttpRequest,
        head_seen: tokio::sync::oneshot::Sender<()>,
    ) -> HttpTask {
        let (url, t) = (self.http.clone(), self.timeout + Duration::from_millis(500));
        tokio::spawn(async move { http::send_telling(&url, &req, t, Some(head_seen)).await })
    }

    pub(crate) async fn finish(&self, task: HttpTask) -> Result<HttpResponse, String> {
        match tokio::time::timeout(self.timeout + Duration::from_secs(1), task).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(format!("HTTP task failed: {e}")),
            Err(_) => Err("no HTTP response within the timeout".into()),
        }
    }

    /// One request: the HTTP side, the FastCGI request it became, an answer.
    pub(crate) async fn exchange(
        &mut self,
        req: HttpRequest,
        answer: impl FnOnce(&AppSide, &SeenRequest),
    ) -> (Option<SeenRequest>, Result<HttpResponse, String>) {
        let mut task = self.spawn(req);
        let deadline = self.deadline();
        // A web server may answer the client on its own, forwarding nothing
        // (a 411 for a body it will not take, a 5xx): once the client has its
        // response, the request the case waits for cannot change it, so the
        // wait ends there instead of at the timeout. What the connections
        // have read by then is still taken in (a barrier, not a pause).
        let early = tokio::select! {
            biased;
            s = self.app.collect(deadline) => Ok(s),
            r = &mut task => Err(r),
        };
        let seen = match early {
            Ok(seen) => seen,
            Err(r) => {
                self.app.sync(Duration::from_millis(500)).await;
                let seen = self.app.collect(Instant::now()).await;
                return (seen, joined(r));
            }
        };
        if let Some(s) = &seen {
            if s.complete() && !s.closed {
                answer(&self.app, s);
            }
        }
        let resp = self.finish(task).await;
        (seen, resp)
    }
}

pub(crate) type HttpTask = JoinHandle<Result<HttpResponse, String>>;

pub(crate) fn path(slug: &str) -> String {
    format!("fcgi-conformance/{slug}")
}

pub(crate) fn ok_response(body: &[u8]) -> Vec<u8> {
    let mut v =
        b"Status: 200 OK\r\nContent-Type: application/octet-stream\r\nX-Case: yes\r\n\r\n".to_vec();
    v.extend_from_slice(body);
    v
}

pub(crate) fn no_request(what: &str, resp: &Result<HttpResponse, String>) -> Outcome {
    Outcome::fail(
        format!("a FastCGI request for {what}"),
        format!(
            "none arrived within the timeout (HTTP side: {})",
            http_str(resp)
        ),
    )
}

pub(crate) fn http_str(resp: &Result<HttpResponse, String>) -> String {
    match resp {
        Ok(r) => r.summary(),
        Err(e) => format!("no response: {e}"),
    }
}

pub(crate) fn violation(seen: &SeenRequest) -> Option<Outcome> {
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
pub(crate) fn usable(
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
    if let Some(x) = s.exceeded() {
        return Err(Outcome::fail("a request within the runner's bounds", x));
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

pub(crate) fn expect_body(
    resp: &Result<HttpResponse, String>,
    status: u16,
    body: &[u8],
) -> Option<Outcome> {
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

pub(crate) async fn simple_get(
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

pub(crate) async fn custom_answer(
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

pub(crate) fn record(t: RecordType, id: u16, content: &[u8], pad: u8, fill: u8, out: &mut Vec<u8>) {
    let len = u16::try_from(content.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&Header::new(t, id, len, pad).to_bytes());
    out.extend_from_slice(content.get(..usize::from(len)).unwrap_or_default());
    out.extend(std::iter::repeat_n(fill, usize::from(pad)));
}

pub(crate) async fn refusal(ctx: &mut Ctx, status: ProtocolStatus) -> Outcome {
    let slug = format!("refusal-{}", status.name().to_ascii_lowercase());
    let opened = ctx.app.opened_total;
    let task = ctx.spawn(HttpRequest::get(path(&slug)));
    let first = ctx.app.collect(ctx.deadline()).await;
    let Some(s) = first else {
        let resp = ctx.finish(task).await;
        return not_refused(
            format!(
                "no whole BEGIN_REQUEST within the timeout ({} connection(s) opened)",
                ctx.app.opened_total.saturating_sub(opened)
            ),
            &resp,
        );
    };
    if let Some(o) = violation(&s) {
        return o;
    }
    // Of what `usable` asks, a refusal needs the BEGIN_REQUEST whole and
    // well-formed records (an application may refuse before PARAMS end),
    // and the connection still open, so that the refusal really goes out:
    // a server that closed first must not pass on the strength of its own 5xx.
    let sent = !s.closed
        && ctx
            .app
            .end_request_sent(s.conn, s.id, 0, status, ctx.timeout)
            .await;
    if !sent {
        let resp = ctx.finish(task).await;
        return not_refused(
            format!("the connection closed first: {}", s.describe()),
            &resp,
        );
    }
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

/// A refusal case whose refusal could not be sent.
fn not_refused(what: String, resp: &Result<HttpResponse, String>) -> Outcome {
    Outcome::fail(
        "a request begun with a whole BEGIN_REQUEST (R-5.1-4), refused with END_REQUEST on its open connection",
        format!(
            "the request never arrived whole, so no refusal was sent: {what} (HTTP side: {})",
            http_str(resp)
        ),
    )
}

pub(crate) fn joined(
    r: Result<Result<HttpResponse, String>, tokio::task::JoinError>,
) -> Result<HttpResponse, String> {
    match r {
        Ok(r) => r,
        Err(e) => Err(format!("HTTP task failed: {e}")),
    }
}

pub(crate) fn cut_verdict(resp: &Result<HttpResponse, String>, what: &str) -> Outcome {
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

/// One request to learn whether connections are kept; returns its connection.
pub(crate) async fn warm(ctx: &mut Ctx, slug: &str) -> Result<SeenRequest, Outcome> {
    let (seen, resp, body) = simple_get(ctx, slug).await;
    let s = usable(&seen, "the first GET", &resp)?;
    if let Some(o) = expect_body(&resp, 200, &body) {
        return Err(o);
    }
    Ok(s)
}

pub(crate) async fn authorizer(ctx: &mut Ctx, grant: bool) -> Outcome {
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

/// Whether the web server still carries a plain GET to the runner and its
/// answer back to the client, exactly: the liveness check after a hostile
/// case or one that did not pass. Three tries a second apart, each bounded.
pub(crate) async fn still_serves(ctx: &mut Ctx) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let (seen, resp, body) = simple_get(ctx, "liveness").await;
        if seen.is_none() {
            last = format!("no FastCGI request arrived ({})", http_str(&resp));
            continue;
        }
        match expect_body(&resp, 200, &body) {
            None => return Ok(()),
            Some(o) => last = o.actual.unwrap_or(o.detail),
        }
    }
    Err(format!("{last} (3 tries)"))
}
