//! The application suite tests itself: the faithful reference application
//! passes every case, and each deliberately faulty variant fails (or, for a
//! SHOULD, warns on) the case written to catch that fault.

use std::time::Duration;

use fcgi_conformance::__private::app::reference::Fault;
use fcgi_conformance::__private::app::{run, Options, RunError, Target};
use fcgi_conformance::__private::case::Verdict;
use fcgi_conformance::__private::report::Report;

async fn suite(faults: Vec<Fault>, only: Vec<String>) -> Report {
    let opts = Options {
        target: Target::Reference(faults),
        timeout: Duration::from_millis(700),
        only,
        ..Options::default()
    };
    match run(opts).await {
        Ok(r) => r,
        Err(e) => panic!("the suite could not run: {e}"),
    }
}

fn verdict(report: &Report, id: &str) -> Verdict {
    match report.cases.iter().find(|c| c.info.id == id) {
        Some(c) => c.outcome.verdict,
        None => panic!("case {id} did not run"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faithful_reference_passes_everything() {
    let r = suite(Vec::new(), Vec::new()).await;
    for c in &r.cases {
        match c.outcome.verdict {
            Verdict::Pass | Verdict::Info => {}
            // Only with --spawn (tests/spawn.rs and CI run them that way).
            Verdict::Skip
                if [
                    "app/2.2/listen-socket",
                    "app/3.2/web-server-addrs-reject",
                    "app/3.2/web-server-addrs-accept",
                    "app/7/sigterm-exit",
                ]
                .contains(&c.info.id) => {}
            v => panic!("{}: {:?}: {}", c.info.id, v, c.outcome.detail),
        }
    }
    assert!(r.cases.len() >= 40, "{} cases", r.cases.len());
    assert_eq!(r.exit_code(), 0);
}

/// Each fault, the case that must catch it, and the verdict it must get.
const CATCHES: &[(Fault, &str, Verdict)] = &[
    (Fault::NoStdoutEnd, "app/5.3/stdout-ended", Verdict::Fail),
    (
        Fault::ShortEndRequest,
        "app/5.5/end-request-body",
        Verdict::Fail,
    ),
    (Fault::BadVersion, "app/3.3/version", Verdict::Fail),
    (Fault::Unaligned, "app/3.3/aligned-output", Verdict::Warn),
    (Fault::IgnoreGetValues, "app/4.1/get-values", Verdict::Fail),
    (
        Fault::AnswerUnknownNames,
        "app/4.1/get-values-unknown-name",
        Verdict::Fail,
    ),
    (
        Fault::ManagementNonZeroId,
        "app/4.1/get-values",
        Verdict::Fail,
    ),
    (
        Fault::IgnoreUnknownType,
        "app/4.2/unknown-type",
        Verdict::Fail,
    ),
    (
        Fault::ServeUnknownRole,
        "app/5.1/unknown-role",
        Verdict::Fail,
    ),
    (
        Fault::DropOnInterleave,
        "app/5.5/interleaved-two",
        Verdict::Fail,
    ),
    (
        Fault::WrongIdWhenInterleaved,
        "app/5.5/interleaved-two",
        Verdict::Fail,
    ),
    (
        Fault::IgnoreAbort,
        "app/5.4/abort-after-params",
        Verdict::Fail,
    ),
    (
        Fault::NoCloseWithoutKeepConn,
        "app/3.5/close-without-keep-conn",
        Verdict::Fail,
    ),
    (
        Fault::CloseDespiteKeepConn,
        "app/5.1/keep-conn",
        Verdict::Fail,
    ),
    (
        Fault::RecordAfterEnd,
        "app/5.5/nothing-after-end",
        Verdict::Fail,
    ),
    (Fault::BadCgiHead, "app/6.2/responder", Verdict::Fail),
    (Fault::CutLongValues, "app/3.4/long-values", Verdict::Fail),
    (Fault::CutLongStdin, "app/5.3/large-stdin", Verdict::Fail),
    (
        Fault::DieOnMalformed,
        "app/3.3/wrong-version",
        Verdict::Fail,
    ),
    (
        Fault::DoubleEndOnAbort,
        "app/5.4/abort-during-response",
        Verdict::Fail,
    ),
    (
        Fault::DoubleEndOnAbort,
        "app/5.4/abort-after-params",
        Verdict::Fail,
    ),
    (
        Fault::UnknownTypeUnderRecordId,
        "app/8/unknown-application-type",
        Verdict::Fail,
    ),
    (
        Fault::NoCloseAfterUnknownRole,
        "app/5.1/unknown-role",
        Verdict::Fail,
    ),
    (Fault::VariablesOnDeny, "app/6.3/authorizer", Verdict::Warn),
    (Fault::FilterIgnoresData, "app/6.4/filter", Verdict::Fail),
    (
        Fault::OutputBeforeParams,
        "app/6.1/output-after-params",
        Verdict::Fail,
    ),
    (Fault::WrongDirection, "app/A/direction", Verdict::Fail),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_is_caught_by_its_case() {
    let mut missed = Vec::new();
    for &(fault, id, want) in CATCHES {
        // Run the catching case alone: the fault must be caught by it, not
        // by a neighbour.
        let r = suite(vec![fault], vec![id.to_string()]).await;
        let got = verdict(&r, id);
        if got != want {
            missed.push(format!("{fault:?}: {id} gave {got:?}, expected {want:?}"));
        }
    }
    assert!(
        missed.is_empty(),
        "faults not caught:\n{}",
        missed.join("\n")
    );
    let sections: std::collections::BTreeSet<&str> = CATCHES
        .iter()
        .map(|(_, id, _)| id.split('/').nth(1).unwrap_or(""))
        .collect();
    for s in [
        "3.3", "3.4", "4.1", "4.2", "5.1", "5.3", "5.4", "5.5", "6.2",
    ] {
        assert!(sections.contains(s), "no fault checks §{s}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_jobs_is_a_usage_error_not_a_hang() {
    let opts = Options {
        jobs: 0,
        ..Options::default()
    };
    match tokio::time::timeout(Duration::from_secs(10), run(opts)).await {
        Ok(Err(RunError::Usage(m))) => assert!(m.contains("jobs"), "{m}"),
        Ok(other) => panic!("expected a usage error, got {other:?}"),
        Err(_) => panic!("run with jobs: 0 did not return within 10 s"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_target_is_a_target_error() {
    // A port nothing listens on: bind one, note it, let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(1);
    let opts = Options {
        target: Target::Connect(
            format!("127.0.0.1:{port}")
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
        ),
        timeout: Duration::from_millis(500),
        ..Options::default()
    };
    match run(opts).await {
        Err(RunError::Target(m)) => assert!(m.contains("cannot reach"), "{m}"),
        other => panic!("expected a target error, got {other:?}"),
    }
}
