//! The report model shared by both suites, and its renderings: text for
//! people, JSON for tools, JUnit XML for CI systems, HTML for browsers.

mod flaky;
mod html;
mod json;
mod junit;
pub(crate) mod matrix;
mod meta;
mod text;

use std::time::{Duration, SystemTime};

use serde::Serialize;

pub use crate::case::{CaseInfo, CaseResult, Outcome, Suite, Verdict};
pub use flaky::Flaky;
pub use html::to_html;
pub use json::to_json;
pub use junit::to_junit;
pub(crate) use junit::xml_escape;
pub(crate) use meta::rfc3339;
pub use meta::{AfterEnd, AppProbes, Decided, GetValuesAnswers, Probes, RunOptions, ServerProbes};
pub use text::{to_text, Color};

/// Schema name of the JSON report (docs/report-format.md).
pub const JSON_SCHEMA: &str = "fcgi-conformance-report/1";

/// Counts of each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Passed cases.
    pub pass: usize,
    /// Failed cases (MUST broken).
    pub fail: usize,
    /// Warnings (SHOULD broken).
    pub warn: usize,
    /// Observations.
    pub info: usize,
    /// Skipped cases.
    pub skip: usize,
}

impl Summary {
    /// Counts one more case with verdict `v`.
    pub fn count(&mut self, v: Verdict) {
        match v {
            Verdict::Pass => self.pass += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::Warn => self.warn += 1,
            Verdict::Info => self.info += 1,
            Verdict::Skip => self.skip += 1,
        }
    }
}

/// A whole run of one suite against one target.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Which suite.
    pub suite: Suite,
    /// What was tested, e.g. `127.0.0.1:9000` or `bundled reference application`.
    pub target: String,
    /// Wall time of the run.
    #[serde(skip)]
    pub duration: Duration,
    /// When the run started (wall clock).
    #[serde(skip)]
    pub started_at: SystemTime,
    /// The options it ran with.
    pub options: RunOptions,
    /// What the setup probes learned and the runner decided, when known.
    pub probes: Option<Probes>,
    /// Results in the order they are reported (by section, then id); of
    /// the first run when the selection was repeated.
    pub cases: Vec<CaseResult>,
    /// The case after which the target stopped serving for good, if it did:
    /// every later case is skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_after: Option<String>,
    /// How many times the selection ran (`--repeat`, 1 by default).
    pub repeat: usize,
    /// Cases whose verdict changed between the runs.
    pub flaky: Vec<Flaky>,
}

impl Report {
    /// A report, its cases put in spec order.
    pub fn new(
        suite: Suite,
        target: String,
        duration: Duration,
        mut cases: Vec<CaseResult>,
    ) -> Self {
        cases.sort_by(|a, b| {
            (a.info.section)
                .cmp(&b.info.section)
                .then(a.info.id.cmp(b.info.id))
        });
        // A case skipped because the target stopped serving names the case
        // after which it did.
        let stopped_after = cases.iter().find_map(|c| {
            let id = c.outcome.detail.strip_prefix(crate::case::STOPPED_PREFIX)?;
            (c.outcome.verdict == Verdict::Skip && cases.iter().any(|k| k.info.id == id))
                .then(|| id.to_string())
        });
        Report {
            suite,
            target,
            duration,
            // The run ended about now, so it started `duration` ago.
            started_at: SystemTime::now()
                .checked_sub(duration)
                .unwrap_or(SystemTime::UNIX_EPOCH),
            options: RunOptions::default(),
            probes: None,
            cases,
            stopped_after,
            repeat: 1,
            flaky: Vec::new(),
        }
    }

    /// The text report for people, grouped by spec section, without colour.
    pub fn text(&self) -> String {
        to_text(self, Color::Never)
    }

    /// The JSON report (schema [`JSON_SCHEMA`], docs/report-format.md).
    pub fn json(&self) -> String {
        to_json(self)
    }

    /// The JUnit XML report, one testcase per case.
    pub fn junit(&self) -> String {
        to_junit(self)
    }

    /// The self-contained HTML report.
    pub fn html(&self) -> String {
        to_html(self)
    }

    /// Counts by verdict.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.cases {
            s.count(c.outcome.verdict);
        }
        s
    }

    /// 0 when nothing failed and no verdict changed between runs, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        self.exit_code_with(false)
    }

    /// The exit code under `--strict` when `strict` is true: 1 also when a
    /// case warned (a SHOULD broken), else as [`Report::exit_code`].
    pub fn exit_code_with(&self, strict: bool) -> i32 {
        let s = self.summary();
        if s.fail == 0 && self.flaky.is_empty() && !(strict && s.warn > 0) {
            0
        } else {
            1
        }
    }

    /// The verdict of each case by id, as `expected.json` files hold them.
    pub fn verdicts(&self) -> std::collections::BTreeMap<String, Verdict> {
        self.cases
            .iter()
            .map(|c| (c.info.id.to_string(), c.outcome.verdict))
            .collect()
    }
}
