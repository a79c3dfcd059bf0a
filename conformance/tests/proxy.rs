//! `fcgi-conformance proxy` end to end, real processes on loopback: the
//! reference application behind the proxy with the `app` suite run through
//! it (the verdicts equal those of a direct run, and the faithful
//! application breaks nothing); a faulty reference application caught with
//! its requirement ID; `--record` files that `replay` runs again; usage
//! errors before anything listens. Counts and exit codes are asserted,
//! never speeds.

#[path = "support/repo.rs"]
mod repo;
mod support;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{bin, MarkerGuard, ReferenceApp, RunResult, Runner, MARKER_VAR};

/// No run outlives this: it is killed and the test fails.
const HARD_LIMIT: Duration = Duration::from_secs(120);

fn run(args: &[&str], marker: &MarkerGuard) -> RunResult {
    Runner::new(args, marker, HARD_LIMIT).run()
}

/// A running proxy: its address (from its first line), its lines so far.
struct Proxy {
    child: Child,
    addr: String,
    err: mpsc::Receiver<String>,
    out: std::thread::JoinHandle<String>,
}

impl Proxy {
    fn start(upstream: &str, extra: &[&str], marker: &MarkerGuard) -> Proxy {
        let mut child = Command::new(bin())
            .args(["proxy", "--listen", "127.0.0.1:0", "--upstream", upstream])
            .args(["--format", "json"])
            .args(extra)
            .env(MARKER_VAR, &marker.marker)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("the proxy starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        let first = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("the proxy said nothing: {e}"));
        let addr = first
            .split("listening on ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_string();
        Proxy {
            child,
            addr,
            err: rx,
            out,
        }
    }

    /// Stops it with SIGINT; its exit code, JSON summary and stderr lines.
    fn stop(mut self) -> (Option<i32>, serde_json::Value, Vec<String>) {
        support::signal("-INT", self.child.id());
        let until = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                break s;
            }
            assert!(Instant::now() < until, "the proxy did not stop on SIGINT");
            std::thread::sleep(Duration::from_millis(50));
        };
        let out = std::mem::replace(&mut self.out, std::thread::spawn(String::new))
            .join()
            .unwrap_or_default();
        let lines: Vec<String> = self.err.try_iter().collect();
        let v = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("the summary is not JSON ({e}): {out}\n{lines:?}"));
        (status.code(), v, lines)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn recorded(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn the_app_suite_through_the_proxy_gets_its_direct_verdicts_and_the_faithful_app_no_violation() {
    let marker = MarkerGuard::new("proxy-suite");
    let dir = support::temp_dir();
    let app = ReferenceApp::start(dir.path(), "ref", &[], &marker);
    let direct = run(
        &["app", "--connect", &app.addr, "--format", "json"],
        &marker,
    );
    let proxy = Proxy::start(&app.addr, &[], &marker);
    let via = run(
        &["app", "--connect", &proxy.addr, "--format", "json"],
        &marker,
    );
    let (code, sum, lines) = proxy.stop();
    assert_eq!(direct.code, Some(0), "{}", direct.summary());
    assert!(direct.verdicts().len() > 50, "{}", direct.stdout);
    assert_eq!(
        via.verdicts(),
        direct.verdicts(),
        "the relay changed a verdict"
    );
    assert_eq!(sum["schema"], "fcgi-conformance-proxy/1", "{sum}");
    assert_eq!(sum["violations"]["application"], 0, "{sum}\n{lines:#?}");
    assert!(
        !lines.iter().any(|l| l.contains(": application R-")),
        "{lines:#?}"
    );
    // The suite breaks the web server's rules on purpose: those are seen.
    assert!(
        sum["violations"]["web_server"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{sum}"
    );
    assert_eq!(code, Some(1), "violations (the suite's own) exit 1: {sum}");
    assert!(sum["connections"].as_u64().is_some_and(|n| n > 50), "{sum}");
    assert_eq!(sum["checking_stopped"], 0, "{sum}");
    assert_eq!(sum["stopped_by"], "SIGINT", "{sum}");
    if let Some(root) = repo::root() {
        let schema = root.join("docs/schemas/fcgi-conformance-proxy-1.schema.json");
        if schema.exists() {
            let s: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(&schema).unwrap_or_else(|e| panic!("{e}")),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let v = jsonschema::options()
                .build(&s)
                .unwrap_or_else(|e| panic!("{e}"));
            let errors: Vec<String> = v.iter_errors(&sum).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{errors:?}\n{sum}");
        }
    }
}

#[test]
fn a_faulty_app_is_caught_live_and_its_recording_reproduces_with_replay() {
    let marker = MarkerGuard::new("proxy-fault");
    let dir = support::temp_dir();
    let rec = dir.path().join("rec");
    let good = ReferenceApp::start(dir.path(), "good", &[], &marker);
    let bad = ReferenceApp::start(dir.path(), "bad", &["no-stdout-end"], &marker);
    let proxy = Proxy::start(
        &bad.addr,
        &["--record", &rec.display().to_string()],
        &marker,
    );
    let load = run(&["load", "--connect", &proxy.addr, "-n", "5"], &marker);
    let (code, sum, lines) = proxy.stop();
    assert_eq!(load.code, Some(1), "load sees it too: {}", load.summary());
    assert_eq!(code, Some(1), "{sum}");
    assert!(
        sum["violations"]["by_requirement"]["R-5.3-1"]
            .as_u64()
            .is_some_and(|n| n >= 5),
        "{sum}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("application R-5.3-1 §5.3 at byte") && l.contains("request 1")),
        "{lines:#?}"
    );
    let files = recorded(&rec);
    assert_eq!(
        files.len() as u64,
        sum["recorded"].as_u64().unwrap_or(0),
        "{sum}"
    );
    let with_finding: Vec<&PathBuf> = files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .contains("\"R-5.3-1\"")
        })
        .collect();
    let file = with_finding
        .first()
        .unwrap_or_else(|| panic!("no recording carries the finding: {files:?}"))
        .display()
        .to_string();
    let again = run(&["replay", &file, "--connect", &bad.addr], &marker);
    assert_eq!(again.code, Some(1), "{}", again.summary());
    assert!(again.stdout.contains("reproduces"), "{}", again.stdout);
    let clean = run(&["replay", &file, "--connect", &good.addr], &marker);
    assert_eq!(clean.code, Some(0), "{}\n{}", clean.summary(), clean.stdout);
}

#[test]
fn recordings_of_the_faithful_app_replay_clean() {
    let marker = MarkerGuard::new("proxy-record");
    let dir = support::temp_dir();
    let rec = dir.path().join("rec");
    let app = ReferenceApp::start(dir.path(), "ref", &[], &marker);
    let proxy = Proxy::start(
        &app.addr,
        &["--record", &rec.display().to_string()],
        &marker,
    );
    let load = run(
        &["load", "--connect", &proxy.addr, "-n", "20", "-c", "2"],
        &marker,
    );
    let (code, sum, lines) = proxy.stop();
    assert_eq!(load.code, Some(0), "{}", load.summary());
    assert_eq!(code, Some(0), "{sum}\n{lines:#?}");
    assert!(sum["requests"].as_u64().is_some_and(|n| n >= 20), "{sum}");
    let files = recorded(&rec);
    assert!(!files.is_empty());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        assert!(
            text.contains("\"schema\": \"fcgi-conversation/1\""),
            "{text}"
        );
        assert!(text.contains("\"side\": \"application\""), "{text}");
        let r = run(
            &["replay", &f.display().to_string(), "--connect", &app.addr],
            &marker,
        );
        assert_eq!(
            r.code,
            Some(0),
            "{}: {}\n{}",
            f.display(),
            r.summary(),
            r.stdout
        );
    }
}

#[test]
fn usage_errors_exit_2_before_listening() {
    let marker = MarkerGuard::new("proxy-usage");
    let dir = support::temp_dir();
    let listen = dir.path().join("proxy.sock");
    let listen_arg = format!("unix:{}", listen.display());
    let missing = format!("unix:{}", dir.path().join("nobody.sock").display());
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap_or_else(|e| panic!("{e}"));
    let app = ReferenceApp::start(dir.path(), "ref", &[], &marker);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--upstream".into(), "nonsense".into()], "--upstream"),
        (
            vec!["--upstream".into(), "10.1.2.3:9000".into()],
            "loopback",
        ),
        (vec!["--upstream".into(), missing], "cannot connect"),
        (
            vec![
                "--upstream".into(),
                app.addr.clone(),
                "--record".into(),
                file.display().to_string(),
            ],
            "--record",
        ),
        (
            vec![
                "--upstream".into(),
                app.addr.clone(),
                "--duration".into(),
                "soon".into(),
            ],
            "--duration",
        ),
    ];
    for (extra, says) in cases {
        let mut args = vec!["proxy", "--listen", &listen_arg];
        args.extend(extra.iter().map(String::as_str));
        let r = run(&args, &marker);
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.summary());
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert!(!listen.exists(), "{args:?} listened before failing");
    }
}
