//! The text report: grouped by spec section, one line per case, details
//! for failures, a recap of the failures and warnings (one line each, so
//! that the end of a long report says what went wrong), and the closing
//! `N passed, N failed` line.

use std::fmt::Write as _;

use super::Report;
use crate::case::Verdict;

/// Whether to colour the text report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// ANSI colours.
    Always,
    /// Plain text.
    Never,
}

fn paint(color: Color, code: &str, s: &str) -> String {
    match color {
        Color::Always => format!("\x1b[{code}m{s}\x1b[0m"),
        Color::Never => s.to_string(),
    }
}

fn badge(v: Verdict, color: Color) -> String {
    let (code, text) = match v {
        Verdict::Pass => ("32", "PASS"),
        Verdict::Fail => ("31;1", "FAIL"),
        Verdict::Warn => ("33", "WARN"),
        Verdict::Info => ("36", "INFO"),
        Verdict::Skip => ("2", "SKIP"),
    };
    paint(color, code, text)
}

/// The report as text.
pub fn to_text(report: &Report, color: Color) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "fcgi-conformance {} — target: {}\n",
        report.suite.name(),
        report.target
    );
    let mut section = "";
    for c in &report.cases {
        if c.info.section.short() != section {
            section = c.info.section.short();
            let _ = writeln!(out, "{}", paint(color, "1", &format!("§{section}")));
        }
        let _ = writeln!(
            out,
            "  {} {}  {}",
            badge(c.outcome.verdict, color),
            c.info.id,
            c.info.title
        );
        match c.outcome.verdict {
            Verdict::Fail | Verdict::Warn => {
                let _ = writeln!(out, "       requirement: {}", c.info.requirement_ids(", "));
                let _ = writeln!(
                    out,
                    "       Expected: {}",
                    c.outcome.expected.as_deref().unwrap_or("-")
                );
                let _ = writeln!(
                    out,
                    "       Actual:   {}",
                    c.outcome.actual.as_deref().unwrap_or(&c.outcome.detail)
                );
            }
            Verdict::Info | Verdict::Skip => {
                let _ = writeln!(out, "       {}", c.outcome.detail);
            }
            Verdict::Pass => {}
        }
    }
    if report.repeat > 1 {
        let _ = writeln!(
            out,
            "\n{}",
            paint(
                color,
                "1",
                &format!("flaky (verdict changed across {} runs)", report.repeat)
            )
        );
        if report.flaky.is_empty() {
            let _ = writeln!(out, "  none: every verdict was the same in every run");
        }
        for f in &report.flaky {
            let runs: Vec<&str> = f
                .verdicts
                .iter()
                .map(|v| v.map_or("-", Verdict::name))
                .collect();
            let _ = writeln!(
                out,
                "  {} {}  {}",
                paint(color, "35;1", "FLAKY"),
                f.id,
                runs.join(" ")
            );
        }
    }
    recap(report, color, &mut out);
    let s = report.summary();
    if let Some(k) = &report.stopped_after {
        let _ = writeln!(
            out,
            "\nThe target stopped serving after {k}: {} later case(s) were skipped.",
            report
                .cases
                .iter()
                .filter(|c| c.outcome.detail == crate::case::stopped_detail(k))
                .count()
        );
    }
    let _ = writeln!(out, "\n{} passed, {} failed", s.pass, s.fail);
    let _ = writeln!(
        out,
        "{} warn, {} info, {} skip ({} cases in {:.2}s){}",
        s.warn,
        s.info,
        s.skip,
        report.cases.len(),
        report.duration.as_secs_f64(),
        match (report.repeat, report.flaky.len()) {
            (1, _) => String::new(),
            (n, 0) => format!("; {n} runs, none flaky"),
            (n, f) => format!("; {n} runs, {f} flaky"),
        }
    );
    out
}

/// The longest detail a recap line keeps, in characters.
const RECAP_DETAIL_CHARS: usize = 120;

/// One line per failed or warned case, failures first, each with the
/// first line of what was seen; nothing when there are none.
fn recap(report: &Report, color: Color, out: &mut String) {
    let mut bad: Vec<_> = report
        .cases
        .iter()
        .filter(|c| matches!(c.outcome.verdict, Verdict::Fail | Verdict::Warn))
        .collect();
    if bad.is_empty() {
        return;
    }
    // Stable: within each verdict the cases keep the report's order.
    bad.sort_by_key(|c| c.outcome.verdict != Verdict::Fail);
    let _ = writeln!(out, "\n{}", paint(color, "1", "failures and warnings"));
    for c in bad {
        let seen = c.outcome.actual.as_deref().unwrap_or(&c.outcome.detail);
        let first = seen.lines().next().unwrap_or("");
        let mut line: String = first.chars().take(RECAP_DETAIL_CHARS).collect();
        if first.chars().count() > RECAP_DETAIL_CHARS || seen.lines().nth(1).is_some() {
            line.push('…');
        }
        let _ = writeln!(
            out,
            "  {} {}  {}",
            badge(c.outcome.verdict, color),
            c.info.id,
            line
        );
    }
}
