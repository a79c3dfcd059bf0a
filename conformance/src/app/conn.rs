//! One connection from the runner (playing the web server) to the
//! application under test: bytes out, records in, every wait bounded, and
//! every record the application sends judged by the codec's web-server
//! state machine (`fcgi_proto::connection::WebServer`), all over the shared
//! driver ([`crate::driver`]). The cases send bytes of their own making,
//! well-formed or not, so every write takes the driver's raw path.

use std::time::Duration;

use fcgi_proto::application::EndRequestBody;
use fcgi_proto::connection::{RequestId, WebServer, WebServerConfig};
use fcgi_proto::decoder::Decoder;
use fcgi_proto::record::RecordType;
use fcgi_proto::role::Role;
use fcgi_proto::stream::StreamType;
use fcgi_proto::{Error, OwnedRecord};
use tokio::time::Instant;

use crate::app::request::Req;
use crate::bounds::{self, keep, Bounds, Hold, Kept};
use crate::driver::{Driver, ReadError};
use crate::target::{connect, Addr};
use crate::transcript::Transcript;

/// Why a read or write gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnError {
    /// Nothing arrived within the timeout.
    Timeout,
    /// The application closed the connection.
    Closed,
    /// The application's bytes do not frame into records (§3.3).
    Malformed(Error),
    /// A socket error.
    Io(String),
    /// A deadline passed while records may still have been coming: the
    /// case's ([`crate::bounds::read_deadline`]) or, reading a response,
    /// the response's ([`crate::bounds::response_budget`]).
    Deadline {
        /// Time since the connection opened, or since the response's
        /// read began.
        after: Duration,
    },
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnError::Timeout => f.write_str("no answer within the timeout"),
            ConnError::Closed => f.write_str("the application closed the connection"),
            ConnError::Malformed(e) => write!(f, "malformed bytes from the application: {e}"),
            ConnError::Io(e) => write!(f, "socket error: {e}"),
            ConnError::Deadline { after } => {
                write!(
                    f,
                    "the read's deadline passed after {:.1} s",
                    after.as_secs_f64()
                )
            }
        }
    }
}

/// Everything the application sent for one request id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// STDOUT content, in order.
    pub stdout: Vec<u8>,
    /// STDERR content, in order.
    pub stderr: Vec<u8>,
    /// The END_REQUEST body, if one arrived with a valid 8-byte body.
    pub end: Option<EndRequestBody>,
    /// Whether STDOUT was ended by its empty record before END_REQUEST.
    pub stdout_ended: bool,
    /// Whether STDERR was ended by its empty record before END_REQUEST.
    pub stderr_ended: bool,
    /// STDOUT records received (empty one included).
    pub stdout_records: usize,
    /// STDERR records received (empty one included).
    pub stderr_records: usize,
    /// STDOUT bytes received past the runner's bound, counted and dropped.
    pub stdout_discarded: u64,
    /// STDERR bytes received past the runner's bound, counted and dropped.
    pub stderr_discarded: u64,
    /// The first bound the response ran into, as a phrase ("the runner's
    /// bound of 64 MiB of STDOUT per response"), if any.
    pub bound: Option<String>,
    /// The share of the pool ([`crate::bounds::RESPONSES_KEPT`])
    /// that `stdout` and `stderr` hold, given back when the response drops.
    pub hold: Hold,
}

impl Response {
    /// When bytes were discarded: "the response exceeded the runner's
    /// bound of 64 MiB of STDOUT per response (N bytes discarded)", for a
    /// case to report.
    pub fn exceeded(&self) -> Option<String> {
        let bound = self.bound.as_ref()?;
        Some(format!(
            "the response exceeded {bound} ({} STDOUT and {} STDERR bytes discarded)",
            self.stdout_discarded, self.stderr_discarded
        ))
    }

    /// What arrived so far, for reports: records and bytes of each stream.
    pub fn progress(&self) -> String {
        let stream = |name: &str, records: usize, kept: usize, lost: u64| {
            let total = (kept as u64).saturating_add(lost);
            if lost > 0 {
                format!("{records} {name} records ({total} bytes, {lost} of them discarded)")
            } else {
                format!("{records} {name} records ({total} bytes)")
            }
        };
        format!(
            "{}, {}",
            stream(
                "STDOUT",
                self.stdout_records,
                self.stdout.len(),
                self.stdout_discarded
            ),
            stream(
                "STDERR",
                self.stderr_records,
                self.stderr.len(),
                self.stderr_discarded
            )
        )
    }

    /// Folds one record of this request into the response, keeping at most
    /// `max_out` STDOUT and `max_err` STDERR bytes; true for its END_REQUEST
    /// (a body that is not 8 bytes reads as appStatus u32::MAX, status 255).
    pub fn absorb(&mut self, r: &OwnedRecord, max_out: usize, max_err: usize) -> bool {
        match r.record_type {
            RecordType::Stdout => {
                self.stdout_records += 1;
                if r.content.is_empty() {
                    self.stdout_ended = true;
                } else {
                    self.keep_stdout(&r.content, max_out);
                }
            }
            RecordType::Stderr => {
                self.stderr_records += 1;
                if r.content.is_empty() {
                    self.stderr_ended = true;
                } else {
                    self.keep_stderr(&r.content, max_err);
                }
            }
            RecordType::EndRequest => {
                self.end = Some(
                    EndRequestBody::parse(&r.content, 0).unwrap_or(EndRequestBody {
                        app_status: u32::MAX,
                        protocol_status: fcgi_proto::application::ProtocolStatus::Unknown(255),
                    }),
                );
                return true;
            }
            _ => {}
        }
        false
    }

    fn keep_stdout(&mut self, bytes: &[u8], max: usize) {
        let k = keep(
            &mut self.stdout,
            &mut self.stdout_discarded,
            bytes,
            max,
            Some(&self.hold),
        );
        self.note(k, "STDOUT", max);
    }

    fn keep_stderr(&mut self, bytes: &[u8], max: usize) {
        let k = keep(
            &mut self.stderr,
            &mut self.stderr_discarded,
            bytes,
            max,
            Some(&self.hold),
        );
        self.note(k, "STDERR", max);
    }

    fn note(&mut self, k: Kept, stream: &str, max: usize) {
        if self.bound.is_some() {
            return;
        }
        self.bound = match k {
            Kept::All => None,
            Kept::OverBound => Some(format!(
                "the runner's bound of {} of {stream} per response",
                bounds::size(max)
            )),
            Kept::PoolFull => Some(format!(
                "the runner's bound of {} kept for all responses at once",
                bounds::size(self.hold.pool_max())
            )),
        };
    }
}

/// The barrier a case sends after the END_REQUESTs it waited for: a
/// GET_VALUES for FCGI_MPXS_CONNS (§4.1), which an application answers
/// after the records it read before it.
pub fn barrier_bytes() -> Vec<u8> {
    let mut b = Vec::new();
    let _ = fcgi_proto::encoder::Encoder::default()
        .get_values([fcgi_proto::management::MPXS_CONNS.as_bytes()], &mut b);
    b
}

/// Bytes [`Conn::send_req`] gathers before it writes, when not chopping.
pub const STREAM_WRITE: usize = 256 << 10;

/// A connection to the application.
pub struct Conn {
    /// The socket, the decoder of what comes back, the transcript tap, and
    /// the judge: a web-server state machine taught what we sent (the
    /// mirror), judging the records that come back.
    driver: Driver<WebServer>,
    out_decoder: Decoder,
    timeout: Duration,
    /// Protocol violations the judge found in the application's records,
    /// the first [`bounds::VIOLATIONS_KEPT`] of them.
    pub violations: Vec<Error>,
    /// Violations found past those kept, counted only.
    pub violations_dropped: u64,
    /// The records received, in order: the first [`bounds::RECORDS_KEPT`],
    /// while their content adds up to [`bounds::RECORD_BYTES_KEPT`] or less.
    pub received: Vec<OwnedRecord>,
    /// Offset of each record in `received` in the inbound stream.
    pub received_offsets: Vec<u64>,
    /// Records received past those kept in `received`, counted only.
    pub received_dropped: u64,
    /// Records received in all (kept or not).
    pub records_seen: u64,
    /// Records received whose length (header, content, padding) is a multiple of 8.
    pub aligned_records: usize,
    received_bytes: usize,
    bounds: Bounds,
    opened: Instant,
    deadline: Instant,
    scratch: Vec<u8>,
    closed: bool,
}

impl Conn {
    /// Opens a connection, logging it into `transcript` under `label`,
    /// with the default bounds and reads ending at the deadline of a case
    /// starting now ([`bounds::read_deadline`]).
    pub async fn open(
        addr: &Addr,
        timeout: Duration,
        transcript: &Transcript,
        label: &str,
    ) -> Result<Conn, ConnError> {
        let deadline = bounds::read_deadline(Instant::now(), timeout);
        Conn::open_bounded(
            addr,
            timeout,
            transcript,
            label,
            &Bounds::default(),
            deadline,
        )
        .await
    }

    /// Opens a connection with the given bounds; no read waits past `deadline`.
    pub async fn open_bounded(
        addr: &Addr,
        timeout: Duration,
        transcript: &Transcript,
        label: &str,
        bounds: &Bounds,
        deadline: Instant,
    ) -> Result<Conn, ConnError> {
        let opened = Instant::now();
        let stream = connect(addr, timeout)
            .await
            .map_err(|e| ConnError::Io(format!("connect to {addr}: {e}")))?;
        let judge = WebServer::new(WebServerConfig::default().with_limits(fcgi_proto::Limits {
            max_requests: 65535,
            ..fcgi_proto::Limits::default()
        }));
        Ok(Conn {
            driver: Driver::new(stream, judge).with_tap(transcript.connection(label)),
            out_decoder: Decoder::with_options(
                fcgi_proto::record::ParseOptions::default().with_strict_version(false),
                64 << 20,
            ),
            timeout,
            violations: Vec::new(),
            violations_dropped: 0,
            received: Vec::new(),
            received_offsets: Vec::new(),
            received_dropped: 0,
            records_seen: 0,
            aligned_records: 0,
            received_bytes: 0,
            bounds: bounds.clone(),
            opened,
            deadline,
            scratch: Vec::new(),
            closed: false,
        })
    }

    /// Teaches the judge what we sent, so it can tell legal answers from illegal ones.
    fn mirror(&mut self, bytes: &[u8]) {
        if self.out_decoder.push(bytes).is_err() {
            return;
        }
        // What the judge needs of each record, without copying its content.
        let mut seen = Vec::new();
        while let Ok(Some(r)) = self.out_decoder.next_record() {
            let begin = (r.record_type() == RecordType::BeginRequest).then(|| {
                fcgi_proto::application::BeginRequestBody::parse(r.content, 0)
                    .map_or((Role::Responder, false), |b| (b.role, b.keep_conn()))
            });
            seen.push((r.record_type(), r.request_id(), r.content.is_empty(), begin));
        }
        for (t, id, empty, begin) in seen {
            // Records with id 0 begin nothing the judge keeps (R-3.3-5).
            let Some(id) = RequestId::new(id) else {
                continue;
            };
            self.scratch.clear();
            let s = &mut self.scratch;
            let judge = self.driver.reader.party_mut();
            let _ = match t {
                RecordType::BeginRequest => {
                    let (role, keep) = begin.unwrap_or((Role::Responder, false));
                    judge.begin_request(id, role, keep, s)
                }
                RecordType::Params if empty => judge.end_stream(StreamType::Params, id, s),
                RecordType::Stdin if empty => judge.end_stream(StreamType::Stdin, id, s),
                RecordType::Data if empty => judge.end_stream(StreamType::Data, id, s),
                RecordType::AbortRequest => judge.abort_request(id, s),
                _ => Ok(()),
            };
        }
    }

    /// Sends bytes in one write.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        self.send_chopped(bytes, usize::MAX).await
    }

    /// Sends `req` record by record as [`Req::record_iter`] encodes them,
    /// in writes of at most `chop` bytes (as [`Conn::send_chopped`] would
    /// write `req.bytes()`), or without `chop` in writes of up to
    /// [`STREAM_WRITE`] bytes: a request smaller than that is one write, and
    /// a large body is never encoded whole.
    pub async fn send_req(&mut self, req: &Req, chop: Option<usize>) -> Result<(), ConnError> {
        let chop = chop.unwrap_or(usize::MAX).max(1);
        let mut pending = Vec::new();
        for record in req.record_iter() {
            pending.extend_from_slice(&record);
            let ready = if chop == usize::MAX {
                if pending.len() < STREAM_WRITE {
                    continue;
                }
                pending.len()
            } else {
                pending.len() / chop * chop
            };
            if ready > 0 {
                self.send_chopped(pending.get(..ready).unwrap_or_default(), chop)
                    .await?;
                pending.drain(..ready);
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        self.send_chopped(&pending, chop).await
    }

    /// Sends bytes in writes of at most `chop` bytes (Autobahn's chopsize).
    pub async fn send_chopped(&mut self, bytes: &[u8], chop: usize) -> Result<(), ConnError> {
        self.mirror(bytes);
        let timeout = self.timeout;
        let (limit, opened) = (self.deadline, self.opened);
        for chunk in bytes.chunks(chop.max(1)) {
            let w = self.driver.writer.send_raw(chunk);
            let wanted = Instant::now() + timeout;
            match tokio::time::timeout_at(wanted.min(limit), w).await {
                Err(_) if wanted > limit => {
                    return Err(ConnError::Deadline {
                        after: opened.elapsed(),
                    })
                }
                Err(_) => return Err(ConnError::Timeout),
                Ok(Err(e)) => return Err(io_error(e)),
                Ok(Ok(())) => {}
            }
        }
        Ok(())
    }

    /// The deadline no read of this connection waits past.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The next record the application sends, waiting at most `wait`
    /// and never past the connection's deadline ([`ConnError::Deadline`]).
    pub async fn next_record_within(&mut self, wait: Duration) -> Result<OwnedRecord, ConnError> {
        let wanted = Instant::now() + wait;
        let deadline = wanted.min(self.deadline);
        loop {
            match self.driver.reader.next_event() {
                Ok(Some(inbound)) => {
                    let r = &inbound.record;
                    let owned = r.to_owned();
                    let offset = r.offset;
                    if r.header.record_len() % 8 == 0 {
                        self.aligned_records += 1;
                    }
                    if let Err(e) = inbound.event {
                        if self.violations.len() < bounds::VIOLATIONS_KEPT {
                            self.violations.push(e);
                        } else {
                            self.violations_dropped += 1;
                        }
                    }
                    self.records_seen += 1;
                    let bytes = self.received_bytes.saturating_add(owned.content.len());
                    if self.received.len() < bounds::RECORDS_KEPT
                        && bytes <= bounds::RECORD_BYTES_KEPT
                    {
                        self.received_bytes = bytes;
                        self.received.push(owned.clone());
                        self.received_offsets.push(offset);
                    } else {
                        self.received_dropped += 1;
                    }
                    return Ok(owned);
                }
                Ok(None) => {}
                Err(e) => return Err(ConnError::Malformed(e)),
            }
            // Checked here too: under a flood every read is ready at
            // once, and a ready read never sees its timeout.
            if Instant::now() >= deadline {
                return Err(if wanted > self.deadline {
                    ConnError::Deadline {
                        after: self.opened.elapsed(),
                    }
                } else {
                    ConnError::Timeout
                });
            }
            if self.closed {
                return Err(match self.driver.reader.finish() {
                    Err(e) => ConnError::Malformed(e),
                    Ok(()) => ConnError::Closed,
                });
            }
            match tokio::time::timeout_at(deadline, self.driver.reader.fill()).await {
                Err(_) if wanted > self.deadline => {
                    return Err(ConnError::Deadline {
                        after: self.opened.elapsed(),
                    })
                }
                Err(_) => return Err(ConnError::Timeout),
                Ok(Err(ReadError::Io(e))) => {
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                    ) {
                        self.closed = true;
                        continue;
                    }
                    return Err(io_error(e));
                }
                Ok(Err(ReadError::Malformed(e))) => return Err(ConnError::Malformed(e)),
                Ok(Ok(0)) => self.closed = true,
                Ok(Ok(_)) => {}
            }
        }
    }

    /// The next record, waiting at most the connection's timeout.
    pub async fn next_record(&mut self) -> Result<OwnedRecord, ConnError> {
        self.next_record_within(self.timeout).await
    }

    /// Reads until every id in `ids` has its END_REQUEST, returning each
    /// id's response in the order of `ids`. Records for other ids are kept
    /// in [`Conn::received`] only. Each read waits at most the timeout,
    /// and the whole stops after [`bounds::response_budget`] or at the
    /// connection's deadline, whichever is sooner ([`ConnError::Deadline`]),
    /// however steadily records keep coming.
    /// What each response keeps is bounded ([`Response::exceeded`]).
    pub async fn responses(
        &mut self,
        ids: &[u16],
    ) -> Result<Vec<Response>, (ConnError, Vec<Response>)> {
        let started = Instant::now();
        let until = (started + bounds::response_budget(self.timeout)).min(self.deadline);
        let pool = self.bounds.pool.clone();
        let (max_out, max_err) = (self.bounds.stdout_kept, self.bounds.stderr_kept);
        let mut out: Vec<Response> = ids
            .iter()
            .map(|_| Response {
                hold: Hold::on(&pool),
                ..Response::default()
            })
            .collect();
        let mut open = ids.len();
        // Bounded: each iteration consumes one record or fails; a response
        // stream larger than this many records is cut as a timeout.
        for _ in 0..1_000_000 {
            if open == 0 {
                return Ok(out);
            }
            if Instant::now() >= until {
                let after = started.elapsed();
                return Err((ConnError::Deadline { after }, out));
            }
            let wait = self
                .timeout
                .min(until.saturating_duration_since(Instant::now()));
            let r = match self.next_record_within(wait).await {
                Ok(r) => r,
                // The response's own deadline, not a silent peer.
                Err(ConnError::Timeout) if Instant::now() >= until && wait < self.timeout => {
                    let after = started.elapsed();
                    return Err((ConnError::Deadline { after }, out));
                }
                Err(ConnError::Deadline { .. }) => {
                    let after = started.elapsed();
                    return Err((ConnError::Deadline { after }, out));
                }
                Err(e) => return Err((e, out)),
            };
            let Some(i) = ids.iter().position(|&id| id == r.request_id) else {
                continue;
            };
            let Some(resp) = out.get_mut(i) else { continue };
            if resp.end.is_some() {
                continue;
            }
            if resp.absorb(&r, max_out, max_err) {
                open -= 1;
            }
        }
        Err((ConnError::Timeout, out))
    }

    /// Reads one request's response.
    pub async fn response(&mut self, id: u16) -> Result<Response, (ConnError, Response)> {
        match self.responses(&[id]).await {
            Ok(mut v) => Ok(v.pop().unwrap_or_default()),
            Err((e, mut v)) => Err((e, v.pop().unwrap_or_default())),
        }
    }

    /// Waits up to `wait` for the application to close. `Ok(None)` when it
    /// closed, `Ok(Some(record))` when a record came instead, `Err(Timeout)` when
    /// it stayed open and silent.
    pub async fn closed_within(
        &mut self,
        wait: Duration,
    ) -> Result<Option<OwnedRecord>, ConnError> {
        match self.next_record_within(wait).await {
            Err(ConnError::Closed) => Ok(None),
            Err(ConnError::Io(_)) => Ok(None),
            Ok(r) => Ok(Some(r)),
            Err(e) => Err(e),
        }
    }

    /// Half-closes our side (no more bytes from the web server).
    pub async fn shutdown(&mut self) {
        let _ = tokio::time::timeout(self.timeout, self.driver.writer.shutdown()).await;
    }
}

fn io_error(e: std::io::Error) -> ConnError {
    match e.kind() {
        std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::BrokenPipe
        | std::io::ErrorKind::UnexpectedEof => ConnError::Closed,
        _ => ConnError::Io(e.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::bounds::Pool;
    use fcgi_proto::encoder::Encoder;
    use fcgi_proto::stream::StreamType;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// An in-process application on loopback: reads what comes, then
    /// writes `chunk` `times` times (0: until the connection breaks),
    /// `pause` apart.
    async fn peer(chunk: Vec<u8>, times: usize, pause: Duration) -> Addr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = Addr::Tcp(l.local_addr().unwrap());
        tokio::spawn(async move {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let mut n = 0;
            while times == 0 || n < times {
                if s.write_all(&chunk).await.is_err() {
                    return;
                }
                n += 1;
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
            }
            // Hold the connection open without END_REQUEST.
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        addr
    }

    fn begin(id: u16) -> Vec<u8> {
        let mut b = Vec::new();
        let enc = Encoder::default();
        let _ = enc.begin_request(id, Role::Responder, false, &mut b);
        let _ = enc.end_stream(StreamType::Params, id, &mut b);
        let _ = enc.end_stream(StreamType::Stdin, id, &mut b);
        b
    }

    fn stdout(id: u16, len: usize, n: usize) -> Vec<u8> {
        let mut w = Vec::new();
        for _ in 0..n {
            let _ = Encoder::default().record(RecordType::Stdout, id, &vec![b'x'; len], &mut w);
        }
        w
    }

    async fn conn(addr: &Addr, bounds: &Bounds, within: Duration) -> Conn {
        let t = Transcript::new();
        let deadline = Instant::now() + within;
        let mut c = Conn::open_bounded(addr, Duration::from_secs(2), &t, "test", bounds, deadline)
            .await
            .unwrap();
        c.send(&begin(1)).await.unwrap();
        c
    }

    #[tokio::test]
    async fn a_stdout_flood_is_capped_flagged_and_stopped_at_the_deadline() {
        // 1 MiB a write, forever; the runner keeps 4 MiB and stops at 1.5 s.
        let addr = peer(stdout(1, 65535, 16), 0, Duration::ZERO).await;
        let bounds = Bounds {
            stdout_kept: 4 << 20,
            ..Bounds::default()
        };
        let mut c = conn(&addr, &bounds, Duration::from_millis(1500)).await;
        let t0 = Instant::now();
        let (e, resp) = c.response(1).await.unwrap_err();
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        assert!(matches!(e, ConnError::Deadline { .. }), "{e:?}");
        assert_eq!(resp.stdout.len(), 4 << 20);
        assert!(resp.stdout_discarded > 0);
        let x = resp.exceeded().unwrap();
        assert!(x.contains("bound of 4 MiB of STDOUT per response"), "{x}");
        assert!(c.received.len() <= bounds::RECORDS_KEPT);
        assert!(c.received_bytes <= bounds::RECORD_BYTES_KEPT);
        assert!(c.received_dropped > 0);
        assert_eq!(c.records_seen, c.received.len() as u64 + c.received_dropped);
        let o = crate::app::ctx::no_end(1, &e, &resp);
        let actual = o.actual.unwrap_or_default();
        assert!(
            actual.starts_with("the application was still sending after")
                && actual.contains("no END_REQUEST")
                && actual.contains("discarded"),
            "{actual}"
        );
    }

    #[tokio::test]
    async fn a_trickle_cannot_hold_a_response_past_the_deadline() {
        // One small record every 50 ms: each read is quick, the whole is not.
        let addr = peer(stdout(1, 1, 1), 0, Duration::from_millis(50)).await;
        let mut c = conn(&addr, &Bounds::default(), Duration::from_millis(800)).await;
        let t0 = Instant::now();
        let (e, resp) = c.response(1).await.unwrap_err();
        let took = t0.elapsed();
        assert!(matches!(e, ConnError::Deadline { .. }), "{e:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
        assert!(resp.stdout_records > 3, "{}", resp.stdout_records);
    }

    #[tokio::test]
    async fn violations_after_end_request_are_counted_not_kept() {
        // END_REQUEST, then STDOUT for the ended id: a violation each.
        let mut w = Vec::new();
        let enc = Encoder::default();
        let _ = enc.end_stream(StreamType::Stdout, 1, &mut w);
        let _ = enc.end_request(
            1,
            0,
            fcgi_proto::application::ProtocolStatus::RequestComplete,
            &mut w,
        );
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let a = Addr::Tcp(l.local_addr().unwrap());
            let after = stdout(1, 10, 1000);
            tokio::spawn(async move {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(&w).await;
                while s.write_all(&after).await.is_ok() {}
            });
            a
        };
        let mut c = conn(&addr, &Bounds::default(), Duration::from_millis(1000)).await;
        let resp = c.response(1).await.unwrap();
        assert!(resp.end.is_some());
        // Read what keeps coming until the deadline: bounded in memory and time.
        let t0 = Instant::now();
        let mut n = 0u64;
        while c.next_record().await.is_ok() {
            n += 1;
        }
        assert!(t0.elapsed() < Duration::from_secs(3));
        assert!(n > 0);
        assert_eq!(c.violations.len(), bounds::VIOLATIONS_KEPT);
        assert!(c.violations_dropped > 0);
    }

    #[tokio::test]
    async fn responses_share_the_run_wide_pool() {
        let addr = peer(stdout(1, 65535, 16), 0, Duration::ZERO).await;
        let bounds = Bounds {
            pool: Pool::new(2 << 20),
            ..Bounds::default()
        };
        let mut c = conn(&addr, &bounds, Duration::from_millis(700)).await;
        let (_, resp) = c.response(1).await.unwrap_err();
        assert!(resp.stdout.len() <= 2 << 20);
        assert_eq!(bounds.pool.used(), resp.stdout.len());
        let x = resp.exceeded().unwrap();
        assert!(x.contains("kept for all responses at once"), "{x}");
        drop(resp);
        assert_eq!(bounds.pool.used(), 0);
    }
}
