//! The live check of one relayed connection: the web server's bytes are
//! judged by the codec's application-side machine
//! (`fcgi_proto::connection::Application`, which is fed the web server's
//! records), the application's bytes by the web-server-side machine
//! (`fcgi_proto::connection::WebServer`, fed the application's records).
//! Each machine is also told what the other party sent (the web server's
//! BEGIN_REQUEST, stream ends and ABORT_REQUEST to the web-server machine,
//! the application's stream ends and END_REQUEST to the application
//! machine), so that both know which requests are active.
//!
//! A completed END_REQUEST must come after the empty STDOUT record
//! (R-5.3-1; an aborted request need not have begun STDOUT), judged from
//! the machine's `stdout_ended` as `explore`'s oracle and so `replay`
//! judge it: the END_REQUEST still ends the request, so that the requests
//! after it on a kept connection are judged too.
//!
//! After a violation by the web server, the application's answers on that
//! connection are no longer judged (they answer bytes that break a rule,
//! as the oracle treats `--hostile` runs). Once a direction no longer frames
//! (a bad header, a cut record at the close), nothing more of it is judged.

use std::fmt;

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::connection::{
    Application, ApplicationConfig, ApplicationEvent as AppEv, InactivePolicy, RequestId,
    WebServer, WebServerConfig, WebServerEvent as WsEv,
};
use fcgi_proto::decoder::Decoder;
use fcgi_proto::requirement::{self as req, Requirement};
use fcgi_proto::stream::StreamType;

use crate::conversation::Finding;

/// Who sent the bytes a violation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The web server (the proxy's client).
    WebServer,
    /// The application (the proxy's upstream).
    Application,
}

impl Party {
    /// `web-server` or `application`, as the report and the JSON say it.
    pub fn name(self) -> &'static str {
        match self {
            Party::WebServer => "web-server",
            Party::Application => "application",
        }
    }
}

/// One rule broken on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Who sent the offending bytes.
    pub party: Party,
    /// The request id of the offending record, when it had one.
    pub request_id: Option<u16>,
    /// The requirement broken, when the codec names one.
    pub requirement: Option<Requirement>,
    /// The spec section, e.g. `5.3`.
    pub section: String,
    /// Byte offset in that party's direction.
    pub offset: u64,
    /// What was wrong.
    pub detail: String,
}

impl Violation {
    fn of(party: Party, request_id: Option<u16>, e: &fcgi_proto::Error) -> Violation {
        Violation {
            party,
            request_id,
            requirement: e.requirement(),
            section: e.section().short().to_string(),
            offset: e.offset(),
            detail: e.to_string(),
        }
    }

    /// The requirement ID, or `-` when the codec names none.
    pub fn requirement_id(&self) -> &'static str {
        self.requirement.map_or("-", Requirement::id)
    }

    /// The finding a conversation file carries for it, as `replay`'s oracle
    /// words an application's broken record (`records-accepted`).
    pub fn finding(&self) -> Finding {
        Finding {
            property: "records-accepted".into(),
            requirement: self.requirement.unwrap_or(req::R_3_3_6).id().to_string(),
            section: self.section.clone(),
            expected: "every record the application sends is accepted by the web-server machine"
                .into(),
            observed: self.detail.clone(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} §{} at byte {}",
            self.party.name(),
            self.requirement_id(),
            self.section,
            self.offset
        )?;
        if let Some(id) = self.request_id {
            write!(f, " request {id}")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// What the checker counted on one connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// BEGIN_REQUEST records the web server sent.
    pub requests: u64,
    /// END_REQUEST records the application sent.
    pub completed: u64,
}

/// The check of one connection, fed each direction's bytes in the order
/// the relay read them.
pub struct Check {
    from_ws: Decoder,
    from_app: Decoder,
    /// Judges the web server's records.
    app: Application,
    /// Judges the application's records.
    ws: WebServer,
    ws_framing_lost: bool,
    app_framing_lost: bool,
    /// The web server closed (or shut down writing) first.
    ws_closed: bool,
    /// Why the application's records are no longer judged, once they are not.
    app_unjudged: Option<String>,
    counts: Counts,
    scratch: Vec<u8>,
}

impl Default for Check {
    fn default() -> Self {
        Check::new()
    }
}

fn id_of(raw: u16) -> Option<u16> {
    (raw != 0).then_some(raw)
}

impl Check {
    /// A check with the codec's default limits.
    pub fn new() -> Check {
        Check {
            from_ws: Decoder::new(),
            from_app: Decoder::new(),
            // Records for an inactive id are ignored by the application (§3.3):
            // an ABORT_REQUEST crossing the END_REQUEST on the wire is no fault.
            app: Application::new(
                ApplicationConfig::default().with_inactive(InactivePolicy::Ignore),
            ),
            // R-5.3-1 is judged from `stdout_ended` (see the module documentation).
            ws: WebServer::new(WebServerConfig::default().with_require_stdout_end(false)),
            ws_framing_lost: false,
            app_framing_lost: false,
            ws_closed: false,
            app_unjudged: None,
            counts: Counts::default(),
            scratch: Vec::new(),
        }
    }

    /// What was counted so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Why the application's side is no longer judged, if it is not.
    pub fn app_unjudged(&self) -> Option<&str> {
        self.app_unjudged.as_deref()
    }

    fn unjudge(&mut self, why: String) {
        if self.app_unjudged.is_none() {
            self.app_unjudged = Some(why);
        }
    }

    /// The web server's bytes no longer frame (at `e`): nothing more of
    /// them is judged, nor what the application answers after.
    fn ws_framing_lost_at(&mut self, e: &fcgi_proto::Error, out: &mut Vec<Violation>) {
        self.ws_framing_lost = true;
        self.unjudge(format!(
            "the web server's bytes stopped framing at byte {}",
            e.offset()
        ));
        out.push(Violation::of(Party::WebServer, None, e));
    }

    /// The application's bytes no longer frame (at `e`): a violation unless
    /// its answers were no longer judged anyway.
    fn app_framing_lost_at(&mut self, e: &fcgi_proto::Error, out: &mut Vec<Violation>) {
        self.app_framing_lost = true;
        if self.app_unjudged.is_none() {
            out.push(Violation::of(Party::Application, None, e));
        }
    }

    /// Bytes the web server sent; violations are pushed onto `out`.
    pub fn web_server_bytes(&mut self, bytes: &[u8], out: &mut Vec<Violation>) {
        if self.ws_framing_lost {
            return;
        }
        if let Err(e) = self.from_ws.push(bytes) {
            self.ws_framing_lost_at(&e, out);
            return;
        }
        // Bounded: each turn takes one record out of what was pushed.
        loop {
            let rec = match self.from_ws.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => return,
                Err(e) => {
                    self.ws_framing_lost_at(&e, out);
                    return;
                }
            };
            let raw_id = rec.request_id();
            let at = rec.offset;
            let ev = match self.app.handle(&rec) {
                Ok(ev) => ev.into_owned(),
                Err(e) => {
                    self.app_unjudged.get_or_insert_with(|| {
                        format!("after the web server's violation at byte {}", e.offset())
                    });
                    out.push(Violation::of(Party::WebServer, id_of(raw_id), &e));
                    continue;
                }
            };
            let scratch = &mut self.scratch;
            scratch.clear();
            let told = match ev {
                AppEv::BeginRequest {
                    request_id,
                    role,
                    keep_conn,
                } => {
                    self.counts.requests += 1;
                    self.ws
                        .begin_request(request_id, role, keep_conn, scratch)
                        .map_err(|e| (request_id, e))
                }
                AppEv::ParamsEnd { request_id, .. } => self
                    .ws
                    .end_stream(StreamType::Params, request_id, scratch)
                    .map_err(|e| (request_id, e)),
                AppEv::StdinEnd { request_id } => self
                    .ws
                    .end_stream(StreamType::Stdin, request_id, scratch)
                    .map_err(|e| (request_id, e)),
                AppEv::DataEnd { request_id } => self
                    .ws
                    .end_stream(StreamType::Data, request_id, scratch)
                    .map_err(|e| (request_id, e)),
                AppEv::AbortRequest { request_id } if self.ws.is_active(request_id) => self
                    .ws
                    .abort_request(request_id, scratch)
                    .map_err(|e| (request_id, e)),
                _ => Ok(()),
            };
            if let Err((id, e)) = told {
                // The two machines no longer agree on this request: what
                // the application sends for it would be misjudged.
                self.unjudge(format!(
                    "the web server's record at byte {at} for request {id} left the machines apart ({e})"
                ));
            }
        }
    }

    /// Bytes the application sent; violations are pushed onto `out`.
    pub fn application_bytes(&mut self, bytes: &[u8], out: &mut Vec<Violation>) {
        if self.app_framing_lost {
            return;
        }
        if let Err(e) = self.from_app.push(bytes) {
            self.app_framing_lost_at(&e, out);
            return;
        }
        // Bounded: each turn takes one record out of what was pushed.
        loop {
            let rec = match self.from_app.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => return,
                Err(e) => {
                    self.app_framing_lost_at(&e, out);
                    return;
                }
            };
            if self.app_unjudged.is_some() {
                if rec.record_type() == fcgi_proto::record::RecordType::EndRequest {
                    self.counts.completed += 1;
                }
                continue;
            }
            let raw_id = rec.request_id();
            let at = rec.offset;
            let ev = match self.ws.handle(&rec) {
                Ok(ev) => ev,
                Err(e) => {
                    out.push(Violation::of(Party::Application, id_of(raw_id), &e));
                    continue;
                }
            };
            let scratch = &mut self.scratch;
            scratch.clear();
            match ev {
                WsEv::StdoutEnd { request_id } => {
                    let _ = self.app.end_stream(StreamType::Stdout, request_id, scratch);
                }
                WsEv::StderrEnd { request_id } => {
                    let _ = self.app.end_stream(StreamType::Stderr, request_id, scratch);
                }
                WsEv::EndRequest {
                    request_id,
                    body,
                    stdout_ended,
                    ..
                } => {
                    self.counts.completed += 1;
                    let aborted = self.app.is_aborted(request_id);
                    if !stdout_ended
                        && !aborted
                        && body.protocol_status == ProtocolStatus::RequestComplete
                    {
                        out.push(Violation {
                            party: Party::Application,
                            request_id: Some(request_id.get()),
                            requirement: Some(req::R_5_3_1),
                            section: req::R_5_3_1.section().short().to_string(),
                            offset: at,
                            detail: format!(
                                "END_REQUEST for request {request_id} with STDOUT not ended: \
                                 the empty STDOUT record must come first"
                            ),
                        });
                    }
                    let _ = self.app.end_request(
                        request_id,
                        body.app_status,
                        body.protocol_status,
                        scratch,
                    );
                }
                _ => {}
            }
        }
    }

    /// The web server closed (or shut down writing): a record cut short
    /// is a violation.
    pub fn web_server_closed(&mut self, out: &mut Vec<Violation>) {
        self.ws_closed = true;
        if self.ws_framing_lost {
            return;
        }
        if let Err(e) = self.from_ws.finish() {
            self.ws_framing_lost = true;
            self.unjudge(format!(
                "the web server closed in the middle of a record at byte {}",
                e.offset()
            ));
            out.push(Violation::of(Party::WebServer, None, &e));
        }
    }

    /// The application closed (or shut down writing): a record cut short
    /// is a violation, and so is a request left without END_REQUEST
    /// (R-5.5-5) while the web server's side was still open (a web server
    /// that closed first abandoned its requests).
    pub fn application_closed(&mut self, out: &mut Vec<Violation>) {
        if self.app_framing_lost || self.app_unjudged.is_some() {
            return;
        }
        if let Err(e) = self.from_app.finish() {
            self.app_framing_lost = true;
            out.push(Violation::of(Party::Application, None, &e));
            return;
        }
        let pending: Vec<RequestId> = self.ws.active().collect();
        if let Some(id) = pending.first().filter(|_| !self.ws_closed) {
            out.push(Violation {
                party: Party::Application,
                request_id: Some(id.get()),
                requirement: Some(req::R_5_5_5),
                section: req::R_5_5_5.section().short().to_string(),
                offset: self.from_app.position(),
                detail: format!(
                    "the application closed the connection with {} request(s) active ({id} first) and no END_REQUEST for them",
                    pending.len()
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fcgi_proto::encoder::Encoder;
    use fcgi_proto::role::Role;

    fn request(id: u16, keep: bool) -> Vec<u8> {
        let enc = Encoder::default();
        let mut w = Vec::new();
        let _ = enc.begin_request(id, Role::Responder, keep, &mut w);
        let _ = enc.end_stream(StreamType::Params, id, &mut w);
        let _ = enc.end_stream(StreamType::Stdin, id, &mut w);
        w
    }

    fn answer(id: u16, end_stdout: bool) -> Vec<u8> {
        let enc = Encoder::default();
        let mut w = Vec::new();
        let _ = enc.stream(StreamType::Stdout, id, b"Status: 200\r\n\r\nhi", &mut w);
        if end_stdout {
            let _ = enc.end_stream(StreamType::Stdout, id, &mut w);
        }
        let _ = enc.end_request(id, 0, ProtocolStatus::RequestComplete, &mut w);
        w
    }

    #[test]
    fn a_faithful_exchange_on_a_kept_connection_is_clean() {
        let mut c = Check::new();
        let mut v = Vec::new();
        for _ in 0..3 {
            let (q, a) = (request(1, true), answer(1, true));
            // Byte by byte on one side: framing does not depend on reads.
            for b in &q {
                c.web_server_bytes(std::slice::from_ref(b), &mut v);
            }
            c.application_bytes(&a, &mut v);
        }
        c.web_server_closed(&mut v);
        c.application_closed(&mut v);
        assert!(v.is_empty(), "{v:?}");
        assert_eq!(
            c.counts(),
            Counts {
                requests: 3,
                completed: 3
            }
        );
    }

    #[test]
    fn end_request_before_stdout_end_is_r_5_3_1_and_the_next_request_is_judged() {
        let mut c = Check::new();
        let mut v = Vec::new();
        c.web_server_bytes(&request(1, true), &mut v);
        c.application_bytes(&answer(1, false), &mut v);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].party, Party::Application);
        assert_eq!(v[0].requirement_id(), "R-5.3-1");
        assert_eq!(v[0].request_id, Some(1));
        assert_eq!(v[0].finding().requirement, "R-5.3-1");
        // The same id again: the END_REQUEST ended it for both machines.
        c.web_server_bytes(&request(1, true), &mut v);
        c.application_bytes(&answer(1, true), &mut v);
        assert_eq!(v.len(), 1, "{v:?}");
    }

    #[test]
    fn records_for_an_id_never_begun_are_the_application_s_fault() {
        let mut c = Check::new();
        let mut v = Vec::new();
        c.web_server_bytes(&request(1, true), &mut v);
        c.application_bytes(&answer(2, true), &mut v);
        assert!(!v.is_empty());
        assert!(v.iter().all(|x| x.party == Party::Application), "{v:?}");
        assert!(v[0].to_string().contains("application"), "{}", v[0]);
    }

    #[test]
    fn a_web_server_violation_stops_judging_the_application() {
        let mut c = Check::new();
        let mut v = Vec::new();
        let mut q = request(1, true);
        q.extend(request(1, true)); // R-5.1-6: an active id begun again
        c.web_server_bytes(&q, &mut v);
        // The refused BEGIN_REQUEST's PARAMS and STDIN land on the ended streams.
        assert_eq!(v.len(), 3, "{v:?}");
        assert!(v.iter().all(|x| x.party == Party::WebServer), "{v:?}");
        assert_eq!(v[0].requirement_id(), "R-5.1-6");
        c.application_bytes(&answer(7, false), &mut v);
        assert_eq!(v.len(), 3, "{v:?}");
        assert!(c.app_unjudged().is_some());
    }

    #[test]
    fn a_close_mid_record_or_mid_request_is_reported() {
        let mut c = Check::new();
        let mut v = Vec::new();
        c.web_server_bytes(&request(1, true), &mut v);
        c.application_bytes(&answer(1, true)[..5], &mut v);
        c.application_closed(&mut v);
        assert_eq!(v.len(), 1, "{v:?}");
        let mut c = Check::new();
        let mut v = Vec::new();
        c.web_server_bytes(&request(1, true), &mut v);
        c.application_closed(&mut v);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].requirement_id(), "R-5.5-5");
        // A web server that closed first abandoned the request.
        let mut c = Check::new();
        let mut v = Vec::new();
        c.web_server_bytes(&request(1, true), &mut v);
        c.web_server_closed(&mut v);
        c.application_closed(&mut v);
        assert!(v.is_empty(), "{v:?}");
    }
}
