#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::annotate::*;
use super::render::*;
use super::*;
use crate::encoder::Encoder;
use crate::record::{RecordType, MAX_RECORD_LEN};
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
