//! `fcgi-conformance app`: the runner plays the web server and judges a
//! FastCGI application against the spec.
//!
//! Cases that only send legal traffic run concurrently (`--jobs`); hostile
//! ones run alone afterwards, each followed by a health check on a fresh
//! connection. A case that leaves the application unable to serve fails.

pub mod capacity;
pub mod conn;
pub mod ctx;
pub mod opening;
pub mod reference;
pub mod request;
pub mod runner;
pub mod spawned;

#[cfg(feature = "cli")]
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[cfg(feature = "cli")]
use clap::Args;

use self::ctx::{well_formed, Ctx, Probed};
use self::reference::{Fault, Reference};
use self::request::parse_echo;
use crate::case::{selected, CaseInfo, Outcome, Suite};
#[cfg(feature = "cli")]
use crate::output::{emit, usage_error, RunArgs};
#[cfg(feature = "cli")]
use crate::preflight;
use crate::progress::Observer;
#[cfg(feature = "cli")]
use crate::progress::Progress;
use crate::report::Report;
use crate::schedule;
use crate::suites::app::Case;
use crate::target::Addr;

#[cfg(feature = "cli")]
/// Flags of `fcgi-conformance app`.
#[derive(Args, Debug, Clone)]
pub struct AppArgs {
    /// The application's address: HOST:PORT, [::1]:PORT or unix:/path.
    #[arg(long, value_name = "ADDR", conflicts_with = "spawn")]
    pub connect: Option<String>,
    /// Start the application with a listening socket on descriptor 0 (§2.2).
    #[arg(long, value_name = "CMD")]
    pub spawn: Option<String>,
    /// Add NAME=VALUE to every request's params (repeatable), e.g. SCRIPT_FILENAME=/srv/echo.php.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Run the bundled reference application with deliberate defects (self-check; repeatable).
    #[arg(long = "fault", value_enum, hide = true)]
    pub faults: Vec<Fault>,
    /// Cases run at once (where safe to run concurrently), 1 to 64.
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Common flags.
    #[command(flatten)]
    pub run: RunArgs,
}

#[cfg(feature = "cli")]
/// Flags of `fcgi-conformance reference-app`.
#[derive(Args, Debug, Clone)]
pub struct ReferenceArgs {
    /// Listen here (HOST:PORT or unix:/path); without it, accept on descriptor 0
    /// as a FastCGI application started by a web server does (§2.2).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Deliberate defects, for testing a runner (repeatable).
    #[arg(long = "fault", value_enum)]
    pub faults: Vec<Fault>,
}

#[cfg(feature = "cli")]
/// Runs the bundled reference application until the process is stopped.
pub async fn reference_main(args: ReferenceArgs) -> ExitCode {
    let listener = match &args.listen {
        Some(a) => match a.parse::<Addr>() {
            Ok(addr) => crate::target::Listener::bind(&addr).await,
            Err(e) => return usage_error(&format!("--listen: {e}")),
        },
        None => crate::target::Listener::from_stdin(),
    };
    let listener = match listener {
        Ok(l) => l,
        Err(e) => {
            return usage_error(&format!(
                "cannot listen: {e} (give --listen ADDR, or start it with a listening socket on descriptor 0)"
            ))
        }
    };
    // FCGI_WEB_SERVER_ADDRS, when bound, names the peers to serve (§3.2).
    let allowed = std::env::var("FCGI_WEB_SERVER_ADDRS")
        .ok()
        .map(|v| reference::web_server_addrs(&v));
    let mut r = match Reference::serve_allowing(listener, &args.faults, allowed) {
        Ok(r) => r,
        Err(e) => return usage_error(&format!("cannot serve: {e}")),
    };
    eprintln!("fcgi-conformance reference-app: listening on {}", r.addr());
    tokio::select! {
        _ = r.wait() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    ExitCode::SUCCESS
}

/// Every case of the application suite.
pub fn cases() -> Vec<CaseInfo> {
    crate::suites::app::all()
        .into_iter()
        .map(|c| c.info)
        .collect()
}

/// What the suite runs against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An application already listening.
    Connect(Addr),
    /// An application the runner starts (§2.2).
    Spawn(String),
    /// The bundled reference application, possibly with faults.
    Reference(Vec<Fault>),
}

/// Options of one run, the CLI's flags in typed form.
#[derive(Clone)]
pub struct Options {
    /// Target.
    pub target: Target,
    /// Extra params.
    pub params: request::Params,
    /// Read and connect timeout.
    pub timeout: Duration,
    /// Concurrency of the concurrent cases.
    pub jobs: usize,
    /// `--only` patterns.
    pub only: Vec<String>,
    /// `--skip` patterns.
    pub skip: Vec<String>,
    /// Told of each case as it finishes (the live progress line), if set.
    pub observer: Option<Observer>,
    /// What the runner keeps of a response (`crate::bounds`).
    pub bounds: crate::bounds::Bounds,
}

impl Default for Options {
    /// The bundled reference application, 3 s timeout, 4 jobs, no params,
    /// every case, no observer: what `fcgi-conformance app` does with no flags.
    fn default() -> Self {
        Options {
            target: Target::Reference(Vec::new()),
            params: Vec::new(),
            timeout: Duration::from_secs(3),
            jobs: 4,
            only: Vec::new(),
            skip: Vec::new(),
            observer: None,
            bounds: crate::bounds::Bounds::default(),
        }
    }
}

/// Why [`run`] returned no report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The options cannot describe a run (e.g. `jobs: 0`): fix the caller.
    Usage(String),
    /// The target cannot be tested: it cannot be started, reached or probed.
    Target(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Usage(m) | RunError::Target(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for RunError {}

impl From<String> for RunError {
    /// The start-up steps report a target they cannot use as a sentence.
    fn from(m: String) -> Self {
        RunError::Target(m)
    }
}

#[cfg(feature = "cli")]
fn parse_params(raw: &[String]) -> Result<request::Params, String> {
    raw.iter()
        .map(|p| match p.split_once('=') {
            Some((n, v)) if !n.is_empty() => Ok((n.as_bytes().to_vec(), v.as_bytes().to_vec())),
            _ => Err(format!("--param '{p}' is not NAME=VALUE")),
        })
        .collect()
}

#[cfg(feature = "cli")]
/// Runs the suite (`--repeat` times); the exit code follows
/// [`crate::output::emit`]. Every flag and file is checked first.
pub async fn main(args: AppArgs) -> ExitCode {
    let timeout = match args.run.timeout() {
        Ok(t) => t,
        Err(e) => return usage_error(&e),
    };
    let checked = match preflight::check(&args.run, Suite::App, &cases()) {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    let params = match parse_params(&args.params) {
        Ok(p) => p,
        Err(e) => return usage_error(&e),
    };
    let target = match (&args.connect, &args.spawn) {
        (Some(a), _) => match a.parse::<Addr>() {
            Ok(a) => Target::Connect(a),
            Err(e) => return usage_error(&format!("--connect: {e}")),
        },
        (None, Some(cmd)) => Target::Spawn(cmd.clone()),
        (None, None) => Target::Reference(args.faults.clone()),
    };
    let opts = Options {
        target,
        params,
        timeout,
        jobs: usize::from(args.jobs),
        only: args.run.only.clone(),
        skip: args.run.skip.clone(),
        observer: None,
        bounds: crate::bounds::Bounds::default(),
    };
    let repeat = usize::from(args.run.repeat);
    let progress = Progress::on_terminal(checked.selected, repeat);
    let opts = Options {
        observer: progress.as_ref().map(Progress::observer),
        ..opts
    };
    // The library's way in, so the CLI and a Rust caller run the same thing.
    let result = crate::api::AppSuite::from_options(opts, repeat).run().await;
    progress.iter().for_each(Progress::finish);
    match result {
        Ok(report) => emit(&report, &args.run, &checked),
        Err(e) => usage_error(&e.to_string()),
    }
}

/// Probes the target: a FastCGI peer at all (else the reason for exit 2),
/// echo contract, baseline status, MPXS. One connection at a time.
async fn probe(
    addr: &Addr,
    timeout: Duration,
    params: &[(Vec<u8>, Vec<u8>)],
    child: Option<&mut crate::spawn::Child>,
) -> Result<Probed, String> {
    let ctx = Ctx::new(addr.clone(), timeout, params.to_vec(), child.is_some());
    let req = ctx.req(1, b"ping").param("ECHO_PROBE", "1");
    opening::check(addr, timeout, &req.bytes(), child).await?;
    let mut probed = Probed::default();
    let began = Instant::now();
    if let Ok((conn, resp)) = ctx.serve(&req, None).await {
        probed.round_trip = Some(began.elapsed());
        if let Ok(out) = well_formed(&conn, &resp)
            .or_else(|_| request::cgi(&resp.stdout).map_err(|_| Outcome::skip("")))
        {
            probed.baseline_status = Some(out.status);
            probed.echo = parse_echo(out.body).is_some();
        }
    }
    if let Ok(mut c) = ctx.conn("probe").await {
        let mut b = Vec::new();
        let _ = fcgi_proto::encoder::Encoder::default()
            .get_values([fcgi_proto::management::MPXS_CONNS.as_bytes()], &mut b);
        if c.send(&b).await.is_ok() {
            if let Ok(r) = c.next_record().await {
                if r.record_type == fcgi_proto::RecordType::GetValuesResult {
                    probed.mpxs_conns =
                        fcgi_proto::name_value::find(&r.content, b"FCGI_MPXS_CONNS")
                            .map(|v| v == b"1");
                }
            }
        }
    }
    // A target that answers GET_VALUES at all is asked once whether it
    // does so after a request on a kept connection too.
    if probed.mpxs_conns.is_some() {
        probed.barrier = answers_barrier(&ctx).await;
    }
    Ok(probed)
}

/// Whether the target answers a GET_VALUES sent after a request's
/// END_REQUEST on the same kept connection (§4.1, §3.5), within the timeout.
async fn answers_barrier(ctx: &Ctx) -> bool {
    let req = ctx.req(1, b"barrier probe").keep(true);
    let Ok(mut c) = ctx.conn("barrier probe").await else {
        return false;
    };
    if c.send(&req.bytes()).await.is_err() || c.response(1).await.is_err() {
        return false;
    }
    if c.send(&conn::barrier_bytes()).await.is_err() {
        return false;
    }
    let until = tokio::time::Instant::now() + ctx.timeout;
    // Bounded: each turn takes one record or ends the wait.
    for _ in 0..64 {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        match c.next_record_within(left).await {
            Ok(r) if r.record_type == fcgi_proto::RecordType::GetValuesResult => {
                c.shutdown().await;
                return true;
            }
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

/// Runs the suite against a target and returns the report.
pub async fn run(opts: Options) -> Result<Report, RunError> {
    if opts.jobs == 0 {
        return Err(RunError::Usage(
            "jobs is 0: at least one case must be able to run (give 1 or more)".into(),
        ));
    }
    let started = Instant::now();
    let mut reference = None;
    let mut spawned = None;
    let (addr, label, is_spawn) = match &opts.target {
        Target::Connect(a) => (a.clone(), a.to_string(), false),
        Target::Spawn(cmd) => {
            let (s, a) = spawned::start(cmd)?;
            spawned = Some(s);
            (a, format!("spawned '{cmd}'"), true)
        }
        Target::Reference(faults) => {
            let r = Reference::start(faults)
                .await
                .map_err(|e| format!("cannot start the reference application: {e}"))?;
            let a = r.addr().clone();
            reference = Some(r);
            let label = if faults.is_empty() {
                "bundled reference application".to_string()
            } else {
                format!("bundled reference application with faults {faults:?}")
            };
            (a, label, false)
        }
    };
    let probed = match probe(&addr, opts.timeout, &opts.params, spawned.as_mut()).await {
        Ok(p) => p,
        Err(e) => {
            if let Some(mut s) = spawned {
                s.stop().await;
            }
            return Err(e.into());
        }
    };
    let all: Vec<Case> = crate::suites::app::all()
        .into_iter()
        .filter(|c| selected(c.info.id, &opts.only, &opts.skip))
        .collect();
    let runner = runner::AppRunner {
        template: Ctx {
            probed: probed.clone(),
            bounds: opts.bounds.clone(),
            spawn_cmd: match &opts.target {
                Target::Spawn(cmd) => Some(cmd.clone()),
                _ => None,
            },
            ..Ctx::new(addr.clone(), opts.timeout, opts.params.clone(), is_spawn)
        },
    };
    // A spawned application runs one case at a time, so a death is pinned
    // on its case; otherwise as many as the target takes, up to --jobs.
    let capacity = capacity::learn_capacity(&runner.template, opts.jobs).await;
    let runner = runner::AppRunner {
        template: Ctx {
            probed: Probed {
                at_once: capacity.connections,
                ..probed.clone()
            },
            ..runner.template
        },
    };
    let jobs = if is_spawn { 1 } else { capacity.jobs };
    let scheduled = match spawned.as_mut() {
        Some(s) => schedule::run_all(all, &runner, jobs, s, &opts.observer).await,
        None => {
            schedule::run_all(all, &runner, jobs, &mut schedule::NoKeeper, &opts.observer).await
        }
    };
    let results = scheduled.results;
    if let Some(mut s) = spawned {
        s.stop().await;
    }
    drop(reference);
    let mut report = Report::new(Suite::App, label, started.elapsed(), results);
    // Note what the probes learned, for readers of the report.
    report.target.push_str(&format!(
        " (echo contract: {}, FCGI_MPXS_CONNS: {}; capacity: {}; {}{})",
        if probed.echo { "yes" } else { "no" },
        probed
            .mpxs_conns
            .map_or("no answer".to_string(), |v| (v as u8).to_string()),
        capacity.reason,
        if probed.barrier {
            format!(
                "after END_REQUEST: a GET_VALUES barrier on the same connection, then a quiet {:.2}s",
                crate::suites::app::settle(opts.timeout, probed.round_trip).as_secs_f64()
            )
        } else {
            format!(
                "after END_REQUEST: quiet periods of {:.2}s (GET_VALUES is not answered on a kept connection)",
                crate::suites::app::quiet(opts.timeout).as_secs_f64()
            )
        },
        if is_spawn {
            "; spawned: one case at a time"
        } else {
            ""
        }
    ));
    report.stopped_after = scheduled.stopped_after.map(str::to_string);
    report.options = crate::report::RunOptions {
        timeout_ms: u64::try_from(opts.timeout.as_millis()).unwrap_or(u64::MAX),
        jobs: Some(opts.jobs),
        only: opts.only.clone(),
        skip: opts.skip.clone(),
        params: opts
            .params
            .iter()
            .map(|(n, v)| {
                format!(
                    "{}={}",
                    String::from_utf8_lossy(n),
                    String::from_utf8_lossy(v)
                )
            })
            .collect(),
        repeat: 1,
        ..crate::report::RunOptions::default()
    };
    report.probes = Some(crate::report::Probes::App(app_probes(
        &probed,
        &capacity,
        jobs,
        opts.timeout,
        is_spawn,
    )));
    Ok(report)
}

/// The report's structured form of what [`probe`] and the capacity probe
/// learned, and of what the runner decided from them.
fn app_probes(
    probed: &Probed,
    capacity: &capacity::Capacity,
    jobs: usize,
    timeout: Duration,
    is_spawn: bool,
) -> crate::report::AppProbes {
    use crate::report::{AfterEnd, AppProbes, Decided, GetValuesAnswers};
    let quiet = crate::suites::app::quiet(timeout);
    AppProbes {
        echo_contract: probed.echo,
        baseline_status: probed.baseline_status,
        get_values: GetValuesAnswers {
            mpxs_conns: probed.mpxs_conns,
            max_conns: capacity.max_conns,
        },
        connections_at_once: capacity.connections,
        decided: Decided {
            jobs,
            jobs_reason: if is_spawn {
                "the runner started the application: one case at a time".to_string()
            } else {
                capacity.reason.clone()
            },
            after_end_request: if probed.barrier {
                AfterEnd::Barrier
            } else {
                AfterEnd::QuietPeriod
            },
            quiet_period_ms: (!probed.barrier)
                .then(|| u64::try_from(quiet.as_millis()).unwrap_or(u64::MAX)),
            settle_ms: probed.barrier.then(|| {
                u64::try_from(crate::suites::app::settle(timeout, probed.round_trip).as_millis())
                    .unwrap_or(u64::MAX)
            }),
            params_held_open_ms: u64::try_from(
                crate::suites::app::held_open(timeout, probed.round_trip).as_millis(),
            )
            .unwrap_or(u64::MAX),
        },
    }
}
