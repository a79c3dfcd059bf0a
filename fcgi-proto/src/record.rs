//! Records (§3.3) and record types (§8): the 8-byte header, the content and
//! the padding, parsed without copying.

use crate::error::{Direction, Error, ErrorKind};

/// `FCGI_VERSION_1`, the only version (§3.3, §8).
pub const VERSION_1: u8 = 1;
/// Length of a record header, `FCGI_HEADER_LEN` (§8).
pub const HEADER_LEN: usize = 8;
/// Largest content length one record can carry (§3.3).
pub const MAX_CONTENT_LEN: usize = 65535;
/// Largest padding length (§3.3).
pub const MAX_PADDING_LEN: usize = 255;
/// Largest record on the wire: header, content and padding.
pub const MAX_RECORD_LEN: usize = HEADER_LEN + MAX_CONTENT_LEN + MAX_PADDING_LEN;
/// `FCGI_NULL_REQUEST_ID`, the id of management records (§3.3, §4).
pub const NULL_REQUEST_ID: u16 = 0;

/// A record type (§3.3, §8). Unknown codes are kept, not rejected: §4.2
/// asks the application to answer them with `FCGI_UNKNOWN_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordType {
    /// `FCGI_BEGIN_REQUEST` = 1 (§5.1).
    BeginRequest,
    /// `FCGI_ABORT_REQUEST` = 2 (§5.4).
    AbortRequest,
    /// `FCGI_END_REQUEST` = 3 (§5.5).
    EndRequest,
    /// `FCGI_PARAMS` = 4 (§5.2).
    Params,
    /// `FCGI_STDIN` = 5 (§5.3).
    Stdin,
    /// `FCGI_STDOUT` = 6 (§5.3).
    Stdout,
    /// `FCGI_STDERR` = 7 (§5.3).
    Stderr,
    /// `FCGI_DATA` = 8 (§5.3).
    Data,
    /// `FCGI_GET_VALUES` = 9 (§4.1).
    GetValues,
    /// `FCGI_GET_VALUES_RESULT` = 10 (§4.1).
    GetValuesResult,
    /// `FCGI_UNKNOWN_TYPE` = 11 (§4.2).
    UnknownType,
    /// Any other code (§4.2); never one of 1..=11.
    Unknown(u8),
}

impl RecordType {
    /// The type for a wire code (§8).
    #[inline]
    pub fn from_u8(code: u8) -> Self {
        match code {
            1 => RecordType::BeginRequest,
            2 => RecordType::AbortRequest,
            3 => RecordType::EndRequest,
            4 => RecordType::Params,
            5 => RecordType::Stdin,
            6 => RecordType::Stdout,
            7 => RecordType::Stderr,
            8 => RecordType::Data,
            9 => RecordType::GetValues,
            10 => RecordType::GetValuesResult,
            11 => RecordType::UnknownType,
            other => RecordType::Unknown(other),
        }
    }

    /// The wire code (§8).
    pub fn code(self) -> u8 {
        match self {
            RecordType::BeginRequest => 1,
            RecordType::AbortRequest => 2,
            RecordType::EndRequest => 3,
            RecordType::Params => 4,
            RecordType::Stdin => 5,
            RecordType::Stdout => 6,
            RecordType::Stderr => 7,
            RecordType::Data => 8,
            RecordType::GetValues => 9,
            RecordType::GetValuesResult => 10,
            RecordType::UnknownType => 11,
            RecordType::Unknown(c) => c,
        }
    }

    /// The spec's name without the `FCGI_` prefix, e.g. `"BEGIN_REQUEST"` (§8).
    pub fn name(self) -> &'static str {
        match self {
            RecordType::BeginRequest => "BEGIN_REQUEST",
            RecordType::AbortRequest => "ABORT_REQUEST",
            RecordType::EndRequest => "END_REQUEST",
            RecordType::Params => "PARAMS",
            RecordType::Stdin => "STDIN",
            RecordType::Stdout => "STDOUT",
            RecordType::Stderr => "STDERR",
            RecordType::Data => "DATA",
            RecordType::GetValues => "GET_VALUES",
            RecordType::GetValuesResult => "GET_VALUES_RESULT",
            RecordType::UnknownType => "UNKNOWN_TYPE",
            RecordType::Unknown(_) => "UNKNOWN",
        }
    }

    /// Management record types (§4), which use request id 0.
    pub fn is_management(self) -> bool {
        matches!(
            self,
            RecordType::GetValues | RecordType::GetValuesResult | RecordType::UnknownType
        )
    }

    /// Stream record types (§3.3, §5.2, §5.3), ended by an empty record.
    pub fn is_stream(self) -> bool {
        matches!(
            self,
            RecordType::Params
                | RecordType::Stdin
                | RecordType::Stdout
                | RecordType::Stderr
                | RecordType::Data
        )
    }

    /// Which way records of this type travel (appendix A); `None` for unknown types.
    pub fn direction(self) -> Option<Direction> {
        match self {
            RecordType::BeginRequest
            | RecordType::AbortRequest
            | RecordType::Params
            | RecordType::Stdin
            | RecordType::Data
            | RecordType::GetValues => Some(Direction::ToApplication),
            RecordType::EndRequest
            | RecordType::Stdout
            | RecordType::Stderr
            | RecordType::GetValuesResult
            | RecordType::UnknownType => Some(Direction::ToWebServer),
            RecordType::Unknown(_) => None,
        }
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for RecordType {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(RecordType::from_u8(u8::arbitrary(u)?))
    }
}

/// The fixed 8-byte record header (§3.3).
///
/// ```text
/// version | type | requestIdB1 requestIdB0 | contentLengthB1 contentLengthB0 | paddingLength | reserved
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Header {
    /// Protocol version, `FCGI_VERSION_1` (§3.3).
    pub version: u8,
    /// Record type (§8).
    pub record_type: RecordType,
    /// Request id; 0 for management records (§3.3).
    pub request_id: u16,
    /// Content bytes following the header (§3.3).
    pub content_length: u16,
    /// Padding bytes following the content, ignored by receivers (§3.3).
    pub padding_length: u8,
    /// The reserved byte as sent (§3.3); senders write 0.
    pub reserved: u8,
}

impl Header {
    /// A version-1 header.
    pub fn new(
        record_type: RecordType,
        request_id: u16,
        content_length: u16,
        padding_length: u8,
    ) -> Self {
        Header {
            version: VERSION_1,
            record_type,
            request_id,
            content_length,
            padding_length,
            reserved: 0,
        }
    }

    /// Reads a header from exactly 8 bytes (§3.3). No field is checked here.
    #[inline]
    pub fn from_bytes(b: [u8; HEADER_LEN]) -> Self {
        let [version, ty, id1, id0, len1, len0, padding_length, reserved] = b;
        Header {
            version,
            record_type: RecordType::from_u8(ty),
            request_id: u16::from_be_bytes([id1, id0]),
            content_length: u16::from_be_bytes([len1, len0]),
            padding_length,
            reserved,
        }
    }

    /// Reads a header from the first 8 bytes of `buf`, or `None` if shorter.
    #[inline]
    pub fn from_slice(buf: &[u8]) -> Option<Self> {
        let first: [u8; HEADER_LEN] = buf.get(..HEADER_LEN)?.try_into().ok()?;
        Some(Header::from_bytes(first))
    }

    /// The header's 8 bytes (§3.3).
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let [id1, id0] = self.request_id.to_be_bytes();
        let [len1, len0] = self.content_length.to_be_bytes();
        [
            self.version,
            self.record_type.code(),
            id1,
            id0,
            len1,
            len0,
            self.padding_length,
            self.reserved,
        ]
    }

    /// Header, content and padding together.
    #[inline]
    pub fn record_len(&self) -> usize {
        HEADER_LEN + usize::from(self.content_length) + usize::from(self.padding_length)
    }
}

/// A complete record borrowed from the input (§3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The header.
    pub header: Header,
    /// The content, `header.content_length` bytes.
    pub content: &'a [u8],
    /// The padding, `header.padding_length` bytes; its value carries no meaning.
    pub padding: &'a [u8],
    /// Byte offset of the header in the stream.
    pub offset: u64,
}

impl<'a> Record<'a> {
    /// The record type.
    pub fn record_type(&self) -> RecordType {
        self.header.record_type
    }

    /// The request id.
    pub fn request_id(&self) -> u16 {
        self.header.request_id
    }

    /// Offset of the first content byte in the stream.
    pub fn content_offset(&self) -> u64 {
        self.offset + HEADER_LEN as u64
    }

    /// An owned copy.
    pub fn to_owned(&self) -> OwnedRecord {
        OwnedRecord {
            record_type: self.header.record_type,
            request_id: self.header.request_id,
            content: self.content.to_vec(),
        }
    }
}

/// Outcome of parsing that may need more bytes: a short input is not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<T> {
    /// Parsed; the value and the number of bytes consumed.
    Complete(T),
    /// More bytes are needed; at least this many in all.
    Partial(usize),
}

/// Options of the record parser (§3.3). Built from its `Default` with the
/// `with_*` methods; the fields are private, so a field added later breaks
/// no caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    strict_version: bool,
}

impl ParseOptions {
    /// The same options, rejecting records whose version is not 1 (`true`,
    /// the default) or parsing every version's header alike (`false`)
    /// (§3.3, R-3.3-1).
    pub fn with_strict_version(mut self, strict: bool) -> Self {
        self.strict_version = strict;
        self
    }

    /// Whether versions other than 1 are rejected (§3.3, R-3.3-1).
    pub fn strict_version(&self) -> bool {
        self.strict_version
    }
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            strict_version: true,
        }
    }
}

/// Parses one record from the start of `buf` without copying (§3.3).
///
/// `base` is the offset of `buf` in the stream, used for the record's
/// offset and for errors. Returns the record and the bytes it used, or
/// [`Status::Partial`] when `buf` holds only part of it.
#[inline]
pub fn parse_record(
    buf: &[u8],
    base: u64,
    options: ParseOptions,
) -> Result<Status<(Record<'_>, usize)>, Error> {
    // The version is judged from the first byte, before the header is whole.
    match buf.first() {
        Some(&v) if options.strict_version && v != VERSION_1 => {
            return Err(Error::new(ErrorKind::UnsupportedVersion(v), base));
        }
        _ => {}
    }
    let Some(header) = Header::from_slice(buf) else {
        return Ok(Status::Partial(HEADER_LEN));
    };
    let total = header.record_len();
    let content_end = HEADER_LEN + usize::from(header.content_length);
    match (
        buf.get(HEADER_LEN..content_end),
        buf.get(content_end..total),
    ) {
        (Some(content), Some(padding)) => Ok(Status::Complete((
            Record {
                header,
                content,
                padding,
                offset: base,
            },
            total,
        ))),
        _ => Ok(Status::Partial(total)),
    }
}

/// Iterates over the records of a complete byte stream (§3.3).
///
/// Yields each record, then at most one error: a malformed header or a
/// final record cut short ([`ErrorKind::TruncatedRecord`]).
#[derive(Debug, Clone)]
pub struct Records<'a> {
    buf: &'a [u8],
    pos: usize,
    options: ParseOptions,
    done: bool,
}

/// The records of a complete byte stream, in order (§3.3).
pub fn records(buf: &[u8]) -> Records<'_> {
    records_with(buf, ParseOptions::default())
}

/// [`records`] with explicit options.
pub fn records_with(buf: &[u8], options: ParseOptions) -> Records<'_> {
    Records {
        buf,
        pos: 0,
        options,
        done: false,
    }
}

impl<'a> Records<'a> {
    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        match parse_record(rest, self.pos as u64, self.options) {
            Ok(Status::Complete((record, used))) => {
                self.pos += used;
                Some(Ok(record))
            }
            Ok(Status::Partial(needed)) => {
                self.done = true;
                Some(Err(Error::new(
                    ErrorKind::TruncatedRecord {
                        needed,
                        available: rest.len(),
                    },
                    self.pos as u64,
                )))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// A record that owns its content (§3.3): what tests, fuzzers and
/// transcripts pass around. Its content never exceeds 65535 bytes when
/// produced by this crate's decoders or by its `arbitrary` impl.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnedRecord {
    /// Record type (§8).
    pub record_type: RecordType,
    /// Request id (§3.3).
    pub request_id: u16,
    /// Content bytes.
    pub content: Vec<u8>,
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for OwnedRecord {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let record_type = RecordType::arbitrary(u)?;
        let request_id = u16::arbitrary(u)?;
        let len = u.int_in_range(0..=u16::MAX)?;
        let take = usize::from(len).min(u.len());
        let content = u.bytes(take)?.to_vec();
        Ok(OwnedRecord {
            record_type,
            request_id,
            content,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::requirement::{checks, R_3_1_1, R_8_1, R_8_2, R_A_2};

    #[test]
    fn header_round_trips() {
        let h = Header::new(RecordType::Stdout, 0x0102, 0x0304, 5);
        assert_eq!(h.to_bytes(), [1, 6, 1, 2, 3, 4, 5, 0]);
        assert_eq!(Header::from_bytes(h.to_bytes()), h);
    }

    /// Multi-byte fields are big-endian, in declaration order, no gaps; the
    /// header is exactly `FCGI_HEADER_LEN` = 8 bytes.
    #[test]
    fn header_layout_is_big_endian_and_8_bytes() {
        checks(&[R_3_1_1, R_8_2]);
        assert_eq!(HEADER_LEN, 8);
        let h = Header::new(RecordType::Params, 0xABCD, 0x1234, 0xEF);
        assert_eq!(h.to_bytes(), [1, 4, 0xAB, 0xCD, 0x12, 0x34, 0xEF, 0]);
    }

    /// The type values of §8, and which of them are streams (appendix A).
    #[test]
    fn type_values_and_stream_types() {
        checks(&[R_8_1, R_A_2]);
        let named = [
            (1, RecordType::BeginRequest, false),
            (2, RecordType::AbortRequest, false),
            (3, RecordType::EndRequest, false),
            (4, RecordType::Params, true),
            (5, RecordType::Stdin, true),
            (6, RecordType::Stdout, true),
            (7, RecordType::Stderr, true),
            (8, RecordType::Data, true),
            (9, RecordType::GetValues, false),
            (10, RecordType::GetValuesResult, false),
            (11, RecordType::UnknownType, false),
        ];
        for (code, t, stream) in named {
            assert_eq!(RecordType::from_u8(code), t);
            assert_eq!(t.is_stream(), stream, "{t:?}");
        }
        assert_eq!(RecordType::from_u8(0), RecordType::Unknown(0));
        assert_eq!(RecordType::from_u8(12), RecordType::Unknown(12));
    }

    #[test]
    fn every_code_round_trips() {
        for c in 0..=255u8 {
            assert_eq!(RecordType::from_u8(c).code(), c);
        }
    }

    #[test]
    fn partial_is_not_an_error() {
        let bytes = [1, 6, 0, 1, 0, 3, 1, 0, b'a', b'b', b'c', 0];
        for cut in 0..bytes.len() {
            // A lone first byte is judged at once; the rest waits for more.
            assert!(matches!(
                parse_record(&bytes[..cut], 0, ParseOptions::default()),
                Ok(Status::Partial(_))
            ));
        }
        let Ok(Status::Complete((r, used))) = parse_record(&bytes, 0, ParseOptions::default())
        else {
            panic!("complete record expected");
        };
        assert_eq!(used, 12);
        assert_eq!(r.content, b"abc");
        assert_eq!(r.padding, &[0]);
    }

    #[test]
    fn wrong_version_is_an_error_at_the_header() {
        let bytes = [2, 6, 0, 1, 0, 0, 0, 0];
        let e = parse_record(&bytes, 40, ParseOptions::default()).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::UnsupportedVersion(2));
        assert_eq!(e.offset(), 40);
        assert_eq!(e.section().to_string(), "§3.3");
    }

    #[test]
    fn truncated_tail_reports_offset() {
        let bytes = [1, 6, 0, 1, 0, 0, 0, 0, 1, 6, 0, 1, 0, 9];
        let all: Vec<_> = records(&bytes).collect();
        assert_eq!(all.len(), 2);
        let e = all[1].unwrap_err();
        assert_eq!(e.offset(), 8);
        assert!(matches!(e.kind(), ErrorKind::TruncatedRecord { .. }));
    }
}
