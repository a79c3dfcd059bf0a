//! The caller's own mistakes (§3.3, §3.4, §3.5, §5, §6.2): a write the
//! rules forbid. Kept apart from [`super::Error`], which is always the
//! peer's bytes or a bound on them and always has an offset, in the manner
//! of h2's `UserError` and rustls's `ApiMisuse`.

use core::fmt;

use super::{Direction, Limit};
use crate::requirement::{
    Requirement, Section, R_3_3_2, R_3_4_2, R_3_4_3, R_3_5_1, R_5_1_6, R_5_2_1, R_5_3_1, R_5_5_4,
    R_6_2_4, R_A_1,
};
use crate::stream::StreamType;

/// One way a writer's call can break the rules. The writers of
/// [`crate::encoder`], [`crate::name_value`], [`crate::management`] and the
/// two parties of [`crate::connection`] refuse it and write nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UsageKind {
    /// §3.3: more than 65535 content bytes were offered for one record.
    ContentTooLong(usize),
    /// §3.4: a name or value longer than 2^31-1 bytes.
    LengthTooLarge(usize),
    /// §3.4: the 1-byte length form was asked for a length above 127.
    ShortFormTooSmall(usize),
    /// §5.2, §5.3: a write on a stream after its empty record.
    StreamEnded {
        /// The stream.
        stream: StreamType,
        /// The request id.
        request_id: u16,
    },
    /// §3.3, §5.5: a write for a request id that is not active (never
    /// begun, or already ended with END_REQUEST).
    RequestNotActive(u16),
    /// §5.1: BEGIN_REQUEST for a request id that is still active.
    RequestActive(u16),
    /// Appendix A: a stream this side does not send (STDOUT from the web
    /// server, PARAMS from the application, …).
    WrongDirection(StreamType),
    /// §6.2: STDOUT or STDERR before the web server ended PARAMS.
    OutputBeforeParams(u16),
    /// §3.5: a new request on a connection that a request without
    /// `FCGI_KEEP_CONN` has ended; it must be closed.
    ConnectionClosed,
    /// §4.1: the GET_VALUES query to answer is not a name-value block.
    MalformedQuery,
    /// A limit of this side's [`crate::Limits`] would be passed (for a web
    /// server, `max_requests` active requests at once).
    LimitReached {
        /// Which limit.
        limit: Limit,
        /// The configured maximum.
        max: usize,
    },
}

impl UsageKind {
    /// The section of the rule the call breaks: its requirement's section
    /// where it has one; for a limit, the section of what it bounds.
    pub fn section(&self) -> Section {
        match (self.requirement(), self) {
            (Some(r), _) => r.section(),
            (None, UsageKind::LimitReached { limit, .. }) => limit.section(),
            (None, _) => Section::S3_3,
        }
    }

    /// The requirement of `spec/requirements.toml` the call would make this
    /// side break; `None` for a limit of this codec.
    pub fn requirement(&self) -> Option<Requirement> {
        Some(match self {
            UsageKind::ContentTooLong(_) => R_3_3_2,
            UsageKind::LengthTooLarge(_) | UsageKind::ShortFormTooSmall(_) => R_3_4_2,
            UsageKind::StreamEnded {
                stream: StreamType::Params,
                ..
            } => R_5_2_1,
            UsageKind::StreamEnded { .. } => R_5_3_1,
            UsageKind::RequestNotActive(_) => R_5_5_4,
            UsageKind::RequestActive(_) => R_5_1_6,
            UsageKind::WrongDirection(_) => R_A_1,
            UsageKind::OutputBeforeParams(_) => R_6_2_4,
            UsageKind::ConnectionClosed => R_3_5_1,
            UsageKind::MalformedQuery => R_3_4_3,
            UsageKind::LimitReached { .. } => return None,
        })
    }
}

impl fmt::Display for UsageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageKind::ContentTooLong(n) => {
                write!(f, "{n} content bytes do not fit one record (max 65535)")
            }
            UsageKind::LengthTooLarge(n) => write!(f, "length {n} exceeds 2^31-1"),
            UsageKind::ShortFormTooSmall(n) => {
                write!(f, "length {n} does not fit the 1-byte form")
            }
            UsageKind::StreamEnded { stream, request_id } => write!(
                f,
                "{} of request id {request_id} was already ended by its empty record",
                stream.record_type().name()
            ),
            UsageKind::RequestNotActive(id) => write!(
                f,
                "request id {id} is not active (not begun, or ended by END_REQUEST)"
            ),
            UsageKind::RequestActive(id) => write!(
                f,
                "BEGIN_REQUEST for request id {id}, which is still active"
            ),
            UsageKind::WrongDirection(stream) => write!(
                f,
                "{} travels {} only",
                stream.record_type().name(),
                match stream.direction() {
                    Direction::ToApplication => "from web server to application",
                    Direction::ToWebServer => "from application to web server",
                }
            ),
            UsageKind::OutputBeforeParams(id) => write!(
                f,
                "output for request id {id} before the web server ended FCGI_PARAMS"
            ),
            UsageKind::ConnectionClosed => write!(
                f,
                "new request on a connection that a request without FCGI_KEEP_CONN closed"
            ),
            UsageKind::MalformedQuery => write!(
                f,
                "the query is not a name-value block (pass the one a GetValues event holds)"
            ),
            UsageKind::LimitReached { limit, max } => {
                write!(f, "limit {} ({max}) reached", limit.name())
            }
        }
    }
}

/// A call the rules forbid: the caller's own mistake, found before any
/// byte was written. It names the rule and its section but has no offset,
/// since no input was involved; errors in the peer's bytes are
/// [`super::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UsageError {
    kind: UsageKind,
}

impl UsageError {
    /// A usage error of `kind`.
    pub fn new(kind: UsageKind) -> Self {
        UsageError { kind }
    }

    /// What the call got wrong.
    pub fn kind(&self) -> &UsageKind {
        &self.kind
    }

    /// The section it breaks, e.g. `§5.5`.
    pub fn section(&self) -> Section {
        self.kind.section()
    }

    /// The requirement it breaks, if one applies.
    pub fn requirement(&self) -> Option<Requirement> {
        self.kind.requirement()
    }
}

impl From<UsageKind> for UsageError {
    fn from(kind: UsageKind) -> Self {
        UsageError::new(kind)
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (a call the rules forbid; {}",
            self.kind,
            self.section()
        )?;
        if let Some(r) = self.requirement() {
            write!(f, ", {r}")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for UsageError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usage_error_names_its_rule_and_no_offset() {
        let e = UsageError::new(UsageKind::RequestNotActive(3));
        assert_eq!(
            e.to_string(),
            "request id 3 is not active (not begun, or ended by END_REQUEST) \
             (a call the rules forbid; §5.5, R-5.5-4)"
        );
        let e = UsageError::new(UsageKind::StreamEnded {
            stream: StreamType::Params,
            request_id: 1,
        });
        assert_eq!(
            (e.section(), e.requirement()),
            (Section::S5_2, Some(R_5_2_1))
        );
        let e = UsageError::from(UsageKind::LimitReached {
            limit: Limit::ConcurrentRequests,
            max: 1,
        });
        assert_eq!((e.section(), e.requirement()), (Section::S3_3, None));
    }
}
