//! The JSON Schemas under `docs/schemas/` against real output of the CLI:
//! the suite report (`--json FILE`, both suites, a repeated run, a run
//! whose target stopped serving), the dump of FastCGI bytes and of packet
//! captures, `explore` and `replay` (`--format json`, both sides, with
//! findings and without), the conversation files they write and read
//! (every committed `conformance/peers/*/findings/*.json` too), and every
//! expectations file of `conformance/peers/`. Each schema also rejects a
//! document it should, so a schema that accepts everything fails here.
//! The JUnit reports are checked with `xmllint --schema` against the
//! committed JUnit XSD (`docs/schemas/junit-10.xsd`).

#[path = "support/repo.rs"]
mod repo;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BASE: &str = "file:///docs/schemas/";

fn schemas_dir() -> Option<PathBuf> {
    repo::present("docs/schemas/")
        .then(|| repo::root().map(|r| r.join("docs/schemas")))
        .flatten()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The schemas others refer to by relative `$ref`, registered so that
/// the references resolve offline.
const REFERRED: [&str; 2] = ["fcgi-dump-1.schema.json", "fcgi-conversation-1.schema.json"];

/// A validator for `docs/schemas/<name>`, with [`REFERRED`] registered.
fn validator(dir: &Path, name: &str) -> jsonschema::Validator {
    let mut registry = jsonschema::Registry::new();
    for r in REFERRED {
        registry = registry
            .add(format!("{BASE}{r}"), read_json(&dir.join(r)))
            .unwrap_or_else(|e| panic!("{r} does not register: {e}"));
    }
    let registry = registry
        .prepare()
        .unwrap_or_else(|e| panic!("the referred schemas do not register: {e}"));
    jsonschema::options()
        .with_base_uri(BASE)
        .with_registry(&registry)
        .should_validate_formats(true)
        .build(&read_json(&dir.join(name)))
        .unwrap_or_else(|e| panic!("{name} is not a valid JSON Schema: {e}"))
}

fn assert_valid(v: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .take(10)
        .map(|e| {
            format!(
                "  at {}: {e} (schema {})",
                display_path(e.instance_path().as_str()),
                e.evaluation_path()
            )
        })
        .collect();
    assert!(
        errors.is_empty(),
        "{what} breaks its schema:\n{}",
        errors.join("\n")
    );
}

/// A JSON Pointer as people read it: `/` for the whole document.
fn display_path(p: &str) -> &str {
    if p.is_empty() {
        "/"
    } else {
        p
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fcgi-conformance"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", env!("CARGO_BIN_EXE_fcgi-conformance")))
}

/// Runs a suite with `--json`, `--junit` and `--html` into a new directory
/// and returns the JSON report, the JUnit path and the directory.
fn suite(args: &[&str]) -> (Value, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let json = dir.path().join("report.json");
    let junit = dir.path().join("report.xml");
    let html = dir.path().join("report.html");
    let mut all: Vec<&str> = args.to_vec();
    let paths = [json.to_str(), junit.to_str(), html.to_str()];
    let [Some(j), Some(x), Some(h)] = paths else {
        panic!("temporary paths are not UTF-8");
    };
    all.extend(["--json", j, "--junit", x, "--html", h, "--color", "never"]);
    let out = run(&all);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?} exited {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    // The text report is on standard output in the same run.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(" passed, "),
        "no text report on stdout: {text}"
    );
    (read_json(&json), junit, dir)
}

#[test]
fn reports_of_both_suites_match_the_report_schema() {
    let Some(dir) = schemas_dir() else { return };
    let v = validator(&dir, "fcgi-conformance-report-1.schema.json");
    let (app, _, _d1) = suite(&["app", "--param", "X_TEST=1", "--only", "app/3"]);
    assert_valid(&v, &app, "the app report");
    assert_eq!(app["probes"]["echo_contract"], true, "{}", app["probes"]);
    assert_eq!(app["options"]["params"][0], "X_TEST=1");
    assert_eq!(app["options"]["only"][0], "app/3");
    // The reference application answers FCGI_MAX_CONNS; the number is the
    // one the capacity line of `target` names.
    let max = app["probes"]["get_values"]["FCGI_MAX_CONNS"].as_u64();
    let target = app["target"].as_str().unwrap_or_default();
    assert!(
        max.is_some_and(|m| target.contains(&format!("FCGI_MAX_CONNS={m}"))),
        "probes {} disagree with target {target}",
        app["probes"]
    );
    let (server, _, _d2) = suite(&["server", "--only", "server/4.1"]);
    assert_valid(&v, &server, "the server report");
    assert_eq!(server["probes"]["spawned"], false);
    let (repeated, _, _d3) = suite(&["app", "--only", "app/4.2", "--repeat", "2"]);
    assert_valid(&v, &repeated, "a repeated run's report");
    assert_eq!(repeated["options"]["repeat"], 2);
    assert_eq!(repeated["repeat"], 2);
}

#[test]
fn the_report_schema_rejects_what_it_should() {
    let Some(dir) = schemas_dir() else { return };
    let v = validator(&dir, "fcgi-conformance-report-1.schema.json");
    let (good, _, _d) = suite(&["app", "--only", "app/4.2"]);
    assert_valid(&v, &good, "the app report");
    let mut bad = good.clone();
    bad["cases"][0]["verdict"] = "maybe".into();
    assert!(!v.is_valid(&bad), "a verdict outside the five is accepted");
    let mut bad = good.clone();
    bad["started_at"] = "yesterday".into();
    assert!(
        !v.is_valid(&bad),
        "a start time that is not RFC 3339 is accepted"
    );
    let mut bad = good;
    if let Some(o) = bad.as_object_mut() {
        o.remove("options");
    }
    assert!(!v.is_valid(&bad), "a report without options is accepted");
}

#[test]
fn dumps_match_the_dump_schemas() {
    let Some(dir) = schemas_dir() else { return };
    let Some(root) = repo::root() else { return };
    let bytes = validator(&dir, "fcgi-dump-1.schema.json");
    let capture = validator(&dir, "fcgi-dump-capture-1.schema.json");
    let mut seen = 0;
    for sub in [
        "conformance/peers/nginx/captures",
        "conformance/tests/fixtures/captures",
    ] {
        let entries =
            std::fs::read_dir(root.join(sub)).unwrap_or_else(|e| panic!("cannot list {sub}: {e}"));
        for e in entries.flatten() {
            let path = e.path();
            let v = match path.extension().and_then(|x| x.to_str()) {
                Some("bin") => &bytes,
                Some("pcap") => &capture,
                _ => continue,
            };
            let Some(p) = path.to_str() else { continue };
            for extra in [&[][..], &["--no-offsets"][..]] {
                let mut args = vec!["dump", p, "--format", "json"];
                args.extend(extra);
                let out = run(&args);
                let doc: Value = serde_json::from_slice(&out.stdout)
                    .unwrap_or_else(|e| panic!("dump {p} {extra:?} is not JSON: {e}"));
                assert_valid(v, &doc, &format!("dump {p} {extra:?}"));
                seen += 1;
            }
        }
    }
    assert!(seen >= 10, "only {seen} dumps were checked");
    // A malformed stream gives an error object, which the schema checks too.
    let bad_file = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("temp: {e}"));
    std::fs::write(bad_file.path(), [1u8, 1, 0, 1, 0, 7, 0, 0, 0, 1, 0])
        .unwrap_or_else(|e| panic!("write: {e}"));
    let out = run(&[
        "dump",
        bad_file.path().to_str().unwrap_or("-"),
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert!(doc["error"].is_object() || doc["records"][0]["detail"]["kind"] == "malformed");
    assert_valid(&bytes, &doc, "the dump of a malformed stream");
    let mut broken = doc;
    broken["records"] = serde_json::json!([{"offset": 0, "version": 1}]);
    assert!(
        !bytes.is_valid(&broken),
        "a record without its header fields is accepted"
    );
}

#[test]
fn every_expectations_file_matches_its_schema() {
    let Some(dir) = schemas_dir() else { return };
    let Some(root) = repo::root() else { return };
    let v = validator(&dir, "fcgi-conformance-expectations.schema.json");
    let peers = root.join("conformance/peers");
    let mut seen = 0;
    for e in std::fs::read_dir(&peers).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(e.path()).into_iter().flatten().flatten() {
            let name = f.file_name().to_string_lossy().to_string();
            if name.starts_with("expected") && name.ends_with(".json") {
                assert_valid(&v, &read_json(&f.path()), &f.path().display().to_string());
                seen += 1;
            }
        }
    }
    assert!(
        seen >= 11,
        "only {seen} expectations files found under {}",
        peers.display()
    );
    assert!(!v.is_valid(&serde_json::json!({"app/3.3/version": "passed"})));
    assert!(!v.is_valid(&serde_json::json!({"not a case": "pass"})));
}

/// No run of `explore` or `replay` here outlives this: it is killed and
/// the test fails.
const HARD_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Runs the CLI (bounded by [`HARD_LIMIT`], carrying `marker`) and parses
/// its standard output as JSON, expecting one of `codes` as the exit status.
fn run_json(args: &[&str], codes: &[i32], marker: &support::MarkerGuard) -> Value {
    let r = support::Runner::new(args, marker, HARD_LIMIT).run();
    assert!(
        r.code.is_some_and(|c| codes.contains(&c)),
        "{args:?} exited {:?}, not one of {codes:?}: {}",
        r.code,
        r.summary()
    );
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{args:?} wrote no JSON ({e}): {}", r.stdout))
}

fn path_str(p: &Path) -> &str {
    p.to_str()
        .unwrap_or_else(|| panic!("{} is not UTF-8", p.display()))
}

/// The reproducer paths of an explore report's findings (those saved).
fn reproducers(report: &Value) -> Vec<PathBuf> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["file"].as_str().map(PathBuf::from))
        .collect()
}

/// The three schemas of exploring, by name.
struct ExploreSchemas {
    explore: jsonschema::Validator,
    replay: jsonschema::Validator,
    conversation: jsonschema::Validator,
}

impl ExploreSchemas {
    fn new(dir: &Path) -> Self {
        ExploreSchemas {
            explore: validator(dir, "fcgi-conformance-explore-1.schema.json"),
            replay: validator(dir, "fcgi-conformance-replay-1.schema.json"),
            conversation: validator(dir, "fcgi-conversation-1.schema.json"),
        }
    }

    /// Validates `report` and every reproducer it names; returns them.
    fn check_explore(&self, report: &Value, what: &str) -> Vec<PathBuf> {
        assert_valid(&self.explore, report, what);
        let files = reproducers(report);
        for f in &files {
            assert_valid(&self.conversation, &read_json(f), &f.display().to_string());
        }
        files
    }
}

/// `explore` of the reference application with a fault (findings, shrunk,
/// the spawned process's memory), without one (no finding, no memory: the
/// in-process reference), of the reference web server, and of a target
/// that stops serving (`unusable`, exit 2); `replay` of a
/// reproducer where it shows and where it does not; each against its
/// schema, the reproducers against the conversation schema and the JUnit
/// report against the XSD.
#[test]
fn explore_and_replay_match_their_schemas() {
    let Some(dir) = schemas_dir() else { return };
    let s = ExploreSchemas::new(&dir);
    let marker = support::MarkerGuard::new("schemas-explore");
    let tmp = support::temp_dir();
    let bin = support::bin();
    let faulty = format!("{bin} reference-app --fault bad-cgi-head");
    let found = tmp.path().join("found");
    let junit = tmp.path().join("junit.xml");
    let report = run_json(
        &[
            "explore",
            "--spawn",
            &faulty,
            "--seed",
            "21",
            "--conversations",
            "100",
            "--findings",
            "1",
            "--timeout",
            "2",
            "--format",
            "json",
            "--out",
            path_str(&found),
            "--junit",
            path_str(&junit),
        ],
        &[1],
        &marker,
    );
    let files = s.check_explore(&report, "explore with a fault");
    assert_eq!(report["side"], "application");
    assert!(report["rss"].is_object(), "no memory of --spawn: {report}");
    let [file] = files.as_slice() else {
        panic!("not one reproducer: {report}");
    };
    if xmllint().is_some() {
        assert_junit_valid(&dir.join("junit-10.xsd"), &junit);
    }
    let replayed = run_json(
        &[
            "replay",
            path_str(file),
            "--spawn",
            &faulty,
            "--timeout",
            "2",
            "--format",
            "json",
        ],
        &[1],
        &marker,
    );
    assert_valid(&s.replay, &replayed, "replay of a finding that shows");
    assert!(
        replayed["found"].is_object() && replayed.get("side").is_none(),
        "{replayed}"
    );
    let clean = run_json(
        &[
            "replay",
            path_str(file),
            "--timeout",
            "2",
            "--format",
            "json",
        ],
        &[0],
        &marker,
    );
    assert_valid(&s.replay, &clean, "replay on the faithful application");
    assert!(
        clean["found"].is_null() && clean["recorded"].is_object(),
        "{clean}"
    );

    let nothing = run_json(
        &[
            "explore",
            "--seed",
            "21",
            "--conversations",
            "20",
            "--timeout",
            "2",
            "--format",
            "json",
            "--out",
            path_str(&tmp.path().join("none")),
        ],
        &[0],
        &marker,
    );
    s.check_explore(&nothing, "explore without a finding");
    assert!(
        nothing["findings"] == serde_json::json!([]) && nothing["rss"].is_null(),
        "{nothing}"
    );

    let server = run_json(
        &[
            "explore",
            "--side",
            "server",
            "--seed",
            "21",
            "--conversations",
            "10",
            "--timeout",
            "3",
            "--format",
            "json",
            "--out",
            path_str(&tmp.path().join("server")),
        ],
        &[0],
        &marker,
    );
    s.check_explore(&server, "explore --side server of the reference web server");
    assert_eq!(server["side"], "web-server");

    // A target that stops serving for good (after a malformed record) and
    // cannot be restarted (--connect): exit 2, and `unusable` says why.
    let dying = support::ReferenceApp::start(tmp.path(), "dying", &["die-on-malformed"], &marker);
    let stopped = run_json(
        &[
            "explore",
            "--connect",
            &dying.addr,
            "--hostile",
            "--seed",
            "21",
            "--conversations",
            "100",
            "--timeout",
            "2",
            "--format",
            "json",
            "--out",
            path_str(&tmp.path().join("dying")),
        ],
        &[2],
        &marker,
    );
    s.check_explore(&stopped, "explore of a target that stopped serving");
    assert!(stopped["unusable"].is_string(), "{stopped}");
}

/// The web-server side with findings: the reference web server with a
/// fault, in process (no flag injects one), its report and reproducer
/// against the schemas, and `replay` of that reproducer by the CLI against
/// the faithful reference web server.
#[test]
fn a_web_server_exploration_with_findings_matches_the_schemas() {
    let Some(dir) = schemas_dir() else { return };
    let s = ExploreSchemas::new(&dir);
    let marker = support::MarkerGuard::new("schemas-explore-server");
    let tmp = support::temp_dir();
    let faults = fcgi_conformance::__private::client::Faults {
        ignore_status: true,
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    let report = rt
        .block_on(
            fcgi_conformance::__private::explore::server::explore_reference(
                faults,
                21,
                100,
                std::time::Duration::from_secs(3),
                tmp.path(),
            ),
        )
        .unwrap_or_else(|e| panic!("the reference web server does not start: {e}"));
    let report: Value = serde_json::from_str(&report.json())
        .unwrap_or_else(|e| panic!("the web-server report is not JSON: {e}"));
    let files = s.check_explore(&report, "explore --side server with a fault");
    let Some(file) = files.first() else {
        panic!("no reproducer: {report}");
    };
    let replayed = run_json(
        &[
            "replay",
            path_str(file),
            "--timeout",
            "3",
            "--format",
            "json",
        ],
        &[0],
        &marker,
    );
    assert_valid(&s.replay, &replayed, "replay of a web-server conversation");
    assert_eq!(replayed["side"], "web-server", "{replayed}");
}

/// Each of the three schemas of exploring rejects a broken document.
#[test]
fn the_explore_schemas_reject_what_they_should() {
    let Some(dir) = schemas_dir() else { return };
    let s = ExploreSchemas::new(&dir);
    let finding = serde_json::json!({
        "property": "echo", "requirement": "R-3.4-2", "section": "3.4",
        "expected": "the params echoed", "observed": "one missing"
    });
    let found = serde_json::json!({
        "finding": finding, "first": finding, "conversation": 3,
        "before": {"connections": 2, "requests": 3}, "after": {"connections": 1, "requests": 1},
        "records": 5, "attempts": 7, "file": "found/echo-R-3.4-2-seed1-n3.json", "file_error": null
    });
    let good = serde_json::json!({
        "schema": "fcgi-conformance-explore/1", "tool_version": "0.1.0", "seed": 1,
        "side": "application", "target": "127.0.0.1:9000", "roles": [1, 2, 3],
        "mpxs_conns": false, "echo_contract": true, "hostile": false, "conversations": 10,
        "elapsed_s": 0.5, "conversations_per_s": 20.0, "findings": [found], "unusable": null,
        "rss": null, "jobs": 1, "jobs_reason": "--jobs 1", "beside_only": []
    });
    assert_valid(&s.explore, &good, "a hand-made explore report");
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut b = good.clone();
        edit(&mut b);
        b
    };
    for (what, bad) in [
        (
            "without jobs",
            broken(&|b| _ = b.as_object_mut().map(|o| o.remove("jobs"))),
        ),
        ("with an unknown field", broken(&|b| b["extra"] = 1.into())),
        (
            "of side web-server with the application's fields",
            broken(&|b| b["side"] = "web-server".into()),
        ),
        (
            "with a finding without a reproducer or its error",
            broken(&|b| b["findings"][0]["file"] = Value::Null),
        ),
        (
            "with both a reproducer and an error",
            broken(&|b| b["findings"][0]["file_error"] = "full".into()),
        ),
        (
            "with a requirement that is no ID",
            broken(&|b| b["findings"][0]["finding"]["requirement"] = "3.4".into()),
        ),
        ("with a negative seed", broken(&|b| b["seed"] = (-1).into())),
    ] {
        assert!(
            !s.explore.is_valid(&bad),
            "an explore report {what} is accepted: {bad}"
        );
    }
    let replay = serde_json::json!({
        "schema": "fcgi-conformance-replay/1", "file": "f.json", "recorded": finding,
        "found": null, "reproduces": false, "runs": 3, "runs_with_a_finding": 0
    });
    assert_valid(&s.replay, &replay, "a hand-made replay result");
    let mut bad = replay.clone();
    bad["reproduces"] = true.into();
    assert!(
        !s.replay.is_valid(&bad),
        "a reproduction without a finding is accepted"
    );
    let mut bad = replay.clone();
    bad["runs"] = 0.into();
    assert!(!s.replay.is_valid(&bad), "a replay of no run is accepted");
    let mut bad = replay;
    bad["side"] = "application".into();
    assert!(
        !s.replay.is_valid(&bad),
        "side application is accepted (it is left out)"
    );
    let conversation = serde_json::json!({
        "schema": "fcgi-conversation/1", "tool_version": "0.1.0", "seed": null,
        "side": "application", "target": "t", "finding": null,
        "connections": [{"label": "c1", "events": [
            {"t_us": 1, "dir": "to-target", "describe": [], "hex": "0101"},
            {"t_us": 2, "close": "from-target"}
        ]}]
    });
    assert_valid(&s.conversation, &conversation, "a hand-made conversation");
    for (what, pointer, value) in [
        ("odd hex", "/connections/0/events/0/hex", Value::from("010")),
        (
            "a write that is also a close",
            "/connections/0/events/0/close",
            Value::from("to-target"),
        ),
        (
            "an unknown direction",
            "/connections/0/events/1/close",
            Value::from("sideways"),
        ),
        ("a schema 2", "/schema", Value::from("fcgi-conversation/2")),
    ] {
        let mut bad = conversation.clone();
        match bad.pointer_mut(pointer) {
            Some(v) => *v = value,
            None => {
                let (parent, key) = pointer.rsplit_once('/').unwrap_or_default();
                if let Some(o) = bad.pointer_mut(parent).and_then(Value::as_object_mut) {
                    o.insert(key.to_string(), value);
                }
            }
        }
        assert!(
            !s.conversation.is_valid(&bad),
            "a conversation with {what} is accepted: {bad}"
        );
    }
}

/// Every committed reproducer (`conformance/peers/*/findings/*.json`,
/// which `run-explore.sh` replays against the real peers) against the
/// conversation schema.
#[test]
fn every_committed_finding_matches_the_conversation_schema() {
    let Some(dir) = schemas_dir() else { return };
    let Some(root) = repo::root() else { return };
    let v = validator(&dir, "fcgi-conversation-1.schema.json");
    let peers = root.join("conformance/peers");
    let mut seen = 0;
    for e in std::fs::read_dir(&peers).into_iter().flatten().flatten() {
        let found = e.path().join("findings");
        for f in std::fs::read_dir(&found).into_iter().flatten().flatten() {
            let p = f.path();
            if p.extension().is_some_and(|x| x == "json") {
                assert_valid(&v, &read_json(&p), &p.display().to_string());
                seen += 1;
            }
        }
    }
    assert!(
        seen >= 20,
        "only {seen} findings files under {}",
        peers.display()
    );
}

/// Most files the walk of `$FCGI_PEER_REPORTS` looks at.
const MAX_REPORT_FILES: usize = 20_000;

/// Every JSON report and JUnit file the peer scripts left in
/// `$FCGI_PEER_REPORTS` (.ci/run sets it after running the real peers):
/// real implementations' reports against the schemas. The walk goes four
/// levels down: the folder (`app-NAME.json`, …), one folder per peer, the
/// explorations' `explore/NAME/` (`explore.json`, `replay-*.json`,
/// `junit.xml`) and the proxy check's `proxy-nginx-php-fpm/recorded/`, and
/// their reproducers in `explore/NAME/found/`. A JSON file is checked
/// against the schema its `schema` field names; one that names none of
/// ours is left alone. Without the variable there is nothing to check,
/// and the test says so.
#[test]
fn real_peer_reports_match_the_schemas() {
    let Some(dir) = schemas_dir() else { return };
    let Some(reports) = std::env::var_os("FCGI_PEER_REPORTS").map(PathBuf::from) else {
        eprintln!(
            "SKIPPED: FCGI_PEER_REPORTS is not set (.ci/run sets it after the real peers ran)"
        );
        return;
    };
    let by_schema: Vec<(&str, jsonschema::Validator)> = [
        (
            "fcgi-conformance-report/1",
            "fcgi-conformance-report-1.schema.json",
        ),
        (
            "fcgi-conformance-explore/1",
            "fcgi-conformance-explore-1.schema.json",
        ),
        (
            "fcgi-conformance-replay/1",
            "fcgi-conformance-replay-1.schema.json",
        ),
        ("fcgi-conversation/1", "fcgi-conversation-1.schema.json"),
        (
            "fcgi-conformance-proxy/1",
            "fcgi-conformance-proxy-1.schema.json",
        ),
    ]
    .into_iter()
    .map(|(name, file)| (name, validator(&dir, file)))
    .collect();
    let xsd = dir.join("junit-10.xsd");
    let lint = xmllint().is_some();
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    let (mut xml, mut files) = (0, 0);
    let mut todo = vec![reports.clone()];
    for _ in 0..4 {
        for d in std::mem::take(&mut todo) {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(&d)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .collect();
            entries.sort();
            for p in entries {
                files += 1;
                assert!(
                    files <= MAX_REPORT_FILES,
                    "over {MAX_REPORT_FILES} files under {}",
                    reports.display()
                );
                match p.extension().and_then(|x| x.to_str()) {
                    _ if p.is_dir() => todo.push(p),
                    Some("json") => {
                        let doc = read_json(&p);
                        let name = doc["schema"].as_str().unwrap_or_default();
                        if let Some((name, v)) = by_schema.iter().find(|(n, _)| *n == name) {
                            assert_valid(v, &doc, &format!("{} ({name})", p.display()));
                            *counts.entry(name).or_default() += 1;
                        }
                    }
                    Some("xml") if lint => {
                        assert_junit_valid(&xsd, &p);
                        xml += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    let count = |name: &str| counts.get(name).copied().unwrap_or(0);
    let json = count("fcgi-conformance-report/1");
    // CI leaves a suite report for each real peer; a folder of a local
    // run-explore.sh alone has none (allowed outside CI only).
    let ci = std::env::var_os("CI").is_some();
    assert!(
        json >= 11 || (!ci && json == 0 && counts.values().sum::<usize>() > 0),
        "only {json} suite reports (and {counts:?}) in {}",
        reports.display()
    );
    // run-explore.sh leaves explore.json for each peer it explored, and a
    // replay-*.json for each committed finding of those peers.
    if reports.join("explore").is_dir() {
        assert!(
            count("fcgi-conformance-explore/1") > 0,
            "no explore.json under {}/explore",
            reports.display()
        );
    }
    eprintln!("valid: {counts:?} and {xml} JUnit files");
}

fn xmllint() -> Option<&'static str> {
    let found = Command::new("xmllint").arg("--version").output().is_ok();
    if found {
        return Some("xmllint");
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "xmllint is missing in CI: conformance/peers/install.sh installs libxml2-utils"
    );
    eprintln!("SKIPPED: xmllint is not installed (apt-get install libxml2-utils); the JUnit schema check runs in CI");
    None
}

fn assert_junit_valid(xsd: &Path, junit: &Path) {
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd)
        .arg(junit)
        .output()
        .unwrap_or_else(|e| panic!("cannot run xmllint: {e}"));
    assert!(
        out.status.success(),
        "{} is not valid JUnit: {}",
        junit.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn junit_is_valid_against_the_common_xsd_and_a_dead_target_is_an_error() {
    let Some(dir) = schemas_dir() else { return };
    if xmllint().is_none() {
        return;
    }
    let xsd = dir.join("junit-10.xsd");
    let (_, junit, _d) = suite(&["app"]);
    assert_junit_valid(&xsd, &junit);
    let (_, junit, _d2) = suite(&["server"]);
    assert_junit_valid(&xsd, &junit);
    // The reference application with this fault stops accepting after a
    // malformed record: the cases after it could not be judged.
    let (report, junit, _d3) = suite(&["app", "--fault", "die-on-malformed", "--jobs", "1"]);
    assert_junit_valid(&xsd, &junit);
    let stopped = report["stopped_after"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!stopped.is_empty(), "the target did not stop: {report}");
    let not_judged = report["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            c["verdict"] == "skip"
                && c["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("the target stopped serving after "))
        })
        .count();
    let xml = std::fs::read_to_string(&junit).unwrap_or_default();
    assert!(not_judged > 0, "no case was left unjudged");
    assert_eq!(xml.matches("<error ").count(), not_judged, "{xml}");
    assert!(
        xml.contains(&format!("errors=\"{not_judged}\"")),
        "the error count is not {not_judged}: {xml}"
    );
    assert!(!xml.lines().next().unwrap_or("").contains("skipped"));
}
