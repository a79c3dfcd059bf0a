//! Wire transcripts: every byte of a case's connections, both directions,
//! rendered with the codec's annotated dump (`fcgi_proto::dump`), in one
//! time-ordered view: each record is labelled with the time since the case
//! began at which its last byte was written or read, its connection and
//! its direction, and the records of every connection and both directions
//! are interleaved in that order.
//!
//! Bounded, since a flooding peer would otherwise fill them: per case at
//! most [`bounds::TRANSCRIPT_CONNS`] connections are named, each
//! direction keeps its first [`bounds::TRANSCRIPT_BYTES_PER_DIR`] bytes,
//! the case keeps [`bounds::TRANSCRIPT_BYTES`] raw bytes in all and
//! renders at most [`bounds::TRANSCRIPT_TEXT`] characters, and times at
//! most [`bounds::TRANSCRIPT_EVENTS`] writes and reads apart. What is not
//! kept is counted (records and bytes) and said in one line.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fcgi_proto::dump::{Label, RenderOptions, Renderer};

use crate::bounds;

/// Which way bytes travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Web server to application.
    ToApp,
    /// Application to web server.
    ToServer,
}

impl Dir {
    /// The opposite direction.
    pub fn other(self) -> Dir {
        match self {
            Dir::ToApp => Dir::ToServer,
            Dir::ToServer => Dir::ToApp,
        }
    }
}

/// Finds record boundaries in a byte stream without keeping it: counts
/// headers, and remembers where the last record that fits in the kept
/// prefix ends.
#[derive(Debug, Default)]
struct Framer {
    hdr: [u8; 8],
    hdr_len: usize,
    skip: u64,
    offset: u64,
    records: u64,
}

impl Framer {
    /// Feeds bytes; calls `end(offset, records)` at each record's end.
    fn feed(&mut self, mut bytes: &[u8], mut end: impl FnMut(u64, u64)) {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len() as u64);
                self.skip -= n;
                self.offset += n;
                bytes = bytes.get(n as usize..).unwrap_or_default();
                if self.skip == 0 {
                    end(self.offset, self.records);
                }
                continue;
            }
            let Some((&b, rest)) = bytes.split_first() else {
                break;
            };
            bytes = rest;
            if let Some(slot) = self.hdr.get_mut(self.hdr_len) {
                *slot = b;
            }
            self.hdr_len += 1;
            self.offset += 1;
            if self.hdr_len == 8 {
                self.hdr_len = 0;
                self.records += 1;
                let content = u16::from_be_bytes([self.hdr[4], self.hdr[5]]);
                self.skip = u64::from(content) + u64::from(self.hdr[6]);
                if self.skip == 0 {
                    end(self.offset, self.records);
                }
            }
        }
    }
}

#[derive(Debug, Default)]
struct Side {
    kept: Vec<u8>,
    total: u64,
    framer: Framer,
    /// End of the last whole record inside `kept`, and records up to it.
    boundary: (usize, u64),
}

impl Side {
    fn record(&mut self, bytes: &[u8], room: usize) -> usize {
        let n = room
            .min(bounds::TRANSCRIPT_BYTES_PER_DIR.saturating_sub(self.kept.len()))
            .min(bytes.len());
        self.kept
            .extend_from_slice(bytes.get(..n).unwrap_or_default());
        let kept = self.kept.len() as u64;
        let boundary = &mut self.boundary;
        self.framer.feed(bytes, |end, records| {
            if end <= kept {
                *boundary = (end as usize, records);
            }
        });
        self.total = self.total.saturating_add(bytes.len() as u64);
        n
    }

    fn cut(&self) -> bool {
        self.total > self.kept.len() as u64
    }

    /// How many of the kept bytes are rendered: all of them, or up to
    /// the last whole record when the direction was cut.
    fn shown(&self) -> usize {
        match self.boundary {
            _ if !self.cut() => self.kept.len(),
            (0, _) => self.kept.len(),
            (end, _) => end,
        }
    }

    fn summary(&self, name: &str) -> String {
        format!(
            "{name} {} bytes in {} records",
            self.total, self.framer.records
        )
    }

    /// The line saying what of a cut direction is not shown, if it was cut.
    fn cut_note(&self, label: &str) -> Option<String> {
        if !self.cut() {
            return None;
        }
        let shown = if self.boundary.0 == 0 {
            0
        } else {
            self.boundary.1
        };
        Some(format!(
            "... {label}: {} more records ({} bytes) not shown",
            self.framer.records.saturating_sub(shown),
            self.total.saturating_sub(self.shown() as u64)
        ))
    }
}

#[derive(Debug, Default)]
struct Conn {
    label: String,
    to_app: Side,
    to_server: Side,
}

/// Kept bytes of one direction, written or read at one time.
#[derive(Debug, Clone, Copy)]
struct Event {
    conn: usize,
    dir: Dir,
    /// Since the transcript began.
    at: Duration,
    /// Where in the direction's kept bytes, and how many.
    start: usize,
    len: usize,
}

#[derive(Debug)]
struct Inner {
    /// When the case began: times are counted from here.
    began: Instant,
    conns: Vec<Conn>,
    /// In the order they happened; at most [`bounds::TRANSCRIPT_EVENTS`].
    events: Vec<Event>,
    /// Raw bytes kept over all connections.
    kept: usize,
    /// Connections past [`bounds::TRANSCRIPT_CONNS`], and their bytes.
    unnamed: (u64, u64),
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            began: Instant::now(),
            conns: Vec::new(),
            events: Vec::new(),
            kept: 0,
            unnamed: (0, 0),
        }
    }
}

/// A case's transcript, shared by the connections it opens.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    inner: Arc<Mutex<Inner>>,
}

/// A direction in the time-ordered view.
fn way(dir: Dir) -> &'static str {
    match dir {
        Dir::ToApp => "ws->app",
        Dir::ToServer => "app->ws",
    }
}

/// The label of a record in the time-ordered view: `+0.000120s c1 ws->app`.
fn label(at: Duration, conn: usize, dir: Dir) -> String {
    format!("+{:.6}s c{} {}", at.as_secs_f64(), conn + 1, way(dir))
}

/// One connection's handle into a transcript.
#[derive(Debug, Clone)]
pub struct ConnLog {
    t: Transcript,
    /// None past [`bounds::TRANSCRIPT_CONNS`]: bytes are counted only.
    index: Option<usize>,
}

impl Transcript {
    /// A new, empty transcript.
    pub fn new() -> Self {
        Transcript::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts logging a new connection under `label`.
    pub fn connection(&self, label: impl Into<String>) -> ConnLog {
        let mut g = self.lock();
        if g.conns.len() >= bounds::TRANSCRIPT_CONNS {
            g.unnamed.0 += 1;
            return ConnLog {
                t: self.clone(),
                index: None,
            };
        }
        g.conns.push(Conn {
            label: label.into(),
            ..Conn::default()
        });
        ConnLog {
            t: self.clone(),
            index: Some(g.conns.len() - 1),
        }
    }

    /// Renders the connections (one line each), then every record of
    /// every connection in both directions in time order, within
    /// [`bounds::TRANSCRIPT_TEXT`] characters.
    pub fn render(&self) -> String {
        let g = self.lock();
        let mut out = String::new();
        for (i, c) in g.conns.iter().enumerate() {
            let _ = writeln!(
                out,
                "== connection c{} ({}): {}; {} ==",
                i + 1,
                c.label,
                c.to_app.summary("web server -> application"),
                c.to_server.summary("application -> web server")
            );
        }
        if !g.conns.is_empty() {
            out.push_str("-- both directions in time order (since the case began) --\n");
        }
        let mut body = timeline(&g);
        for (i, c) in g.conns.iter().enumerate() {
            for (dir, side) in [(Dir::ToApp, &c.to_app), (Dir::ToServer, &c.to_server)] {
                if let Some(note) = side.cut_note(&format!("c{} {}", i + 1, way(dir))) {
                    body.push_str(&note);
                    body.push('\n');
                }
            }
        }
        let room = bounds::TRANSCRIPT_TEXT.saturating_sub(out.len() + 200);
        if body.len() > room {
            // Cut at a line's end, and say how much was left out.
            let cut = body
                .get(..room)
                .and_then(|b| b.rfind('\n'))
                .map_or(0, |n| n + 1);
            let left = body.get(cut..).map_or(0, |r| r.lines().count());
            body.truncate(cut);
            let _ = writeln!(
                body,
                "... {left} more lines not shown: the transcript is cut at {} of text",
                bounds::size(bounds::TRANSCRIPT_TEXT)
            );
        }
        out.push_str(&body);
        if g.unnamed.0 > 0 {
            let _ = writeln!(
                out,
                "... {} more connections ({} bytes) not shown",
                g.unnamed.0, g.unnamed.1
            );
        }
        out
    }
}

/// Every shown record of every direction, in the order their bytes were
/// written or read: one renderer per direction, fed event by event.
fn timeline(g: &Inner) -> String {
    let options = RenderOptions::default();
    let mut renderers: Vec<[Renderer; 2]> = g
        .conns
        .iter()
        .map(|_| [Renderer::new(options), Renderer::new(options)])
        .collect();
    let mut last = vec![[Duration::ZERO; 2]; g.conns.len()];
    let mut out = Vec::new();
    let side_of = |e: &Event| -> Option<&Side> {
        let c = g.conns.get(e.conn)?;
        Some(match e.dir {
            Dir::ToApp => &c.to_app,
            Dir::ToServer => &c.to_server,
        })
    };
    let mut order: Vec<&Event> = g.events.iter().collect();
    // Stable: events of one time keep the order they were recorded in.
    order.sort_by_key(|e| e.at);
    for e in order {
        let (Some(side), Some(r)) = (side_of(e), renderers.get_mut(e.conn)) else {
            continue;
        };
        let d = usize::from(e.dir == Dir::ToServer);
        let end = (e.start + e.len).min(side.shown());
        let Some(bytes) = side.kept.get(e.start.min(end)..end) else {
            continue;
        };
        if bytes.is_empty() {
            continue;
        }
        if let (Some(r), Some(t)) = (
            r.get_mut(d),
            last.get_mut(e.conn).and_then(|l| l.get_mut(d)),
        ) {
            *t = e.at;
            r.set_label(Label {
                text: label(e.at, e.conn, e.dir),
                json: String::new(),
            });
            // Writing to a Vec cannot fail.
            let _ = r.push(bytes, &mut out);
        }
    }
    // A record cut short at the end is said with its direction's last time.
    for (i, pair) in renderers.iter_mut().enumerate() {
        for (d, r) in pair.iter_mut().enumerate() {
            let dir = if d == 0 { Dir::ToApp } else { Dir::ToServer };
            let at = last
                .get(i)
                .and_then(|l| l.get(d))
                .copied()
                .unwrap_or_default();
            r.set_label(Label {
                text: label(at, i, dir),
                json: String::new(),
            });
            let _ = r.finish(&mut out);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl ConnLog {
    /// Records bytes sent or received, now.
    pub fn record(&self, dir: Dir, bytes: &[u8]) {
        self.record_at(dir, bytes, Instant::now());
    }

    /// Records bytes sent or received at `at` (times before the case
    /// began count as its start).
    pub fn record_at(&self, dir: Dir, bytes: &[u8], at: Instant) {
        let mut g = self.t.lock();
        let Some(i) = self.index else {
            g.unnamed.1 = g.unnamed.1.saturating_add(bytes.len() as u64);
            return;
        };
        let room = bounds::TRANSCRIPT_BYTES.saturating_sub(g.kept);
        let since = at.saturating_duration_since(g.began);
        let Some(c) = g.conns.get_mut(i) else { return };
        let side = match dir {
            Dir::ToApp => &mut c.to_app,
            Dir::ToServer => &mut c.to_server,
        };
        let start = side.kept.len();
        let n = side.record(bytes, room);
        g.kept += n;
        if n == 0 {
            return;
        }
        let full = g.events.len() >= bounds::TRANSCRIPT_EVENTS;
        // Past the bound, the bytes join this direction's last event, which
        // now ends when they came; a direction's first bytes always get an
        // event (so at most two per connection more than the bound).
        let last = full
            .then(|| {
                g.events
                    .iter_mut()
                    .rev()
                    .find(|e| e.conn == i && e.dir == dir)
            })
            .flatten();
        match last {
            Some(e) => {
                e.len += n;
                e.at = since;
            }
            None => g.events.push(Event {
                conn: i,
                dir,
                at: since,
                start,
                len: n,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fcgi_proto::encoder::Encoder;
    use fcgi_proto::record::RecordType;

    fn stdout_records(n: usize, len: usize) -> Vec<u8> {
        let mut w = Vec::new();
        for _ in 0..n {
            let _ = Encoder::default().record(RecordType::Stdout, 1, &vec![b'x'; len], &mut w);
        }
        w
    }

    #[test]
    fn small_transcripts_are_whole() {
        let t = Transcript::new();
        let c = t.connection("one");
        c.record(Dir::ToServer, &stdout_records(3, 10));
        let text = t.render();
        assert!(text.contains("3 records"), "{text}");
        assert!(!text.contains("not shown"), "{text}");
    }

    #[test]
    fn a_flood_is_cut_at_a_record_boundary_and_counted() {
        let t = Transcript::new();
        let c = t.connection("flood");
        let chunk = stdout_records(16, 1000);
        for _ in 0..1000 {
            // Odd-sized pieces, so record boundaries fall inside writes.
            for piece in chunk.chunks(333) {
                c.record(Dir::ToServer, piece);
            }
        }
        let text = t.render();
        assert!(text.len() <= bounds::TRANSCRIPT_TEXT, "{}", text.len());
        assert!(text.contains("16000 records"), "{text:.300}");
        let last = text.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("... ") && last.contains("more records"),
            "{last}"
        );
        assert!(!text.contains("ERROR"), "cut inside a record");
        let g = t.lock();
        assert!(g.kept <= bounds::TRANSCRIPT_BYTES);
    }

    #[test]
    fn both_directions_of_every_connection_are_in_time_order() {
        let t = Transcript::new();
        let t0 = t.lock().began;
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let (a, b) = (t.connection("a"), t.connection("b"));
        let rec = |ty, id| {
            let mut w = Vec::new();
            let _ = Encoder::default().record(ty, id, b"hi", &mut w);
            w
        };
        let stdin = rec(RecordType::Stdin, 1);
        // Recorded out of time order, and one record split across two
        // reads: it is shown when its last byte came.
        a.record_at(Dir::ToApp, &stdin, ms(1));
        b.record_at(Dir::ToServer, &rec(RecordType::Stderr, 2), ms(3));
        let stdout = rec(RecordType::Stdout, 1);
        let (head, tail) = stdout.split_at(5);
        a.record_at(Dir::ToServer, head, ms(2));
        a.record_at(Dir::ToServer, tail, ms(4));
        b.record_at(Dir::ToApp, &rec(RecordType::Data, 2), ms(0));
        let text = t.render();
        let order: Vec<&str> = text.lines().filter(|l| l.starts_with('+')).collect();
        assert_eq!(order.len(), 4, "{text}");
        let want = [
            ("+0.000000s c2 ws->app", "DATA"),
            ("+0.001000s c1 ws->app", "STDIN"),
            ("+0.003000s c2 app->ws", "STDERR"),
            ("+0.004000s c1 app->ws", "STDOUT"),
        ];
        for (line, (label, ty)) in order.iter().zip(want) {
            assert!(
                line.starts_with(label) && line.contains(ty),
                "{line} is not {label} {ty}:\n{text}"
            );
        }
        assert!(text.contains("== connection c1 (a): web server -> application 16 bytes in 1 records; application -> web server 16 bytes in 1 records =="), "{text}");
    }

    #[test]
    fn writes_past_the_event_bound_are_still_shown() {
        let t = Transcript::new();
        let c = t.connection("many");
        let one = stdout_records(1, 3);
        let n = bounds::TRANSCRIPT_EVENTS + 1000;
        for _ in 0..n {
            c.record(Dir::ToServer, &one);
        }
        c.record(Dir::ToApp, &one);
        assert!(t.lock().events.len() <= bounds::TRANSCRIPT_EVENTS + 2);
        let text = t.render();
        let shown = text.lines().filter(|l| l.contains(" STDOUT ")).count();
        assert_eq!(shown, n + 1, "{text:.300}");
        assert!(!text.contains("ERROR"));
    }

    #[test]
    fn connections_past_the_bound_are_counted() {
        let t = Transcript::new();
        let one = stdout_records(1, 1);
        for i in 0..bounds::TRANSCRIPT_CONNS + 5 {
            t.connection(format!("c{i}")).record(Dir::ToApp, &one);
        }
        let text = t.render();
        let line = format!("... 5 more connections ({} bytes) not shown", 5 * one.len());
        assert!(text.ends_with(&format!("{line}\n")), "{text:.200}");
    }

    #[test]
    fn the_raw_bytes_of_a_case_are_bounded() {
        let t = Transcript::new();
        let piece = stdout_records(1, 60000);
        for i in 0..40 {
            let c = t.connection(format!("c{i}"));
            for _ in 0..10 {
                c.record(Dir::ToServer, &piece);
            }
        }
        assert!(t.lock().kept <= bounds::TRANSCRIPT_BYTES);
        assert!(t.render().len() <= bounds::TRANSCRIPT_TEXT + 200);
    }
}
