//! Stream reassembly (§5.2, §5.3): PARAMS, STDIN, DATA, STDOUT and STDERR
//! content gathered per request id until the empty record ends it.

use std::collections::BTreeMap;

use crate::error::{Error, ErrorKind, Limit};
use crate::limits::Limits;
use crate::name_value;
use crate::record::{Record, RecordType};

/// Whether a stream is still open (§5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamState {
    /// No empty record seen yet.
    #[default]
    Open,
    /// Ended by its empty record (R-5.3-1).
    Ended,
}

impl StreamState {
    /// Writes `data` on this stream of `request_id` (split into records as
    /// needed) and, if `end`, its empty record (R-5.3-1). Writing to an
    /// ended stream is refused ([`ErrorKind::StreamAfterEnd`]) and writes nothing.
    pub fn write(
        &mut self,
        encoder: &crate::encoder::Encoder,
        record_type: RecordType,
        request_id: u16,
        data: &[u8],
        end: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if *self == StreamState::Ended {
            return Err(Error::new(
                ErrorKind::StreamAfterEnd {
                    record_type,
                    request_id,
                },
                0,
            ));
        }
        encoder.stream(record_type, request_id, data, out)?;
        if end {
            encoder.end_stream(record_type, request_id, out)?;
            *self = StreamState::Ended;
        }
        Ok(())
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

/// Gathers stream records per `(request id, stream)` and hands back each
/// stream whole when its empty record arrives (§5.3). A PARAMS stream is
/// checked as a name-value block (§3.4) before it is handed back.
///
/// Memory is bounded by [`Limits`]: `max_params_bytes` for PARAMS,
/// `max_stream_bytes` for the others, and at most `5 * max_requests`
/// streams open at once. A stream record after its stream ended is an
/// error ([`ErrorKind::StreamAfterEnd`]) until the id starts over with
/// [`Reassembler::reset`].
#[derive(Debug, Clone, Default)]
pub struct Reassembler {
    limits: Limits,
    open: BTreeMap<(u16, u8), Vec<u8>>,
    ended: BTreeMap<(u16, u8), ()>,
}

impl Reassembler {
    /// A reassembler with the given limits.
    pub fn new(limits: Limits) -> Self {
        Reassembler {
            limits,
            open: BTreeMap::new(),
            ended: BTreeMap::new(),
        }
    }

    /// Forgets every stream of `request_id`, e.g. when it begins anew.
    pub fn reset(&mut self, request_id: u16) {
        self.open.retain(|(id, _), _| *id != request_id);
        self.ended.retain(|(id, _), _| *id != request_id);
    }

    /// Bytes held for streams still open.
    pub fn buffered(&self) -> usize {
        self.open.values().map(Vec::len).sum()
    }

    /// Takes one record. Non-stream records pass through as `Ok(None)`.
    pub fn push(&mut self, record: &Record<'_>) -> Result<Option<Assembled>, Error> {
        let t = record.record_type();
        if !t.is_stream() {
            return Ok(None);
        }
        let id = record.request_id();
        let key = (id, t.code());
        if self.ended.contains_key(&key) {
            return Err(Error::new(
                ErrorKind::StreamAfterEnd {
                    record_type: t,
                    request_id: id,
                },
                record.offset,
            ));
        }
        if record.content.is_empty() {
            let data = self.open.remove(&key).unwrap_or_default();
            if self.ended.len() < 5 * self.limits.max_requests.saturating_add(1) {
                self.ended.insert(key, ());
            }
            if t == RecordType::Params {
                // Judged on the empty record: the error points at it.
                name_value::validate(&data, 0, self.limits.max_pairs)
                    .map_err(|e| Error::new(e.kind().clone(), record.offset))?;
            }
            return Ok(Some(Assembled {
                request_id: id,
                record_type: t,
                data,
            }));
        }
        let max = if t == RecordType::Params {
            (Limit::ParamsBytes, self.limits.max_params_bytes)
        } else {
            (Limit::StreamBytes, self.limits.max_stream_bytes)
        };
        let open_count = self.open.len();
        let limit_err = |limit: Limit, max: usize| {
            Error::new(ErrorKind::LimitExceeded { limit, max }, record.offset)
        };
        let buf = match self.open.get_mut(&key) {
            Some(b) => b,
            None => {
                if open_count >= 5 * self.limits.max_requests {
                    return Err(limit_err(
                        Limit::ConcurrentRequests,
                        self.limits.max_requests,
                    ));
                }
                self.open.entry(key).or_default()
            }
        };
        if buf.len().saturating_add(record.content.len()) > max.1 {
            return Err(limit_err(max.0, max.1));
        }
        buf.extend_from_slice(record.content);
        Ok(None)
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
        enc.stream(RecordType::Stdin, 1, b"ab", &mut w).unwrap();
        enc.stream(RecordType::Stdin, 2, b"xy", &mut w).unwrap();
        enc.stream(RecordType::Stdin, 1, b"cd", &mut w).unwrap();
        enc.end_stream(RecordType::Stdin, 2, &mut w).unwrap();
        enc.end_stream(RecordType::Stdin, 1, &mut w).unwrap();
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
        enc.stream(RecordType::Stdin, 1, &[0; 100], &mut w).unwrap();
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
        enc.end_stream(RecordType::Stdout, 1, &mut w).unwrap();
        enc.stream(RecordType::Stdout, 1, b"late", &mut w).unwrap();
        let mut r = Reassembler::default();
        let mut it = records(&w);
        assert!(r.push(&it.next().unwrap().unwrap()).unwrap().is_some());
        let e = r.push(&it.next().unwrap().unwrap()).unwrap_err();
        assert_eq!(e.offset(), 8);
        assert_eq!(e.section(), "§5.3");
    }
}
