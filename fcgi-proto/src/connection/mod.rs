//! One transport connection (§3.3, §4, §5, §6), seen from either party.
//!
//! - [`Application`] is the application's side ([`application`]): fed the
//!   records the web server sent, it writes the answers.
//! - [`WebServer`] is the web server's side ([`web_server`]): it writes
//!   requests and is fed the records the application sent back.
//!
//! Both stand on one core, kept in this module: the table of active request
//! ids ([`RequestId`], §3.3), the checks every inbound record passes
//! (direction, appendix A; request id 0 for management records and only for
//! them, §3.3 and §4; the bounded GET_VALUES blocks, §4.1), and the five byte
//! streams of each request ([`crate::stream::Streams`], §5.3).
//!
//! # One record, one event
//!
//! `handle` has one shape on both sides: each record the peer sent gives
//! exactly one event or one error. Events borrow the record's content;
//! `into_owned` turns one into an event that owns its bytes.
//!
//! # After an error
//!
//! An error rejects the record, not the connection: the machine's state is
//! what it was before the record, and the caller may go on feeding records
//! (each judged against the state the accepted ones built) or close the
//! connection. One exception keeps a block whole: a PARAMS record the
//! application's side cannot accept (over [`Limits::max_params_bytes`], or
//! an empty record ending a block that is not a valid name-value block)
//! closes that request's PARAMS stream, so that no later fragment is joined
//! to a block with a hole in it; the request stays active, for the caller to
//! end. `tests/state_machines.rs` pins this and the state-machine fuzz
//! targets check it past the first error.

use std::collections::BTreeMap;
use std::num::NonZeroU16;

use crate::encoder::Encoder;
use crate::error::{Direction, Error, ErrorKind, Limit, UsageError, UsageKind};
use crate::limits::Limits;
use crate::name_value;
use crate::record::{Record, RecordType, NULL_REQUEST_ID};
use crate::role::Role;
use crate::stream::{Gather, StreamType, Streams};

pub mod application;
pub mod web_server;

pub use application::{Application, ApplicationConfig, ApplicationEvent, InactivePolicy};
pub use web_server::{WebServer, WebServerConfig, WebServerEvent};

/// The request id of an application record (§3.3): 1 to 65535. Id 0,
/// `FCGI_NULL_REQUEST_ID`, belongs to management records (§4) and cannot be
/// a `RequestId` (R-3.3-5).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(NonZeroU16);

impl RequestId {
    /// The lowest request id, 1.
    pub const MIN: RequestId = RequestId(NonZeroU16::MIN);

    /// The id for a wire value; `None` for 0, the null request id (R-3.3-5).
    pub const fn new(id: u16) -> Option<RequestId> {
        match NonZeroU16::new(id) {
            Some(n) => Some(RequestId(n)),
            None => None,
        }
    }

    /// The wire value.
    pub const fn get(self) -> u16 {
        self.0.get()
    }
}

impl From<RequestId> for u16 {
    fn from(id: RequestId) -> u16 {
        id.get()
    }
}

/// Shown as the number alone, as the wire and the dump show it.
impl core::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt(f)
    }
}

impl core::fmt::Display for RequestId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt(f)
    }
}

/// What both parties keep of one active request (§3.3, §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// The role asked for in BEGIN_REQUEST (§5.1).
    pub(crate) role: Role,
    /// Whether `FCGI_KEEP_CONN` was set (§5.1, R-3.5-1).
    pub(crate) keep_conn: bool,
    /// The five streams (§5.2, §5.3).
    pub(crate) streams: Streams,
    /// Whether ABORT_REQUEST was sent or received (§5.4).
    pub(crate) aborted: bool,
    /// PARAMS gathered until its empty record (the application's side only).
    pub(crate) params: Gather,
}

/// Why [`Core::begin`] did not make an id active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BeginRefused {
    /// The id is active already (R-5.1-6).
    Active,
    /// `max_requests` ids are active.
    Full {
        /// The configured maximum.
        max: usize,
    },
}

impl BeginRefused {
    /// The peer's BEGIN_REQUEST for `id` at byte `at` (the application's side).
    pub(crate) fn inbound(self, id: RequestId, at: u64) -> Error {
        let kind = match self {
            BeginRefused::Active => ErrorKind::DuplicateBeginRequest(id.get()),
            BeginRefused::Full { max } => ErrorKind::LimitExceeded {
                limit: Limit::ConcurrentRequests,
                max,
            },
        };
        Error::new(kind, at)
    }

    /// The caller's own BEGIN_REQUEST for `id` (the web server's side).
    pub(crate) fn usage(self, id: RequestId) -> UsageError {
        UsageError::new(match self {
            BeginRefused::Active => UsageKind::RequestActive(id.get()),
            BeginRefused::Full { max } => UsageKind::LimitReached {
                limit: Limit::ConcurrentRequests,
                max,
            },
        })
    }
}

/// What an inbound record is, once the checks every record passes are done.
pub(crate) enum Inbound<'a> {
    /// A type neither party knows (§4.2), with whatever id it carried.
    Unknown {
        /// The type code.
        code: u8,
        /// The request id as sent.
        request_id: u16,
    },
    /// A management record (§4) with request id 0; a GET_VALUES or
    /// GET_VALUES_RESULT block is within its limit and well formed (§4.1).
    Management(RecordType, &'a [u8]),
    /// An application record (§3.3) with a nonzero request id.
    Request(RecordType, RequestId),
}

/// The core both parties share: configuration, the request table and the
/// rule that a request without `FCGI_KEEP_CONN` closes the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Core {
    pub(crate) limits: Limits,
    pub(crate) encoder: Encoder,
    pub(crate) requests: BTreeMap<RequestId, Request>,
    /// Which way the records this side is fed travel.
    inbound: Direction,
    /// A request without `FCGI_KEEP_CONN` ended (R-3.5-1).
    pub(crate) closing: bool,
}

impl Core {
    pub(crate) fn new(limits: Limits, encoder: Encoder, inbound: Direction) -> Core {
        Core {
            limits,
            encoder,
            requests: BTreeMap::new(),
            inbound,
            closing: false,
        }
    }

    /// The checks every inbound record passes (appendix A, §3.3, §4, §4.1).
    pub(crate) fn classify<'a>(&self, record: &Record<'a>) -> Result<Inbound<'a>, Error> {
        let t = record.record_type();
        let id = record.request_id();
        let at = record.offset;
        match t.direction() {
            None => {
                let RecordType::Unknown(code) = t else {
                    return Err(wrong_direction(t, self.inbound, at));
                };
                return Ok(Inbound::Unknown {
                    code,
                    request_id: id,
                });
            }
            Some(d) if d != self.inbound => return Err(wrong_direction(t, self.inbound, at)),
            Some(_) => {}
        }
        if t.is_management() {
            if id != NULL_REQUEST_ID {
                return Err(Error::new(
                    ErrorKind::ManagementRequestId {
                        record_type: t,
                        request_id: id,
                    },
                    at,
                ));
            }
            if matches!(t, RecordType::GetValues | RecordType::GetValuesResult) {
                let max = self.limits.max_management_bytes;
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
                    self.limits.max_pairs,
                )?;
            }
            return Ok(Inbound::Management(t, record.content));
        }
        match RequestId::new(id) {
            Some(id) => Ok(Inbound::Request(t, id)),
            None => Err(Error::new(ErrorKind::NullRequestId(t), at)),
        }
    }

    /// Makes `id` active (§5.1), refusing an active id (R-5.1-6) and more
    /// than `max_requests` at once; the caller says whose fault a refusal is.
    pub(crate) fn begin(
        &mut self,
        id: RequestId,
        role: Role,
        keep_conn: bool,
    ) -> Result<(), BeginRefused> {
        if self.requests.contains_key(&id) {
            return Err(BeginRefused::Active);
        }
        if self.requests.len() >= self.limits.max_requests {
            return Err(BeginRefused::Full {
                max: self.limits.max_requests,
            });
        }
        self.requests.insert(
            id,
            Request {
                role,
                keep_conn,
                streams: Streams::default(),
                aborted: false,
                params: Gather::default(),
            },
        );
        Ok(())
    }

    /// Ends `id` (§5.5); a request without `FCGI_KEEP_CONN` closes the connection (R-3.5-1).
    pub(crate) fn end(&mut self, id: RequestId) -> Option<Request> {
        let req = self.requests.remove(&id)?;
        if !req.keep_conn {
            self.closing = true;
        }
        Some(req)
    }

    /// An active request to write on.
    pub(crate) fn writable(&mut self, id: RequestId) -> Result<&mut Request, UsageError> {
        self.requests
            .get_mut(&id)
            .ok_or(UsageError::new(UsageKind::RequestNotActive(id.get())))
    }

    /// Writes `data` on one stream of `id` and, if `end`, its empty record;
    /// a stream that travels to this side cannot be written by it (appendix A).
    pub(crate) fn write_stream(
        &mut self,
        stream: StreamType,
        id: RequestId,
        data: &[u8],
        end: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        if stream.direction() == self.inbound {
            return Err(UsageError::new(UsageKind::WrongDirection(stream)));
        }
        let enc = self.encoder;
        let req = self.writable(id)?;
        req.streams.write(&enc, stream, id.get(), data, end, out)
    }
}

/// The error for a record that travels the other way (appendix A, R-A-1).
pub(crate) fn wrong_direction(record_type: RecordType, inbound: Direction, at: u64) -> Error {
    Error::new(
        ErrorKind::WrongDirection {
            record_type,
            expected: match inbound {
                Direction::ToApplication => Direction::ToWebServer,
                Direction::ToWebServer => Direction::ToApplication,
            },
        },
        at,
    )
}
