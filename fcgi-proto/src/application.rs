//! Application records (§5): the fixed bodies of `FCGI_BEGIN_REQUEST`
//! (§5.1) and `FCGI_END_REQUEST` (§5.5), and the protocol status.
//! Streams (§5.2, §5.3) are in [`crate::stream`]; ABORT_REQUEST (§5.4) has
//! no body.

use crate::error::{Error, ErrorKind};
use crate::record::RecordType;
use crate::role::Role;

/// `FCGI_KEEP_CONN`, bit 0 of the BEGIN_REQUEST flags (§5.1, R-5.1-2).
pub const FLAG_KEEP_CONN: u8 = 1;
/// Length of the BEGIN_REQUEST and END_REQUEST bodies (§5.1, §5.5).
pub const BODY_LEN: usize = 8;

fn body8(content: &[u8], record_type: RecordType, base: u64) -> Result<[u8; 8], Error> {
    content.try_into().map_err(|_| {
        Error::new(
            ErrorKind::BadBodyLength {
                record_type,
                actual: content.len(),
            },
            base,
        )
    })
}

/// The body of `FCGI_BEGIN_REQUEST` (§5.1): role, flags, 5 reserved bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct BeginRequestBody {
    /// The role asked for (§6).
    pub role: Role,
    /// Flags; only [`FLAG_KEEP_CONN`] is defined.
    pub flags: u8,
}

impl BeginRequestBody {
    /// A body for `role`, keeping the connection open if `keep_conn`.
    pub fn new(role: Role, keep_conn: bool) -> Self {
        BeginRequestBody {
            role,
            flags: if keep_conn { FLAG_KEEP_CONN } else { 0 },
        }
    }

    /// Parses exactly 8 bytes of content (R-5.1-1); `base` is the content's offset.
    pub fn parse(content: &[u8], base: u64) -> Result<Self, Error> {
        let [r1, r0, flags, ..] = body8(content, RecordType::BeginRequest, base)?;
        Ok(BeginRequestBody {
            role: Role::from_u16(u16::from_be_bytes([r1, r0])),
            flags,
        })
    }

    /// Whether `FCGI_KEEP_CONN` is set (R-5.1-2).
    pub fn keep_conn(&self) -> bool {
        self.flags & FLAG_KEEP_CONN != 0
    }

    /// The 8 body bytes; reserved bytes are zero.
    pub fn to_bytes(&self) -> [u8; 8] {
        let [r1, r0] = self.role.code().to_be_bytes();
        [r1, r0, self.flags, 0, 0, 0, 0, 0]
    }
}

/// `protocolStatus` of `FCGI_END_REQUEST` (§5.5). Unknown codes are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolStatus {
    /// `FCGI_REQUEST_COMPLETE` = 0: normal end.
    RequestComplete,
    /// `FCGI_CANT_MPX_CONN` = 1: a second request on a connection that
    /// serves one at a time (R-5.5-2).
    CantMpxConn,
    /// `FCGI_OVERLOADED` = 2: out of some resource (R-5.5-3).
    Overloaded,
    /// `FCGI_UNKNOWN_ROLE` = 3: the role is not served (R-5.1-3).
    UnknownRole,
    /// Any other code; never 0..=3.
    Unknown(u8),
}

impl ProtocolStatus {
    /// The status for a wire code (§8).
    pub fn from_u8(code: u8) -> Self {
        match code {
            0 => ProtocolStatus::RequestComplete,
            1 => ProtocolStatus::CantMpxConn,
            2 => ProtocolStatus::Overloaded,
            3 => ProtocolStatus::UnknownRole,
            other => ProtocolStatus::Unknown(other),
        }
    }

    /// The wire code (§8).
    pub fn code(self) -> u8 {
        match self {
            ProtocolStatus::RequestComplete => 0,
            ProtocolStatus::CantMpxConn => 1,
            ProtocolStatus::Overloaded => 2,
            ProtocolStatus::UnknownRole => 3,
            ProtocolStatus::Unknown(c) => c,
        }
    }

    /// The spec's name without `FCGI_`, e.g. `"REQUEST_COMPLETE"`.
    pub fn name(self) -> &'static str {
        match self {
            ProtocolStatus::RequestComplete => "REQUEST_COMPLETE",
            ProtocolStatus::CantMpxConn => "CANT_MPX_CONN",
            ProtocolStatus::Overloaded => "OVERLOADED",
            ProtocolStatus::UnknownRole => "UNKNOWN_ROLE",
            ProtocolStatus::Unknown(_) => "UNKNOWN",
        }
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for ProtocolStatus {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(ProtocolStatus::from_u8(u8::arbitrary(u)?))
    }
}

/// The body of `FCGI_END_REQUEST` (§5.5): appStatus and protocolStatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct EndRequestBody {
    /// The application's exit status, as a CGI program's (§5.5).
    pub app_status: u32,
    /// How the request ended at the protocol level.
    pub protocol_status: ProtocolStatus,
}

impl EndRequestBody {
    /// Parses exactly 8 bytes of content (R-5.5-1); `base` is the content's offset.
    pub fn parse(content: &[u8], base: u64) -> Result<Self, Error> {
        let [a3, a2, a1, a0, ps, ..] = body8(content, RecordType::EndRequest, base)?;
        Ok(EndRequestBody {
            app_status: u32::from_be_bytes([a3, a2, a1, a0]),
            protocol_status: ProtocolStatus::from_u8(ps),
        })
    }

    /// The 8 body bytes; reserved bytes are zero.
    pub fn to_bytes(&self) -> [u8; 8] {
        let [a3, a2, a1, a0] = self.app_status.to_be_bytes();
        [a3, a2, a1, a0, self.protocol_status.code(), 0, 0, 0]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn begin_request_body() {
        let b = BeginRequestBody::parse(&[0, 1, 1, 0, 0, 0, 0, 0], 8).unwrap();
        assert_eq!(b.role, Role::Responder);
        assert!(b.keep_conn());
        assert_eq!(b.to_bytes(), [0, 1, 1, 0, 0, 0, 0, 0]);
        let e = BeginRequestBody::parse(&[0, 1, 1], 8).unwrap_err();
        assert_eq!(e.offset(), 8);
        assert_eq!(e.section().to_string(), "§5.1");
        assert_eq!(e.requirement(), Some(crate::requirement::R_5_1_1));
    }

    #[test]
    fn end_request_body() {
        let b = EndRequestBody {
            app_status: 0x0102_0304,
            protocol_status: ProtocolStatus::UnknownRole,
        };
        assert_eq!(b.to_bytes(), [1, 2, 3, 4, 3, 0, 0, 0]);
        assert_eq!(EndRequestBody::parse(&b.to_bytes(), 0).unwrap(), b);
        assert!(EndRequestBody::parse(&[0; 9], 0).is_err());
    }
}
