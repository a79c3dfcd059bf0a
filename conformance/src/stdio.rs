//! Standard output and error for a reader that may stop early
//! (`fcgi-conformance app --format json | head -c 1500`): a closed pipe
//! ends the writing quietly, never a panic as `print!` would.

use std::io::{ErrorKind, Write};

/// How a write to standard output ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Every byte was handed to the reader.
    All,
    /// The reader closed its end first; the rest was dropped.
    ReaderGone,
}

/// Writes `text` to `w` and flushes it; a broken pipe is
/// [`Written::ReaderGone`], any other failure an error.
pub fn write_to(w: impl Write, text: &str) -> std::io::Result<Written> {
    write_bytes_to(w, text.as_bytes())
}

/// [`write_to`] for bytes that are already encoded (the streamed dump).
pub fn write_bytes_to(mut w: impl Write, bytes: &[u8]) -> std::io::Result<Written> {
    match w.write_all(bytes).and_then(|()| w.flush()) {
        Ok(()) => Ok(Written::All),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(Written::ReaderGone),
        Err(e) => Err(e),
    }
}

/// Writes `text` to standard output (see [`write_to`]).
pub fn out(text: &str) -> std::io::Result<Written> {
    write_to(std::io::stdout().lock(), text)
}

/// Writes one line to standard error; if that fails there is nobody to tell.
pub fn err_line(line: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader went away after `room` bytes.
    struct Closing {
        room: usize,
        kind: ErrorKind,
    }

    impl Write for Closing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(self.kind.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_broken_pipe_is_the_reader_gone_and_other_errors_stay_errors() {
        let w = Closing {
            room: 100,
            kind: ErrorKind::BrokenPipe,
        };
        assert_eq!(
            write_to(w, &"x".repeat(1000)).ok(),
            Some(Written::ReaderGone)
        );
        let w = Closing {
            room: 2000,
            kind: ErrorKind::BrokenPipe,
        };
        assert_eq!(write_to(w, &"x".repeat(1000)).ok(), Some(Written::All));
        let w = Closing {
            room: 0,
            kind: ErrorKind::StorageFull,
        };
        assert!(write_to(w, "x").is_err());
    }
}
