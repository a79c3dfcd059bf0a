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
        // Runs of bytes shown as they are go in at once (the common case);
        // the run ends where the table says, a lookup per byte rather than
        // a chain of comparisons.
        let run = rest
            .iter()
            .position(|&b| !SHOWN_AS_IS.get(usize::from(b)).copied().unwrap_or(false))
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
                // By hand and in one piece: formatting each escaped byte
                // through `write!`, or pushing its four characters one by
                // one, was the largest cost of rendering binary content.
                let esc = [b'\\', b'x', hex_digit(b >> 4), hex_digit(b & 0xf)];
                out.push_str(core::str::from_utf8(&esc).unwrap_or_default());
            }
        }
        rest = tail;
    }
}

/// The bytes [`escape_into`] copies as they are: printable ASCII but `"`
/// and `\`.
// Indexing in a constant: an index out of range fails the build, not a run.
#[allow(clippy::indexing_slicing)]
static SHOWN_AS_IS: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x20;
    while b <= 0x7e {
        t[b] = b != b'"' as usize && b != b'\\' as usize;
        b += 1;
    }
    t
};

/// The lowercase hex digit of `n` (0..=15), as an ASCII byte.
pub(super) fn hex_digit(n: u8) -> u8 {
    if n < 10 {
        b'0' + n
    } else {
        b'a' + n - 10
    }
}

/// Appends `n` spaces, in pieces of a constant rather than one by one.
pub(super) fn push_spaces(out: &mut String, n: usize) {
    const SPACES: &str = "                                ";
    let mut left = n;
    while left > 0 {
        let take = left.min(SPACES.len());
        out.push_str(SPACES.get(..take).unwrap_or_default());
        left -= take;
    }
}

/// Appends the preview of `bytes` (as [`preview`]).
pub(super) fn preview_into(bytes: &[u8], max: usize, out: &mut String) {
    out.push('"');
    escape_into(bytes.get(..max).unwrap_or(bytes), out);
    out.push('"');
    if bytes.len() > max {
        push_omitted(out, bytes.len() - max);
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
    if n < 10 {
        // Most of a dump's numbers (ids, padding, status codes) are one
        // digit: no digit loop for them.
        push_spaces(out, width.saturating_sub(1));
        out.push(char::from(b'0' + n as u8));
        return;
    }
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
    push_spaces(out, width.saturating_sub(shown.len()));
    // Decimal digits are ASCII.
    out.push_str(core::str::from_utf8(shown).unwrap_or_default());
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
    push_spaces(out, 17usize.saturating_sub(name.len()));
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
    // Pieces pushed as they are, not through `write!`: the formatting
    // machinery was a sixth of rendering a dump.
    match &e.detail {
        Detail::EndOfStream => out.push_str("  (end of stream)\n"),
        Detail::Abort if content.is_empty() => out.push('\n'),
        Detail::Bytes | Detail::Abort => {
            out.push_str("  ");
            preview_into(content, PREVIEW_BYTES, out);
            out.push('\n');
        }
        Detail::BeginRequest(b) => {
            out.push_str("  role=");
            out.push_str(b.role.name());
            out.push('(');
            push_number(out, u64::from(b.role.code()), 0);
            out.push_str(") flags=");
            push_number(out, u64::from(b.flags), 0);
            if b.keep_conn() {
                out.push_str(" KEEP_CONN");
            }
            out.push('\n');
        }
        Detail::EndRequest(b) => {
            out.push_str("  app_status=");
            push_number(out, u64::from(b.app_status), 0);
            out.push_str(" protocol_status=");
            out.push_str(b.protocol_status.name());
            out.push('(');
            push_number(out, u64::from(b.protocol_status.code()), 0);
            out.push_str(")\n");
        }
        Detail::UnknownType(b) => {
            let t = RecordType::from_u8(b.record_type);
            out.push_str("  type=");
            out.push_str(t.name());
            out.push('(');
            push_number(out, u64::from(t.code()), 0);
            out.push_str(")\n");
        }
        Detail::PartialBlock => {
            out.push_str("  ");
            preview_into(content, PREVIEW_BYTES, out);
            out.push_str(" (pairs continue in the next record)\n");
        }
        Detail::PartialBlockEnd => {
            out.push_str("  ");
            preview_into(content, PREVIEW_BYTES, out);
            out.push_str(" (ends pairs begun in an earlier record)\n");
        }
        Detail::Malformed(err) => {
            out.push_str("  MALFORMED: ");
            write_error(out, err, offsets);
            out.push('\n');
        }
        Detail::Pairs { pairs, gathered } => {
            out.push_str("  ");
            push_number(out, pairs.len() as u64, 0);
            out.push_str(if pairs.len() == 1 { " pair" } else { " pairs" });
            if *gathered {
                out.push_str(" (whole stream)");
            }
            out.push('\n');
            // The pair lines keep their column under the record's detail.
            let indent = if offsets { "          " } else { "  " };
            let under_margin = margin.chars().count();
            for p in pairs {
                push_spaces(out, under_margin);
                out.push_str(indent);
                escape_into(p.name.get(..PAIR_PREVIEW_BYTES).unwrap_or(&p.name), out);
                if p.name.len() > PAIR_PREVIEW_BYTES {
                    push_omitted(out, p.name.len() - PAIR_PREVIEW_BYTES);
                }
                out.push_str(" = ");
                preview_into(&p.value, PAIR_PREVIEW_BYTES, out);
                if p.long_form_for_short {
                    out.push_str("  [4-byte length for a short length]");
                }
                out.push('\n');
            }
        }
    }
}

/// Appends ` +N bytes`, the count of bytes a preview leaves out.
fn push_omitted(out: &mut String, n: usize) {
    out.push_str(" +");
    push_number(out, n as u64, 0);
    out.push_str(" bytes");
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
