//! What `proxy` says: one line per violation as it happens (on standard
//! error), and at the end a summary (standard output), as text or as JSON
//! (schema `fcgi-conformance-proxy/1`, docs/schemas/).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::check::{Counts, Party, Violation};

/// The schema name of the JSON summary.
pub const SCHEMA: &str = "fcgi-conformance-proxy/1";

/// What one connection came to, once it closed and its check ended.
#[derive(Debug, Clone, Default)]
pub struct ConnOutcome {
    /// Bytes relayed from the web server to the application.
    pub to_application: u64,
    /// Bytes relayed from the application to the web server.
    pub to_web_server: u64,
    /// What the checker counted.
    pub counts: Counts,
    /// Violations by requirement ID (`-` when the codec names none).
    pub by_requirement: BTreeMap<String, u64>,
    /// Violations by the party that sent the offending bytes.
    pub by_party: BTreeMap<&'static str, u64>,
    /// Bytes checked before the checker's queue filled, if it did.
    pub checking_stopped: Option<u64>,
    /// The upstream could not be reached: the connection was closed.
    pub upstream_failed: bool,
    /// The conversation file written, if any.
    pub recorded: bool,
}

impl ConnOutcome {
    /// Counts one violation.
    pub fn count(&mut self, v: &Violation) {
        *self
            .by_requirement
            .entry(v.requirement_id().to_string())
            .or_default() += 1;
        *self.by_party.entry(v.party.name()).or_default() += 1;
    }
}

/// The whole run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Where the proxy listened.
    pub listen: String,
    /// Where it relayed to.
    pub upstream: String,
    /// Connections relayed and closed.
    pub connections: u64,
    /// Connections accepted past `--max-connections` and closed at once.
    pub refused: u64,
    /// Connections closed because the upstream could not be reached.
    pub upstream_failures: u64,
    /// Connections whose check stopped because its queue was full.
    pub checking_stopped: u64,
    /// Conversation files written under `--record`.
    pub recorded: u64,
    /// BEGIN_REQUEST records the web server sent.
    pub requests: u64,
    /// END_REQUEST records the application sent.
    pub completed: u64,
    /// Bytes from the web server to the application.
    pub to_application: u64,
    /// Bytes from the application to the web server.
    pub to_web_server: u64,
    /// Violations by requirement ID.
    pub by_requirement: BTreeMap<String, u64>,
    /// Violations by party (`web-server`, `application`).
    pub by_party: BTreeMap<&'static str, u64>,
    /// Why the run stopped.
    pub stopped_by: String,
    /// Seconds the proxy ran.
    pub seconds: f64,
}

impl Summary {
    /// Adds one connection's outcome.
    pub fn add(&mut self, c: &ConnOutcome) {
        self.connections += 1;
        self.upstream_failures += u64::from(c.upstream_failed);
        self.checking_stopped += u64::from(c.checking_stopped.is_some());
        self.recorded += u64::from(c.recorded);
        self.requests += c.counts.requests;
        self.completed += c.counts.completed;
        self.to_application += c.to_application;
        self.to_web_server += c.to_web_server;
        for (k, n) in &c.by_requirement {
            *self.by_requirement.entry(k.clone()).or_default() += n;
        }
        for (k, n) in &c.by_party {
            *self.by_party.entry(k).or_default() += n;
        }
    }

    /// Violations in all.
    pub fn violations(&self) -> u64 {
        self.by_requirement.values().sum()
    }

    /// The exit code: 1 when any violation was seen.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.violations() > 0)
    }

    /// The text summary.
    pub fn text(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "proxy {} -> {}: {} connection(s), {} request(s), {} END_REQUEST(s), {} bytes to the application, {} bytes to the web server ({:.1}s, stopped by {})",
            self.listen,
            self.upstream,
            self.connections,
            self.requests,
            self.completed,
            self.to_application,
            self.to_web_server,
            self.seconds,
            self.stopped_by
        );
        for (what, n) in [
            ("refused past --max-connections", self.refused),
            (
                "closed: the upstream could not be reached",
                self.upstream_failures,
            ),
            (
                "checking stopped: checker queue full",
                self.checking_stopped,
            ),
            ("recorded", self.recorded),
        ] {
            if n > 0 {
                let _ = writeln!(t, "  {n} connection(s) {what}");
            }
        }
        if self.violations() == 0 {
            let _ = writeln!(t, "no violation");
        } else {
            let parties: Vec<String> = self
                .by_party
                .iter()
                .map(|(p, n)| format!("{n} by the {p}"))
                .collect();
            let _ = writeln!(
                t,
                "{} violation(s): {}",
                self.violations(),
                parties.join(", ")
            );
            for (r, n) in &self.by_requirement {
                let _ = writeln!(t, "  {r:<9} {n}");
            }
        }
        t
    }

    /// The JSON summary (stable keys, schema [`SCHEMA`]).
    pub fn json(&self) -> String {
        let by_party = |p: Party| self.by_party.get(p.name()).copied().unwrap_or(0);
        let v = serde_json::json!({
            "schema": SCHEMA,
            "tool_version": env!("CARGO_PKG_VERSION"),
            "listen": self.listen,
            "upstream": self.upstream,
            "connections": self.connections,
            "refused": self.refused,
            "upstream_failures": self.upstream_failures,
            "checking_stopped": self.checking_stopped,
            "recorded": self.recorded,
            "requests": self.requests,
            "completed": self.completed,
            "bytes": {
                "to_application": self.to_application,
                "to_web_server": self.to_web_server,
            },
            "violations": {
                "total": self.violations(),
                "web_server": by_party(Party::WebServer),
                "application": by_party(Party::Application),
                "by_requirement": self.by_requirement,
            },
            "stopped_by": self.stopped_by,
            "seconds": (self.seconds * 1000.0).round() / 1000.0,
        });
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_add_up_and_name_the_exit_code() {
        let mut s = Summary::default();
        assert_eq!(s.exit_code(), 0);
        assert!(s.text().contains("no violation"));
        let mut c = ConnOutcome {
            to_application: 10,
            to_web_server: 20,
            ..ConnOutcome::default()
        };
        c.by_requirement.insert("R-5.3-1".into(), 2);
        c.by_party.insert("application", 2);
        s.add(&c);
        s.add(&c);
        assert_eq!(s.violations(), 4);
        assert_eq!(s.exit_code(), 1);
        let j: serde_json::Value =
            serde_json::from_str(&s.json()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(j["schema"], SCHEMA);
        assert_eq!(j["violations"]["by_requirement"]["R-5.3-1"], 4);
        assert_eq!(j["violations"]["application"], 4);
        assert_eq!(j["bytes"]["to_web_server"], 40);
        assert!(s.text().contains("R-5.3-1"), "{}", s.text());
    }
}
