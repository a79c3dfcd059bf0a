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
#[allow(unused_imports, reason = "was public before the library API narrowed")]
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

    #[allow(
        dead_code,
        reason = "was public before the library API narrowed; kept for the shells that will use it"
    )]
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

    #[allow(
        dead_code,
        reason = "was public before the library API narrowed; kept for the shells that will use it"
    )]
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

    #[allow(
        dead_code,
        reason = "was public before the library API narrowed; kept for the shells that will use it"
    )]
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

    #[allow(
        dead_code,
        reason = "was public before the library API narrowed; kept for the shells that will use it"
    )]
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::target::{Addr, Listener};
    use crate::transcript::Transcript;
    use fcgi_proto::connection::{Application, ApplicationEvent, RequestId, WebServer};
    use fcgi_proto::role::Role;
    use fcgi_proto::stream::StreamType;

    /// A connected pair over loopback: (web-server side, application side).
    async fn pair() -> (Stream, Stream) {
        let l = Listener::bind(&Addr::Tcp(([127, 0, 0, 1], 0).into()))
            .await
            .unwrap();
        let addr = l.local_addr().unwrap();
        let (c, s) = tokio::join!(
            crate::target::connect(&addr, std::time::Duration::from_secs(5)),
            l.accept()
        );
        (c.unwrap(), s.unwrap())
    }

    /// Drops every STDIN record from a write, and asks to close.
    struct DropStdin;

    impl WriteHook for DropStdin {
        fn on_write(&mut self, bytes: &mut Vec<u8>) -> WriteOutcome {
            let mut out = Vec::new();
            let mut at = 0;
            while let Some(h) = bytes
                .get(at..)
                .and_then(fcgi_proto::record::Header::from_slice)
            {
                let rec = bytes.get(at..at + h.record_len()).unwrap_or_default();
                if h.record_type != fcgi_proto::record::RecordType::Stdin {
                    out.extend_from_slice(rec);
                }
                at += h.record_len();
            }
            *bytes = out;
            WriteOutcome::Close
        }
    }

    /// Sets the stream's first byte, the first record's version, to 1
    /// (the test's sender writes one record with version 7).
    #[derive(Default)]
    struct FixVersion {
        seen: usize,
    }

    impl ReadHook for FixVersion {
        fn on_read(&mut self, bytes: &[u8]) -> Vec<u8> {
            let mut v = bytes.to_vec();
            if self.seen == 0 {
                if let Some(b) = v.first_mut() {
                    *b = 1;
                }
            }
            self.seen += v.len();
            v
        }
    }

    #[tokio::test]
    async fn both_directions_are_tapped_and_hooks_rewrite_only_hooked_writes() {
        let (ws_sock, app_sock) = pair().await;
        let t = Transcript::new();
        let mut web = Driver::new(ws_sock, WebServer::default())
            .with_tap(t.connection("test"))
            .with_write_hook(Box::new(DropStdin));
        let mut app = Driver::new(app_sock, Application::default()).with_read_buffer(8);
        let id = RequestId::MIN;
        let mut out = Vec::new();
        let ws = web.reader.party_mut();
        ws.begin_request(id, Role::Responder, false, &mut out)
            .unwrap();
        ws.end_stream(StreamType::Params, id, &mut out).unwrap();
        ws.stream(StreamType::Stdin, id, b"dropped", &mut out)
            .unwrap();
        let whole = out.len();
        assert_eq!(web.writer.send(&out).await.unwrap(), WriteOutcome::Close);
        // The raw path skips the hook: STDIN's end goes through.
        let mut end = Vec::new();
        web.reader
            .party_mut()
            .end_stream(StreamType::Stdin, id, &mut end)
            .unwrap();
        web.writer.send_raw(&end).await.unwrap();
        let mut events = Vec::new();
        while events.len() < 3 {
            let n = app.reader.fill().await.unwrap();
            assert!(n > 0 && n <= 8, "a read is bounded by the buffer: {n}");
            while let Some(i) = app.reader.next_event().unwrap() {
                events.push(i.event.unwrap().into_owned());
            }
        }
        assert!(
            matches!(events[0], ApplicationEvent::BeginRequest { .. }),
            "{events:?}"
        );
        assert!(
            matches!(events[1], ApplicationEvent::ParamsEnd { .. }),
            "{events:?}"
        );
        assert!(
            matches!(events[2], ApplicationEvent::StdinEnd { .. }),
            "{events:?}"
        );
        // The application answers; the web server's tap sees it too.
        let mut back = Vec::new();
        app.reader
            .party_mut()
            .end_stream(StreamType::Stdout, id, &mut back)
            .unwrap();
        app.writer.send(&back).await.unwrap();
        while web.reader.next_record().unwrap().is_none() {
            assert!(web.reader.fill().await.unwrap() > 0);
        }
        let text = t.render();
        // BEGIN_REQUEST and PARAMS' end (24 bytes) of the hooked write,
        // then the raw STDIN end (8); the hook dropped the 16-byte STDIN.
        assert_eq!(whole, 40);
        let sent = 32;
        assert!(
            text.contains(&format!(
                "web server -> application {sent} bytes in 3 records"
            )),
            "{text}"
        );
        assert!(
            text.contains("application -> web server 8 bytes in 1 records"),
            "{text}"
        );
        assert!(!text.contains("dropped"), "{text}");
    }

    #[tokio::test]
    async fn the_read_hook_rewrites_before_the_decoder_and_a_close_reads_zero() {
        let (a, b) = pair().await;
        let mut rx = Driver::new(a, Raw).with_read_hook(Box::<FixVersion>::default());
        let mut tx = Driver::new(b, Raw);
        let mut rec = Vec::new();
        fcgi_proto::encoder::Encoder::default()
            .get_values([b"FCGI_MPXS_CONNS".as_slice()], &mut rec)
            .unwrap();
        rec[0] = 7;
        tx.writer.send_raw(&rec).await.unwrap();
        tx.writer.shutdown().await.unwrap();
        let mut got = 0;
        loop {
            match rx.reader.fill().await.unwrap() {
                0 => break,
                _ => {
                    while let Some(i) = rx.reader.next_with_party().unwrap() {
                        assert_eq!(i.0.header.version, 1);
                        got += 1;
                    }
                }
            }
        }
        assert_eq!(got, 1);
        assert!(rx.reader.finish().is_ok());
    }
}
