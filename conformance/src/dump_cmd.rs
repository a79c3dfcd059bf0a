//! `fcgi-conformance dump`: the annotated dump of captured bytes, as text
//! or as JSON (schema `fcgi-dump/1`, docs/dump-format.md), streamed
//! through the codec's [`fcgi_proto::dump::Renderer`] a chunk at a time.
//! A pcap or pcapng file, known by its magic number, is dumped connection
//! by connection instead ([`crate::capture`], schema `fcgi-dump-capture/1`).

use std::io::{Cursor, ErrorKind, Read, Write};

use fcgi_proto::dump::{RenderOptions, Renderer, Summary};

use crate::capture::{self, file, CaptureError};
use crate::stdio::{self, Written};

#[allow(
    dead_code,
    reason = "was public before the library API narrowed; kept for the shells that will use it"
)]
/// Schema name of the JSON dump.
pub const DUMP_SCHEMA: &str = fcgi_proto::dump::JSON_SCHEMA;

/// Bytes read from the capture at a time.
pub const CHUNK: usize = 64 * 1024;

/// Why a dump could not be written in full.
#[derive(Debug)]
pub enum DumpError {
    /// The capture could not be read.
    Read(std::io::Error),
    /// Standard output failed other than by its reader leaving.
    Write(std::io::Error),
    /// The input is neither FastCGI bytes nor a capture, or a capture with
    /// no FastCGI connection, or a capture file that is not valid: the
    /// words say what was seen and what to do (exit 2).
    Refused(String),
}

/// What `dump` found in its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// FastCGI records: empty, or a first byte of version 1.
    FastCgi,
    /// A packet capture.
    Capture(file::Kind),
    /// Anything else.
    Other,
}

/// What the first bytes of an input (up to 8) say it is.
pub fn sniff(first: &[u8]) -> Input {
    if let Some(kind) = file::sniff(first) {
        return Input::Capture(kind);
    }
    match first.first() {
        None | Some(&fcgi_proto::record::VERSION_1) => Input::FastCgi,
        Some(_) => Input::Other,
    }
}

/// The first bytes in hex and as escaped text, for the refusal.
fn shown(first: &[u8]) -> String {
    let hex: Vec<String> = first.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{} {}",
        hex.join(" "),
        fcgi_proto::dump::preview(first, first.len())
    )
}

/// Dumps `input` whatever it holds: FastCGI records as [`stream`] does, a
/// pcap or pcapng capture as [`capture::dump`] does (its FastCGI
/// connections, found by `ports` or by content). Says whether the dump is
/// clean.
pub fn run(
    mut input: impl Read,
    options: RenderOptions,
    ports: &[u16],
    out: impl Write,
) -> Result<bool, DumpError> {
    let mut first = Vec::with_capacity(8);
    let mut byte = [0u8; 8];
    // At most 8 reads that bring bytes; EOF ends it sooner.
    while first.len() < 8 {
        let want = 8 - first.len();
        match input.read(byte.get_mut(..want).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => first.extend_from_slice(byte.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(DumpError::Read(e)),
        }
    }
    let whole = Cursor::new(first.clone()).chain(input);
    match sniff(&first) {
        Input::FastCgi if !ports.is_empty() => Err(DumpError::Refused(format!(
            "holds FastCGI records, not a packet capture (it starts with {}); --port applies to pcap and pcapng captures only",
            shown(&first)
        ))),
        Input::FastCgi => stream(whole, options, out).map(|s| s.is_clean()),
        Input::Capture(kind) => {
            let opts = capture::Options {
                render: options,
                ports: ports.to_vec(),
            };
            match capture::dump(kind, whole, &opts, out) {
                Ok(o) => Ok(o.clean),
                Err(CaptureError::Write(e)) => Err(DumpError::Write(e)),
                Err(CaptureError::File(why)) => Err(DumpError::Refused(format!(
                    "starts like a {} capture, but {why}",
                    kind.name()
                ))),
                Err(CaptureError::NoFastCgi(why)) => Err(DumpError::Refused(why)),
            }
        }
        Input::Other => Err(DumpError::Refused(format!(
            "is neither FastCGI records nor a pcap/pcapng capture (it starts with {}); give the bytes of one direction of a FastCGI connection, or a capture written by tcpdump -w or Wireshark",
            shown(&first)
        ))),
    }
}

/// Reads `input` to its end in chunks of [`CHUNK`] bytes and writes the
/// dump to `out` as it goes. When the reader of `out` leaves (a broken
/// pipe: `dump | head -1`), the rest is still decoded, without being
/// written, so the summary (and the exit code) says whether the whole
/// capture was clean.
pub fn stream(
    mut input: impl Read,
    options: RenderOptions,
    mut out: impl Write,
) -> Result<Summary, DumpError> {
    let mut renderer = Renderer::new(options);
    let mut chunk = vec![0u8; CHUNK];
    let mut rendered = Vec::new();
    let mut gone = false;
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(DumpError::Read(e)),
        };
        rendered.clear();
        let piece = chunk.get(..n).unwrap_or_default();
        // Writing to a Vec cannot fail.
        let _ = renderer.push(piece, &mut rendered);
        if !gone {
            gone = emit(&mut out, &rendered)?;
        }
    }
    rendered.clear();
    let summary = renderer.finish(&mut rendered).map_err(DumpError::Write)?;
    if !gone {
        emit(&mut out, &rendered)?;
    }
    Ok(summary)
}

/// Writes rendered bytes; `true` when the reader has gone.
fn emit(out: &mut impl Write, rendered: &[u8]) -> Result<bool, DumpError> {
    if rendered.is_empty() {
        return Ok(false);
    }
    match stdio::write_bytes_to(&mut *out, rendered) {
        Ok(Written::All) => Ok(false),
        Ok(Written::ReaderGone) => Ok(true),
        Err(e) => Err(DumpError::Write(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader handing out at most `step` bytes a call.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.data.len().min(self.step).min(buf.len());
            let (head, rest) = self.data.split_at(n);
            buf[..n].copy_from_slice(head);
            self.data = rest;
            Ok(n)
        }
    }

    /// A writer whose reader leaves after `room` bytes.
    struct Closing(usize);

    impl Write for Closing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_streamed_dump_is_the_whole_dump_and_a_gone_reader_still_gets_a_verdict() {
        // Clean records, then a record with a bad version far past the
        // point where the reader leaves.
        let mut wire = Vec::new();
        for _ in 0..5000 {
            wire.extend_from_slice(&[1, 6, 0, 1, 0, 3, 5, 0, b'a', b'b', b'c', 0, 0, 0, 0, 0]);
        }
        let mut out = Vec::new();
        let s = stream(
            Trickle {
                data: &wire,
                step: 1000,
            },
            RenderOptions::default(),
            &mut out,
        )
        .unwrap();
        assert!(s.is_clean());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            fcgi_proto::dump::render(&wire)
        );
        wire.extend_from_slice(&[9, 6, 0, 1, 0, 0, 0, 0]);
        let s = stream(&wire[..], RenderOptions::default(), Closing(100)).unwrap();
        assert!(!s.is_clean());
        assert_eq!(s.error.map(|e| e.offset()), Some(80_000));
    }
}
