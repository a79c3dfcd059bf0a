//! The annotated dump: a byte stream rendered as stable, readable text,
//! one line per record (§3.3) with its decoded body (§3.4, §4, §5), and
//! the error with its offset where the bytes go bad.
//!
//! The text is stable on purpose: users put it in insta snapshots, and the
//! conformance runner writes it as transcripts. Changing it is a breaking change.
//!
//! The module's parts: the decoded model and the one-shot [`dump`] here;
//! `annotate` (records decoded one at a time, PARAMS gathered across
//! records), `text` (the text form), `render` (the streaming [`Renderer`])
//! and `json` (the `fcgi-dump/1` form, with the `serde` feature).

use std::borrow::Cow;

use crate::application::{BeginRequestBody, EndRequestBody};
use crate::error::Error;
use crate::management::UnknownTypeBody;
use crate::record::{records_with, ParseOptions, Record};

mod annotate;
#[cfg(feature = "serde")]
mod json;
mod render;
mod text;

use annotate::Annotator;
pub use render::{render, render_with, Format, Label, RenderOptions, Renderer, Summary};
pub use text::{escape_into, preview, preview_parts};

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

/// Decodes `bytes` for display (strict version check, §3.3).
pub fn dump(bytes: &[u8]) -> Dump<'_> {
    dump_with(bytes, ParseOptions::default())
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

#[cfg(test)]
mod tests;
