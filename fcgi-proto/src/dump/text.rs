//! The dump's text form (docs/dump-format.md, *Text format*): escaped
//! previews, one line per record, the error line.

use core::fmt::{self, Write as _};
use std::borrow::Cow;

use super::*;
use crate::error::Error;
use crate::record::RecordType;

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
pub(super) fn hex_digit(n: u8) -> char {
    char::from(if n < 10 { b'0' + n } else { b'a' + n - 10 })
}

/// Appends the preview of `bytes` (as [`preview`]).
pub(super) fn preview_into(bytes: &[u8], max: usize, out: &mut String) {
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
pub(super) fn type_label(t: RecordType) -> Cow<'static, str> {
    match t {
        RecordType::Unknown(c) => Cow::Owned(format!("UNKNOWN({c})")),
        t => Cow::Borrowed(t.name()),
    }
}

/// Appends `n` in decimal, right-aligned in `width` columns.
pub(super) fn push_number(out: &mut String, n: u64, width: usize) {
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
pub(super) fn write_error(out: &mut String, e: &Error, offsets: bool) {
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
pub(super) fn write_entry(out: &mut String, e: &Entry<'_>, offsets: bool, margin: &str) {
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
pub(super) fn write_framing_error(out: &mut String, e: &Error, offsets: bool, margin: &str) {
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
