//! What a conformance case is: a stable id, the spec section and
//! requirement IDs it checks, and the verdict it reached.

use std::time::Duration;

use fcgi_proto::requirement::{Requirement, Section};
use serde::{Serialize, Serializer};

/// Which party a suite tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Suite {
    /// `fcgi-conformance app`: the runner plays the web server.
    App,
    /// `fcgi-conformance server`: the runner plays the application.
    Server,
}

impl Suite {
    /// `"app"` or `"server"`.
    pub fn name(self) -> &'static str {
        match self {
            Suite::App => "app",
            Suite::Server => "server",
        }
    }
}

/// The static description of a case, listed by `fcgi-conformance list`.
#[derive(Debug, Clone, Serialize)]
pub struct CaseInfo {
    /// Stable id, e.g. `app/4.1/get-values` (suite / section / slug).
    pub id: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// Spec section; written in its short form, e.g. `4.1` (appendices as
    /// `A`, `B`).
    #[serde(serialize_with = "short_section")]
    pub section: Section,
    /// The requirements it checks; written as their IDs.
    #[serde(serialize_with = "requirement_ids")]
    pub requirements: &'static [Requirement],
    /// What the case does and what it expects, in a sentence or two.
    pub expects: &'static str,
}

impl CaseInfo {
    /// The requirement IDs, joined by `sep`: `R-3.3-1, R-3.5-3`.
    pub fn requirement_ids(&self, sep: &str) -> String {
        let ids: Vec<&str> = self.requirements.iter().map(|r| r.id()).collect();
        ids.join(sep)
    }
}

fn short_section<S: Serializer>(s: &Section, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.short())
}

fn requirement_ids<S: Serializer>(r: &[Requirement], ser: S) -> Result<S::Ok, S::Error> {
    ser.collect_seq(r.iter().map(|r| r.id()))
}

/// The verdict of one case (the Autobahn and h2spec vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The target did what the spec requires.
    Pass,
    /// A MUST-level requirement was broken.
    Fail,
    /// A SHOULD-level requirement was broken.
    Warn,
    /// How the target answers an open question: recorded, not judged.
    Info,
    /// Not run, with the reason in the detail.
    Skip,
}

impl Verdict {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Warn => "warn",
            Verdict::Info => "info",
            Verdict::Skip => "skip",
        }
    }
}

/// What a case found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// What happened, in one or a few lines.
    pub detail: String,
    /// What the spec asks for, when the verdict is not a pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What the target did instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
}

impl Outcome {
    fn new(verdict: Verdict, detail: impl Into<String>) -> Self {
        Outcome {
            verdict,
            detail: detail.into(),
            expected: None,
            actual: None,
        }
    }

    /// A pass.
    pub fn pass(detail: impl Into<String>) -> Self {
        Outcome::new(Verdict::Pass, detail)
    }

    /// A failure: what was expected and what happened.
    pub fn fail(expected: impl Into<String>, actual: impl Into<String>) -> Self {
        let (e, a) = (expected.into(), actual.into());
        Outcome {
            verdict: Verdict::Fail,
            detail: format!("expected {e}; got {a}"),
            expected: Some(e),
            actual: Some(a),
        }
    }

    /// A SHOULD-level miss.
    pub fn warn(expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Outcome {
            verdict: Verdict::Warn,
            ..Outcome::fail(expected, actual)
        }
    }

    /// An observation, not a judgement.
    pub fn info(detail: impl Into<String>) -> Self {
        Outcome::new(Verdict::Info, detail)
    }

    /// Not run, and why.
    pub fn skip(reason: impl Into<String>) -> Self {
        Outcome::new(Verdict::Skip, reason)
    }
}

/// One case's result in a report.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The case.
    #[serde(flatten)]
    pub info: CaseInfo,
    /// What it found.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Wall time of the case.
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
    /// The annotated wire transcript, both directions (not in JSON; see `--transcript`).
    #[serde(skip)]
    pub transcript: Option<String>,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3)
}

/// How the detail of a case skipped after the target stopped serving begins.
pub const STOPPED_PREFIX: &str = "the target stopped serving after ";

/// The detail of a case skipped because the target stopped serving after `killer`.
pub fn stopped_detail(killer: &str) -> String {
    format!("{STOPPED_PREFIX}{killer}")
}

/// Whether `id` is selected by `--only` and `--skip` patterns. A pattern
/// matches when it is a substring of the id, or a glob with `*`.
pub fn selected(id: &str, only: &[String], skip: &[String]) -> bool {
    let hit = |p: &String| glob_match(p, id);
    (only.is_empty() || only.iter().any(hit)) && !skip.iter().any(hit)
}

fn glob_match(pattern: &str, text: &str) -> bool {
    if !pattern.contains('*') {
        return text.contains(pattern);
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut pos = 0usize;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        let rest = text.get(pos..).unwrap_or("");
        if i == 0 {
            if !rest.starts_with(part) {
                return false;
            }
            pos += part.len();
        } else if let Some(at) = rest.find(part) {
            pos += at + part.len();
        } else {
            return false;
        }
    }
    parts
        .last()
        .is_none_or(|l| l.is_empty() || text.ends_with(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_patterns() {
        assert!(selected("app/4.1/get-values", &[], &[]));
        assert!(selected("app/4.1/get-values", &["4.1".into()], &[]));
        assert!(!selected("app/4.1/get-values", &["app/5*".into()], &[]));
        assert!(selected("app/5.4/abort", &["app/5*".into()], &[]));
        assert!(!selected("app/5.4/abort", &[], &["abort".into()]));
        assert!(selected("app/5.4/abort-x", &["*abort*".into()], &[]));
    }
}
