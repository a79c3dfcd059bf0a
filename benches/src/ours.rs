//! The work each bench times, done with `fcgi-proto`.
//!
//! Each function returns a small summary (counts and byte totals) that
//! depends on every byte it looked at, so the optimiser cannot drop the
//! work, and so that tests can check ours and the peers did the same work.

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::connection::{
    Application, ApplicationEvent as Event, RequestId, WebServer, WebServerEvent,
};
use fcgi_proto::decoder::Decoder;
use fcgi_proto::encoder::Encoder;
use fcgi_proto::name_value;
use fcgi_proto::record::{records, Record};
use fcgi_proto::role::Role;
use fcgi_proto::stream::StreamType;
use fcgi_proto::{Error, UsageError};

/// Pairs seen and name plus value bytes seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairSum {
    /// Pairs decoded.
    pub pairs: usize,
    /// Name bytes plus value bytes.
    pub bytes: usize,
    /// Sum of the first byte of every name, so the slices are touched.
    pub check: u64,
}

impl PairSum {
    /// Adds one pair.
    #[inline]
    pub fn add(&mut self, name: &[u8], value: &[u8]) {
        self.pairs += 1;
        self.bytes += name.len() + value.len();
        self.check = self
            .check
            .wrapping_add(u64::from(name.first().copied().unwrap_or(0)));
    }
}

/// Why an operation that both reads and writes failed: the peer's bytes
/// (an [`Error`] with its offset) or our own write ([`UsageError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The bytes read.
    Peer(Error),
    /// A write the codec refused.
    Usage(UsageError),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Peer(e)
    }
}

impl From<UsageError> for Failure {
    fn from(e: UsageError) -> Self {
        Failure::Usage(e)
    }
}

impl core::fmt::Display for Failure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Failure::Peer(e) => e.fmt(f),
            Failure::Usage(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Failure {}

/// Decodes a whole name-value block (§3.4) with [`name_value::pairs`]:
/// zero-copy, one borrowed `(name, value)` per pair.
pub fn decode_params(block: &[u8]) -> Result<PairSum, Error> {
    let mut sum = PairSum::default();
    for p in name_value::pairs(block) {
        let (n, v) = p?;
        sum.add(n, v);
    }
    Ok(sum)
}

/// Encodes pairs into `out` (cleared first), shortest length forms (§3.4).
pub fn encode_params(pairs: &[(&[u8], &[u8])], out: &mut Vec<u8>) -> Result<usize, UsageError> {
    out.clear();
    for (n, v) in pairs {
        name_value::encode_pair(n, v, out)?;
    }
    Ok(out.len())
}

/// Records seen and content bytes seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordSum {
    /// Records decoded.
    pub records: usize,
    /// Content bytes.
    pub content: usize,
    /// Sum of the last content byte of every record, so the slices are touched.
    pub check: u64,
}

impl RecordSum {
    #[inline]
    fn add(&mut self, r: &Record<'_>) {
        self.records += 1;
        self.content += r.content.len();
        self.check = self
            .check
            .wrapping_add(u64::from(r.content.last().copied().unwrap_or(0)));
    }
}

/// Decodes a whole record stream held in memory (§3.3) with [`records`]:
/// zero-copy, each record borrows the input.
pub fn decode_records(wire: &[u8]) -> Result<RecordSum, Error> {
    let mut sum = RecordSum::default();
    for r in records(wire) {
        sum.add(&r?);
    }
    Ok(sum)
}

/// Decodes a record stream fed to a [`Decoder`] `chunk` bytes at a time, as
/// reads from a socket would deliver it. The decoder is the caller's, so a
/// long-lived connection's buffer is reused as it would be in a server.
pub fn decode_records_chunked(
    wire: &[u8],
    chunk: usize,
    dec: &mut Decoder,
) -> Result<RecordSum, Error> {
    let mut sum = RecordSum::default();
    for piece in wire.chunks(chunk.max(1)) {
        dec.push(piece)?;
        while let Some(r) = dec.next_record()? {
            sum.add(&r);
        }
    }
    dec.finish()?;
    Ok(sum)
}

/// Encodes `data` as STDOUT records of request 1 (§5.3) with `enc`, ended
/// by the empty record, into `out` (cleared first).
pub fn encode_records(enc: &Encoder, data: &[u8], out: &mut Vec<u8>) -> Result<usize, UsageError> {
    out.clear();
    enc.stream(StreamType::Stdout, 1, data, out)?;
    enc.end_stream(StreamType::Stdout, 1, out)?;
    Ok(out.len())
}

/// What the application saw of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestSum {
    /// Request id of BEGIN_REQUEST.
    pub request_id: u16,
    /// Params pairs decoded.
    pub params: PairSum,
    /// STDIN bytes.
    pub stdin: usize,
    /// Bytes written back (0 when only receiving).
    pub written: usize,
}

fn on_event(ev: Event<'_>, sum: &mut RequestSum) -> Result<bool, Error> {
    match ev {
        Event::BeginRequest { request_id, .. } => sum.request_id = request_id.get(),
        Event::ParamsEnd { block, .. } => sum.params = decode_params(&block)?,
        Event::Stdin { data, .. } => sum.stdin += data.len(),
        Event::StdinEnd { .. } => return Ok(true),
        _ => {}
    }
    Ok(false)
}

/// Receives one whole request (BEGIN_REQUEST, PARAMS, STDIN, §5.1-§5.3)
/// through the application-side state machine [`Application`], the
/// bytes arriving through a [`Decoder`] as from a socket; decodes every
/// param. Stops at the end of STDIN, when a Responder has all its input.
pub fn receive_request(wire: &[u8], conn: &mut Application) -> Result<RequestSum, Error> {
    let mut dec = Decoder::new();
    let mut sum = RequestSum::default();
    dec.push(wire)?;
    while let Some(r) = dec.next_record()? {
        if on_event(conn.handle(&r)?, &mut sum)? {
            break;
        }
    }
    Ok(sum)
}

/// As [`receive_request`], but the records are parsed in place from the
/// whole buffer with [`records`] (no copy into a decoder buffer).
pub fn receive_request_in_place(wire: &[u8], conn: &mut Application) -> Result<RequestSum, Error> {
    let mut sum = RequestSum::default();
    for r in records(wire) {
        if on_event(conn.handle(&r?)?, &mut sum)? {
            break;
        }
    }
    Ok(sum)
}

/// One whole request through the application side (§5, §6.2): receive it
/// as [`receive_request`] does, then write STDOUT with `body`, the empty
/// STDOUT record and END_REQUEST (§5.5) into `out` (cleared first).
pub fn serve_request(wire: &[u8], body: &[u8], out: &mut Vec<u8>) -> Result<RequestSum, Failure> {
    let mut conn = Application::default();
    let mut sum = receive_request(wire, &mut conn)?;
    out.clear();
    // A request that never began has nothing to answer: id 1 is then
    // inactive and the writes below fail as they should.
    let id = RequestId::new(sum.request_id).unwrap_or(RequestId::MIN);
    conn.stream(StreamType::Stdout, id, body, out)?;
    conn.end_stream(StreamType::Stdout, id, out)?;
    conn.end_request(id, 0, ProtocolStatus::RequestComplete, out)?;
    sum.written = out.len();
    Ok(sum)
}

/// The web server's side of one request (§5, §6.2), as fastcgi-client's
/// `execute_once` does it: write BEGIN_REQUEST, the PARAMS stream from
/// `pairs`, the empty STDIN into `out` (cleared first); then read the
/// application's `response` records and gather STDOUT into `stdout`.
/// Returns the STDOUT length.
pub fn client_request(
    pairs: &[(&[u8], &[u8])],
    response: &[u8],
    out: &mut Vec<u8>,
    stdout: &mut Vec<u8>,
) -> Result<usize, Failure> {
    let mut conn = WebServer::default();
    out.clear();
    stdout.clear();
    let id = RequestId::MIN;
    conn.begin_request(id, Role::Responder, false, out)?;
    conn.params(id, pairs.iter().copied(), out)?;
    conn.end_stream(StreamType::Params, id, out)?;
    conn.end_stream(StreamType::Stdin, id, out)?;
    for r in records(response) {
        match conn.handle(&r?)? {
            WebServerEvent::Stdout { data, .. } => stdout.extend_from_slice(&data),
            WebServerEvent::EndRequest { .. } => break,
            _ => {}
        }
    }
    Ok(stdout.len())
}
