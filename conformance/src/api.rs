//! The library's way in: [`AppSuite`] and [`ServerSuite`] run either suite
//! from Rust and return the one [`Report`] type both produce; what keeps a
//! run from taking place is an [`Error`], by kind.
//!
//! Builders are infallible: every option is checked when the run starts
//! (or earlier, with `check`), so a mistake is one typed error before any
//! case has run, as the command line's exit 2 is.

use std::fmt;
use std::time::{Duration, Instant};

use crate::app::reference::Fault;
use crate::app::{self, Options, RunError, Target};
use crate::case::{CaseInfo, CaseResult, Suite};
use crate::client::Faults;
use crate::report::Report;
use crate::server::http::Url;
use crate::server::{self, Plan};
use crate::target::{Addr, Listener};

/// Most cases one run of the application suite runs at once (the CLI's `--jobs` range).
pub const MAX_JOBS: usize = 64;
/// Longest wait of any connect or read (the CLI's `--timeout` range).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// Most runs of the selection one call makes (the CLI's `--repeat` range).
pub const MAX_REPEAT: usize = 100;

/// Why a suite did not run: the options, or a target that cannot be tested.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// `jobs` is 0 or above [`MAX_JOBS`].
    Jobs(usize),
    /// The timeout is zero or above [`MAX_TIMEOUT`].
    Timeout(Duration),
    /// `repeat` is 0 or above [`MAX_REPEAT`].
    Repeat(usize),
    /// [`Explore::findings`] is 0 or above 16.
    Findings(usize),
    /// [`Explore::conversations`] is 0 or above ten million.
    Conversations(u64),
    /// [`Explore::jobs`] is 0 or above 16.
    ExploreJobs(usize),
    /// The `only`/`skip` patterns leave no case to run; the message names
    /// the nearest case ids.
    NoCaseSelected(String),
    /// An address or URL that does not parse.
    Address {
        /// What was given.
        given: String,
        /// Why it is not one.
        reason: String,
    },
    /// The target cannot be started, reached or probed (it is not a
    /// FastCGI peer, refuses connections, or dies at start-up).
    Target(String),
    /// An expectations file that does not parse or names an unknown case
    /// or verdict (the message names the nearest valid one).
    Expectations(String),
    /// A local resource the runner needs: a listening socket, the async runtime.
    Io(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Jobs(n) => write!(
                f,
                "jobs {n} is out of range: give 1 to {MAX_JOBS} cases at once"
            ),
            Error::Timeout(d) => write!(
                f,
                "timeout {d:?} is out of range: give more than zero and at most {MAX_TIMEOUT:?}"
            ),
            Error::Repeat(n) => {
                write!(f, "repeat {n} is out of range: give 1 to {MAX_REPEAT} runs")
            }
            Error::Findings(n) => write!(f, "findings {n} is out of range: give 1 to 16"),
            Error::ExploreJobs(n) => write!(
                f,
                "jobs {n} is out of range: give 1 to {} conversations at once",
                crate::explore::MAX_JOBS
            ),
            Error::Conversations(n) => write!(
                f,
                "conversations {n} is out of range: give 1 to {}",
                crate::explore::MAX_CONVERSATIONS
            ),
            Error::NoCaseSelected(m) | Error::Target(m) | Error::Expectations(m) => f.write_str(m),
            Error::Address { given, reason } => write!(f, "{given:?}: {reason}"),
            Error::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

fn address(given: &str) -> Result<Addr, Error> {
    given.parse().map_err(|reason| Error::Address {
        given: given.to_string(),
        reason,
    })
}

fn url(given: &str) -> Result<Url, Error> {
    given.parse().map_err(|reason| Error::Address {
        given: given.to_string(),
        reason,
    })
}

fn check_timeout(d: Duration) -> Result<(), Error> {
    if d.is_zero() || d > MAX_TIMEOUT {
        return Err(Error::Timeout(d));
    }
    Ok(())
}

fn check_selection(suite: Suite, only: &[String], skip: &[String]) -> Result<usize, Error> {
    let cases = match suite {
        Suite::App => app::cases(),
        Suite::Server => server::cases(),
    };
    crate::preflight::check_selection(suite.name(), &cases, only, skip)
        .map_err(Error::NoCaseSelected)
}

/// What the application suite runs against.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AppTarget {
    Connect(String),
    Spawn(String),
    Reference(Vec<Fault>),
    /// Parsed already (the command line's flags).
    Ready(Target),
}

/// The application suite (`fcgi-conformance app`): the runner plays the
/// web server and judges a FastCGI application against the spec (§2-§6).
///
/// ```no_run
/// # async fn f() -> Result<(), fcgi_conformance::Error> {
/// use std::time::Duration;
/// use fcgi_conformance::AppSuite;
///
/// let report = AppSuite::connect("127.0.0.1:9000")
///     .jobs(2)
///     .timeout(Duration::from_secs(5))
///     .only("app/3.")
///     .run()
///     .await?;
/// assert_eq!(report.summary().fail, 0, "{}", report.text());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AppSuite {
    target: AppTarget,
    pub(crate) opts: Options,
    repeat: usize,
}

impl fmt::Debug for AppSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppSuite")
            .field("target", &self.target)
            .field("timeout", &self.opts.timeout)
            .field("jobs", &self.opts.jobs)
            .field("only", &self.opts.only)
            .field("skip", &self.opts.skip)
            .field("repeat", &self.repeat)
            .finish_non_exhaustive()
    }
}

impl Default for AppSuite {
    /// [`AppSuite::reference`]: what `fcgi-conformance app` does with no flags.
    fn default() -> Self {
        AppSuite::reference()
    }
}

impl AppSuite {
    fn with_target(target: AppTarget) -> Self {
        AppSuite {
            target,
            opts: Options::default(),
            repeat: 1,
        }
    }

    /// The command line's options, checked already, as a suite.
    #[cfg(feature = "cli")]
    pub(crate) fn from_options(opts: Options, repeat: usize) -> Self {
        AppSuite {
            target: AppTarget::Ready(opts.target.clone()),
            opts,
            repeat,
        }
    }

    /// An application already listening at `addr`: `HOST:PORT`,
    /// `[::1]:PORT` or `unix:/path` (checked when the run starts).
    pub fn connect(addr: impl Into<String>) -> Self {
        AppSuite::with_target(AppTarget::Connect(addr.into()))
    }

    /// An application the runner starts with a shell command, a listening
    /// socket on its descriptor 0 (§2.2), and stops at the end.
    pub fn spawn(cmd: impl Into<String>) -> Self {
        AppSuite::with_target(AppTarget::Spawn(cmd.into()))
    }

    /// The bundled reference application, started in-process.
    pub fn reference() -> Self {
        AppSuite::with_target(AppTarget::Reference(Vec::new()))
    }

    /// The bundled reference application with deliberate defects (the
    /// crate's self-check). Not part of the API.
    #[doc(hidden)]
    pub fn reference_with_faults(faults: Vec<Fault>) -> Self {
        AppSuite::with_target(AppTarget::Reference(faults))
    }

    /// Cases run at once where safe to run concurrently, 1 to [`MAX_JOBS`]
    /// (default 4; fewer when the target takes fewer connections).
    pub fn jobs(mut self, n: usize) -> Self {
        self.opts.jobs = n;
        self
    }

    /// Bound on every connect and read (default 3 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.opts.timeout = d;
        self
    }

    /// Runs only the cases whose id contains `pattern` (`*` is a wildcard);
    /// repeatable, a case runs when any pattern selects it.
    pub fn only(mut self, pattern: impl Into<String>) -> Self {
        self.opts.only.push(pattern.into());
        self
    }

    /// Leaves out the cases whose id matches `pattern` (as for [`AppSuite::only`]).
    pub fn skip(mut self, pattern: impl Into<String>) -> Self {
        self.opts.skip.push(pattern.into());
        self
    }

    /// Adds `name=value` to every request's params, e.g. `SCRIPT_FILENAME`.
    pub fn param(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.opts
            .params
            .push((name.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }

    /// Runs the selection this many times, 1 to [`MAX_REPEAT`]; cases
    /// whose verdict changes are listed as flaky in the report.
    pub fn repeat(mut self, n: usize) -> Self {
        self.repeat = n;
        self
    }

    /// Calls `f` with each case's result as it finishes.
    pub fn on_case(mut self, f: impl Fn(&CaseResult) + Send + Sync + 'static) -> Self {
        self.opts.observer = Some(std::sync::Arc::new(f));
        self
    }

    /// Every case of the application suite, with its spec section and requirement IDs.
    pub fn cases() -> Vec<CaseInfo> {
        app::cases()
    }

    /// Checks the options without touching the target: the number of
    /// cases one run selects, or the first thing wrong.
    pub fn check(&self) -> Result<usize, Error> {
        if self.opts.jobs == 0 || self.opts.jobs > MAX_JOBS {
            return Err(Error::Jobs(self.opts.jobs));
        }
        check_timeout(self.opts.timeout)?;
        if self.repeat == 0 || self.repeat > MAX_REPEAT {
            return Err(Error::Repeat(self.repeat));
        }
        if let AppTarget::Connect(a) = &self.target {
            address(a)?;
        }
        check_selection(Suite::App, &self.opts.only, &self.opts.skip)
    }

    /// Runs the suite and returns its report. Needs a tokio runtime with
    /// the time and I/O drivers enabled (the multi-threaded one: cases
    /// run concurrently).
    pub async fn run(self) -> Result<Report, Error> {
        self.check()?;
        let target = match self.target {
            AppTarget::Connect(a) => Target::Connect(address(&a)?),
            AppTarget::Spawn(cmd) => Target::Spawn(cmd),
            AppTarget::Reference(f) => Target::Reference(f),
            AppTarget::Ready(t) => t,
        };
        let opts = Options {
            target,
            ..self.opts
        };
        let mut runs = Vec::with_capacity(self.repeat);
        for _ in 0..self.repeat {
            runs.push(app::run(opts.clone()).await.map_err(|e| match e {
                RunError::Usage(m) | RunError::Target(m) => Error::Target(m),
            })?);
        }
        Report::repeated(runs).ok_or(Error::Repeat(0))
    }
}

/// What the web-server suite runs against.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ServerTarget {
    Http {
        url: String,
        listen: String,
        authorizer: Option<String>,
    },
    Reference(Faults),
}

/// The web-server suite (`fcgi-conformance server`): the runner plays the
/// FastCGI application behind a web server and judges what the server
/// forwards (§3-§6). Cases run one after the other.
///
/// ```no_run
/// # async fn f() -> Result<(), fcgi_conformance::Error> {
/// use fcgi_conformance::ServerSuite;
///
/// // nginx forwards http://127.0.0.1:8080/ to a FastCGI app at 127.0.0.1:9000.
/// let report = ServerSuite::http("http://127.0.0.1:8080/", "127.0.0.1:9000")
///     .run()
///     .await?;
/// println!("{}", report.text());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ServerSuite {
    target: ServerTarget,
    pub(crate) plan: Plan,
}

impl fmt::Debug for ServerSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSuite")
            .field("target", &self.target)
            .field("timeout", &self.plan.timeout)
            .field("only", &self.plan.only)
            .field("skip", &self.plan.skip)
            .field("repeat", &self.plan.repeat)
            .finish_non_exhaustive()
    }
}

impl Default for ServerSuite {
    /// [`ServerSuite::reference`]: what `fcgi-conformance server` does with no flags.
    fn default() -> Self {
        ServerSuite::reference()
    }
}

impl ServerSuite {
    /// A web server already running that forwards the URL `http` to a
    /// FastCGI application at `listen`, where the runner listens
    /// (`127.0.0.1:PORT`, `[::1]:PORT`, `unix:/path`).
    pub fn http(http: impl Into<String>, listen: impl Into<String>) -> Self {
        ServerSuite {
            target: ServerTarget::Http {
                url: http.into(),
                listen: listen.into(),
                authorizer: None,
            },
            plan: Plan::default(),
        }
    }

    /// The bundled reference web server, started in-process.
    pub fn reference() -> Self {
        ServerSuite {
            target: ServerTarget::Reference(Faults::default()),
            plan: Plan::default(),
        }
    }

    /// A URL the web server first sends through the Authorizer role (§6.3);
    /// without it the Authorizer cases are skipped. Ignored for the reference.
    pub fn authorizer(mut self, url: impl Into<String>) -> Self {
        if let ServerTarget::Http { authorizer, .. } = &mut self.target {
            *authorizer = Some(url.into());
        }
        self
    }

    /// Bound on every wait (default 3 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.plan.timeout = d;
        self
    }

    /// Runs only the cases whose id contains `pattern` (`*` is a wildcard).
    pub fn only(mut self, pattern: impl Into<String>) -> Self {
        self.plan.only.push(pattern.into());
        self
    }

    /// Leaves out the cases whose id matches `pattern`.
    pub fn skip(mut self, pattern: impl Into<String>) -> Self {
        self.plan.skip.push(pattern.into());
        self
    }

    /// Runs the selection this many times, 1 to [`MAX_REPEAT`].
    pub fn repeat(mut self, n: usize) -> Self {
        self.plan.repeat = n;
        self
    }

    /// Calls `f` with each case's result as it finishes.
    pub fn on_case(mut self, f: impl Fn(&CaseResult) + Send + Sync + 'static) -> Self {
        self.plan.observer = Some(std::sync::Arc::new(f));
        self
    }

    /// Every case of the web-server suite.
    pub fn cases() -> Vec<CaseInfo> {
        server::cases()
    }

    /// Checks the options without touching the target: the number of
    /// cases one run selects, or the first thing wrong.
    pub fn check(&self) -> Result<usize, Error> {
        check_timeout(self.plan.timeout)?;
        if self.plan.repeat == 0 || self.plan.repeat > MAX_REPEAT {
            return Err(Error::Repeat(self.plan.repeat));
        }
        if let ServerTarget::Http {
            url: u,
            listen,
            authorizer,
        } = &self.target
        {
            url(u)?;
            address(listen)?;
            if let Some(a) = authorizer {
                url(a)?;
            }
        }
        check_selection(Suite::Server, &self.plan.only, &self.plan.skip)
    }

    /// Runs the suite and returns its report (needs a tokio runtime with
    /// the time and I/O drivers enabled).
    pub async fn run(self) -> Result<Report, Error> {
        self.check()?;
        let t0 = Instant::now();
        let (label, runs, probes) = match &self.target {
            ServerTarget::Reference(faults) => {
                let listener = Listener::bind(&Addr::Tcp(([127, 0, 0, 1], 0).into())).await?;
                let runs = server::run_reference_on(listener, *faults, &self.plan).await?;
                let probes = crate::report::ServerProbes {
                    http: None,
                    authorizer: None,
                    spawned: false,
                };
                ("bundled reference web server".to_string(), runs, probes)
            }
            ServerTarget::Http {
                url: u,
                listen,
                authorizer,
            } => {
                let http = url(u)?;
                let authorizer = authorizer.as_deref().map(url).transpose()?;
                let listener = Listener::bind(&address(listen)?).await?;
                if !server::http_reachable(&http, self.plan.timeout).await {
                    return Err(Error::Target(format!(
                        "nothing answers at {http}: start the web server and check the URL"
                    )));
                }
                let probes = crate::report::ServerProbes {
                    http: Some(http.to_string()),
                    authorizer: authorizer.as_ref().map(ToString::to_string),
                    spawned: false,
                };
                let runs =
                    server::run_planned(listener, http.clone(), authorizer, &self.plan).await;
                (http.to_string(), runs, probes)
            }
        };
        server::report_of(&label, t0, runs, &self.plan, probes).ok_or(Error::Repeat(0))
    }
}

/// `explore`: conversations drawn from seeded strategies over what the
/// application serves, run against it and judged by properties of the
/// spec; each distinct finding is shrunk and saved as a conversation file
/// that `fcgi-conformance replay` runs again.
///
/// ```no_run
/// # async fn f() -> Result<(), fcgi_conformance::Error> {
/// use fcgi_conformance::Explore;
///
/// let report = Explore::connect("127.0.0.1:9000")
///     .seed(7)
///     .conversations(500)
///     .out("target/fcgi-findings")
///     .run()
///     .await?;
/// assert!(report.findings().is_empty(), "{}", report.text());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Explore {
    target: AppTarget,
    timeout: Duration,
    params: Vec<(Vec<u8>, Vec<u8>)>,
    seed: Option<u64>,
    time: Option<Duration>,
    conversations: Option<u64>,
    findings: usize,
    jobs: usize,
    hostile: bool,
    out: std::path::PathBuf,
}

impl Default for Explore {
    /// [`Explore::reference`]: what `fcgi-conformance explore` does with no flags.
    fn default() -> Self {
        Explore::reference()
    }
}

impl Explore {
    fn with_target(target: AppTarget) -> Self {
        Explore {
            target,
            timeout: Duration::from_secs(3),
            params: Vec::new(),
            seed: None,
            time: None,
            conversations: None,
            findings: crate::explore::MAX_FINDINGS,
            jobs: crate::explore::DEFAULT_JOBS,
            hostile: false,
            out: "fcgi-findings".into(),
        }
    }

    /// An application already listening at `addr` (as [`AppSuite::connect`]).
    pub fn connect(addr: impl Into<String>) -> Self {
        Explore::with_target(AppTarget::Connect(addr.into()))
    }

    /// An application the runner starts (as [`AppSuite::spawn`]).
    pub fn spawn(cmd: impl Into<String>) -> Self {
        Explore::with_target(AppTarget::Spawn(cmd.into()))
    }

    /// The bundled reference application, in-process.
    pub fn reference() -> Self {
        Explore::with_target(AppTarget::Reference(Vec::new()))
    }

    /// Bound on every connect and read (default 3 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Adds `name=value` to every request's params.
    pub fn param(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.params
            .push((name.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }

    /// The generator's seed (default: a fresh one, in the report).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// How long to explore (default 60 s unless a conversation budget is given).
    pub fn time(mut self, d: Duration) -> Self {
        self.time = Some(d);
        self
    }

    /// How many conversations to run (with a time, whichever ends first).
    pub fn conversations(mut self, n: u64) -> Self {
        self.conversations = Some(n);
        self
    }

    /// Stop after this many distinct findings, 1 to 16 (default 16).
    pub fn findings(mut self, n: usize) -> Self {
        self.findings = n;
        self
    }

    /// Run up to `n` conversations at once, 1 to 16 (default 4), bounded by
    /// what the target shows it serves at once; hostile runs take one at a time.
    pub fn jobs(mut self, n: usize) -> Self {
        self.jobs = n;
        self
    }

    /// Also send what a broken web server sends: unknown roles, malformed records.
    pub fn hostile(mut self, yes: bool) -> Self {
        self.hostile = yes;
        self
    }

    /// Directory for the reproducers, one file per finding (default `fcgi-findings`).
    pub fn out(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.out = dir.into();
        self
    }

    /// Checks the options without touching the target.
    pub fn check(&self) -> Result<(), Error> {
        if self.timeout.is_zero() || self.timeout.as_secs_f64() > crate::explore::MAX_TIMEOUT {
            return Err(Error::Timeout(self.timeout));
        }
        if let Some(t) = self.time {
            if t.is_zero() || t > crate::explore::MAX_TIME {
                return Err(Error::Timeout(t));
            }
        }
        if self.findings == 0 || self.findings > crate::explore::MAX_FINDINGS {
            return Err(Error::Findings(self.findings));
        }
        if self.jobs == 0 || self.jobs > crate::explore::MAX_JOBS {
            return Err(Error::ExploreJobs(self.jobs));
        }
        if let Some(n) = self.conversations {
            if n == 0 || n > crate::explore::MAX_CONVERSATIONS {
                return Err(Error::Conversations(n));
            }
        }
        if let AppTarget::Connect(a) = &self.target {
            address(a)?;
        }
        Ok(())
    }

    /// Explores until the budget is spent or enough findings are shrunk
    /// and saved (needs a tokio runtime with time and I/O enabled).
    pub async fn run(self) -> Result<ExploreReport, Error> {
        use crate::explore::session::{Session, Target as ETarget};
        self.check()?;
        let target = match self.target {
            AppTarget::Connect(a) => ETarget::Connect(address(&a)?),
            AppTarget::Spawn(cmd) => ETarget::Spawn(cmd),
            AppTarget::Reference(_) | AppTarget::Ready(_) => ETarget::Reference,
        };
        let mut session = Session::open(target, self.timeout, self.params, self.hostile)
            .await
            .map_err(Error::Target)?;
        let budget = crate::explore::Budget {
            time: match (self.time, self.conversations) {
                (None, None) => Some(crate::explore::DEFAULT_TIME),
                (t, _) => t,
            },
            conversations: self.conversations,
            findings: self.findings,
            shrink: true,
            jobs: self.jobs,
        };
        let seed = self.seed.unwrap_or_else(crate::explore::fresh_seed);
        let report = crate::explore::explore(&mut session, seed, budget, &self.out).await;
        session.close().await;
        Ok(ExploreReport(report))
    }
}

/// What an [`Explore`] run found.
pub struct ExploreReport(crate::explore::report::Report);

impl fmt::Debug for ExploreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExploreReport")
            .field("seed", &self.seed())
            .field("conversations", &self.conversations())
            .field("findings", &self.findings())
            .field("unusable", &self.unusable())
            .finish()
    }
}

/// One distinct finding of an [`Explore`] run, shrunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExploreFinding {
    /// The property broken, e.g. `records-accepted`.
    pub property: String,
    /// Its requirement ID, e.g. `R-5.3-1`.
    pub requirement: String,
    /// Its spec section, e.g. `5.3`.
    pub section: String,
    /// What the property expected.
    pub expected: String,
    /// What came back instead.
    pub observed: String,
    /// The reproducer's path, or why it could not be written.
    pub file: Result<std::path::PathBuf, String>,
}

impl ExploreReport {
    /// The generator's seed (give it to [`Explore::seed`] to run the same conversations).
    pub fn seed(&self) -> u64 {
        self.0.seed
    }

    /// Conversations run (shrinking attempts not counted).
    pub fn conversations(&self) -> u64 {
        self.0.conversations
    }

    /// The distinct findings, shrunk.
    pub fn findings(&self) -> Vec<ExploreFinding> {
        self.0
            .findings
            .iter()
            .map(|f| ExploreFinding {
                property: f.finding.property.clone(),
                requirement: f.finding.requirement.clone(),
                section: f.finding.section.clone(),
                expected: f.finding.expected.clone(),
                observed: f.finding.observed.clone(),
                file: f.file.clone(),
            })
            .collect()
    }

    /// Why the run stopped early, if the target stopped serving for good.
    pub fn unusable(&self) -> Option<&str> {
        self.0.unusable.as_deref()
    }

    /// The text report.
    pub fn text(&self) -> String {
        self.0.text()
    }

    /// The JSON report (schema `fcgi-conformance-explore/1`).
    pub fn json(&self) -> String {
        self.0.json()
    }

    /// The JUnit XML report, one failed testcase per finding.
    pub fn junit(&self) -> String {
        self.0.junit()
    }
}
