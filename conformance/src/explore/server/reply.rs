//! The generated answer to a web server's FastCGI request (§6.2): [`Reply`],
//! drawn by [`generate`], and its bytes.

use fcgi_proto::record::{Header, RecordType};
use rand::rngs::ChaCha8Rng;
use rand::RngExt;

use super::*;

/// One generated answer to a FastCGI request (§6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Head lines end with `\r\n` (else `\n`).
    pub crlf: bool,
    /// A `Status:` line with this code (none: 200 by default).
    pub status: Option<u16>,
    /// Header lines, distinct names.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Where STDOUT (head and body) is cut into records, as byte offsets.
    pub cuts: Vec<usize>,
    /// A STDERR record after the STDOUT record with this index.
    pub stderr: Vec<(usize, Vec<u8>)>,
    /// Padding of the records in turn (cycled; empty: none).
    pub padding: Vec<u8>,
    /// Writes end after the records with these indices.
    pub writes: Vec<usize>,
    /// The empty STDOUT record before END_REQUEST: an application must
    /// send it (R-5.3-1), yet a web server takes END_REQUEST as the end
    /// without it (R-5.5-7), so a reply may leave it out.
    pub stdout_end: bool,
}

/// Statuses a reply may set: each has a body and needs no other header.
const STATUSES: [u16; 9] = [200, 201, 202, 203, 400, 403, 404, 418, 503];

fn text(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n)
        .map(|_| {
            let c = rng.random_range(0..63u8);
            match c {
                0..=25 => char::from(b'a' + c),
                26..=51 => char::from(b'A' + c - 26),
                52..=61 => char::from(b'0' + c - 52),
                _ => '-',
            }
        })
        .collect()
}

fn chance(rng: &mut ChaCha8Rng, pct: u32) -> bool {
    rng.random_range(0..100) < pct
}

/// A seeded reply.
pub fn generate(rng: &mut ChaCha8Rng) -> Reply {
    let crlf = chance(rng, 50);
    let status = chance(rng, 60).then(|| STATUSES[rng.random_range(0..STATUSES.len())]);
    let mut headers = vec![("Content-Type".to_string(), "text/plain".to_string())];
    let mut head = 0;
    for i in 0..rng.random_range(0..10usize) {
        let n = if chance(rng, 10) {
            rng.random_range(200..1500)
        } else {
            rng.random_range(1..40)
        };
        // The head stays under MAX_HEAD: nginx holds a head in one page
        // (fastcgi_buffer_size, 4 KiB) and answers 502 "upstream sent too
        // big header" past it, a limit of its own and no protocol fault.
        if head + n + 16 > MAX_HEAD {
            break;
        }
        head += n + 16;
        headers.push((format!("X-Explore-{i}"), text(rng, n)));
    }
    let n = if chance(rng, 15) {
        rng.random_range(0..MAX_BODY)
    } else {
        rng.random_range(0..3000)
    };
    let mut body: Vec<u8> = (0..n).map(|_| rng.random()).collect();
    if chance(rng, 20) {
        let at = rng.random_range(0..=body.len());
        let fake = format!("\r\n{INJECTED}: 1\r\n\r\n");
        body.splice(at..at, fake.bytes());
    }
    let mut reply = Reply {
        crlf,
        status,
        headers,
        body,
        cuts: Vec::new(),
        stderr: Vec::new(),
        padding: Vec::new(),
        writes: Vec::new(),
        stdout_end: !chance(rng, 10),
    };
    let len = reply.stdout().len();
    for _ in 0..rng.random_range(0..6usize) {
        reply.cuts.push(rng.random_range(0..=len));
    }
    if chance(rng, 35) {
        for i in 0..rng.random_range(1..4usize) {
            let at = rng.random_range(0..8usize);
            reply
                .stderr
                .push((at, format!("explore-stderr-{i}\n").into_bytes()));
        }
    }
    if chance(rng, 30) {
        for _ in 0..rng.random_range(1..4usize) {
            reply.padding.push(rng.random());
        }
    }
    for _ in 0..rng.random_range(0..4usize) {
        reply.writes.push(rng.random_range(0..12usize));
    }
    reply
}

impl Reply {
    /// The CGI response: head lines, a blank line, the body.
    pub fn stdout(&self) -> Vec<u8> {
        let eol: &[u8] = if self.crlf { b"\r\n" } else { b"\n" };
        let mut out = Vec::new();
        if let Some(s) = self.status {
            out.extend_from_slice(format!("Status: {s} Explore").as_bytes());
            out.extend_from_slice(eol);
        }
        for (n, v) in &self.headers {
            out.extend_from_slice(format!("{n}: {v}").as_bytes());
            out.extend_from_slice(eol);
        }
        out.extend_from_slice(eol);
        out.extend_from_slice(&self.body);
        out
    }

    /// The writes that answer request `id`: STDOUT records (with STDERR
    /// between them), the empty STDOUT record unless left out; END_REQUEST
    /// is the harness's.
    pub fn writes(&self, id: u16) -> Vec<Vec<u8>> {
        let stdout = self.stdout();
        let mut at: Vec<usize> = self
            .cuts
            .iter()
            .copied()
            .filter(|&c| c > 0 && c < stdout.len())
            .collect();
        let mut c = 65535;
        while c < stdout.len() {
            at.push(c);
            c += 65535;
        }
        at.sort_unstable();
        at.dedup();
        let mut records: Vec<Vec<u8>> = Vec::new();
        let mut pad = self.padding.iter().copied().cycle();
        let mut rec = |t: RecordType, content: &[u8], records: &mut Vec<Vec<u8>>| {
            let p = if self.padding.is_empty() {
                0
            } else {
                pad.next().unwrap_or(0)
            };
            let len = u16::try_from(content.len()).unwrap_or(u16::MAX);
            let mut r = Header::new(t, id, len, p).to_bytes().to_vec();
            r.extend_from_slice(content.get(..usize::from(len)).unwrap_or_default());
            // Padding bytes that look like a body: a server that relays them is seen.
            r.extend(std::iter::repeat_n(b'#', usize::from(p)));
            records.push(r);
        };
        let mut from = 0;
        for (i, to) in at.iter().copied().chain([stdout.len()]).enumerate() {
            rec(
                RecordType::Stdout,
                stdout.get(from..to).unwrap_or_default(),
                &mut records,
            );
            from = to;
            for (_, e) in self.stderr.iter().filter(|(k, _)| *k == i) {
                rec(RecordType::Stderr, e, &mut records);
            }
        }
        if !self.stderr.is_empty() {
            rec(RecordType::Stderr, b"", &mut records);
        }
        if self.stdout_end {
            rec(RecordType::Stdout, b"", &mut records);
        }
        let mut writes = Vec::new();
        let mut cur = Vec::new();
        for (i, r) in records.into_iter().enumerate() {
            cur.extend_from_slice(&r);
            if self.writes.contains(&i) {
                writes.push(std::mem::take(&mut cur));
            }
        }
        if !cur.is_empty() {
            writes.push(cur);
        }
        writes
    }

    /// Smaller replies, biggest cut first.
    pub(super) fn smaller(&self) -> Vec<Reply> {
        let mut out = Vec::new();
        let mut with = |f: &dyn Fn(&mut Reply)| {
            let mut c = self.clone();
            f(&mut c);
            if c != *self {
                out.push(c);
            }
        };
        with(&|c| c.body.clear());
        with(&|c| c.body.truncate(c.body.len() / 2));
        with(&|c| c.headers.truncate(1));
        with(&|c| c.stderr.clear());
        with(&|c| c.padding.clear());
        with(&|c| c.cuts.clear());
        with(&|c| c.writes.clear());
        with(&|c| c.status = None);
        with(&|c| c.crlf = true);
        with(&|c| c.stdout_end = true);
        with(&|c| c.body.drain(..c.body.len() / 2).for_each(drop));
        for i in 0..self.headers.len() {
            with(&|c| {
                c.headers.remove(i);
            });
            with(&|c| {
                let v = &mut c.headers[i].1;
                v.truncate(v.len().div_ceil(2));
            });
        }
        for i in 0..self.cuts.len() {
            with(&|c| {
                c.cuts.remove(i);
            });
        }
        for i in 0..self.stderr.len() {
            with(&|c| {
                c.stderr.remove(i);
            });
        }
        for i in 0..self.padding.len() {
            with(&|c| {
                c.padding.remove(i);
            });
        }
        out
    }
}
