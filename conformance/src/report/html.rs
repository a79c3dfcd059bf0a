//! The HTML report (`--html FILE`): one self-contained page, with no
//! network and no external assets. A summary, the verdicts by section in
//! colour, filters by verdict and section (a few lines of inline script),
//! and each case with its expected/actual and its transcript inline, in
//! collapsible `<details>`. The query string can preset the filters
//! (`?hide=pass,info&section=4.1`).
//!
//! The page is written by a small template of our own (`format!` and one
//! escape function) rather than a templating crate: it is one page with
//! one loop, and every value passes through [`esc`].

use std::fmt::Write as _;

use super::{rfc3339, Report};
use crate::case::{CaseResult, Verdict};

/// Every verdict, in the order the page shows them.
pub const VERDICTS: [Verdict; 5] = [
    Verdict::Fail,
    Verdict::Warn,
    Verdict::Pass,
    Verdict::Info,
    Verdict::Skip,
];

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && !matches!(c, '\n' | '\t') => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// The page's style sheet: the verdict colours are shared with the matrix.
pub const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .3em}
h2{font-size:1.1em;margin:1.2em 0 .4em}
code,pre{font-family:ui-monospace,monospace;font-size:12px}
pre{background:#f6f6f6;padding:.6em;overflow:auto;max-height:40em}
table{border-collapse:collapse}
td,th{padding:.2em .6em;border:1px solid #ddd;text-align:left}
.badge{display:inline-block;min-width:3.2em;text-align:center;border-radius:3px;
 padding:0 .3em;color:#fff;font-weight:600;font-size:12px}
.v-pass{background:#2e7d32}.v-fail{background:#c62828}.v-warn{background:#ef6c00}
.v-info{background:#1565c0}.v-skip{background:#757575}
td.v-pass,td.v-fail,td.v-warn,td.v-info,td.v-skip{color:#fff;text-align:center}
details.case{border-left:4px solid #ddd;margin:.2em 0;padding:.1em .5em}
details.case[data-verdict=pass]{border-color:#2e7d32}
details.case[data-verdict=fail]{border-color:#c62828}
details.case[data-verdict=warn]{border-color:#ef6c00}
details.case[data-verdict=info]{border-color:#1565c0}
details.case[data-verdict=skip]{border-color:#757575}
summary{cursor:pointer}
dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1em;margin:.4em 0}
dt{font-weight:600}dd{margin:0;white-space:pre-wrap}
#filters{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ddd}
#filters label{margin-right:.8em}
[hidden]{display:none!important}
";

/// Filters: a case is shown when its verdict is ticked and its section is
/// the one chosen (or all are); a section with no case shown is hidden.
const SCRIPT: &str = "
(function(){
  function apply(){
    var on={};
    document.querySelectorAll('input.f-verdict').forEach(function(b){on[b.value]=b.checked;});
    var sec=document.getElementById('f-section').value, shown=0;
    document.querySelectorAll('details.case').forEach(function(c){
      var vis=on[c.dataset.verdict]&&(sec===''||sec===c.dataset.section);
      c.hidden=!vis; if(vis){shown++;}
    });
    document.querySelectorAll('section.sec').forEach(function(s){
      s.hidden=!s.querySelector('details.case:not([hidden])');
    });
    document.getElementById('shown').textContent=String(shown);
  }
  document.querySelectorAll('#filters input,#filters select').forEach(function(e){
    e.addEventListener('change',apply);
  });
  function openHash(){
    var id=decodeURIComponent(location.hash.slice(1)), c=id&&document.getElementById(id);
    if(c&&c.tagName==='DETAILS'){c.open=true;c.scrollIntoView();}
  }
  window.addEventListener('hashchange',openHash);
  // The query string can set the filters (?hide=pass,info&section=4.1),
  // through the same change events a click sends: shareable views, and
  // what the browser test uses.
  var q=new URLSearchParams(location.search), hide=(q.get('hide')||'').split(',');
  document.querySelectorAll('input.f-verdict').forEach(function(b){
    if(hide.indexOf(b.value)>=0){b.checked=false;b.dispatchEvent(new Event('change'));}
  });
  var sel=document.getElementById('f-section');
  if(q.get('section')){sel.value=q.get('section');sel.dispatchEvent(new Event('change'));}
  apply(); openHash();
})();
";

fn badge(v: Verdict) -> String {
    format!("<span class=\"badge v-{0}\">{0}</span>", v.name())
}

/// The report as one self-contained HTML page.
pub fn to_html(report: &Report) -> String {
    let s = report.summary();
    let count = |v: Verdict| match v {
        Verdict::Pass => s.pass,
        Verdict::Fail => s.fail,
        Verdict::Warn => s.warn,
        Verdict::Info => s.info,
        Verdict::Skip => s.skip,
    };
    let title = format!(
        "fcgi-conformance {} — {}",
        report.suite.name(),
        report.target
    );
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width\">\n<title>{}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<h1>fcgi-conformance {}</h1>\n\
         <p id=\"target\">target: {}</p>\n",
        esc(&title),
        report.suite.name(),
        esc(&report.target)
    );
    // Summary: the counts carry data-count so a test reads them exactly.
    h.push_str("<section id=\"summary\">\n<table><tr>");
    for v in VERDICTS {
        let _ = write!(h, "<td class=\"v-{}\">{}</td>", v.name(), v.name());
    }
    h.push_str("<th>cases</th></tr>\n<tr>");
    for v in VERDICTS {
        let _ = write!(
            h,
            "<td id=\"count-{0}\" data-count=\"{1}\">{1}</td>",
            v.name(),
            count(v)
        );
    }
    let _ = writeln!(
        h,
        "<td id=\"count-all\" data-count=\"{0}\">{0}</td></tr></table>",
        report.cases.len()
    );
    let _ = write!(
        h,
        "<dl>\n<dt>started</dt><dd>{}</dd>\n<dt>duration</dt><dd>{:.2} s</dd>\n\
         <dt>tool</dt><dd>fcgi-conformance {}</dd>\n",
        rfc3339(report.started_at),
        report.duration.as_secs_f64(),
        env!("CARGO_PKG_VERSION")
    );
    if let Some(stopped) = &report.stopped_after {
        let _ = writeln!(
            h,
            "<dt>stopped</dt><dd>the target stopped serving after <a href=\"#{0}\">{0}</a>; later cases could not be judged</dd>",
            esc(stopped)
        );
    }
    if !report.flaky.is_empty() {
        let ids: Vec<String> = report.flaky.iter().map(|f| esc(&f.id)).collect();
        let _ = writeln!(
            h,
            "<dt>flaky</dt><dd>{} of {} runs: {}</dd>",
            ids.len(),
            report.repeat,
            ids.join(", ")
        );
    }
    let _ = writeln!(
        h,
        "</dl>\n<details id=\"options\"><summary>options</summary><pre>{}</pre></details>",
        esc(&pretty(&report.options))
    );
    if let Some(p) = &report.probes {
        let _ = writeln!(
            h,
            "<details id=\"probes\"><summary>what the probes learned</summary><pre>{}</pre></details>",
            esc(&pretty(p))
        );
    }
    h.push_str("</section>\n");
    write_filters(&mut h, report, &count);
    write_sections(&mut h, report);
    let _ = write!(h, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    h
}

fn write_filters(h: &mut String, report: &Report, count: &dyn Fn(Verdict) -> usize) {
    h.push_str("<nav id=\"filters\">");
    for v in VERDICTS {
        let _ = write!(
            h,
            "<label><input type=\"checkbox\" class=\"f-verdict\" id=\"f-{0}\" value=\"{0}\" checked> {1} ({2})</label>",
            v.name(),
            badge(v),
            count(v)
        );
    }
    h.push_str("<select id=\"f-section\"><option value=\"\">all sections</option>");
    for (short, title, _) in sections(report) {
        let _ = write!(
            h,
            "<option value=\"{0}\">§{0} {1}</option>",
            esc(short),
            esc(title)
        );
    }
    let _ = writeln!(
        h,
        "</select> <span id=\"shown\">{}</span> shown</nav>",
        report.cases.len()
    );
}

/// The report's sections in order, each with its cases.
fn sections(report: &Report) -> Vec<(&'static str, &'static str, Vec<&CaseResult>)> {
    let mut out: Vec<(&'static str, &'static str, Vec<&CaseResult>)> = Vec::new();
    for c in &report.cases {
        let short = c.info.section.short();
        match out.last_mut() {
            Some((s, _, cases)) if *s == short => cases.push(c),
            _ => out.push((short, c.info.section.title(), vec![c])),
        }
    }
    out
}

fn write_sections(h: &mut String, report: &Report) {
    for (short, title, cases) in sections(report) {
        let _ = write!(
            h,
            "<section class=\"sec\" data-section=\"{0}\">\n<h2>§{0} {1} ",
            esc(short),
            esc(title)
        );
        for v in VERDICTS {
            let n = cases.iter().filter(|c| c.outcome.verdict == v).count();
            if n > 0 {
                let _ = write!(
                    h,
                    "<span class=\"badge v-{}\">{n} {}</span> ",
                    v.name(),
                    v.name()
                );
            }
        }
        h.push_str("</h2>\n");
        for c in cases {
            write_case(h, c);
        }
        h.push_str("</section>\n");
    }
}

fn write_case(h: &mut String, c: &CaseResult) {
    let v = c.outcome.verdict;
    // A case the target's stopping left unjudged says so on its line.
    let unjudged = v == Verdict::Skip && c.outcome.detail.starts_with(crate::case::STOPPED_PREFIX);
    let _ = write!(
        h,
        "<details class=\"case\" id=\"{id}\" data-verdict=\"{v}\" data-section=\"{sec}\">\
         <summary>{badge} <code>{id}</code> {title}{note}</summary>\n<dl>\
         <dt>requirements</dt><dd>{reqs}</dd><dt>expects</dt><dd>{expects}</dd>\
         <dt>detail</dt><dd>{detail}</dd>",
        id = esc(c.info.id),
        v = v.name(),
        sec = esc(c.info.section.short()),
        badge = badge(v),
        title = esc(c.info.title),
        note = if unjudged {
            " <em class=\"unjudged\">(not judged: the target had stopped serving)</em>"
        } else {
            ""
        },
        reqs = esc(&c.info.requirement_ids(", ")),
        expects = esc(c.info.expects),
        detail = esc(&c.outcome.detail),
    );
    if let Some(e) = &c.outcome.expected {
        let _ = write!(h, "<dt>Expected</dt><dd class=\"expected\">{}</dd>", esc(e));
    }
    if let Some(a) = &c.outcome.actual {
        let _ = write!(h, "<dt>Actual</dt><dd class=\"actual\">{}</dd>", esc(a));
    }
    let _ = writeln!(
        h,
        "<dt>time</dt><dd>{:.3} ms</dd></dl>",
        c.duration.as_secs_f64() * 1e3
    );
    match &c.transcript {
        Some(t) => {
            let _ = writeln!(
                h,
                "<details class=\"transcript\"><summary>transcript</summary><pre>{}</pre></details>",
                esc(t)
            );
        }
        None => h.push_str("<p class=\"transcript\">(no bytes exchanged)</p>\n"),
    }
    h.push_str("</details>\n");
}

/// Pretty JSON of a part of the report, for the options and probes boxes.
fn pretty<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("(cannot show: {e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(esc("a\u{1}b\n"), "a\\x01b\n");
    }
}
