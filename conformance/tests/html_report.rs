//! The HTML report (`--html FILE`) in a real browser: headless chromium
//! loads the page from disk, runs its script, and dumps the DOM
//! (`--dump-dom`). The counts per verdict must equal the JSON report's of
//! the same run; a verdict filter and a section filter (preset through the
//! query string, which sends the same change events as a click) must hide
//! exactly the cases they should. A screenshot is kept under
//! `target/tmp/` as a CI artefact.
//!
//! A second test clicks: chromium driven through the DevTools protocol
//! on `--remote-debugging-pipe` (two FIFOs, no crate), a mouse press and
//! release at a filter checkbox's place on the page, then the DOM read back.
//!
//! Without chromium the test says SKIPPED on standard error and returns;
//! under CI (the `CI` variable set, as in `.ci/run`) a missing chromium
//! fails it: `conformance/peers/install.sh` installs Debian's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_fcgi-conformance");

/// The longest one chromium run may take on a loaded 2-core machine.
const BROWSER_LIMIT: Duration = Duration::from_secs(120);

const VERDICTS: [&str; 5] = ["pass", "fail", "warn", "info", "skip"];

fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser"] {
        let ok = Command::new(name)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(PathBuf::from(name));
        }
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "chromium is missing in CI: conformance/peers/install.sh installs it"
    );
    eprintln!(
        "SKIPPED: chromium is not installed (apt-get install chromium); the HTML report's browser test runs in CI"
    );
    None
}

/// Runs headless chromium with a fresh profile and no network services,
/// killing it past [`BROWSER_LIMIT`]; returns its standard output.
fn browse(browser: &Path, extra: &[String], url: &str) -> String {
    let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let out_file = profile.path().join("stdout");
    let stdout = std::fs::File::create(&out_file).unwrap_or_else(|e| panic!("create: {e}"));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("p").display()
        ))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let t0 = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if t0.elapsed() > BROWSER_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish {url} within {BROWSER_LIMIT:?}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("waiting for chromium: {e}"),
        }
    }
    std::fs::read_to_string(&out_file).unwrap_or_default()
}

/// One case's element in the dumped DOM.
#[derive(Debug)]
struct Shown {
    id: String,
    verdict: String,
    section: String,
    hidden: bool,
}

/// The value of attribute `name` in the start tag `tag`.
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    let len = tag[at..].find('"')?;
    Some(tag[at..at + len].to_string())
}

/// Every start tag of the DOM that begins with `open`.
fn start_tags<'a>(dom: &'a str, open: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = dom;
    while let Some(at) = rest.find(open) {
        let tail = &rest[at..];
        let end = tail.find('>').unwrap_or(tail.len());
        out.push(&tail[..end]);
        rest = &tail[end..];
    }
    out
}

/// Every `<details class="case" …>` of the DOM, with whether it is hidden.
fn cases(dom: &str) -> Vec<Shown> {
    start_tags(dom, "<details class=\"case\"")
        .into_iter()
        .map(|tag| Shown {
            id: attr(tag, "id").unwrap_or_default(),
            verdict: attr(tag, "data-verdict").unwrap_or_default(),
            section: attr(tag, "data-section").unwrap_or_default(),
            hidden: tag.contains(" hidden"),
        })
        .collect()
}

/// The text of the element with this id (`<span id="shown">12</span>`).
fn text_of(dom: &str, id: &str) -> Option<String> {
    let key = format!("id=\"{id}\"");
    let at = dom.find(&key)?;
    let open = dom[at..].find('>')? + at + 1;
    let close = dom[open..].find('<')? + open;
    Some(dom[open..close].to_string())
}

fn count_by_verdict(shown: &[Shown]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for s in shown {
        *m.entry(s.verdict.clone()).or_insert(0) += 1;
    }
    m
}

#[test]
fn html_report_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let json = dir.path().join("report.json");
    let html = dir.path().join("report.html");
    // Faults that fail a MUST (the CGI head) and warn on a SHOULD
    // (padding), so that every verdict shows.
    let out = Command::new(BIN)
        .args([
            "app",
            "--fault",
            "bad-cgi-head",
            "--fault",
            "unaligned",
            "--color",
            "never",
        ])
        .arg("--json")
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default())
        .unwrap_or_else(|e| panic!("the JSON report: {e}"));
    let page = std::fs::read_to_string(&html).unwrap_or_default();
    // Self-contained: nothing is loaded from elsewhere.
    for outside in ["<link", " src=", "url(", "@import"] {
        assert!(
            !page.contains(outside),
            "the page loads something ({outside})"
        );
    }
    let url = format!("file://{}", html.display());

    // As loaded: every case shown, the counts those of the JSON report.
    let dom = browse(&browser, &["--dump-dom".into()], &url);
    let all = cases(&dom);
    let total = report["cases"].as_array().map_or(0, Vec::len);
    assert_eq!(all.len(), total, "cases in the DOM");
    assert!(
        all.iter().all(|c| !c.hidden),
        "a case is hidden with no filter"
    );
    let by = count_by_verdict(&all);
    for v in VERDICTS {
        let want = report["summary"][v].as_u64().unwrap_or(u64::MAX) as usize;
        assert_eq!(
            by.get(v).copied().unwrap_or(0),
            want,
            "{v} cases in the DOM"
        );
        let shown = text_of(&dom, &format!("count-{v}")).unwrap_or_default();
        assert_eq!(shown, want.to_string(), "the summary's {v} count");
    }
    assert!(
        VERDICTS
            .iter()
            .all(|v| by.get(*v).copied().unwrap_or(0) > 0),
        "{by:?}"
    );
    assert_eq!(text_of(&dom, "shown"), Some(total.to_string()));

    // Unticking `pass` hides every passed case and nothing else.
    let dom = browse(
        &browser,
        &["--dump-dom".into()],
        &format!("{url}?hide=pass"),
    );
    let after = cases(&dom);
    assert_eq!(after.len(), total);
    for c in &after {
        assert_eq!(c.hidden, c.verdict == "pass", "{c:?} with pass unticked");
    }
    let passed = by.get("pass").copied().unwrap_or(0);
    assert_eq!(text_of(&dom, "shown"), Some((total - passed).to_string()));

    // Choosing §4.1 shows its cases only, and hides the other sections.
    let dom = browse(
        &browser,
        &["--dump-dom".into()],
        &format!("{url}?section=4.1"),
    );
    let after = cases(&dom);
    let in_section = after.iter().filter(|c| c.section == "4.1").count();
    assert!(in_section > 0);
    for c in &after {
        assert_eq!(c.hidden, c.section != "4.1", "{c:?} with §4.1 chosen");
    }
    let visible: Vec<String> = start_tags(&dom, "<section class=\"sec\"")
        .into_iter()
        .filter(|t| !t.contains(" hidden"))
        .filter_map(|t| attr(t, "data-section"))
        .collect();
    assert_eq!(visible, ["4.1"], "sections left visible");

    // A link to a case opens it.
    let failed = all
        .iter()
        .find(|c| c.verdict == "fail")
        .map(|c| c.id.clone())
        .unwrap_or_default();
    let dom = browse(&browser, &["--dump-dom".into()], &format!("{url}#{failed}"));
    let tag_at = dom.find(&format!("id=\"{failed}\"")).unwrap_or(0);
    let tag = &dom[tag_at..tag_at + dom[tag_at..].find('>').unwrap_or(0)];
    assert!(
        tag.contains(" open"),
        "#{failed} did not open its case: {tag}"
    );

    // The screenshot, kept for CI.
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html-report.png");
    let _ = std::fs::remove_file(&shot);
    browse(
        &browser,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,1600".into(),
            "--hide-scrollbars".into(),
        ],
        &url,
    );
    let png = std::fs::read(&shot).unwrap_or_default();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "no screenshot at {}",
        shot.display()
    );
    eprintln!("screenshot: {} ({} bytes)", shot.display(), png.len());
}

/// Chromium driven over `--remote-debugging-pipe`: it reads commands on
/// descriptor 3 and writes answers on 4, each a JSON text ended by NUL.
/// The two descriptors are FIFOs the shell opens for it.
struct Devtools {
    child: std::process::Child,
    to: std::fs::File,
    from: std::sync::mpsc::Receiver<Value>,
    next: u64,
    session: Option<String>,
    _dir: tempfile::TempDir,
}

impl Devtools {
    fn start(browser: &Path, url: &str) -> Devtools {
        use std::io::Read as _;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let (cmds, answers) = (dir.path().join("cmds"), dir.path().join("answers"));
        for f in [&cmds, &answers] {
            let ok = Command::new("mkfifo")
                .arg(f)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "mkfifo {} failed", f.display());
        }
        let profile = dir.path().join("profile");
        let script = "exec \"$0\" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
             --disable-background-networking --disable-component-update --disable-sync \
             --window-size=1200,900 --user-data-dir=\"$1\" --remote-debugging-pipe \"$2\" 3<\"$3\" 4>\"$4\"";
        let child = Command::new("bash")
            .arg("-c")
            .arg(script)
            .arg(browser)
            .arg(&profile)
            .arg(url)
            .arg(&cmds)
            .arg(&answers)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start chromium: {e}"));
        // Opening a FIFO waits for its other end: the shell opens `cmds`
        // first, then `answers`, and so do we.
        let to = std::fs::OpenOptions::new()
            .write(true)
            .open(&cmds)
            .unwrap_or_else(|e| panic!("open {}: {e}", cmds.display()));
        let mut reader = std::fs::File::open(&answers)
            .unwrap_or_else(|e| panic!("open {}: {e}", answers.display()));
        let (tx, from) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 65536];
            while let Ok(n) = reader.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                while let Some(end) = buf.iter().position(|b| *b == 0) {
                    let msg: Vec<u8> = buf.drain(..=end).collect();
                    let text = msg.get(..end).unwrap_or_default();
                    if let Ok(v) = serde_json::from_slice::<Value>(text) {
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Devtools {
            child,
            to,
            from,
            next: 0,
            session: None,
            _dir: dir,
        }
    }

    /// Sends one command (to the page's session once attached) and waits
    /// for its answer, within [`BROWSER_LIMIT`].
    fn call(&mut self, method: &str, params: Value) -> Value {
        use std::io::Write as _;
        self.next += 1;
        let id = self.next;
        let mut msg = serde_json::json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = Value::String(s.clone());
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap_or_default();
        bytes.push(0);
        self.to
            .write_all(&bytes)
            .unwrap_or_else(|e| panic!("{method}: cannot write to chromium: {e}"));
        let until = Instant::now() + BROWSER_LIMIT;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.from.recv_timeout(left) {
                Ok(v) if v["id"] == id => {
                    assert!(v["error"].is_null(), "{method}: {}", v["error"]);
                    return v["result"].clone();
                }
                Ok(_) => {}
                Err(e) => panic!("{method}: no answer from chromium within {BROWSER_LIMIT:?}: {e}"),
            }
        }
    }

    /// Attaches to the page and waits for it to have loaded.
    fn attach(&mut self) {
        let targets = self.call("Target.getTargets", serde_json::json!({}));
        let page = targets["targetInfos"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["type"] == "page")
            .map(|t| t["targetId"].clone())
            .unwrap_or_else(|| panic!("no page among {targets}"));
        let att = self.call(
            "Target.attachToTarget",
            serde_json::json!({"targetId": page, "flatten": true}),
        );
        self.session = att["sessionId"].as_str().map(str::to_string);
        assert!(self.session.is_some(), "no session: {att}");
        let until = Instant::now() + BROWSER_LIMIT;
        // The page may still be the blank one it starts as: wait for the
        // report itself, loaded.
        let loaded = "location.protocol==='file:'&&document.readyState==='complete'";
        while self.eval(loaded) != true {
            assert!(Instant::now() < until, "the page did not load");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The value of a JavaScript expression in the page.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            serde_json::json!({"expression": expr, "returnByValue": true}),
        );
        r["result"]["value"].clone()
    }

    /// A left click, pressed and released, at the centre of the element
    /// `selector` as laid out: what a user's mouse does.
    fn click(&mut self, selector: &str) {
        let at = self.eval(&format!(
            "(function(){{var r=document.querySelector({selector:?}).getBoundingClientRect();\
             return [r.left+r.width/2, r.top+r.height/2];}})()"
        ));
        let (x, y) = (at[0].as_f64(), at[1].as_f64());
        let (Some(x), Some(y)) = (x, y) else {
            panic!("{selector} has no place on the page: {at}");
        };
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                serde_json::json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }
}

impl Drop for Devtools {
    /// Asks the browser to close (so it ends its own helper processes),
    /// and kills it if it has not within ten seconds.
    fn drop(&mut self) {
        use std::io::Write as _;
        let _ = self
            .to
            .write_all(b"{\"id\":0,\"method\":\"Browser.close\"}\0");
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_click_on_a_verdict_filter_hides_its_cases() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let html = dir.path().join("report.html");
    let out = Command::new(BIN)
        .args(["app", "--color", "never", "--html"])
        .arg(&html)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut dt = Devtools::start(&browser, &format!("file://{}", html.display()));
    dt.attach();
    let hidden = "[...document.querySelectorAll('details.case')].filter(c=>c.hidden).map(c=>c.dataset.verdict)";
    let count = |v: &Value| v.as_array().map_or(usize::MAX, Vec::len);
    assert_eq!(count(&dt.eval(hidden)), 0, "cases hidden before any click");
    let infos = dt.eval("document.querySelectorAll('details.case[data-verdict=info]').length");
    let infos = infos.as_u64().unwrap_or(0) as usize;
    assert!(
        infos > 0,
        "the reference application's report has info cases"
    );
    dt.click("#f-info");
    assert_eq!(
        dt.eval("document.getElementById('f-info').checked"),
        false,
        "the click did not untick"
    );
    let after = dt.eval(hidden);
    assert_eq!(count(&after), infos, "{after}");
    assert!(
        after.as_array().into_iter().flatten().all(|v| v == "info"),
        "{after}"
    );
    let shown = dt.eval("document.getElementById('shown').textContent");
    let total = dt
        .eval("document.querySelectorAll('details.case').length")
        .as_u64()
        .unwrap_or(0);
    assert_eq!(shown, Value::String((total as usize - infos).to_string()));
    // A second click brings them back.
    dt.click("#f-info");
    assert_eq!(
        count(&dt.eval(hidden)),
        0,
        "the second click did not show them again"
    );
}
