//! The `explore` report: text for people, JSON (schema
//! `fcgi-conformance-explore/1`) for tools. Both carry the seed.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use super::generate::Profile;
use super::oracle::Contract;
use super::Size;
use crate::conversation::Finding;

/// Schema name of the JSON report.
pub const SCHEMA: &str = "fcgi-conformance-explore/1";

/// One distinct finding, shrunk.
pub struct Found {
    /// The finding as first seen.
    pub first: Finding,
    /// The finding of the shrunk conversation.
    pub finding: Finding,
    /// Which conversation (1-based) first showed it.
    pub conversation: u64,
    /// The plan's size before shrinking.
    pub before: Size,
    /// And after.
    pub after: Size,
    /// Records the runner sends in the reproducer.
    pub records: usize,
    /// Live runs the shrinking made.
    pub attempts: usize,
    /// Where the reproducer was written, or why it could not be.
    pub file: Result<PathBuf, String>,
}

/// A whole run.
pub struct Report {
    /// The generator's seed.
    pub seed: u64,
    /// The target as given.
    pub target: String,
    /// What it serves.
    pub profile: Profile,
    /// What the oracle assumed.
    pub contract: Contract,
    /// Conversations run (shrinking attempts not counted).
    pub conversations: u64,
    /// Wall time of the run, shrinking included.
    pub elapsed: Duration,
    /// The distinct findings.
    pub findings: Vec<Found>,
    /// Why the run stopped early, if the target stopped serving for good.
    pub unusable: Option<String>,
    /// The spawned target's resident memory over the run (`--spawn` only).
    pub rss: Option<super::rss::Summary>,
    /// Conversations run at once.
    pub jobs: usize,
    /// Why that many, in words.
    pub jobs_reason: String,
    /// Findings a conversation showed while others ran beside it and not
    /// when run again alone (conversation number, finding): not findings,
    /// but told, since a target that fails only under company is worth a look.
    pub beside_only: Vec<(u64, Finding)>,
}

impl Report {
    fn rate(&self) -> f64 {
        self.conversations as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The text report.
    pub fn text(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "explore {}: seed {}, {} conversations in {:.1}s ({:.1}/s); roles {:?}, FCGI_MPXS_CONNS={}, echo contract {}{}",
            self.target,
            self.seed,
            self.conversations,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.profile.roles,
            u8::from(self.profile.mpxs),
            if self.contract.echo { "yes" } else { "no" },
            if self.profile.hostile { ", hostile" } else { "" },
        );
        let _ = writeln!(
            t,
            "  {} conversation(s) at a time: {}",
            self.jobs, self.jobs_reason
        );
        for (i, f) in self.findings.iter().enumerate() {
            let g = &f.finding;
            let _ = writeln!(
                t,
                "finding {}: {} {} §{} (conversation {})\n  expected: {}\n  observed: {}\n  shrunk from {} connection(s), {} request(s) to {}, {} ({} records sent) in {} attempts",
                i + 1,
                g.property,
                g.requirement,
                g.section,
                f.conversation,
                g.expected,
                g.observed,
                f.before.connections,
                f.before.requests,
                f.after.connections,
                f.after.requests,
                f.records,
                f.attempts
            );
            match &f.file {
                Ok(p) => {
                    let _ = writeln!(
                        t,
                        "  reproducer: {} (fcgi-conformance replay {} …)",
                        p.display(),
                        p.display()
                    );
                }
                Err(e) => {
                    let _ = writeln!(t, "  reproducer not saved: {e}");
                }
            }
        }
        for (n, b) in &self.beside_only {
            let _ = writeln!(
                t,
                "note: conversation {n} showed {} {} §{} while others ran beside it, and nothing when run again alone (not a finding): {}",
                b.property, b.requirement, b.section, b.observed
            );
        }
        if let Some(u) = &self.unusable {
            let _ = writeln!(t, "stopped: {u}");
        }
        let _ = writeln!(
            t,
            "{} finding(s); seed {} (run it again with --seed {})",
            self.findings.len(),
            self.seed,
            self.seed
        );
        if let Some(r) = &self.rss {
            let _ = writeln!(
                t,
                "  memory (VmRSS of the spawned process group): first {} KiB, first-quarter peak {} KiB, last-quarter least {} KiB, peak {} KiB ({} samples)",
                r.first_kib, r.warm_peak_kib, r.tail_least_kib, r.peak_kib, r.samples
            );
        }
        t
    }

    /// The JUnit XML report: one failed testcase per finding, or one
    /// passing testcase for the run when nothing was found.
    pub fn junit(&self) -> String {
        let found: Vec<_> = self
            .findings
            .iter()
            .map(|f| (&f.finding, f.conversation, &f.file))
            .collect();
        junit(
            &self.target,
            self.seed,
            self.conversations,
            self.elapsed,
            &found,
        )
    }

    /// The JSON report.
    pub fn json(&self) -> String {
        let findings: Vec<serde_json::Value> = self
            .findings
            .iter()
            .map(|f| {
                serde_json::json!({
                    "finding": f.finding,
                    "first": f.first,
                    "conversation": f.conversation,
                    "before": f.before,
                    "after": f.after,
                    "records": f.records,
                    "attempts": f.attempts,
                    "file": f.file.as_ref().ok().map(|p| p.display().to_string()),
                    "file_error": f.file.as_ref().err(),
                })
            })
            .collect();
        let v = serde_json::json!({
            "schema": SCHEMA,
            "tool_version": env!("CARGO_PKG_VERSION"),
            "seed": self.seed,
            "side": "application",
            "target": self.target,
            "roles": self.profile.roles,
            "mpxs_conns": self.profile.mpxs,
            "echo_contract": self.contract.echo,
            "hostile": self.profile.hostile,
            "conversations": self.conversations,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "conversations_per_s": self.rate(),
            "findings": findings,
            "unusable": self.unusable,
            "rss": self.rss,
            "jobs": self.jobs,
            "jobs_reason": self.jobs_reason,
            "beside_only": self
                .beside_only
                .iter()
                .map(|(n, f)| serde_json::json!({ "conversation": n, "finding": f }))
                .collect::<Vec<_>>(),
        });
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// One finding in a JUnit report: what failed, in which conversation, and
/// where its reproducer went (or why it did not).
pub(crate) type JunitFinding<'a> = (&'a Finding, u64, &'a Result<PathBuf, String>);

/// The JUnit XML of an `explore` run (application or web-server side):
/// one failed testcase per finding, or one passing testcase for the run
/// when nothing was found.
pub(crate) fn junit(
    target: &str,
    seed: u64,
    conversations: u64,
    elapsed: Duration,
    found: &[JunitFinding<'_>],
) -> String {
    use crate::report::xml_escape;
    let name = format!("fcgi-conformance explore ({target})");
    let tests = found.len().max(1);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"fcgi-conformance explore\" tests=\"{tests}\" failures=\"{}\" time=\"{:.3}\">",
        found.len(),
        elapsed.as_secs_f64()
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{:.3}\">",
        xml_escape(&name),
        found.len(),
        elapsed.as_secs_f64()
    );
    if found.is_empty() {
        let _ = writeln!(
            x,
            "    <testcase classname=\"explore\" name=\"seed {seed}\" time=\"{:.3}\"><system-out>{}</system-out></testcase>",
            elapsed.as_secs_f64(),
            xml_escape(&format!("{conversations} conversations, no finding"))
        );
    }
    for (g, conversation, file) in found {
        let file = match file {
            Ok(p) => format!("reproducer: {}", p.display()),
            Err(e) => format!("reproducer not saved: {e}"),
        };
        let _ = writeln!(
            x,
            "    <testcase classname=\"explore.§{}\" name=\"{} {}\" time=\"0.000\">\n      <failure message=\"{}\" type=\"finding\"/>\n      <system-out>{}</system-out>\n    </testcase>",
            xml_escape(&g.section),
            xml_escape(&g.property),
            xml_escape(&g.requirement),
            xml_escape(&format!("expected: {}; observed: {}", g.expected, g.observed)),
            xml_escape(&format!("seed {seed}, conversation {conversation}; {file}"))
        );
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}
