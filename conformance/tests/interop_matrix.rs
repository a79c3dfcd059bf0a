//! `fcgi-conformance matrix`: the two matrices of docs/interop.md are its
//! output for the bundled reference peers' reports and the verdicts pinned
//! in `conformance/peers/*/expected*.json` (which CI compares with the real
//! peers on every run), so the page cannot drift from what CI checks.
//! `FCGI_WRITE_DOCS=1` rewrites the two blocks. The HTML form links each
//! cell to the case in the HTML report beside a JSON report; a bad input
//! is exit 2 with one line.

#[path = "support/repo.rs"]
mod repo;

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_fcgi-conformance");

const APP_PEERS: [(&str, &str); 10] = [
    ("php-fpm", "expected.json"),
    ("php-cgi", "expected.json"),
    ("fcgiwrap", "expected.json"),
    ("libfcgi", "expected.json"),
    ("flup", "expected.json"),
    ("flup-mpx", "expected.json"),
    ("go", "expected.json"),
    ("uwsgi", "expected.json"),
    ("spawn-fcgi", "expected.json"),
    ("php-fpm", "expected-unix.json"),
];
const SERVER_PEERS: [(&str, &str); 8] = [
    ("nginx", "expected.json"),
    ("nginx", "expected-plain.json"),
    ("nginx", "expected-unix.json"),
    ("lighttpd", "expected.json"),
    ("apache2", "expected.json"),
    ("apache2", "expected-plain.json"),
    ("h2o", "expected.json"),
    ("h2o", "expected-plain.json"),
];

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"))
}

fn path_str(p: &Path) -> &str {
    p.to_str()
        .unwrap_or_else(|| panic!("{} is not UTF-8", p.display()))
}

/// Runs a suite against its bundled reference peer with `--json` and `--html`.
fn reference_report(suite: &str, dir: &Path) -> std::path::PathBuf {
    let json = dir.join(format!("{suite}-reference.json"));
    let html = dir.join(format!("{suite}-reference.html"));
    let out = run(&[suite, "--json", path_str(&json), "--html", path_str(&html)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json
}

fn matrix(args: &[String]) -> String {
    let mut all = vec!["matrix".to_string()];
    all.extend(args.iter().cloned());
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let out = run(&refs);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Replaces (or checks) the lines between the block's markers.
fn block(doc: &str, suite: &str, table: &str, write: bool) -> Result<String, String> {
    let begin = format!("<!-- matrix {suite}:");
    let end = format!("<!-- end matrix {suite} -->");
    let b = doc.find(&begin).ok_or(format!("no {begin} marker"))?;
    let body = doc[b..].find('\n').ok_or("no line after the marker")? + b + 1;
    let e = doc.find(&end).ok_or(format!("no {end} marker"))?;
    if doc[body..e] == *table || write {
        return Ok(format!("{}{table}{}", &doc[..body], &doc[e..]));
    }
    Err(format!(
        "docs/interop.md's {suite} matrix is not what `fcgi-conformance matrix` makes of the pinned verdicts \
         (rerun with FCGI_WRITE_DOCS=1 and review the diff):\n--- in the doc\n{}--- generated\n{table}",
        &doc[body..e]
    ))
}

#[test]
fn docs_interop_matrices_are_generated_from_the_pinned_verdicts() {
    if !repo::present("docs/interop.md and conformance/peers/") {
        return;
    }
    let Some(root) = repo::root() else { return };
    let peers = root.join("conformance/peers");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut app = vec![format!(
        "reference={}",
        path_str(&reference_report("app", dir.path()))
    )];
    app.extend(
        APP_PEERS
            .iter()
            .map(|(p, f)| path_str(&peers.join(p).join(f)).to_string()),
    );
    let mut server = vec![format!(
        "reference={}",
        path_str(&reference_report("server", dir.path()))
    )];
    server.extend(
        SERVER_PEERS
            .iter()
            .map(|(p, f)| path_str(&peers.join(p).join(f)).to_string()),
    );
    let app_table = matrix(&app);
    let server_table = matrix(&server);
    assert!(
        app_table.starts_with("| case | reference | php-fpm | php-cgi |"),
        "{app_table}"
    );
    assert!(
        server_table.contains("| nginx | nginx-plain |"),
        "{server_table}"
    );
    let path = root.join("docs/interop.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("docs/interop.md: {e}"));
    let write = std::env::var_os("FCGI_WRITE_DOCS").is_some();
    let new = block(&doc, "app", &app_table, write)
        .and_then(|d| block(&d, "server", &server_table, write))
        .unwrap_or_else(|e| panic!("{e}"));
    if write && new != doc {
        std::fs::write(&path, new).unwrap_or_else(|e| panic!("write docs/interop.md: {e}"));
        eprintln!("rewrote the matrices of {}", path.display());
    }
}

#[test]
fn html_matrix_links_each_cell_to_the_case_in_its_report() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let json = reference_report("app", dir.path());
    let html = matrix(&[
        "--format".into(),
        "html".into(),
        format!("reference@0.1.0={}", path_str(&json)),
    ]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default())
            .unwrap_or_default();
    let cases = report["cases"].as_array().cloned().unwrap_or_default();
    assert!(!cases.is_empty());
    let page = path_str(&json.with_extension("html")).to_string();
    for c in &cases {
        let id = c["id"].as_str().unwrap_or_default();
        let v = c["verdict"].as_str().unwrap_or_default();
        let cell = format!("data-verdict=\"{v}\"><a href=\"{page}#{id}\">{v}</a>");
        assert!(html.contains(&cell), "no linked cell for {id}: {cell}");
    }
    assert!(
        html.contains("<small>0.1.0</small>"),
        "the version is not shown"
    );
    for outside in ["<link", " src=", "url(", "@import"] {
        assert!(
            !html.contains(outside),
            "the page loads something ({outside})"
        );
    }
}

#[test]
fn a_bad_input_is_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"app/3.3/version\": \"passed\"}").unwrap_or_else(|e| panic!("{e}"));
    for args in [
        vec!["matrix", path_str(&bad)],
        vec!["matrix", "/nonexistent/report.json"],
        vec!["matrix"],
    ] {
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} wrote a matrix");
    }
}
