//! Errors as data (§3.3, §3.4, §4, §5, §6): what was wrong, where, and which
//! section of the specification it breaks.
//!
//! Two types, by whose fault it is: [`Error`] for the peer's bytes
//! (malformed, against a rule, or past a limit), always with the byte
//! offset where it was found; [`UsageError`] for the caller's own call that
//! the rules forbid, with no offset. Decoders and the parties' `handle`
//! return the first, writers the second.

use core::fmt;

use crate::record::RecordType;
use crate::requirement::{
    Requirement, Section, R_3_3_1, R_3_3_2, R_3_3_5, R_3_4_3, R_4_2_2, R_5_1_1, R_5_1_6, R_5_2_1,
    R_5_3_1, R_5_5_1, R_5_5_4, R_6_2_2, R_6_2_4, R_A_1, R_A_3,
};

mod usage;

pub use usage::{UsageError, UsageKind};

/// A limit from [`crate::Limits`] that input tried to exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Bytes in one request's PARAMS stream (§5.2).
    ParamsBytes,
    /// Name-value pairs in one request's PARAMS stream (§5.2).
    Pairs,
    /// Bytes buffered for one stream of one request (§5.3).
    StreamBytes,
    /// Request ids active at once on one connection (§3.3).
    ConcurrentRequests,
    /// Bytes buffered by a decoder or head parser.
    BufferBytes,
    /// Header lines in a CGI response head (RFC 3875 §6).
    CgiHeaders,
    /// Bytes of a GET_VALUES or GET_VALUES_RESULT block (§4.1).
    ManagementBytes,
}

impl Limit {
    /// The section of what the limit bounds.
    pub fn section(self) -> Section {
        match self {
            Limit::ParamsBytes | Limit::Pairs => Section::S5_2,
            Limit::StreamBytes => Section::S5_3,
            Limit::ConcurrentRequests | Limit::BufferBytes => Section::S3_3,
            Limit::CgiHeaders => Section::S6_2,
            Limit::ManagementBytes => Section::S4_1,
        }
    }

    /// A short name of the limit.
    pub fn name(self) -> &'static str {
        match self {
            Limit::ParamsBytes => "max_params_bytes",
            Limit::Pairs => "max_pairs",
            Limit::StreamBytes => "max_stream_bytes",
            Limit::ConcurrentRequests => "max_requests",
            Limit::BufferBytes => "max_buffer_bytes",
            Limit::CgiHeaders => "max_cgi_headers",
            Limit::ManagementBytes => "max_management_bytes",
        }
    }
}

/// Which direction a record travels in (§3.3, appendix A).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by the web server to the application.
    ToApplication,
    /// Sent by the application to the web server.
    ToWebServer,
}

/// One way the peer's bytes or its side of the conversation can be wrong.
///
/// Each variant names the rule it breaks through [`ErrorKind::section`] and
/// [`ErrorKind::requirement`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// §3.3: the header's version byte is not `FCGI_VERSION_1`.
    UnsupportedVersion(u8),
    /// §3.3: the input ended inside a record (header, content or padding).
    TruncatedRecord {
        /// Bytes the record needs in all (header, content, padding).
        needed: usize,
        /// Bytes that were there.
        available: usize,
    },
    /// §3.4: the input ended inside a name or value length.
    TruncatedLength {
        /// 1 for the name length, 2 for the value length.
        which: PairPart,
    },
    /// §3.4: a name or value runs past the end of the input.
    PairOverrun {
        /// Name or value.
        which: PairPart,
        /// The length the length field declares.
        declared: u32,
        /// The bytes left in the input.
        available: usize,
    },
    /// §4.2, §5.1, §5.5: a fixed 8-byte body had another length.
    BadBodyLength {
        /// The record carrying the body.
        record_type: RecordType,
        /// The content length that was there.
        actual: usize,
    },
    /// §4: a management record carried a request id other than 0.
    ManagementRequestId {
        /// The record type.
        record_type: RecordType,
        /// The request id it carried.
        request_id: u16,
    },
    /// §3.3: an application record carried the null request id 0.
    NullRequestId(RecordType),
    /// Appendix A: the record travels the other way.
    WrongDirection {
        /// The record type.
        record_type: RecordType,
        /// Where records of this type travel.
        expected: Direction,
    },
    /// §3.3, §5.1: a BEGIN_REQUEST for an id that is already active.
    DuplicateBeginRequest(u16),
    /// §3.3: a record for a request id that is not active.
    InactiveRequestId {
        /// The record type.
        record_type: RecordType,
        /// The request id.
        request_id: u16,
    },
    /// §5.2, §5.3: a stream record after the stream's empty record.
    StreamAfterEnd {
        /// The stream.
        record_type: RecordType,
        /// The request id.
        request_id: u16,
    },
    /// §5.5: a second END_REQUEST, or output after END_REQUEST was sent.
    RequestEnded(u16),
    /// §5.5: END_REQUEST arrived while STDOUT had not been ended by an empty record.
    UnterminatedStream {
        /// The stream.
        record_type: RecordType,
        /// The request id.
        request_id: u16,
    },
    /// §6.2: the application wrote output before the web server ended PARAMS.
    OutputBeforeParams(u16),
    /// A configured limit was hit; nothing was allocated for the excess.
    LimitExceeded {
        /// Which limit.
        limit: Limit,
        /// The configured maximum.
        max: usize,
    },
    /// RFC 3875 §6: a CGI response head is malformed.
    Cgi(CgiErrorKind),
}

/// The name or the value of a pair (§3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PairPart {
    /// The name.
    Name,
    /// The value.
    Value,
}

impl PairPart {
    fn as_str(self) -> &'static str {
        match self {
            PairPart::Name => "name",
            PairPart::Value => "value",
        }
    }
}

/// How a CGI response head (RFC 3875 §6) can be malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CgiErrorKind {
    /// A header line has no colon.
    MissingColon,
    /// A header name is empty or holds a character outside the token set.
    BadHeaderName,
    /// A header value holds a control character.
    BadHeaderValue,
    /// The Status header is not three digits optionally followed by a reason.
    BadStatus,
    /// A line starts with whitespace (obsolete folding is not allowed).
    Folding,
    /// The head has no Content-Type, Location or Status header.
    NoCgiHeader,
}

impl CgiErrorKind {
    fn as_str(self) -> &'static str {
        match self {
            CgiErrorKind::MissingColon => "header line without a colon",
            CgiErrorKind::BadHeaderName => "invalid header name",
            CgiErrorKind::BadHeaderValue => "control character in header value",
            CgiErrorKind::BadStatus => "Status is not a 3-digit code with an optional reason",
            CgiErrorKind::Folding => "folded header line",
            CgiErrorKind::NoCgiHeader => "no Content-Type, Location or Status header",
        }
    }
}

impl ErrorKind {
    /// The specification section the error breaks: its requirement's
    /// section where it has one, so the two cannot disagree; for a limit,
    /// the section of what the limit bounds.
    pub fn section(&self) -> Section {
        if let Some(r) = self.requirement() {
            return r.section();
        }
        match self {
            ErrorKind::LimitExceeded { limit, .. } => limit.section(),
            // Every other kind names a requirement (see `requirement`).
            _ => Section::S3_3,
        }
    }

    /// The requirement of `spec/requirements.toml` the error breaks; `None`
    /// for a limit of this codec, which the specification does not set.
    pub fn requirement(&self) -> Option<Requirement> {
        Some(match self {
            ErrorKind::UnsupportedVersion(_) => R_3_3_1,
            ErrorKind::TruncatedRecord { .. } => R_3_3_2,
            ErrorKind::NullRequestId(_) => R_3_3_5,
            ErrorKind::TruncatedLength { .. } | ErrorKind::PairOverrun { .. } => R_3_4_3,
            ErrorKind::BadBodyLength { record_type, .. } => match record_type {
                RecordType::BeginRequest => R_5_1_1,
                RecordType::EndRequest => R_5_5_1,
                _ => R_4_2_2,
            },
            ErrorKind::ManagementRequestId { .. } => R_A_3,
            ErrorKind::DuplicateBeginRequest(_) => R_5_1_6,
            ErrorKind::WrongDirection { .. } => R_A_1,
            ErrorKind::StreamAfterEnd { record_type, .. } => match record_type {
                RecordType::Params => R_5_2_1,
                _ => R_5_3_1,
            },
            ErrorKind::RequestEnded(_) | ErrorKind::InactiveRequestId { .. } => R_5_5_4,
            ErrorKind::UnterminatedStream { .. } => R_5_3_1,
            ErrorKind::OutputBeforeParams(_) => R_6_2_4,
            ErrorKind::Cgi(_) => R_6_2_2,
            ErrorKind::LimitExceeded { .. } => return None,
        })
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::UnsupportedVersion(v) => write!(f, "version {v} is not FCGI_VERSION_1"),
            ErrorKind::TruncatedRecord { needed, available } => write!(
                f,
                "truncated record: {needed} bytes needed, {available} available"
            ),
            ErrorKind::TruncatedLength { which } => {
                write!(f, "input ends inside a {} length", which.as_str())
            }
            ErrorKind::PairOverrun {
                which,
                declared,
                available,
            } => write!(
                f,
                "{} length {declared} runs past the end ({available} bytes left)",
                which.as_str()
            ),
            ErrorKind::BadBodyLength {
                record_type,
                actual,
            } => write!(
                f,
                "{} body is {actual} bytes, expected 8",
                record_type.name()
            ),
            ErrorKind::ManagementRequestId {
                record_type,
                request_id,
            } => write!(
                f,
                "management record {} carries request id {request_id}, expected 0",
                record_type.name()
            ),
            ErrorKind::NullRequestId(t) => {
                write!(f, "application record {} carries request id 0", t.name())
            }
            ErrorKind::WrongDirection {
                record_type,
                expected,
            } => write!(
                f,
                "{} travels {} only",
                record_type.name(),
                match expected {
                    Direction::ToApplication => "from web server to application",
                    Direction::ToWebServer => "from application to web server",
                }
            ),
            ErrorKind::DuplicateBeginRequest(id) => {
                write!(
                    f,
                    "BEGIN_REQUEST for request id {id}, which is already active"
                )
            }
            ErrorKind::InactiveRequestId {
                record_type,
                request_id,
            } => write!(
                f,
                "{} for request id {request_id}, which is not active",
                record_type.name()
            ),
            ErrorKind::StreamAfterEnd {
                record_type,
                request_id,
            } => write!(
                f,
                "{} for request id {request_id} after the stream's empty record",
                record_type.name()
            ),
            ErrorKind::RequestEnded(id) => {
                write!(f, "request id {id} already ended with END_REQUEST")
            }
            ErrorKind::UnterminatedStream {
                record_type,
                request_id,
            } => write!(
                f,
                "END_REQUEST for request id {request_id} before {} was ended by an empty record",
                record_type.name()
            ),
            ErrorKind::OutputBeforeParams(id) => write!(
                f,
                "output for request id {id} before the web server ended FCGI_PARAMS"
            ),
            ErrorKind::LimitExceeded { limit, max } => {
                write!(f, "limit {} ({max}) exceeded", limit.name())
            }
            ErrorKind::Cgi(k) => write!(f, "CGI response head: {}", k.as_str()),
        }
    }
}

/// The three ways the peer's bytes can fail, in the manner of rustls and
/// h2: a caller tells "the peer sent bytes that are not FastCGI" from "the
/// peer broke §5.3" from "the peer asked for more than we hold" by this,
/// not by reading the kind. The caller's own mistakes are not among them:
/// they are a [`UsageError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The bytes cannot be parsed: a header, a length or a fixed body that
    /// is not what §3.3, §3.4, §4.2, §5.1, §5.5 or a CGI head allows.
    Malformed,
    /// Well-formed bytes that break a rule of the conversation: the peer's
    /// fault (a record in the wrong direction, for an id not active, after
    /// a stream's end, …).
    Protocol,
    /// A limit of this codec ([`crate::Limits`] and the decoder's bounds)
    /// was reached; nothing was allocated for the excess.
    Limit,
}

/// An error in the peer's bytes: what was wrong ([`ErrorKind`]), where (the
/// absolute byte offset where it was found), and which section and
/// requirement it breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error {
    kind: ErrorKind,
    offset: u64,
}

impl Error {
    /// An error of `kind` found at byte `offset` of the input.
    pub fn new(kind: ErrorKind, offset: u64) -> Self {
        Error { kind, offset }
    }

    /// What was wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Which of the three ways it failed.
    pub fn class(&self) -> ErrorClass {
        match self.kind {
            ErrorKind::LimitExceeded { .. } => ErrorClass::Limit,
            ErrorKind::UnsupportedVersion(_)
            | ErrorKind::TruncatedRecord { .. }
            | ErrorKind::TruncatedLength { .. }
            | ErrorKind::PairOverrun { .. }
            | ErrorKind::BadBodyLength { .. }
            | ErrorKind::Cgi(_) => ErrorClass::Malformed,
            _ => ErrorClass::Protocol,
        }
    }

    /// Byte offset from the start of the stream (or the block) where it
    /// went wrong.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The section it breaks, e.g. `§3.4`.
    pub fn section(&self) -> Section {
        self.kind.section()
    }

    /// The requirement it breaks, if one applies.
    pub fn requirement(&self) -> Option<Requirement> {
        self.kind.requirement()
    }

    /// The same error moved `by` bytes further into a larger stream.
    pub fn shifted(mut self, by: u64) -> Self {
        self.offset = self.offset.saturating_add(by);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at byte {} ({}",
            self.kind,
            self.offset,
            self.section()
        )?;
        if let Some(r) = self.requirement() {
            write!(f, ", {r}")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for Error {}
