//! Writing records (§3.3): headers, padding, streams split at 65535 bytes
//! and the empty record that ends a stream (§5.3).

use core::num::NonZeroU16;

use crate::application::{BeginRequestBody, EndRequestBody, ProtocolStatus};
use crate::error::{UsageError, UsageKind};
use crate::management::UnknownTypeBody;
use crate::name_value;
use crate::record::{Header, RecordType, NULL_REQUEST_ID};
use crate::role::Role;
use crate::stream::StreamType;

/// How much padding follows each record's content (§3.3, R-3.3-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Padding {
    /// No padding.
    None,
    /// Pad each record to a multiple of 8 bytes, as the spec recommends.
    #[default]
    Align8,
    /// The same number of padding bytes after every record.
    Fixed(u8),
}

impl Padding {
    /// Padding bytes after `content_len` bytes of content.
    pub fn for_len(self, content_len: usize) -> u8 {
        match self {
            Padding::None => 0,
            Padding::Align8 => ((8 - content_len % 8) % 8) as u8,
            Padding::Fixed(n) => n,
        }
    }
}

/// Writes records into a caller's buffer (§3.3). Sans-IO: it appends to a
/// `Vec<u8>` and never touches a socket.
///
/// Built from its `Default` (8-byte alignment, records of up to 65535
/// bytes) with the `with_*` methods; the fields are private, so a field
/// added later breaks no caller and no value can be out of range.
///
/// ```
/// use core::num::NonZeroU16;
/// use fcgi_proto::encoder::{Encoder, Padding};
/// let enc = Encoder::default()
///     .with_padding(Padding::None)
///     .with_max_record_content(NonZeroU16::new(1024).unwrap());
/// assert_eq!(enc.max_record_content().get(), 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoder {
    padding: Padding,
    max_record_content: NonZeroU16,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder {
            padding: Padding::default(),
            max_record_content: NonZeroU16::MAX,
        }
    }
}

impl Encoder {
    /// The same encoder with another padding policy (§3.3, R-3.3-4).
    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    /// The same encoder splitting streams (§5.3) into records of at most
    /// `max` content bytes; the default is 65535, the most a record holds
    /// (§3.3). A zero size cannot be asked for: a stream is split into
    /// records with content.
    pub fn with_max_record_content(mut self, max: NonZeroU16) -> Self {
        self.max_record_content = max;
        self
    }

    /// The padding policy (§3.3); default [`Padding::Align8`].
    pub fn padding(&self) -> Padding {
        self.padding
    }

    /// The largest content per record when splitting streams (§5.3); default 65535.
    pub fn max_record_content(&self) -> NonZeroU16 {
        self.max_record_content
    }

    fn chunk_len(&self) -> usize {
        usize::from(self.max_record_content.get())
    }

    /// Appends one record (§3.3). Fails if `content` exceeds 65535 bytes.
    pub fn record(
        &self,
        record_type: RecordType,
        request_id: u16,
        content: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        let len = u16::try_from(content.len())
            .map_err(|_| UsageError::new(UsageKind::ContentTooLong(content.len())))?;
        let pad = self.padding.for_len(content.len());
        out.reserve(8 + content.len() + usize::from(pad));
        out.extend_from_slice(&Header::new(record_type, request_id, len, pad).to_bytes());
        out.extend_from_slice(content);
        out.resize(out.len() + usize::from(pad), 0);
        Ok(())
    }

    /// Appends stream content (§5.2, §5.3) as as many records as it needs,
    /// each of the record type that carries `stream`. Empty `data` writes
    /// nothing: only [`Encoder::end_stream`] writes the empty record. Taking a
    /// [`StreamType`] rather than a record type means only the five stream
    /// types can be written this way.
    pub fn stream(
        &self,
        stream: StreamType,
        request_id: u16,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        for chunk in data.chunks(self.chunk_len()) {
            self.record(stream.record_type(), request_id, chunk, out)?;
        }
        Ok(())
    }

    /// Appends the empty record that ends `stream` (§5.3, R-5.3-1).
    pub fn end_stream(
        &self,
        stream: StreamType,
        request_id: u16,
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        self.record(stream.record_type(), request_id, &[], out)
    }

    /// Appends `FCGI_BEGIN_REQUEST` (§5.1).
    pub fn begin_request(
        &self,
        request_id: u16,
        role: Role,
        keep_conn: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        let body = BeginRequestBody::new(role, keep_conn).to_bytes();
        self.record(RecordType::BeginRequest, request_id, &body, out)
    }

    /// Appends `FCGI_ABORT_REQUEST` (§5.4).
    pub fn abort_request(&self, request_id: u16, out: &mut Vec<u8>) -> Result<(), UsageError> {
        self.record(RecordType::AbortRequest, request_id, &[], out)
    }

    /// Appends `FCGI_END_REQUEST` (§5.5).
    pub fn end_request(
        &self,
        request_id: u16,
        app_status: u32,
        protocol_status: ProtocolStatus,
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        let body = EndRequestBody {
            app_status,
            protocol_status,
        }
        .to_bytes();
        self.record(RecordType::EndRequest, request_id, &body, out)
    }

    /// Appends a PARAMS stream's content (§5.2) for `pairs`, shortest forms,
    /// split across records as needed; the stream is not ended.
    pub fn params<'p, I>(
        &self,
        request_id: u16,
        pairs: I,
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError>
    where
        I: IntoIterator<Item = (&'p [u8], &'p [u8])>,
    {
        // The pairs are written straight after a header slot; only a block
        // too long for one record is moved out and split.
        let mark = out.len();
        out.extend_from_slice(&[0; 8]);
        for (n, v) in pairs {
            if let Err(e) = name_value::encode_pair(n, v, out) {
                out.truncate(mark);
                return Err(e);
            }
        }
        let body = mark + 8;
        let len = out.len() - body;
        match u16::try_from(len) {
            Ok(len16) if len > 0 && len <= self.chunk_len() => {
                let pad = self.padding.for_len(len);
                let header = Header::new(RecordType::Params, request_id, len16, pad).to_bytes();
                if let Some(slot) = out.get_mut(mark..body) {
                    slot.copy_from_slice(&header);
                }
                out.resize(out.len() + usize::from(pad), 0);
                Ok(())
            }
            _ => {
                let block = out.split_off(body);
                out.truncate(mark);
                self.stream(StreamType::Params, request_id, &block, out)
            }
        }
    }

    /// Appends `FCGI_GET_VALUES` (§4.1) asking for `names`.
    pub fn get_values<'n, I>(&self, names: I, out: &mut Vec<u8>) -> Result<(), UsageError>
    where
        I: IntoIterator<Item = &'n [u8]>,
    {
        let block = crate::management::query(names)?;
        self.record(RecordType::GetValues, NULL_REQUEST_ID, &block, out)
    }

    /// Appends `FCGI_UNKNOWN_TYPE` (§4.2) naming `record_type`.
    pub fn unknown_type(&self, record_type: u8, out: &mut Vec<u8>) -> Result<(), UsageError> {
        let body = UnknownTypeBody { record_type }.to_bytes();
        self.record(RecordType::UnknownType, NULL_REQUEST_ID, &body, out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::record::records;

    #[test]
    fn pads_to_eight_by_default() {
        let mut out = Vec::new();
        Encoder::default()
            .record(RecordType::Stdout, 1, b"abc", &mut out)
            .unwrap();
        assert_eq!(out.len(), 16);
        assert_eq!(out[6], 5);
    }

    #[test]
    fn splits_long_streams() {
        let data = vec![7u8; 65535 * 2 + 10];
        let mut out = Vec::new();
        let enc = Encoder::default().with_padding(Padding::None);
        enc.stream(StreamType::Stdin, 3, &data, &mut out).unwrap();
        enc.end_stream(StreamType::Stdin, 3, &mut out).unwrap();
        let lens: Vec<_> = records(&out)
            .map(|r| r.unwrap().header.content_length)
            .collect();
        assert_eq!(lens, vec![65535, 65535, 10, 0]);
    }

    #[test]
    fn streams_split_at_the_size_asked_for() {
        let enc = Encoder::default()
            .with_padding(Padding::None)
            .with_max_record_content(NonZeroU16::new(4).unwrap());
        assert_eq!(Encoder::default().max_record_content(), NonZeroU16::MAX);
        assert_eq!(enc.padding(), Padding::None);
        let mut out = Vec::new();
        enc.stream(StreamType::Stdout, 1, b"abcdefghij", &mut out)
            .unwrap();
        let lens: Vec<_> = records(&out)
            .map(|r| r.unwrap().header.content_length)
            .collect();
        assert_eq!(lens, vec![4, 4, 2]);
    }

    #[test]
    fn empty_stream_data_writes_nothing() {
        let mut out = Vec::new();
        Encoder::default()
            .stream(StreamType::Stdout, 1, b"", &mut out)
            .unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn params_fit_one_record_or_split() {
        let enc = Encoder::default();
        let mut out = vec![0xee];
        enc.params(7, [(&b"A"[..], &b"bc"[..])], &mut out).unwrap();
        assert_eq!(
            out,
            [0xee, 1, 4, 0, 7, 0, 5, 3, 0, 1, 2, b'A', b'b', b'c', 0, 0, 0]
        );
        let big = vec![b'v'; 70000];
        let mut out = Vec::new();
        enc.params(7, [(&b"N"[..], &big[..])], &mut out).unwrap();
        let recs: Vec<_> = records(&out).map(|r| r.unwrap()).collect();
        let lens: Vec<_> = recs.iter().map(|r| r.header.content_length).collect();
        assert_eq!(lens, vec![65535, (70006 - 65535) as u16]);
        let block: Vec<u8> = recs.iter().flat_map(|r| r.content.to_vec()).collect();
        let mut want = Vec::new();
        name_value::encode_pair(b"N", &big, &mut want).unwrap();
        assert_eq!(block, want);
    }

    #[test]
    fn refuses_oversized_record() {
        let mut out = Vec::new();
        let e = Encoder::default()
            .record(RecordType::Stdout, 1, &vec![0; 65536], &mut out)
            .unwrap_err();
        assert_eq!(e.kind(), &UsageKind::ContentTooLong(65536));
    }
}
