//! JUnit XML: one `<testcase>` per case, failures for `fail`, skips for
//! `skip`, errors for cases that could not be judged because the target
//! stopped serving; `warn` and `info` pass with their detail in
//! `<system-out>`. Valid against the Jenkins xUnit plugin's JUnit schema
//! (`docs/schemas/junit-10.xsd`), which allows no `skipped` on `<testsuites>`.

use std::fmt::Write as _;

use super::{rfc3339, Report};
use crate::case::{CaseResult, Verdict, STOPPED_PREFIX};

/// A case skipped because the target stopped serving: it could not be
/// judged, which JUnit calls an error, unlike a skip by choice.
fn not_judged(c: &CaseResult) -> bool {
    c.outcome.verdict == Verdict::Skip && c.outcome.detail.starts_with(STOPPED_PREFIX)
}

/// Escapes text for XML attributes and content; drops characters XML 1.0 forbids.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The report as a JUnit XML document.
pub fn to_junit(report: &Report) -> String {
    let s = report.summary();
    // A flaky case fails the run, so JUnit counts it as a failure too.
    let flaky = |id: &str| report.flaky.iter().find(|f| f.id == id);
    let failures = s.fail
        + report
            .cases
            .iter()
            .filter(|c| c.outcome.verdict != Verdict::Fail && flaky(c.info.id).is_some())
            .count();
    let errors = report.cases.iter().filter(|c| not_judged(c)).count();
    let skipped = s.skip - errors;
    let name = format!("fcgi-conformance {}", report.suite.name());
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
        xml_escape(&name),
        report.cases.len(),
        failures,
        errors,
        report.duration.as_secs_f64()
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\" timestamp=\"{}\">",
        xml_escape(&format!("{} ({})", name, report.target)),
        report.cases.len(),
        failures,
        errors,
        skipped,
        report.duration.as_secs_f64(),
        rfc3339(report.started_at)
    );
    for c in &report.cases {
        let _ = write!(
            x,
            "    <testcase classname=\"{}.§{}\" name=\"{}\" time=\"{:.3}\">",
            report.suite.name(),
            xml_escape(c.info.section.short()),
            xml_escape(c.info.id),
            c.duration.as_secs_f64()
        );
        let reqs = c.info.requirement_ids(" ");
        if let Some(f) = flaky(c.info.id).filter(|_| c.outcome.verdict != Verdict::Fail) {
            let runs: Vec<&str> = f
                .verdicts
                .iter()
                .map(|v| v.map_or("-", Verdict::name))
                .collect();
            let _ = write!(
                x,
                "\n      <failure message=\"{}\" type=\"flaky\"/>\n    ",
                xml_escape(&format!(
                    "flaky: the verdict changed across runs: {}",
                    runs.join(" ")
                ))
            );
        }
        match c.outcome.verdict {
            Verdict::Fail => {
                let _ = write!(
                    x,
                    "\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    ",
                    xml_escape(&c.outcome.detail),
                    xml_escape(&reqs),
                    xml_escape(&format!(
                        "{}\nExpected: {}\nActual: {}",
                        c.info.title,
                        c.outcome.expected.as_deref().unwrap_or("-"),
                        c.outcome.actual.as_deref().unwrap_or("-")
                    ))
                );
            }
            Verdict::Skip if not_judged(c) => {
                let _ = write!(
                    x,
                    "\n      <error message=\"{}\" type=\"target-stopped\"/>\n    ",
                    xml_escape(&c.outcome.detail)
                );
            }
            Verdict::Skip => {
                let _ = write!(
                    x,
                    "\n      <skipped message=\"{}\"/>\n    ",
                    xml_escape(&c.outcome.detail)
                );
            }
            v => {
                let _ = write!(
                    x,
                    "\n      <system-out>{}</system-out>\n    ",
                    xml_escape(&format!("{}: {} [{}]", v.name(), c.outcome.detail, reqs))
                );
            }
        }
        x.push_str("</testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}
