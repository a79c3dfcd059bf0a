//! The one I/O driver under every shell that speaks FastCGI over a socket:
//! a [`Stream`], a [`Decoder`], one party's state machine from
//! `fcgi_proto::connection` ([`Party`]: the web server or the
//! application), a bounded read buffer, a transcript tap (both directions,
//! what [`crate::transcript`] records) and hooks on the write and read
//! paths, through which the self-check injects its faults ([`hook`]).
//!
//! The driver is split in two halves, [`Reader`] and [`Writer`], so a
//! shell can read while it writes (one task selecting on both, or a writer
//! task of its own). Every wait is the shell's to bound: the driver never
//! waits except inside the one read or write it is asked for, and each of
//! its methods is cancel-safe at its await point (nothing is tapped or fed
//! to the decoder until the read has returned).
//!
//! Bytes meant to break the rules (the hostile cases) go through
//! [`Writer::send_raw`]: no hook sees them, the transcript still does.

pub mod hook;
mod party;

use std::io;

use fcgi_proto::decoder::Decoder;
use fcgi_proto::record::Record;
use fcgi_proto::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};

pub use hook::{ReadHook, WriteHook, WriteOutcome};
pub use party::{Party, Raw};

use std::sync::Arc;

use crate::target::Stream;
use crate::transcript::{ConnLog, Dir};

/// Where a driver records the bytes of both directions: a transcript's
/// connection ([`ConnLog`]), or a shell's own (one that follows the case
/// in progress, say).
pub trait Tap: Send + Sync {
    /// Records bytes that travelled `dir`.
    fn record(&self, dir: Dir, bytes: &[u8]);
}

impl Tap for ConnLog {
    fn record(&self, dir: Dir, bytes: &[u8]) {
        ConnLog::record(self, dir, bytes);
    }
}

/// The read buffer's default size: one read takes at most this many bytes.
pub const READ_BUFFER: usize = 16 * 1024;
/// The largest read buffer a shell may ask for.
pub const MAX_READ_BUFFER: usize = 1 << 20;

/// One connection: both halves, before a shell splits them.
pub struct Driver<P> {
    /// The reading half: decoder, party, read hook.
    pub reader: Reader<P>,
    /// The writing half: write hook.
    pub writer: Writer,
}

/// Why a read gave up.
#[derive(Debug)]
pub enum ReadError {
    /// The socket failed.
    Io(io::Error),
    /// The bytes do not frame into records, or overflow the decoder's
    /// bound (§3.3; the error gives the byte offset).
    Malformed(Error),
}

/// The reading half of a [`Driver`].
pub struct Reader<P> {
    rd: ReadHalf<Stream>,
    decoder: Decoder,
    party: P,
    buf: Vec<u8>,
    tap: Option<Arc<dyn Tap>>,
    hook: Option<Box<dyn ReadHook>>,
}

/// The writing half of a [`Driver`].
pub struct Writer {
    wr: WriteHalf<Stream>,
    tap: Option<Arc<dyn Tap>>,
    dir: Dir,
    hook: Option<Box<dyn WriteHook>>,
}

/// One record read, and what the party made of it.
pub struct Inbound<'a, P: Party> {
    /// The record as decoded (offset, header, content).
    pub record: Record<'a>,
    /// The party's event for it, or the rule it broke.
    pub event: Result<P::Event<'a>, Error>,
}

impl<P: Party> Driver<P> {
    /// A driver over `stream` for `party`, with the default decoder and
    /// read buffer, no tap and no hooks.
    pub fn new(stream: Stream, party: P) -> Self {
        let (rd, wr) = tokio::io::split(stream);
        Driver {
            reader: Reader {
                rd,
                decoder: Decoder::new(),
                party,
                buf: vec![0u8; READ_BUFFER],
                tap: None,
                hook: None,
            },
            writer: Writer {
                wr,
                tap: None,
                dir: P::SENDS,
                hook: None,
            },
        }
    }

    /// Replaces the decoder (other parse options or buffer bound).
    pub fn with_decoder(mut self, decoder: Decoder) -> Self {
        self.reader.decoder = decoder;
        self
    }

    /// Sets the read buffer's size, within 1 byte and [`MAX_READ_BUFFER`].
    pub fn with_read_buffer(mut self, len: usize) -> Self {
        self.reader.buf = vec![0u8; len.clamp(1, MAX_READ_BUFFER)];
        self
    }

    /// Records every byte, both directions, into `log`.
    pub fn with_tap(self, log: ConnLog) -> Self {
        self.with_tap_into(Arc::new(log))
    }

    /// Records every byte, both directions, into `tap`.
    pub fn with_tap_into(mut self, tap: Arc<dyn Tap>) -> Self {
        self.reader.tap = Some(tap.clone());
        self.writer.tap = Some(tap);
        self
    }

    /// Passes every write but the raw ones through `hook`.
    pub fn with_write_hook(mut self, hook: Box<dyn WriteHook>) -> Self {
        self.writer.hook = Some(hook);
        self
    }

    /// Passes every read through `hook` before the decoder sees it.
    pub fn with_read_hook(mut self, hook: Box<dyn ReadHook>) -> Self {
        self.reader.hook = Some(hook);
        self
    }

    /// The two halves, for a shell that moves them apart.
    pub fn into_parts(self) -> (Reader<P>, Writer) {
        (self.reader, self.writer)
    }
}

impl<P: Party> Reader<P> {
    /// Reads once (at most the buffer's size), taps the bytes and feeds
    /// them to the decoder. `Ok(0)` when the peer closed. Cancel-safe.
    pub async fn fill(&mut self) -> Result<usize, ReadError> {
        let n = self.rd.read(&mut self.buf).await.map_err(ReadError::Io)?;
        let got = self.buf.get(..n).unwrap_or_default();
        if let Some(tap) = &self.tap {
            tap.record(P::SENDS.other(), got);
        }
        if n == 0 {
            return Ok(0);
        }
        let pushed = match &mut self.hook {
            Some(h) => {
                let rewritten = h.on_read(got);
                self.decoder.push(&rewritten)
            }
            None => self.decoder.push(got),
        };
        pushed.map_err(ReadError::Malformed)?;
        Ok(n)
    }

    /// The next whole record already read, if any (no I/O).
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, Error> {
        self.decoder.next_record()
    }

    /// The next whole record already read, with the party's event for it
    /// (no I/O).
    pub fn next_event(&mut self) -> Result<Option<Inbound<'_, P>>, Error> {
        let Some(record) = self.decoder.next_record()? else {
            return Ok(None);
        };
        let event = self.party.handle(&record);
        Ok(Some(Inbound { record, event }))
    }

    /// The next whole record already read, and the party apart from it,
    /// for a shell that acts between reading a record and judging it
    /// (no I/O).
    pub fn next_with_party(&mut self) -> Result<Option<(Record<'_>, &mut P)>, Error> {
        let party = &mut self.party;
        Ok(self.decoder.next_record()?.map(|r| (r, party)))
    }

    /// Says whether the peer closed mid-record (an error naming the
    /// offset) or between records.
    pub fn finish(&mut self) -> Result<(), Error> {
        self.decoder.finish()
    }

    /// The party's state machine.
    pub fn party(&self) -> &P {
        &self.party
    }

    /// The party's state machine, to write through or teach.
    pub fn party_mut(&mut self) -> &mut P {
        &mut self.party
    }

    /// The decoder.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }
}

impl Writer {
    /// Writes `bytes` through the write hook, then flushes. The bytes the
    /// hook lets through are tapped. [`WriteOutcome::Close`] when the hook
    /// asks that the connection end after them.
    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<WriteOutcome> {
        let Some(hook) = &mut self.hook else {
            self.send_raw(bytes).await?;
            return Ok(WriteOutcome::Go);
        };
        let mut out = bytes.to_vec();
        let outcome = hook.on_write(&mut out);
        self.send_raw(&out).await?;
        Ok(outcome)
    }

    /// Writes `bytes` as they are (no hook), tapped, then flushes.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if let Some(tap) = &self.tap {
            tap.record(self.dir, bytes);
        }
        self.wr.write_all(bytes).await?;
        self.wr.flush().await
    }

    /// One write of as much of `bytes` as the socket takes now, as they
    /// are (no hook); the bytes written are tapped. Cancel-safe: nothing is
    /// written or tapped when cancelled. `Ok(0)` when the socket takes none.
    pub async fn write_some(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.wr.write(bytes).await?;
        if let Some(tap) = &self.tap {
            tap.record(self.dir, bytes.get(..n).unwrap_or_default());
        }
        Ok(n)
    }

    /// Writes `bytes` as they are in writes of at most `chop` bytes
    /// (Autobahn's chopsize), tapped once, each write flushed.
    pub async fn send_chopped(&mut self, bytes: &[u8], chop: usize) -> io::Result<()> {
        if let Some(tap) = &self.tap {
            tap.record(self.dir, bytes);
        }
        for chunk in bytes.chunks(chop.max(1)) {
            self.wr.write_all(chunk).await?;
            self.wr.flush().await?;
        }
        Ok(())
    }

    /// Half-closes the connection (no more bytes from this side).
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.wr.shutdown().await
    }
}
