//! A live web server behind which the runner plays the application: one
//! conversation per HTTP GET ([`ServerSession`]), and replay of a recorded
//! answer ([`with_id`], [`answer_of`]).

use std::path::Path;
use std::time::Duration;

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::requirement::{self as req};

use crate::conversation::{Connection, Conversation, Dir, Finding, Recorder};
use crate::explore::oracle::finding;
use crate::server::harness::AppSide;
use crate::server::http::{HttpRequest, HttpResponse, Url};
use crate::suites::server::Ctx;
use crate::transcript::Transcript;

use super::*;

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
    let (mut s, r) =
        crate::explore::open_server_session(None, None, timeout.as_secs_f64(), faults).await?;
    let (_, f) = s.attempt_with(|id| with_id(&writes, id)).await;
    if let Some(r) = r {
        r.stop(Duration::from_secs(1)).await;
    }
    Ok(f)
}
