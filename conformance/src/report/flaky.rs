//! `--repeat N`: the same selection run N times against one target, and
//! the cases whose verdict changed between runs (flaky: their verdict
//! cannot be relied on, which fails the run).

use serde::Serialize;

use super::Report;
use crate::case::Verdict;

/// A case whose verdict was not the same in every run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flaky {
    /// The case id.
    pub id: String,
    /// Its verdict in each run, in run order (`None`: not reported by that run).
    pub verdicts: Vec<Option<Verdict>>,
}

/// The cases whose verdicts differ between `runs`, in the order the first
/// run that has them reports them.
pub fn compare(runs: &[Report]) -> Vec<Flaky> {
    let mut ids: Vec<&str> = Vec::new();
    for r in runs {
        for c in &r.cases {
            if !ids.contains(&c.info.id) {
                ids.push(c.info.id);
            }
        }
    }
    ids.into_iter()
        .filter_map(|id| {
            let verdicts: Vec<Option<Verdict>> = runs
                .iter()
                .map(|r| {
                    r.cases
                        .iter()
                        .find(|c| c.info.id == id)
                        .map(|c| c.outcome.verdict)
                })
                .collect();
            let first = verdicts.first().copied().flatten();
            verdicts.iter().any(|v| *v != first).then(|| Flaky {
                id: id.to_string(),
                verdicts,
            })
        })
        .collect()
}

impl Report {
    /// One report of `runs` of the same selection: the first run's cases,
    /// the wall time of all, and every case whose verdict changed.
    /// `None` when `runs` is empty.
    pub fn repeated(runs: Vec<Report>) -> Option<Report> {
        let flaky = compare(&runs);
        let repeat = runs.len();
        let duration = runs.iter().map(|r| r.duration).sum();
        let mut first = runs.into_iter().next()?;
        first.duration = duration;
        first.repeat = repeat;
        first.flaky = flaky;
        Some(first)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::case::{CaseInfo, CaseResult, Outcome, Suite};

    fn run(verdicts: &[(&'static str, Outcome)]) -> Report {
        let cases = verdicts
            .iter()
            .map(|(id, o)| CaseResult {
                info: CaseInfo {
                    id,
                    title: "",
                    section: fcgi_proto::requirement::Section::S4_1,
                    requirements: &[],
                    expects: "",
                },
                outcome: o.clone(),
                duration: Duration::from_millis(1),
                transcript: None,
            })
            .collect();
        Report::new(Suite::App, "t".into(), Duration::from_secs(1), cases)
    }

    #[test]
    fn steady_runs_have_no_flaky_case() {
        let a = run(&[("a", Outcome::pass("")), ("b", Outcome::fail("x", "y"))]);
        let r = Report::repeated(vec![a.clone(), a.clone(), a]).unwrap_or_else(|| panic!());
        assert!(r.flaky.is_empty());
        assert_eq!(r.repeat, 3);
        assert_eq!(r.duration, Duration::from_secs(3));
        // The case that failed every time still fails the run, as once.
        assert_eq!(r.exit_code(), 1);
    }

    #[test]
    fn a_changed_verdict_is_flaky_and_fails_the_run() {
        let a = run(&[("a", Outcome::pass("")), ("b", Outcome::pass(""))]);
        let b = run(&[("a", Outcome::pass("")), ("b", Outcome::info(""))]);
        let c = run(&[("a", Outcome::pass(""))]);
        let r = Report::repeated(vec![a.clone(), b]).unwrap_or_else(|| panic!());
        assert_eq!(
            r.flaky,
            vec![Flaky {
                id: "b".into(),
                verdicts: vec![Some(Verdict::Pass), Some(Verdict::Info)],
            }]
        );
        assert_eq!(r.summary().fail, 0);
        assert_eq!(r.exit_code(), 1);
        // A case one run did not report differs too.
        let flaky = compare(&[a, c]);
        assert_eq!(flaky.len(), 1);
        assert_eq!(flaky[0].verdicts, vec![Some(Verdict::Pass), None]);
        assert!(Report::repeated(Vec::new()).is_none());
    }
}
