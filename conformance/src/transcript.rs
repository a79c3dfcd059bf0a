//! Wire transcripts: every byte of a case's connections, both directions,
//! rendered with the codec's annotated dump (`fcgi_proto::dump`).
//!
//! Bounded, since a flooding peer would otherwise fill them: per case at
//! most [`bounds::TRANSCRIPT_CONNS`] connections are named, each
//! direction keeps its first [`bounds::TRANSCRIPT_BYTES_PER_DIR`] bytes,
//! the case keeps [`bounds::TRANSCRIPT_BYTES`] raw bytes in all and
//! renders at most [`bounds::TRANSCRIPT_TEXT`] characters. What is not
//! kept is counted (records and bytes) and said in one line.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

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

    fn render(&self, name: &str, out: &mut String) {
        let _ = writeln!(
            out,
            "-- {name}: {} bytes in {} records --",
            self.total, self.framer.records
        );
        if !self.cut() {
            out.push_str(&fcgi_proto::dump::render(&self.kept));
            return;
        }
        // Show whole records only, so the cut does not read as a truncated record.
        let (end, shown) = match self.boundary {
            (0, _) => (self.kept.len(), 0),
            b => b,
        };
        out.push_str(&fcgi_proto::dump::render(
            self.kept.get(..end).unwrap_or_default(),
        ));
        let _ = writeln!(
            out,
            "... {} more records ({} bytes) not shown",
            self.framer.records.saturating_sub(shown),
            self.total.saturating_sub(end as u64)
        );
    }
}

#[derive(Debug, Default)]
struct Conn {
    label: String,
    to_app: Side,
    to_server: Side,
}

#[derive(Debug, Default)]
struct Inner {
    conns: Vec<Conn>,
    /// Raw bytes kept over all connections.
    kept: usize,
    /// Connections past [`bounds::TRANSCRIPT_CONNS`], and their bytes.
    unnamed: (u64, u64),
}

/// A case's transcript, shared by the connections it opens.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    inner: Arc<Mutex<Inner>>,
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

    /// Renders every connection, each direction as an annotated dump,
    /// within [`bounds::TRANSCRIPT_TEXT`] characters.
    pub fn render(&self) -> String {
        let g = self.lock();
        let mut out = String::new();
        for (i, c) in g.conns.iter().enumerate() {
            let mut one = String::new();
            let _ = writeln!(one, "== connection {} ({}) ==", i + 1, c.label);
            c.to_app.render("web server -> application", &mut one);
            c.to_server.render("application -> web server", &mut one);
            if out.len() + one.len() > bounds::TRANSCRIPT_TEXT {
                let rest = g.conns.get(i..).unwrap_or_default();
                let bytes: u64 = rest
                    .iter()
                    .map(|c| c.to_app.total.saturating_add(c.to_server.total))
                    .sum();
                let _ = writeln!(
                    out,
                    "... {} more connections ({bytes} bytes) not shown: the transcript is cut at {} of text",
                    rest.len(),
                    bounds::size(bounds::TRANSCRIPT_TEXT)
                );
                break;
            }
            out.push_str(&one);
        }
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

impl ConnLog {
    /// Records bytes sent or received.
    pub fn record(&self, dir: Dir, bytes: &[u8]) {
        let mut g = self.t.lock();
        let Some(i) = self.index else {
            g.unnamed.1 = g.unnamed.1.saturating_add(bytes.len() as u64);
            return;
        };
        let room = bounds::TRANSCRIPT_BYTES.saturating_sub(g.kept);
        let Some(c) = g.conns.get_mut(i) else { return };
        let side = match dir {
            Dir::ToApp => &mut c.to_app,
            Dir::ToServer => &mut c.to_server,
        };
        let n = side.record(bytes, room);
        g.kept += n;
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
