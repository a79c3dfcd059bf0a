//! The step of the GitHub Action (`action.yml` runs `action/run-suite.sh`)
//! run as the action runs it: inputs as `INPUT_*` variables, outputs
//! appended to `$GITHUB_OUTPUT`, against the bundled reference
//! application started by the runner (`--spawn`), faithful and with a
//! defect. The reports it names must exist and hold the run.

#[path = "support/repo.rs"]
mod repo;

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_fcgi-conformance");

fn run_step(root: &Path, dir: &Path, spawn: &str, fail_on_fail: &str) -> (Option<i32>, String) {
    let outputs = dir.join("github-output");
    let out = Command::new("bash")
        .arg(root.join("action/run-suite.sh"))
        .current_dir(dir)
        .env("FCGI_CONFORMANCE_BIN", BIN)
        .env("INPUT_SUITE", "app")
        .env("INPUT_SPAWN", spawn)
        .env("INPUT_ARGS", "--only app/3.3 --only app/6.2  --timeout 5")
        .env("INPUT_REPORT_DIR", "reports")
        .env("INPUT_FAIL_ON_FAIL", fail_on_fail)
        .env("GITHUB_OUTPUT", &outputs)
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(" passed, "),
        "no text report: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(&outputs).unwrap_or_default();
    (out.status.code(), written)
}

#[test]
fn the_action_step_runs_the_suite_and_names_its_reports() {
    if !repo::present("action/run-suite.sh") {
        return;
    }
    let Some(root) = repo::root() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (code, outputs) = run_step(&root, dir.path(), &format!("{BIN} reference-app"), "true");
    assert_eq!(code, Some(0), "{outputs}");
    for line in [
        "exit-code=0",
        "report-json=reports/report.json",
        "report-html=reports/report.html",
        "junit=reports/junit.xml",
    ] {
        assert!(outputs.lines().any(|l| l == line), "no {line} in {outputs}");
    }
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("reports/report.json")).unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(
        report["options"]["only"],
        serde_json::json!(["app/3.3", "app/6.2"])
    );
    assert_eq!(report["summary"]["fail"], 0);
    for f in ["reports/report.html", "reports/junit.xml"] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    assert!(dir.path().join("reports/transcripts").is_dir());

    // A defect fails the step; with fail-on-fail false it passes, and the
    // exit code is still in the outputs.
    let faulty = format!("{BIN} reference-app --fault bad-cgi-head");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (code, outputs) = run_step(&root, dir.path(), &faulty, "true");
    assert_eq!(code, Some(1), "{outputs}");
    assert!(outputs.contains("exit-code=1"), "{outputs}");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (code, outputs) = run_step(&root, dir.path(), &faulty, "false");
    assert_eq!(code, Some(0), "{outputs}");
    assert!(outputs.contains("exit-code=1"), "{outputs}");
}
