//! Records decoded one at a time for the dump (§3.3), with the PARAMS
//! streams gathered so that pairs spanning records decode on the end record (§3.4, §5.2).

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::*;
use crate::application::{BeginRequestBody, EndRequestBody};
use crate::error::{Error, ErrorKind, Limit};
use crate::management::UnknownTypeBody;
use crate::name_value::{self, LengthForm, Pair};
use crate::record::{Record, RecordType};
use crate::stream::Gather;

pub(super) fn decode_pairs(block: &[u8], base: u64) -> (Vec<DumpPair<'_>>, Option<Error>) {
    let mut out = Vec::new();
    let mut it = name_value::pairs_at(block, base);
    while let Some(p) = it.next_pair() {
        match p {
            Ok(Pair {
                name,
                value,
                name_form,
                value_form,
                ..
            }) => out.push(DumpPair {
                name: Cow::Borrowed(name),
                value: Cow::Borrowed(value),
                long_form_for_short: (name_form == LengthForm::Long
                    && name.len() <= name_value::MAX_SHORT_LEN)
                    || (value_form == LengthForm::Long && value.len() <= name_value::MAX_SHORT_LEN),
            }),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// A PARAMS stream being gathered for one request id, so that pairs that
/// span records can be decoded on the stream's end record.
pub(super) struct Gathering {
    /// The block so far, in the stream buffer the connection core uses.
    block: Gather,
    /// `(offset in block, offset in input, length)` of each record's content,
    /// to map an error in the block back to the input.
    segments: Vec<(u64, u64, u64)>,
    /// Whether every record so far held whole pairs.
    whole: bool,
    /// Whether the block outgrew the gather limit and was dropped.
    overflow: bool,
    /// Bytes of `block` taken by whole pairs: past it a pair is still open.
    boundary: usize,
    /// Whether the block went bad in a way more bytes cannot mend.
    broken: bool,
}

impl Default for Gathering {
    fn default() -> Self {
        Gathering {
            block: Gather::default(),
            segments: Vec::new(),
            whole: true,
            overflow: false,
            boundary: 0,
            broken: false,
        }
    }
}

impl Gathering {
    /// The input offset of byte `at` of the block; past its end, `end`.
    fn input_offset(&self, at: u64, end: u64) -> u64 {
        self.segments
            .iter()
            .find(|(start, _, len)| at >= *start && at - start < *len)
            .map_or(end, |(start, input, _)| input + (at - start))
    }

    /// Reads the whole pairs added since the last call, and says whether
    /// the block now ends between pairs (`false`: a pair is still open, or
    /// the block is broken).
    fn advance(&mut self) -> bool {
        if self.broken {
            return false;
        }
        let rest = self
            .block
            .as_slice()
            .get(self.boundary..)
            .unwrap_or_default();
        let mut it = name_value::pairs(rest);
        loop {
            match it.next_pair() {
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    // Only a cut length or a pair running past the end can
                    // be completed by the next record.
                    if !matches!(
                        e.kind(),
                        ErrorKind::TruncatedLength { .. } | ErrorKind::PairOverrun { .. }
                    ) {
                        self.broken = true;
                    }
                    break;
                }
                None => break,
            }
        }
        self.boundary += it.position();
        !self.broken && self.boundary == self.block.len()
    }

    /// Bytes this gathering holds.
    pub(super) fn held(&self) -> usize {
        self.block.len() + self.segments.len() * core::mem::size_of::<(u64, u64, u64)>()
    }
}

/// Decodes records one at a time, keeping only the PARAMS streams being
/// gathered: the state shared by [`dump_with`] and [`Renderer`].
#[derive(Default)]
pub(super) struct Annotator {
    pub(super) gathering: BTreeMap<u16, Gathering>,
    /// Block bytes held over every request id, at most [`MAX_GATHERED_PARAMS`].
    pub(super) gathered_bytes: usize,
}

impl Annotator {
    /// What the dump shows for `record`.
    pub(super) fn annotate<'a>(&mut self, record: Record<'a>) -> Entry<'a> {
        let at = record.content_offset();
        let detail = match record.record_type() {
            RecordType::Params => self.params(&record, at),
            t if t.is_stream() && record.content.is_empty() => Detail::EndOfStream,
            RecordType::BeginRequest => match BeginRequestBody::parse(record.content, at) {
                Ok(b) => Detail::BeginRequest(b),
                Err(e) => Detail::Malformed(e),
            },
            RecordType::EndRequest => match EndRequestBody::parse(record.content, at) {
                Ok(b) => Detail::EndRequest(b),
                Err(e) => Detail::Malformed(e),
            },
            RecordType::UnknownType => match UnknownTypeBody::parse(record.content, at) {
                Ok(b) => Detail::UnknownType(b),
                Err(e) => Detail::Malformed(e),
            },
            RecordType::AbortRequest => Detail::Abort,
            RecordType::GetValues | RecordType::GetValuesResult => {
                match decode_pairs(record.content, at) {
                    (pairs, None) => Detail::Pairs {
                        pairs,
                        gathered: false,
                    },
                    (_, Some(e)) => Detail::Malformed(e),
                }
            }
            _ => Detail::Bytes,
        };
        Entry { record, detail }
    }

    /// A non-empty PARAMS record joins its stream's block; the empty one
    /// ends the stream and shows the gathered pairs.
    fn params<'a>(&mut self, record: &Record<'a>, at: u64) -> Detail<'a> {
        let id = record.request_id();
        if record.content.is_empty() {
            let Some(g) = self.gathering.remove(&id) else {
                return Detail::EndOfStream;
            };
            self.gathered_bytes -= g.block.len();
            if g.whole || g.overflow {
                return Detail::EndOfStream;
            }
            return gathered_detail(&g, record.offset);
        }
        let (pairs, err) = decode_pairs(record.content, at);
        let slot = self.gathering.entry(id).or_default();
        let len = record.content.len();
        // The gather limit holds for this block and for all blocks together.
        let room = MAX_GATHERED_PARAMS.saturating_sub(self.gathered_bytes) + slot.block.len();
        let start = slot.block.len() as u64;
        let kept = !slot.overflow
            && slot
                .block
                .push(
                    record.content,
                    room.min(MAX_GATHERED_PARAMS),
                    Limit::ParamsBytes,
                    at,
                )
                .is_ok();
        if kept {
            slot.segments.push((start, at, len as u64));
            self.gathered_bytes += len;
        } else {
            // Too long to gather: the records keep their previews only.
            slot.overflow = true;
            self.gathered_bytes -= slot.block.len();
            slot.block = Gather::default();
            slot.segments = Vec::new();
        }
        let ends_between_pairs = !slot.overflow && slot.advance();
        if err.is_none() {
            Detail::Pairs {
                pairs,
                gathered: false,
            }
        } else {
            slot.whole = false;
            if ends_between_pairs {
                Detail::PartialBlockEnd
            } else {
                Detail::PartialBlock
            }
        }
    }

    /// Bytes held for gathering, over every request id.
    pub(super) fn held(&self) -> usize {
        self.gathering
            .values()
            .map(|g| g.held() + core::mem::size_of::<(u16, Gathering)>())
            .sum()
    }
}

/// The pairs of a gathered stream, on its end record at `end`.
pub(super) fn gathered_detail(g: &Gathering, end: u64) -> Detail<'static> {
    let (pairs, err) = decode_pairs(g.block.as_slice(), 0);
    match err {
        None => Detail::Pairs {
            pairs: pairs
                .into_iter()
                .map(|p| DumpPair {
                    name: Cow::Owned(p.name.into_owned()),
                    value: Cow::Owned(p.value.into_owned()),
                    long_form_for_short: p.long_form_for_short,
                })
                .collect(),
            gathered: true,
        },
        Some(e) => {
            let at = g.input_offset(e.offset(), end);
            Detail::Malformed(Error::new(*e.kind(), at))
        }
    }
}
