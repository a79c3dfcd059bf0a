//! The command line's contract, end to end: every input error is found
//! before any case runs (exit 2, one line on stderr, nothing on stdout,
//! no file left behind); a reader that closes stdout early is no crash;
//! NO_COLOR; and `--repeat`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_fcgi-conformance")
}

/// This crate's folder: the captures under peers/ ship with the package.
fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run_in(dir: &Path, args: &[&str]) -> (Output, Duration) {
    let t0 = Instant::now();
    let o = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("the binary runs");
    (o, t0.elapsed())
}

/// Exit 2, nothing on stdout, one `fcgi-conformance: ` line on stderr
/// containing every one of `says`, within a bound far under a suite run
/// (a run that started its cases would also have printed a report).
fn refused(dir: &Path, args: &[&str], says: &[&str]) {
    let (o, took) = run_in(dir, args);
    let err = String::from_utf8_lossy(&o.stderr).trim_end().to_string();
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        o.stdout.is_empty(),
        "{args:?} wrote a report: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("fcgi-conformance: "), "{args:?}: {err}");
    for s in says {
        assert!(err.contains(s), "{args:?}: {err:?} lacks {s:?}");
    }
    assert!(
        took < Duration::from_secs(10),
        "{args:?} took {took:?} to refuse"
    );
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn expectation_files_are_checked_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("id.json"), r#"{"app/4.1/get-value": "pass"}"#).unwrap();
    std::fs::write(d.join("verdict.json"), r#"{"app/4.1/get-values": "passs"}"#).unwrap();
    std::fs::write(
        d.join("bad.json"),
        "{\n  \"app/4.1/get-values\": \"pass\",\n  \"x\" 1\n}\n",
    )
    .unwrap();
    refused(
        d,
        &["app", "--expect", "id.json"],
        &[
            "unknown app case id 'app/4.1/get-value'",
            "'app/4.1/get-values'",
        ],
    );
    refused(
        d,
        &["app", "--expect", "verdict.json"],
        &["unknown verdict 'passs'", "did you mean 'pass'?"],
    );
    refused(
        d,
        &["app", "--expect", "bad.json"],
        &["bad.json", "line 3 column 7"],
    );
    refused(
        d,
        &["app", "--expect", "missing.json"],
        &["--expect missing.json: cannot read it"],
    );
    // An app id is unknown to the server suite, and the server id is offered.
    refused(
        d,
        &["server", "--expect", "verdict.json"],
        &["unknown server case id", "'server/4.1/get-values'"],
    );
}

#[test]
fn output_paths_are_checked_before_anything_runs_and_no_junk_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a-file"), "").unwrap();
    refused(
        d,
        &["app", "--junit", "no/such/junit.xml"],
        &["--junit no/such/junit.xml", "does not exist"],
    );
    refused(d, &["app", "--junit", "."], &["is a directory"]);
    refused(
        d,
        &["app", "--json", "no/such/report.json"],
        &["--json no/such/report.json", "does not exist"],
    );
    refused(d, &["server", "--html", "."], &["--html", "is a directory"]);
    refused(
        d,
        &["app", "--transcript", "a-file"],
        &["--transcript a-file is an existing file"],
    );
    refused(
        d,
        &["server", "--transcript", "a-file/t"],
        &["a-file is a file"],
    );
    // Good paths and an unusable target: refused, and nothing created.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = format!("127.0.0.1:{port}");
    refused(
        d,
        &[
            "app",
            "--connect",
            &target,
            "--junit",
            "junit.xml",
            "--json",
            "report.json",
            "--html",
            "report.html",
            "--transcript",
            "t/u",
        ],
        &["cannot reach"],
    );
    assert_eq!(names(d), vec!["a-file".to_string()]);
}

#[test]
fn a_selection_of_no_case_is_refused() {
    let d = std::env::temp_dir();
    refused(
        &d,
        &["app", "--only", "nomatch"],
        &[
            "--only 'nomatch' selects no app case",
            "sections: 2.2, 3.2, 3.3",
        ],
    );
    refused(
        &d,
        &["app", "--only", "get-valeus"],
        &["did you mean 'get-values'?"],
    );
    refused(
        &d,
        &["app", "--skip", "app/"],
        &["--skip 'app/' leaves none of the"],
    );
    refused(
        &d,
        &["server", "--only", "nomatch"],
        &["selects no server case"],
    );
}

#[test]
fn bad_numbers_and_app_only_flags_are_clap_errors() {
    let d = std::env::temp_dir();
    refused(
        &d,
        &["server", "--jobs", "4"],
        &[
            "unexpected argument '--jobs'",
            "leave it out, `server` runs its cases one at a time",
        ],
    );
    refused(&d, &["app", "--jobs", "0"], &["--jobs"]);
    refused(&d, &["app", "--repeat", "0"], &["--repeat"]);
}

/// Runs `script` under bash with the runner as `$0`; the runner's own exit
/// status (`PIPESTATUS[0]`) comes back on the last line of stdout.
fn piped(script: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let err = dir.path().join("stderr");
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{script}; echo \"status=${{PIPESTATUS[0]}}\"",
            script = script.replace("BIN", "\"$0\"").replace("ERR", "\"$1\"")
        ))
        .arg(bin())
        .arg(&err)
        .current_dir(root())
        .output()
        .expect("bash runs");
    let out = String::from_utf8_lossy(&o.stdout);
    let status = out
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("status="))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {out:?}"));
    (status, std::fs::read_to_string(&err).unwrap_or_default())
}

#[test]
fn a_reader_that_stops_early_is_no_crash() {
    // `true` exits at once, so the report is written to a closed pipe.
    let (status, err) = piped("BIN app --only app/4 --format json 2>ERR | true");
    assert_eq!(status, 0, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let (status, err) = piped("BIN app --only app/4.2 --fault ignore-unknown-type 2>ERR | true");
    assert_eq!(status, 1, "the exit code still follows the verdicts: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let (status, err) = piped("BIN app --only app/4 --format json 2>ERR | head -c 100 >/dev/null");
    assert_eq!(status, 0, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let (status, err) = piped("{ sleep 0.3; BIN list 2>ERR; } | true");
    assert_eq!(status, 0, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // A dump longer than a pipe holds: head leaves while the runner writes.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    let one = std::fs::read(crate_dir().join("peers/nginx/captures/post-request.bin")).unwrap();
    std::fs::write(&big, one.repeat(400)).unwrap();
    let whole = Command::new(bin()).arg("dump").arg(&big).output().unwrap();
    assert!(whole.stdout.len() > 256 * 1024, "{}", whole.stdout.len());
    let (status, err) = piped(&format!(
        "BIN dump {} 2>ERR | head -c 100 >/dev/null",
        big.display()
    ));
    assert_eq!(Some(status), whole.status.code(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// The text report of `app/4.2` on a terminal (a pty from `script`), with
/// `NO_COLOR` set to `no_color` or unset.
fn on_a_terminal(no_color: Option<&str>, color: &str) -> String {
    let mut c = Command::new("script");
    c.args(["-q", "-e", "-c"])
        .arg(format!("{} app --only app/4.2 --color {color}", bin()))
        .arg("/dev/null")
        .env_remove("NO_COLOR");
    if let Some(v) = no_color {
        c.env("NO_COLOR", v);
    }
    let o = c.output().expect("script (util-linux) runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn no_color_turns_auto_colour_off_and_always_stays_on() {
    const GREEN_PASS: &str = "\x1b[32mPASS";
    let plain = on_a_terminal(Some("1"), "auto");
    assert!(plain.contains("PASS app/4.2/unknown-type"), "{plain:?}");
    assert!(!plain.contains(GREEN_PASS), "{plain:?}");
    assert!(on_a_terminal(None, "auto").contains(GREEN_PASS));
    assert!(on_a_terminal(Some(""), "auto").contains(GREEN_PASS));
    assert!(on_a_terminal(Some("1"), "always").contains(GREEN_PASS));
    // The live progress line was drawn on that terminal, and erased.
    let t = on_a_terminal(Some("1"), "never");
    assert!(
        t.contains("\r\x1b[2K[1/1] app/4.2/unknown-type  pass 1 fail 0"),
        "{t:?}"
    );
    assert!(t.contains("skip 0\r\x1b[2K"), "{t:?}");
}

#[test]
fn no_progress_line_when_stderr_is_not_a_terminal() {
    let (o, _) = run_in(&std::env::temp_dir(), &["app", "--only", "app/4.2"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn repeated_runs_of_steady_peers_are_not_flaky() {
    let d = std::env::temp_dir();
    let (o, _) = run_in(
        &d,
        &[
            "app", "--repeat", "2", "--only", "app/3.3", "--format", "json",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["repeat"], 2);
    assert_eq!(v["flaky"], serde_json::json!([]));
    assert!(v["cases"].as_array().is_some_and(|c| !c.is_empty()));
    let (o, _) = run_in(
        &d,
        &[
            "server",
            "--repeat",
            "2",
            "--only",
            "server/5.2",
            "--color",
            "never",
        ],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(
        text.contains("flaky (verdict changed across 2 runs)"),
        "{text}"
    );
    assert!(text.contains("2 runs, none flaky"), "{text}");
    // Without --repeat the JSON report is as before: no repeat, no flaky.
    let (o, _) = run_in(&d, &["app", "--only", "app/3.3", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert!(v.get("repeat").is_none() && v.get("flaky").is_none(), "{v}");
}
