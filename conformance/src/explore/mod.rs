//! `fcgi-conformance explore`: property-based testing of a live FastCGI
//! application (the runner plays the web server). Conversations are drawn
//! from seeded strategies ([`generate`]) over what the target serves,
//! turned into bytes ([`plan`]), run ([`run`]) and judged from their
//! recording ([`oracle`]); a failing one is shrunk ([`shrink`]) and saved
//! as a conversation file ([`crate::conversation`]) that `replay` runs
//! again. With `--side server` the target is a web server and the runner
//! plays the application behind it ([`server`]).
//! Exit 0: nothing found; 1: a finding; 2: bad flags or an unusable
//! target, said in one line before any conversation.

pub mod generate;
pub mod oracle;
pub mod plan;
#[cfg(feature = "cli")]
pub mod replay;
pub(crate) mod report;
pub mod rss;
pub mod run;
pub mod server;
pub mod session;
pub mod shrink;

use std::path::PathBuf;
#[cfg(feature = "cli")]
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[cfg(feature = "cli")]
use clap::Args;
use rand::rngs::ChaCha8Rng;
use rand::SeedableRng;

use crate::conversation::{Conversation, Side};
#[cfg(feature = "cli")]
use crate::output::{usage_error, write_or_fail};
use crate::target::Addr;
use report::{Found, Report};
use session::{Session, Target};

/// Longest `--time`.
pub const MAX_TIME: Duration = Duration::from_secs(24 * 3600);
/// Most conversations in one run.
pub const MAX_CONVERSATIONS: u64 = 10_000_000;
/// Most distinct findings one run shrinks and saves.
pub const MAX_FINDINGS: usize = 16;
/// Budget when neither `--time` nor `--conversations` is given.
pub const DEFAULT_TIME: Duration = Duration::from_secs(60);
/// Longest `--timeout`.
pub const MAX_TIMEOUT: f64 = 300.0;
/// Most conversations run at once (`--jobs`).
pub const MAX_JOBS: usize = 16;
/// Conversations run at once when `--jobs` is not given (the target's capacity bounds it further).
pub const DEFAULT_JOBS: usize = 4;

/// Report format on standard output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Format {
    /// Text, a few lines.
    Text,
    /// JSON (schema `fcgi-conformance-explore/1`).
    Json,
}

#[cfg(feature = "cli")]
/// Where the application is: the same flags as `app`.
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// The application's address: HOST:PORT, [::1]:PORT or unix:/path.
    /// Without it or --spawn, the bundled reference application.
    #[arg(long, value_name = "ADDR", conflicts_with = "spawn")]
    pub connect: Option<String>,
    /// Start the application with a listening socket on descriptor 0 (§2.2), as `app --spawn` does.
    #[arg(long, value_name = "CMD")]
    pub spawn: Option<String>,
    /// Add NAME=VALUE to every request's params (repeatable), e.g. SCRIPT_FILENAME=/srv/echo.php.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Seconds to wait for a connect or for the next bytes of an answer.
    #[arg(long, default_value_t = 3.0, value_name = "SECS")]
    pub timeout: f64,
    /// Report format on standard output.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[cfg(feature = "cli")]
/// Flags of `fcgi-conformance explore`.
#[derive(Args, Debug, Clone)]
pub struct ExploreArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The seed of the generator (printed at the start and in the report); random if not given.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// How long to explore, e.g. 60s, 500ms, 2m (default 60s unless --conversations is given).
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
    /// How many conversations to run (with --time, whichever ends first).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=MAX_CONVERSATIONS))]
    pub conversations: Option<u64>,
    /// Also send what a broken web server sends: unknown roles, malformed records.
    #[arg(long)]
    pub hostile: bool,
    /// Save each finding's conversation as first seen, unshrunk: a pinned
    /// run that only compares what it finds (each shrink is many live runs,
    /// some a --timeout long each) ends sooner.
    #[arg(long)]
    pub no_shrink: bool,
    /// Run up to N conversations at once (1 to 16, default 4), bounded by
    /// what the target shows it serves at once; --hostile runs one at a time.
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u8).range(1..=MAX_JOBS as i64))]
    pub jobs: Option<u8>,
    /// Stop after this many distinct findings (1 to 16).
    #[arg(long, value_name = "N", default_value_t = MAX_FINDINGS as u8,
          value_parser = clap::value_parser!(u8).range(1..=MAX_FINDINGS as i64))]
    pub findings: u8,
    /// Also write a JUnit XML report here (one failed testcase per finding).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Directory for the reproducers, one file per finding (created if missing).
    #[arg(long, value_name = "DIR", default_value = "fcgi-findings")]
    pub out: PathBuf,
    /// What the target is: a FastCGI application (the runner plays the web
    /// server) or a web server (the runner plays the application behind it).
    #[arg(long, value_enum, default_value_t = ExploreSide::App)]
    pub side: ExploreSide,
    /// With --side server: where the runner listens for the web server's
    /// FastCGI connections (default 127.0.0.1 on a free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// With --side server: the URL the web server forwards to the runner,
    /// e.g. http://127.0.0.1:8080/; without it the bundled reference web server.
    #[arg(long, value_name = "URL")]
    pub http: Option<String>,
}

#[cfg(feature = "cli")]
/// `explore --side`.
#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum ExploreSide {
    /// The target is a FastCGI application.
    App,
    /// The target is a web server.
    Server,
}

#[cfg(feature = "cli")]
/// The target flags, checked.
pub(crate) struct Checked {
    pub target: Target,
    pub fixed: Vec<(Vec<u8>, Vec<u8>)>,
    pub timeout: Duration,
}

/// Parses `10s`, `500ms`, `2m`, `1h` or a bare number of seconds.
pub fn parse_time(s: &str) -> Result<Duration, String> {
    let d = crate::span::parse_span(
        s,
        "--time",
        "60s, 500ms or 2m",
        &[("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)],
    )?;
    if d > MAX_TIME {
        return Err(format!(
            "--time {s} is over the cap of 24h: give a shorter run"
        ));
    }
    Ok(d)
}

#[cfg(feature = "cli")]
pub(crate) fn check_target(args: &TargetArgs) -> Result<Checked, String> {
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= MAX_TIMEOUT) {
        return Err(format!(
            "--timeout {} is out of range: give seconds above 0, at most {MAX_TIMEOUT}",
            args.timeout
        ));
    }
    let target = match (&args.connect, &args.spawn) {
        (Some(a), _) => Target::Connect(a.parse::<Addr>().map_err(|e| format!("--connect: {e}"))?),
        (None, Some(cmd)) if cmd.trim().is_empty() => {
            return Err("--spawn needs a command, e.g. --spawn './my-app'".into())
        }
        (None, Some(cmd)) => Target::Spawn(cmd.clone()),
        (None, None) => Target::Reference,
    };
    let fixed = args
        .params
        .iter()
        .map(|p| match p.split_once('=') {
            Some((n, v)) if !n.is_empty() => Ok((n.as_bytes().to_vec(), v.as_bytes().to_vec())),
            _ => Err(format!("--param '{p}' is not NAME=VALUE")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Checked {
        target,
        fixed,
        timeout: Duration::from_secs_f64(args.timeout),
    })
}

pub(crate) fn fresh_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ (u64::from(std::process::id()) << 32)
}

#[cfg(feature = "cli")]
/// The run's time budget: `--time`, or none when only `--conversations`
/// bounds it, or [`DEFAULT_TIME`] when neither is given.
fn time_budget(args: &ExploreArgs) -> Result<Option<Duration>, String> {
    match &args.time {
        Some(t) => parse_time(t).map(Some),
        None if args.conversations.is_some() => Ok(None),
        None => Ok(Some(DEFAULT_TIME)),
    }
}

#[cfg(feature = "cli")]
/// `--junit`, checked before the first conversation (either side): a path
/// that cannot be written is exit 2 then, not a lost report at the end.
fn check_junit(args: &ExploreArgs) -> Result<(), String> {
    match &args.junit {
        Some(p) => crate::preflight::check_file(p, "--junit"),
        None => Ok(()),
    }
}

#[cfg(feature = "cli")]
/// Writes the `--junit` report, if asked for; a failure is said on stderr
/// (the run's verdict stands).
fn write_junit(args: &ExploreArgs, xml: &str) {
    if let Some(p) = &args.junit {
        if let Err(e) = std::fs::write(p, xml) {
            crate::stdio::err_line(&format!(
                "fcgi-conformance: cannot write --junit {}: {e}",
                p.display()
            ));
        }
    }
}

#[cfg(feature = "cli")]
/// Runs `explore`; see the module documentation for exit codes.
pub async fn main(args: ExploreArgs) -> ExitCode {
    if args.side == ExploreSide::Server {
        return server_main(args).await;
    }
    if args.listen.is_some() || args.http.is_some() {
        return usage_error("--listen and --http are for a web server: add --side server");
    }
    let checked = match check_target(&args.target) {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    let time = match time_budget(&args) {
        Ok(t) => t,
        Err(e) => return usage_error(&e),
    };
    if let Err(e) = crate::preflight::check_dir(&args.out, "--out") {
        return usage_error(&e);
    }
    if let Err(e) = check_junit(&args) {
        return usage_error(&e);
    }
    let seed = args.seed.unwrap_or_else(fresh_seed);
    if args.target.format == Format::Text {
        crate::stdio::err_line(&format!(
            "explore: seed {seed} (run it again with --seed {seed})"
        ));
    }
    let mut session =
        match Session::open(checked.target, checked.timeout, checked.fixed, args.hostile).await {
            Ok(s) => s,
            Err(e) => return usage_error(&e),
        };
    let budget = Budget {
        time,
        conversations: args.conversations,
        findings: usize::from(args.findings),
        shrink: !args.no_shrink,
        jobs: args.jobs.map_or(DEFAULT_JOBS, usize::from),
    };
    let report = explore(&mut session, seed, budget, &args.out).await;
    session.close().await;
    write_junit(&args, &report.junit());
    let text = match args.target.format {
        Format::Text => report.text(),
        Format::Json => report.json(),
    };
    let code = if report.unusable.is_some() {
        ExitCode::from(2)
    } else if report.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    write_or_fail(&text, code)
}

/// When a run ends.
pub(crate) struct Budget {
    pub(crate) time: Option<Duration>,
    pub(crate) conversations: Option<u64>,
    pub(crate) findings: usize,
    /// Shrink each finding before saving it (else it is saved as first seen).
    pub(crate) shrink: bool,
    /// Conversations run at once at most; the target's capacity bounds it further.
    pub(crate) jobs: usize,
}

pub(crate) async fn explore(
    session: &mut Session,
    seed: u64,
    budget: Budget,
    out: &std::path::Path,
) -> Report {
    let time = budget.time;
    let t0 = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut report = Report {
        seed,
        target: session.label.clone(),
        profile: session.profile.clone(),
        contract: session.contract,
        conversations: 0,
        elapsed: Duration::ZERO,
        findings: Vec::new(),
        unusable: None,
        rss: None,
        jobs: 1,
        jobs_reason: String::new(),
        beside_only: Vec::new(),
    };
    let mut rss = rss::Track::default();
    let (jobs, why) = session.concurrency(budget.jobs).await;
    report.jobs = jobs;
    report.jobs_reason = why;
    let total = budget.conversations.unwrap_or(MAX_CONVERSATIONS);
    // Bounded: by the conversation budget or the time, and by MAX_CONVERSATIONS.
    while report.conversations < total
        && time.is_none_or(|t| t0.elapsed() < t)
        && report.findings.len() < budget.findings
    {
        if crate::spawn::stopping() {
            break;
        }
        // The plans are drawn in order from the one generator, whatever
        // the batch size: conversation n is the same at any --jobs.
        let n = usize::try_from(total - report.conversations)
            .unwrap_or(usize::MAX)
            .min(jobs)
            .max(1);
        let plans: Vec<plan::Plan> = (0..n)
            .map(|_| generate::conversation(&mut rng, &session.profile))
            .collect();
        let scripts: Vec<plan::Script> = plans.iter().map(|p| p.script(&session.fixed)).collect();
        let outcomes = session.attempt_together(&scripts).await;
        if let Some(kib) = session.rss_kib() {
            rss.push(kib);
        }
        for (plan, (conns, found, beside)) in plans.into_iter().zip(outcomes) {
            report.conversations += 1;
            if let Some(b) = beside {
                if report.beside_only.len() < MAX_FINDINGS {
                    report.beside_only.push((report.conversations, b));
                }
            }
            let Some(f) = found else { continue };
            if report.findings.len() >= budget.findings || !session.usable {
                continue;
            }
            let known = report
                .findings
                .iter()
                .any(|k| k.first.property == f.property && k.first.requirement == f.requirement);
            if known {
                continue;
            }
            let before = Size::of(&plan);
            let first = f.clone();
            let shrunk = if budget.shrink {
                shrink::shrink(session, plan, f, conns).await
            } else {
                shrink::Shrunk {
                    plan,
                    finding: f,
                    connections: conns,
                    attempts: 0,
                }
            };
            let mut file = Conversation::new(Some(seed), Side::Application, &session.label);
            file.finding = Some(shrunk.finding.clone());
            file.connections = shrunk.connections;
            let records = file_records(&file);
            let name = format!(
                "{}-{}-seed{seed}-n{}.json",
                shrunk.finding.property, shrunk.finding.requirement, report.conversations
            );
            let path = out.join(name);
            let saved = std::fs::create_dir_all(out)
                .and_then(|()| std::fs::write(&path, file.to_json()))
                .map(|()| path.clone())
                .map_err(|e| format!("cannot write {}: {e}", path.display()));
            report.findings.push(Found {
                first,
                finding: shrunk.finding,
                conversation: report.conversations,
                before,
                after: Size::of(&shrunk.plan),
                records,
                attempts: shrunk.attempts,
                file: saved,
            });
        }
        if !session.usable {
            report.unusable = Some(format!(
                "{} stopped serving and could not be restarted",
                session.label
            ));
            break;
        }
    }
    report.rss = rss.summary();
    if let Some(f) = rss.judge() {
        if report.findings.len() < budget.findings {
            report.findings.push(Found {
                first: f.clone(),
                finding: f,
                conversation: report.conversations,
                before: Size {
                    connections: 0,
                    requests: 0,
                },
                after: Size {
                    connections: 0,
                    requests: 0,
                },
                records: 0,
                attempts: 0,
                file: Err(
                    "a property of the whole run: no one conversation to shrink or replay".into(),
                ),
            });
        }
    }
    report.elapsed = t0.elapsed();
    report
}

/// How big a plan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Size {
    /// Connections.
    pub connections: usize,
    /// Requests.
    pub requests: usize,
}

impl Size {
    fn of(p: &plan::Plan) -> Size {
        Size {
            connections: p.connections.len(),
            requests: p.requests(),
        }
    }
}

/// Records the runner sent in a conversation file.
pub fn file_records(c: &Conversation) -> usize {
    (0..c.connections.len())
        .map(|i| {
            fcgi_proto::dump::dump(&c.bytes(i, crate::conversation::Dir::ToTarget))
                .entries
                .len()
        })
        .sum()
}

/// A web server to explore or replay against, and the reference web
/// server when it is the one (no `--http`); an error is one line for exit 2.
pub(crate) async fn open_server_session(
    http: Option<&str>,
    listen: Option<&str>,
    timeout: f64,
    faults: crate::client::Faults,
) -> Result<
    (
        server::ServerSession,
        Option<crate::server::reference::RefServer>,
    ),
    String,
> {
    if !(timeout.is_finite() && timeout > 0.0 && timeout <= MAX_TIMEOUT) {
        return Err(format!(
            "--timeout {timeout} is out of range: give seconds above 0, at most {MAX_TIMEOUT}"
        ));
    }
    let timeout = Duration::from_secs_f64(timeout);
    let url = match http.map(str::parse::<crate::server::http::Url>) {
        None => None,
        Some(Ok(u)) => Some(u),
        Some(Err(e)) => return Err(format!("--http: {e}")),
    };
    let listen: Addr = listen
        .unwrap_or("127.0.0.1:0")
        .parse()
        .map_err(|e| format!("--listen: {e}"))?;
    let listener = crate::target::Listener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let (url, label, reference) = match url {
        Some(u) => (u, http.unwrap_or_default().to_string(), None),
        None => {
            let app = listener
                .local_addr()
                .map_err(|e| format!("listener address: {e}"))?;
            let mut cfg = crate::server::reference::RefConfig::new(app);
            cfg.timeout = timeout;
            cfg.faults = faults;
            let r = crate::server::reference::RefServer::start(cfg)
                .await
                .map_err(|e| format!("cannot start the reference web server: {e}"))?;
            let a = r.addr();
            let url = crate::server::http::Url {
                host: a.ip().to_string(),
                port: a.port(),
                path: "/".into(),
            };
            (url, "reference-server".to_string(), Some(r))
        }
    };
    let mut session = server::ServerSession::new(listener, url, timeout, label);
    if let Err(e) = session.alive().await {
        return Err(format!(
            "{} does not carry a GET to the runner: {e} (point --http at a URL it forwards to --listen)",
            session.label
        ));
    }
    Ok((session, reference))
}

#[cfg(feature = "cli")]
/// `explore --side server`.
async fn server_main(args: ExploreArgs) -> ExitCode {
    let t = &args.target;
    if t.connect.is_some()
        || t.spawn.is_some()
        || !t.params.is_empty()
        || args.hostile
        || args.jobs.is_some()
    {
        return usage_error(
            "--side server takes --http URL and --listen ADDR, not --connect, --spawn, --param, --hostile or --jobs (a web server's conversations run one at a time)",
        );
    }
    let time = match time_budget(&args) {
        Ok(t) => t,
        Err(e) => return usage_error(&e),
    };
    if let Err(e) = crate::preflight::check_dir(&args.out, "--out") {
        return usage_error(&e);
    }
    if let Err(e) = check_junit(&args) {
        return usage_error(&e);
    }
    let (mut session, reference) = match open_server_session(
        args.http.as_deref(),
        args.listen.as_deref(),
        t.timeout,
        crate::client::Faults::default(),
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    let seed = args.seed.unwrap_or_else(fresh_seed);
    if t.format == Format::Text {
        crate::stdio::err_line(&format!(
            "explore: seed {seed} (run it again with --seed {seed})"
        ));
    }
    let report = server::explore(
        &mut session,
        seed,
        args.conversations,
        time,
        usize::from(args.findings),
        !args.no_shrink,
        &args.out,
    )
    .await;
    if let Some(r) = reference {
        r.stop(Duration::from_secs(1)).await;
    }
    write_junit(&args, &report.junit());
    let text = match t.format {
        Format::Text => report.text(),
        Format::Json => report.json(),
    };
    let code = if report.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    write_or_fail(&text, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_and_are_capped() {
        assert_eq!(parse_time("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_time("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_time("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_time("0").is_err());
        assert!(parse_time("soon").is_err());
        assert!(parse_time("25h").is_err());
    }
}
