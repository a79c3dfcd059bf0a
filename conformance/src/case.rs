//! What a conformance case is: a stable id, the spec section and
//! requirement IDs it checks, and the verdict it reached.

use std::time::Duration;

use serde::Serialize;

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
    /// Spec section, e.g. `4.1` (appendices as `A`, `B`).
    pub section: &'static str,
    /// Requirement IDs from spec/requirements.toml.
    pub requirements: &'static [&'static str],
    /// What the case does and what it expects, in a sentence or two.
    pub expects: &'static str,
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

/// Orders sections as the spec does: 2.2 < 3.3 < 3.4 < 4 < 4.1 < 5.1 < 6.4 < A < B.
pub fn section_key(section: &str) -> Vec<u32> {
    section
        .split('.')
        .map(|p| {
            p.parse::<u32>()
                .unwrap_or_else(|_| 1000 + p.bytes().next().map_or(0, u32::from))
        })
        .collect()
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
    fn sections_sort_like_the_spec() {
        let mut s = vec!["B", "5.1", "4", "3.4", "10.1", "4.1", "A", "3.3"];
        s.sort_by_key(|x| section_key(x));
        assert_eq!(s, vec!["3.3", "3.4", "4", "4.1", "5.1", "10.1", "A", "B"]);
    }

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
