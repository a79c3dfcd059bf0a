//! `fcgi-conformance dump`: the annotated dump of captured bytes, as text
//! or as JSON (schema `fcgi-dump/1`, docs/dump-format.md), streamed
//! through the codec's [`fcgi_proto::dump::Renderer`] a chunk at a time.

use std::io::{ErrorKind, Read, Write};

use fcgi_proto::dump::{RenderOptions, Renderer, Summary};

use crate::stdio::{self, Written};

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
