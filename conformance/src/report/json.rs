//! The JSON report (schema `fcgi-conformance-report/1`, docs/report-format.md).

use serde::Serialize;

use super::{rfc3339, Flaky, Probes, Report, RunOptions, Summary, JSON_SCHEMA};
use crate::case::CaseResult;

#[derive(Serialize)]
struct JsonReport<'a> {
    schema: &'static str,
    tool_version: &'static str,
    suite: &'static str,
    target: &'a str,
    started_at: String,
    duration_ms: u128,
    options: &'a RunOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    probes: Option<&'a Probes>,
    summary: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped_after: Option<&'a str>,
    cases: &'a [CaseResult],
    /// Present when the selection ran more than once (`--repeat`).
    #[serde(skip_serializing_if = "Option::is_none")]
    repeat: Option<usize>,
    /// Present with `repeat`: the cases whose verdict changed, verdicts per run.
    #[serde(skip_serializing_if = "Option::is_none")]
    flaky: Option<&'a [Flaky]>,
}

/// The report as pretty-printed JSON.
pub fn to_json(report: &Report) -> String {
    let j = JsonReport {
        schema: JSON_SCHEMA,
        tool_version: env!("CARGO_PKG_VERSION"),
        suite: report.suite.name(),
        target: &report.target,
        started_at: rfc3339(report.started_at),
        options: &report.options,
        probes: report.probes.as_ref(),
        duration_ms: report.duration.as_millis(),
        summary: report.summary(),
        stopped_after: report.stopped_after.as_deref(),
        cases: &report.cases,
        repeat: (report.repeat > 1).then_some(report.repeat),
        flaky: (report.repeat > 1).then_some(&report.flaky[..]),
    };
    serde_json::to_string_pretty(&j).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
