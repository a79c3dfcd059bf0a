//! `fcgi-conformance dump` of a packet capture: the FastCGI connections in
//! a pcap or pcapng file (tcpdump's, Wireshark's), each TCP direction
//! reassembled and rendered by [`fcgi_proto::dump::Renderer`], both
//! directions of every connection interleaved in capture order, each record
//! labelled with its time and its direction (`127.0.0.1:41234 → 127.0.0.1:9000`).
//! docs/dump-format.md, *Captures*, describes the output.
//!
//! Layers, one file each: [`file`] (the capture formats, `pcap-parser`),
//! [`packet`] (link, IP and TCP headers, `etherparse`), [`tcp`] (reassembly).
//! This file finds the FastCGI connections and writes the dump.
//!
//! Bounds: [`MAX_CONNECTIONS`] connections tracked (FastCGI or not), of which
//! [`MAX_OPEN_FASTCGI`] FastCGI connections open at once; past either, new
//! connections are not followed and a note says how many. Out-of-order
//! bytes as [`tcp`] says; each stream's renderer as [`Renderer`] says.

pub mod file;
pub mod packet;
pub mod tcp;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::SocketAddr;

use fcgi_proto::dump::{Format, Label, RenderOptions, Renderer, Summary};
use fcgi_proto::record::VERSION_1;
use fcgi_proto::RecordType;

use crate::stdio::{self, Written};
use file::{Frame, Kind, Timestamp};
use packet::{Segment, Skip};
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

impl<W: Write> Dumper<W> {
    fn json(&self) -> bool {
        self.options.render.format != Format::Text
    }

    fn time(&self, t: Timestamp) -> String {
        seconds(t, self.first.unwrap_or(t), self.digits)
    }

    fn frame(&mut self, frame: Frame<'_>) {
        if self.error.is_some() {
            return;
        }
        self.counts.frames += 1;
        if self.first.is_none() {
            // The first frame's clock sets the times' digits for the dump.
            self.first = Some(frame.time);
            self.digits = frame.digits;
        }
        self.last = self.last.max(frame.time);
        if !self.links.contains(&frame.link) {
            self.links.push(frame.link);
        }
        match packet::segment(frame.link, frame.data) {
            Ok(seg) => {
                self.counts.tcp += 1;
                self.segment(frame.time, &seg);
            }
            Err(Skip::NotIp) => self.counts.not_ip += 1,
            Err(Skip::NotTcp) => self.counts.not_tcp += 1,
            Err(Skip::Fragment) => self.counts.fragments += 1,
            Err(Skip::Link(l)) => {
                if !self.counts.other_links.contains(&l) {
                    self.counts.other_links.push(l);
                }
            }
            Err(Skip::Malformed(why)) => {
                self.counts.malformed += 1;
                if self.counts.quoted.len() < MAX_QUOTED {
                    self.counts
                        .quoted
                        .push(format!("packet {}: {why}", self.counts.frames));
                }
            }
        }
    }

    fn segment(&mut self, time: Timestamp, seg: &Segment<'_>) {
        let key = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let slot = match self.conns.get(&key) {
            // A SYN on the ports of a closed or ignored connection opens a
            // new connection (ports are used again in long captures).
            Some(&i)
                if seg.syn
                    && self
                        .slots
                        .get(i)
                        .is_some_and(|c| c.closed() || matches!(c.state, State::Ignored)) =>
            {
                self.retire(i);
                if let Some(c) = self.slots.get_mut(i) {
                    *c = Conn::new(seg);
                }
                i
            }
            Some(&i) => i,
            None => {
                if self.slots.len() >= MAX_CONNECTIONS {
                    self.counts.untracked += 1;
                    return;
                }
                self.slots.push(Conn::new(seg));
                let i = self.slots.len() - 1;
                self.conns.insert(key, i);
                i
            }
        };
        let Some(conn) = self.slots.get_mut(slot) else {
            return;
        };
        // A connection not dumped, or done with, holds nothing: its
        // out-of-order bytes would take the allowance of the others.
        if matches!(conn.state, State::Ignored | State::Done) {
            return;
        }
        let d = usize::from(conn.ends[0] != seg.src);
        let outs = match conn.dirs.get_mut(d) {
            Some(dir) => dir.segment(seg, &mut self.budget),
            None => return,
        };
        self.handle(slot, d, time, outs);
        // A reset ends both directions.
        if seg.rst {
            let other = 1 - d;
            let outs = match self.slots.get_mut(slot).and_then(|c| c.dirs.get_mut(other)) {
                Some(dir) => dir.reset(&mut self.budget),
                None => Vec::new(),
            };
            self.handle(slot, other, time, outs);
        }
        // By port, a connection is decided on its first segment, once that
        // segment (a SYN, usually) has been taken in.
        if let Some(State::Undecided(_)) = self.slots.get(slot).map(|c| &c.state) {
            if !self.options.ports.is_empty() {
                self.decide_by_port(slot, time);
            }
        }
    }

    /// Ends the streams of a connection whose ports are used again.
    fn retire(&mut self, slot: usize) {
        let Some(conn) = self.slots.get(slot) else {
            return;
        };
        if let State::FastCgi(streams) = conn.state {
            let last = self.last;
            for s in streams {
                self.end_stream(s, "capture_end", last);
            }
            self.open_fastcgi = self.open_fastcgi.saturating_sub(1);
        }
    }

    fn decide_by_port(&mut self, slot: usize, time: Timestamp) {
        let Some(conn) = self.slots.get(slot) else {
            return;
        };
        let ports = &self.options.ports;
        let by = conn
            .ends
            .iter()
            .rev()
            .map(SocketAddr::port)
            .find(|p| ports.contains(p));
        match by {
            Some(p) => self.found(slot, FoundBy::Port(p), time),
            None => {
                if let Some(c) = self.slots.get_mut(slot) {
                    c.state = State::Ignored;
                }
                self.counts.not_fastcgi += 1;
            }
        }
    }

    /// Passes reassembled events on, as the connection's state says.
    fn handle(&mut self, slot: usize, d: usize, time: Timestamp, outs: Vec<Out>) {
        let Some(conn) = self.slots.get_mut(slot) else {
            return;
        };
        let decision = match &mut conn.state {
            State::Ignored | State::Done => return,
            State::FastCgi(streams) => {
                let s = streams.get(d).copied().unwrap_or(usize::MAX);
                for o in outs {
                    self.stream_event(s, time, o);
                }
                self.maybe_close(slot);
                return;
            }
            State::Undecided(held) => {
                for o in outs {
                    if let Out::Bytes(b) = &o {
                        if let Some(h) = conn.held.get_mut(d) {
                            *h += b.len();
                        }
                    }
                    held.push((time, d, o));
                }
                if self.options.ports.is_empty() && conn.held.get(d).copied().unwrap_or(0) >= 8 {
                    let mut first = Vec::with_capacity(8);
                    for (_, from, o) in held.iter() {
                        if let (true, Out::Bytes(b)) = (*from == d, o) {
                            let want = 8usize.saturating_sub(first.len());
                            first.extend(b.iter().take(want));
                        }
                    }
                    Some(plausible_header(&first))
                } else {
                    None
                }
            }
        };
        match decision {
            Some(Some(t)) => self.found(slot, FoundBy::Content(d, t), time),
            Some(None) => {
                conn.state = State::Ignored;
                self.counts.not_fastcgi += 1;
            }
            None if conn.closed() && self.options.ports.is_empty() => {
                conn.state = State::Ignored;
                self.counts.too_short += 1;
            }
            None => {}
        }
    }

    /// Starts dumping connection `slot`, and replays what it held.
    fn found(&mut self, slot: usize, by: FoundBy, time: Timestamp) {
        if self.open_fastcgi >= MAX_OPEN_FASTCGI {
            if let Some(c) = self.slots.get_mut(slot) {
                c.state = State::Ignored;
            }
            self.counts.untracked += 1;
            return;
        }
        let Some(conn) = self.slots.get_mut(slot) else {
            return;
        };
        self.open_fastcgi += 1;
        let number = self.found.len() + 1;
        self.found.push((slot, by));
        let first = self.streams.len();
        let ends = conn.ends;
        // The direction towards the end that was found is listed first: the
        // web server's requests, then the application's answers.
        let towards = match by {
            FoundBy::Port(p) => usize::from(ends[0].port() == p),
            FoundBy::Content(d, _) => d,
        };
        let order = [towards, 1 - towards];
        let mut ids = [0usize; 2];
        for (k, &d) in order.iter().enumerate() {
            if let Some(id) = ids.get_mut(d) {
                *id = first + k;
            }
        }
        let held = std::mem::replace(&mut conn.state, State::FastCgi(ids));
        let from_syn = conn.dirs.iter().any(Direction::from_syn);
        for &d in &order {
            let (src, dst) = match d {
                0 => (ends[0], ends[1]),
                _ => (ends[1], ends[0]),
            };
            let r = self.renderer(0);
            self.streams.push(Stream::new(number, src, dst, r));
        }
        self.announce(number, by, &order, ends, from_syn, time);
        if let State::Undecided(events) = held {
            for (t, d, o) in events {
                let s = ids.get(d).copied().unwrap_or(first);
                self.stream_event(s, t, o);
            }
        }
        self.maybe_close(slot);
    }

    /// The dump's opening, before the first connection.
    fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        let mut line = String::new();
        if self.json() {
            let _ = write!(
                line,
                "{{\n  \"schema\": \"{CAPTURE_SCHEMA}\",\n  \"format\": \"{}\",\n  \"records\": [",
                self.kind.name()
            );
        } else {
            let first = self.first.unwrap_or_default();
            let _ = writeln!(
                line,
                "capture {}, link type {}; times are seconds after the first packet ({}.{:09} Unix time)",
                self.kind.name(),
                self.links
                    .iter()
                    .map(|&l| file::link_name(l))
                    .collect::<Vec<_>>()
                    .join(", "),
                first.0.div_euclid(1_000_000_000),
                first.0.rem_euclid(1_000_000_000),
            );
        }
        self.write(line.as_bytes());
    }

    fn announce(
        &mut self,
        number: usize,
        by: FoundBy,
        order: &[usize; 2],
        ends: [SocketAddr; 2],
        from_syn: bool,
        time: Timestamp,
    ) {
        self.start();
        if self.json() {
            return;
        }
        let (a, b) = match order.first() {
            Some(0) => (ends[0], ends[1]),
            _ => (ends[1], ends[0]),
        };
        let why = match by {
            FoundBy::Port(p) => format!("port {p}"),
            FoundBy::Content(d, t) => format!(
                "content: {} sent a {} header first",
                ends.get(d).copied().unwrap_or(a),
                t.name()
            ),
        };
        let line = format!(
            "{:>11}  connection {number}: {a} → {b}, FastCGI by {why}{}\n",
            self.time(time),
            if from_syn {
                ""
            } else {
                " (the capture starts inside this connection)"
            }
        );
        self.write(line.as_bytes());
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.sink.write(bytes) {
            self.error = Some(e);
        }
    }

    /// Writes the rendered bytes in `self.buf`: as they are (text), or as
    /// members of the records array (JSON, one record a line).
    fn flush_rendered(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        if self.json() {
            let mut text = Vec::with_capacity(buf.len() + 16);
            for line in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                text.extend_from_slice(if self.json_records == 0 {
                    b"\n    "
                } else {
                    b",\n    "
                });
                text.extend_from_slice(line);
                self.json_records += 1;
            }
            self.write(&text);
        } else {
            self.write(&buf);
        }
        self.buf = buf;
        self.buf.clear();
    }

    fn label(&self, s: usize, time: Timestamp) -> Label {
        let Some(st) = self.streams.get(s) else {
            return Label::default();
        };
        let t = self.time(time);
        Label {
            text: format!("{t:>11}  {} → {}", st.src, st.dst),
            json: format!("\"stream\":{s},\"time\":{t}"),
        }
    }

    /// A renderer for a stream's bytes from `offset` on.
    fn renderer(&self, offset: u64) -> Renderer {
        let r = Renderer::new(self.options.render).starting_at(offset);
        if self.json() {
            r.records_only()
        } else {
            r
        }
    }

    fn stream_event(&mut self, s: usize, time: Timestamp, o: Out) {
        match o {
            Out::Bytes(bytes) => {
                let label = self.label(s, time);
                let fresh = self.renderer(self.streams.get(s).map_or(0, |st| st.pos));
                let json = self.json();
                let offsets = self.options.render.offsets;
                let Some(st) = self.streams.get_mut(s) else {
                    return;
                };
                if st.end.is_some() {
                    return;
                }
                let at = st.pos;
                st.pos += bytes.len() as u64;
                if st.resyncing {
                    // Only a segment that starts with a header is a safe
                    // place to decode from again.
                    match plausible_header(&bytes) {
                        Some(t) => {
                            st.resyncing = false;
                            st.renderer = Some(fresh);
                            if !json {
                                let place = if offsets {
                                    format!(" at byte {at}")
                                } else {
                                    String::new()
                                };
                                let line = format!(
                                    "{}  RESUMED{place}: a segment starts with a {} header\n",
                                    label.text,
                                    t.name()
                                );
                                self.write(line.as_bytes());
                            }
                        }
                        None => {
                            st.skipped += bytes.len() as u64;
                            return;
                        }
                    }
                }
                let Some(r) = self.streams.get_mut(s).and_then(|st| st.renderer.as_mut()) else {
                    return;
                };
                r.set_label(label);
                let mut buf = std::mem::take(&mut self.buf);
                // Writing to a Vec cannot fail.
                let _ = r.push(&bytes, &mut buf);
                self.buf = buf;
                self.flush_rendered();
            }
            Out::Gap { at, len, cause } => {
                let label = self.label(s, time);
                let Some(st) = self.streams.get_mut(s) else {
                    return;
                };
                if st.end.is_some() {
                    return;
                }
                st.gap_count += 1;
                if st.gaps.len() < MAX_GAPS_KEPT {
                    st.gaps.push((at, len, cause, time));
                }
                st.pos = at + len;
                st.resyncing = true;
                if !self.json() {
                    let place = if self.options.render.offsets {
                        format!(" at byte {at}")
                    } else {
                        String::new()
                    };
                    let line = format!(
                        "{}  GAP {len} bytes missing{place} ({}); decoding resumes at a segment that starts with a FastCGI header\n",
                        label.text,
                        cause.words()
                    );
                    self.write(line.as_bytes());
                }
                // The bytes before the gap end here: a record they cut
                // short is said now.
                self.close_renderer(s, label);
            }
            Out::Fin => self.end_stream(s, "fin", time),
            Out::Rst => self.end_stream(s, "rst", time),
        }
    }

    /// Finishes the stream's current renderer (its `ERROR` line, if any)
    /// and adds its counts to the stream's.
    fn close_renderer(&mut self, s: usize, label: Label) {
        let Some(mut r) = self.streams.get_mut(s).and_then(|st| st.renderer.take()) else {
            return;
        };
        r.set_label(label);
        let mut buf = std::mem::take(&mut self.buf);
        let summary = r.finish(&mut buf).ok();
        self.buf = buf;
        self.flush_rendered();
        if let (Some(st), Some(sum)) = (self.streams.get_mut(s), summary) {
            st.absorb(sum);
        }
    }

    /// Ends stream `s`: the renderer's last word (a record cut short),
    /// then the END line.
    fn end_stream(&mut self, s: usize, why: &'static str, time: Timestamp) {
        let label = self.label(s, time);
        match self.streams.get_mut(s) {
            Some(st) if st.end.is_none() => st.end = Some((why, time)),
            _ => return,
        }
        self.close_renderer(s, label.clone());
        if self.json() {
            return;
        }
        let Some(st) = self.streams.get(s) else {
            return;
        };
        let mut line = format!("{}  END ", label.text);
        line.push_str(match why {
            "fin" => "(FIN)",
            "rst" => "(RST)",
            _ => "(capture ends)",
        });
        if self.options.render.offsets {
            let _ = write!(line, " {} bytes,", st.pos);
        }
        let _ = write!(
            line,
            " {} record{}",
            st.records,
            if st.records == 1 { "" } else { "s" }
        );
        if st.gap_count > 0 {
            let _ = write!(
                line,
                ", {} gap{}",
                st.gap_count,
                if st.gap_count == 1 { "" } else { "s" }
            );
        }
        if st.skipped > 0 {
            let _ = write!(line, ", {} bytes not decoded", st.skipped);
        }
        line.push_str(if st.clean() {
            ", clean\n"
        } else {
            ", not clean\n"
        });
        self.write(line.as_bytes());
    }

    fn maybe_close(&mut self, slot: usize) {
        let Some(conn) = self.slots.get(slot) else {
            return;
        };
        if let State::FastCgi(streams) = conn.state {
            if streams
                .iter()
                .all(|&s| self.streams.get(s).is_some_and(|st| st.end.is_some()))
                && conn.closed()
            {
                self.open_fastcgi = self.open_fastcgi.saturating_sub(1);
                if let Some(c) = self.slots.get_mut(slot) {
                    c.state = State::Done;
                }
            }
        }
    }

    /// The end of the capture: every open direction ends, then the summary.
    fn end(mut self, seen: &file::Seen) -> Result<Outcome, CaptureError> {
        let last = self.last;
        for slot in 0..self.slots.len() {
            let outs: Vec<(usize, Vec<Out>)> = match self.slots.get_mut(slot) {
                Some(c) => (0..2)
                    .map(|d| {
                        let o = c
                            .dirs
                            .get_mut(d)
                            .map(|dir| dir.finish(&mut self.budget))
                            .unwrap_or_default();
                        (d, o)
                    })
                    .collect(),
                None => continue,
            };
            for (d, o) in outs {
                self.handle(slot, d, last, o);
            }
            if let Some(c) = self.slots.get_mut(slot) {
                if matches!(c.state, State::Undecided(_)) {
                    c.state = State::Ignored;
                    self.counts.too_short += 1;
                }
            }
        }
        for s in 0..self.streams.len() {
            self.end_stream(s, "capture_end", last);
        }
        if self.found.is_empty() {
            return Err(CaptureError::NoFastCgi(self.nothing_found(seen)));
        }
        let clean = self.streams.iter().all(Stream::clean);
        let notes = self.notes(seen);
        let mut text = String::new();
        if self.json() {
            self.trailer(&mut text, &notes, clean);
        } else {
            let unclean = self.streams.iter().filter(|s| !s.clean()).count();
            let _ = writeln!(
                text,
                "summary: {} FastCGI connection{}, {} streams, {}; {} packets ({} TCP)",
                self.found.len(),
                if self.found.len() == 1 { "" } else { "s" },
                self.streams.len(),
                if unclean == 0 {
                    "all clean".to_string()
                } else {
                    format!("{unclean} not clean")
                },
                self.counts.frames,
                self.counts.tcp
            );
            for n in &notes {
                let _ = writeln!(text, "note: {n}");
            }
        }
        self.write(text.as_bytes());
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        Ok(Outcome {
            connections: self.found.len(),
            clean,
        })
    }

    fn notes(&self, seen: &file::Seen) -> Vec<String> {
        let c = &self.counts;
        let mut notes = Vec::new();
        if let Some(d) = &seen.damaged {
            notes.push(format!(
                "reading stopped early: {d}; the packets after it are not in the dump"
            ));
        }
        notes.extend(seen.left_out.iter().take(MAX_QUOTED).cloned());
        if c.malformed > 0 {
            notes.push(format!(
                "{} packets with headers cut short or malformed were skipped ({})",
                c.malformed,
                c.quoted.join("; ")
            ));
        }
        if c.fragments > 0 {
            notes.push(format!(
                "{} IP fragments were skipped (the dump does not put datagrams together)",
                c.fragments
            ));
        }
        if !c.other_links.is_empty() {
            notes.push(format!(
                "packets of link type {} were skipped (the dump decodes Ethernet, Linux cooked SLL/SLL2, raw IP and loopback)",
                c.other_links
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if c.untracked > 0 {
            notes.push(format!(
                "{} packets or connections were not followed: more than {MAX_CONNECTIONS} connections, or {MAX_OPEN_FASTCGI} FastCGI connections open at once",
                c.untracked
            ));
        }
        notes
    }

    fn nothing_found(&self, seen: &file::Seen) -> String {
        let c = &self.counts;
        let mut s = format!(
            "no FastCGI connection in this {} capture ({} packets, {} TCP segments",
            self.kind.name(),
            c.frames,
            c.tcp
        );
        if c.not_fastcgi > 0 {
            let _ = write!(
                s,
                "; {} connections whose first bytes are not a FastCGI header",
                c.not_fastcgi
            );
        }
        if c.malformed > 0 {
            let _ = write!(
                s,
                "; {} packets whose headers did not decode ({})",
                c.malformed,
                c.quoted.join("; ")
            );
        }
        if c.too_short > 0 {
            let _ = write!(
                s,
                "; {} connections with under 8 bytes in either direction",
                c.too_short
            );
        }
        if !c.other_links.is_empty() {
            let _ = write!(
                s,
                "; link types not decoded: {}",
                c.other_links
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if let Some(d) = &seen.damaged {
            let _ = write!(s, "; reading stopped early: {d}");
        }
        s.push(')');
        if self.options.ports.is_empty() {
            s.push_str("; if the capture starts inside the connections, name the application's port with --port N");
        } else {
            s.push_str("; check the --port numbers, or leave them out to find FastCGI by content");
        }
        s
    }

    fn trailer(&self, text: &mut String, notes: &[String], clean: bool) {
        use serde_json::{json, Value};
        let offsets = self.options.render.offsets;
        text.push_str(if self.json_records == 0 {
            "],\n"
        } else {
            "\n  ],\n"
        });
        let connections: Vec<Value> = self
            .found
            .iter()
            .enumerate()
            .map(|(i, (slot, by))| {
                let conn = self.slots.get(*slot);
                let streams: Vec<usize> = self
                    .streams
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.connection == i + 1)
                    .map(|(k, _)| k)
                    .collect();
                let (found_by, port, first_type) = match by {
                    FoundBy::Port(p) => ("port", Some(*p), None),
                    FoundBy::Content(_, t) => ("content", None, Some(t.name())),
                };
                json!({
                    "connection": i + 1,
                    "streams": streams,
                    "found_by": found_by,
                    "port": port,
                    "first_record_type": first_type,
                    "from_syn": conn.is_some_and(|c| c.dirs.iter().any(Direction::from_syn)),
                })
            })
            .collect();
        let streams: Vec<Value> = self
            .streams
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let error = s.error.as_ref().map(|e| {
                    json!({
                        "offset": offsets.then(|| e.offset()),
                        "section": e.section().to_string(),
                        "requirement": e.requirement().map(|r| r.id()),
                        "message": e.kind().to_string(),
                    })
                });
                let gaps: Vec<Value> = s
                    .gaps
                    .iter()
                    .map(|(at, len, cause, t)| {
                        json!({
                            "offset": offsets.then_some(*at),
                            "length": len,
                            "cause": cause.code(),
                            "time": Value::from(self.time(*t).parse::<f64>().unwrap_or(0.0)),
                        })
                    })
                    .collect();
                json!({
                    "stream": i,
                    "connection": s.connection,
                    "source": s.src.to_string(),
                    "destination": s.dst.to_string(),
                    "length": s.pos,
                    "decoded": s.decoded,
                    "records": s.records,
                    "error": error,
                    "gaps": gaps,
                    "gap_count": s.gap_count,
                    "end": s.end.map(|(why, _)| why),
                    "clean": s.clean(),
                })
            })
            .collect();
        let first = self.first.unwrap_or_default();
        let line = |v: &Vec<Value>| {
            v.iter()
                .map(|x| format!("    {x}"))
                .collect::<Vec<_>>()
                .join(",\n")
        };
        let _ = write!(
            text,
            "  \"connections\": [\n{}\n  ],\n  \"streams\": [\n{}\n  ],\n  \"packets\": {},\n  \"tcp_segments\": {},\n  \"first_packet_time\": {}.{:09},\n  \"link_types\": {},\n  \"notes\": {},\n  \"clean\": {clean}\n}}\n",
            line(&connections),
            line(&streams),
            self.counts.frames,
            self.counts.tcp,
            first.0.div_euclid(1_000_000_000),
            first.0.rem_euclid(1_000_000_000),
            json!(self.links),
            json!(notes),
        );
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
