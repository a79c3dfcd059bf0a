//! What a report says about its run besides the cases: when it started,
//! the options it ran with, and what the setup probes learned and the
//! runner decided from them (docs/report-format.md, `docs/schemas/`).

use std::time::SystemTime;

use serde::Serialize;

/// The options of a run as the report records them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunOptions {
    /// Bound on every connect and read, in milliseconds (`--timeout`).
    pub timeout_ms: u64,
    /// Cases asked to run at once (`--jobs`, application suite only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jobs: Option<usize>,
    /// `--only` patterns.
    pub only: Vec<String>,
    /// `--skip` patterns.
    pub skip: Vec<String>,
    /// Params added to every request, as `NAME=VALUE` (`--param`).
    pub params: Vec<String>,
    /// Runs of the selection (`--repeat`).
    pub repeat: usize,
    /// Warnings fail the run (`--strict`).
    pub strict: bool,
    /// The expectations file compared with (`--expect`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
}

/// What the application suite's probes learned before the cases, and what
/// the runner decided from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AppProbes {
    /// The target answers in the echo contract's form (docs/echo-contract.md).
    pub echo_contract: bool,
    /// HTTP status of the plain baseline request, when it was answered.
    pub baseline_status: Option<u16>,
    /// The answers to GET_VALUES (§4.1), `None` where not answered.
    pub get_values: GetValuesAnswers,
    /// Connections the target served at once, as the capacity probe saw.
    pub connections_at_once: usize,
    /// What the runner decided.
    pub decided: Decided,
}

/// The GET_VALUES answers the probes got (§4.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GetValuesAnswers {
    /// FCGI_MPXS_CONNS: whether the target multiplexes connections.
    #[serde(rename = "FCGI_MPXS_CONNS")]
    pub mpxs_conns: Option<bool>,
    /// FCGI_MAX_CONNS: connections it accepts at once.
    #[serde(rename = "FCGI_MAX_CONNS")]
    pub max_conns: Option<u64>,
}

/// How the runner ran the cases, decided from the probes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Decided {
    /// Cases run at once.
    pub jobs: usize,
    /// Why that many, in words.
    pub jobs_reason: String,
    /// How a case learns that nothing more arrives after END_REQUEST.
    pub after_end_request: AfterEnd,
    /// The quiet period used when there is no barrier, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet_period_ms: Option<u64>,
    /// With the barrier: how long the reading goes on after it with nothing
    /// received, for workers that write apart from the application's
    /// reader: 20 of the baseline request's round trips, at least 25 ms
    /// and at most a quarter of the timeout, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settle_ms: Option<u64>,
    /// How long `app/6.1/output-after-params` holds PARAMS open and waits
    /// for output that must not come: 20 of the baseline request's round
    /// trips, at least 100 ms and at most a quarter of the timeout.
    pub params_held_open_ms: u64,
}

/// How "nothing more arrives" is decided after END_REQUEST.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterEnd {
    /// A GET_VALUES answered on the same kept connection marks the end.
    Barrier,
    /// A quiet period: the target does not answer GET_VALUES there.
    #[default]
    QuietPeriod,
}

/// What the web-server suite was pointed at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServerProbes {
    /// The URL the web server forwards to the runner (`--http`); `None`
    /// for the bundled reference web server.
    pub http: Option<String>,
    /// The URL of an Authorizer location (`--authorizer`), if any.
    pub authorizer: Option<String>,
    /// Whether the runner started the web server (`--spawn`).
    pub spawned: bool,
}

/// The probes of either suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Probes {
    /// Of the application suite.
    App(AppProbes),
    /// Of the web-server suite.
    Server(ServerProbes),
}

/// `t` as RFC 3339 in UTC with milliseconds, e.g. `2026-12-02T04:01:02.345Z`.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn start_time_is_rfc3339_utc() {
        let t = UNIX_EPOCH + Duration::from_millis(1_796_184_062_345);
        assert_eq!(rfc3339(t), "2026-12-02T04:01:02.345Z");
    }

    #[test]
    fn probes_serialize_with_get_values_names() {
        let p = Probes::App(AppProbes {
            get_values: GetValuesAnswers {
                mpxs_conns: Some(false),
                max_conns: None,
            },
            ..AppProbes::default()
        });
        let v = serde_json::to_value(&p).unwrap_or_default();
        assert_eq!(v["get_values"]["FCGI_MPXS_CONNS"], false);
        assert!(v["get_values"]["FCGI_MAX_CONNS"].is_null());
        assert_eq!(v["decided"]["after_end_request"], "quiet_period");
    }
}
