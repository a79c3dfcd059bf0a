//! What every case gets: the target's address, the timeout, the user's
//! params, what the setup probes learned, and the case's transcript.

use std::time::Duration;

use fcgi_proto::application::ProtocolStatus;

use super::conn::{Conn, ConnError, Response};
use super::request::{cgi, parse_echo, CgiOut, Echo, Req};
use crate::bounds::{self, Bounds};
use crate::case::Outcome;
use crate::target::Addr;
use crate::transcript::Transcript;

/// What the setup probes learned about the target.
#[derive(Debug, Clone, Default)]
pub struct Probed {
    /// The target answers in the echo contract's form.
    pub echo: bool,
    /// HTTP status of the plain baseline request.
    pub baseline_status: Option<u16>,
    /// What the target said for FCGI_MPXS_CONNS, if it answered GET_VALUES.
    pub mpxs_conns: Option<bool>,
    /// The target answers a GET_VALUES sent on a kept connection after a
    /// request's END_REQUEST: cases that ask "does anything more arrive"
    /// use it as a barrier instead of a quiet period
    /// (`suites::app::helpers::read_past`).
    pub barrier: bool,
    /// Connections the capacity probe saw served at once (0 before it ran).
    pub at_once: usize,
    /// How long the baseline request took, connect to END_REQUEST: the
    /// measure of this target's own pace that sizes the wait of a case
    /// asking "does anything come before ..." (`suites::app::helpers::held_open`).
    pub round_trip: Option<Duration>,
}

/// A case's context.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Where the application listens.
    pub addr: Addr,
    /// Bound on every connect and read.
    pub timeout: Duration,
    /// Params added to every request (`--param`).
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
    /// Setup probes.
    pub probed: Probed,
    /// This case's wire transcript.
    pub transcript: Transcript,
    /// Whether the runner started the application (`--spawn`).
    pub spawned: bool,
    /// The `--spawn` command, for cases that start a copy of their own.
    pub spawn_cmd: Option<String>,
    /// What a connection keeps of a response ([`crate::bounds`]).
    pub bounds: Bounds,
    /// No read of the case waits past this; set when the case starts
    /// ([`crate::bounds::read_deadline`]). Without it, each connection
    /// gets the deadline of a case starting when it opens.
    pub deadline: Option<tokio::time::Instant>,
}

impl Ctx {
    /// A context with nothing probed yet and a fresh transcript.
    pub fn new(
        addr: Addr,
        timeout: Duration,
        params: Vec<(Vec<u8>, Vec<u8>)>,
        spawned: bool,
    ) -> Ctx {
        Ctx {
            addr,
            timeout,
            params,
            probed: Probed::default(),
            transcript: Transcript::new(),
            spawned,
            spawn_cmd: None,
            bounds: Bounds::default(),
            deadline: None,
        }
    }

    /// Opens a connection logged in this case's transcript.
    pub async fn conn(&self, label: &str) -> Result<Conn, Outcome> {
        let deadline = self
            .deadline
            .unwrap_or_else(|| bounds::read_deadline(tokio::time::Instant::now(), self.timeout));
        Conn::open_bounded(
            &self.addr,
            self.timeout,
            &self.transcript,
            label,
            &self.bounds,
            deadline,
        )
        .await
        .map_err(|e| Outcome::fail("a connection to the application", e.to_string()))
    }

    /// A Responder request with the base params and the user's params.
    pub fn req(&self, id: u16, body: &[u8]) -> Req {
        Req::responder(id, &self.params, body)
    }

    /// [`Ctx::req`] taking the body it keeps (no copy of a large body).
    pub fn req_owned(&self, id: u16, body: Vec<u8>) -> Req {
        Req::responder_owned(id, &self.params, body)
    }

    /// Sends `req` on a fresh connection and reads its response.
    pub async fn serve(&self, req: &Req, chop: Option<usize>) -> Result<(Conn, Response), Outcome> {
        let c = self.send_fresh(req, chop).await?;
        receive(c, req.id).await
    }

    /// [`Ctx::serve`] for a case that checks the echoed body without the
    /// sent one: STDIN is dropped from `req` once written, before the
    /// response is read, so the runner holds one copy of a large body.
    pub async fn serve_dropping_stdin(&self, req: &mut Req) -> Result<(Conn, Response), Outcome> {
        let c = self.send_fresh(req, None).await?;
        req.stdin = Vec::new();
        receive(c, req.id).await
    }

    async fn send_fresh(&self, req: &Req, chop: Option<usize>) -> Result<Conn, Outcome> {
        let mut c = self.conn("request").await?;
        match c.send_req(req, chop).await {
            Ok(()) => Ok(c),
            Err(e) => Err(Outcome::fail(
                "the request to be accepted",
                format!("sending failed: {e}"),
            )),
        }
    }
}

async fn receive(mut c: Conn, id: u16) -> Result<(Conn, Response), Outcome> {
    match c.response(id).await {
        Ok(r) => Ok((c, r)),
        Err((e, partial)) => Err(no_end(id, &e, &partial)),
    }
}

/// The failure for a request that never got its END_REQUEST. At the
/// case's deadline it reads "the application was still sending after
/// 5.8 s: 1234 STDOUT records (...), no END_REQUEST"; a response cut by a
/// bound says so too.
pub fn no_end(id: u16, e: &ConnError, partial: &Response) -> Outcome {
    let mut actual = match e {
        ConnError::Deadline { after } if partial.stdout_records + partial.stderr_records > 0 => {
            format!(
                "the application was still sending after {:.1} s: {}, no END_REQUEST",
                after.as_secs_f64(),
                partial.progress()
            )
        }
        _ => format!("{e}, after {}", partial.progress()),
    };
    if let Some(x) = partial.exceeded() {
        actual.push_str("; ");
        actual.push_str(&x);
    }
    Outcome::fail(format!("END_REQUEST for request {id}"), actual)
}

/// A failure when a served response ran into one of the runner's bounds
/// (bytes were discarded), for cases that judge a response's content.
pub fn over_bound(resp: &Response) -> Option<Outcome> {
    resp.exceeded()
        .map(|x| Outcome::fail("a response within the runner's bounds", x))
}

/// Checks what every served request must satisfy: no protocol violation
/// found by the judge, END_REQUEST with FCGI_REQUEST_COMPLETE and a
/// well-formed CGI head. Returns the CGI output. Whether STDOUT was ended
/// by its empty record is judged by `app/5.3/stdout-ended` alone, so one
/// defect fails one case.
pub fn well_formed<'a>(conn: &Conn, resp: &'a Response) -> Result<CgiOut<'a>, Outcome> {
    if let Some(o) = over_bound(resp) {
        return Err(o);
    }
    if let Some(v) = conn.violations.first() {
        return Err(Outcome::fail(
            format!(
                "records that follow {} {}",
                v.section(),
                v.requirement().map_or("", |r| r.id())
            ),
            v.to_string(),
        ));
    }
    match resp.end.map(|e| e.protocol_status) {
        Some(ProtocolStatus::RequestComplete) => {}
        Some(other) => {
            return Err(Outcome::fail(
                "END_REQUEST with FCGI_REQUEST_COMPLETE",
                format!("protocolStatus {}({})", other.name(), other.code()),
            ))
        }
        None => return Err(Outcome::fail("END_REQUEST", "none")),
    }
    cgi(&resp.stdout).map_err(|e| Outcome::fail("a CGI/1.1 response on STDOUT (R-6.2-2)", e))
}

/// Compares an answer with what was sent: with the echo contract, the
/// `ECHO_*` params and the body must come back exactly; without it, the
/// status must equal the baseline's.
pub fn same_as_sent(ctx: &Ctx, req: &Req, out: &CgiOut) -> Outcome {
    if !ctx.probed.echo {
        return match ctx.probed.baseline_status {
            Some(s) if s == out.status => Outcome::pass(format!(
                "served with status {s}, as the baseline (no echo contract: params and body not compared)"
            )),
            Some(s) => Outcome::fail(format!("status {s} as the baseline request"), format!("status {}", out.status)),
            None => Outcome::pass("served (no baseline status to compare)"),
        };
    }
    let Some(echo) = parse_echo(out.body) else {
        return Outcome::fail("a body in the echo contract's form", dump_preview(out.body));
    };
    compare_echo(req, &echo)
}

/// Compares an echo with the request that produced it.
pub fn compare_echo(req: &Req, echo: &Echo) -> Outcome {
    if let Some(fail) = compare_echo_params(req, echo) {
        return fail;
    }
    if echo.stdin != req.stdin {
        return Outcome::fail(
            format!("a body of {} bytes echoed unchanged", req.stdin.len()),
            format!(
                "{} bytes{}",
                echo.stdin.len(),
                first_difference(&req.stdin, echo.stdin)
            ),
        );
    }
    Outcome::pass(format!(
        "params and {} body bytes came back unchanged",
        req.stdin.len()
    ))
}

/// The failure when an echo's `ECHO_*` params differ from the request's.
pub fn compare_echo_params(req: &Req, echo: &Echo) -> Option<Outcome> {
    for (n, v) in &req.params {
        if !n.starts_with(b"ECHO_") {
            continue;
        }
        let name = String::from_utf8_lossy(n).into_owned();
        match echo.params.get(&name) {
            Some(got) if got.as_bytes() == v.as_slice() => {}
            Some(got) => {
                return Some(Outcome::fail(
                    format!("param {name} of {} bytes echoed unchanged", v.len()),
                    format!(
                        "{} bytes: {}",
                        got.len(),
                        fcgi_proto::dump::preview(got.as_bytes(), 40)
                    ),
                ))
            }
            None => {
                return Some(Outcome::fail(
                    format!("param {name} echoed"),
                    "missing from the echo",
                ))
            }
        }
    }
    None
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!(", first difference at byte {i}"),
        None => String::new(),
    }
}

/// A short escaped preview of bytes.
pub fn dump_preview(b: &[u8]) -> String {
    fcgi_proto::dump::preview(b, 64)
}
