//! The web server's side of one transport connection (§3.3, §4, §5, §6):
//! a sans-IO state machine used to write requests and fed the records the
//! application sent back.
//!
//! Choices where the specification is vague (see spec/open-questions.md):
//! - Any record for an id that is not active is an error: the web server
//!   chose every id, so nothing legitimate can arrive for one it did not start
//!   or that already ended (R-5.5-4).
//! - END_REQUEST while STDOUT is still open is reported in
//!   [`Event::EndRequest`] (`stdout_ended: false`), not refused, unless
//!   [`Config::require_stdout_end`] is set.
//! - Output before the web server ended PARAMS is an error (R-6.2-4): an
//!   application cannot know its parameters before the empty PARAMS record.
//!   After ABORT_REQUEST it is accepted, as the application side allows, so
//!   that an aborted request can be ended at once (§5.4).

use std::collections::{BTreeMap, BTreeSet};

use crate::application::{EndRequestBody, ProtocolStatus};
use crate::encoder::Encoder;
use crate::error::{Direction, Error, ErrorKind, Limit};
use crate::limits::Limits;
use crate::management::UnknownTypeBody;
use crate::name_value;
use crate::record::{Record, RecordType, NULL_REQUEST_ID};
use crate::role::Role;
use crate::stream::StreamState;

/// Configuration of the web-server-side state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Config {
    /// Limits on what the application can make us hold.
    pub limits: Limits,
    /// Refuse END_REQUEST with `FCGI_REQUEST_COMPLETE` while STDOUT is open
    /// (R-5.3-1); refusals carry no output and are exempt. Default false.
    pub require_stdout_end: bool,
    /// How records are written.
    pub encoder: Encoder,
}

/// Something the application said, in the spec's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// `FCGI_GET_VALUES_RESULT` (§4.1): a checked name-value block.
    GetValuesResult {
        /// The block.
        block: &'a [u8],
    },
    /// `FCGI_UNKNOWN_TYPE` (§4.2): the application did not know a type we sent.
    UnknownType(UnknownTypeBody),
    /// A record type this side does not know; the spec asks nothing of the web server.
    UnknownRecord {
        /// The type code.
        record_type: u8,
        /// Its request id.
        request_id: u16,
        /// Its content.
        content: &'a [u8],
    },
    /// STDOUT content (§5.3).
    Stdout {
        /// The request id.
        request_id: u16,
        /// The bytes of this record.
        data: &'a [u8],
    },
    /// STDOUT ended by its empty record.
    StdoutEnd {
        /// The request id.
        request_id: u16,
    },
    /// STDERR content (§5.3).
    Stderr {
        /// The request id.
        request_id: u16,
        /// The bytes of this record.
        data: &'a [u8],
    },
    /// STDERR ended by its empty record.
    StderrEnd {
        /// The request id.
        request_id: u16,
    },
    /// `FCGI_END_REQUEST` (§5.5): the id is inactive again.
    EndRequest {
        /// The request id.
        request_id: u16,
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

#[derive(Debug, Clone, Default)]
struct Request {
    keep_conn: bool,
    params: StreamState,
    stdin: StreamState,
    data: StreamState,
    stdout: StreamState,
    stderr: StreamState,
    aborted: bool,
}

/// The web-server-side state machine of one connection.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    config: Config,
    requests: BTreeMap<u16, Request>,
    ended: BTreeSet<u16>,
    /// A request without FCGI_KEEP_CONN ended: the application closes now (R-3.5-1).
    closing: bool,
}

impl Connection {
    /// A connection with the given configuration.
    pub fn new(config: Config) -> Self {
        Connection {
            config,
            requests: BTreeMap::new(),
            ended: BTreeSet::new(),
            closing: false,
        }
    }

    /// Request ids active now.
    pub fn active(&self) -> impl Iterator<Item = u16> + '_ {
        self.requests.keys().copied()
    }

    /// Whether `request_id` is active.
    pub fn is_active(&self, request_id: u16) -> bool {
        self.requests.contains_key(&request_id)
    }

    /// The lowest id in 1..=65535 that is not active.
    pub fn free_id(&self) -> Option<u16> {
        (1..=u16::MAX).find(|id| !self.requests.contains_key(id))
    }

    /// Writes BEGIN_REQUEST (§5.1) and makes `request_id` active. Fails
    /// for id 0 (R-3.3-5), an active id, past `max_requests`, or once a
    /// request without `FCGI_KEEP_CONN` has ended: the application closes
    /// the connection then (R-3.5-1), so a new request needs a new one
    /// ([`ErrorKind::ConnectionClosed`]).
    pub fn begin_request(
        &mut self,
        request_id: u16,
        role: Role,
        keep_conn: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if self.closing {
            return Err(Error::new(ErrorKind::ConnectionClosed, 0));
        }
        if request_id == NULL_REQUEST_ID {
            return Err(Error::new(
                ErrorKind::NullRequestId(RecordType::BeginRequest),
                0,
            ));
        }
        if self.requests.contains_key(&request_id) {
            return Err(Error::new(ErrorKind::DuplicateBeginRequest(request_id), 0));
        }
        if self.requests.len() >= self.config.limits.max_requests {
            return Err(Error::new(
                ErrorKind::LimitExceeded {
                    limit: Limit::ConcurrentRequests,
                    max: self.config.limits.max_requests,
                },
                0,
            ));
        }
        self.config
            .encoder
            .begin_request(request_id, role, keep_conn, out)?;
        self.ended.remove(&request_id);
        self.requests.insert(
            request_id,
            Request {
                keep_conn,
                ..Request::default()
            },
        );
        Ok(())
    }

    fn input(
        &mut self,
        record_type: RecordType,
        request_id: u16,
        data: &[u8],
        end: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let enc = self.config.encoder;
        let req = self
            .requests
            .get_mut(&request_id)
            .ok_or(Error::new(ErrorKind::RequestEnded(request_id), 0))?;
        let state = match record_type {
            RecordType::Params => &mut req.params,
            RecordType::Stdin => &mut req.stdin,
            _ => &mut req.data,
        };
        state.write(&enc, record_type, request_id, data, end, out)
    }

    /// Writes pairs on the PARAMS stream (§5.2), shortest length forms.
    pub fn params<'p, I>(
        &mut self,
        request_id: u16,
        pairs: I,
        out: &mut Vec<u8>,
    ) -> Result<(), Error>
    where
        I: IntoIterator<Item = (&'p [u8], &'p [u8])>,
    {
        let block = name_value::encode_pairs(pairs)?;
        self.input(RecordType::Params, request_id, &block, false, out)
    }

    /// Writes raw bytes on the PARAMS stream (e.g. a block built with chosen length forms).
    pub fn params_raw(
        &mut self,
        request_id: u16,
        block: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.input(RecordType::Params, request_id, block, false, out)
    }

    /// Ends PARAMS with its empty record (R-5.2-1).
    pub fn end_params(&mut self, request_id: u16, out: &mut Vec<u8>) -> Result<(), Error> {
        self.input(RecordType::Params, request_id, &[], true, out)
    }

    /// Writes STDIN content (§5.3).
    pub fn stdin(&mut self, request_id: u16, data: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        self.input(RecordType::Stdin, request_id, data, false, out)
    }

    /// Ends STDIN with its empty record (R-5.3-1).
    pub fn end_stdin(&mut self, request_id: u16, out: &mut Vec<u8>) -> Result<(), Error> {
        self.input(RecordType::Stdin, request_id, &[], true, out)
    }

    /// Writes DATA content (§5.3, §6.4).
    pub fn data(&mut self, request_id: u16, data: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        self.input(RecordType::Data, request_id, data, false, out)
    }

    /// Ends DATA with its empty record.
    pub fn end_data(&mut self, request_id: u16, out: &mut Vec<u8>) -> Result<(), Error> {
        self.input(RecordType::Data, request_id, &[], true, out)
    }

    /// Writes ABORT_REQUEST (§5.4); the id stays active until END_REQUEST.
    pub fn abort_request(&mut self, request_id: u16, out: &mut Vec<u8>) -> Result<(), Error> {
        let enc = self.config.encoder;
        let req = self
            .requests
            .get_mut(&request_id)
            .ok_or(Error::new(ErrorKind::RequestEnded(request_id), 0))?;
        req.aborted = true;
        enc.abort_request(request_id, out)
    }

    /// Writes GET_VALUES (§4.1).
    pub fn get_values<'n, I>(&self, names: I, out: &mut Vec<u8>) -> Result<(), Error>
    where
        I: IntoIterator<Item = &'n [u8]>,
    {
        self.config.encoder.get_values(names, out)
    }

    /// Takes one record from the application.
    pub fn handle<'a>(&mut self, record: &Record<'a>) -> Result<Event<'a>, Error> {
        let t = record.record_type();
        let id = record.request_id();
        let at = record.offset;
        if t.direction() == Some(Direction::ToApplication) {
            return Err(Error::new(
                ErrorKind::WrongDirection {
                    record_type: t,
                    expected: Direction::ToApplication,
                },
                at,
            ));
        }
        if t.is_management() && id != NULL_REQUEST_ID {
            return Err(Error::new(
                ErrorKind::ManagementRequestId {
                    record_type: t,
                    request_id: id,
                },
                at,
            ));
        }
        match t {
            RecordType::GetValuesResult => {
                let max = self.config.limits.max_management_bytes;
                if record.content.len() > max {
                    return Err(Error::new(
                        ErrorKind::LimitExceeded {
                            limit: Limit::ManagementBytes,
                            max,
                        },
                        at,
                    ));
                }
                name_value::validate(
                    record.content,
                    record.content_offset(),
                    self.config.limits.max_pairs,
                )?;
                return Ok(Event::GetValuesResult {
                    block: record.content,
                });
            }
            RecordType::UnknownType => {
                return Ok(Event::UnknownType(UnknownTypeBody::parse(
                    record.content,
                    record.content_offset(),
                )?))
            }
            RecordType::Unknown(code) => {
                return Ok(Event::UnknownRecord {
                    record_type: code,
                    request_id: id,
                    content: record.content,
                })
            }
            _ => {}
        }
        if id == NULL_REQUEST_ID {
            return Err(Error::new(ErrorKind::NullRequestId(t), at));
        }
        let Some(req) = self.requests.get_mut(&id) else {
            let kind = if self.ended.contains(&id) {
                ErrorKind::RequestEnded(id)
            } else {
                ErrorKind::InactiveRequestId {
                    record_type: t,
                    request_id: id,
                }
            };
            return Err(Error::new(kind, at));
        };
        // A refusal (END_REQUEST) may come at any time; output may not
        // (R-6.2-4), except after an abort, as the application side allows
        // so that a request can be ended at once (§5.4).
        if t != RecordType::EndRequest && req.params != StreamState::Ended && !req.aborted {
            return Err(Error::new(ErrorKind::OutputBeforeParams(id), at));
        }
        match t {
            RecordType::EndRequest => {
                let body = EndRequestBody::parse(record.content, record.content_offset())?;
                // A refusal carries no output, so it has no STDOUT to end.
                let refusal = body.protocol_status != ProtocolStatus::RequestComplete;
                if self.config.require_stdout_end && req.stdout != StreamState::Ended && !refusal {
                    return Err(Error::new(
                        ErrorKind::UnterminatedStream {
                            record_type: RecordType::Stdout,
                            request_id: id,
                        },
                        at,
                    ));
                }
                let ev = Event::EndRequest {
                    request_id: id,
                    body,
                    stdout_ended: req.stdout == StreamState::Ended,
                    stderr_ended: req.stderr == StreamState::Ended,
                    keep_conn: req.keep_conn,
                };
                if !req.keep_conn {
                    self.closing = true;
                }
                self.requests.remove(&id);
                self.ended.insert(id);
                Ok(ev)
            }
            RecordType::Stdout | RecordType::Stderr => {
                let state = if t == RecordType::Stdout {
                    &mut req.stdout
                } else {
                    &mut req.stderr
                };
                if *state == StreamState::Ended {
                    return Err(Error::new(
                        ErrorKind::StreamAfterEnd {
                            record_type: t,
                            request_id: id,
                        },
                        at,
                    ));
                }
                let empty = record.content.is_empty();
                if empty {
                    *state = StreamState::Ended;
                }
                Ok(match (t == RecordType::Stdout, empty) {
                    (true, false) => Event::Stdout {
                        request_id: id,
                        data: record.content,
                    },
                    (true, true) => Event::StdoutEnd { request_id: id },
                    (false, false) => Event::Stderr {
                        request_id: id,
                        data: record.content,
                    },
                    (false, true) => Event::StderrEnd { request_id: id },
                })
            }
            // Every other type was dispatched above; keep the compiler honest.
            _ => Err(Error::new(
                ErrorKind::WrongDirection {
                    record_type: t,
                    expected: Direction::ToApplication,
                },
                at,
            )),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::application::ProtocolStatus;
    use crate::record::records;

    fn started(id: u16) -> Connection {
        let mut c = Connection::default();
        let mut out = Vec::new();
        c.begin_request(id, Role::Responder, true, &mut out)
            .unwrap();
        c.params(id, [(&b"A"[..], &b"1"[..])], &mut out).unwrap();
        c.end_params(id, &mut out).unwrap();
        c.end_stdin(id, &mut out).unwrap();
        c
    }

    fn handle_all(c: &mut Connection, wire: &[u8]) -> Vec<Result<String, Error>> {
        records(wire)
            .map(|r| c.handle(&r.unwrap()).map(|e| format!("{e:?}")))
            .collect()
    }

    #[test]
    fn response_flow() {
        let enc = Encoder::default();
        let mut w = Vec::new();
        enc.stream(RecordType::Stdout, 1, b"Status: 200\r\n\r\nhi", &mut w)
            .unwrap();
        enc.end_stream(RecordType::Stdout, 1, &mut w).unwrap();
        enc.end_request(1, 0, ProtocolStatus::RequestComplete, &mut w)
            .unwrap();
        let mut c = started(1);
        let r = handle_all(&mut c, &w);
        assert!(r.iter().all(Result::is_ok), "{r:?}");
        assert!(r[2].as_ref().unwrap().contains("stdout_ended: true"));
        assert!(!c.is_active(1));
    }

    #[test]
    fn second_end_request_and_unknown_ids() {
        let enc = Encoder::default();
        let mut w = Vec::new();
        enc.end_request(1, 0, ProtocolStatus::RequestComplete, &mut w)
            .unwrap();
        enc.end_request(1, 0, ProtocolStatus::RequestComplete, &mut w)
            .unwrap();
        enc.stream(RecordType::Stdout, 9, b"x", &mut w).unwrap();
        let mut c = started(1);
        let r = handle_all(&mut c, &w);
        assert!(r[0].is_ok());
        let e = r[1].clone().unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::RequestEnded(1));
        assert_eq!(e.offset(), 16);
        assert_eq!(e.requirement(), Some("R-5.5-4"));
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
        assert_eq!(e.section(), "§5.5");
        assert_eq!(e.offset(), 8);
    }

    #[test]
    fn stdout_after_end_and_wrong_direction() {
        let enc = Encoder::default();
        let mut w = Vec::new();
        enc.end_stream(RecordType::Stdout, 1, &mut w).unwrap();
        enc.stream(RecordType::Stdout, 1, b"x", &mut w).unwrap();
        enc.stream(RecordType::Stdin, 1, b"x", &mut w).unwrap();
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
        let mut c = Connection::default();
        let mut out = Vec::new();
        c.begin_request(1, Role::Responder, false, &mut out)
            .unwrap();
        let mut w = Vec::new();
        Encoder::default()
            .stream(RecordType::Stdout, 1, b"x", &mut w)
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
        let mut c = Connection::default();
        let r = handle_all(&mut c, &w);
        assert!(r[0].as_ref().unwrap().starts_with("GetValuesResult"));
    }

    /// R-3.5-1: after a request without FCGI_KEEP_CONN the connection is done.
    #[test]
    fn no_new_request_after_a_closing_one() {
        let mut c = Connection::default();
        let mut out = Vec::new();
        c.begin_request(1, Role::Responder, false, &mut out)
            .unwrap();
        c.end_params(1, &mut out).unwrap();
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
            .begin_request(2, Role::Responder, true, &mut out)
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::ConnectionClosed);
        assert_eq!(e.requirement(), Some("R-3.5-1"));
    }

    #[test]
    fn request_id_rules_when_writing() {
        let mut c = Connection::default();
        let mut out = Vec::new();
        assert!(c
            .begin_request(0, Role::Responder, false, &mut out)
            .is_err());
        c.begin_request(2, Role::Filter, false, &mut out).unwrap();
        assert!(c.begin_request(2, Role::Filter, false, &mut out).is_err());
        assert_eq!(c.free_id(), Some(1));
        c.end_params(2, &mut out).unwrap();
        assert!(c.end_params(2, &mut out).is_err());
    }
}
