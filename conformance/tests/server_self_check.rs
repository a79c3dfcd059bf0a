//! Self-check of the web-server suite: the bundled reference web server
//! passes every case, and each injected defect makes the case written for
//! it fail (or warn, for SHOULD-level and advisory cases).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use fcgi_conformance::__private::case::{CaseResult, Verdict};
use fcgi_conformance::__private::client::Faults;
use fcgi_conformance::__private::server::{cases, run_reference};

const TIMEOUT: Duration = Duration::from_millis(1500);

async fn run(faults: Faults, only: &[&str]) -> Vec<CaseResult> {
    let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
    run_reference(faults, TIMEOUT, &only, &[])
        .await
        .expect("reference server starts")
}

fn verdict_of<'a>(results: &'a [CaseResult], id: &str) -> &'a CaseResult {
    results
        .iter()
        .find(|r| r.info.id == id)
        .unwrap_or_else(|| panic!("{id} did not run"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faithful_reference_passes_every_case() {
    let results = run(Faults::default(), &[]).await;
    assert_eq!(results.len(), cases().len(), "every case ran");
    for r in &results {
        assert!(
            matches!(r.outcome.verdict, Verdict::Pass | Verdict::Info),
            "{}: {:?} {}",
            r.info.id,
            r.outcome.verdict,
            r.outcome.detail
        );
    }
    // The info cases are observations; the reference's answers are known.
    let detail = |id: &str| verdict_of(&results, id).outcome.detail.clone();
    assert!(detail("server/5.4/client-disconnect").contains("FCGI_ABORT_REQUEST sent"));
    assert!(
        detail("server/3.3/multiplex").starts_with("multiplexed"),
        "{}",
        detail("server/3.3/multiplex")
    );
    assert_eq!(
        verdict_of(&results, "server/3.3/multiplex").outcome.verdict,
        Verdict::Pass
    );
}

async fn check(faults: Faults, case: &str, want: Verdict, warm: &[&str]) {
    let mut only: Vec<&str> = warm.to_vec();
    only.push(case);
    let results = run(faults, &only).await;
    let r = verdict_of(&results, case);
    eprintln!("{case}: {:?}: {}", r.outcome.verdict, r.outcome.detail);
    assert_eq!(
        r.outcome.verdict, want,
        "{case} under {faults:?}: {}",
        r.outcome.detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_params_terminator_fails_params_terminated() {
    let f = Faults {
        no_params_end: true,
        ..Faults::default()
    };
    check(f, "server/5.2/params-terminated", Verdict::Fail, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_stdin_terminator_fails_stdin_body() {
    let f = Faults {
        no_stdin_end: true,
        ..Faults::default()
    };
    check(f, "server/5.3/stdin-body", Verdict::Fail, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_stdin_fails_content_length() {
    let f = Faults {
        short_stdin: true,
        ..Faults::default()
    };
    check(f, "server/6.2/content-length", Verdict::Fail, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_content_length_fails_content_length() {
    let f = Faults {
        wrong_content_length: true,
        ..Faults::default()
    };
    check(f, "server/6.2/content-length", Verdict::Fail, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reused_active_id_fails_multiplex() {
    let f = Faults {
        reuse_active_id: true,
        ..Faults::default()
    };
    // A kept connection from an earlier case is what the two requests share.
    check(
        f,
        "server/3.3/multiplex",
        Verdict::Fail,
        &["server/3.3/request-ids"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_length_form_fails_long_value() {
    let f = Faults {
        long_value_short_form: true,
        ..Faults::default()
    };
    check(f, "server/3.4/long-value", Verdict::Fail, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_padding_fails_padding_case() {
    let f = Faults {
        ignore_padding: true,
        ..Faults::default()
    };
    check(f, "server/3.3/padding-0-and-255", Verdict::Fail, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_abort_warns_client_disconnect() {
    let f = Faults {
        no_abort: true,
        ..Faults::default()
    };
    check(f, "server/5.4/client-disconnect", Verdict::Warn, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_stale_retry_warns_stale_connection() {
    let f = Faults {
        no_stale_retry: true,
        ..Faults::default()
    };
    check(f, "server/3.5/stale-connection", Verdict::Warn, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_as_complete_fails_close_mid_body() {
    let f = Faults {
        truncated_as_complete: true,
        ..Faults::default()
    };
    check(f, "server/5.5/close-mid-body", Verdict::Fail, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stderr_in_body_fails_stderr_case() {
    let f = Faults {
        stderr_in_body: true,
        ..Faults::default()
    };
    check(f, "server/6.1/stderr-interleaved", Verdict::Fail, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_status_fails_status_header() {
    let f = Faults {
        ignore_status: true,
        ..Faults::default()
    };
    check(f, "server/6.1/status-header", Verdict::Fail, &[]).await;
}

/// The three cases that answer with an END_REQUEST refusal.
const REFUSALS: [&str; 3] = [
    "server/5.5/cant-mpx-conn",
    "server/5.5/overloaded",
    "server/5.1/unknown-role",
];

/// A request that never arrives whole gets no refusal: the web server's
/// own 502 must not pass a refusal case.
async fn refusals_fail_under(faults: Faults) {
    let results = run(faults, &REFUSALS).await;
    for id in REFUSALS {
        let r = verdict_of(&results, id);
        eprintln!("{id}: {:?}: {}", r.outcome.verdict, r.outcome.detail);
        assert_eq!(
            r.outcome.verdict,
            Verdict::Fail,
            "{id} under {faults:?}: {}",
            r.outcome.detail
        );
        assert!(
            r.outcome.detail.contains("no refusal was sent"),
            "{id}: {}",
            r.outcome.detail
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_begin_request_fails_the_refusal_cases() {
    refusals_fail_under(Faults {
        cut_begin_for: Some("refusal-"),
        ..Faults::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_params_fails_the_refusal_cases() {
    refusals_fail_under(Faults {
        cut_params_for: Some("refusal-"),
        ..Faults::default()
    })
    .await;
}
