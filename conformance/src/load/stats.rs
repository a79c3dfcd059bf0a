//! What a `load` run counted: completed and failed requests, the latency
//! histogram (HDR, microseconds), bytes, and errors, refusals and
//! protocol violations by kind.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Highest latency the histogram holds, in microseconds (one hour); longer
/// waits are recorded as this.
const MAX_LATENCY_US: u64 = 3_600_000_000;
/// Distinct notes kept.
const MAX_NOTES: usize = 16;

/// A protocol violation kind: the codec's error kind with its section and
/// requirement, and the first message seen (with its byte offset).
#[derive(Debug, Clone)]
pub struct Violation {
    /// Times seen.
    pub count: u64,
    /// The section broken, e.g. `§5.5`.
    pub section: String,
    /// The requirement ID broken, if one applies.
    pub requirement: Option<&'static str>,
    /// The first occurrence, as the codec words it.
    pub example: String,
}

/// Counters of one worker, or of the whole run once merged.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Requests written.
    pub started: u64,
    /// Requests ended with FCGI_REQUEST_COMPLETE.
    pub completed: u64,
    /// Requests refused, cut off or lost.
    pub failed: u64,
    /// Transport connections opened.
    pub connections: u64,
    /// Bytes written to the application.
    pub bytes_out: u64,
    /// Bytes read from the application.
    pub bytes_in: u64,
    /// FCGI_STDOUT content bytes.
    pub stdout_bytes: u64,
    /// FCGI_STDERR content bytes.
    pub stderr_bytes: u64,
    /// Latency of completed requests, microseconds.
    pub latency: Histogram<u64>,
    /// Protocol violations by codec error kind.
    pub violations: BTreeMap<String, Violation>,
    /// END_REQUEST protocolStatus other than REQUEST_COMPLETE, by name (§5.5).
    pub refusals: BTreeMap<String, u64>,
    /// Connection errors and timeouts, by kind (one per request they ended).
    pub errors: BTreeMap<String, u64>,
    /// Things worth saying once.
    pub notes: Vec<String>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats::new()
    }
}

impl Stats {
    /// Nothing counted yet.
    pub fn new() -> Self {
        Stats {
            started: 0,
            completed: 0,
            failed: 0,
            connections: 0,
            bytes_out: 0,
            bytes_in: 0,
            stdout_bytes: 0,
            stderr_bytes: 0,
            // 3 significant digits over 1 µs .. 1 h: fixed, valid bounds.
            latency: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                .unwrap_or_else(|_| unreachable!("constant histogram bounds are valid")),
            violations: BTreeMap::new(),
            refusals: BTreeMap::new(),
            errors: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    /// Records one completed request's latency.
    pub fn record_latency(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.latency.saturating_record(us.clamp(1, MAX_LATENCY_US));
    }

    /// Counts a violation under its error kind's name.
    pub fn violation(&mut self, e: &fcgi_proto::Error) {
        let name = kind_name(e.kind());
        let v = self.violations.entry(name).or_insert_with(|| Violation {
            count: 0,
            section: e.section().to_string(),
            requirement: e.requirement().map(|r| r.id()),
            example: e.to_string(),
        });
        v.count += 1;
    }

    /// Counts an error of `kind`.
    pub fn error(&mut self, kind: &str) {
        *self.errors.entry(kind.to_string()).or_default() += 1;
    }

    /// Counts a refusal by its protocolStatus name.
    pub fn refusal(&mut self, name: &str) {
        *self.refusals.entry(name.to_string()).or_default() += 1;
    }

    /// Keeps a note, once.
    pub fn note(&mut self, note: String) {
        if self.notes.len() < MAX_NOTES && !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// Adds another worker's counts to these.
    pub fn merge(&mut self, o: Stats) {
        self.started += o.started;
        self.completed += o.completed;
        self.failed += o.failed;
        self.connections += o.connections;
        self.bytes_out += o.bytes_out;
        self.bytes_in += o.bytes_in;
        self.stdout_bytes += o.stdout_bytes;
        self.stderr_bytes += o.stderr_bytes;
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&o.latency);
        for (k, v) in o.violations {
            self.violations
                .entry(k)
                .and_modify(|m| m.count += v.count)
                .or_insert(v);
        }
        for (k, n) in o.refusals {
            *self.refusals.entry(k).or_default() += n;
        }
        for (k, n) in o.errors {
            *self.errors.entry(k).or_default() += n;
        }
        for n in o.notes {
            self.note(n);
        }
    }

    /// Violations of every kind together.
    pub fn violation_count(&self) -> u64 {
        self.violations.values().map(|v| v.count).sum()
    }
}

/// The variant name of an error kind (`InactiveRequestId`), from its
/// `Debug` form: stable across the values it carries.
pub fn kind_name(kind: &fcgi_proto::error::ErrorKind) -> String {
    let dbg = format!("{kind:?}");
    let end = dbg
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(dbg.len());
    let mut name = dbg.get(..end).unwrap_or_default().to_string();
    if let fcgi_proto::error::ErrorKind::Cgi(c) = kind {
        name = format!("Cgi{c:?}");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use fcgi_proto::error::ErrorKind;

    #[test]
    fn kinds_are_named_without_their_values() {
        assert_eq!(kind_name(&ErrorKind::RequestEnded(3)), "RequestEnded");
        let stream = ErrorKind::UnterminatedStream {
            record_type: fcgi_proto::RecordType::Stdout,
            request_id: 1,
        };
        assert_eq!(kind_name(&stream), "UnterminatedStream");
        assert_eq!(
            kind_name(&ErrorKind::Cgi(fcgi_proto::error::CgiErrorKind::Folding)),
            "CgiFolding"
        );
    }

    #[test]
    fn merging_adds_every_counter() {
        let mut a = Stats::new();
        let mut b = Stats::new();
        a.record_latency(Duration::from_micros(10));
        b.record_latency(Duration::from_micros(1000));
        b.error("timeout");
        b.violation(&fcgi_proto::Error::new(ErrorKind::RequestEnded(1), 40));
        a.violation(&fcgi_proto::Error::new(ErrorKind::RequestEnded(2), 80));
        a.merge(b);
        assert_eq!(a.latency.len(), 2);
        assert_eq!(a.latency.max(), a.latency.highest_equivalent(1000));
        assert_eq!(a.errors.get("timeout"), Some(&1));
        assert_eq!(a.violation_count(), 2);
        let v = a.violations.get("RequestEnded").map(|v| v.example.clone());
        assert!(
            v.is_some_and(|e| e.contains("byte 80")),
            "first example kept"
        );
    }
}
