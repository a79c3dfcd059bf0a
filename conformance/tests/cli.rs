//! The command line as a user meets it: `dump` on real captures (text and
//! the `fcgi-dump/1` JSON of docs/dump-format.md), `list`, and the exit
//! codes of `app` (0 clean, 1 a case failed or an expectation differs, 2 a
//! bad flag or an unreachable target, with one line saying what to do).

use std::path::Path;
use std::process::{Command, Output};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_fcgi-conformance")
}

/// This crate's folder: the captures under peers/ ship with the package.
fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr_line(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).trim_end().to_string()
}

#[test]
fn dump_of_a_real_nginx_capture_is_clean_and_stable() {
    let cap = crate_dir().join("peers/nginx/captures/get-request.bin");
    let o = run(&["dump", cap.to_str().unwrap_or_default()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_line(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.starts_with("     0  BEGIN_REQUEST     id=1 len=8"),
        "{text}"
    );
    assert!(text.contains("REQUEST_METHOD = \"GET\""), "{text}");
    insta::assert_snapshot!("nginx_get_request_dump", text);
}

#[test]
fn dump_json_follows_the_documented_schema() {
    let cap = crate_dir().join("peers/nginx/captures/post-request.bin");
    let o = run(&["dump", "--format", "json", cap.to_str().unwrap_or_default()]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["schema"], "fcgi-dump/1");
    assert_eq!(v["clean"], true);
    assert!(v["error"].is_null());
    let recs = v["records"].as_array().expect("records");
    let first = &recs[0];
    for key in [
        "offset",
        "version",
        "type",
        "type_name",
        "request_id",
        "content_length",
        "padding_length",
        "reserved",
        "detail",
    ] {
        assert!(first.get(key).is_some(), "record lacks {key}: {first}");
    }
    assert_eq!(first["detail"]["kind"], "begin_request");
    assert!(recs.iter().any(|r| r["detail"]["kind"] == "pairs"));
    assert!(recs
        .iter()
        .any(|r| r["type_name"] == "STDIN" && r["detail"]["kind"] == "bytes"));
}

#[test]
fn dump_of_malformed_bytes_exits_1_with_the_error_placed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("bad.bin");
    // A valid empty STDOUT record, then a header with version 9.
    std::fs::write(&p, [1, 6, 0, 1, 0, 0, 0, 0, 9, 6, 0, 1, 0, 0, 0, 0]).expect("write");
    let o = run(&["dump", "--format", "json", p.to_str().unwrap_or_default()]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["records"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["error"]["offset"], 8);
    assert_eq!(v["error"]["section"], "§3.3");
    assert_eq!(v["error"]["requirement"], "R-3.3-1");
}

#[test]
fn usage_errors_are_one_line_and_exit_2() {
    for args in [
        &["dump", "/no/such/capture.bin"][..],
        &["app", "--bogus-flag"][..],
        &["app", "--connect", "not an address"][..],
        &["app", "--connect", "127.0.0.1:1", "--timeout", "0.5"][..],
        &["app", "--param", "NOEQUALS"][..],
        &["app", "--timeout", "0"][..],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr_line(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("fcgi-conformance: "), "{args:?}: {err}");
    }
}

#[test]
fn list_names_every_case_with_section_and_requirements() {
    let o = run(&["list", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let cases = v.as_array().expect("array");
    assert!(cases.len() >= 80, "{} cases", cases.len());
    for c in cases {
        assert!(c["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("app/") || id.starts_with("server/")));
        assert!(c["section"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(
            c["requirements"].as_array().is_some_and(|r| !r.is_empty()),
            "{c}"
        );
    }
    let o = run(&["list", "--requirements"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("R-4.1-1"));
}

#[test]
fn app_reports_json_junit_and_expectations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junit = dir.path().join("junit.xml");
    let tdir = dir.path().join("transcripts");
    let o = run(&[
        "app",
        "--only",
        "app/4",
        "--format",
        "json",
        "--junit",
        junit.to_str().unwrap_or_default(),
        "--transcript",
        tdir.to_str().unwrap_or_default(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_line(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["schema"], "fcgi-conformance-report/1");
    assert!(v["cases"].as_array().is_some_and(|c| c
        .iter()
        .all(|c| c["id"].as_str().is_some_and(|i| i.starts_with("app/4")))));
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(
        xml.contains("<testcase classname=\"app.§4.1\" name=\"app/4.1/get-values\""),
        "{xml}"
    );
    let t = std::fs::read_to_string(tdir.join("app_4.1_get-values.txt")).expect("transcript");
    assert!(t.contains("GET_VALUES_RESULT"), "{t}");
    // An expectation that differs turns a clean run into exit 1.
    let exp = dir.path().join("expected.json");
    std::fs::write(&exp, r#"{"app/4.2/unknown-type": "fail"}"#).expect("write");
    let o = run(&[
        "app",
        "--only",
        "app/4.2",
        "--expect",
        exp.to_str().unwrap_or_default(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr_line(&o).contains("app/4.2/unknown-type: expected fail, got pass"));
}

#[test]
fn a_failing_case_exits_1() {
    let o = run(&[
        "app",
        "--fault",
        "ignore-unknown-type",
        "--only",
        "app/4.2",
        "--color",
        "never",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("FAIL app/4.2/unknown-type"), "{text}");
    assert!(text.contains("Expected: UNKNOWN_TYPE"), "{text}");
    assert!(text.contains("0 passed, 1 failed"), "{text}");
}

#[test]
fn dump_without_offsets_is_the_dump_less_its_offset_column() {
    let cap = crate_dir().join("peers/nginx/captures/post-request.bin");
    let cap = cap.to_str().unwrap_or_default();
    let with = run(&["dump", cap]);
    let bare = run(&["dump", "--no-offsets", cap]);
    assert_eq!(bare.status.code(), Some(0));
    let with = String::from_utf8_lossy(&with.stdout).to_string();
    let bare = String::from_utf8_lossy(&bare.stdout).to_string();
    assert_eq!(with.lines().count(), bare.lines().count());
    for (w, b) in with.lines().zip(bare.lines()) {
        // A record line loses its 8-column offset; a pair line keeps 2 of
        // its 10 spaces of indent.
        assert_eq!(w.get(8..), Some(b), "{w:?} / {b:?}");
    }
    let json = run(&["dump", "--no-offsets", "--format", "json", cap]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let recs = v["records"].as_array().expect("records");
    assert!(!recs.is_empty());
    assert!(recs.iter().all(|r| r["offset"].is_null()));
}
