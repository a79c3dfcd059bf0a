//! The annotated dump: a byte stream rendered as stable, readable text,
//! one line per record (§3.3) with its decoded body (§3.4, §4, §5), and
//! the error with its offset where the bytes go bad.
//!
//! The text is stable on purpose: users put it in insta snapshots, and the
//! conformance runner writes it as transcripts. Changing it is a breaking change.

use core::fmt::{self, Write as _};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;

use crate::application::{BeginRequestBody, EndRequestBody};
use crate::decoder::Decoder;
use crate::error::{Error, ErrorKind, Limit};
use crate::management::UnknownTypeBody;
use crate::name_value::{self, LengthForm, Pair};
use crate::record::{records_with, ParseOptions, Record, RecordType, MAX_RECORD_LEN};
use crate::stream::Gather;

#[cfg(feature = "serde")]
mod json;

/// Content bytes shown before a preview is cut.
pub const PREVIEW_BYTES: usize = 48;
/// Bytes of a pair's name or value shown before it is cut.
pub const PAIR_PREVIEW_BYTES: usize = 96;
/// Schema name of the JSON dump (docs/dump-format.md).
pub const JSON_SCHEMA: &str = "fcgi-dump/1";
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
    /// A PARAMS record whose content does not hold whole pairs, and after
    /// which a pair is still open: it continues in a later record of the
    /// stream (or the stream ends short, and its end record says so). The
    /// pairs are shown on the stream's end record.
    PartialBlock,
    /// A PARAMS record whose content does not hold whole pairs, but which
    /// ends the pairs begun in earlier records: no pair continues past it.
    /// The pairs are shown on the stream's end record.
    PartialBlockEnd,
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
    fn held(&self) -> usize {
        self.block.len() + self.segments.len() * core::mem::size_of::<(u64, u64, u64)>()
    }
}

/// Decodes records one at a time, keeping only the PARAMS streams being
/// gathered: the state shared by [`dump_with`] and [`Renderer`].
#[derive(Default)]
struct Annotator {
    gathering: BTreeMap<u16, Gathering>,
    /// Block bytes held over every request id, at most [`MAX_GATHERED_PARAMS`].
    gathered_bytes: usize,
}

impl Annotator {
    /// What the dump shows for `record`.
    fn annotate<'a>(&mut self, record: Record<'a>) -> Entry<'a> {
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
    fn held(&self) -> usize {
        self.gathering
            .values()
            .map(|g| g.held() + core::mem::size_of::<(u16, Gathering)>())
            .sum()
    }
}

/// The pairs of a gathered stream, on its end record at `end`.
fn gathered_detail(g: &Gathering, end: u64) -> Detail<'static> {
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

/// Decodes `bytes` for display with explicit parse options.
pub fn dump_with(bytes: &[u8], options: ParseOptions) -> Dump<'_> {
    let mut entries = Vec::new();
    let mut error = None;
    let mut annotator = Annotator::default();
    for r in records_with(bytes, options) {
        match r {
            Ok(record) => entries.push(annotator.annotate(record)),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    Dump {
        entries,
        error,
        len: bytes.len(),
    }
}

/// Appends `bytes` escaped: printable ASCII as is, `\n \r \t \" \\`, others `\xNN`.
pub fn escape_into(bytes: &[u8], out: &mut String) {
    let mut rest = bytes;
    while !rest.is_empty() {
        // Runs of bytes shown as they are go in at once (the common case).
        let run = rest
            .iter()
            .position(|&b| !(0x20..=0x7e).contains(&b) || b == b'"' || b == b'\\')
            .unwrap_or(rest.len());
        let (plain, tail) = rest.split_at(run);
        // A run of printable ASCII is UTF-8.
        out.push_str(core::str::from_utf8(plain).unwrap_or_default());
        let Some((&b, tail)) = tail.split_first() else {
            break;
        };
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            _ => {
                // By hand: formatting each escaped byte through `write!`
                // was the largest single cost of rendering binary content.
                out.push_str("\\x");
                out.push(hex_digit(b >> 4));
                out.push(hex_digit(b & 0xf));
            }
        }
        rest = tail;
    }
}

/// The lowercase hex digit of `n` (0..=15).
fn hex_digit(n: u8) -> char {
    char::from(if n < 10 { b'0' + n } else { b'a' + n - 10 })
}

/// Appends the preview of `bytes` (as [`preview`]).
fn preview_into(bytes: &[u8], max: usize, out: &mut String) {
    out.push('"');
    escape_into(bytes.get(..max).unwrap_or(bytes), out);
    out.push('"');
    if bytes.len() > max {
        let _ = write!(out, " +{} bytes", bytes.len() - max);
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
    let mut s = String::new();
    preview_into(bytes, max, &mut s);
    s
}

/// The record type as the dump names it: the spec's name, or `UNKNOWN(<code>)`.
fn type_label(t: RecordType) -> Cow<'static, str> {
    match t {
        RecordType::Unknown(c) => Cow::Owned(format!("UNKNOWN({c})")),
        t => Cow::Borrowed(t.name()),
    }
}

/// Appends `n` in decimal, right-aligned in `width` columns.
fn push_number(out: &mut String, n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n;
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    let shown = digits.get(i..).unwrap_or_default();
    for _ in shown.len()..width {
        out.push(' ');
    }
    out.extend(shown.iter().map(|&d| char::from(d)));
}

/// Writes `e` as the text form shows it, with or without its offset.
fn write_error(out: &mut String, e: &Error, offsets: bool) {
    if offsets {
        let _ = write!(out, "{e}");
    } else {
        let _ = write!(out, "{} ({}", e.kind(), e.section());
        if let Some(r) = e.requirement() {
            let _ = write!(out, ", {r}");
        }
        out.push(')');
    }
}

/// Appends the text lines of one entry (docs/dump-format.md, *Text format*),
/// after `margin` (a [`Label`]'s text and two spaces, or nothing).
fn write_entry(out: &mut String, e: &Entry<'_>, offsets: bool, margin: &str) {
    let h = &e.record.header;
    let name = type_label(h.record_type);
    out.push_str(margin);
    if offsets {
        push_number(out, e.record.offset, 6);
        out.push_str("  ");
    }
    out.push_str(&name);
    for _ in name.len()..17 {
        out.push(' ');
    }
    out.push_str(" id=");
    push_number(out, u64::from(h.request_id), 0);
    out.push_str(" len=");
    push_number(out, u64::from(h.content_length), 0);
    out.push_str(" pad=");
    push_number(out, u64::from(h.padding_length), 0);
    if h.version != crate::record::VERSION_1 {
        let _ = write!(out, " version={}", h.version);
    }
    if h.reserved != 0 {
        let _ = write!(out, " reserved={}", h.reserved);
    }
    let content = e.record.content;
    let _ = match &e.detail {
        Detail::EndOfStream => writeln!(out, "  (end of stream)"),
        Detail::Bytes => {
            out.push_str("  ");
            preview_into(content, PREVIEW_BYTES, out);
            writeln!(out)
        }
        Detail::Abort if content.is_empty() => writeln!(out),
        Detail::Abort => writeln!(out, "  {}", preview(content, PREVIEW_BYTES)),
        Detail::BeginRequest(b) => writeln!(
            out,
            "  role={}({}) flags={}{}",
            b.role.name(),
            b.role.code(),
            b.flags,
            if b.keep_conn() { " KEEP_CONN" } else { "" }
        ),
        Detail::EndRequest(b) => writeln!(
            out,
            "  app_status={} protocol_status={}({})",
            b.app_status,
            b.protocol_status.name(),
            b.protocol_status.code()
        ),
        Detail::UnknownType(b) => {
            let t = RecordType::from_u8(b.record_type);
            writeln!(out, "  type={}({})", t.name(), t.code())
        }
        Detail::PartialBlock => writeln!(
            out,
            "  {} (pairs continue in the next record)",
            preview(content, PREVIEW_BYTES)
        ),
        Detail::PartialBlockEnd => writeln!(
            out,
            "  {} (ends pairs begun in an earlier record)",
            preview(content, PREVIEW_BYTES)
        ),
        Detail::Malformed(err) => {
            out.push_str("  MALFORMED: ");
            write_error(out, err, offsets);
            writeln!(out)
        }
        Detail::Pairs { pairs, gathered } => {
            let _ = writeln!(
                out,
                "  {} pair{}{}",
                pairs.len(),
                if pairs.len() == 1 { "" } else { "s" },
                if *gathered { " (whole stream)" } else { "" }
            );
            // The pair lines keep their column under the record's detail.
            let indent = if offsets { "          " } else { "  " };
            for p in pairs {
                for _ in 0..margin.chars().count() {
                    out.push(' ');
                }
                out.push_str(indent);
                escape_into(p.name.get(..PAIR_PREVIEW_BYTES).unwrap_or(&p.name), out);
                if p.name.len() > PAIR_PREVIEW_BYTES {
                    let _ = write!(out, " +{} bytes", p.name.len() - PAIR_PREVIEW_BYTES);
                }
                out.push_str(" = ");
                out.push_str(&preview(&p.value, PAIR_PREVIEW_BYTES));
                if p.long_form_for_short {
                    out.push_str("  [4-byte length for a short length]");
                }
                out.push('\n');
            }
            Ok(())
        }
    };
}

/// Appends the text line of the framing error that ended the dump.
fn write_framing_error(out: &mut String, e: &Error, offsets: bool, margin: &str) {
    out.push_str(margin);
    if offsets {
        let _ = write!(out, "{:>6}  ", e.offset());
    }
    out.push_str("ERROR ");
    write_error(out, e, offsets);
    out.push('\n');
}

impl fmt::Display for Dump<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = String::new();
        for e in &self.entries {
            line.clear();
            write_entry(&mut line, e, true, "");
            f.write_str(&line)?;
        }
        if let Some(e) = &self.error {
            line.clear();
            write_framing_error(&mut line, e, true, "");
            f.write_str(&line)?;
        }
        Ok(())
    }
}

/// Renders `bytes` as dump text.
pub fn render(bytes: &[u8]) -> String {
    render_with(bytes, RenderOptions::default())
}

/// Renders `bytes` whole with explicit options (text, or JSON with the
/// `serde` feature): the same output as a [`Renderer`] fed any chunking.
pub fn render_with(bytes: &[u8], options: RenderOptions) -> String {
    let mut out = Vec::new();
    let mut r = Renderer::new(options);
    // Writing to a Vec cannot fail.
    let _ = r.push(bytes, &mut out).and_then(|()| r.finish(&mut out));
    String::from_utf8(out).unwrap_or_default()
}

/// The two renderings of a dump (docs/dump-format.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// One line per record, then at most one `ERROR` line.
    #[default]
    Text,
    /// The `fcgi-dump/1` JSON document.
    #[cfg(feature = "serde")]
    Json,
}

/// How a [`Renderer`] writes the dump.
///
/// With `offsets: false` nothing position-dependent is written: no record
/// offset, no `at byte N` in errors (JSON: every `offset` is `null`). A
/// change of padding or of one record's length then changes only that
/// record's line in a snapshot, not every line after it:
///
/// ```
/// use fcgi_proto::dump::{render_with, RenderOptions};
/// use fcgi_proto::{encoder::Encoder, stream::StreamType};
///
/// let mut wire = Vec::new();
/// let enc = Encoder::default();
/// enc.stream(StreamType::Stdout, 1, b"hello", &mut wire).unwrap();
/// enc.end_stream(StreamType::Stdout, 1, &mut wire).unwrap();
/// let text = render_with(&wire, RenderOptions { offsets: false, ..RenderOptions::default() });
/// // In a test: insta::assert_snapshot!(text);
/// assert_eq!(
///     text,
///     "STDOUT            id=1 len=5 pad=3  \"hello\"\n\
///      STDOUT            id=1 len=0 pad=0  (end of stream)\n"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// Text or JSON.
    pub format: Format,
    /// Whether byte offsets are written (default: yes).
    pub offsets: bool,
    /// How records are framed (default: strict version check, §3.3).
    pub parse: ParseOptions,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            format: Format::Text,
            offsets: true,
            parse: ParseOptions::default(),
        }
    }
}

/// What a finished rendering saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Bytes in the input.
    pub len: u64,
    /// Records framed.
    pub records: u64,
    /// The framing error that ended decoding (§3.3), if the bytes went bad.
    pub error: Option<Error>,
    /// The first error: a malformed body or the framing error.
    pub first_error: Option<Error>,
}

impl Summary {
    /// Whether every byte framed into records and every body decoded
    /// (as [`Dump::is_clean`]).
    pub fn is_clean(&self) -> bool {
        self.first_error.is_none()
    }
}

/// Bytes handed to the record decoder at once: with every record taken out
/// after each piece, its backlog stays under one record plus one piece.
const PIECE: usize = 64 * 1024;

/// The streaming dump: fed bytes in chunks of any size, it writes each
/// record as soon as it is whole, so memory is bounded by one record, one
/// piece of input and the PARAMS gather limit ([`MAX_GATHERED_PARAMS`],
/// over all request ids), never by the input ([`Renderer::buffered_len`]).
///
/// The output is the same for any chunking, and the same as [`render`]
/// (text) or the whole `fcgi-dump/1` document (JSON).
///
/// ```
/// use fcgi_proto::dump::{Renderer, RenderOptions};
///
/// let wire = [1, 6, 0, 1, 0, 2, 6, 0, b'h', b'i', 0, 0, 0, 0, 0, 0];
/// let mut out = Vec::new();
/// let mut r = Renderer::new(RenderOptions::default());
/// for chunk in wire.chunks(5) {
///     r.push(chunk, &mut out).unwrap();
/// }
/// let summary = r.finish(&mut out).unwrap();
/// assert!(summary.is_clean());
/// assert_eq!(String::from_utf8(out).unwrap(), fcgi_proto::dump::render(&wire));
/// ```
pub struct Renderer {
    decoder: Decoder,
    annotator: Annotator,
    options: RenderOptions,
    /// Output of the current record, reused.
    line: String,
    len: u64,
    records: u64,
    error: Option<Error>,
    first_error: Option<Error>,
    started: bool,
    label: Label,
    /// `label.text` and two spaces, or nothing: the text lines' margin.
    margin: String,
    records_only: bool,
    /// Offset of the first byte pushed in the whole stream.
    base: u64,
}

/// What a [`Renderer`] writes with each record when several byte streams
/// share one output, as the connections of a capture do
/// (docs/dump-format.md, *Captures*). Empty by default: nothing is added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Label {
    /// Text form: written, then two spaces, at the start of each record
    /// line and of the `ERROR` line; pair lines are indented as many
    /// columns more, so that they stay under their record's detail.
    pub text: String,
    /// JSON form: members written first in each record object, as given
    /// (the caller's JSON, e.g. `"stream":0,"time":"0.000120"`, without
    /// braces or a trailing comma).
    pub json: String,
}

impl Renderer {
    /// A renderer writing as `options` say.
    pub fn new(options: RenderOptions) -> Self {
        Renderer {
            decoder: Decoder::with_options(options.parse, 2 * MAX_RECORD_LEN + PIECE),
            annotator: Annotator::default(),
            options,
            line: String::new(),
            len: 0,
            records: 0,
            error: None,
            first_error: None,
            started: false,
            label: Label::default(),
            margin: String::new(),
            records_only: false,
            base: 0,
        }
    }

    /// Counts every offset from `offset` rather than 0: the bytes pushed are
    /// a stream's from that offset on, as when a capture's direction is
    /// picked up again after bytes the capture lacks.
    ///
    /// ```
    /// use fcgi_proto::dump::{Renderer, RenderOptions};
    ///
    /// let mut out = Vec::new();
    /// let mut r = Renderer::new(RenderOptions::default()).starting_at(4096);
    /// r.push(&[1, 6, 0, 1, 0, 0, 0, 0, 1, 6], &mut out).unwrap();
    /// r.finish(&mut out).unwrap();
    /// let text = String::from_utf8(out).unwrap();
    /// assert!(text.starts_with("  4096  STDOUT "), "{text}");
    /// assert!(text.ends_with("at byte 4104 (§3.3, R-3.3-2)\n"), "{text}");
    /// ```
    pub fn starting_at(mut self, offset: u64) -> Self {
        self.base = offset;
        self
    }

    /// `e` with its offset counted from the stream's start.
    fn placed(&self, e: Error) -> Error {
        if self.base == 0 {
            return e;
        }
        Error::new(*e.kind(), e.offset().saturating_add(self.base))
    }

    /// Writes `label` with every record completed from now on (and with
    /// the `ERROR` line), so that the streams of a capture can share one
    /// output and still say where each record came from.
    ///
    /// ```
    /// use fcgi_proto::dump::{Label, Renderer, RenderOptions};
    ///
    /// let mut out = Vec::new();
    /// let mut r = Renderer::new(RenderOptions { offsets: false, ..RenderOptions::default() });
    /// r.set_label(Label { text: "a → b".into(), json: String::new() });
    /// r.push(&[1, 6, 0, 1, 0, 0, 0, 0], &mut out).unwrap();
    /// assert_eq!(String::from_utf8(out).unwrap(), "a → b  STDOUT            id=1 len=0 pad=0  (end of stream)\n");
    /// ```
    pub fn set_label(&mut self, label: Label) {
        self.margin.clear();
        if !label.text.is_empty() {
            self.margin.push_str(&label.text);
            self.margin.push_str("  ");
        }
        self.label = label;
    }

    /// JSON only: each record object is written alone on a line of its own
    /// (`{...}` and a newline), with no document around it: no header, no
    /// separators, no trailer. The caller builds its document from the
    /// lines and the [`Summary`] (the capture dump does). Text is unchanged.
    pub fn records_only(mut self) -> Self {
        self.records_only = true;
        self
    }

    /// Decodes `input` and writes every record it completes to `out`.
    /// After a framing error the rest of the input is counted, not decoded.
    pub fn push(&mut self, input: &[u8], out: &mut impl Write) -> std::io::Result<()> {
        self.start(out)?;
        self.len += input.len() as u64;
        for piece in input.chunks(PIECE) {
            if self.error.is_some() {
                break;
            }
            if let Err(e) = self.decoder.push(piece) {
                let e = self.placed(e);
                self.fail(e);
                break;
            }
            self.drain(out)?;
        }
        Ok(())
    }

    /// Ends the input: writes the framing error (a record cut short, if
    /// one is), and for JSON the document's end; says what was seen.
    pub fn finish(&mut self, out: &mut impl Write) -> std::io::Result<Summary> {
        self.start(out)?;
        if self.error.is_none() {
            if let Err(e) = self.decoder.finish() {
                let e = self.placed(e);
                self.fail(e);
            }
        }
        self.line.clear();
        match self.options.format {
            Format::Text => {
                if let Some(e) = &self.error {
                    write_framing_error(&mut self.line, e, self.options.offsets, &self.margin);
                }
            }
            #[cfg(feature = "serde")]
            Format::Json if self.records_only => {}
            #[cfg(feature = "serde")]
            Format::Json => json::trailer(
                &mut self.line,
                self.records,
                self.len,
                self.error.as_ref(),
                self.first_error.is_none(),
                self.options.offsets,
            ),
        }
        out.write_all(self.line.as_bytes())?;
        Ok(Summary {
            len: self.len,
            records: self.records,
            error: self.error,
            first_error: self.first_error,
        })
    }

    /// Bytes the renderer holds between calls: the decoder's unread bytes
    /// and the PARAMS blocks being gathered. At most one record, one piece
    /// of input and the gather limit with its bookkeeping.
    pub fn buffered_len(&self) -> usize {
        self.decoder.buffered() + self.annotator.held()
    }

    #[cfg_attr(not(feature = "serde"), allow(unused_variables))]
    fn start(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        match self.options.format {
            Format::Text => Ok(()),
            #[cfg(feature = "serde")]
            Format::Json if self.records_only => Ok(()),
            #[cfg(feature = "serde")]
            Format::Json => out.write_all(json::HEADER.as_bytes()),
        }
    }

    fn fail(&mut self, e: Error) {
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
        self.error = Some(e);
    }

    fn drain(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        loop {
            let base = self.base;
            let record = match self.decoder.next_record() {
                Ok(Some(mut r)) => {
                    r.offset = r.offset.saturating_add(base);
                    r
                }
                Ok(None) => return Ok(()),
                Err(e) => {
                    let e = if base == 0 {
                        e
                    } else {
                        Error::new(*e.kind(), e.offset().saturating_add(base))
                    };
                    if self.first_error.is_none() {
                        self.first_error = Some(e);
                    }
                    self.error = Some(e);
                    return Ok(());
                }
            };
            let entry = self.annotator.annotate(record);
            if let Detail::Malformed(e) = &entry.detail {
                if self.first_error.is_none() {
                    self.first_error = Some(*e);
                }
            }
            self.line.clear();
            match self.options.format {
                Format::Text => {
                    write_entry(&mut self.line, &entry, self.options.offsets, &self.margin)
                }
                #[cfg(feature = "serde")]
                Format::Json => json::record(
                    &mut self.line,
                    &entry,
                    json::Place {
                        index: self.records,
                        members: &self.label.json,
                        alone: self.records_only,
                    },
                    self.options.offsets,
                ),
            }
            self.records += 1;
            out.write_all(self.line.as_bytes())?;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::encoder::Encoder;
    use crate::stream::StreamType;
    use core::num::NonZeroU16;

    #[test]
    fn pairs_split_across_records_are_shown_whole() {
        let enc = Encoder::default().with_max_record_content(NonZeroU16::new(3).unwrap());
        let mut w = Vec::new();
        enc.params(1, [(&b"NAME"[..], &b"value"[..])], &mut w)
            .unwrap();
        enc.end_stream(StreamType::Params, 1, &mut w).unwrap();
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
        enc.end_stream(StreamType::Params, 1, &mut w).unwrap();
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
    fn every_other_byte_is_escaped_as_two_lowercase_hex_digits() {
        for b in 0..=255u8 {
            let mut s = String::new();
            escape_into(&[b], &mut s);
            let plain = (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\';
            let named = matches!(b, b'\n' | b'\r' | b'\t' | b'"' | b'\\');
            if !plain && !named {
                assert_eq!(s, format!("\\x{b:02x}"));
            }
        }
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

    #[test]
    fn the_continue_label_only_where_a_pair_continues() {
        // "NAME" = "value" split after "NA": the first fragment leaves the
        // pair open, the second closes it just before the empty terminator.
        let enc = Encoder::default();
        let mut w = Vec::new();
        enc.record(RecordType::Params, 1, &[4, 5, b'N', b'A'], &mut w)
            .unwrap();
        enc.record(RecordType::Params, 1, b"MEvalue", &mut w)
            .unwrap();
        enc.end_stream(StreamType::Params, 1, &mut w).unwrap();
        let text = render(&w);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].ends_with("\"\\x04\\x05NA\" (pairs continue in the next record)"),
            "{text}"
        );
        assert!(
            lines[1].ends_with("\"MEvalue\" (ends pairs begun in an earlier record)"),
            "{text}"
        );
        assert!(lines[2].ends_with("1 pair (whole stream)"), "{text}");
        assert_eq!(lines[3], "          NAME = \"value\"");
        let d = dump(&w);
        assert_eq!(d.entries[0].detail, Detail::PartialBlock);
        assert_eq!(d.entries[1].detail, Detail::PartialBlockEnd);
    }

    #[test]
    fn without_offsets_a_padding_change_changes_one_line() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        let enc = Encoder::default();
        enc.record(RecordType::Stdout, 1, b"x", &mut a).unwrap();
        // The same record with 3 padding bytes more.
        b.extend_from_slice(&[1, 6, 0, 1, 0, 1, 10, 0, b'x']);
        b.extend_from_slice(&[0; 10]);
        for w in [&mut a, &mut b] {
            enc.record(RecordType::Stdout, 1, b"after", w).unwrap();
            w.extend_from_slice(&[1, 3, 0, 1, 0, 7, 0, 0]);
        }
        let bare = RenderOptions {
            offsets: false,
            ..RenderOptions::default()
        };
        let (ta, tb) = (render_with(&a, bare), render_with(&b, bare));
        let differ: Vec<_> = ta.lines().zip(tb.lines()).filter(|(x, y)| x != y).collect();
        assert_eq!(differ.len(), 1, "{ta}\n{tb}");
        assert!(
            ta.ends_with("ERROR truncated record: 15 bytes needed, 8 available (§3.3, R-3.3-2)\n"),
            "{ta}"
        );
        // With offsets, every line after the change moves.
        let (oa, ob) = (render(&a), render(&b));
        assert_eq!(
            oa.lines().zip(ob.lines()).filter(|(x, y)| x != y).count(),
            3
        );
    }

    #[test]
    fn a_label_starts_every_record_line_and_pair_lines_keep_their_column() {
        let enc = Encoder::default();
        let mut w = Vec::new();
        enc.params(1, [(&b"A"[..], &b"b"[..])], &mut w).unwrap();
        w.extend_from_slice(&[1, 6, 0, 1, 0, 8, 0]);
        let mut r = Renderer::new(RenderOptions::default());
        let mut out = Vec::new();
        r.set_label(Label {
            text: "x → y".into(),
            json: String::new(),
        });
        r.push(&w, &mut out).unwrap();
        r.finish(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let plain = render(&w);
        let want: Vec<String> = plain
            .lines()
            .map(|l| {
                if l.starts_with("          ") {
                    format!("       {l}")
                } else {
                    format!("x → y  {l}")
                }
            })
            .collect();
        assert_eq!(text.lines().collect::<Vec<_>>(), want, "{text}");
        assert!(
            text.ends_with(
                "ERROR truncated record: 8 bytes needed, 7 available at byte 16 (§3.3, R-3.3-2)\n"
            ),
            "{text}"
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn records_only_json_is_one_object_a_line_with_the_label_members_first() {
        let wire = [
            1, 6, 0, 1, 0, 2, 6, 0, b'h', b'i', 0, 0, 0, 0, 0, 0, 1, 6, 0, 1, 0, 0, 0, 0,
        ];
        let json = RenderOptions {
            format: Format::Json,
            ..RenderOptions::default()
        };
        let mut r = Renderer::new(json).records_only();
        r.set_label(Label {
            text: String::new(),
            json: "\"stream\":3".into(),
        });
        let mut out = Vec::new();
        r.push(&wire, &mut out).unwrap();
        let s = r.finish(&mut out).unwrap();
        assert_eq!(s.records, 2);
        let text = String::from_utf8(out).unwrap();
        let whole: serde_json::Value = serde_json::from_str(&render_with(&wire, json)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        for (line, want) in lines.iter().zip(whole["records"].as_array().unwrap()) {
            assert!(line.starts_with("{\"stream\":3,"), "{line}");
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["stream"], 3);
            v.as_object_mut().unwrap().remove("stream");
            assert_eq!(&v, want);
        }
    }

    #[test]
    fn the_renderer_holds_one_record_and_the_gather_limit_not_the_input() {
        let slot = core::mem::size_of::<(u16, Gathering)>();
        let segment = core::mem::size_of::<(u64, u64, u64)>();
        // 8 MiB of small records, fed in 1000-byte chunks: nothing is kept.
        let mut r = Renderer::new(RenderOptions::default());
        let chunk: Vec<u8> = [
            1, 6, 0, 1, 0, 8, 0, 0, b'a', b'b', b'c', b'd', b'e', b'f', b'g', b'h',
        ]
        .repeat(1000);
        let mut most = 0;
        for _ in 0..512 {
            r.push(&chunk, &mut std::io::sink()).unwrap();
            most = most.max(r.buffered_len());
        }
        assert!(most < MAX_RECORD_LEN, "{most}");
        // PARAMS streams left open on every request id, each record one
        // byte that opens a pair: the gathered blocks stop growing at the
        // limit over all ids, while the input goes on.
        let mut r = Renderer::new(RenderOptions::default());
        let mut most = 0;
        let mut fed = 0usize;
        for round in 0..40u16 {
            let mut w = Vec::new();
            for id in 0..=u16::MAX {
                if id % 40 == round {
                    w.extend_from_slice(&[1, 4]);
                    w.extend_from_slice(&id.to_be_bytes());
                    w.extend_from_slice(&[0, 1, 7, 0, 0x7f, 0, 0, 0, 0, 0, 0, 0]);
                }
            }
            for _ in 0..5 {
                fed += w.len();
                r.push(&w, &mut std::io::sink()).unwrap();
                most = most.max(r.buffered_len());
            }
        }
        let bound = MAX_RECORD_LEN
            + PIECE
            + MAX_GATHERED_PARAMS * (1 + segment)
            + (usize::from(u16::MAX) + 1) * slot;
        assert!(fed > 4 * MAX_GATHERED_PARAMS, "{fed}");
        assert!(most <= bound, "{most} > {bound}");
        assert!(r.annotator.gathered_bytes <= MAX_GATHERED_PARAMS);
    }
}
