//! The annotated dump: a byte stream rendered as stable, readable text,
//! one line per record (§3.3) with its decoded body (§3.4, §4, §5), and
//! the error with its offset where the bytes go bad.
//!
//! The text is stable on purpose: users put it in insta snapshots, and the
//! conformance runner writes it as transcripts. Changing it is a breaking change.

use core::fmt::{self, Write as _};
use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::application::{BeginRequestBody, EndRequestBody};
use crate::error::Error;
use crate::management::UnknownTypeBody;
use crate::name_value::{self, LengthForm, Pair};
use crate::record::{records_with, ParseOptions, Record, RecordType};

/// Content bytes shown before a preview is cut.
pub const PREVIEW_BYTES: usize = 48;
/// Bytes of a pair's name or value shown before it is cut.
pub const PAIR_PREVIEW_BYTES: usize = 96;
/// Largest PARAMS block per request id the dump gathers to decode pairs
/// that span records; longer blocks are shown as previews only.
pub const MAX_GATHERED_PARAMS: usize = 1 << 20;

/// One name-value pair as the dump shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpPair<'a> {
    /// The name (owned only when gathered from several records).
    pub name: Cow<'a, [u8]>,
    /// The value (owned only when gathered from several records).
    pub value: Cow<'a, [u8]>,
    /// Whether either length took the 4-byte form for a length under 128.
    pub long_form_for_short: bool,
}

/// What the dump decoded from a record's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail<'a> {
    /// The empty record that ends a stream (§5.3).
    EndOfStream,
    /// Stream or unknown content, shown as a preview.
    Bytes,
    /// A BEGIN_REQUEST body (§5.1).
    BeginRequest(BeginRequestBody),
    /// An END_REQUEST body (§5.5).
    EndRequest(EndRequestBody),
    /// An UNKNOWN_TYPE body (§4.2).
    UnknownType(UnknownTypeBody),
    /// An ABORT_REQUEST (§5.4).
    Abort,
    /// Pairs of a name-value block (§3.4) held whole by this record or, on
    /// a PARAMS end-of-stream record, gathered from the stream's records.
    Pairs {
        /// The pairs decoded before any error.
        pairs: Vec<DumpPair<'a>>,
        /// Whether they were gathered from several records of the stream.
        gathered: bool,
    },
    /// A PARAMS record whose content does not hold whole pairs; they are
    /// shown on the stream's end record.
    PartialBlock,
    /// A fixed body or name-value block that is malformed; the error names it.
    Malformed(Error),
}

/// One record and what was decoded from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The record.
    pub record: Record<'a>,
    /// Its decoded content.
    pub detail: Detail<'a>,
}

/// A whole dump: every record decoded, then the error that stopped it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump<'a> {
    /// Records in order.
    pub entries: Vec<Entry<'a>>,
    /// The framing error that ended decoding (§3.3), if the bytes went bad.
    pub error: Option<Error>,
    /// Bytes in the input.
    pub len: usize,
}

impl Dump<'_> {
    /// Whether every byte framed into records and every body decoded.
    pub fn is_clean(&self) -> bool {
        self.error.is_none()
            && !self
                .entries
                .iter()
                .any(|e| matches!(e.detail, Detail::Malformed(_)))
    }

    /// The first error: a malformed body or the framing error.
    pub fn first_error(&self) -> Option<&Error> {
        self.entries
            .iter()
            .find_map(|e| match &e.detail {
                Detail::Malformed(err) => Some(err),
                _ => None,
            })
            .or(self.error.as_ref())
    }
}

fn decode_pairs(block: &[u8], base: u64) -> (Vec<DumpPair<'_>>, Option<Error>) {
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

/// Decodes `bytes` for display (strict version check, §3.3).
pub fn dump(bytes: &[u8]) -> Dump<'_> {
    dump_with(bytes, ParseOptions::default())
}

/// A PARAMS stream being gathered for one request id, so that pairs that
/// span records can be decoded on the stream's end record.
struct Gathering {
    block: Vec<u8>,
    /// `(offset in block, offset in input, length)` of each record's content,
    /// to map an error in the block back to the input.
    segments: Vec<(u64, u64, u64)>,
    /// Whether every record so far held whole pairs.
    whole: bool,
    /// Whether the block outgrew [`MAX_GATHERED_PARAMS`] and was dropped.
    overflow: bool,
}

impl Default for Gathering {
    fn default() -> Self {
        Gathering {
            block: Vec::new(),
            segments: Vec::new(),
            whole: true,
            overflow: false,
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
}

/// Decodes `bytes` for display with explicit parse options.
pub fn dump_with(bytes: &[u8], options: ParseOptions) -> Dump<'_> {
    let mut entries = Vec::new();
    let mut error = None;
    let mut gathering: BTreeMap<u16, Gathering> = BTreeMap::new();
    // Entry index, the gathered stream, and the offset of its end record.
    let mut gathered: Vec<(usize, Gathering, u64)> = Vec::new();
    for r in records_with(bytes, options) {
        let record = match r {
            Ok(r) => r,
            Err(e) => {
                error = Some(e);
                break;
            }
        };
        let at = record.content_offset();
        let detail = match record.record_type() {
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
            RecordType::Params => {
                let (pairs, err) = decode_pairs(record.content, at);
                let slot = gathering.entry(record.request_id()).or_default();
                if slot.overflow || slot.block.len() + record.content.len() > MAX_GATHERED_PARAMS {
                    // Too long to gather: the records keep their previews only.
                    slot.overflow = true;
                    slot.block = Vec::new();
                    slot.segments = Vec::new();
                } else {
                    slot.segments
                        .push((slot.block.len() as u64, at, record.content.len() as u64));
                    slot.block.extend_from_slice(record.content);
                }
                if err.is_none() {
                    Detail::Pairs {
                        pairs,
                        gathered: false,
                    }
                } else {
                    slot.whole = false;
                    Detail::PartialBlock
                }
            }
            _ => Detail::Bytes,
        };
        if record.record_type() == RecordType::Params && record.content.is_empty() {
            if let Some(g) = gathering.remove(&record.request_id()) {
                if !g.whole && !g.overflow {
                    gathered.push((entries.len(), g, record.offset));
                }
            }
        }
        entries.push(Entry { record, detail });
    }
    let mut dump = Dump {
        entries,
        error,
        len: bytes.len(),
    };
    // Decode gathered blocks now that `entries` no longer grows.
    for (i, g, end) in &gathered {
        let (pairs, err) = decode_pairs(&g.block, 0);
        let detail = match err {
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
                let at = g.input_offset(e.offset(), *end);
                Detail::Malformed(Error::new(e.kind().clone(), at))
            }
        };
        if let Some(entry) = dump.entries.get_mut(*i) {
            entry.detail = detail;
        }
    }
    dump
}

/// Appends `bytes` escaped: printable ASCII as is, `\n \r \t \" \\`, others `\xNN`.
pub fn escape_into(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
}

/// The parts of a preview for machine-readable output (the JSON dump's
/// `preview` and `omitted`, docs/dump-format.md): the first `max` bytes
/// escaped as by [`escape_into`], without quotes, and how many bytes follow.
pub fn preview_parts(bytes: &[u8], max: usize) -> (String, usize) {
    let shown = bytes.get(..max).unwrap_or(bytes);
    let mut s = String::new();
    escape_into(shown, &mut s);
    (s, bytes.len() - shown.len())
}

/// `bytes` escaped and cut after `max` bytes with a count of the rest.
pub fn preview(bytes: &[u8], max: usize) -> String {
    let mut s = String::from("\"");
    escape_into(bytes.get(..max).unwrap_or(bytes), &mut s);
    s.push('"');
    if bytes.len() > max {
        let _ = write!(s, " +{} bytes", bytes.len() - max);
    }
    s
}

/// The record type as the dump names it: the spec's name, or `UNKNOWN(<code>)`.
fn type_label(t: RecordType) -> String {
    match t {
        RecordType::Unknown(c) => format!("UNKNOWN({c})"),
        t => t.name().to_string(),
    }
}

impl fmt::Display for Dump<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.entries {
            let h = &e.record.header;
            let name = type_label(h.record_type);
            write!(
                f,
                "{:>6}  {:<17} id={} len={} pad={}",
                e.record.offset, name, h.request_id, h.content_length, h.padding_length
            )?;
            if h.version != crate::record::VERSION_1 {
                write!(f, " version={}", h.version)?;
            }
            if h.reserved != 0 {
                write!(f, " reserved={}", h.reserved)?;
            }
            match &e.detail {
                Detail::EndOfStream => writeln!(f, "  (end of stream)")?,
                Detail::Bytes => writeln!(f, "  {}", preview(e.record.content, PREVIEW_BYTES))?,
                Detail::Abort if e.record.content.is_empty() => writeln!(f)?,
                Detail::Abort => writeln!(f, "  {}", preview(e.record.content, PREVIEW_BYTES))?,
                Detail::BeginRequest(b) => writeln!(
                    f,
                    "  role={}({}) flags={}{}",
                    b.role.name(),
                    b.role.code(),
                    b.flags,
                    if b.keep_conn() { " KEEP_CONN" } else { "" }
                )?,
                Detail::EndRequest(b) => writeln!(
                    f,
                    "  app_status={} protocol_status={}({})",
                    b.app_status,
                    b.protocol_status.name(),
                    b.protocol_status.code()
                )?,
                Detail::UnknownType(b) => {
                    let t = RecordType::from_u8(b.record_type);
                    writeln!(f, "  type={}({})", t.name(), t.code())?
                }
                Detail::PartialBlock => writeln!(
                    f,
                    "  {} (pairs continue in the next record)",
                    preview(e.record.content, PREVIEW_BYTES)
                )?,
                Detail::Malformed(err) => writeln!(f, "  MALFORMED: {err}")?,
                Detail::Pairs { pairs, gathered } => {
                    writeln!(
                        f,
                        "  {} pair{}{}",
                        pairs.len(),
                        if pairs.len() == 1 { "" } else { "s" },
                        if *gathered { " (whole stream)" } else { "" }
                    )?;
                    for p in pairs {
                        let mut line = String::from("          ");
                        escape_into(
                            p.name.get(..PAIR_PREVIEW_BYTES).unwrap_or(&p.name),
                            &mut line,
                        );
                        if p.name.len() > PAIR_PREVIEW_BYTES {
                            let _ = write!(line, " +{} bytes", p.name.len() - PAIR_PREVIEW_BYTES);
                        }
                        line.push_str(" = ");
                        line.push_str(&preview(&p.value, PAIR_PREVIEW_BYTES));
                        if p.long_form_for_short {
                            line.push_str("  [4-byte length for a short length]");
                        }
                        writeln!(f, "{line}")?;
                    }
                }
            }
        }
        if let Some(e) = &self.error {
            writeln!(f, "{:>6}  ERROR {e}", e.offset())?;
        }
        Ok(())
    }
}

/// Renders `bytes` as dump text.
pub fn render(bytes: &[u8]) -> String {
    dump(bytes).to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::encoder::Encoder;

    #[test]
    fn pairs_split_across_records_are_shown_whole() {
        let enc = Encoder {
            max_record_content: Some(3),
            ..Encoder::default()
        };
        let mut w = Vec::new();
        enc.params(1, [(&b"NAME"[..], &b"value"[..])], &mut w)
            .unwrap();
        enc.end_stream(RecordType::Params, 1, &mut w).unwrap();
        let d = dump(&w);
        assert!(d.is_clean());
        let text = d.to_string();
        assert!(text.contains("NAME = \"value\""), "{text}");
        assert!(text.contains("(whole stream)"), "{text}");
    }

    #[test]
    fn error_is_last_line() {
        let text = render(&[1, 6, 0, 1, 0, 0, 0, 0, 1, 6, 0]);
        assert!(
            text.ends_with(
                "ERROR truncated record: 8 bytes needed, 3 available at byte 8 (§3.3, R-3.3-2)\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn gathered_pair_error_points_into_the_input() {
        // "NAME" split over two records, the second cut one byte short.
        let enc = Encoder::default();
        let mut w = Vec::new();
        enc.record(RecordType::Params, 1, &[4, 5, b'N', b'A'], &mut w)
            .unwrap();
        enc.record(RecordType::Params, 1, b"MEvalu", &mut w)
            .unwrap();
        enc.end_stream(RecordType::Params, 1, &mut w).unwrap();
        let d = dump(&w);
        let err = d.first_error().unwrap();
        // The pair starts at the first content byte of the first record.
        assert_eq!(err.offset(), 8);
        assert!(!d.is_clean());
    }

    #[test]
    fn unknown_type_body_names_the_type() {
        let mut w = Vec::new();
        Encoder::default().unknown_type(99, &mut w).unwrap();
        Encoder::default().unknown_type(9, &mut w).unwrap();
        let text = render(&w);
        assert!(text.contains("type=UNKNOWN(99)"), "{text}");
        assert!(text.contains("type=GET_VALUES(9)"), "{text}");
    }

    #[test]
    fn preview_parts_match_the_text_preview() {
        let data = b"a\"b\r\n\xff and more bytes than fit";
        let (shown, omitted) = preview_parts(data, 8);
        assert_eq!(shown, "a\\\"b\\r\\n\\xff a");
        assert_eq!(omitted, data.len() - 8);
        assert_eq!(preview(data, 8), format!("\"{shown}\" +{omitted} bytes"));
        assert_eq!(preview_parts(b"ab", 8), ("ab".to_string(), 0));
    }
}
