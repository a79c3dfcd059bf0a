//! `fcgi-conformance load` end to end (issue 16): real runs of the CLI
//! against the bundled reference application (started by `--spawn`, and
//! as its own process on a unix socket for `--connect`) and against a
//! misbehaving fixture from `tests/fixtures/hostile_peer.py`. Counts and
//! exit codes are asserted, never speeds. Every run is killed past
//! [`HARD_LIMIT`] and every process carries a marker that a guard reaps.

mod support;

use std::time::Duration;

use support::{bin, fixture_cmd, MarkerGuard, ReferenceApp, RunResult, Runner};

/// No run outlives this: it is killed and the test fails.
const HARD_LIMIT: Duration = Duration::from_secs(120);

fn load(args: &[&str], marker: &MarkerGuard) -> RunResult {
    let mut all = vec!["load"];
    all.extend_from_slice(args);
    Runner::new(&all, marker, HARD_LIMIT).run()
}

fn json(r: &RunResult) -> serde_json::Value {
    match serde_json::from_str(&r.stdout) {
        Ok(v) => v,
        Err(e) => panic!("the report is not JSON ({e}): {}", r.summary()),
    }
}

fn reference_cmd() -> String {
    format!("{} reference-app", bin())
}

#[test]
fn reference_app_spawned_completes_every_request_without_violation() {
    let marker = MarkerGuard::new("load-ref-spawn");
    let cmd = reference_cmd();
    let r = load(
        &["--spawn", &cmd, "--requests", "200", "--format", "json"],
        &marker,
    );
    assert_eq!(r.code, Some(0), "{}", r.summary());
    let v = json(&r);
    assert_eq!(v["requests"]["started"], 200, "{}", r.stdout);
    assert_eq!(v["requests"]["completed"], 200, "{}", r.stdout);
    assert_eq!(v["requests"]["failed"], 0, "{}", r.stdout);
    assert_eq!(v["violation_count"], 0, "{}", r.stdout);
    assert_eq!(v["violations"], serde_json::json!({}), "{}", r.stdout);
    assert_eq!(v["errors"], serde_json::json!({}), "{}", r.stdout);
    for k in ["p50", "p90", "p99", "max"] {
        assert!(
            v["latency_us"][k].as_u64().is_some_and(|n| n > 0),
            "{k}: {}",
            r.stdout
        );
    }
    assert!(v["requests_per_second"].as_f64().is_some_and(|x| x > 0.0));
    assert!(
        marker.leftovers(Duration::from_secs(5)).is_empty(),
        "the spawned app was left running"
    );
}

#[test]
fn reference_app_connected_multiplexes_with_a_body() {
    let marker = MarkerGuard::new("load-ref-connect");
    let dir = support::temp_dir();
    let app = ReferenceApp::start(dir.path(), "ref", &[], &marker);
    let r = load(
        &[
            "--connect",
            &app.addr,
            "--connections",
            "3",
            "--in-flight",
            "4",
            "--requests",
            "150",
            "--data-size",
            "70000",
            "--param",
            "REQUEST_METHOD=POST",
            "--param",
            "CONTENT_LENGTH=70000",
            "--format",
            "json",
        ],
        &marker,
    );
    assert_eq!(r.code, Some(0), "{}", r.summary());
    let v = json(&r);
    assert_eq!(v["mpxs_conns"], true, "{}", r.stdout);
    assert_eq!(v["in_flight"], 4, "not clamped: {}", r.stdout);
    assert_eq!(v["requests"]["completed"], 150, "{}", r.stdout);
    assert_eq!(v["violation_count"], 0, "{}", r.stdout);
    // Each request's body went out whole (two STDIN records and their headers at least).
    assert!(
        v["bytes"]["out"]
            .as_u64()
            .is_some_and(|n| n >= 150 * 70_000),
        "{}",
        r.stdout
    );
}

#[test]
fn in_flight_is_clamped_where_the_application_does_not_multiplex() {
    let marker = MarkerGuard::new("load-serial");
    let cmd = fixture_cmd("serial");
    let r = load(
        &[
            "--spawn",
            &cmd,
            "--in-flight",
            "8",
            "--requests",
            "30",
            "--format",
            "json",
        ],
        &marker,
    );
    assert_eq!(r.code, Some(0), "{}", r.summary());
    let v = json(&r);
    assert_eq!(v["in_flight"], 1, "{}", r.stdout);
    assert_eq!(v["mpxs_conns"], false, "{}", r.stdout);
    assert!(
        v["notes"].to_string().contains("clamped to 1"),
        "the clamp is said: {}",
        r.stdout
    );
    assert_eq!(v["requests"]["completed"], 30, "{}", r.stdout);
}

#[test]
fn output_after_end_request_is_counted_as_a_violation() {
    let marker = MarkerGuard::new("load-after-end");
    let cmd = fixture_cmd("after-end-forever");
    let r = load(
        &[
            "--spawn",
            &cmd,
            "--requests",
            "20",
            "--timeout",
            "1",
            "--format",
            "json",
        ],
        &marker,
    );
    assert_eq!(r.code, Some(1), "{}", r.summary());
    let v = json(&r);
    let kind = &v["violations"]["RequestEnded"];
    assert!(
        kind["count"].as_u64().is_some_and(|n| n >= 1),
        "{}",
        r.stdout
    );
    assert_eq!(kind["requirement"], "R-5.5-4", "{}", r.stdout);
    assert_eq!(kind["section"], "§5.5", "{}", r.stdout);
    assert!(
        kind["example"]
            .as_str()
            .is_some_and(|e| e.contains("at byte")),
        "{}",
        r.stdout
    );
    assert_eq!(v["requests"]["started"], 20, "{}", r.stdout);
}

#[test]
fn bad_flags_and_unusable_targets_exit_2_before_any_load() {
    let marker = MarkerGuard::new("load-flags");
    let dir = support::temp_dir();
    let nowhere = format!("unix:{}", dir.path().join("none.sock").display());
    let cases: &[&[&str]] = &[
        &[],
        &["--connect", "127.0.0.1:9", "--requests", "0"],
        &[
            "--connect",
            "127.0.0.1:9",
            "--requests",
            "5",
            "--duration",
            "2s",
        ],
        &["--connect", "127.0.0.1:9", "--duration", "ten"],
        &["--connect", "127.0.0.1:9", "--duration", "2h"],
        &["--connect", "127.0.0.1:9", "--connections", "0"],
        &["--connect", "127.0.0.1:9", "--in-flight", "1000"],
        &["--connect", "127.0.0.1:9", "--param", "NOEQUALS"],
        &["--connect", "127.0.0.1:9", "--timeout", "0"],
        &["--connect", "127.0.0.1:9", "--data", "/nonexistent/body"],
        &["--connect", "192.0.2.1:9000"],
        &["--connect", "not an address"],
        &["--connect", &nowhere, "--requests", "5"],
    ];
    for args in cases {
        let r = load(args, &marker);
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.summary());
        assert!(r.stdout.is_empty(), "{args:?}: no report: {}", r.stdout);
        assert_eq!(
            r.stderr.lines().count(),
            1,
            "{args:?}: one line: {}",
            r.stderr
        );
    }
}
