//! The resident memory of a `--spawn`ed application over an `explore`
//! run: VmRSS (from `/proc/PID/status`) summed over the child's process
//! group (the command runs under `sh -c`, which may or may not exec it),
//! sampled after each conversation. A run whose last quarter never comes
//! back below twice the first quarter's peak, and 64 MiB over it, is a
//! finding: memory that grows with conversations that all ended, each on
//! connections that closed, until the application can no longer serve
//! (R-3.5-3). The verdict compares sizes, never times: it holds however
//! fast the conversations ran.

use fcgi_proto::requirement as req;

use super::oracle::finding;
use crate::conversation::Finding;

/// Most samples kept: past it every other one is dropped and the stride doubles.
pub const MAX_SAMPLES: usize = 4096;
/// Fewest samples the verdict is drawn from.
pub const MIN_SAMPLES: usize = 40;
/// Growth below this is never a finding, whatever the ratio.
pub const MIN_GROWTH_KIB: u64 = 64 << 10;
/// Most /proc entries looked at for the process group.
const MAX_PROCS: usize = 65_536;

/// Samples of one run.
#[derive(Debug, Clone, Default)]
pub struct Track {
    samples: Vec<u64>,
    stride: u64,
    seen: u64,
}

/// What a run's samples say, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Samples kept.
    pub samples: usize,
    /// The first, KiB.
    pub first_kib: u64,
    /// Peak of the first quarter, KiB.
    pub warm_peak_kib: u64,
    /// Least of the last quarter, KiB.
    pub tail_least_kib: u64,
    /// The peak, KiB.
    pub peak_kib: u64,
}

/// VmRSS in KiB summed over the processes of group `pgid`.
pub fn group_rss_kib(pgid: u32) -> Option<u64> {
    let dir = std::fs::read_dir("/proc").ok()?;
    let mut total = None;
    for e in dir.take(MAX_PROCS).flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        // Field 5 of /proc/PID/stat, after the parenthesised command name.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let pgrp = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(2))
            .and_then(|f| f.parse::<u32>().ok());
        if pgrp != Some(pgid) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        if let Some(kib) = vm_rss_kib(&status) {
            total = Some(total.unwrap_or(0) + kib);
        }
    }
    total
}

/// The VmRSS line of a /proc/PID/status text, in KiB.
pub fn vm_rss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

impl Track {
    /// Takes one sample.
    pub fn push(&mut self, kib: u64) {
        self.stride = self.stride.max(1);
        self.seen += 1;
        if self.seen % self.stride != 0 {
            return;
        }
        self.samples.push(kib);
        if self.samples.len() >= MAX_SAMPLES {
            let kept: Vec<u64> = self.samples.iter().copied().skip(1).step_by(2).collect();
            self.samples = kept;
            self.stride = self.stride.saturating_mul(2);
        }
    }

    /// The summary, once there are samples.
    pub fn summary(&self) -> Option<Summary> {
        let n = self.samples.len();
        let first = *self.samples.first()?;
        let q = (n / 4).max(1);
        Some(Summary {
            samples: n,
            first_kib: first,
            warm_peak_kib: self.samples.iter().take(q).copied().max().unwrap_or(first),
            tail_least_kib: self
                .samples
                .iter()
                .skip(n - q)
                .copied()
                .min()
                .unwrap_or(first),
            peak_kib: self.samples.iter().copied().max().unwrap_or(first),
        })
    }

    /// A finding when memory grew without coming back (see the module documentation).
    pub fn judge(&self) -> Option<Finding> {
        let s = self.summary()?;
        if s.samples < MIN_SAMPLES {
            return None;
        }
        let grew = s.tail_least_kib.saturating_sub(s.warm_peak_kib);
        (s.tail_least_kib > s.warm_peak_kib.saturating_mul(2) && grew > MIN_GROWTH_KIB).then(
            || {
                finding(
                    "rss-bounded",
                    req::R_3_5_3,
                    format!(
                        "resident memory that comes back once conversations end (at most twice the first quarter's peak of {} KiB, or 64 MiB over it)",
                        s.warm_peak_kib
                    ),
                    format!(
                        "{} KiB at least over the last quarter of {} samples, {} KiB at the peak",
                        s.tail_least_kib, s.samples, s.peak_kib
                    ),
                )
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_memory_is_no_finding_and_growth_is() {
        let mut t = Track::default();
        for i in 0..1000u64 {
            t.push(20_000 + (i % 7) * 1000);
        }
        assert_eq!(t.judge(), None);
        let mut t = Track::default();
        for i in 0..10_000u64 {
            t.push(20_000 + i * 100);
        }
        let f = t.judge().expect("growth is found");
        assert_eq!(f.requirement, "R-3.5-3");
        assert!(t.summary().is_some_and(|s| s.samples < MAX_SAMPLES));
        assert_eq!(vm_rss_kib("Name:\tx\nVmRSS:\t  1234 kB\n"), Some(1234));
    }

    #[test]
    fn this_process_has_a_group_rss() {
        // The test runner's own group: at least its own VmRSS.
        let pgid = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .and_then(|(_, r)| r.split_whitespace().nth(2).map(str::to_string))
            })
            .and_then(|f| f.parse::<u32>().ok())
            .expect("a process group");
        assert!(group_rss_kib(pgid).is_some_and(|k| k > 0));
    }
}
