//! The libtest harness (feature `harness`): one test per case, named by
//! its id, filtered by libtest's arguments, judged by the expectations.
//! Runs the bundled reference application, faithful or with one fault
//! whose verdict the self-check pins.

use fcgi_conformance::__private::app::reference::Fault;
use fcgi_conformance::harness::libtest_mimic::{Arguments, Conclusion};
use fcgi_conformance::harness::{run_app_with, Expectations};
use fcgi_conformance::{AppSuite, Suite, Verdict};

const CASE: &str = "app/4.1/get-values";

fn args(extra: &[&str]) -> Arguments {
    let mut a = vec!["harness", "--test-threads", "1"];
    a.extend_from_slice(extra);
    Arguments::from_iter(a)
}

fn counts(c: &Conclusion) -> (u64, u64, u64, u64) {
    (
        c.num_passed,
        c.num_failed,
        c.num_ignored,
        c.num_filtered_out,
    )
}

fn broken() -> AppSuite {
    AppSuite::reference_with_faults(vec![Fault::IgnoreGetValues])
}

#[test]
fn a_failing_case_fails_its_test_unless_expected() {
    let c = run_app_with(broken(), Expectations::new(), &args(&["--exact", CASE]));
    let n = AppSuite::cases().len() as u64;
    assert_eq!(counts(&c), (0, 1, 0, n - 1));
    // The known fail, accepted.
    let expect = Expectations::new().expect(CASE, Verdict::Fail);
    let c = run_app_with(broken(), expect, &args(&["--exact", CASE]));
    assert_eq!(counts(&c), (1, 0, 0, n - 1));
}

#[test]
fn an_expected_failure_that_passes_fails_until_the_expectation_goes() {
    let expect = Expectations::new().expect(CASE, Verdict::Fail);
    let c = run_app_with(AppSuite::reference(), expect, &args(&["--exact", CASE]));
    assert_eq!(c.num_failed, 1);
    assert_eq!(c.num_passed, 0);
}

#[test]
fn the_filter_selects_cases_by_id_and_only_those_run() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let suite = AppSuite::reference().on_case(move |r| s.lock().unwrap().push(r.info.id));
    let c = run_app_with(suite, Expectations::new(), &args(&["app/5.4/"]));
    let want = AppSuite::cases()
        .iter()
        .filter(|k| k.id.contains("app/5.4/"))
        .count() as u64;
    assert!(want > 1);
    assert_eq!(c.num_passed, want);
    assert_eq!(c.num_failed, 0);
    // The suite ran the selected cases, not the whole table.
    let seen = seen.lock().unwrap();
    assert!(seen.iter().all(|id| id.starts_with("app/5.4/")), "{seen:?}");
}

#[test]
fn a_run_that_cannot_start_fails_every_selected_test() {
    let c = run_app_with(
        AppSuite::reference().jobs(0),
        Expectations::new(),
        &args(&["app/5.2/"]),
    );
    assert!(c.num_failed > 0);
    assert_eq!(c.num_passed, 0);
}

#[test]
fn expectations_name_real_cases_and_verdicts() {
    let e = Expectations::from_json(r#"{"app/4.1/get-values": "fail"}"#, Suite::App).unwrap();
    assert_eq!(e.get(CASE), Some(Verdict::Fail));
    assert!(Expectations::from_json(r#"{"app/4.1/get-valuez": "fail"}"#, Suite::App).is_err());
    assert!(Expectations::from_json(r#"{"app/4.1/get-values": "broken"}"#, Suite::App).is_err());
    // In code, an unknown id fails the selected tests with a message saying so.
    let expect = Expectations::new().expect("app/no/such-case", Verdict::Warn);
    let c = run_app_with(AppSuite::reference(), expect, &args(&["--exact", CASE]));
    assert_eq!((c.num_passed, c.num_failed), (0, 1));
}
