//! The `load` report: text for people, JSON (`fcgi-conformance-load/1`)
//! for scripts. Latency is in microseconds, from the first byte of a
//! request queued to its END_REQUEST.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

use super::stats::Stats;

/// A finished run.
pub(crate) struct Summary {
    pub target: String,
    pub connections: usize,
    pub in_flight: usize,
    pub mpxs_conns: Option<bool>,
    pub max_reqs: Option<u64>,
    pub requests_asked: Option<u64>,
    pub elapsed: Duration,
    pub stats: Stats,
}

impl Summary {
    fn rps(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.stats.completed as f64 / secs
        } else {
            0.0
        }
    }

    fn pct(&self, q: f64) -> u64 {
        if self.stats.latency.is_empty() {
            0
        } else {
            self.stats.latency.value_at_quantile(q)
        }
    }

    /// The JSON report.
    pub fn json(&self) -> String {
        let s = &self.stats;
        let lat = &s.latency;
        let violations: serde_json::Map<_, _> = s
            .violations
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    json!({"count": v.count, "section": v.section,
                           "requirement": v.requirement, "example": v.example}),
                )
            })
            .collect();
        let v = json!({
            "schema": "fcgi-conformance-load/1",
            "target": self.target,
            "connections": self.connections,
            "in_flight": self.in_flight,
            "mpxs_conns": self.mpxs_conns,
            "max_reqs": self.max_reqs,
            "requests_asked": self.requests_asked,
            "elapsed_seconds": self.elapsed.as_secs_f64(),
            "requests": {"started": s.started, "completed": s.completed, "failed": s.failed},
            "requests_per_second": self.rps(),
            "latency_us": {
                "min": if lat.is_empty() { 0 } else { lat.min() },
                "mean": if lat.is_empty() { 0.0 } else { lat.mean() },
                "p50": self.pct(0.5), "p90": self.pct(0.9), "p99": self.pct(0.99),
                "max": if lat.is_empty() { 0 } else { lat.max() },
            },
            "bytes": {"out": s.bytes_out, "in": s.bytes_in,
                      "stdout": s.stdout_bytes, "stderr": s.stderr_bytes},
            "transport_connections": s.connections,
            "violation_count": s.violation_count(),
            "violations": violations,
            "refusals": s.refusals,
            "errors": s.errors,
            "notes": s.notes,
        });
        let mut out = serde_json::to_string_pretty(&v).unwrap_or_default();
        out.push('\n');
        out
    }

    /// The text report.
    pub fn text(&self) -> String {
        let s = &self.stats;
        let mut t = String::new();
        let mpx = match self.mpxs_conns {
            Some(true) => "FCGI_MPXS_CONNS=1",
            Some(false) => "FCGI_MPXS_CONNS=0",
            None => "FCGI_MPXS_CONNS not answered",
        };
        let _ = writeln!(
            t,
            "load on {}: {} connection(s), {} in flight each ({mpx}), {:.2}s",
            self.target,
            self.connections,
            self.in_flight,
            self.elapsed.as_secs_f64()
        );
        for n in &s.notes {
            let _ = writeln!(t, "note: {n}");
        }
        let _ = writeln!(
            t,
            "requests: {} started, {} completed, {} failed; {:.1} req/s",
            s.started,
            s.completed,
            s.failed,
            self.rps()
        );
        if !s.latency.is_empty() {
            let _ = writeln!(
                t,
                "latency (µs): min {} p50 {} p90 {} p99 {} max {}",
                s.latency.min(),
                self.pct(0.5),
                self.pct(0.9),
                self.pct(0.99),
                s.latency.max()
            );
        }
        let _ = writeln!(
            t,
            "bytes: {} out, {} in ({} STDOUT, {} STDERR); {} transport connection(s)",
            s.bytes_out, s.bytes_in, s.stdout_bytes, s.stderr_bytes, s.connections
        );
        for (k, n) in &s.refusals {
            let _ = writeln!(t, "refused: FCGI_{k} x{n} (§5.5)");
        }
        for (k, n) in &s.errors {
            let _ = writeln!(t, "error: {k} x{n}");
        }
        for (k, v) in &s.violations {
            let _ = writeln!(
                t,
                "VIOLATION {k} x{} ({}{}): first: {}",
                v.count,
                v.section,
                v.requirement.map(|r| format!(", {r}")).unwrap_or_default(),
                v.example
            );
        }
        let _ = writeln!(
            t,
            "{}",
            match s.violation_count() {
                0 => "no protocol violation".to_string(),
                n => format!("{n} protocol violation(s)"),
            }
        );
        t
    }
}
