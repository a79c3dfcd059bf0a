//! JUnit XML: one `<testcase>` per case, failures for `fail`, skips for
//! `skip`; `warn` and `info` pass with their detail in `<system-out>`.

use std::fmt::Write as _;

use super::Report;
use crate::case::Verdict;

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
    let name = format!("fcgi-conformance {}", report.suite.name());
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        xml_escape(&name),
        report.cases.len(),
        failures,
        s.skip,
        report.duration.as_secs_f64()
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\">",
        xml_escape(&format!("{} ({})", name, report.target)),
        report.cases.len(),
        failures,
        s.skip,
        report.duration.as_secs_f64()
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
