//! The streaming renderer: each record written as it is decoded, so memory
//! is bounded by the largest record and the PARAMS gather limit.

use std::io::Write;

use super::annotate::*;
use super::text::*;
use super::*;
use crate::decoder::Decoder;
use crate::error::Error;
use crate::record::{ParseOptions, MAX_RECORD_LEN};

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
pub(super) const PIECE: usize = 64 * 1024;

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
    pub(super) annotator: Annotator,
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
