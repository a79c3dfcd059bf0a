//! The application's side of one transport connection (§3.3, §4, §5, §6):
//! a sans-IO state machine fed the records the web server sent, and used
//! to write the application's answers.
//!
//! Choices where the specification is vague (see spec/open-questions.md):
//! - Records for an inactive request id are ignored, as §3.3 says, and
//!   reported as [`Event::Ignored`]; [`InactivePolicy::Error`] makes them errors.
//! - STDIN and DATA may arrive before PARAMS ends; the order of the three
//!   streams is not enforced (the spec describes an order, it does not forbid others).
//! - A management record with a nonzero request id is an error (§4: they use 0).
//! - Unknown record types, whatever their id, are reported as
//!   [`Event::UnknownType`] so the caller can answer `FCGI_UNKNOWN_TYPE` (§4.2).

use std::collections::BTreeMap;

use crate::application::{BeginRequestBody, ProtocolStatus};
use crate::encoder::Encoder;
use crate::error::{Direction, Error, ErrorKind, Limit};
use crate::limits::Limits;
use crate::management::Values;
use crate::name_value;
use crate::record::{Record, RecordType, NULL_REQUEST_ID};
use crate::role::Role;
use crate::stream::StreamState;

/// What to do with a record for a request id that is not active (§3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InactivePolicy {
    /// Ignore it, as §3.3 tells the application to; report [`Event::Ignored`].
    #[default]
    Ignore,
    /// Treat it as a protocol error.
    Error,
}

/// Configuration of the application-side state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Config {
    /// Limits on what the web server can make us hold.
    pub limits: Limits,
    /// Records for inactive ids.
    pub inactive: InactivePolicy,
    /// How records are written.
    pub encoder: Encoder,
}

/// Something the web server said, in the spec's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// `FCGI_GET_VALUES` (§4.1); the query block is a checked name-value block.
    /// Answer with [`Connection::get_values_result`].
    GetValues {
        /// The name-value block (values are empty by convention).
        query: &'a [u8],
    },
    /// A record type the application does not know (§4.2). Answer with
    /// [`Connection::unknown_type`].
    UnknownType {
        /// The type code.
        record_type: u8,
        /// The request id it carried.
        request_id: u16,
    },
    /// `FCGI_BEGIN_REQUEST` (§5.1): the id is now active.
    BeginRequest {
        /// The request id.
        request_id: u16,
        /// The role asked for; answer an unknown one with `FCGI_UNKNOWN_ROLE`.
        role: Role,
        /// Whether `FCGI_KEEP_CONN` was set.
        keep_conn: bool,
    },
    /// The PARAMS stream ended (§5.2); the whole, checked name-value block.
    Params {
        /// The request id.
        request_id: u16,
        /// The block; iterate with [`crate::name_value::pairs`].
        block: Vec<u8>,
    },
    /// STDIN content (§5.3).
    Stdin {
        /// The request id.
        request_id: u16,
        /// The bytes of this record.
        data: &'a [u8],
    },
    /// STDIN ended by its empty record (§5.3).
    StdinEnd {
        /// The request id.
        request_id: u16,
    },
    /// DATA content (§5.3, §6.4).
    Data {
        /// The request id.
        request_id: u16,
        /// The bytes of this record.
        data: &'a [u8],
    },
    /// DATA ended by its empty record (§5.3).
    DataEnd {
        /// The request id.
        request_id: u16,
    },
    /// `FCGI_ABORT_REQUEST` (§5.4): end the request with END_REQUEST.
    AbortRequest {
        /// The request id.
        request_id: u16,
    },
    /// A record for an inactive id, ignored as §3.3 says.
    Ignored {
        /// Its type.
        record_type: RecordType,
        /// Its request id.
        request_id: u16,
    },
}

#[derive(Debug, Clone, Default)]
struct Request {
    role: Option<Role>,
    keep_conn: bool,
    params: Vec<u8>,
    params_state: StreamState,
    stdin: StreamState,
    data: StreamState,
    stdout: StreamState,
    stderr: StreamState,
    aborted: bool,
}

/// The application-side state machine of one connection.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    config: Config,
    requests: BTreeMap<u16, Request>,
    close_after: bool,
}

impl Connection {
    /// A connection with the given configuration.
    pub fn new(config: Config) -> Self {
        Connection {
            config,
            requests: BTreeMap::new(),
            close_after: false,
        }
    }

    /// Request ids active now (§3.3).
    pub fn active(&self) -> impl Iterator<Item = u16> + '_ {
        self.requests.keys().copied()
    }

    /// Whether `request_id` is active.
    pub fn is_active(&self, request_id: u16) -> bool {
        self.requests.contains_key(&request_id)
    }

    /// The role of an active request.
    pub fn role(&self, request_id: u16) -> Option<Role> {
        self.requests.get(&request_id).and_then(|r| r.role)
    }

    /// Whether an active request was aborted (§5.4).
    pub fn is_aborted(&self, request_id: u16) -> bool {
        self.requests.get(&request_id).is_some_and(|r| r.aborted)
    }

    /// True once an END_REQUEST was sent for a request without
    /// `FCGI_KEEP_CONN` and no request is left: the application closes now (R-3.5-1).
    pub fn should_close(&self) -> bool {
        self.close_after && self.requests.is_empty()
    }

    /// Takes one record from the web server.
    pub fn handle<'a>(&mut self, record: &Record<'a>) -> Result<Option<Event<'a>>, Error> {
        let t = record.record_type();
        let id = record.request_id();
        let at = record.offset;
        if t.direction() == Some(Direction::ToWebServer) {
            return Err(Error::new(
                ErrorKind::WrongDirection {
                    record_type: t,
                    expected: Direction::ToWebServer,
                },
                at,
            ));
        }
        match t {
            RecordType::Unknown(code) => {
                return Ok(Some(Event::UnknownType {
                    record_type: code,
                    request_id: id,
                }))
            }
            RecordType::GetValues => {
                if id != NULL_REQUEST_ID {
                    return Err(Error::new(
                        ErrorKind::ManagementRequestId {
                            record_type: t,
                            request_id: id,
                        },
                        at,
                    ));
                }
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
                return Ok(Some(Event::GetValues {
                    query: record.content,
                }));
            }
            _ => {}
        }
        if id == NULL_REQUEST_ID {
            return Err(Error::new(ErrorKind::NullRequestId(t), at));
        }
        if t == RecordType::BeginRequest {
            let body = BeginRequestBody::parse(record.content, record.content_offset())?;
            if self.requests.contains_key(&id) {
                return Err(Error::new(ErrorKind::DuplicateBeginRequest(id), at));
            }
            if self.requests.len() >= self.config.limits.max_requests {
                return Err(Error::new(
                    ErrorKind::LimitExceeded {
                        limit: Limit::ConcurrentRequests,
                        max: self.config.limits.max_requests,
                    },
                    at,
                ));
            }
            self.requests.insert(
                id,
                Request {
                    role: Some(body.role),
                    keep_conn: body.keep_conn(),
                    ..Request::default()
                },
            );
            return Ok(Some(Event::BeginRequest {
                request_id: id,
                role: body.role,
                keep_conn: body.keep_conn(),
            }));
        }
        let limits = self.config.limits;
        let Some(req) = self.requests.get_mut(&id) else {
            return match self.config.inactive {
                InactivePolicy::Ignore => Ok(Some(Event::Ignored {
                    record_type: t,
                    request_id: id,
                })),
                InactivePolicy::Error => Err(Error::new(
                    ErrorKind::InactiveRequestId {
                        record_type: t,
                        request_id: id,
                    },
                    at,
                )),
            };
        };
        let after_end = Error::new(
            ErrorKind::StreamAfterEnd {
                record_type: t,
                request_id: id,
            },
            at,
        );
        match t {
            RecordType::AbortRequest => {
                req.aborted = true;
                Ok(Some(Event::AbortRequest { request_id: id }))
            }
            RecordType::Params => {
                if req.params_state == StreamState::Ended {
                    return Err(after_end);
                }
                if record.content.is_empty() {
                    req.params_state = StreamState::Ended;
                    let block = std::mem::take(&mut req.params);
                    // Judged on the empty record: errors point at it, in
                    // stream offsets like every other error here.
                    name_value::validate(&block, 0, limits.max_pairs)
                        .map_err(|e| Error::new(e.kind().clone(), at))?;
                    return Ok(Some(Event::Params {
                        request_id: id,
                        block,
                    }));
                }
                if req.params.len().saturating_add(record.content.len()) > limits.max_params_bytes {
                    return Err(Error::new(
                        ErrorKind::LimitExceeded {
                            limit: Limit::ParamsBytes,
                            max: limits.max_params_bytes,
                        },
                        at,
                    ));
                }
                req.params.extend_from_slice(record.content);
                // Checked on the empty record, once the block is whole.
                Ok(None)
            }
            RecordType::Stdin | RecordType::Data => {
                let state = if t == RecordType::Stdin {
                    &mut req.stdin
                } else {
                    &mut req.data
                };
                if *state == StreamState::Ended {
                    return Err(after_end);
                }
                let empty = record.content.is_empty();
                if empty {
                    *state = StreamState::Ended;
                }
                Ok(Some(match (t == RecordType::Stdin, empty) {
                    (true, false) => Event::Stdin {
                        request_id: id,
                        data: record.content,
                    },
                    (true, true) => Event::StdinEnd { request_id: id },
                    (false, false) => Event::Data {
                        request_id: id,
                        data: record.content,
                    },
                    (false, true) => Event::DataEnd { request_id: id },
                }))
            }
            // BEGIN_REQUEST, management and app-to-server types were handled above.
            _ => Ok(None),
        }
    }

    fn writable(&mut self, request_id: u16) -> Result<&mut Request, Error> {
        let req = self
            .requests
            .get_mut(&request_id)
            .ok_or(Error::new(ErrorKind::RequestEnded(request_id), 0))?;
        if req.params_state != StreamState::Ended && !req.aborted {
            return Err(Error::new(ErrorKind::OutputBeforeParams(request_id), 0));
        }
        Ok(req)
    }

    fn output(
        &mut self,
        record_type: RecordType,
        request_id: u16,
        data: &[u8],
        end: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let enc = self.config.encoder;
        let req = self.writable(request_id)?;
        let state = if record_type == RecordType::Stdout {
            &mut req.stdout
        } else {
            &mut req.stderr
        };
        state.write(&enc, record_type, request_id, data, end, out)
    }

    /// Writes STDOUT content (§5.3, §6.2). Fails before PARAMS ended
    /// (R-6.2-4), after the stream ended, or for an inactive id.
    pub fn stdout(&mut self, request_id: u16, data: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        self.output(RecordType::Stdout, request_id, data, false, out)
    }

    /// Ends STDOUT with its empty record (R-5.3-1).
    pub fn end_stdout(&mut self, request_id: u16, out: &mut Vec<u8>) -> Result<(), Error> {
        self.output(RecordType::Stdout, request_id, &[], true, out)
    }

    /// Writes STDERR content (§5.3).
    pub fn stderr(&mut self, request_id: u16, data: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        self.output(RecordType::Stderr, request_id, data, false, out)
    }

    /// Ends STDERR with its empty record.
    pub fn end_stderr(&mut self, request_id: u16, out: &mut Vec<u8>) -> Result<(), Error> {
        self.output(RecordType::Stderr, request_id, &[], true, out)
    }

    /// Ends a request (§5.5): writes END_REQUEST and makes the id inactive.
    /// Returns true when the application must now close the connection
    /// because the request did not ask for `FCGI_KEEP_CONN` (R-3.5-1).
    ///
    /// Open STDOUT is not ended here: call [`Connection::end_stdout`]
    /// first. A refusal (`FCGI_CANT_MPX_CONN`, `FCGI_OVERLOADED`,
    /// `FCGI_UNKNOWN_ROLE`) needs no output at all and may be sent any time
    /// after BEGIN_REQUEST.
    pub fn end_request(
        &mut self,
        request_id: u16,
        app_status: u32,
        protocol_status: ProtocolStatus,
        out: &mut Vec<u8>,
    ) -> Result<bool, Error> {
        let req = self
            .requests
            .get(&request_id)
            .ok_or(Error::new(ErrorKind::RequestEnded(request_id), 0))?;
        let close = !req.keep_conn;
        self.config
            .encoder
            .end_request(request_id, app_status, protocol_status, out)?;
        self.requests.remove(&request_id);
        if close {
            self.close_after = true;
        }
        Ok(close)
    }

    /// Answers a GET_VALUES query (§4.1): known names only (R-4.1-2), request id 0.
    pub fn get_values_result(
        &self,
        values: &Values,
        query: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let block = values.answer(query)?;
        self.config
            .encoder
            .record(RecordType::GetValuesResult, NULL_REQUEST_ID, &block, out)
    }

    /// Answers an unknown record type (§4.2, R-4.2-1).
    pub fn unknown_type(&self, record_type: u8, out: &mut Vec<u8>) -> Result<(), Error> {
        self.config.encoder.unknown_type(record_type, out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::record::records;

    fn feed(conn: &mut Connection, wire: &[u8]) -> Vec<Result<Option<String>, Error>> {
        records(wire)
            .map(|r| {
                let r = r.unwrap();
                conn.handle(&r).map(|e| e.map(|e| format!("{e:?}")))
            })
            .collect()
    }

    fn begin(id: u16, role: Role, keep: bool) -> Vec<u8> {
        let mut w = Vec::new();
        Encoder::default()
            .begin_request(id, role, keep, &mut w)
            .unwrap();
        w
    }

    #[test]
    fn responder_request_flows() {
        let enc = Encoder::default();
        let mut w = begin(1, Role::Responder, false);
        enc.params(1, [(&b"A"[..], &b"b"[..])], &mut w).unwrap();
        enc.end_stream(RecordType::Params, 1, &mut w).unwrap();
        enc.stream(RecordType::Stdin, 1, b"body", &mut w).unwrap();
        enc.end_stream(RecordType::Stdin, 1, &mut w).unwrap();
        let mut c = Connection::default();
        let ev: Vec<_> = feed(&mut c, &w).into_iter().map(Result::unwrap).collect();
        assert_eq!(ev.len(), 5);
        assert!(ev[1].is_none(), "partial params report nothing");
        assert!(ev[2].as_ref().unwrap().starts_with("Params"));
        let mut out = Vec::new();
        c.stdout(1, b"Status: 200\r\n\r\n", &mut out).unwrap();
        c.end_stdout(1, &mut out).unwrap();
        assert!(c
            .end_request(1, 0, ProtocolStatus::RequestComplete, &mut out)
            .unwrap());
        assert!(c.should_close());
        assert!(!c.is_active(1));
    }

    #[test]
    fn duplicate_begin_is_an_error() {
        let mut w = begin(1, Role::Responder, true);
        w.extend(begin(1, Role::Responder, true));
        let mut c = Connection::default();
        let r = feed(&mut c, &w);
        let e = r[1].clone().unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::DuplicateBeginRequest(1));
        assert_eq!(e.offset(), 16);
    }

    #[test]
    fn inactive_ids_are_ignored_or_refused() {
        let mut w = Vec::new();
        Encoder::default()
            .stream(RecordType::Stdin, 7, b"x", &mut w)
            .unwrap();
        let mut c = Connection::default();
        assert!(feed(&mut c, &w)[0]
            .clone()
            .unwrap()
            .unwrap()
            .starts_with("Ignored"));
        let mut strict = Connection::new(Config {
            inactive: InactivePolicy::Error,
            ..Config::default()
        });
        let e = feed(&mut strict, &w)[0].clone().unwrap_err();
        assert!(matches!(
            e.kind(),
            ErrorKind::InactiveRequestId { request_id: 7, .. }
        ));
    }

    #[test]
    fn stream_after_end_and_wrong_direction() {
        let enc = Encoder::default();
        let mut w = begin(1, Role::Responder, true);
        enc.end_stream(RecordType::Stdin, 1, &mut w).unwrap();
        enc.stream(RecordType::Stdin, 1, b"late", &mut w).unwrap();
        enc.end_stream(RecordType::Stdout, 1, &mut w).unwrap();
        let mut c = Connection::default();
        let r = feed(&mut c, &w);
        assert!(matches!(
            r[2].clone().unwrap_err().kind(),
            ErrorKind::StreamAfterEnd { .. }
        ));
        assert!(matches!(
            r[3].clone().unwrap_err().kind(),
            ErrorKind::WrongDirection { .. }
        ));
    }

    #[test]
    fn management_with_request_id_and_bad_body() {
        let enc = Encoder::default();
        let mut w = Vec::new();
        enc.record(RecordType::GetValues, 3, &[], &mut w).unwrap();
        enc.record(RecordType::BeginRequest, 2, &[0, 1], &mut w)
            .unwrap();
        enc.record(RecordType::Stdin, 0, b"x", &mut w).unwrap();
        let mut c = Connection::default();
        let r = feed(&mut c, &w);
        assert_eq!(r[0].clone().unwrap_err().section(), "§4");
        assert_eq!(r[1].clone().unwrap_err().requirement(), Some("R-5.1-1"));
        assert_eq!(r[2].clone().unwrap_err().requirement(), Some("R-3.3-5"));
    }

    #[test]
    fn output_before_params_end_is_refused() {
        let mut c = Connection::default();
        let w = begin(1, Role::Responder, true);
        feed(&mut c, &w);
        let mut out = Vec::new();
        let e = c.stdout(1, b"x", &mut out).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::OutputBeforeParams(1));
        // A refusal needs no output.
        assert!(!c
            .end_request(1, 0, ProtocolStatus::CantMpxConn, &mut out)
            .unwrap());
        assert!(c
            .end_request(1, 0, ProtocolStatus::RequestComplete, &mut out)
            .is_err());
    }

    #[test]
    fn params_limit() {
        let enc = Encoder::default();
        let mut w = begin(1, Role::Responder, true);
        enc.stream(RecordType::Params, 1, &[1; 40], &mut w).unwrap();
        let mut c = Connection::new(Config {
            limits: Limits {
                max_params_bytes: 32,
                ..Limits::default()
            },
            ..Config::default()
        });
        let r = feed(&mut c, &w);
        assert!(matches!(
            r[1].clone().unwrap_err().kind(),
            ErrorKind::LimitExceeded {
                limit: Limit::ParamsBytes,
                ..
            }
        ));
    }
}
