//! The web server's side of one transport connection (§3.3, §4, §5, §6):
//! a sans-IO state machine used to write requests and fed the records the
//! application sent back. The core it shares with the application's side,
//! and what happens after an error, are in [`super`].
//!
//! Choices where the specification is vague (see spec/src/open-questions.md):
//! - Any record for an id that is not active is an error: the web server
//!   chose every id, so nothing legitimate can arrive for one it did not start
//!   or that already ended (R-5.5-4).
//! - END_REQUEST while STDOUT is still open is reported in
//!   [`WebServerEvent::EndRequest`] (`stdout_ended: false`), not refused, unless
//!   [`WebServerConfig::require_stdout_end`] is set.
//! - Output before the web server ended PARAMS is an error (R-6.2-4): an
//!   application cannot know its parameters before the empty PARAMS record.
//!   After ABORT_REQUEST it is accepted, as the application side allows, so
//!   that an aborted request can be ended at once (§5.4).

use std::borrow::Cow;
use std::collections::BTreeSet;

use super::{Core, Inbound, RequestId};
use crate::application::{EndRequestBody, ProtocolStatus};
use crate::encoder::Encoder;
use crate::error::{Direction, Error, ErrorKind, UsageError, UsageKind};
use crate::limits::Limits;
use crate::management::UnknownTypeBody;
use crate::name_value;
use crate::record::{Record, RecordType};
use crate::role::Role;
use crate::stream::StreamType;

/// Configuration of the web server's side. Built from its `Default` with
/// the `with_*` methods, so that a field added later breaks no caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WebServerConfig {
    /// Limits on what the application can make us hold.
    pub limits: Limits,
    /// Refuse END_REQUEST with `FCGI_REQUEST_COMPLETE` while STDOUT is open
    /// (R-5.3-1); refusals carry no output and are exempt. Default false.
    pub require_stdout_end: bool,
    /// How records are written.
    pub encoder: Encoder,
}

impl WebServerConfig {
    /// The same configuration with other limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The same configuration, refusing END_REQUEST before STDOUT ended or not.
    pub fn with_require_stdout_end(mut self, require: bool) -> Self {
        self.require_stdout_end = require;
        self
    }

    /// The same configuration with another encoder.
    pub fn with_encoder(mut self, encoder: Encoder) -> Self {
        self.encoder = encoder;
        self
    }
}

/// Something the application said, in the spec's terms: one per record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebServerEvent<'a> {
    /// `FCGI_GET_VALUES_RESULT` (§4.1): a checked name-value block.
    GetValuesResult {
        /// The block.
        block: Cow<'a, [u8]>,
    },
    /// `FCGI_UNKNOWN_TYPE` (§4.2): the application did not know a type we sent.
    UnknownType(UnknownTypeBody),
    /// A record type this side does not know; the spec asks nothing of the web server.
    UnknownRecord {
        /// The type code.
        record_type: u8,
        /// Its request id (any value, 0 included).
        request_id: u16,
        /// Its content.
        content: Cow<'a, [u8]>,
    },
    /// STDOUT content (§5.3).
    Stdout {
        /// The request id.
        request_id: RequestId,
        /// The bytes of this record.
        data: Cow<'a, [u8]>,
    },
    /// STDOUT ended by its empty record.
    StdoutEnd {
        /// The request id.
        request_id: RequestId,
    },
    /// STDERR content (§5.3).
    Stderr {
        /// The request id.
        request_id: RequestId,
        /// The bytes of this record.
        data: Cow<'a, [u8]>,
    },
    /// STDERR ended by its empty record.
    StderrEnd {
        /// The request id.
        request_id: RequestId,
    },
    /// `FCGI_END_REQUEST` (§5.5): the id is inactive again.
    EndRequest {
        /// The request id.
        request_id: RequestId,
        /// appStatus and protocolStatus.
        body: EndRequestBody,
        /// Whether STDOUT had been ended by its empty record.
        stdout_ended: bool,
        /// Whether STDERR had been ended by its empty record.
        stderr_ended: bool,
        /// Whether the request asked for `FCGI_KEEP_CONN`; if not, the
        /// application now closes the connection (R-3.5-1).
        keep_conn: bool,
    },
}

impl WebServerEvent<'_> {
    /// The same event owning its bytes, to keep past the record it came from.
    pub fn into_owned(self) -> WebServerEvent<'static> {
        use WebServerEvent as E;
        let own = |c: Cow<'_, [u8]>| Cow::Owned(c.into_owned());
        match self {
            E::GetValuesResult { block } => E::GetValuesResult { block: own(block) },
            E::UnknownType(b) => E::UnknownType(b),
            E::UnknownRecord {
                record_type,
                request_id,
                content,
            } => E::UnknownRecord {
                record_type,
                request_id,
                content: own(content),
            },
            E::Stdout { request_id, data } => E::Stdout {
                request_id,
                data: own(data),
            },
            E::StdoutEnd { request_id } => E::StdoutEnd { request_id },
            E::Stderr { request_id, data } => E::Stderr {
                request_id,
                data: own(data),
            },
            E::StderrEnd { request_id } => E::StderrEnd { request_id },
            E::EndRequest {
                request_id,
                body,
                stdout_ended,
                stderr_ended,
                keep_conn,
            } => E::EndRequest {
                request_id,
                body,
                stdout_ended,
                stderr_ended,
                keep_conn,
            },
        }
    }

    /// The request id the event belongs to; `None` for management records
    /// and unknown types.
    pub fn request_id(&self) -> Option<RequestId> {
        use WebServerEvent as E;
        match self {
            E::GetValuesResult { .. } | E::UnknownType(_) | E::UnknownRecord { .. } => None,
            E::Stdout { request_id, .. }
            | E::StdoutEnd { request_id }
            | E::Stderr { request_id, .. }
            | E::StderrEnd { request_id }
            | E::EndRequest { request_id, .. } => Some(*request_id),
        }
    }
}

/// The web server's side of one connection: it writes requests, and is fed
/// the application's records with [`WebServer::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebServer {
    core: Core,
    require_stdout_end: bool,
    /// Ids that ended with END_REQUEST and were not begun again (R-5.5-4).
    ended: BTreeSet<RequestId>,
}

impl Default for WebServer {
    fn default() -> Self {
        WebServer::new(WebServerConfig::default())
    }
}

impl WebServer {
    /// A connection with the given configuration.
    pub fn new(config: WebServerConfig) -> Self {
        WebServer {
            core: Core::new(config.limits, config.encoder, Direction::ToWebServer),
            require_stdout_end: config.require_stdout_end,
            ended: BTreeSet::new(),
        }
    }

    /// Request ids active now.
    pub fn active(&self) -> impl Iterator<Item = RequestId> + '_ {
        self.core.requests.keys().copied()
    }

    /// Whether `request_id` is active.
    pub fn is_active(&self, request_id: RequestId) -> bool {
        self.core.requests.contains_key(&request_id)
    }

    /// The role an active request was begun with.
    pub fn role(&self, request_id: RequestId) -> Option<Role> {
        self.core.requests.get(&request_id).map(|r| r.role)
    }

    /// The lowest id in 1..=65535 that is not active.
    pub fn free_id(&self) -> Option<RequestId> {
        (1..=u16::MAX)
            .filter_map(RequestId::new)
            .find(|id| !self.core.requests.contains_key(id))
    }

    /// Writes BEGIN_REQUEST (§5.1) and makes `request_id` active. Fails
    /// for an active id, past `max_requests`, or once a request without
    /// `FCGI_KEEP_CONN` has ended: the application closes the connection
    /// then (R-3.5-1), so a new request needs a new one
    /// ([`UsageKind::ConnectionClosed`]).
    pub fn begin_request(
        &mut self,
        request_id: RequestId,
        role: Role,
        keep_conn: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        if self.core.closing {
            return Err(UsageError::new(UsageKind::ConnectionClosed));
        }
        self.core
            .begin(request_id, role, keep_conn)
            .map_err(|r| r.usage(request_id))?;
        if let Err(e) = self
            .core
            .encoder
            .begin_request(request_id.get(), role, keep_conn, out)
        {
            self.core.requests.remove(&request_id);
            return Err(e);
        }
        self.ended.remove(&request_id);
        Ok(())
    }

    /// Writes pairs on the PARAMS stream (§5.2), shortest length forms.
    pub fn params<'p, I>(
        &mut self,
        request_id: RequestId,
        pairs: I,
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError>
    where
        I: IntoIterator<Item = (&'p [u8], &'p [u8])>,
    {
        let block = name_value::encode_pairs(pairs)?;
        self.core
            .write_stream(StreamType::Params, request_id, &block, false, out)
    }

    /// Writes `data` on one of the web server's streams (§5.2, §5.3):
    /// PARAMS (raw bytes, e.g. a block built with chosen length forms),
    /// STDIN, or DATA (§6.4), split into as many records as it needs; empty
    /// `data` writes nothing. Refused for STDOUT and STDERR, which only the
    /// application writes (appendix A), after the stream's end, and for an
    /// id that is not active.
    pub fn stream(
        &mut self,
        stream: StreamType,
        request_id: RequestId,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        self.core.write_stream(stream, request_id, data, false, out)
    }

    /// Ends one of the web server's streams with its empty record: PARAMS
    /// always (R-5.2-1), STDIN and DATA once begun (R-5.3-1).
    pub fn end_stream(
        &mut self,
        stream: StreamType,
        request_id: RequestId,
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        self.core.write_stream(stream, request_id, &[], true, out)
    }

    /// Writes ABORT_REQUEST (§5.4); the id stays active until END_REQUEST.
    pub fn abort_request(
        &mut self,
        request_id: RequestId,
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        let enc = self.core.encoder;
        let req = self.core.writable(request_id)?;
        enc.abort_request(request_id.get(), out)?;
        req.aborted = true;
        Ok(())
    }

    /// Writes GET_VALUES (§4.1).
    pub fn get_values<'n, I>(&self, names: I, out: &mut Vec<u8>) -> Result<(), UsageError>
    where
        I: IntoIterator<Item = &'n [u8]>,
    {
        self.core.encoder.get_values(names, out)
    }

    /// Takes one record from the application: one event, or an error that
    /// rejects the record and changes nothing (see [`super`]).
    pub fn handle<'a>(&mut self, record: &Record<'a>) -> Result<WebServerEvent<'a>, Error> {
        let at = record.offset;
        let content = record.content;
        let (t, id) = match self.core.classify(record)? {
            Inbound::Unknown { code, request_id } => {
                return Ok(WebServerEvent::UnknownRecord {
                    record_type: code,
                    request_id,
                    content: Cow::Borrowed(content),
                })
            }
            Inbound::Management(RecordType::UnknownType, body) => {
                return Ok(WebServerEvent::UnknownType(UnknownTypeBody::parse(
                    body,
                    record.content_offset(),
                )?))
            }
            Inbound::Management(_, block) => {
                return Ok(WebServerEvent::GetValuesResult {
                    block: Cow::Borrowed(block),
                })
            }
            Inbound::Request(t, id) => (t, id),
        };
        let Some(req) = self.core.requests.get_mut(&id) else {
            let kind = if self.ended.contains(&id) {
                ErrorKind::RequestEnded(id.get())
            } else {
                ErrorKind::InactiveRequestId {
                    record_type: t,
                    request_id: id.get(),
                }
            };
            return Err(Error::new(kind, at));
        };
        // A refusal (END_REQUEST) may come at any time; output may not
        // (R-6.2-4), except after an abort, as the application side allows
        // so that a request can be ended at once (§5.4).
        if t != RecordType::EndRequest && !req.streams.is_ended(StreamType::Params) && !req.aborted
        {
            return Err(Error::new(ErrorKind::OutputBeforeParams(id.get()), at));
        }
        if t == RecordType::EndRequest {
            let body = EndRequestBody::parse(content, record.content_offset())?;
            // A refusal carries no output, so it has no STDOUT to end.
            let refusal = body.protocol_status != ProtocolStatus::RequestComplete;
            let stdout_ended = req.streams.is_ended(StreamType::Stdout);
            if self.require_stdout_end && !stdout_ended && !refusal {
                return Err(Error::new(
                    ErrorKind::UnterminatedStream {
                        record_type: RecordType::Stdout,
                        request_id: id.get(),
                    },
                    at,
                ));
            }
            let ev = WebServerEvent::EndRequest {
                request_id: id,
                body,
                stdout_ended,
                stderr_ended: req.streams.is_ended(StreamType::Stderr),
                keep_conn: req.keep_conn,
            };
            self.core.end(id);
            self.ended.insert(id);
            return Ok(ev);
        }
        let Some(stream) = StreamType::of(t) else {
            // Every other type travelling this way was dispatched above.
            return Err(super::wrong_direction(t, Direction::ToWebServer, at));
        };
        let ended = req.streams.receive(stream, id.get(), content.len(), at)?;
        let data = Cow::Borrowed(content);
        Ok(match (stream, ended) {
            (StreamType::Stdout, false) => WebServerEvent::Stdout {
                request_id: id,
                data,
            },
            (StreamType::Stdout, true) => WebServerEvent::StdoutEnd { request_id: id },
            (_, false) => WebServerEvent::Stderr {
                request_id: id,
                data,
            },
            (_, true) => WebServerEvent::StderrEnd { request_id: id },
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::encoder::Encoder;

    fn rid(id: u16) -> RequestId {
        RequestId::new(id).unwrap()
    }
    use crate::application::ProtocolStatus;
    use crate::record::records;

    fn started(id: u16) -> WebServer {
        let mut c = WebServer::default();
        let mut out = Vec::new();
        c.begin_request(rid(id), Role::Responder, true, &mut out)
            .unwrap();
        c.params(rid(id), [(&b"A"[..], &b"1"[..])], &mut out)
            .unwrap();
        c.end_stream(StreamType::Params, rid(id), &mut out).unwrap();
        c.end_stream(StreamType::Stdin, rid(id), &mut out).unwrap();
        c
    }

    fn handle_all(c: &mut WebServer, wire: &[u8]) -> Vec<Result<String, Error>> {
        records(wire)
            .map(|r| c.handle(&r.unwrap()).map(|e| format!("{e:?}")))
            .collect()
    }

    #[test]
    fn response_flow() {
        let enc = Encoder::default();
        let mut w = Vec::new();
        enc.stream(StreamType::Stdout, 1, b"Status: 200\r\n\r\nhi", &mut w)
            .unwrap();
        enc.end_stream(StreamType::Stdout, 1, &mut w).unwrap();
        enc.end_request(1, 0, ProtocolStatus::RequestComplete, &mut w)
            .unwrap();
        let mut c = started(1);
        let r = handle_all(&mut c, &w);
        assert!(r.iter().all(Result::is_ok), "{r:?}");
        assert!(r[2].as_ref().unwrap().contains("stdout_ended: true"));
        assert!(!c.is_active(rid(1)));
    }

    #[test]
    fn second_end_request_and_unknown_ids() {
        let enc = Encoder::default();
        let mut w = Vec::new();
        enc.end_request(1, 0, ProtocolStatus::RequestComplete, &mut w)
            .unwrap();
        enc.end_request(1, 0, ProtocolStatus::RequestComplete, &mut w)
            .unwrap();
        enc.stream(StreamType::Stdout, 9, b"x", &mut w).unwrap();
        let mut c = started(1);
        let r = handle_all(&mut c, &w);
        assert!(r[0].is_ok());
        let e = r[1].clone().unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::RequestEnded(1));
        assert_eq!(e.offset(), 16);
        assert_eq!(e.requirement(), Some(crate::requirement::R_5_5_4));
        assert!(matches!(
            r[2].clone().unwrap_err().kind(),
            ErrorKind::InactiveRequestId { request_id: 9, .. }
        ));
    }

    #[test]
    fn end_request_of_wrong_size() {
        let enc = Encoder::default();
        let mut w = Vec::new();
        enc.record(RecordType::EndRequest, 1, &[0; 5], &mut w)
            .unwrap();
        let mut c = started(1);
        let e = handle_all(&mut c, &w)[0].clone().unwrap_err();
        assert_eq!(e.section().to_string(), "§5.5");
        assert_eq!(e.offset(), 8);
    }

    #[test]
    fn stdout_after_end_and_wrong_direction() {
        let enc = Encoder::default();
        let mut w = Vec::new();
        enc.end_stream(StreamType::Stdout, 1, &mut w).unwrap();
        enc.stream(StreamType::Stdout, 1, b"x", &mut w).unwrap();
        enc.stream(StreamType::Stdin, 1, b"x", &mut w).unwrap();
        let mut c = started(1);
        let r = handle_all(&mut c, &w);
        assert!(matches!(
            r[1].clone().unwrap_err().kind(),
            ErrorKind::StreamAfterEnd { .. }
        ));
        assert!(matches!(
            r[2].clone().unwrap_err().kind(),
            ErrorKind::WrongDirection { .. }
        ));
    }

    #[test]
    fn output_before_params_end() {
        let mut c = WebServer::default();
        let mut out = Vec::new();
        c.begin_request(rid(1), Role::Responder, false, &mut out)
            .unwrap();
        let mut w = Vec::new();
        Encoder::default()
            .stream(StreamType::Stdout, 1, b"x", &mut w)
            .unwrap();
        let e = handle_all(&mut c, &w)[0].clone().unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::OutputBeforeParams(1));
    }

    /// R-4.1-7: names missing from GET_VALUES_RESULT are simply unknown, not an error.
    #[test]
    fn get_values_result_may_omit_names() {
        let mut w = Vec::new();
        let block =
            crate::name_value::encode_pairs([(&b"FCGI_MPXS_CONNS"[..], &b"0"[..])]).unwrap();
        Encoder::default()
            .record(RecordType::GetValuesResult, 0, &block, &mut w)
            .unwrap();
        let mut c = WebServer::default();
        let r = handle_all(&mut c, &w);
        assert!(r[0].as_ref().unwrap().starts_with("GetValuesResult"));
    }

    /// R-3.5-1: after a request without FCGI_KEEP_CONN the connection is done.
    #[test]
    fn no_new_request_after_a_closing_one() {
        let mut c = WebServer::default();
        let mut out = Vec::new();
        c.begin_request(rid(1), Role::Responder, false, &mut out)
            .unwrap();
        c.end_stream(StreamType::Params, rid(1), &mut out).unwrap();
        let mut w = Vec::new();
        Encoder::default()
            .end_request(
                1,
                0,
                crate::application::ProtocolStatus::RequestComplete,
                &mut w,
            )
            .unwrap();
        assert!(handle_all(&mut c, &w)[0].is_ok());
        let e = c
            .begin_request(rid(2), Role::Responder, true, &mut out)
            .unwrap_err();
        assert_eq!(e.kind(), &UsageKind::ConnectionClosed);
        assert_eq!(e.requirement(), Some(crate::requirement::R_3_5_1));
    }

    #[test]
    fn request_id_rules_when_writing() {
        let mut c = WebServer::default();
        let mut out = Vec::new();
        // Id 0 cannot be asked for: it is not a RequestId (R-3.3-5).
        assert_eq!(RequestId::new(0), None);
        c.begin_request(rid(2), Role::Filter, false, &mut out)
            .unwrap();
        assert!(c
            .begin_request(rid(2), Role::Filter, false, &mut out)
            .is_err());
        assert_eq!(c.free_id(), Some(rid(1)));
        c.end_stream(StreamType::Params, rid(2), &mut out).unwrap();
        assert!(c.end_stream(StreamType::Params, rid(2), &mut out).is_err());
    }
}
