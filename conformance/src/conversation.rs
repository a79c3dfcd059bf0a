//! The conversation file (`fcgi-conversation/1`): one format for the
//! reproducers `explore` writes and `replay` reads. A conversation is the
//! connections of one run, each a list of events in the order they
//! happened: a write (its direction, its bytes as hex, and one line per
//! record it completed, from the codec's annotated dump, `fcgi_proto::dump`),
//! or a close. Writes are kept as written, one event per write, so that
//! replaying reproduces how the bytes were split (§3.3, R-3.3-12).
//!
//! Reading is bounded: the file, every hex field, the connections and the
//! events have caps, checked before anything is decoded past them.

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use fcgi_proto::dump::{RenderOptions, Renderer};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The schema name written in every file.
pub const SCHEMA: &str = "fcgi-conversation/1";
/// Largest conversation file read.
pub const MAX_FILE_BYTES: u64 = 256 << 20;
/// Most bytes one write event may hold (its hex is twice as long).
pub const MAX_WRITE_BYTES: usize = 64 << 20;
/// Most connections in one conversation.
pub const MAX_CONNECTIONS: usize = 1024;
/// Most events on one connection.
pub const MAX_EVENTS: usize = 1 << 20;

/// Which party the target plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// The target is a FastCGI application; the runner played the web server.
    Application,
    /// The target is a web server; the runner played the application.
    WebServer,
}

/// Which way bytes (or a close) went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dir {
    /// From the runner to the target.
    ToTarget,
    /// From the target to the runner.
    FromTarget,
}

/// What a conversation showed wrong: the property that failed, with the
/// requirement and section it checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The property's name, e.g. `records-accepted`.
    pub property: String,
    /// The requirement ID, e.g. `R-5.3-1`.
    pub requirement: String,
    /// The spec section, e.g. `5.3`.
    pub section: String,
    /// What the property expected.
    pub expected: String,
    /// What came back instead.
    pub observed: String,
}

/// One event on a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Event {
    /// One write (or, from the target, one read) of bytes.
    Write {
        /// Microseconds since the conversation started.
        t_us: u64,
        /// Which way.
        dir: Dir,
        /// One line per record this write completed, from the annotated dump.
        describe: Vec<String>,
        /// The bytes, as lowercase hex.
        #[serde(serialize_with = "to_hex", deserialize_with = "from_hex")]
        hex: Vec<u8>,
    },
    /// One side closed (or shut down writing on) the connection.
    Close {
        /// Microseconds since the conversation started.
        t_us: u64,
        /// Who closed.
        close: Dir,
    },
}

/// One transport connection and what happened on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// `c1`, `c2`, … in the order the connections were opened.
    pub label: String,
    /// The events in order.
    pub events: Vec<Event>,
}

/// A whole conversation file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The version of fcgi-conformance that wrote it.
    pub tool_version: String,
    /// The seed of the run that found it, if it came from one.
    pub seed: Option<u64>,
    /// Which party the target plays.
    pub side: Side,
    /// The target as given on the command line.
    pub target: String,
    /// What was wrong, if anything.
    pub finding: Option<Finding>,
    /// The connections in the order they were opened.
    pub connections: Vec<Connection>,
    /// What the writer wants a reader to know about the recording (e.g.
    /// that `proxy` stopped recording a connection at its cap). Optional:
    /// files without it read as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

fn to_hex<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes))
}

fn from_hex<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    use serde::de::Error as _;
    let text = std::borrow::Cow::<str>::deserialize(d)?;
    if text.len() > 2 * MAX_WRITE_BYTES {
        return Err(D::Error::custom(format!(
            "a hex field of {} characters is over the cap of {} ({} bytes)",
            text.len(),
            2 * MAX_WRITE_BYTES,
            MAX_WRITE_BYTES
        )));
    }
    hex::decode(text.as_bytes()).map_err(|e| D::Error::custom(format!("bad hex: {e}")))
}

impl Conversation {
    /// An empty conversation of this tool's version.
    pub fn new(seed: Option<u64>, side: Side, target: &str) -> Self {
        Conversation {
            schema: SCHEMA.to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            seed,
            side,
            target: target.to_string(),
            finding: None,
            connections: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The JSON text of the file.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses a file's text, checking the schema and the caps.
    pub fn from_json(text: &[u8]) -> Result<Self, String> {
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(format!(
                "{} bytes is over the cap of {MAX_FILE_BYTES} bytes",
                text.len()
            ));
        }
        let c: Conversation =
            serde_json::from_slice(text).map_err(|e| format!("is not a conversation: {e}"))?;
        if c.schema != SCHEMA {
            return Err(format!(
                "has schema {:?}; this version reads {SCHEMA:?}",
                c.schema
            ));
        }
        if c.connections.len() > MAX_CONNECTIONS {
            return Err(format!(
                "has {} connections, over the cap of {MAX_CONNECTIONS}",
                c.connections.len()
            ));
        }
        if let Some(conn) = c.connections.iter().find(|k| k.events.len() > MAX_EVENTS) {
            return Err(format!(
                "connection {} has {} events, over the cap of {MAX_EVENTS}",
                conn.label,
                conn.events.len()
            ));
        }
        Ok(c)
    }

    /// Reads and parses `path`, reading at most [`MAX_FILE_BYTES`].
    pub fn read(path: &Path) -> Result<Self, String> {
        let f = std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
        let mut text = Vec::new();
        f.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(|e| format!("cannot read it: {e}"))?;
        Conversation::from_json(&text)
    }

    /// The bytes sent each way on connection `index`, concatenated.
    pub fn bytes(&self, index: usize, dir: Dir) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(c) = self.connections.get(index) {
            for e in &c.events {
                if let Event::Write { dir: d, hex, .. } = e {
                    if *d == dir {
                        out.extend_from_slice(hex);
                    }
                }
            }
        }
        out
    }
}

/// Records one connection as it happens: each write is kept as one event,
/// described by a streaming dump of its direction, so that a record split
/// across writes is described on the write that completes it.
pub struct Recorder {
    label: String,
    start: Instant,
    to_target: Renderer,
    from_target: Renderer,
    events: Vec<Event>,
    /// Bytes kept so far; past [`MAX_WRITE_BYTES`] in all, writes are cut.
    kept: usize,
}

impl Recorder {
    /// A recorder for connection `label`, timing from `start`.
    pub fn new(label: String, start: Instant) -> Self {
        let opts = RenderOptions {
            offsets: false,
            ..RenderOptions::default()
        };
        Recorder {
            label,
            start,
            to_target: Renderer::new(opts),
            from_target: Renderer::new(opts),
            events: Vec::new(),
            kept: 0,
        }
    }

    fn t_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Records `bytes` written (or read) in direction `dir`.
    pub fn write(&mut self, dir: Dir, bytes: &[u8]) {
        let room = MAX_WRITE_BYTES.saturating_sub(self.kept);
        let bytes = bytes.get(..bytes.len().min(room)).unwrap_or_default();
        if bytes.is_empty() || self.events.len() >= MAX_EVENTS {
            return;
        }
        self.kept += bytes.len();
        let renderer = match dir {
            Dir::ToTarget => &mut self.to_target,
            Dir::FromTarget => &mut self.from_target,
        };
        let mut text = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = renderer.push(bytes, &mut text);
        let describe = String::from_utf8_lossy(&text)
            .lines()
            .map(str::to_string)
            .collect();
        self.events.push(Event::Write {
            t_us: self.t_us(),
            dir,
            describe,
            hex: bytes.to_vec(),
        });
    }

    /// Records a close by `dir`'s sender.
    pub fn close(&mut self, dir: Dir) {
        if self.events.len() < MAX_EVENTS {
            self.events.push(Event::Close {
                t_us: self.t_us(),
                close: dir,
            });
        }
    }

    /// The recorded connection.
    pub fn finish(self) -> Connection {
        Connection {
            label: self.label,
            events: self.events,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Conversation {
        let mut c = Conversation::new(Some(7), Side::Application, "127.0.0.1:9000");
        let mut r = Recorder::new("c1".into(), Instant::now());
        let mut wire = Vec::new();
        let enc = fcgi_proto::encoder::Encoder::default();
        let _ = enc.begin_request(1, fcgi_proto::role::Role::Responder, true, &mut wire);
        let (a, b) = wire.split_at(5);
        r.write(Dir::ToTarget, a);
        r.write(Dir::ToTarget, b);
        r.close(Dir::FromTarget);
        c.connections.push(r.finish());
        c.finding = Some(Finding {
            property: "records-accepted".into(),
            requirement: "R-5.3-1".into(),
            section: "5.3".into(),
            expected: "x".into(),
            observed: "y".into(),
        });
        c
    }

    #[test]
    fn round_trips_and_describes_on_the_completing_write() {
        let c = sample();
        let text = c.to_json();
        let back = Conversation::from_json(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, c);
        let events = &back.connections[0].events;
        assert!(
            matches!(&events[0], Event::Write { describe, hex, .. } if describe.is_empty() && hex.len() == 5)
        );
        assert!(
            matches!(&events[1], Event::Write { describe, .. } if describe.len() == 1 && describe[0].starts_with("BEGIN_REQUEST")),
            "{events:?}"
        );
        assert!(matches!(
            events[2],
            Event::Close {
                close: Dir::FromTarget,
                ..
            }
        ));
        assert!(
            text.contains("\"schema\": \"fcgi-conversation/1\""),
            "{text}"
        );
        assert!(text.contains("\"dir\": \"to-target\""), "{text}");
    }

    #[test]
    fn reading_is_bounded_and_checked() {
        let c = sample();
        let text = c
            .to_json()
            .replace("fcgi-conversation/1", "fcgi-conversation/9");
        let e = Conversation::from_json(text.as_bytes()).unwrap_err();
        assert!(e.contains("schema"), "{e}");
        #[derive(Deserialize)]
        struct H {
            #[serde(deserialize_with = "from_hex")]
            #[allow(dead_code)]
            hex: Vec<u8>,
        }
        let big = format!("{{\"hex\":\"{}\"}}", "0".repeat(2 * MAX_WRITE_BYTES + 2));
        let e = serde_json::from_str::<H>(&big).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("over the cap")));
        let odd = "{\"t_us\":0,\"dir\":\"to-target\",\"describe\":[],\"hex\":\"abc\"}";
        assert!(serde_json::from_str::<Event>(odd).is_err());
        assert!(Conversation::from_json(b"{").is_err());
    }
}
