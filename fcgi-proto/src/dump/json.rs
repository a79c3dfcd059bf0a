//! The `fcgi-dump/1` JSON rendering (docs/dump-format.md), written as a
//! stream: the document's opening, one record object per line, then the
//! length, the framing error and whether the dump is clean.

use serde::Serialize;

use super::{preview_parts, Detail, Entry, PREVIEW_BYTES};
use crate::error::Error;

/// The document's opening, up to the records array.
pub(super) const HEADER: &str = "{\n  \"schema\": \"fcgi-dump/1\",\n  \"records\": [";

/// Bytes as JSON: a string when they are UTF-8, else their hex digits.
#[derive(Serialize)]
#[serde(untagged)]
enum Bytes<'a> {
    Text(&'a str),
    Hex { hex: String },
}

fn bytes(b: &[u8]) -> Bytes<'_> {
    match core::str::from_utf8(b) {
        Ok(s) => Bytes::Text(s),
        Err(_) => Bytes::Hex {
            hex: b
                .iter()
                .fold(String::with_capacity(b.len() * 2), |mut s, x| {
                    use core::fmt::Write as _;
                    let _ = write!(s, "{x:02x}");
                    s
                }),
        },
    }
}

/// An error object; `offset` is null when offsets are left out.
#[derive(Serialize)]
struct ErrorJson {
    offset: Option<u64>,
    section: String,
    requirement: Option<&'static str>,
    message: String,
}

fn error(e: &Error, offsets: bool) -> ErrorJson {
    ErrorJson {
        offset: offsets.then(|| e.offset()),
        section: e.section().to_string(),
        requirement: e.requirement().map(|r| r.id()),
        message: e.kind().to_string(),
    }
}

#[derive(Serialize)]
struct PairJson<'a> {
    name: Bytes<'a>,
    value: Bytes<'a>,
    long_form_for_short: bool,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum DetailJson<'a> {
    EndOfStream,
    Bytes {
        preview: String,
        omitted: usize,
    },
    AbortRequest {
        preview: String,
        omitted: usize,
    },
    PartialPairs {
        preview: String,
        omitted: usize,
    },
    BeginRequest {
        role: u16,
        role_name: &'static str,
        flags: u8,
        keep_conn: bool,
    },
    EndRequest {
        app_status: u32,
        protocol_status: u8,
        protocol_status_name: &'static str,
    },
    UnknownType {
        #[serde(rename = "type")]
        code: u8,
        type_name: &'static str,
    },
    Pairs {
        gathered: bool,
        pairs: Vec<PairJson<'a>>,
    },
    Malformed {
        error: ErrorJson,
    },
}

#[derive(Serialize)]
struct RecordJson<'a> {
    offset: Option<u64>,
    version: u8,
    #[serde(rename = "type")]
    code: u8,
    type_name: &'static str,
    request_id: u16,
    content_length: u16,
    padding_length: u8,
    reserved: u8,
    detail: DetailJson<'a>,
}

fn detail<'a>(d: &'a Detail<'_>, content: &[u8], offsets: bool) -> DetailJson<'a> {
    let (preview, omitted) = preview_parts(content, PREVIEW_BYTES);
    match d {
        Detail::EndOfStream => DetailJson::EndOfStream,
        Detail::Bytes => DetailJson::Bytes { preview, omitted },
        Detail::Abort => DetailJson::AbortRequest { preview, omitted },
        Detail::PartialBlock | Detail::PartialBlockEnd => {
            DetailJson::PartialPairs { preview, omitted }
        }
        Detail::BeginRequest(b) => DetailJson::BeginRequest {
            role: b.role.code(),
            role_name: b.role.name(),
            flags: b.flags,
            keep_conn: b.keep_conn(),
        },
        Detail::EndRequest(b) => DetailJson::EndRequest {
            app_status: b.app_status,
            protocol_status: b.protocol_status.code(),
            protocol_status_name: b.protocol_status.name(),
        },
        Detail::UnknownType(b) => DetailJson::UnknownType {
            code: b.record_type,
            type_name: crate::record::RecordType::from_u8(b.record_type).name(),
        },
        Detail::Pairs { pairs, gathered } => DetailJson::Pairs {
            gathered: *gathered,
            pairs: pairs
                .iter()
                .map(|p| PairJson {
                    name: bytes(&p.name),
                    value: bytes(&p.value),
                    long_form_for_short: p.long_form_for_short,
                })
                .collect(),
        },
        Detail::Malformed(e) => DetailJson::Malformed {
            error: error(e, offsets),
        },
    }
}

/// Where a record object goes.
pub(super) struct Place<'a> {
    /// Its number in the records array.
    pub index: u64,
    /// Members written first in the object (a `Label`'s JSON), or "".
    pub members: &'a str,
    /// Whether the object stands alone on its line (`Renderer::records_only`).
    pub alone: bool,
}

/// Appends record number `place.index` of the array, on a line of its own.
pub(super) fn record(out: &mut String, e: &Entry<'_>, place: Place<'_>, offsets: bool) {
    let h = &e.record.header;
    let value = RecordJson {
        offset: offsets.then_some(e.record.offset),
        version: h.version,
        code: h.record_type.code(),
        type_name: h.record_type.name(),
        request_id: h.request_id,
        content_length: h.content_length,
        padding_length: h.padding_length,
        reserved: h.reserved,
        detail: detail(&e.detail, e.record.content, offsets),
    };
    if !place.alone {
        out.push_str(if place.index == 0 {
            "\n    "
        } else {
            ",\n    "
        });
    }
    // Serializing these plain structs to a string cannot fail.
    if let Ok(s) = serde_json::to_string(&value) {
        match s.strip_prefix('{') {
            Some(rest) if !place.members.is_empty() => {
                out.push('{');
                out.push_str(place.members);
                out.push(',');
                out.push_str(rest);
            }
            _ => out.push_str(&s),
        }
    }
    if place.alone {
        out.push('\n');
    }
}

/// Appends the end of the document after `records` records.
pub(super) fn trailer(
    out: &mut String,
    records: u64,
    len: u64,
    framing: Option<&Error>,
    clean: bool,
    offsets: bool,
) {
    use core::fmt::Write as _;
    out.push_str(if records == 0 { "],\n" } else { "\n  ],\n" });
    let err = framing
        .map(|e| serde_json::to_string(&error(e, offsets)).unwrap_or_default())
        .unwrap_or_else(|| "null".to_string());
    let _ = write!(
        out,
        "  \"length\": {len},\n  \"error\": {err},\n  \"clean\": {clean}\n}}\n"
    );
}
