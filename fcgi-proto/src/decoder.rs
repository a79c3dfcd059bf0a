//! The incremental record decoder (§3.3): fed bytes in chunks of any size,
//! it yields complete records borrowed from its buffer.

use crate::error::{Error, ErrorKind, Limit};
use crate::limits::Limits;
use crate::record::{parse_record, ParseOptions, Record, Status, MAX_RECORD_LEN};

/// Turns a byte stream arriving in arbitrary chunks into records (§3.3).
///
/// Memory: the buffer holds only bytes that were pushed and not yet
/// returned as records; nothing is reserved on the word of a length field.
/// [`Decoder::push`] refuses input that would make the unread backlog
/// exceed `max_buffer` (default: 1 MiB, at least one maximal record).
///
/// Errors are sticky: once the stream is malformed every later call
/// returns the same error, with the offset where the stream went bad.
#[derive(Debug, Clone)]
pub struct Decoder {
    buf: Vec<u8>,
    start: usize,
    pending: usize,
    base: u64,
    options: ParseOptions,
    max_buffer: usize,
    failed: Option<Error>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder with default options.
    pub fn new() -> Self {
        Decoder::with_limits(ParseOptions::default(), &Limits::default())
    }

    /// A decoder with explicit parse options whose backlog is bounded by
    /// [`Limits::max_buffer_bytes`].
    pub fn with_limits(options: ParseOptions, limits: &Limits) -> Self {
        Decoder::with_options(options, limits.max_buffer_bytes)
    }

    /// A decoder with explicit parse options and backlog limit (raised to
    /// at least one maximal record, 65798 bytes).
    pub fn with_options(options: ParseOptions, max_buffer: usize) -> Self {
        Decoder {
            buf: Vec::new(),
            start: 0,
            pending: 0,
            base: 0,
            options,
            max_buffer: max_buffer.max(MAX_RECORD_LEN),
            failed: None,
        }
    }

    #[inline]
    fn settle(&mut self) {
        self.start += self.pending;
        self.base += self.pending as u64;
        self.pending = 0;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
    }

    /// Appends bytes from the peer.
    #[inline]
    pub fn push(&mut self, input: &[u8]) -> Result<(), Error> {
        self.settle();
        if let Some(e) = &self.failed {
            return Err(*e);
        }
        let backlog = self.buf.len() - self.start;
        if backlog.saturating_add(input.len()) > self.max_buffer {
            let e = Error::new(
                ErrorKind::LimitExceeded {
                    limit: Limit::BufferBytes,
                    max: self.max_buffer,
                },
                self.base + backlog as u64,
            );
            self.failed = Some(e);
            return Err(e);
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(input);
        Ok(())
    }

    /// The next complete record, or `None` until more bytes are pushed.
    /// The record borrows the decoder until the next call.
    #[inline]
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, Error> {
        self.settle();
        if let Some(e) = &self.failed {
            return Err(*e);
        }
        let rest = self.buf.get(self.start..).unwrap_or_default();
        match parse_record(rest, self.base, self.options) {
            Ok(Status::Complete((record, used))) => {
                self.pending = used;
                Ok(Some(record))
            }
            Ok(Status::Partial(_)) => Ok(None),
            Err(e) => {
                self.failed = Some(e);
                Err(e)
            }
        }
    }

    /// Bytes held that do not yet make a whole record.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start - self.pending
    }

    /// Offset in the stream of the next byte to be decoded.
    pub fn position(&self) -> u64 {
        self.base + self.pending as u64
    }

    /// Call at end of input: an error if a record was left half-received.
    pub fn finish(&mut self) -> Result<(), Error> {
        self.settle();
        if let Some(e) = &self.failed {
            return Err(*e);
        }
        let rest = self.buf.get(self.start..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(());
        }
        let needed = match parse_record(rest, self.base, self.options) {
            Ok(Status::Partial(n)) => n,
            Ok(Status::Complete(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        Err(Error::new(
            ErrorKind::TruncatedRecord {
                needed,
                available: rest.len(),
            },
            self.base,
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::encoder::Encoder;
    use crate::stream::StreamType;

    #[test]
    fn one_byte_at_a_time() {
        let mut wire = Vec::new();
        let enc = Encoder::default();
        enc.stream(StreamType::Stdout, 1, b"hello", &mut wire)
            .unwrap();
        enc.end_stream(StreamType::Stdout, 1, &mut wire).unwrap();
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for b in &wire {
            d.push(std::slice::from_ref(b)).unwrap();
            while let Some(r) = d.next_record().unwrap() {
                got.push((r.offset, r.content.to_vec()));
            }
        }
        assert_eq!(got, vec![(0, b"hello".to_vec()), (16, vec![])]);
        d.finish().unwrap();
    }

    #[test]
    fn errors_are_sticky_and_placed() {
        let mut d = Decoder::new();
        d.push(&[1, 6, 0, 1, 0, 0, 0, 0, 9, 6, 0, 1]).unwrap();
        assert!(d.next_record().unwrap().is_some());
        let e = d.next_record().unwrap_err();
        assert_eq!(e.offset(), 8);
        assert_eq!(d.next_record().unwrap_err(), e);
    }

    #[test]
    fn finish_reports_half_record() {
        let mut d = Decoder::new();
        d.push(&[1, 6, 0, 1, 0, 5, 0, 0, b'a']).unwrap();
        assert!(d.next_record().unwrap().is_none());
        let e = d.finish().unwrap_err();
        assert!(matches!(
            e.kind(),
            ErrorKind::TruncatedRecord {
                needed: 13,
                available: 9
            }
        ));
    }
}
