//! `fcgi-conformance proxy --listen ADDR --upstream ADDR`: sits between a
//! real web server and a real application, relays every connection
//! unchanged in both directions ([`relay`]), and checks both directions
//! live with the codec's two state machines ([`check`]): each violation is
//! printed as it happens (connection, party, request id, requirement,
//! section, byte offset in that direction), and a summary at the end
//! ([`report`]). With `--record DIR`, each connection is written when it
//! closes as a conversation file (`fcgi-conversation/1`, the application
//! as the target), which `replay FILE --connect APP` runs again.
//!
//! Bounded: connections at once (`--max-connections`, beyond which new
//! ones are accepted and closed), the run (`--duration`, `--connections`,
//! SIGINT/SIGTERM), each connection's checker queue (4 MiB, see
//! [`relay`]) and recording (16 MiB). Exit 0 with no violation, 1 with
//! any, 2 for unusable flags, said in one line before listening.

pub mod check;
pub mod relay;
pub mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::conversation::{Conversation, Dir, Recorder, Side};
use crate::output::{usage_error, write_or_fail};
use crate::stdio;
use crate::target::{self, Addr, Listener};
use check::{Check, Party, Violation};
use relay::{Copy, Relayed, Taken};
use report::{ConnOutcome, Summary};

/// Most connections relayed at once.
pub const MAX_CONNECTIONS: u32 = 4096;
/// Longest run under `--duration`.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Most bytes recorded per connection under `--record`.
pub const MAX_RECORDED: usize = 16 << 20;
/// Most violation lines printed per connection (all are counted).
pub const MAX_SHOWN: u64 = 100;
/// How long the open connections get to finish their checks at the stop.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// Summary format on standard output.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Text, a few lines.
    Text,
    /// JSON (schema `fcgi-conformance-proxy/1`).
    Json,
}

/// Flags of `fcgi-conformance proxy`.
#[derive(Args, Debug, Clone)]
pub struct ProxyArgs {
    /// Where the web server connects: HOST:PORT (loopback), [::1]:PORT or unix:/path.
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// The application: HOST:PORT (loopback), [::1]:PORT or unix:/path.
    #[arg(long, value_name = "ADDR")]
    pub upstream: String,
    /// Write each connection, when it closes, as a conversation file
    /// (fcgi-conversation/1) in this directory, for `replay`.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// Connections relayed at once; beyond it new ones are accepted and
    /// closed, with a line on standard error (1 to 4096).
    #[arg(long, default_value_t = 256, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CONNECTIONS)))]
    pub max_connections: u32,
    /// Stop after this long, e.g. 30s, 10m, 2h (default: until stopped).
    #[arg(long, value_name = "TIME")]
    pub duration: Option<String>,
    /// Stop once N connections have closed (for tests and CI).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub connections: Option<u64>,
    /// Seconds to wait for the upstream to accept each connection.
    #[arg(long, default_value_t = 3.0, value_name = "SECS")]
    pub timeout: f64,
    /// Summary format on standard output (violations are lines on standard error).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// The flags, checked.
struct Checked {
    listen: Addr,
    upstream: Addr,
    record: Option<PathBuf>,
    max_connections: usize,
    duration: Option<Duration>,
    connections: Option<u64>,
    timeout: Duration,
}

/// Parses `30s`, `500ms`, `10m`, `2h` or a bare number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = crate::span::parse_span(
        s,
        "--duration",
        "30s, 10m or 2h",
        &[("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)],
    )?;
    if d > MAX_DURATION {
        return Err(format!(
            "--duration {s} is longer than the cap of {} hours: give a shorter run",
            MAX_DURATION.as_secs() / 3600
        ));
    }
    Ok(d)
}

fn loopback(flag: &str, s: &str) -> Result<Addr, String> {
    let addr = s.parse::<Addr>().map_err(|e| format!("{flag}: {e}"))?;
    match &addr {
        Addr::Tcp(a) if !a.ip().is_loopback() => Err(format!(
            "{flag} {a}: the proxy works on loopback addresses only (127.0.0.1, [::1], unix:PATH)"
        )),
        _ => Ok(addr),
    }
}

fn check_args(args: &ProxyArgs) -> Result<Checked, String> {
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 300.0) {
        return Err(format!(
            "--timeout {} is out of range: give seconds above 0, at most 300",
            args.timeout
        ));
    }
    let listen = loopback("--listen", &args.listen)?;
    let upstream = loopback("--upstream", &args.upstream)?;
    if listen == upstream {
        return Err(format!(
            "--listen and --upstream are both {listen}: the proxy would relay to itself"
        ));
    }
    if let Some(dir) = &args.record {
        crate::preflight::check_dir(dir, "--record")?;
    }
    Ok(Checked {
        listen,
        upstream,
        record: args.record.clone(),
        max_connections: args.max_connections as usize,
        duration: args.duration.as_deref().map(parse_duration).transpose()?,
        connections: args.connections,
        timeout: Duration::from_secs_f64(args.timeout),
    })
}

/// What every connection task shares.
struct Shared {
    upstream: Addr,
    upstream_label: String,
    record: Option<PathBuf>,
    timeout: Duration,
    stop: watch::Receiver<bool>,
}

fn line(s: &str) {
    stdio::err_line(&format!("proxy: {s}"));
}

/// Runs `proxy`; see the module documentation for exit codes.
pub async fn main(args: ProxyArgs) -> ExitCode {
    let c = match check_args(&args) {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    // The upstream must be there before anyone is let in.
    match target::connect(&c.upstream, c.timeout).await {
        Ok(s) => drop(s),
        Err(e) => {
            return usage_error(&format!(
                "--upstream {}: cannot connect: {e} (start the application first)",
                c.upstream
            ))
        }
    }
    if let Some(dir) = &c.record {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return usage_error(&format!("--record {}: {e}", dir.display()));
        }
    }
    let listener = match Listener::bind(&c.listen).await {
        Ok(l) => l,
        Err(e) => return usage_error(&format!("--listen {}: cannot listen: {e}", c.listen)),
    };
    let shown = listener
        .local_addr()
        .map_or_else(|_| c.listen.to_string(), |a| a.to_string());
    line(&format!("listening on {shown}, relaying to {}", c.upstream));
    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        upstream: c.upstream.clone(),
        upstream_label: args.upstream.clone(),
        record: c.record.clone(),
        timeout: c.timeout,
        stop: stop_rx,
    });
    let mut summary = Summary {
        listen: shown,
        upstream: c.upstream.to_string(),
        ..Summary::default()
    };
    let started = Instant::now();
    let deadline = c.duration.map(|d| tokio::time::Instant::now() + d);
    let mut tasks: JoinSet<ConnOutcome> = JoinSet::new();
    let mut next_label = 0u64;
    let signals = stop_signals();
    tokio::pin!(signals);
    summary.stopped_by = loop {
        if c.connections.is_some_and(|n| summary.connections >= n) {
            break "--connections".to_string();
        }
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        line(&format!("accept failed: {e}"));
                        // Out of descriptors, say: give the others a moment.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tasks.len() >= c.max_connections {
                    summary.refused += 1;
                    // The first ten, then one line a thousand: a client that
                    // reconnects at once must not flood the log.
                    if summary.refused <= 10 || summary.refused % 1000 == 0 {
                        line(&format!(
                            "a connection past --max-connections {} accepted and closed ({} so far)",
                            c.max_connections, summary.refused
                        ));
                    }
                    drop(stream);
                    continue;
                }
                next_label += 1;
                tasks.spawn(connection(format!("c{next_label}"), stream, shared.clone()));
            }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok(o) = done {
                    summary.add(&o);
                }
            }
            _ = sleep_until(deadline) => break "--duration".to_string(),
            s = &mut signals => break s,
        }
    };
    drop(listener);
    let _ = stop_tx.send(true);
    let grace = tokio::time::Instant::now() + STOP_GRACE;
    while !tasks.is_empty() {
        match tokio::time::timeout_at(grace, tasks.join_next()).await {
            Ok(Some(Ok(o))) => summary.add(&o),
            Ok(Some(Err(_))) => {}
            Ok(None) | Err(_) => break,
        }
    }
    tasks.abort_all();
    summary.seconds = started.elapsed().as_secs_f64();
    let text = match args.format {
        Format::Text => summary.text(),
        Format::Json => summary.json(),
    };
    write_or_fail(&text, ExitCode::from(summary.exit_code()))
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// SIGINT or SIGTERM, whichever comes first; its name.
async fn stop_signals() -> String {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT".into(),
        _ = term.recv() => "SIGTERM".into(),
    }
}

/// One accepted connection: reach the upstream, relay, check, record.
async fn connection(label: String, client: target::Stream, shared: Arc<Shared>) -> ConnOutcome {
    let upstream = match target::connect(&shared.upstream, shared.timeout).await {
        Ok(s) => s,
        Err(e) => {
            line(&format!(
                "{label}: cannot reach the upstream {}: {e}; connection closed",
                shared.upstream
            ));
            return ConnOutcome {
                upstream_failed: true,
                ..ConnOutcome::default()
            };
        }
    };
    let (tap, taken) = relay::tap();
    let start = Instant::now();
    let recording = shared.record.as_ref().map(|dir| {
        (
            dir.join(format!("{label}.json")),
            Recorder::new(label.clone(), start),
        )
    });
    let checker = tokio::spawn(checker(label.clone(), taken, recording, shared.clone()));
    let counts = Relayed::default();
    relay::relay(client, upstream, tap, &counts, shared.stop.clone()).await;
    let mut o = checker.await.unwrap_or_default();
    o.to_application = counts.to_application.load(Ordering::Relaxed);
    o.to_web_server = counts.to_web_server.load(Ordering::Relaxed);
    o
}

/// A recording in progress: where it goes, the recorder, the bytes kept.
struct Recording {
    path: PathBuf,
    recorder: Recorder,
    kept: usize,
    /// Nothing more is recorded (the cap, or the checker queue).
    stopped: bool,
    notes: Vec<String>,
    finding: Option<crate::conversation::Finding>,
}

impl Recording {
    fn write(&mut self, dir: Dir, bytes: &[u8]) {
        if self.stopped {
            return;
        }
        if self.kept + bytes.len() > MAX_RECORDED {
            self.notes.push(format!(
                "recording stopped after {} bytes: the cap is {MAX_RECORDED} bytes per connection",
                self.kept
            ));
            self.stopped = true;
            return;
        }
        self.kept += bytes.len();
        self.recorder.write(dir, bytes);
    }

    fn close(&mut self, dir: Dir) {
        if !self.stopped {
            self.recorder.close(dir);
        }
    }

    /// Writes the file; false (with a line said) if it cannot be written.
    fn finish(self, label: &str, upstream: &str) -> bool {
        let mut c = Conversation::new(None, Side::Application, upstream);
        c.finding = self.finding;
        c.notes = self.notes;
        c.connections.push(self.recorder.finish());
        match std::fs::write(&self.path, c.to_json()) {
            Ok(()) => true,
            Err(e) => {
                line(&format!(
                    "{label}: cannot write {}: {e}",
                    self.path.display()
                ));
                false
            }
        }
    }
}

/// The checker of one connection: takes the relay's copies in order,
/// prints each violation as it is found, and writes the recording at the end.
async fn checker(
    label: String,
    mut taken: Taken,
    recording: Option<(PathBuf, Recorder)>,
    shared: Arc<Shared>,
) -> ConnOutcome {
    let mut check = Check::new();
    let mut out = ConnOutcome::default();
    let mut found: Vec<Violation> = Vec::new();
    let mut shown = 0u64;
    let mut rec = recording.map(|(path, recorder)| Recording {
        path,
        recorder,
        kept: 0,
        stopped: false,
        notes: Vec::new(),
        finding: None,
    });
    let mut note_unjudged = true;
    // Bounded: the relay ends, and every copy is at most one read.
    while let Some(copy) = taken.next().await {
        match &copy {
            Copy::Bytes(Dir::ToTarget, b) => check.web_server_bytes(b, &mut found),
            Copy::Bytes(Dir::FromTarget, b) => check.application_bytes(b, &mut found),
            Copy::Closed(Dir::ToTarget) => check.web_server_closed(&mut found),
            Copy::Closed(Dir::FromTarget) => check.application_closed(&mut found),
        }
        if let Some(r) = rec.as_mut() {
            match &copy {
                Copy::Bytes(d, b) => r.write(*d, b),
                Copy::Closed(d) => r.close(*d),
            }
        }
        for v in found.drain(..) {
            out.count(&v);
            if let Some(r) = rec.as_mut() {
                if v.party == Party::Application && r.finding.is_none() {
                    r.finding = Some(v.finding());
                }
            }
            shown += 1;
            if shown <= MAX_SHOWN {
                line(&format!("{label}: {v}"));
            } else if shown == MAX_SHOWN + 1 {
                line(&format!(
                    "{label}: more violations on this connection are counted, not shown"
                ));
            }
        }
        if note_unjudged {
            if let Some(why) = check.app_unjudged() {
                line(&format!(
                    "{label}: the application's answers are no longer judged on this connection ({why})"
                ));
                note_unjudged = false;
            }
        }
    }
    if let Some(n) = taken.stopped_after() {
        line(&format!(
            "{label}: checking stopped after {n} bytes: checker queue full"
        ));
        out.checking_stopped = Some(n);
        if let Some(r) = rec.as_mut().filter(|r| !r.stopped) {
            // The copies after the stop are lost: the rest would have holes.
            r.notes.push(format!(
                "recording stopped after {} bytes: checker queue full",
                r.kept
            ));
            r.stopped = true;
        }
    }
    out.counts = check.counts();
    if let Some(r) = rec {
        // Up to 16 MiB as hex JSON: off the runtime's threads, which relay.
        let upstream = shared.upstream_label.clone();
        out.recorded = tokio::task::spawn_blocking(move || r.finish(&label, &upstream))
            .await
            .unwrap_or(false);
    }
    out
}
