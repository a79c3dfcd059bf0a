//! The library's public API (`AppSuite`, `ServerSuite`, `Report`, `Error`):
//! options are checked before anything runs, each mistake a typed error of
//! its kind; both suites return the same report type.

use std::time::Duration;

use fcgi_conformance::{AppSuite, Error, Report, ServerSuite, Suite, Verdict};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

#[test]
fn jobs_zero_is_a_typed_error_before_anything_runs() {
    assert!(matches!(
        AppSuite::reference().jobs(0).check(),
        Err(Error::Jobs(0))
    ));
    // run() checks too, and touches no target: the address is unreachable.
    let e = rt()
        .block_on(AppSuite::connect("127.0.0.1:1").jobs(0).run())
        .unwrap_err();
    assert!(matches!(e, Error::Jobs(0)), "{e:?}");
    assert!(e.to_string().contains("jobs 0"), "{e}");
    let _: &dyn std::error::Error = &e;
    assert!(matches!(
        AppSuite::reference().jobs(65).check(),
        Err(Error::Jobs(65))
    ));
}

#[test]
fn each_kind_of_mistake_has_its_variant() {
    assert!(matches!(
        AppSuite::reference().timeout(Duration::ZERO).check(),
        Err(Error::Timeout(d)) if d.is_zero()
    ));
    assert!(matches!(
        AppSuite::reference().repeat(0).check(),
        Err(Error::Repeat(0))
    ));
    assert!(matches!(
        AppSuite::connect("not an address").check(),
        Err(Error::Address { ref given, .. }) if given == "not an address"
    ));
    assert!(matches!(
        ServerSuite::http("ftp://x/", "127.0.0.1:0").check(),
        Err(Error::Address { .. })
    ));
    match AppSuite::reference().only("app/9.9/nothing").check() {
        Err(Error::NoCaseSelected(m)) => assert!(m.contains("app/9.9/nothing"), "{m}"),
        other => panic!("{other:?}"),
    }
    // A good selection counts its cases.
    let n = AppSuite::reference().only("app/4.1/").check().unwrap();
    assert_eq!(
        n,
        AppSuite::cases()
            .iter()
            .filter(|c| c.id.starts_with("app/4.1/"))
            .count()
    );
}

#[test]
fn an_application_that_is_not_there_is_a_target_error() {
    // Bind then drop: a loopback port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = rt()
        .block_on(
            AppSuite::connect(format!("127.0.0.1:{port}"))
                .timeout(Duration::from_secs(2))
                .run(),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Target(_)), "{e:?}");
}

#[test]
fn both_suites_return_one_report_type() {
    let rt = rt();
    let app: Report = rt
        .block_on(AppSuite::reference().only("app/4.1/").run())
        .unwrap();
    let server: Report = rt
        .block_on(
            ServerSuite::reference()
                .only("server/3.3/record-header")
                .run(),
        )
        .unwrap();
    assert_eq!(app.suite, Suite::App);
    assert_eq!(server.suite, Suite::Server);
    assert!(!app.cases.is_empty());
    assert!(app.cases.iter().all(|c| c.info.id.starts_with("app/4.1/")));
    assert_eq!(server.cases.len(), 1);
    for r in [&app, &server] {
        assert!(
            r.cases.iter().all(|c| c.outcome.verdict != Verdict::Fail),
            "{}",
            r.text()
        );
        assert!(r.json().contains("fcgi-conformance-report/1"));
        assert!(r.junit().contains("<testsuite"));
    }
}

#[test]
fn on_case_sees_every_case_as_it_finishes() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let report = rt()
        .block_on(
            AppSuite::reference()
                .only("app/5.2/")
                .on_case(move |r| s.lock().unwrap().push(r.info.id.to_string()))
                .run(),
        )
        .unwrap();
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    let mut ids: Vec<String> = report.cases.iter().map(|c| c.info.id.to_string()).collect();
    ids.sort();
    assert_eq!(seen, ids);
}

#[test]
fn explore_options_are_checked_and_a_seeded_run_reports_its_seed() {
    use fcgi_conformance::Explore;
    assert!(matches!(
        Explore::reference().findings(0).check(),
        Err(Error::Findings(0))
    ));
    assert!(matches!(
        Explore::reference().conversations(0).check(),
        Err(Error::Conversations(0))
    ));
    assert!(matches!(
        Explore::reference().timeout(Duration::ZERO).check(),
        Err(Error::Timeout(_))
    ));
    let out = tempfile::tempdir().unwrap();
    let report = rt()
        .block_on(
            Explore::reference()
                .seed(11)
                .conversations(20)
                .out(out.path())
                .run(),
        )
        .unwrap();
    assert_eq!(report.seed(), 11);
    assert_eq!(report.conversations(), 20);
    // The faithful reference breaks no property.
    assert!(report.findings().is_empty(), "{}", report.text());
    assert!(report.unusable().is_none());
    assert!(report.json().contains("fcgi-conformance-explore/1"));
}
