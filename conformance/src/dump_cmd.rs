//! `fcgi-conformance dump`: the annotated dump of captured bytes, as text
//! or as JSON (schema `fcgi-dump/1`, docs/dump-format.md).

use fcgi_proto::dump::{Detail, Dump};
use fcgi_proto::Error;
use serde_json::{json, Value};

/// Schema name of the JSON dump.
pub const DUMP_SCHEMA: &str = "fcgi-dump/1";

fn bytes_value(b: &[u8]) -> Value {
    match std::str::from_utf8(b) {
        Ok(s) => Value::String(s.to_string()),
        Err(_) => json!({ "hex": b.iter().map(|x| format!("{x:02x}")).collect::<String>() }),
    }
}

/// An error as JSON: offset, section, requirement and message.
pub fn error_json(e: &Error) -> Value {
    json!({
        "offset": e.offset(),
        "section": e.section(),
        "requirement": e.requirement(),
        "message": e.kind().to_string(),
    })
}

fn preview_json(kind: &str, content: &[u8]) -> Value {
    let (preview, omitted) =
        fcgi_proto::dump::preview_parts(content, fcgi_proto::dump::PREVIEW_BYTES);
    json!({"kind": kind, "preview": preview, "omitted": omitted})
}

fn detail_json(d: &Detail<'_>, content: &[u8]) -> Value {
    match d {
        Detail::EndOfStream => json!({"kind": "end_of_stream"}),
        Detail::Bytes => preview_json("bytes", content),
        Detail::Abort => preview_json("abort_request", content),
        Detail::PartialBlock => preview_json("partial_pairs", content),
        Detail::BeginRequest(b) => json!({
            "kind": "begin_request",
            "role": b.role.code(),
            "role_name": b.role.name(),
            "flags": b.flags,
            "keep_conn": b.keep_conn(),
        }),
        Detail::EndRequest(b) => json!({
            "kind": "end_request",
            "app_status": b.app_status,
            "protocol_status": b.protocol_status.code(),
            "protocol_status_name": b.protocol_status.name(),
        }),
        Detail::UnknownType(b) => json!({
            "kind": "unknown_type",
            "type": b.record_type,
            "type_name": fcgi_proto::RecordType::from_u8(b.record_type).name(),
        }),
        Detail::Pairs { pairs, gathered } => json!({
            "kind": "pairs",
            "gathered": gathered,
            "pairs": pairs.iter().map(|p| json!({
                "name": bytes_value(&p.name),
                "value": bytes_value(&p.value),
                "long_form_for_short": p.long_form_for_short,
            })).collect::<Vec<_>>(),
        }),
        Detail::Malformed(e) => json!({"kind": "malformed", "error": error_json(e)}),
    }
}

/// The dump as a JSON value (schema `fcgi-dump/1`).
pub fn to_json(d: &Dump<'_>) -> Value {
    let records: Vec<Value> = d
        .entries
        .iter()
        .map(|e| {
            let h = &e.record.header;
            json!({
                "offset": e.record.offset,
                "version": h.version,
                "type": h.record_type.code(),
                "type_name": h.record_type.name(),
                "request_id": h.request_id,
                "content_length": h.content_length,
                "padding_length": h.padding_length,
                "reserved": h.reserved,
                "detail": detail_json(&e.detail, e.record.content),
            })
        })
        .collect();
    json!({
        "schema": DUMP_SCHEMA,
        "length": d.len,
        "clean": d.is_clean(),
        "records": records,
        "error": d.error.as_ref().map(error_json),
    })
}
