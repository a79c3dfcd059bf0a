//! The properties a recorded conversation is judged by, each naming the
//! requirement it checks. The oracle reads only the recording: what was
//! sent is decoded back from the bytes, so a replayed file is judged
//! exactly as the run that wrote it.
//!
//! - `records-accepted`: every record the target sent is accepted by the
//!   codec's web-server machine (`fcgi_proto::connection::WebServer`), and
//!   a completed request's END_REQUEST comes after the empty STDOUT record
//!   (R-5.3-1; an aborted request need not have begun STDOUT);
//! - `cgi-head` (R-6.2-2): a completed Responder, Authorizer or Filter
//!   answer is a CGI response;
//! - `echo` (docs/echo-contract.md): what the application says it received
//!   equals what was sent (the `ECHO_*` params, STDIN, and DATA where the
//!   target echoes it);
//! - `unknown-role` (R-5.1-3), `end-request` (R-5.5-5), `abort-answered`
//!   (R-5.4-1), `closes-without-keep-conn` (R-3.5-1), `keeps-conn`
//!   (R-5.1-2), `get-values-answered` (R-4.1-1), `get-values-unknown-names`
//!   (R-4.1-2), `unknown-type-answered` (R-4.2-1).

use std::collections::BTreeMap;

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::connection::{RequestId, WebServer, WebServerConfig, WebServerEvent as Ev};
use fcgi_proto::decoder::Decoder;
use fcgi_proto::management::KNOWN_VARIABLES;
use fcgi_proto::name_value;
use fcgi_proto::record::{ParseOptions, RecordType, MAX_RECORD_LEN};
use fcgi_proto::requirement::{self as req, Requirement};
use fcgi_proto::role::Role;
use fcgi_proto::stream::StreamType;

use crate::app::request::{cgi, parse_echo};
use crate::conversation::{Connection, Dir, Event, Finding};

/// Most STDOUT bytes kept per request for the CGI and echo checks.
pub const MAX_STDOUT: usize = 16 << 20;

/// What the oracle may assume of the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Contract {
    /// The target follows the echo contract (its known-good answer was an echo).
    pub echo: bool,
    /// Its Filter echo has a `data` line (the reference application's does).
    pub filter_data: bool,
}

/// A finding for `r`.
pub fn finding(property: &str, r: Requirement, expected: String, observed: String) -> Finding {
    Finding {
        property: property.to_string(),
        requirement: r.id().to_string(),
        section: r.section().short().to_string(),
        expected,
        observed,
    }
}

#[derive(Default)]
struct Req {
    role: u16,
    keep: bool,
    params: Vec<u8>,
    stdin: Vec<u8>,
    data: Vec<u8>,
    aborted: bool,
    stdout: Vec<u8>,
    ended: bool,
}

/// One connection's state while its events are walked.
struct Walk {
    ws: WebServer,
    sent: Decoder,
    got: Decoder,
    reqs: BTreeMap<u16, Req>,
    /// Ids in the order they were begun.
    order: Vec<u16>,
    get_values: usize,
    get_values_answers: usize,
    unknown_sent: Vec<u8>,
    unknown_answers: Vec<u8>,
    /// Bytes were sent that break a rule on purpose (`--hostile`).
    hostile: bool,
    /// What was sent no longer frames: the machine is told nothing more.
    sent_broken: bool,
    /// The keep_conn flag of the request that ended last.
    last_end_keep: Option<bool>,
    contract: Contract,
}

fn preview(b: &[u8]) -> String {
    fcgi_proto::dump::preview(b, 48)
}

impl Walk {
    fn new(contract: Contract) -> Self {
        let loose = ParseOptions::default().with_strict_version(false);
        Walk {
            ws: WebServer::new(WebServerConfig::default().with_require_stdout_end(false)),
            sent: Decoder::with_options(loose, 2 * MAX_RECORD_LEN + (64 << 20)),
            got: Decoder::with_options(ParseOptions::default(), 2 * MAX_RECORD_LEN + (64 << 20)),
            reqs: BTreeMap::new(),
            order: Vec::new(),
            get_values: 0,
            get_values_answers: 0,
            unknown_sent: Vec::new(),
            unknown_answers: Vec::new(),
            hostile: false,
            sent_broken: false,
            last_end_keep: None,
            contract,
        }
    }

    /// Tells the machine what the runner sent. Our own records that the
    /// machine refuses (an ABORT after the answer came, say) only update
    /// our bookkeeping: the order of bytes on the wire decides.
    fn sent(&mut self, bytes: &[u8]) {
        if self.sent_broken || self.sent.push(bytes).is_err() {
            self.sent_broken = true;
            self.hostile = true;
            return;
        }
        let mut scratch = Vec::new();
        // Bounded: each turn takes one record out of what was pushed.
        loop {
            let rec = match self.sent.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(_) => {
                    self.sent_broken = true;
                    self.hostile = true;
                    break;
                }
            };
            if rec.header.version != 1 {
                self.sent_broken = true;
                self.hostile = true;
                break;
            }
            let id16 = rec.request_id();
            let id = RequestId::new(id16);
            let c = rec.content;
            match (rec.record_type(), id) {
                (RecordType::BeginRequest, Some(id)) => {
                    let role = u16::from_be_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ]);
                    let keep = c.get(2).is_some_and(|f| f & 1 == 1);
                    if self
                        .ws
                        .begin_request(id, Role::from_u16(role), keep, &mut scratch)
                        .is_err()
                    {
                        // The runner broke a rule (R-5.1-6: an active id
                        // begun again): what follows proves nothing.
                        self.hostile = true;
                    }
                    self.reqs.insert(
                        id16,
                        Req {
                            role,
                            keep,
                            ..Req::default()
                        },
                    );
                    self.order.push(id16);
                }
                (RecordType::Params, Some(id)) => {
                    let _ = if c.is_empty() {
                        self.ws.end_stream(StreamType::Params, id, &mut scratch)
                    } else {
                        self.ws.stream(StreamType::Params, id, c, &mut scratch)
                    };
                    if let Some(r) = self.reqs.get_mut(&id16) {
                        r.params.extend_from_slice(c);
                    }
                }
                (RecordType::Stdin, Some(id)) => {
                    let _ = if c.is_empty() {
                        self.ws.end_stream(StreamType::Stdin, id, &mut scratch)
                    } else {
                        self.ws.stream(StreamType::Stdin, id, c, &mut scratch)
                    };
                    if let Some(r) = self.reqs.get_mut(&id16) {
                        r.stdin.extend_from_slice(c);
                    }
                }
                (RecordType::Data, Some(id)) => {
                    let _ = if c.is_empty() {
                        self.ws.end_stream(StreamType::Data, id, &mut scratch)
                    } else {
                        self.ws.stream(StreamType::Data, id, c, &mut scratch)
                    };
                    if let Some(r) = self.reqs.get_mut(&id16) {
                        r.data.extend_from_slice(c);
                    }
                }
                (RecordType::AbortRequest, Some(id)) => {
                    let _ = self.ws.abort_request(id, &mut scratch);
                    if let Some(r) = self.reqs.get_mut(&id16) {
                        r.aborted = true;
                    }
                }
                (RecordType::GetValues, None) => self.get_values += 1,
                (RecordType::Unknown(t), None) => self.unknown_sent.push(t),
                _ => self.hostile = true,
            }
            scratch.clear();
        }
    }

    /// Judges what the target sent.
    fn got(&mut self, bytes: &[u8]) -> Result<(), Finding> {
        let broken = |e: fcgi_proto::Error| {
            finding(
                "records-accepted",
                e.requirement().unwrap_or(req::R_3_3_6),
                "every record the application sends is accepted by the web-server machine".into(),
                e.to_string(),
            )
        };
        self.got.push(bytes).map_err(broken)?;
        // Bounded: each turn takes one record out of what was pushed.
        loop {
            let rec = match self.got.next_record().map_err(broken)? {
                Some(r) => r,
                None => return Ok(()),
            };
            let ev = self.ws.handle(&rec).map_err(broken)?;
            match ev {
                Ev::GetValuesResult { block } => {
                    self.get_values_answers += 1;
                    let mut it = name_value::pairs(&block);
                    while let Some(Ok(p)) = it.next_pair() {
                        if !KNOWN_VARIABLES.iter().any(|k| k.as_bytes() == p.name) {
                            return Err(finding(
                                "get-values-unknown-names",
                                req::R_4_1_2,
                                "names the application does not know are left out of GET_VALUES_RESULT".into(),
                                format!("GET_VALUES_RESULT names {}", preview(p.name)),
                            ));
                        }
                    }
                }
                Ev::UnknownType(body) => self.unknown_answers.push(body.record_type),
                Ev::Stdout { request_id, data } => {
                    if let Some(r) = self.reqs.get_mut(&request_id.get()) {
                        let room = MAX_STDOUT.saturating_sub(r.stdout.len());
                        r.stdout.extend_from_slice(
                            data.get(..data.len().min(room)).unwrap_or_default(),
                        );
                    }
                }
                Ev::EndRequest {
                    request_id,
                    body,
                    stdout_ended,
                    ..
                } => {
                    let id = request_id.get();
                    if let Some(r) = self.reqs.get_mut(&id) {
                        r.ended = true;
                        self.last_end_keep = Some(r.keep);
                    }
                    if let Some(r) = self.reqs.get(&id) {
                        // R-5.3-1 as the app suite checks it (app/5.3/stdout-ended):
                        // a completed answer ends STDOUT; an aborted one need not have begun it.
                        if !stdout_ended
                            && !r.aborted
                            && body.protocol_status == ProtocolStatus::RequestComplete
                        {
                            return Err(finding(
                                "records-accepted",
                                req::R_5_3_1,
                                "the empty STDOUT record before END_REQUEST".into(),
                                format!("END_REQUEST for request {id} with STDOUT not ended (at byte {})", rec.offset),
                            ));
                        }
                        judge_end(r, id, body.protocol_status, self.contract)?;
                    }
                }
                _ => {}
            }
        }
    }

    fn pending(&self) -> Option<(u16, &Req)> {
        self.order
            .iter()
            .find_map(|id| self.reqs.get(id).filter(|r| !r.ended).map(|r| (*id, r)))
    }

    /// The target closed the connection first.
    fn target_closed(&self) -> Result<(), Finding> {
        if self.hostile {
            return Ok(());
        }
        if self.last_end_keep == Some(true) {
            return Err(finding(
                "keeps-conn",
                req::R_5_1_2,
                "the connection stays open after a request with FCGI_KEEP_CONN".into(),
                "the application closed it after END_REQUEST".into(),
            ));
        }
        if let Some((id, _)) = self.pending() {
            return Err(finding(
                "end-request",
                req::R_5_5_5,
                format!("END_REQUEST for request {id} before the connection closes"),
                "the application closed the connection without it".into(),
            ));
        }
        Ok(())
    }

    /// The runner closed first: after the timeout, or once all was answered.
    fn runner_closed(&self, close_expected: bool) -> Result<(), Finding> {
        if self.hostile {
            return Ok(());
        }
        if let Some((id, r)) = self.pending() {
            let (property, rq, what) = if r.aborted {
                ("abort-answered", req::R_5_4_1, "after ABORT_REQUEST, ")
            } else {
                ("end-request", req::R_5_5_5, "")
            };
            return Err(finding(
                property,
                rq,
                format!("{what}END_REQUEST for request {id} within the timeout"),
                "none came".into(),
            ));
        }
        if close_expected && !self.order.is_empty() {
            return Err(finding(
                "closes-without-keep-conn",
                req::R_3_5_1,
                "the application closes the connection after END_REQUEST of a request without FCGI_KEEP_CONN".into(),
                "it was still open after the timeout".into(),
            ));
        }
        if self.get_values_answers < self.get_values {
            return Err(finding(
                "get-values-answered",
                req::R_4_1_1,
                format!("{} GET_VALUES_RESULT records", self.get_values),
                format!("{} within the timeout", self.get_values_answers),
            ));
        }
        if let Some(t) = self
            .unknown_sent
            .iter()
            .find(|t| !self.unknown_answers.contains(t))
        {
            return Err(finding(
                "unknown-type-answered",
                req::R_4_2_1,
                format!("UNKNOWN_TYPE naming type {t}"),
                "none within the timeout".into(),
            ));
        }
        Ok(())
    }
}

fn judge_end(r: &Req, id: u16, status: ProtocolStatus, contract: Contract) -> Result<(), Finding> {
    let role = Role::from_u16(r.role);
    if matches!(role, Role::Unknown(_)) {
        if status != ProtocolStatus::UnknownRole {
            return Err(finding(
                "unknown-role",
                req::R_5_1_3,
                format!("END_REQUEST FCGI_UNKNOWN_ROLE for role {}", r.role),
                format!("{} for request {id}", status.name()),
            ));
        }
        return Ok(());
    }
    if r.aborted || status != ProtocolStatus::RequestComplete {
        return Ok(());
    }
    let out = cgi(&r.stdout).map_err(|e| {
        finding(
            "cgi-head",
            req::R_6_2_2,
            "STDOUT is a CGI/1.1 response: header lines, a blank line, the body".into(),
            format!("request {id}: {e}"),
        )
    })?;
    if !contract.echo || role == Role::Authorizer {
        return Ok(());
    }
    let echo = parse_echo(out.body).ok_or_else(|| {
        finding(
            "echo",
            req::R_6_2_1,
            "an FCGI-ECHO/1 body (docs/echo-contract.md)".into(),
            format!("request {id}: {}", preview(out.body)),
        )
    })?;
    let mut it = name_value::pairs(&r.params);
    while let Some(Ok(p)) = it.next_pair() {
        if !p.name.starts_with(b"ECHO_") {
            continue;
        }
        let name = String::from_utf8_lossy(p.name).to_string();
        let want = String::from_utf8_lossy(p.value).to_string();
        let got = echo.params.get(&name);
        if got != Some(&want) {
            let rq = if p.value.len() > 127 || p.name.len() > 127 {
                req::R_3_4_2
            } else if p.name_form != name_value::LengthForm::shortest(p.name.len())
                || p.value_form != name_value::LengthForm::shortest(p.value.len())
            {
                req::R_3_4_3
            } else {
                req::R_3_4_4
            };
            return Err(finding(
                "echo",
                rq,
                format!(
                    "request {id}: param {name} of {} bytes received as sent",
                    p.value.len()
                ),
                match got {
                    Some(v) => format!("{} bytes: {}", v.len(), preview(v.as_bytes())),
                    None => "not received".into(),
                },
            ));
        }
    }
    if echo.stdin != r.stdin {
        return Err(finding(
            "echo",
            req::R_3_3_12,
            format!(
                "request {id}: STDIN of {} bytes received as sent",
                r.stdin.len()
            ),
            format!("{} bytes: {}", echo.stdin.len(), preview(echo.stdin)),
        ));
    }
    if role == Role::Filter && contract.filter_data && echo.data != Some(&r.data) {
        return Err(finding(
            "echo",
            req::R_6_4_1,
            format!(
                "request {id}: DATA of {} bytes received as sent",
                r.data.len()
            ),
            match &echo.data {
                Some(d) => format!("{} bytes: {}", d.len(), preview(d)),
                None => "no data line".into(),
            },
        ));
    }
    Ok(())
}

/// The first property the recorded connections break, in event order.
pub fn judge(connections: &[Connection], contract: Contract) -> Option<Finding> {
    connections
        .iter()
        .find_map(|c| judge_conn(c, contract).err())
}

fn judge_conn(c: &Connection, contract: Contract) -> Result<(), Finding> {
    let mut w = Walk::new(contract);
    let mut all_sent = Vec::new();
    for e in &c.events {
        match e {
            Event::Write {
                dir: Dir::ToTarget,
                hex,
                ..
            } => {
                all_sent.extend_from_slice(hex);
                w.sent(hex);
            }
            Event::Write {
                dir: Dir::FromTarget,
                hex,
                ..
            } => w.got(hex)?,
            Event::Close {
                close: Dir::FromTarget,
                ..
            } => {
                w.got.finish().map_err(|e| {
                    finding(
                        "records-accepted",
                        e.requirement().unwrap_or(req::R_3_3_6),
                        "whole records before the application closes".into(),
                        e.to_string(),
                    )
                })?;
                return w.target_closed();
            }
            Event::Close {
                close: Dir::ToTarget,
                ..
            } => {
                let e = super::run::expect(&all_sent);
                return w.runner_closed(e.close_expected);
            }
        }
    }
    Ok(())
}
