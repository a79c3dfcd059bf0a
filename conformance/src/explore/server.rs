//! `fcgi-conformance explore --side server`: property-based testing of a
//! live web server. The runner plays the application behind it, as
//! `fcgi-conformance server` does ([`crate::server::harness`]): for each
//! conversation one HTTP GET goes to `--http`, and the FastCGI request it
//! becomes is answered with a seeded [`Reply`]: STDOUT cut anywhere, a CGI
//! head with `\n` or `\r\n` line ends, with or without a Status line, many
//! and large headers, STDERR between the STDOUT records, padding, writes
//! split at record boundaries, a body that looks like a head, no empty
//! STDOUT record before END_REQUEST (R-5.5-7).
//!
//! The oracle reads what the runner wrote (the records, decoded back) and
//! the HTTP response the client got: its status is the CGI status and its
//! headers carry every CGI header (R-6.1-8: the server parses the head
//! itself), no header comes from the body, the body is the CGI body byte
//! for byte, with no STDERR (R-5.3-2) or padding (R-3.3-3) in it
//! (otherwise R-6.2-1), and the response is whole once END_REQUEST came
//! (R-5.5-7). A failing reply is shrunk as application plans are (a
//! candidate kept when it fails twice with a finding of the failure's
//! signature) and saved as a conversation file (side `web-server`).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::record::{Header, ParseOptions, RecordType};
use fcgi_proto::requirement::{self as req};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::oracle::finding;
use crate::app::request::cgi;
use crate::conversation::{Connection, Conversation, Dir, Finding, Recorder, Side};
use crate::server::harness::AppSide;
use crate::server::http::{HttpRequest, HttpResponse, Url};
use crate::suites::server::Ctx;
use crate::transcript::Transcript;

/// Most bytes of a generated body.
pub const MAX_BODY: usize = 256 << 10;
/// Most bytes of a generated CGI head.
pub const MAX_HEAD: usize = 3000;
/// A header a body may try to smuggle in; no response may carry it.
pub const INJECTED: &str = "X-Explore-Injected";
/// Extra runs of a failing reply that collect its signature.
const SIGNATURE_RUNS: usize = 2;
/// Live runs one shrink may make.
const MAX_ATTEMPTS: usize = 200;

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
    fn smaller(&self) -> Vec<Reply> {
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

/// What the records in `sent` carry: STDOUT, STDERR, padding bytes.
fn decode(sent: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>, usize) {
    let (mut out, mut err, mut pad) = (Vec::new(), Vec::new(), 0);
    for r in fcgi_proto::record::records_with(sent, ParseOptions::default()).map_while(Result::ok) {
        pad += usize::from(r.header.padding_length);
        match r.record_type() {
            RecordType::Stdout => out.extend_from_slice(r.content),
            RecordType::Stderr if !r.content.is_empty() => err.push(r.content.to_vec()),
            _ => {}
        }
    }
    (out, err, pad)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Judges the HTTP response to a request the runner answered with `sent`.
pub fn judge(sent: &[u8], resp: &Result<HttpResponse, String>) -> Option<Finding> {
    let (stdout, stderr, pad) = decode(sent);
    let want = cgi(&stdout).ok()?;
    let r = match resp {
        Ok(r) => r,
        Err(e) => {
            return Some(finding(
                "response",
                req::R_5_5_7,
                "an HTTP response once END_REQUEST came".into(),
                e.clone(),
            ))
        }
    };
    if !r.complete {
        return Some(finding(
            "response",
            req::R_5_5_7,
            format!("the whole response of {} body bytes", want.body.len()),
            r.summary(),
        ));
    }
    if r.status != want.status && matches!(r.status, 500 | 502 | 503 | 504) {
        return Some(finding(
            "relayed",
            req::R_6_2_1,
            format!(
                "the application's response relayed (HTTP {}, {} head bytes)",
                want.status,
                stdout.len() - want.body.len()
            ),
            format!("HTTP {} of the server's own", r.status),
        ));
    }
    if r.status != want.status {
        return Some(finding(
            "status",
            req::R_6_1_8,
            format!("HTTP status {} (the CGI head's)", want.status),
            format!("HTTP status {}", r.status),
        ));
    }
    for (n, v) in &want.headers {
        if n.eq_ignore_ascii_case("status") || !n.starts_with("X-Explore-") {
            continue;
        }
        let v = String::from_utf8_lossy(v);
        if r.header(n) != Some(v.trim()) {
            return Some(finding(
                "headers",
                req::R_6_1_8,
                format!("header {n} of {} bytes relayed as sent", v.len()),
                match r.header(n) {
                    Some(g) => format!(
                        "{} bytes: {}",
                        g.len(),
                        fcgi_proto::dump::preview(g.as_bytes(), 48)
                    ),
                    None => "not in the response".into(),
                },
            ));
        }
    }
    if let Some(v) = r.header(INJECTED) {
        return Some(finding(
            "headers",
            req::R_6_1_8,
            "no header but the CGI head's".into(),
            format!("{INJECTED}: {v}, which only the body had"),
        ));
    }
    if r.body != want.body {
        let (property, rq) = if stderr
            .iter()
            .any(|e| contains(&r.body, e) && !contains(want.body, e))
        {
            ("stderr-apart", req::R_5_3_2)
        } else if pad > 0 && r.body.len() > want.body.len() && r.body.contains(&b'#') {
            ("padding-dropped", req::R_3_3_3)
        } else {
            ("body", req::R_6_2_1)
        };
        let at = r
            .body
            .iter()
            .zip(want.body)
            .position(|(a, b)| a != b)
            .unwrap_or(r.body.len().min(want.body.len()));
        return Some(finding(
            property,
            rq,
            format!("the body of {} bytes as STDOUT carried it", want.body.len()),
            format!(
                "{} bytes, first difference at byte {at}: {}",
                r.body.len(),
                fcgi_proto::dump::preview(r.body.get(at..).unwrap_or_default(), 32)
            ),
        ));
    }
    None
}

/// The web server under test and the runner's application side.
pub struct ServerSession {
    ctx: Ctx,
    /// As given, for reports.
    pub label: String,
    n: u64,
}

impl ServerSession {
    /// On `listener`, in front of which a web server forwards `http`.
    pub fn new(
        listener: crate::target::Listener,
        http: Url,
        timeout: Duration,
        label: String,
    ) -> Self {
        ServerSession {
            ctx: Ctx {
                app: AppSide::start(listener),
                http,
                authorizer: None,
                timeout,
            },
            label,
            n: 0,
        }
    }

    /// One conversation: a GET answered with `reply`. The recording is
    /// the runner's writes (`fcgi`) and the response as the client read it (`http`).
    pub async fn attempt(&mut self, reply: &Reply) -> (Vec<Connection>, Option<Finding>) {
        self.attempt_with(|id| reply.writes(id)).await
    }

    /// [`ServerSession::attempt`] with the writes `answer` makes for the
    /// request id the server chose.
    pub async fn attempt_with(
        &mut self,
        answer: impl FnOnce(u16) -> Vec<Vec<u8>>,
    ) -> (Vec<Connection>, Option<Finding>) {
        self.n += 1;
        let t0 = std::time::Instant::now();
        self.ctx.app.begin_case(Transcript::new());
        let mut sent: Vec<Vec<u8>> = Vec::new();
        let slug = format!("fcgi-conformance/explore/{}", self.n);
        let (seen, resp) = self
            .ctx
            .exchange(HttpRequest::get(slug), |app, s| {
                sent = answer(s.id);
                for w in &sent {
                    app.write(s.conn, w.clone());
                }
                app.end_request(s.conn, s.id, 0, ProtocolStatus::RequestComplete);
            })
            .await;
        self.ctx.app.end_case(Duration::from_millis(500)).await;
        let mut fcgi = Recorder::new("fcgi".into(), t0);
        for w in &sent {
            fcgi.write(Dir::ToTarget, w);
        }
        let mut http = Recorder::new("http".into(), t0);
        if let Ok(r) = &resp {
            http.write(Dir::FromTarget, &rendered(r));
        }
        http.close(Dir::FromTarget);
        let found = if seen.is_none() {
            Some(finding(
                "forwarded",
                req::R_6_2_1,
                "the GET forwarded as a FastCGI request".into(),
                match &resp {
                    Ok(r) => r.summary(),
                    Err(e) => e.clone(),
                },
            ))
        } else {
            judge(&sent.concat(), &resp)
        };
        (vec![fcgi.finish(), http.finish()], found)
    }

    /// Whether the server still carries a plain GET (after a finding).
    pub async fn alive(&mut self) -> Result<(), String> {
        self.ctx.app.begin_case(Transcript::new());
        let r = crate::suites::server::still_serves(&mut self.ctx).await;
        self.ctx.app.end_case(Duration::from_millis(500)).await;
        r
    }
}

/// `writes` (a recording's) with every record's request id set to `id`,
/// split as they were: a replay answers the request id the server chose.
pub fn with_id(writes: &[Vec<u8>], id: u16) -> Vec<Vec<u8>> {
    let mut all = writes.concat();
    let mut at = 0usize;
    // Bounded: each turn moves past one record's header, content and padding.
    while let Some(h) = all.get(at..at + 8) {
        let Ok([_, _, _, _, l0, l1, pad, _]) = <[u8; 8]>::try_from(h) else {
            break;
        };
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        let pad = usize::from(pad);
        if let Some(b) = all.get_mut(at + 2..at + 4) {
            b.copy_from_slice(&id.to_be_bytes());
        }
        at += 8 + len + pad;
    }
    let mut out = Vec::new();
    let mut from = 0;
    for w in writes {
        out.push(all.get(from..from + w.len()).unwrap_or_default().to_vec());
        from += w.len();
    }
    out
}

/// The response as the client read it: status line, headers, body.
fn rendered(r: &HttpResponse) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {}\r\n", r.status).into_bytes();
    for (n, v) in &r.headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&r.body);
    out
}

fn same(a: &Finding, b: &Finding) -> bool {
    a.property == b.property && a.requirement == b.requirement
}

/// A finding, shrunk.
pub struct ServerFound {
    /// As first seen.
    pub first: Finding,
    /// Of the shrunk reply.
    pub finding: Finding,
    /// Which conversation (1-based).
    pub conversation: u64,
    /// STDOUT bytes before and after shrinking.
    pub bytes_before: usize,
    /// After.
    pub bytes_after: usize,
    /// Records of the shrunk reply.
    pub records: usize,
    /// Live runs of the shrink.
    pub attempts: usize,
    /// The conversation file, or why it could not be written.
    pub file: Result<std::path::PathBuf, String>,
}

/// A whole run.
pub struct ServerReport {
    /// The seed.
    pub seed: u64,
    /// The target.
    pub target: String,
    /// Conversations run.
    pub conversations: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Distinct findings.
    pub findings: Vec<ServerFound>,
}

async fn shrink(
    s: &mut ServerSession,
    reply: Reply,
    f: Finding,
) -> (Reply, Finding, Vec<Connection>, usize) {
    let mut signature = vec![f.clone()];
    let mut attempts = 0;
    let mut best = (reply, f, Vec::new());
    for _ in 0..SIGNATURE_RUNS {
        attempts += 1;
        let (c, g) = s.attempt(&best.0).await;
        if let Some(g) = g {
            if best.2.is_empty() {
                best.2 = c;
            }
            if !signature.iter().any(|x| same(x, &g)) {
                signature.push(g);
            }
        }
    }
    'outer: loop {
        for cand in best.0.smaller() {
            if attempts >= MAX_ATTEMPTS {
                break 'outer;
            }
            attempts += 1;
            let (_, g) = s.attempt(&cand).await;
            if g.is_some_and(|g| signature.iter().any(|x| same(x, &g))) {
                attempts += 1;
                let (c, g) = s.attempt(&cand).await;
                if let Some(g) = g.filter(|g| signature.iter().any(|x| same(x, g))) {
                    best = (cand, g, c);
                    continue 'outer;
                }
            }
        }
        break;
    }
    if best.2.is_empty() {
        let (c, _) = s.attempt(&best.0).await;
        best.2 = c;
    }
    (best.0, best.1, best.2, attempts)
}

/// Explores `s` with `seed` for at most `conversations` (or `time`), up to
/// `findings` distinct findings, each shrunk and saved under `out`.
pub async fn explore(
    s: &mut ServerSession,
    seed: u64,
    conversations: Option<u64>,
    time: Option<Duration>,
    findings: usize,
    out: &Path,
) -> ServerReport {
    let t0 = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut report = ServerReport {
        seed,
        target: s.label.clone(),
        conversations: 0,
        elapsed: Duration::ZERO,
        findings: Vec::new(),
    };
    // Bounded: by the budget, and by MAX_CONVERSATIONS.
    while report.conversations < conversations.unwrap_or(super::MAX_CONVERSATIONS)
        && time.is_none_or(|t| t0.elapsed() < t)
        && report.findings.len() < findings
    {
        if crate::spawn::stopping() {
            break;
        }
        let reply = generate(&mut rng);
        report.conversations += 1;
        let (_, found) = s.attempt(&reply).await;
        let Some(f) = found else { continue };
        if report.findings.iter().any(|k| same(&k.first, &f)) {
            continue;
        }
        let before = reply.stdout().len();
        let (small, g, conns, attempts) = shrink(s, reply, f.clone()).await;
        let mut file = Conversation::new(Some(seed), Side::WebServer, &s.label);
        file.finding = Some(g.clone());
        file.connections = conns;
        let records = super::file_records(&file);
        let path = out.join(format!(
            "{}-{}-seed{seed}-n{}.json",
            g.property, g.requirement, report.conversations
        ));
        let saved = std::fs::create_dir_all(out)
            .and_then(|()| std::fs::write(&path, file.to_json()))
            .map(|()| path.clone())
            .map_err(|e| format!("cannot write {}: {e}", path.display()));
        report.findings.push(ServerFound {
            first: f,
            finding: g,
            conversation: report.conversations,
            bytes_before: before,
            bytes_after: small.stdout().len(),
            records,
            attempts,
            file: saved,
        });
        if s.alive().await.is_err() {
            break;
        }
    }
    report.elapsed = t0.elapsed();
    report
}

impl ServerReport {
    /// JSON (schema `fcgi-conformance-explore/1`, side `web-server`).
    pub fn json(&self) -> String {
        let f: Vec<_> = self
            .findings
            .iter()
            .map(|f| {
                serde_json::json!({
                    "first": f.first,
                    "finding": f.finding,
                    "conversation": f.conversation,
                    "stdout_bytes": {"before": f.bytes_before, "after": f.bytes_after},
                    "records": f.records,
                    "attempts": f.attempts,
                    "file": f.file.as_ref().ok().map(|p| p.display().to_string()),
                    "file_error": f.file.as_ref().err(),
                })
            })
            .collect();
        let mut s = serde_json::to_string_pretty(&serde_json::json!({
            "schema": super::report::SCHEMA,
            "side": "web-server",
            "seed": self.seed,
            "target": self.target,
            "conversations": self.conversations,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "findings": f,
        }))
        .unwrap_or_default();
        s.push('\n');
        s
    }

    /// A few lines of text.
    pub fn text(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "explore web server {}: seed {}, {} conversations in {:.1}s",
            self.target,
            self.seed,
            self.conversations,
            self.elapsed.as_secs_f64()
        );
        for f in &self.findings {
            let g = &f.finding;
            let _ = writeln!(
                t,
                "  finding {} {} §{} (conversation {}, shrunk to {} records)\n    expected: {}\n    observed: {}",
                g.property, g.requirement, g.section, f.conversation, f.records, g.expected, g.observed
            );
            match &f.file {
                Ok(p) => {
                    let _ = writeln!(t, "    reproducer: {}", p.display());
                }
                Err(e) => {
                    let _ = writeln!(t, "    {e}");
                }
            }
        }
        if self.findings.is_empty() {
            t.push_str("  no finding\n");
        }
        t
    }
}

/// Explores the bundled reference web server with `faults` injected (the
/// self-check): seeded, `conversations` at most, findings saved under `out`.
pub async fn explore_reference(
    faults: crate::client::Faults,
    seed: u64,
    conversations: u64,
    timeout: Duration,
    out: &Path,
) -> std::io::Result<ServerReport> {
    let listener =
        crate::target::Listener::bind(&crate::target::Addr::Tcp(([127, 0, 0, 1], 0).into()))
            .await?;
    let mut cfg = crate::server::reference::RefConfig::new(listener.local_addr()?);
    cfg.timeout = timeout;
    cfg.faults = faults;
    let server = crate::server::reference::RefServer::start(cfg).await?;
    let a = server.addr();
    let url = Url {
        host: a.ip().to_string(),
        port: a.port(),
        path: "/".into(),
    };
    let mut s = ServerSession::new(listener, url, timeout, "reference-server".into());
    let report = explore(&mut s, seed, Some(conversations), None, 1, out).await;
    server.stop(Duration::from_secs(1)).await;
    Ok(report)
}

/// The recorded answer of a web-server conversation file: the writes of its `fcgi` connection.
pub fn answer_of(file: &Conversation) -> Vec<Vec<u8>> {
    file.connections
        .iter()
        .filter(|c| c.label == "fcgi")
        .flat_map(|c| &c.events)
        .filter_map(|e| match e {
            crate::conversation::Event::Write {
                dir: Dir::ToTarget,
                hex,
                ..
            } => Some(hex.clone()),
            _ => None,
        })
        .collect()
}

/// Replays the conversation file at `path` once against the bundled
/// reference web server with `faults` (the self-check of `replay`): the
/// finding it shows, if any.
pub async fn replay_reference(
    faults: crate::client::Faults,
    path: &Path,
    timeout: Duration,
) -> Result<Option<Finding>, String> {
    let file = Conversation::read(path)?;
    let writes = answer_of(&file);
    let (mut s, r) = super::open_server_session(None, None, timeout.as_secs_f64(), faults).await?;
    let (_, f) = s.attempt_with(|id| with_id(&writes, id)).await;
    if let Some(r) = r {
        r.stop(Duration::from_secs(1)).await;
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every generated reply frames, and the oracle finds nothing in a
    /// response that relays it faithfully.
    #[test]
    fn a_replay_answers_under_the_new_id() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..50 {
            let r = generate(&mut rng);
            let old = r.writes(1);
            let new = with_id(&old, 7);
            assert_eq!(new, r.writes(7));
        }
    }

    #[test]
    fn a_faithful_relay_is_no_finding() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..200 {
            let r = generate(&mut rng);
            let sent = r.writes(1).concat();
            assert!(fcgi_proto::dump::dump(&sent).is_clean());
            let out = r.stdout();
            let c = cgi(&out).expect("a CGI response");
            let resp = HttpResponse {
                status: c.status,
                headers: c
                    .headers
                    .iter()
                    .map(|(n, v)| (n.clone(), String::from_utf8_lossy(v).trim().to_string()))
                    .collect(),
                body: c.body.to_vec(),
                framing: crate::server::http::Framing::Chunked,
                complete: true,
                note: None,
            };
            assert_eq!(judge(&sent, &Ok(resp.clone())), None, "{r:?}");
            let mut bad = resp.clone();
            bad.status = if c.status == 200 { 404 } else { 200 };
            assert_eq!(
                judge(&sent, &Ok(bad)).map(|f| f.property),
                Some("status".into())
            );
            for s in r.smaller() {
                assert_ne!(s, r);
            }
        }
    }
}
