//! Wire transcripts: every byte of a case's connections, both directions,
//! rendered with the codec's annotated dump (`fcgi_proto::dump`).

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// Which way bytes travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Web server to application.
    ToApp,
    /// Application to web server.
    ToServer,
}

#[derive(Debug, Default)]
struct Conn {
    label: String,
    to_app: Vec<u8>,
    to_server: Vec<u8>,
    truncated: bool,
}

/// Most bytes kept per direction and connection; the rest is counted only.
pub const MAX_KEPT: usize = 256 * 1024;

/// A case's transcript, shared by the connections it opens.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    conns: Arc<Mutex<Vec<Conn>>>,
}

/// One connection's handle into a transcript.
#[derive(Debug, Clone)]
pub struct ConnLog {
    t: Transcript,
    index: usize,
}

impl Transcript {
    /// A new, empty transcript.
    pub fn new() -> Self {
        Transcript::default()
    }

    /// Starts logging a new connection under `label`.
    pub fn connection(&self, label: impl Into<String>) -> ConnLog {
        let mut g = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        g.push(Conn {
            label: label.into(),
            ..Conn::default()
        });
        ConnLog {
            t: self.clone(),
            index: g.len() - 1,
        }
    }

    /// Renders every connection, each direction as an annotated dump.
    pub fn render(&self) -> String {
        let g = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        for (i, c) in g.iter().enumerate() {
            let _ = writeln!(out, "== connection {} ({}) ==", i + 1, c.label);
            for (name, bytes) in [
                ("web server -> application", &c.to_app),
                ("application -> web server", &c.to_server),
            ] {
                let _ = writeln!(out, "-- {name}: {} bytes --", bytes.len());
                out.push_str(&fcgi_proto::dump::render(bytes));
            }
            if c.truncated {
                let _ = writeln!(out, "(transcript cut at {MAX_KEPT} bytes per direction)");
            }
        }
        out
    }
}

impl ConnLog {
    /// Records bytes sent or received.
    pub fn record(&self, dir: Dir, bytes: &[u8]) {
        let mut g = self.t.conns.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = g.get_mut(self.index) {
            let buf = match dir {
                Dir::ToApp => &mut c.to_app,
                Dir::ToServer => &mut c.to_server,
            };
            let room = MAX_KEPT.saturating_sub(buf.len());
            if bytes.len() > room {
                c.truncated = true;
            }
            buf.extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
        }
    }
}
