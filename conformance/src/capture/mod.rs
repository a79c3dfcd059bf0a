//! `fcgi-conformance dump` of a packet capture: the FastCGI connections in
//! a pcap or pcapng file (tcpdump's, Wireshark's), each TCP direction
//! reassembled and rendered by [`fcgi_proto::dump::Renderer`], both
//! directions of every connection interleaved in capture order, each record
//! labelled with its time and its direction (`127.0.0.1:41234 → 127.0.0.1:9000`).
//! docs/dump-format.md, *Captures*, describes the output.
//!
//! Layers, one file each: [`file`] (the capture formats, `pcap-parser`),
//! [`packet`] (link, IP and TCP headers, `etherparse`), [`tcp`] (reassembly);
//! `connection` follows the TCP connections and finds the FastCGI ones,
//! `output` writes the dump. This file holds their state and [`dump`].
//!
//! Bounds: [`MAX_CONNECTIONS`] connections tracked (FastCGI or not), of which
//! [`MAX_OPEN_FASTCGI`] FastCGI connections open at once; past either, new
//! connections are not followed and a note says how many. Out-of-order
//! bytes as [`tcp`] says; each stream's renderer as [`Renderer`] says.

mod connection;
pub mod file;
mod output;
pub mod packet;
pub mod tcp;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::SocketAddr;

use fcgi_proto::dump::{RenderOptions, Renderer, Summary};
use fcgi_proto::record::VERSION_1;
use fcgi_proto::RecordType;

use crate::stdio::{self, Written};
use file::{Kind, Timestamp};
use packet::Segment;
use tcp::{Budget, Direction, GapCause, Out};

/// Schema name of the JSON dump of a capture.
pub const CAPTURE_SCHEMA: &str = "fcgi-dump-capture/1";

/// TCP connections tracked at once, FastCGI or not (closed ones included,
/// so that late retransmissions are not taken for new connections).
pub const MAX_CONNECTIONS: usize = 65_536;

/// FastCGI connections whose streams are being rendered at once.
pub const MAX_OPEN_FASTCGI: usize = 1024;

/// Packet problems quoted in the notes, the rest only counted.
const MAX_QUOTED: usize = 5;

/// How to dump a capture.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Text or JSON, with or without offsets.
    pub render: RenderOptions,
    /// Ports whose connections are FastCGI (`--port`); when empty, a
    /// connection is FastCGI when its first bytes are a FastCGI header.
    pub ports: Vec<u16>,
}

/// What the dump of a capture found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// FastCGI connections dumped.
    pub connections: usize,
    /// Whether every stream framed cleanly with no byte missing.
    pub clean: bool,
}

/// Why a capture could not be dumped.
#[derive(Debug)]
pub enum CaptureError {
    /// The file is a capture, but holds no FastCGI connection: the words
    /// say what it holds and what to try.
    NoFastCgi(String),
    /// The capture's header is not valid, or the file cannot be read.
    File(String),
    /// Standard output failed other than by its reader leaving.
    Write(std::io::Error),
}

/// The record type when `bytes` start with a plausible FastCGI header:
/// version 1, a type of the spec (1..=11), lengths the type allows (8 for
/// BEGIN_REQUEST, END_REQUEST and UNKNOWN_TYPE bodies, 0 for
/// ABORT_REQUEST), and the reserved byte 0.
pub fn plausible_header(bytes: &[u8]) -> Option<RecordType> {
    let h: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    let [version, code, _, _, len_hi, len_lo, _, reserved] = h;
    let t = RecordType::from_u8(code);
    let len = u16::from_be_bytes([len_hi, len_lo]);
    let sane = match t {
        RecordType::Unknown(_) => false,
        RecordType::BeginRequest | RecordType::EndRequest | RecordType::UnknownType => len == 8,
        RecordType::AbortRequest => len == 0,
        _ => true,
    };
    (version == VERSION_1 && reserved == 0 && sane).then_some(t)
}

/// Standard output, which may leave early: the rest is then dropped, and
/// decoding goes on so that the outcome covers the whole capture.
struct Sink<W: Write> {
    out: W,
    gone: bool,
}

impl<W: Write> Sink<W> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), CaptureError> {
        if self.gone || bytes.is_empty() {
            return Ok(());
        }
        match stdio::write_bytes_to(&mut self.out, bytes) {
            Ok(Written::All) => Ok(()),
            Ok(Written::ReaderGone) => {
                self.gone = true;
                Ok(())
            }
            Err(e) => Err(CaptureError::Write(e)),
        }
    }
}

/// How a connection came to be dumped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FoundBy {
    Port(u16),
    /// The first bytes of this end's direction were a header of this type.
    Content(usize, RecordType),
}

#[derive(Debug)]
enum State {
    /// No direction has 8 bytes yet: its events are held, with their time.
    Undecided(Vec<(Timestamp, usize, Out)>),
    /// Not FastCGI (or past the bounds): its packets are dropped.
    Ignored,
    /// Dumped: the stream number of each direction.
    FastCgi([usize; 2]),
    /// Dumped, and both streams have ended.
    Done,
}

#[derive(Debug)]
struct Conn {
    /// `ends[0]` sent the first segment seen; direction `d` is from `ends[d]`.
    ends: [SocketAddr; 2],
    dirs: [Direction; 2],
    /// In-order bytes held per direction while undecided (under 8 but for
    /// the segment that decides).
    held: [usize; 2],
    state: State,
}

impl Conn {
    fn new(seg: &Segment<'_>) -> Conn {
        Conn {
            ends: [seg.src, seg.dst],
            dirs: [Direction::default(), Direction::default()],
            held: [0, 0],
            state: State::Undecided(Vec::new()),
        }
    }

    fn closed(&self) -> bool {
        matches!(self.state, State::Done) || self.dirs.iter().all(Direction::is_done)
    }
}

/// One direction of a FastCGI connection, as dumped.
struct Stream {
    connection: usize,
    src: SocketAddr,
    dst: SocketAddr,
    /// The renderer of the bytes since the start or the last gap; none
    /// while waiting for a record header after a gap, and once ended.
    renderer: Option<Renderer>,
    /// Offset of the direction's next byte (gaps counted).
    pos: u64,
    /// After a gap: waiting for a segment that starts with a plausible
    /// FastCGI header to decode from again.
    resyncing: bool,
    /// Totals over the renderers the stream had.
    records: u64,
    decoded: u64,
    /// Bytes after a gap that were not decoded (no header to start from).
    skipped: u64,
    /// The first framing error of any of its renderers.
    error: Option<fcgi_proto::Error>,
    /// Whether every renderer's bytes were clean.
    records_clean: bool,
    /// The first [`MAX_GAPS_KEPT`] gaps, and how many there were.
    gaps: Vec<(u64, u64, GapCause, Timestamp)>,
    gap_count: u64,
    end: Option<(&'static str, Timestamp)>,
}

/// Gaps of one stream listed in the JSON dump (all are counted).
const MAX_GAPS_KEPT: usize = 64;

impl Stream {
    fn new(connection: usize, src: SocketAddr, dst: SocketAddr, renderer: Renderer) -> Self {
        Stream {
            connection,
            src,
            dst,
            renderer: Some(renderer),
            pos: 0,
            resyncing: false,
            records: 0,
            decoded: 0,
            skipped: 0,
            error: None,
            records_clean: true,
            gaps: Vec::new(),
            gap_count: 0,
            end: None,
        }
    }

    fn clean(&self) -> bool {
        self.gap_count == 0 && self.records_clean
    }

    fn absorb(&mut self, s: Summary) {
        self.records += s.records;
        self.decoded += s.len;
        self.records_clean &= s.is_clean();
        if self.error.is_none() {
            self.error = s.error;
        }
    }
}

/// Counts of what the packets were, for the summary and the notes.
#[derive(Debug, Default)]
struct Counts {
    frames: u64,
    tcp: u64,
    not_ip: u64,
    not_tcp: u64,
    fragments: u64,
    malformed: u64,
    quoted: Vec<String>,
    other_links: Vec<i32>,
    untracked: u64,
    too_short: u64,
    not_fastcgi: u64,
}

struct Dumper<W: Write> {
    options: Options,
    kind: Kind,
    sink: Sink<W>,
    conns: HashMap<(SocketAddr, SocketAddr), usize>,
    slots: Vec<Conn>,
    budget: Budget,
    streams: Vec<Stream>,
    /// FastCGI connections (numbered from 1 in the dump).
    found: Vec<(usize, FoundBy)>,
    open_fastcgi: usize,
    first: Option<Timestamp>,
    last: Timestamp,
    digits: u8,
    links: Vec<i32>,
    started: bool,
    json_records: u64,
    counts: Counts,
    /// Rendered bytes of the current push, reused.
    buf: Vec<u8>,
    error: Option<CaptureError>,
}

/// Dumps the capture of `kind` read from `input` to `out`.
pub fn dump(
    kind: Kind,
    input: impl Read,
    options: &Options,
    out: impl Write,
) -> Result<Outcome, CaptureError> {
    let mut d = Dumper {
        options: options.clone(),
        kind,
        sink: Sink { out, gone: false },
        conns: HashMap::new(),
        slots: Vec::new(),
        budget: Budget::default(),
        streams: Vec::new(),
        found: Vec::new(),
        open_fastcgi: 0,
        first: None,
        last: Timestamp::default(),
        digits: 6,
        links: Vec::new(),
        started: false,
        json_records: 0,
        counts: Counts::default(),
        buf: Vec::new(),
        error: None,
    };
    let seen = file::read(kind, input, |frame| d.frame(frame)).map_err(CaptureError::File)?;
    if let Some(e) = d.error.take() {
        return Err(e);
    }
    d.end(&seen)
}

/// `t` as seconds from `first`, with `digits` decimals.
fn seconds(t: Timestamp, first: Timestamp, digits: u8) -> String {
    let d = i128::from(t.0) - i128::from(first.0);
    let sign = if d < 0 { "-" } else { "" };
    let d = d.unsigned_abs();
    let (s, ns) = (d / 1_000_000_000, d % 1_000_000_000);
    if digits >= 9 {
        format!("{sign}{s}.{ns:09}")
    } else {
        format!("{sign}{s}.{:06}", ns / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plausible_header_is_version_1_a_known_type_and_sane_lengths() {
        assert_eq!(
            plausible_header(&[1, 1, 0, 1, 0, 8, 0, 0]),
            Some(RecordType::BeginRequest)
        );
        assert_eq!(
            plausible_header(&[1, 9, 0, 0, 0, 20, 4, 0, 1]),
            Some(RecordType::GetValues)
        );
        // HTTP, a BEGIN_REQUEST of the wrong length, an unknown type, a
        // reserved byte set, too short.
        assert_eq!(plausible_header(b"GET / HTTP/1.1"), None);
        assert_eq!(plausible_header(&[1, 1, 0, 1, 0, 9, 0, 0]), None);
        assert_eq!(plausible_header(&[1, 12, 0, 1, 0, 0, 0, 0]), None);
        assert_eq!(plausible_header(&[1, 6, 0, 1, 0, 0, 0, 1]), None);
        assert_eq!(plausible_header(&[1, 6, 0, 1]), None);
    }

    #[test]
    fn times_are_seconds_after_the_first_packet() {
        let t0 = Timestamp(1_000_000_000_123_456_789);
        assert_eq!(seconds(Timestamp(t0.0 + 1_500_000), t0, 6), "0.001500");
        assert_eq!(
            seconds(Timestamp(t0.0 + 2_000_000_007), t0, 9),
            "2.000000007"
        );
        assert_eq!(seconds(Timestamp(t0.0 - 1000), t0, 6), "-0.000001");
    }
}
