//! Stream reassembly (§5.2, §5.3): PARAMS, STDIN, DATA, STDOUT and STDERR
//! content gathered per request id until the empty record ends it.

use std::collections::BTreeMap;

use crate::error::{Direction, Error, ErrorKind, Limit, UsageError, UsageKind};
use crate::limits::Limits;
use crate::name_value;
use crate::record::{Record, RecordType};

/// The five byte streams of a request (§5.2, §5.3), each carried by the
/// record type of the same name and ended by an empty record (R-5.3-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamType {
    /// `FCGI_PARAMS` (§5.2): the name-value pairs, web server to application.
    Params,
    /// `FCGI_STDIN` (§5.3): the request body, web server to application.
    Stdin,
    /// `FCGI_DATA` (§5.3, §6.4): the Filter's file, web server to application.
    Data,
    /// `FCGI_STDOUT` (§5.3): the response, application to web server.
    Stdout,
    /// `FCGI_STDERR` (§5.3): error output, application to web server.
    Stderr,
}

impl StreamType {
    /// The five streams, in the order above.
    pub const ALL: [StreamType; 5] = [
        StreamType::Params,
        StreamType::Stdin,
        StreamType::Data,
        StreamType::Stdout,
        StreamType::Stderr,
    ];

    /// The record type that carries the stream (§8).
    pub fn record_type(self) -> RecordType {
        match self {
            StreamType::Params => RecordType::Params,
            StreamType::Stdin => RecordType::Stdin,
            StreamType::Data => RecordType::Data,
            StreamType::Stdout => RecordType::Stdout,
            StreamType::Stderr => RecordType::Stderr,
        }
    }

    /// The stream a record type carries; `None` for the types that are not streams.
    pub fn of(record_type: RecordType) -> Option<StreamType> {
        Some(match record_type {
            RecordType::Params => StreamType::Params,
            RecordType::Stdin => StreamType::Stdin,
            RecordType::Data => StreamType::Data,
            RecordType::Stdout => StreamType::Stdout,
            RecordType::Stderr => StreamType::Stderr,
            _ => return None,
        })
    }

    /// Which way the stream travels (appendix A).
    pub fn direction(self) -> Direction {
        match self {
            StreamType::Params | StreamType::Stdin | StreamType::Data => Direction::ToApplication,
            StreamType::Stdout | StreamType::Stderr => Direction::ToWebServer,
        }
    }

    fn index(self) -> usize {
        match self {
            StreamType::Params => 0,
            StreamType::Stdin => 1,
            StreamType::Data => 2,
            StreamType::Stdout => 3,
            StreamType::Stderr => 4,
        }
    }
}

/// Whether a stream is still open (§5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamState {
    /// No empty record seen yet.
    #[default]
    Open,
    /// Ended by its empty record (R-5.3-1).
    Ended,
}

/// Which of a request's five streams have ended (§5.3): the one stream set
/// both parties of a connection keep per request, and the reassembler too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Streams {
    ended: [bool; 5],
}

impl Streams {
    /// The state of one stream.
    pub fn state(&self, stream: StreamType) -> StreamState {
        if self.is_ended(stream) {
            StreamState::Ended
        } else {
            StreamState::Open
        }
    }

    /// Whether one stream was ended by its empty record.
    pub fn is_ended(&self, stream: StreamType) -> bool {
        self.ended.get(stream.index()).copied().unwrap_or(false)
    }

    /// Marks one stream ended.
    pub fn end(&mut self, stream: StreamType) {
        if let Some(e) = self.ended.get_mut(stream.index()) {
            *e = true;
        }
    }

    /// Takes one inbound record of `stream` for `request_id`, with
    /// `content_len` bytes, at input offset `at`. A record after the
    /// stream's empty record is refused ([`ErrorKind::StreamAfterEnd`],
    /// R-5.2-1, R-5.3-1) and changes nothing; an empty record ends the
    /// stream. Returns whether it did.
    pub fn receive(
        &mut self,
        stream: StreamType,
        request_id: u16,
        content_len: usize,
        at: u64,
    ) -> Result<bool, Error> {
        if self.is_ended(stream) {
            return Err(Error::new(
                ErrorKind::StreamAfterEnd {
                    record_type: stream.record_type(),
                    request_id,
                },
                at,
            ));
        }
        let ends = content_len == 0;
        if ends {
            self.end(stream);
        }
        Ok(ends)
    }

    /// Writes `data` on `stream` of `request_id` (split into records as
    /// needed) and, if `end`, its empty record (R-5.3-1). Writing to an
    /// ended stream is refused ([`UsageKind::StreamEnded`]) and writes nothing.
    pub fn write(
        &mut self,
        encoder: &crate::encoder::Encoder,
        stream: StreamType,
        request_id: u16,
        data: &[u8],
        end: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        if self.is_ended(stream) {
            return Err(UsageError::new(UsageKind::StreamEnded {
                stream,
                request_id,
            }));
        }
        encoder.stream(stream, request_id, data, out)?;
        if end {
            encoder.end_stream(stream, request_id, out)?;
            self.end(stream);
        }
        Ok(())
    }
}

/// One stream's content, gathered up to a bound (§5.2, §5.3): the one
/// buffer behind PARAMS on the application's side, the [`Reassembler`]
/// and the dump. Bytes over the bound are refused, never allocated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Gather {
    data: Vec<u8>,
}

impl Gather {
    /// Appends `bytes` unless the total would pass `max`; then
    /// [`ErrorKind::LimitExceeded`] for `limit` at input offset `at`, and
    /// nothing is appended.
    pub fn push(&mut self, bytes: &[u8], max: usize, limit: Limit, at: u64) -> Result<(), Error> {
        if self.data.len().saturating_add(bytes.len()) > max {
            return Err(Error::new(ErrorKind::LimitExceeded { limit, max }, at));
        }
        self.data.extend_from_slice(bytes);
        Ok(())
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The bytes held so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.data
    }

    /// Takes the bytes out, leaving the buffer empty.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.data)
    }
}

/// One stream ended by its empty record, with all its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    /// The request id.
    pub request_id: u16,
    /// The stream's record type.
    pub record_type: RecordType,
    /// Everything the stream carried, in order.
    pub data: Vec<u8>,
}

/// Gathers stream records per request id and hands back each stream whole
/// when its empty record arrives (§5.3). A PARAMS stream is checked as a
/// name-value block (§3.4) before it is handed back.
///
/// Memory is bounded by [`Limits`]: `max_params_bytes` for PARAMS,
/// `max_stream_bytes` for the others, and at most `max_requests` request
/// ids with an open stream at once. Which streams ended is kept for every
/// id seen (at most 65535 ids), so a stream record after its stream ended
/// is always an error ([`ErrorKind::StreamAfterEnd`]) until the id starts
/// over with [`Reassembler::reset`]. A record it refuses changes nothing,
/// except that a stream it can no longer hand back whole (over its limit,
/// or a PARAMS block that is not valid) is closed, its bytes dropped.
#[derive(Debug, Clone, Default)]
pub struct Reassembler {
    limits: Limits,
    requests: BTreeMap<u16, Gathered>,
}

/// The streams of one request id and what each holds so far.
#[derive(Debug, Clone, Default)]
struct Gathered {
    streams: Streams,
    open: [Gather; 5],
}

impl Gathered {
    fn holds(&self) -> bool {
        StreamType::ALL
            .iter()
            .any(|s| !self.streams.is_ended(*s) && self.gather(*s).is_some_and(|g| !g.is_empty()))
    }

    fn gather(&self, s: StreamType) -> Option<&Gather> {
        self.open.get(s.index())
    }
}

impl Reassembler {
    /// A reassembler with the given limits.
    pub fn new(limits: Limits) -> Self {
        Reassembler {
            limits,
            requests: BTreeMap::new(),
        }
    }

    /// Forgets every stream of `request_id`, e.g. when it begins anew.
    pub fn reset(&mut self, request_id: u16) {
        self.requests.remove(&request_id);
    }

    /// Bytes held for streams still open.
    pub fn buffered(&self) -> usize {
        self.requests
            .values()
            .flat_map(|g| g.open.iter())
            .map(Gather::len)
            .sum()
    }

    /// Takes one record. Non-stream records pass through as `Ok(None)`.
    pub fn push(&mut self, record: &Record<'_>) -> Result<Option<Assembled>, Error> {
        let Some(stream) = StreamType::of(record.record_type()) else {
            return Ok(None);
        };
        let id = record.request_id();
        let at = record.offset;
        let (limit, max) = if stream == StreamType::Params {
            (Limit::ParamsBytes, self.limits.max_params_bytes)
        } else {
            (Limit::StreamBytes, self.limits.max_stream_bytes)
        };
        let holding = self.requests.values().filter(|g| g.holds()).count();
        let max_pairs = self.limits.max_pairs;
        let max_requests = self.limits.max_requests;
        let g = self.requests.entry(id).or_default();
        if g.streams.is_ended(stream) {
            return Err(Error::new(
                ErrorKind::StreamAfterEnd {
                    record_type: stream.record_type(),
                    request_id: id,
                },
                at,
            ));
        }
        let held = g.holds();
        let Some(buf) = g.open.get_mut(stream.index()) else {
            return Ok(None);
        };
        let refused = if !record.content.is_empty() {
            if buf.is_empty() && !held && holding >= max_requests {
                return Err(Error::new(
                    ErrorKind::LimitExceeded {
                        limit: Limit::ConcurrentRequests,
                        max: max_requests,
                    },
                    at,
                ));
            }
            match buf.push(record.content, max, limit, at) {
                Ok(()) => return Ok(None),
                Err(e) => e,
            }
        } else {
            // A PARAMS block is judged on its empty record: the error points at it.
            let bad = (stream == StreamType::Params)
                .then(|| name_value::validate(buf.as_slice(), 0, max_pairs).err())
                .flatten();
            match bad {
                Some(e) => Error::new(*e.kind(), at),
                None => {
                    let data = buf.take();
                    g.streams.end(stream);
                    return Ok(Some(Assembled {
                        request_id: id,
                        record_type: stream.record_type(),
                        data,
                    }));
                }
            }
        };
        // The stream can no longer be handed back whole: it is closed, so
        // no later fragment is joined to a block with a hole in it.
        buf.take();
        g.streams.end(stream);
        Err(refused)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::encoder::Encoder;
    use crate::record::records;

    #[test]
    fn gathers_interleaved_streams() {
        let enc = Encoder::default();
        let mut w = Vec::new();
        enc.stream(StreamType::Stdin, 1, b"ab", &mut w).unwrap();
        enc.stream(StreamType::Stdin, 2, b"xy", &mut w).unwrap();
        enc.stream(StreamType::Stdin, 1, b"cd", &mut w).unwrap();
        enc.end_stream(StreamType::Stdin, 2, &mut w).unwrap();
        enc.end_stream(StreamType::Stdin, 1, &mut w).unwrap();
        let mut r = Reassembler::default();
        let done: Vec<_> = records(&w)
            .filter_map(|rec| r.push(&rec.unwrap()).unwrap())
            .map(|a| (a.request_id, a.data))
            .collect();
        assert_eq!(done, vec![(2, b"xy".to_vec()), (1, b"abcd".to_vec())]);
    }

    #[test]
    fn limit_is_an_error() {
        let enc = Encoder::default();
        let mut w = Vec::new();
        enc.stream(StreamType::Stdin, 1, &[0; 100], &mut w).unwrap();
        let mut r = Reassembler::new(Limits {
            max_stream_bytes: 99,
            ..Limits::default()
        });
        let rec = records(&w).next().unwrap().unwrap();
        let e = r.push(&rec).unwrap_err();
        assert!(matches!(
            e.kind(),
            ErrorKind::LimitExceeded {
                limit: Limit::StreamBytes,
                max: 99
            }
        ));
    }

    #[test]
    fn data_after_end_is_an_error() {
        let enc = Encoder::default();
        let mut w = Vec::new();
        enc.end_stream(StreamType::Stdout, 1, &mut w).unwrap();
        enc.stream(StreamType::Stdout, 1, b"late", &mut w).unwrap();
        let mut r = Reassembler::default();
        let mut it = records(&w);
        assert!(r.push(&it.next().unwrap().unwrap()).unwrap().is_some());
        let e = r.push(&it.next().unwrap().unwrap()).unwrap_err();
        assert_eq!(e.offset(), 8);
        assert_eq!(e.section().to_string(), "§5.3");
    }
}
