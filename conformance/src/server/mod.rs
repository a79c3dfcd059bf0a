//! `fcgi-conformance server`: the runner plays the FastCGI application
//! behind a web server and judges what the server sends and how it copes
//! with what an application may send back.
//!
//! The runner listens on `--listen` (default an ephemeral 127.0.0.1 port),
//! sends HTTP/1.1 requests to `--http`, and for each case answers the
//! FastCGI requests the server forwards. With no `--http`, the bundled
//! reference web server ([`reference`]) runs in-process in front of the
//! runner. Cases run one after the other: connections a server keeps open
//! carry requests of later cases, so they cannot share the listener safely.
//!
//! Running the plain cases side by side (issue #16) would need the
//! application side to route per request, not per connection: each
//! BEGIN_REQUEST held until its PARAMS name the case's REQUEST_URI, a
//! transcript tap that splits a shared connection's records by request id,
//! and a case's leftover requests ended rather than their connection
//! closed. It is not built, because it cannot pay: the cases that take the
//! suite's time all judge a connection or break one, so they run alone
//! whatever `--jobs` says ([`crate::suites::Kind`]). Measured on the eight
//! real web-server configurations (conformance/peers/run-server-suite.sh,
//! `--timeout 2`, three sweeps on a shared 2-core machine): whole runs of
//! 56 ms (nginx) to 7.8 s (lighttpd), of which the 20 plain cases take
//! 38-669 ms together, so running all of them at once (their sum less the
//! slowest) would save 15-121 ms a run; the rest is idle-close,
//! stale-connection, client-disconnect, malformed-record and close-mid-body
//! waiting (bounded by `--timeout`) for what a server does to a connection.

pub mod harness;
pub mod http;
pub mod reference;
pub mod runner;

#[cfg(feature = "cli")]
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[cfg(feature = "cli")]
use clap::Args;

use crate::case::{selected, CaseInfo, CaseResult, Suite};
use crate::client::Faults;
#[cfg(feature = "cli")]
use crate::output::{emit, usage_error, RunArgs};
#[cfg(feature = "cli")]
use crate::preflight;
use crate::progress::Observer;
#[cfg(feature = "cli")]
use crate::progress::Progress;
use crate::report::Report;
use crate::spawn;
use crate::suites::server::Ctx;
use crate::target::{Addr, Listener};
use harness::AppSide;
use http::Url;

#[cfg(feature = "cli")]
/// Flags of `fcgi-conformance server`.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Common flags.
    #[command(flatten)]
    pub run: RunArgs,
    /// Where the runner listens for the web server's FastCGI connections
    /// (`127.0.0.1:PORT`, `[::1]:PORT`, `unix:/path`); default 127.0.0.1 on a free port.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// The URL the web server forwards to the runner, e.g. `http://127.0.0.1:8080/`.
    /// Without it the bundled reference web server is tested.
    #[arg(long, value_name = "URL")]
    pub http: Option<String>,
    /// A URL the web server first sends through the Authorizer role (§6.3);
    /// without it the Authorizer cases are skipped.
    #[arg(long, value_name = "URL")]
    pub authorizer: Option<String>,
    /// Start the web server with this shell command (stopped with its process
    /// group at the end); `{listen}` in it is replaced by the runner's address, which is
    /// also in the environment as FCGI_CONFORMANCE_LISTEN. Needs --http and --listen.
    #[arg(long, value_name = "CMD")]
    pub spawn: Option<String>,
}

/// Every case of the web-server suite.
pub fn cases() -> Vec<CaseInfo> {
    crate::suites::server::all()
        .into_iter()
        .map(|c| c.info)
        .collect()
}

/// How the selected cases run: their bounds, the selection, how many times
/// (`--repeat`) and who is told of each finished case.
#[derive(Clone)]
pub struct Plan {
    /// Bound on every wait.
    pub timeout: Duration,
    /// `--only` patterns.
    pub only: Vec<String>,
    /// `--skip` patterns.
    pub skip: Vec<String>,
    /// Times the selection runs, one after the other (at least 1).
    pub repeat: usize,
    /// Told of each case as it finishes, if set.
    pub observer: Option<Observer>,
}

impl Default for Plan {
    /// Every case once, 3 s per wait, no observer.
    fn default() -> Self {
        Plan {
            timeout: Duration::from_secs(3),
            only: Vec::new(),
            skip: Vec::new(),
            repeat: 1,
            observer: None,
        }
    }
}

/// Runs the selected cases against a web server that forwards `http` to
/// the runner's `listener`, one case after the other.
pub async fn run_cases(
    listener: Listener,
    http: Url,
    authorizer: Option<Url>,
    timeout: Duration,
    only: &[String],
    skip: &[String],
) -> Vec<CaseResult> {
    let plan = Plan {
        timeout,
        only: only.to_vec(),
        skip: skip.to_vec(),
        ..Plan::default()
    };
    run_planned(listener, http, authorizer, &plan)
        .await
        .pop()
        .unwrap_or_default()
}

/// Runs the selection `plan.repeat` times on one listener (the server's
/// kept connections carry over from run to run, as from case to case);
/// one list of results per run.
pub async fn run_planned(
    listener: Listener,
    http: Url,
    authorizer: Option<Url>,
    plan: &Plan,
) -> Vec<Vec<CaseResult>> {
    let runner = runner::ServerRunner::new(
        Ctx {
            app: AppSide::start(listener),
            http,
            authorizer,
            timeout: plan.timeout,
        },
        plan.timeout,
    );
    let mut runs = Vec::new();
    for _ in 0..plan.repeat.max(1) {
        runs.push(run_selection(&runner, plan).await);
    }
    runs
}

/// One run of the selection through the shared scheduler, one case at a
/// time: connections a server keeps open carry requests of later cases
/// (why not more at once: the module's documentation).
async fn run_selection(runner: &runner::ServerRunner, plan: &Plan) -> Vec<CaseResult> {
    let cases: Vec<_> = crate::suites::server::all()
        .into_iter()
        .filter(|c| selected(c.info.id, &plan.only, &plan.skip))
        .collect();
    crate::schedule::run_all(
        cases,
        runner,
        1,
        &mut crate::schedule::NoKeeper,
        &plan.observer,
    )
    .await
    .results
}

/// Runs the suite against the bundled reference web server with the given
/// injected faults (none for the faithful one). Used by `fcgi-conformance
/// server` with no target and by the self-check.
pub async fn run_reference(
    faults: Faults,
    timeout: Duration,
    only: &[String],
    skip: &[String],
) -> std::io::Result<Vec<CaseResult>> {
    let listener = Listener::bind(&Addr::Tcp(([127, 0, 0, 1], 0).into())).await?;
    let plan = Plan {
        timeout,
        only: only.to_vec(),
        skip: skip.to_vec(),
        ..Plan::default()
    };
    Ok(run_reference_on(listener, faults, &plan)
        .await?
        .pop()
        .unwrap_or_default())
}

pub(crate) async fn run_reference_on(
    listener: Listener,
    faults: Faults,
    plan: &Plan,
) -> std::io::Result<Vec<Vec<CaseResult>>> {
    let app = listener.local_addr()?;
    let mut cfg = reference::RefConfig::new(app);
    cfg.timeout = plan.timeout;
    cfg.faults = faults;
    let server = reference::RefServer::start(cfg).await?;
    let a = server.addr();
    let base = Url {
        host: a.ip().to_string(),
        port: a.port(),
        path: "/".into(),
    };
    let auth = Url {
        path: "/auth/protected/".into(),
        ..base.clone()
    };
    let runs = run_planned(listener, base, Some(auth), plan).await;
    server.stop(Duration::from_secs(1)).await;
    Ok(runs)
}

pub(crate) async fn http_reachable(url: &Url, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    let addr = format!("{}:{}", url.host, url.port);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if let Ok(Ok(_)) = tokio::time::timeout(
            left.min(Duration::from_secs(1)),
            tokio::net::TcpStream::connect(&addr),
        )
        .await
        {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One report of the runs of a selection (see [`Report::repeated`]).
pub(crate) fn report_of(
    target: &str,
    t0: Instant,
    runs: Vec<Vec<CaseResult>>,
    plan: &Plan,
    probes: crate::report::ServerProbes,
) -> Option<Report> {
    // Each run's wall time is not kept apart; the whole goes to the report.
    let reports: Vec<Report> = runs
        .into_iter()
        .map(|r| Report::new(Suite::Server, target.to_string(), Duration::ZERO, r))
        .collect();
    let mut report = Report::repeated(reports)?;
    report.duration = t0.elapsed();
    report.started_at = std::time::SystemTime::now()
        .checked_sub(report.duration)
        .unwrap_or(std::time::SystemTime::UNIX_EPOCH);
    report.options = crate::report::RunOptions {
        timeout_ms: u64::try_from(plan.timeout.as_millis()).unwrap_or(u64::MAX),
        only: plan.only.clone(),
        skip: plan.skip.clone(),
        repeat: plan.repeat,
        ..crate::report::RunOptions::default()
    };
    report.probes = Some(crate::report::Probes::Server(probes));
    Some(report)
}

#[cfg(feature = "cli")]
/// Runs the suite (`--repeat` times); the exit code follows
/// [`crate::output::emit`]. Every flag and file is checked first.
pub async fn main(args: ServerArgs) -> ExitCode {
    let timeout = match args.run.timeout() {
        Ok(t) => t,
        Err(e) => return usage_error(&e),
    };
    let checked = match preflight::check(&args.run, Suite::Server, &cases()) {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    let repeat = usize::from(args.run.repeat);
    let progress = Progress::on_terminal(checked.selected, repeat);
    let plan = Plan {
        timeout,
        only: args.run.only.clone(),
        skip: args.run.skip.clone(),
        repeat,
        observer: progress.as_ref().map(Progress::observer),
    };
    let listen: Addr = match args.listen.as_deref().unwrap_or("127.0.0.1:0").parse() {
        Ok(a) => a,
        Err(e) => return usage_error(&format!("--listen: {e}")),
    };
    let listener = match Listener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => return usage_error(&format!("cannot listen on {listen}: {e}")),
    };
    let parse_url = |s: &Option<String>, flag: &str| -> Result<Option<Url>, ExitCode> {
        match s {
            None => Ok(None),
            Some(u) => u
                .parse::<Url>()
                .map(Some)
                .map_err(|e| usage_error(&format!("{flag}: {e}"))),
        }
    };
    let http = match parse_url(&args.http, "--http") {
        Ok(u) => u,
        Err(c) => return c,
    };
    let authorizer = match parse_url(&args.authorizer, "--authorizer") {
        Ok(u) => u,
        Err(c) => return c,
    };
    let t0 = Instant::now();
    let Some(http) = http else {
        if args.spawn.is_some() {
            return usage_error("--spawn needs --http: the URL the spawned server serves");
        }
        let runs = run_reference_on(listener, Faults::default(), &plan).await;
        progress.iter().for_each(Progress::finish);
        let runs = match runs {
            Ok(r) => r,
            Err(e) => return usage_error(&format!("cannot start the reference web server: {e}")),
        };
        let probes = crate::report::ServerProbes {
            http: None,
            authorizer: None,
            spawned: false,
        };
        return match report_of("bundled reference web server", t0, runs, &plan, probes) {
            Some(report) => emit(&report, &args.run, &checked),
            None => usage_error("no run took place (give --repeat 1 or more)"),
        };
    };
    let mut spawned = None;
    if let Some(cmd) = &args.spawn {
        let shown = match listener.local_addr() {
            Ok(a) => a.to_string(),
            Err(e) => return usage_error(&format!("listener address: {e}")),
        };
        match spawn::Child::start(spawn::Spec {
            cmd: cmd.replace("{listen}", &shown),
            stdin: None,
            env: vec![("FCGI_CONFORMANCE_LISTEN".into(), shown)],
        }) {
            Ok(c) => spawned = Some(c),
            Err(e) => return usage_error(&format!("--spawn: {e}")),
        }
    }
    let wait = if spawned.is_some() {
        timeout.max(Duration::from_secs(10))
    } else {
        timeout
    };
    let up = match spawned.as_mut() {
        None => http_reachable(&http, wait).await.then_some(()).ok_or_else(|| {
            format!("nothing answers at {http}: start the web server (or give --spawn) and check --http")
        }),
        // A server that dies at start-up is reported at once, not after the wait.
        Some(c) => tokio::select! {
            biased;
            e = c.exited() => Err(format!(
                "the spawned web server {e} before answering at {http}{}: {}",
                if e == spawn::ExitDesc::Status(0) {
                    " (one that daemonizes must be run in the foreground, e.g. nginx -g 'daemon off;')"
                } else {
                    ""
                },
                c.output_line()
            )),
            ok = http_reachable(&http, wait) => ok.then_some(()).ok_or_else(|| format!(
                "nothing answers at {http} within {:.0}s; the spawned web server is still running \
                 (check --http against its configuration): {}",
                wait.as_secs_f64(),
                c.output_line()
            )),
        },
    };
    if let Err(e) = up {
        if let Some(mut s) = spawned {
            s.stop().await;
        }
        return usage_error(&e);
    }
    let target = http.to_string();
    let probes = crate::report::ServerProbes {
        http: Some(target.clone()),
        authorizer: authorizer.as_ref().map(ToString::to_string),
        spawned: spawned.is_some(),
    };
    let runs = run_planned(listener, http, authorizer, &plan).await;
    progress.iter().for_each(Progress::finish);
    if let Some(mut s) = spawned {
        s.stop().await;
    }
    match report_of(&target, t0, runs, &plan, probes) {
        Some(report) => emit(&report, &args.run, &checked),
        None => usage_error("no run took place (give --repeat 1 or more)"),
    }
}
