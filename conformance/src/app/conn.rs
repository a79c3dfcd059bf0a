//! One connection from the runner (playing the web server) to the
//! application under test: bytes out, records in, every wait bounded, and
//! every record the application sends judged by the codec's web-server
//! state machine (`fcgi_proto::server::Connection`).

use std::time::Duration;

use fcgi_proto::application::EndRequestBody;
use fcgi_proto::decoder::Decoder;
use fcgi_proto::record::RecordType;
use fcgi_proto::role::Role;
use fcgi_proto::server;
use fcgi_proto::{Error, OwnedRecord};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::target::{connect, Addr, Stream};
use crate::transcript::{ConnLog, Dir, Transcript};

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
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnError::Timeout => f.write_str("no answer within the timeout"),
            ConnError::Closed => f.write_str("the application closed the connection"),
            ConnError::Malformed(e) => write!(f, "malformed bytes from the application: {e}"),
            ConnError::Io(e) => write!(f, "socket error: {e}"),
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
}

/// A connection to the application.
pub struct Conn {
    stream: Stream,
    decoder: Decoder,
    out_decoder: Decoder,
    timeout: Duration,
    log: ConnLog,
    /// Mirror of what we sent, judging what comes back.
    judge: server::Connection,
    /// Protocol violations the judge found in the application's records.
    pub violations: Vec<Error>,
    /// Every record received, in order.
    pub received: Vec<OwnedRecord>,
    /// Offset of each received record's header in the inbound stream.
    pub received_offsets: Vec<u64>,
    /// Records received whose length (header, content, padding) is a multiple of 8.
    pub aligned_records: usize,
    scratch: Vec<u8>,
    closed: bool,
}

impl Conn {
    /// Opens a connection, logging it into `transcript` under `label`.
    pub async fn open(
        addr: &Addr,
        timeout: Duration,
        transcript: &Transcript,
        label: &str,
    ) -> Result<Conn, ConnError> {
        let stream = connect(addr, timeout)
            .await
            .map_err(|e| ConnError::Io(format!("connect to {addr}: {e}")))?;
        Ok(Conn {
            stream,
            decoder: Decoder::new(),
            out_decoder: Decoder::with_options(
                fcgi_proto::record::ParseOptions {
                    strict_version: false,
                },
                64 << 20,
            ),
            timeout,
            log: transcript.connection(label),
            judge: server::Connection::new(server::Config {
                limits: fcgi_proto::Limits {
                    max_requests: 65535,
                    ..fcgi_proto::Limits::default()
                },
                ..server::Config::default()
            }),
            violations: Vec::new(),
            received: Vec::new(),
            received_offsets: Vec::new(),
            aligned_records: 0,
            scratch: Vec::new(),
            closed: false,
        })
    }

    /// Teaches the judge what we sent, so it can tell legal answers from illegal ones.
    fn mirror(&mut self, bytes: &[u8]) {
        if self.out_decoder.push(bytes).is_err() {
            return;
        }
        let mut seen = Vec::new();
        while let Ok(Some(r)) = self.out_decoder.next_record() {
            seen.push((r.record_type(), r.request_id(), r.content.to_vec()));
        }
        for (t, id, content) in seen {
            self.scratch.clear();
            let s = &mut self.scratch;
            let _ = match t {
                RecordType::BeginRequest => {
                    let b = fcgi_proto::application::BeginRequestBody::parse(&content, 0);
                    let (role, keep) =
                        b.map_or((Role::Responder, false), |b| (b.role, b.keep_conn()));
                    self.judge.begin_request(id, role, keep, s)
                }
                RecordType::Params if content.is_empty() => self.judge.end_params(id, s),
                RecordType::Stdin if content.is_empty() => self.judge.end_stdin(id, s),
                RecordType::Data if content.is_empty() => self.judge.end_data(id, s),
                RecordType::AbortRequest => self.judge.abort_request(id, s),
                _ => Ok(()),
            };
        }
    }

    /// Sends bytes in one write.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        self.send_chopped(bytes, usize::MAX).await
    }

    /// Sends bytes in writes of at most `chop` bytes (Autobahn's chopsize).
    pub async fn send_chopped(&mut self, bytes: &[u8], chop: usize) -> Result<(), ConnError> {
        self.log.record(Dir::ToApp, bytes);
        self.mirror(bytes);
        let timeout = self.timeout;
        for chunk in bytes.chunks(chop.max(1)) {
            let w = async {
                self.stream.write_all(chunk).await?;
                self.stream.flush().await
            };
            match tokio::time::timeout(timeout, w).await {
                Err(_) => return Err(ConnError::Timeout),
                Ok(Err(e)) => return Err(io_error(e)),
                Ok(Ok(())) => {}
            }
        }
        Ok(())
    }

    /// The next record the application sends, waiting at most `wait`.
    pub async fn next_record_within(&mut self, wait: Duration) -> Result<OwnedRecord, ConnError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match self.decoder.next_record() {
                Ok(Some(r)) => {
                    let owned = r.to_owned();
                    let offset = r.offset;
                    if r.header.record_len() % 8 == 0 {
                        self.aligned_records += 1;
                    }
                    if let Err(e) = self.judge.handle(&r) {
                        self.violations.push(e);
                    }
                    self.received.push(owned.clone());
                    self.received_offsets.push(offset);
                    return Ok(owned);
                }
                Ok(None) => {}
                Err(e) => return Err(ConnError::Malformed(e)),
            }
            if self.closed {
                return Err(match self.decoder.finish() {
                    Err(e) => ConnError::Malformed(e),
                    Ok(()) => ConnError::Closed,
                });
            }
            let mut buf = [0u8; 16 * 1024];
            let n = match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
                Err(_) => return Err(ConnError::Timeout),
                Ok(Err(e)) => {
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                    ) {
                        self.closed = true;
                        continue;
                    }
                    return Err(io_error(e));
                }
                Ok(Ok(n)) => n,
            };
            if n == 0 {
                self.closed = true;
                continue;
            }
            let got = buf.get(..n).unwrap_or_default();
            self.log.record(Dir::ToServer, got);
            if let Err(e) = self.decoder.push(got) {
                return Err(ConnError::Malformed(e));
            }
        }
    }

    /// The next record, waiting at most the connection's timeout.
    pub async fn next_record(&mut self) -> Result<OwnedRecord, ConnError> {
        self.next_record_within(self.timeout).await
    }

    /// Reads until every id in `ids` has its END_REQUEST, returning each
    /// id's response in the order of `ids`. Records for other ids are kept
    /// in [`Conn::received`] only.
    pub async fn responses(
        &mut self,
        ids: &[u16],
    ) -> Result<Vec<Response>, (ConnError, Vec<Response>)> {
        let mut out: Vec<Response> = ids.iter().map(|_| Response::default()).collect();
        let mut open = ids.len();
        // Bounded: each iteration consumes one record or fails; a response
        // stream larger than this many records is cut as a timeout.
        for _ in 0..1_000_000 {
            if open == 0 {
                return Ok(out);
            }
            let r = match self.next_record().await {
                Ok(r) => r,
                Err(e) => return Err((e, out)),
            };
            let Some(i) = ids.iter().position(|&id| id == r.request_id) else {
                continue;
            };
            let Some(resp) = out.get_mut(i) else { continue };
            if resp.end.is_some() {
                continue;
            }
            match r.record_type {
                RecordType::Stdout => {
                    resp.stdout_records += 1;
                    if r.content.is_empty() {
                        resp.stdout_ended = true;
                    } else {
                        resp.stdout.extend_from_slice(&r.content);
                    }
                }
                RecordType::Stderr => {
                    if r.content.is_empty() {
                        resp.stderr_ended = true;
                    } else {
                        resp.stderr.extend_from_slice(&r.content);
                    }
                }
                RecordType::EndRequest => {
                    resp.end = Some(EndRequestBody::parse(&r.content, 0).unwrap_or(
                        EndRequestBody {
                            app_status: u32::MAX,
                            protocol_status: fcgi_proto::application::ProtocolStatus::Unknown(255),
                        },
                    ));
                    open -= 1;
                }
                _ => {}
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
        let _ = tokio::time::timeout(self.timeout, self.stream.shutdown()).await;
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
