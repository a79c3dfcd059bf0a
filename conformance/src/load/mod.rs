//! `fcgi-conformance load`: a closed-loop load generator for FastCGI
//! applications, in the manner of h2load, that checks every response with
//! the codec's web-server machine (`fcgi_proto::connection::WebServer`) and
//! so reports protocol violations (by error kind, section and requirement)
//! and FCGI_OVERLOADED / FCGI_CANT_MPX_CONN / FCGI_UNKNOWN_ROLE answers
//! (§5.5) under load, beside requests/s and latency.
//!
//! Bounded everywhere: connections, requests in flight, duration or request
//! count, body size and each wait have hard caps; STDOUT is counted, not
//! kept; loopback addresses only. Exit 0: no violation; 1: violations; 2:
//! bad flags or an unusable target, said in one line before any load.

mod conn;
mod report;
pub mod stats;

use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use fcgi_proto::management::{MAX_REQS, MPXS_CONNS};
use fcgi_proto::record::RecordType;
use tokio::time::Instant;

use crate::driver::{Driver, Raw};
use crate::output::{usage_error, write_or_fail};
use crate::target::{self, Addr};
use conn::Plan;
use report::Summary;
use stats::Stats;

/// Most connections.
pub const MAX_CONNECTIONS: u16 = 1024;
/// Most requests in flight on one connection.
pub const MAX_IN_FLIGHT: u16 = 256;
/// Longest run.
pub const MAX_DURATION: Duration = Duration::from_secs(600);
/// Most requests in one run.
pub const MAX_REQUESTS: u64 = 100_000_000;
/// Largest request body.
pub const MAX_BODY: u64 = 64 << 20;
/// Longest `--timeout`.
pub const MAX_TIMEOUT: f64 = 300.0;
/// Duration when neither `--duration` nor `--requests` is given.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// Report format on standard output.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Text, a few lines.
    Text,
    /// JSON (schema `fcgi-conformance-load/1`).
    Json,
}

/// Flags of `fcgi-conformance load`.
#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// The application's address: HOST:PORT, [::1]:PORT or unix:/path (loopback only).
    #[arg(long, value_name = "ADDR", conflicts_with = "spawn")]
    pub connect: Option<String>,
    /// Start the application with a listening socket on descriptor 0 (§2.2), as `app --spawn` does.
    #[arg(long, value_name = "CMD")]
    pub spawn: Option<String>,
    /// Transport connections, each a closed loop (1 to 1024).
    #[arg(long, short = 'c', default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=i64::from(MAX_CONNECTIONS)))]
    pub connections: u16,
    /// Requests in flight per connection (1 to 256); above 1 only where the
    /// application says FCGI_MPXS_CONNS=1, otherwise clamped to 1 with a note.
    #[arg(long, short = 'm', default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=i64::from(MAX_IN_FLIGHT)))]
    pub in_flight: u16,
    /// How long to start requests, e.g. 10s, 500ms, 2m (at most 10m; default 10s).
    #[arg(long, short = 'D', value_name = "TIME", conflicts_with = "requests")]
    pub duration: Option<String>,
    /// Requests to make in all, instead of a duration (1 to 100000000).
    #[arg(long, short = 'n', value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=MAX_REQUESTS))]
    pub requests: Option<u64>,
    /// Add NAME=VALUE to every request's params (repeatable), e.g. SCRIPT_FILENAME=/srv/echo.php.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Send this file's bytes as every request's body (FCGI_STDIN).
    #[arg(long, value_name = "FILE", conflicts_with = "data_size")]
    pub data: Option<std::path::PathBuf>,
    /// Send a body of N bytes ('x') with every request (at most 64 MiB).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u64).range(0..=MAX_BODY))]
    pub data_size: Option<u64>,
    /// Seconds to wait for a connect or for the next bytes of a response.
    #[arg(long, default_value_t = 3.0, value_name = "SECS")]
    pub timeout: f64,
    /// Report format on standard output.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Where the load goes.
enum Target {
    Connect(Addr),
    Spawn(String),
}

/// Everything the flags say, checked.
struct Checked {
    target: Target,
    connections: usize,
    in_flight: usize,
    duration: Duration,
    requests: Option<u64>,
    params: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    timeout: Duration,
}

/// Parses `10s`, `500ms`, `2m` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = crate::span::parse_span(
        s,
        "--duration",
        "10s, 500ms or 2m",
        &[("ms", 0.001), ("s", 1.0), ("m", 60.0)],
    )?;
    if d > MAX_DURATION {
        return Err(format!(
            "--duration {s} is longer than the cap of {}s: give a shorter run",
            MAX_DURATION.as_secs()
        ));
    }
    Ok(d)
}

fn loopback_only(addr: &Addr) -> Result<(), String> {
    match addr {
        Addr::Tcp(a) if !a.ip().is_loopback() => Err(format!(
            "--connect {a}: load goes to loopback addresses only (127.0.0.1, [::1], unix:PATH)"
        )),
        _ => Ok(()),
    }
}

fn check(args: &LoadArgs) -> Result<Checked, String> {
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= MAX_TIMEOUT) {
        return Err(format!(
            "--timeout {} is out of range: give seconds above 0, at most {MAX_TIMEOUT}",
            args.timeout
        ));
    }
    let target = match (&args.connect, &args.spawn) {
        (Some(a), _) => {
            let addr = a.parse::<Addr>().map_err(|e| format!("--connect: {e}"))?;
            loopback_only(&addr)?;
            Target::Connect(addr)
        }
        (None, Some(cmd)) if !cmd.trim().is_empty() => Target::Spawn(cmd.clone()),
        _ => {
            return Err(
                "give the application: --connect ADDR (HOST:PORT, [::1]:PORT, unix:PATH) or --spawn CMD"
                    .into(),
            )
        }
    };
    let params = args
        .params
        .iter()
        .map(|p| match p.split_once('=') {
            Some((n, v)) if !n.is_empty() => Ok((n.as_bytes().to_vec(), v.as_bytes().to_vec())),
            _ => Err(format!("--param '{p}' is not NAME=VALUE")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let body = match (&args.data, args.data_size) {
        (Some(path), _) => {
            let meta = std::fs::metadata(path)
                .map_err(|e| format!("--data {}: {e} (give a readable file)", path.display()))?;
            if meta.len() > MAX_BODY {
                return Err(format!(
                    "--data {}: {} bytes is over the cap of {MAX_BODY} bytes",
                    path.display(),
                    meta.len()
                ));
            }
            std::fs::read(path)
                .map_err(|e| format!("--data {}: {e} (give a readable file)", path.display()))?
        }
        (None, Some(n)) => vec![b'x'; usize::try_from(n).unwrap_or(0)],
        (None, None) => Vec::new(),
    };
    let duration = match &args.duration {
        Some(d) => parse_duration(d)?,
        None if args.requests.is_some() => MAX_DURATION,
        None => DEFAULT_DURATION,
    };
    Ok(Checked {
        target,
        connections: usize::from(args.connections),
        in_flight: usize::from(args.in_flight),
        duration,
        requests: args.requests,
        params,
        body,
        timeout: Duration::from_secs_f64(args.timeout),
    })
}

/// What GET_VALUES said (§4.1).
#[derive(Debug, Default)]
struct Values {
    mpxs_conns: Option<bool>,
    max_reqs: Option<u64>,
}

/// Connects once and asks GET_VALUES for FCGI_MPXS_CONNS and FCGI_MAX_REQS,
/// over the driver ([`crate::driver`], no party: the answer is judged here).
/// A refused connect is an unusable target; silence or a close is not
/// (many applications ignore GET_VALUES): the values stay unknown.
async fn probe(addr: &Addr, timeout: Duration) -> Result<Values, String> {
    let s = target::connect(addr, timeout).await.map_err(|e| {
        format!("cannot connect to {addr}: {e} (start the application there, or give --spawn CMD)")
    })?;
    let mut q = Vec::new();
    fcgi_proto::encoder::Encoder::default()
        .get_values([MPXS_CONNS.as_bytes(), MAX_REQS.as_bytes()], &mut q)
        .map_err(|e| format!("cannot encode GET_VALUES: {e}"))?;
    let (mut rd, mut wr) = Driver::new(s, Raw).with_read_buffer(4096).into_parts();
    if wr.send_raw(&q).await.is_err() {
        return Ok(Values::default());
    }
    let until = Instant::now() + timeout;
    // Bounded: the decoder's buffer, the deadline and at most 64 reads.
    for _ in 0..64 {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rd.fill()).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => break,
        }
        while let Ok(Some(r)) = rd.next_record() {
            if r.record_type() == RecordType::GetValuesResult {
                let find = |name: &str| fcgi_proto::name_value::find(r.content, name.as_bytes());
                return Ok(Values {
                    mpxs_conns: find(MPXS_CONNS).map(|v| v == b"1"),
                    max_reqs: find(MAX_REQS)
                        .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok()),
                });
            }
        }
    }
    Ok(Values::default())
}

/// Runs `load` with checked flags; see the module documentation for exit codes.
pub async fn main(args: LoadArgs) -> ExitCode {
    let checked = match check(&args) {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    let mut child = None;
    let (addr, label) = match &checked.target {
        Target::Connect(a) => (a.clone(), a.to_string()),
        Target::Spawn(cmd) => match crate::app::spawned::start(cmd) {
            Ok((c, a)) => {
                child = Some(c);
                (a, format!("spawned '{cmd}'"))
            }
            Err(e) => return usage_error(&format!("--spawn: {e}")),
        },
    };
    let code = run(&checked, &addr, &label, args.format, child.as_mut()).await;
    if let Some(mut c) = child {
        c.stop().await;
    }
    code
}

async fn run(
    checked: &Checked,
    addr: &Addr,
    label: &str,
    format: Format,
    child: Option<&mut crate::spawn::Child>,
) -> ExitCode {
    let values = match probe(addr, checked.timeout).await {
        Ok(v) => v,
        Err(e) => {
            let why = match child {
                Some(c) => match c.exited_now() {
                    Some(exit) => {
                        format!("{e}; the spawned application {exit} ({})", c.output_line())
                    }
                    None => e,
                },
                None => e,
            };
            return usage_error(&why);
        }
    };
    let mut notes = Vec::new();
    let mut in_flight = checked.in_flight;
    if in_flight > 1 && values.mpxs_conns != Some(true) {
        notes.push(format!(
            "--in-flight {in_flight} clamped to 1: the application {} (§4.1, §3.3)",
            match values.mpxs_conns {
                Some(false) => "says FCGI_MPXS_CONNS=0",
                _ => "does not say FCGI_MPXS_CONNS=1 in answer to GET_VALUES",
            }
        ));
        in_flight = 1;
    }
    let params_block = match fcgi_proto::name_value::encode_pairs(
        checked
            .params
            .iter()
            .map(|(n, v)| (n.as_slice(), v.as_slice())),
    ) {
        Ok(b) => b,
        Err(e) => return usage_error(&format!("--param: {e}")),
    };
    let t0 = Instant::now();
    let plan = Arc::new(Plan {
        addr: addr.clone(),
        in_flight,
        params_block,
        body: checked.body.clone(),
        timeout: checked.timeout,
        deadline: t0 + checked.duration,
        budget: AtomicU64::new(checked.requests.unwrap_or(u64::MAX)),
    });
    let workers: Vec<_> = (0..checked.connections)
        .map(|_| tokio::spawn(conn::worker(plan.clone())))
        .collect();
    let mut total = Stats::new();
    for w in workers {
        match w.await {
            Ok(s) => total.merge(s),
            Err(e) => total.note(format!("a connection's task failed: {e}")),
        }
    }
    let elapsed = t0.elapsed();
    for n in notes.into_iter().rev() {
        total.notes.insert(0, n);
    }
    let summary = Summary {
        target: label.to_string(),
        connections: checked.connections,
        in_flight,
        mpxs_conns: values.mpxs_conns,
        max_reqs: values.max_reqs,
        requests_asked: checked.requests,
        elapsed,
        stats: total,
    };
    let text = match format {
        Format::Text => summary.text(),
        Format::Json => summary.json(),
    };
    let code = if summary.stats.violation_count() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    write_or_fail(&text, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_are_capped() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("11m").is_err());
    }

    #[test]
    fn only_loopback_is_loaded() {
        let far: Addr = "192.0.2.1:9000".parse().unwrap_or_else(|_| unreachable!());
        assert!(loopback_only(&far).is_err());
        let near: Addr = "[::1]:9000".parse().unwrap_or_else(|_| unreachable!());
        assert!(loopback_only(&near).is_ok());
    }
}
