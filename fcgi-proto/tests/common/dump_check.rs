//! Checks shared by the dump tests: the streaming renderer against the
//! whole-buffer dump, and (with the `serde` feature) its JSON against the
//! JSON the CLI built from a whole `Dump` before the renderer existed.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

#[cfg(feature = "serde")]
use fcgi_proto::dump::Dump;
use fcgi_proto::dump::{self, RenderOptions, Renderer, Summary, MAX_GATHERED_PARAMS};
use fcgi_proto::record::MAX_RECORD_LEN;

/// The most a renderer may hold between calls: one record, one 64 KiB
/// piece of input, and the PARAMS gather limit with its bookkeeping (a
/// 24-byte segment per gathered record, at least 1 content byte each,
/// and one map slot per open stream).
pub const BUFFER_BOUND: usize = MAX_RECORD_LEN + 64 * 1024 + 25 * MAX_GATHERED_PARAMS + 65_536 * 96;

/// Renders `bytes` pushed in chunks of the sizes in `sizes` (cycled),
/// asserting after every push that the buffer stays under [`BUFFER_BOUND`].
pub fn streamed(bytes: &[u8], sizes: &[usize], options: RenderOptions) -> (String, Summary) {
    let mut out = Vec::new();
    let mut r = Renderer::new(options);
    let mut rest = bytes;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        let (head, tail) = rest.split_at(n);
        r.push(head, &mut out).unwrap();
        assert!(r.buffered_len() <= BUFFER_BOUND, "{}", r.buffered_len());
        rest = tail;
        i += 1;
    }
    let s = r.finish(&mut out).unwrap();
    (String::from_utf8(out).unwrap(), s)
}

/// Asserts that every form of the dump of `bytes` agrees: the `Dump`'s
/// text, the renderer fed whole and in several chunkings, the summary,
/// and the JSON as the CLI used to build it.
pub fn forms_agree(bytes: &[u8], options: fcgi_proto::record::ParseOptions) {
    let d = dump::dump_with(bytes, options);
    let whole = d.to_string();
    let text = RenderOptions {
        parse: options,
        ..RenderOptions::default()
    };
    for sizes in [&[bytes.len().max(1)][..], &[1], &[7, 3, 100], &[4096]] {
        let (got, s) = streamed(bytes, sizes, text);
        assert_eq!(got, whole, "chunks {sizes:?}");
        assert_eq!(s.is_clean(), d.is_clean());
        assert_eq!(s.first_error.as_ref(), d.first_error());
        assert_eq!(s.error, d.error);
        assert_eq!(s.records, d.entries.len() as u64);
        assert_eq!(s.len, bytes.len() as u64);
    }
    // Without offsets: one line per record (plus pair lines) all the same,
    // and no offset left in any of them.
    let (bare, _) = streamed(
        bytes,
        &[5],
        RenderOptions {
            offsets: false,
            ..text
        },
    );
    assert_eq!(bare.lines().count(), whole.lines().count());
    assert!(!bare.contains(" at byte "), "{bare}");
    #[cfg(feature = "serde")]
    {
        let json = RenderOptions {
            format: dump::Format::Json,
            ..text
        };
        for sizes in [&[bytes.len().max(1)][..], &[3]] {
            let (got, _) = streamed(bytes, sizes, json);
            let v: serde_json::Value = serde_json::from_str(&got).unwrap();
            assert_eq!(v, old_json(&d), "{got}");
        }
    }
}

/// The CLI's JSON of a whole dump as it was built before the streaming
/// renderer (conformance/src/dump_cmd.rs), kept as the reference.
#[cfg(feature = "serde")]
pub fn old_json(d: &Dump<'_>) -> serde_json::Value {
    use dump::Detail;
    use fcgi_proto::Error;
    use serde_json::{json, Value};

    fn bytes_value(b: &[u8]) -> Value {
        match std::str::from_utf8(b) {
            Ok(s) => Value::String(s.to_string()),
            Err(_) => json!({ "hex": b.iter().map(|x| format!("{x:02x}")).collect::<String>() }),
        }
    }
    fn error_json(e: &Error) -> Value {
        json!({
            "offset": e.offset(),
            "section": e.section().to_string(),
            "requirement": e.requirement().map(|r| r.id()),
            "message": e.kind().to_string(),
        })
    }
    fn preview_json(kind: &str, content: &[u8]) -> Value {
        let (preview, omitted) = dump::preview_parts(content, dump::PREVIEW_BYTES);
        json!({"kind": kind, "preview": preview, "omitted": omitted})
    }
    fn detail_json(d: &Detail<'_>, content: &[u8]) -> Value {
        match d {
            Detail::EndOfStream => json!({"kind": "end_of_stream"}),
            Detail::Bytes => preview_json("bytes", content),
            Detail::Abort => preview_json("abort_request", content),
            // One variant before the label fix; the JSON never told them apart.
            Detail::PartialBlock | Detail::PartialBlockEnd => {
                preview_json("partial_pairs", content)
            }
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
        "schema": "fcgi-dump/1",
        "length": d.len,
        "clean": d.is_clean(),
        "records": records,
        "error": d.error.as_ref().map(error_json),
    })
}
