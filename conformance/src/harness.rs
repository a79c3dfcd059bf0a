//! One libtest test per case (feature `harness`), so `cargo test` lists,
//! filters and reports the cases by id: `cargo test -- app/3.3`,
//! `cargo test -- --list`, `cargo test -- --exact app/4.1/get-values`.
//!
//! In a test target with `harness = false`:
//!
//! ```no_run
//! use fcgi_conformance::harness::{self, Expectations};
//! use fcgi_conformance::{AppSuite, Verdict};
//!
//! fn main() {
//!     let expect = Expectations::new()
//!         // A known SHOULD-level miss, accepted until it is fixed.
//!         .expect("app/3.3/padding-255", Verdict::Warn);
//!     harness::run_app(AppSuite::connect("127.0.0.1:9000"), expect).exit();
//! }
//! ```
//!
//! The suite runs once, before the tests are reported, on the cases the
//! filter leaves (so the suite's own scheduling, probes and health checks
//! are those of the command line); each test then states its case's
//! verdict. Without an expectation, `pass` and `info` pass, `fail` fails,
//! `warn` passes unless [`Expectations::strict`], and `skip` is reported
//! as ignored with its reason. With one, the test passes exactly when the
//! verdict is the expected one: a case that starts passing fails until
//! its expectation is removed, as BoGo's known deviations do.

use std::collections::BTreeMap;
use std::path::Path;

/// The libtest-mimic this harness is built on, for [`Arguments`] and
/// [`Conclusion`] without a second copy of the crate.
pub use libtest_mimic;
use libtest_mimic::{Arguments, Completion, Conclusion, Failed, Trial};

use crate::api::{AppSuite, Error, ServerSuite};
use crate::case::{CaseInfo, CaseResult, Suite, Verdict};
use crate::report::Report;

/// The verdict expected of each case, where it is not a clean pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    want: BTreeMap<String, Verdict>,
    strict: bool,
}

impl Expectations {
    /// No expectation: every case is expected to pass (or be informational).
    pub fn new() -> Self {
        Expectations::default()
    }

    /// Expects case `id` to end with `verdict` (a known fail or warn, or a skip).
    pub fn expect(mut self, id: impl Into<String>, verdict: Verdict) -> Self {
        self.want.insert(id.into(), verdict);
        self
    }

    /// Whether a `warn` without an expectation fails its test (as the CLI's `--strict`).
    pub fn strict(mut self, yes: bool) -> Self {
        self.strict = yes;
        self
    }

    /// Reads an expectations file (the CLI's `--expect` format, a JSON object
    /// of case id to verdict name, docs/schemas/) checked against `suite`'s cases.
    pub fn from_json(text: &str, suite: Suite) -> Result<Self, Error> {
        let cases = cases_of(suite);
        crate::expectations::parse(text, Path::new("expectations"), suite.name(), &cases)
            .map(|e| Expectations {
                want: e.want,
                strict: false,
            })
            .map_err(Error::Expectations)
    }

    /// The expected verdict of case `id`, if one was given.
    pub fn get(&self, id: &str) -> Option<Verdict> {
        self.want.get(id).copied()
    }

    /// Judges one result: `Ok(true)` passed, `Ok(false)` is reported as
    /// ignored (an unexpected skip), `Err` is the failure's message.
    pub fn judge(&self, r: &CaseResult) -> Result<bool, String> {
        let got = r.outcome.verdict;
        let why = || {
            let mut m = format!(
                "{} §{}: {}",
                r.info.id,
                r.info.section.short(),
                r.info.title
            );
            if let Some(e) = &r.outcome.expected {
                m.push_str(&format!("\nExpected: {e}"));
            }
            if let Some(a) = &r.outcome.actual {
                m.push_str(&format!("\nActual:   {a}"));
            }
            if r.outcome.expected.is_none() && !r.outcome.detail.is_empty() {
                m.push_str(&format!("\n{}", r.outcome.detail));
            }
            m
        };
        match self.get(r.info.id) {
            Some(want) if want == got => Ok(true),
            Some(want) => Err(format!(
                "verdict {} where the expectations say {} (update them if the target changed)\n{}",
                got.name(),
                want.name(),
                why()
            )),
            None => match got {
                Verdict::Pass | Verdict::Info => Ok(true),
                Verdict::Skip => Ok(false),
                Verdict::Warn if !self.strict => Ok(true),
                Verdict::Warn | Verdict::Fail => Err(format!("verdict {}\n{}", got.name(), why())),
            },
        }
    }

    /// Case ids named here that `cases` does not have.
    fn unknown(&self, cases: &[CaseInfo]) -> Vec<String> {
        self.want
            .keys()
            .filter(|id| !cases.iter().any(|c| c.id == id.as_str()))
            .cloned()
            .collect()
    }
}

fn cases_of(suite: Suite) -> Vec<CaseInfo> {
    match suite {
        Suite::App => AppSuite::cases(),
        Suite::Server => ServerSuite::cases(),
    }
}

/// One test per case of `report`, judged by `expect`. The report's cases
/// are all there are: a case the run did not select has no test.
pub fn trials(report: &Report, expect: &Expectations) -> Vec<Trial> {
    report
        .cases
        .iter()
        .map(|r| {
            let judged = expect.judge(r);
            let reason = r.outcome.detail.clone();
            Trial::ignorable_test(r.info.id, move || match judged {
                Ok(true) => Ok(Completion::Completed),
                Ok(false) => Ok(Completion::ignored_with(reason)),
                Err(m) => Err(Failed::from(m)),
            })
            .with_kind(r.info.section.short())
        })
        .collect()
}

/// Tests that each fail with `why`: what a run that did not take place reports.
fn failing(cases: &[&CaseInfo], why: &str) -> Vec<Trial> {
    cases
        .iter()
        .map(|c| {
            let m = why.to_string();
            Trial::test(c.id, move || Err(Failed::from(m))).with_kind(c.section.short())
        })
        .collect()
}

/// The cases the suite's own selection leaves, split into those the
/// test filter keeps and the rest (whose tests are only counted as
/// filtered out), in case-table order.
fn filtered<'c>(
    args: &Arguments,
    cases: &'c [CaseInfo],
    only: &[String],
    skip: &[String],
) -> (Vec<&'c CaseInfo>, Vec<&'c CaseInfo>) {
    cases
        .iter()
        .filter(|c| crate::case::selected(c.id, only, skip))
        .partition(|c| !args.is_filtered_out(&placeholder(c)))
}

/// A test that is never run (filtered out, or listed): its name and kind only.
fn placeholder(c: &CaseInfo) -> Trial {
    Trial::test(c.id, || Err(Failed::from("not run"))).with_kind(c.section.short())
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// What one suite needs from the harness: its cases, its selection, and a
/// run of the exact ids given.
trait Runs {
    const SUITE: Suite;
    fn selection(&self) -> (Vec<String>, Vec<String>);
    fn run_ids(self, ids: &[String]) -> impl std::future::Future<Output = Result<Report, Error>>;
}

impl Runs for AppSuite {
    const SUITE: Suite = Suite::App;
    fn selection(&self) -> (Vec<String>, Vec<String>) {
        (self.opts.only.clone(), self.opts.skip.clone())
    }
    async fn run_ids(mut self, ids: &[String]) -> Result<Report, Error> {
        self.opts.only = ids.to_vec();
        self.opts.skip.clear();
        self.run().await
    }
}

impl Runs for ServerSuite {
    const SUITE: Suite = Suite::Server;
    fn selection(&self) -> (Vec<String>, Vec<String>) {
        (self.plan.only.clone(), self.plan.skip.clone())
    }
    async fn run_ids(mut self, ids: &[String]) -> Result<Report, Error> {
        self.plan.only = ids.to_vec();
        self.plan.skip.clear();
        self.run().await
    }
}

fn run_suite<S: Runs>(suite: S, expect: Expectations, args: &Arguments) -> Conclusion {
    let cases = cases_of(S::SUITE);
    let (only, skip) = suite.selection();
    let (kept, rest) = filtered(args, &cases, &only, &skip);
    let ids: Vec<String> = kept.iter().map(|c| c.id.to_string()).collect();
    let unknown = expect.unknown(&cases);
    let mut trials = if !unknown.is_empty() {
        failing(
            &kept,
            &format!(
                "the expectations name no case of the {} suite: {} (see `fcgi-conformance list`)",
                S::SUITE.name(),
                unknown.join(", ")
            ),
        )
    } else if args.list || kept.is_empty() {
        // Nothing to run: the names are all libtest needs.
        kept.iter().map(|c| placeholder(c)).collect()
    } else {
        // `only` patterns match by substring: the exact ids may select a
        // few more cases, which the report then holds and the filter drops.
        let report = runtime()
            .map_err(Error::Io)
            .and_then(|rt| rt.block_on(suite.run_ids(&ids)));
        match report {
            Ok(r) => {
                let mut t: Vec<Trial> = trials(&r, &expect)
                    .into_iter()
                    .filter(|t| ids.iter().any(|id| id == t.name()))
                    .collect();
                // A selected case the report lacks is a failure, not a silence.
                for c in &kept {
                    if !r.cases.iter().any(|k| k.info.id == c.id) {
                        t.extend(failing(&[c], "the run returned no result for this case"));
                    }
                }
                t
            }
            Err(e) => failing(&kept, &format!("the suite did not run: {e}")),
        }
    };
    trials.extend(rest.iter().map(|c| placeholder(c)));
    libtest_mimic::run(args, trials)
}

/// Runs the application suite as one test per case, with the process's
/// libtest arguments (`--list`, a filter, `--exact`, `--skip`, …).
pub fn run_app(suite: AppSuite, expect: Expectations) -> Conclusion {
    run_suite(suite, expect, &Arguments::from_args())
}

/// Runs the web-server suite as one test per case (see [`run_app`]).
pub fn run_server(suite: ServerSuite, expect: Expectations) -> Conclusion {
    run_suite(suite, expect, &Arguments::from_args())
}

/// [`run_app`] with arguments given rather than read from the process.
pub fn run_app_with(suite: AppSuite, expect: Expectations, args: &Arguments) -> Conclusion {
    run_suite(suite, expect, args)
}

/// [`run_server`] with arguments given rather than read from the process.
pub fn run_server_with(suite: ServerSuite, expect: Expectations, args: &Arguments) -> Conclusion {
    run_suite(suite, expect, args)
}
