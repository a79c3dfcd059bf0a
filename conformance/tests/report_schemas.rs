//! The JSON Schemas under `docs/schemas/` against real output of the CLI:
//! the suite report (`--json FILE`, both suites, a repeated run, a run
//! whose target stopped serving), the dump of FastCGI bytes and of packet
//! captures, and every expectations file of `conformance/peers/`. Each
//! schema also rejects a document it should, so a schema that accepts
//! everything fails here. The JUnit report is checked with `xmllint
//! --schema` against the committed JUnit XSD (`docs/schemas/junit-10.xsd`).

#[path = "support/repo.rs"]
mod repo;

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

/// A validator for `docs/schemas/<name>`, with the dump schema registered
/// so that the capture schema's references to it resolve offline.
fn validator(dir: &Path, name: &str) -> jsonschema::Validator {
    let dump = read_json(&dir.join("fcgi-dump-1.schema.json"));
    let registry = jsonschema::Registry::new()
        .add(format!("{BASE}fcgi-dump-1.schema.json"), dump)
        .and_then(|r| r.prepare())
        .unwrap_or_else(|e| panic!("the dump schema does not register: {e}"));
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
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} breaks its schema:\n{}",
        errors.join("\n")
    );
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

/// Every JSON report and JUnit file the peer scripts left in
/// `$FCGI_PEER_REPORTS` (.ci/run sets it after running the real peers):
/// real implementations' reports against the schemas. Without the
/// variable there is nothing to check, and the test says so.
#[test]
fn real_peer_reports_match_the_schemas() {
    let Some(dir) = schemas_dir() else { return };
    let Some(reports) = std::env::var_os("FCGI_PEER_REPORTS").map(PathBuf::from) else {
        eprintln!(
            "SKIPPED: FCGI_PEER_REPORTS is not set (.ci/run sets it after the real peers ran)"
        );
        return;
    };
    let v = validator(&dir, "fcgi-conformance-report-1.schema.json");
    let xsd = dir.join("junit-10.xsd");
    let lint = xmllint().is_some();
    let (mut json, mut xml) = (0, 0);
    let mut todo = vec![reports.clone()];
    // Two levels: the folder and one folder per web server.
    for _ in 0..2 {
        for d in std::mem::take(&mut todo) {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                match p.extension().and_then(|x| x.to_str()) {
                    _ if p.is_dir() => todo.push(p),
                    Some("json") => {
                        let doc = read_json(&p);
                        if doc["schema"] == "fcgi-conformance-report/1" {
                            assert_valid(&v, &doc, &p.display().to_string());
                            json += 1;
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
    assert!(json >= 11, "only {json} reports in {}", reports.display());
    eprintln!("{json} peer reports and {xml} JUnit files valid");
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
