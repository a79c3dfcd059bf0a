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

mod judge;
mod reply;
mod session;

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::ChaCha8Rng;
use rand::SeedableRng;

use crate::conversation::{Connection, Conversation, Finding, Side};
use crate::server::http::Url;

pub use judge::*;
pub use reply::*;
pub use session::*;

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
/// `findings` distinct findings, each shrunk (unless not `shrink`) and
/// saved under `out`.
pub async fn explore(
    s: &mut ServerSession,
    seed: u64,
    conversations: Option<u64>,
    time: Option<Duration>,
    findings: usize,
    shrink_them: bool,
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
        let (seen, found) = s.attempt(&reply).await;
        let Some(f) = found else { continue };
        if report.findings.iter().any(|k| same(&k.first, &f)) {
            continue;
        }
        let before = reply.stdout().len();
        let (small, g, conns, attempts) = if shrink_them {
            shrink(s, reply, f.clone()).await
        } else {
            (reply, f.clone(), seen, 0)
        };
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

    /// The JUnit XML report, as the application side writes it: one failed
    /// testcase per finding, or one passing testcase when nothing was found.
    pub fn junit(&self) -> String {
        let found: Vec<_> = self
            .findings
            .iter()
            .map(|f| (&f.finding, f.conversation, &f.file))
            .collect();
        super::report::junit(
            &self.target,
            self.seed,
            self.conversations,
            self.elapsed,
            &found,
        )
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
    let report = explore(&mut s, seed, Some(conversations), None, 1, true, out).await;
    server.stop(Duration::from_secs(1)).await;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::request::cgi;
    use crate::server::http::HttpResponse;

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
