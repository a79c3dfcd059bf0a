//! The application's side of one transport connection (§3.3, §4, §5, §6):
//! a sans-IO state machine fed the records the web server sent, and used
//! to write the application's answers. The core it shares with the web
//! server's side, and what happens after an error, are in [`super`].
//!
//! Choices where the specification is vague (see spec/src/open-questions.md):
//! - Records for an inactive request id are ignored, as §3.3 says, and
//!   reported as [`ApplicationEvent::Ignored`]; [`InactivePolicy::Error`] makes them errors.
//! - STDIN and DATA may arrive before PARAMS ends; the order of the three
//!   streams is not enforced (the spec describes an order, it does not forbid others).
//! - A management record with a nonzero request id is an error (§4: they use 0).
//! - Unknown record types, whatever their id, are reported as
//!   [`ApplicationEvent::UnknownType`] so the caller can answer `FCGI_UNKNOWN_TYPE` (§4.2).

use std::borrow::Cow;

use super::{Core, Inbound, RequestId};
use crate::application::{BeginRequestBody, ProtocolStatus};
use crate::encoder::Encoder;
use crate::error::{Direction, Error, ErrorKind, Limit, UsageError, UsageKind};
use crate::limits::Limits;
use crate::management::Values;
use crate::name_value;
use crate::record::{Record, RecordType, NULL_REQUEST_ID};
use crate::role::Role;
use crate::stream::StreamType;

/// What to do with a record for a request id that is not active (§3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InactivePolicy {
    /// Ignore it, as §3.3 tells the application to; report [`ApplicationEvent::Ignored`].
    #[default]
    Ignore,
    /// Treat it as a protocol error.
    Error,
}

/// Configuration of the application's side. Built from its `Default`
/// with the `with_*` methods, so that a field added later breaks no caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ApplicationConfig {
    /// Limits on what the web server can make us hold.
    pub limits: Limits,
    /// Records for inactive ids.
    pub inactive: InactivePolicy,
    /// How records are written.
    pub encoder: Encoder,
}

impl ApplicationConfig {
    /// The same configuration with other limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The same configuration with another policy for inactive ids.
    pub fn with_inactive(mut self, inactive: InactivePolicy) -> Self {
        self.inactive = inactive;
        self
    }

    /// The same configuration with another encoder.
    pub fn with_encoder(mut self, encoder: Encoder) -> Self {
        self.encoder = encoder;
        self
    }
}

/// Something the web server said, in the spec's terms: one per record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplicationEvent<'a> {
    /// `FCGI_GET_VALUES` (§4.1); the query block is a checked name-value block.
    /// Answer with [`Application::get_values_result`].
    GetValues {
        /// The name-value block (values are empty by convention).
        query: Cow<'a, [u8]>,
    },
    /// A record type the application does not know (§4.2). Answer with
    /// [`Application::unknown_type`].
    UnknownType {
        /// The type code.
        record_type: u8,
        /// The request id it carried (any value, 0 included).
        request_id: u16,
    },
    /// `FCGI_BEGIN_REQUEST` (§5.1): the id is now active.
    BeginRequest {
        /// The request id.
        request_id: RequestId,
        /// The role asked for; answer an unknown one with `FCGI_UNKNOWN_ROLE`.
        role: Role,
        /// Whether `FCGI_KEEP_CONN` was set.
        keep_conn: bool,
    },
    /// A PARAMS record with content (§5.2): gathered until the stream ends.
    Params {
        /// The request id.
        request_id: RequestId,
        /// The bytes of this record.
        data: Cow<'a, [u8]>,
    },
    /// The PARAMS stream ended (§5.2); the whole, checked name-value block.
    ParamsEnd {
        /// The request id.
        request_id: RequestId,
        /// The block; iterate with [`crate::name_value::pairs`].
        block: Cow<'a, [u8]>,
    },
    /// STDIN content (§5.3).
    Stdin {
        /// The request id.
        request_id: RequestId,
        /// The bytes of this record.
        data: Cow<'a, [u8]>,
    },
    /// STDIN ended by its empty record (§5.3).
    StdinEnd {
        /// The request id.
        request_id: RequestId,
    },
    /// DATA content (§5.3, §6.4).
    Data {
        /// The request id.
        request_id: RequestId,
        /// The bytes of this record.
        data: Cow<'a, [u8]>,
    },
    /// DATA ended by its empty record (§5.3).
    DataEnd {
        /// The request id.
        request_id: RequestId,
    },
    /// `FCGI_ABORT_REQUEST` (§5.4): end the request with END_REQUEST.
    AbortRequest {
        /// The request id.
        request_id: RequestId,
    },
    /// A record for an inactive id, ignored as §3.3 says.
    Ignored {
        /// Its type.
        record_type: RecordType,
        /// Its request id.
        request_id: RequestId,
    },
}

impl ApplicationEvent<'_> {
    /// The same event owning its bytes, to keep past the record it came from.
    pub fn into_owned(self) -> ApplicationEvent<'static> {
        use ApplicationEvent as E;
        let own = |c: Cow<'_, [u8]>| Cow::Owned(c.into_owned());
        match self {
            E::GetValues { query } => E::GetValues { query: own(query) },
            E::UnknownType {
                record_type,
                request_id,
            } => E::UnknownType {
                record_type,
                request_id,
            },
            E::BeginRequest {
                request_id,
                role,
                keep_conn,
            } => E::BeginRequest {
                request_id,
                role,
                keep_conn,
            },
            E::Params { request_id, data } => E::Params {
                request_id,
                data: own(data),
            },
            E::ParamsEnd { request_id, block } => E::ParamsEnd {
                request_id,
                block: own(block),
            },
            E::Stdin { request_id, data } => E::Stdin {
                request_id,
                data: own(data),
            },
            E::StdinEnd { request_id } => E::StdinEnd { request_id },
            E::Data { request_id, data } => E::Data {
                request_id,
                data: own(data),
            },
            E::DataEnd { request_id } => E::DataEnd { request_id },
            E::AbortRequest { request_id } => E::AbortRequest { request_id },
            E::Ignored {
                record_type,
                request_id,
            } => E::Ignored {
                record_type,
                request_id,
            },
        }
    }

    /// The request id the event belongs to; `None` for management records
    /// and unknown types.
    pub fn request_id(&self) -> Option<RequestId> {
        use ApplicationEvent as E;
        match self {
            E::GetValues { .. } | E::UnknownType { .. } => None,
            E::BeginRequest { request_id, .. }
            | E::Params { request_id, .. }
            | E::ParamsEnd { request_id, .. }
            | E::Stdin { request_id, .. }
            | E::StdinEnd { request_id }
            | E::Data { request_id, .. }
            | E::DataEnd { request_id }
            | E::AbortRequest { request_id }
            | E::Ignored { request_id, .. } => Some(*request_id),
        }
    }
}

/// The application's side of one connection: fed the web server's records
/// with [`Application::handle`], it writes the answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    core: Core,
    inactive: InactivePolicy,
}

impl Default for Application {
    fn default() -> Self {
        Application::new(ApplicationConfig::default())
    }
}

impl Application {
    /// A connection with the given configuration.
    pub fn new(config: ApplicationConfig) -> Self {
        Application {
            core: Core::new(config.limits, config.encoder, Direction::ToApplication),
            inactive: config.inactive,
        }
    }

    /// Request ids active now (§3.3).
    pub fn active(&self) -> impl Iterator<Item = RequestId> + '_ {
        self.core.requests.keys().copied()
    }

    /// Whether `request_id` is active.
    pub fn is_active(&self, request_id: RequestId) -> bool {
        self.core.requests.contains_key(&request_id)
    }

    /// The role of an active request.
    pub fn role(&self, request_id: RequestId) -> Option<Role> {
        self.core.requests.get(&request_id).map(|r| r.role)
    }

    /// Whether an active request was aborted (§5.4).
    pub fn is_aborted(&self, request_id: RequestId) -> bool {
        self.core
            .requests
            .get(&request_id)
            .is_some_and(|r| r.aborted)
    }

    /// True once an END_REQUEST was sent for a request without
    /// `FCGI_KEEP_CONN` and no request is left: the application closes now (R-3.5-1).
    pub fn should_close(&self) -> bool {
        self.core.closing && self.core.requests.is_empty()
    }

    /// Takes one record from the web server: one event, or an error that
    /// rejects the record (see [`super`] for what the state is then).
    pub fn handle<'a>(&mut self, record: &Record<'a>) -> Result<ApplicationEvent<'a>, Error> {
        let at = record.offset;
        let content = record.content;
        let (t, id) = match self.core.classify(record)? {
            Inbound::Unknown { code, request_id } => {
                return Ok(ApplicationEvent::UnknownType {
                    record_type: code,
                    request_id,
                })
            }
            Inbound::Management(_, query) => {
                // The only management record travelling this way is GET_VALUES.
                return Ok(ApplicationEvent::GetValues {
                    query: Cow::Borrowed(query),
                });
            }
            Inbound::Request(t, id) => (t, id),
        };
        if t == RecordType::BeginRequest {
            let body = BeginRequestBody::parse(content, record.content_offset())?;
            self.core
                .begin(id, body.role, body.keep_conn())
                .map_err(|r| r.inbound(id, at))?;
            return Ok(ApplicationEvent::BeginRequest {
                request_id: id,
                role: body.role,
                keep_conn: body.keep_conn(),
            });
        }
        let limits = self.core.limits;
        let Some(req) = self.core.requests.get_mut(&id) else {
            return match self.inactive {
                InactivePolicy::Ignore => Ok(ApplicationEvent::Ignored {
                    record_type: t,
                    request_id: id,
                }),
                InactivePolicy::Error => Err(Error::new(
                    ErrorKind::InactiveRequestId {
                        record_type: t,
                        request_id: id.get(),
                    },
                    at,
                )),
            };
        };
        if t == RecordType::AbortRequest {
            req.aborted = true;
            return Ok(ApplicationEvent::AbortRequest { request_id: id });
        }
        let Some(stream) = StreamType::of(t) else {
            // Every other type travelling this way was dispatched above.
            return Err(super::wrong_direction(t, Direction::ToApplication, at));
        };
        if stream == StreamType::Params {
            if req.streams.is_ended(stream) {
                return Err(Error::new(
                    ErrorKind::StreamAfterEnd {
                        record_type: t,
                        request_id: id.get(),
                    },
                    at,
                ));
            }
            if !content.is_empty() {
                if let Err(e) =
                    req.params
                        .push(content, limits.max_params_bytes, Limit::ParamsBytes, at)
                {
                    // The block can no longer be whole: PARAMS closes here.
                    req.params.take();
                    req.streams.end(stream);
                    return Err(e);
                }
                return Ok(ApplicationEvent::Params {
                    request_id: id,
                    data: Cow::Borrowed(content),
                });
            }
            req.streams.end(stream);
            let block = req.params.take();
            // Judged on the empty record: errors point at it, in stream
            // offsets like every other error here. A bad block leaves
            // PARAMS closed (see the module documentation).
            name_value::validate(&block, 0, limits.max_pairs)
                .map_err(|e| Error::new(*e.kind(), at))?;
            return Ok(ApplicationEvent::ParamsEnd {
                request_id: id,
                block: Cow::Owned(block),
            });
        }
        let ended = req.streams.receive(stream, id.get(), content.len(), at)?;
        let data = Cow::Borrowed(content);
        Ok(match (stream, ended) {
            (StreamType::Stdin, false) => ApplicationEvent::Stdin {
                request_id: id,
                data,
            },
            (StreamType::Stdin, true) => ApplicationEvent::StdinEnd { request_id: id },
            (_, false) => ApplicationEvent::Data {
                request_id: id,
                data,
            },
            (_, true) => ApplicationEvent::DataEnd { request_id: id },
        })
    }

    /// Writes `data` on STDOUT (§5.3, §6.2) or STDERR (§5.3), split into
    /// as many records as it needs; empty `data` writes nothing. Refused
    /// before the web server ended PARAMS (R-6.2-4) unless the request was
    /// aborted (§5.4), for PARAMS, STDIN and DATA, which only the web server
    /// writes (appendix A), after the stream's end, and for an id that is
    /// not active.
    pub fn stream(
        &mut self,
        stream: StreamType,
        request_id: RequestId,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        self.output(stream, request_id, data, false, out)
    }

    /// Ends STDOUT or STDERR with its empty record (R-5.3-1). Call it for
    /// STDOUT before [`Application::end_request`] (§5.5).
    pub fn end_stream(
        &mut self,
        stream: StreamType,
        request_id: RequestId,
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        self.output(stream, request_id, &[], true, out)
    }

    fn output(
        &mut self,
        stream: StreamType,
        request_id: RequestId,
        data: &[u8],
        end: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        let req = self.core.writable(request_id)?;
        if !req.streams.is_ended(StreamType::Params) && !req.aborted {
            return Err(UsageError::new(UsageKind::OutputBeforeParams(
                request_id.get(),
            )));
        }
        self.core.write_stream(stream, request_id, data, end, out)
    }

    /// Ends a request (§5.5): writes END_REQUEST and makes the id inactive.
    /// Returns true when the application must now close the connection
    /// because the request did not ask for `FCGI_KEEP_CONN` (R-3.5-1).
    ///
    /// Open STDOUT is not ended here: call [`Application::end_stream`] for STDOUT
    /// first. A refusal (`FCGI_CANT_MPX_CONN`, `FCGI_OVERLOADED`,
    /// `FCGI_UNKNOWN_ROLE`) needs no output at all and may be sent any time
    /// after BEGIN_REQUEST.
    pub fn end_request(
        &mut self,
        request_id: RequestId,
        app_status: u32,
        protocol_status: ProtocolStatus,
        out: &mut Vec<u8>,
    ) -> Result<bool, UsageError> {
        let req = self.core.writable(request_id)?;
        let close = !req.keep_conn;
        self.core
            .encoder
            .end_request(request_id.get(), app_status, protocol_status, out)?;
        self.core.end(request_id);
        Ok(close)
    }

    /// Answers a GET_VALUES query (§4.1): known names only (R-4.1-2), request
    /// id 0. `query` is the block of a [`ApplicationEvent::GetValues`], checked
    /// already; another that is not a name-value block is
    /// [`UsageKind::MalformedQuery`].
    pub fn get_values_result(
        &self,
        values: &Values,
        query: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        let block = values
            .answer(query)
            .map_err(|_| UsageError::new(UsageKind::MalformedQuery))?;
        self.core
            .encoder
            .record(RecordType::GetValuesResult, NULL_REQUEST_ID, &block, out)
    }

    /// Answers an unknown record type (§4.2, R-4.2-1).
    pub fn unknown_type(&self, record_type: u8, out: &mut Vec<u8>) -> Result<(), UsageError> {
        self.core.encoder.unknown_type(record_type, out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::encoder::Encoder;
    use crate::limits::Limits;

    fn rid(id: u16) -> RequestId {
        RequestId::new(id).unwrap()
    }
    use crate::record::records;

    fn feed(conn: &mut Application, wire: &[u8]) -> Vec<Result<String, Error>> {
        records(wire)
            .map(|r| {
                let r = r.unwrap();
                conn.handle(&r).map(|e| format!("{e:?}"))
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
        enc.end_stream(StreamType::Params, 1, &mut w).unwrap();
        enc.stream(StreamType::Stdin, 1, b"body", &mut w).unwrap();
        enc.end_stream(StreamType::Stdin, 1, &mut w).unwrap();
        let mut c = Application::default();
        let ev: Vec<_> = feed(&mut c, &w).into_iter().map(Result::unwrap).collect();
        assert_eq!(ev.len(), 5);
        assert!(ev[1].starts_with("Params {"), "one event per record");
        assert!(ev[2].starts_with("ParamsEnd"));
        let mut out = Vec::new();
        c.stream(StreamType::Stdout, rid(1), b"Status: 200\r\n\r\n", &mut out)
            .unwrap();
        c.end_stream(StreamType::Stdout, rid(1), &mut out).unwrap();
        assert!(c
            .end_request(rid(1), 0, ProtocolStatus::RequestComplete, &mut out)
            .unwrap());
        assert!(c.should_close());
        assert!(!c.is_active(rid(1)));
    }

    #[test]
    fn duplicate_begin_is_an_error() {
        let mut w = begin(1, Role::Responder, true);
        w.extend(begin(1, Role::Responder, true));
        let mut c = Application::default();
        let r = feed(&mut c, &w);
        let e = r[1].clone().unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::DuplicateBeginRequest(1));
        assert_eq!(e.offset(), 16);
    }

    #[test]
    fn inactive_ids_are_ignored_or_refused() {
        let mut w = Vec::new();
        Encoder::default()
            .stream(StreamType::Stdin, 7, b"x", &mut w)
            .unwrap();
        let mut c = Application::default();
        assert!(feed(&mut c, &w)[0].clone().unwrap().starts_with("Ignored"));
        let mut strict = Application::new(ApplicationConfig {
            inactive: InactivePolicy::Error,
            ..ApplicationConfig::default()
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
        enc.end_stream(StreamType::Stdin, 1, &mut w).unwrap();
        enc.stream(StreamType::Stdin, 1, b"late", &mut w).unwrap();
        enc.end_stream(StreamType::Stdout, 1, &mut w).unwrap();
        let mut c = Application::default();
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
        let mut c = Application::default();
        let r = feed(&mut c, &w);
        assert_eq!(
            r[0].clone().unwrap_err().section().to_string(),
            "appendix A"
        );
        assert_eq!(
            r[1].clone().unwrap_err().requirement(),
            Some(crate::requirement::R_5_1_1)
        );
        assert_eq!(
            r[2].clone().unwrap_err().requirement(),
            Some(crate::requirement::R_3_3_5)
        );
    }

    #[test]
    fn output_before_params_end_is_refused() {
        let mut c = Application::default();
        let w = begin(1, Role::Responder, true);
        feed(&mut c, &w);
        let mut out = Vec::new();
        let e = c
            .stream(StreamType::Stdout, rid(1), b"x", &mut out)
            .unwrap_err();
        assert_eq!(e.kind(), &UsageKind::OutputBeforeParams(1));
        // A refusal needs no output.
        assert!(!c
            .end_request(rid(1), 0, ProtocolStatus::CantMpxConn, &mut out)
            .unwrap());
        assert!(c
            .end_request(rid(1), 0, ProtocolStatus::RequestComplete, &mut out)
            .is_err());
    }

    #[test]
    fn params_limit() {
        let enc = Encoder::default();
        let mut w = begin(1, Role::Responder, true);
        enc.stream(StreamType::Params, 1, &[1; 40], &mut w).unwrap();
        let mut c = Application::new(ApplicationConfig {
            limits: Limits {
                max_params_bytes: 32,
                ..Limits::default()
            },
            ..ApplicationConfig::default()
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
