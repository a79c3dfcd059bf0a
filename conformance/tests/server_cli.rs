//! `fcgi-conformance server` from the command line: the bundled run, a unix
//! listener, exit codes, expectations, and --spawn stopping what it started.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fcgi-conformance"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn bundled_run_over_a_unix_listener_passes_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("runner.sock");
    let out = bin()
        .args(["server", "--format", "json", "--timeout", "2", "--listen"])
        .arg(format!("unix:{}", sock.display()))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cases = report["cases"].as_array().unwrap();
    assert_eq!(
        cases.len(),
        fcgi_conformance::__private::server::cases().len()
    );
    assert_eq!(report["summary"]["fail"], 0);
    assert_eq!(report["summary"]["warn"], 0);
    assert_eq!(report["summary"]["skip"], 0);
}

#[test]
fn expectations_turn_differences_into_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let exp = dir.path().join("expected.json");
    std::fs::write(&exp, r#"{"server/5.2/params-terminated": "fail"}"#).unwrap();
    let out = bin()
        .args(["server", "--only", "params-terminated", "--expect"])
        .arg(&exp)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected fail, got pass"));
    std::fs::write(&exp, r#"{"server/5.2/params-terminated": "pass"}"#).unwrap();
    let out = bin()
        .args(["server", "--only", "params-terminated", "--expect"])
        .arg(&exp)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn nothing_at_the_http_url_is_a_usage_error() {
    let port = free_port();
    let out = bin()
        .args(["server", "--timeout", "0.5", "--http"])
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing answers"));
}

#[test]
fn spawned_server_is_stopped_at_the_end() {
    // Not a FastCGI gateway: the case fails, but the mechanics are what is tested.
    let port = free_port();
    let out = bin()
        .args([
            "server",
            "--timeout",
            "0.5",
            "--only",
            "begin-request",
            "--http",
        ])
        .arg(format!("http://127.0.0.1:{port}/"))
        .arg("--spawn")
        .arg(format!(
            "exec python3 -m http.server {port} --bind 127.0.0.1"
        ))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The spawned server is gone: its port no longer accepts.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
