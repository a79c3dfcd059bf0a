//! The interop matrix (`fcgi-conformance matrix`): implementation × case,
//! from JSON reports (`fcgi-conformance-report/1`) or expectations files
//! (case id → verdict), as markdown (the tables of docs/interop.md) or as
//! one self-contained HTML page whose cells link to each case's detail in
//! the implementation's HTML report, when one sits beside its JSON report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::html::{esc, STYLE, VERDICTS};
use crate::case::{CaseInfo, Verdict};

/// The largest input file read, so a wrong path cannot exhaust memory.
const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// One column of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The implementation's name (the column heading).
    pub name: String,
    /// Its version, when given (`NAME@VERSION=FILE`).
    pub version: Option<String>,
    /// Verdict per case id.
    pub verdicts: BTreeMap<String, Verdict>,
    /// The HTML report beside the JSON report, if there is one.
    pub html: Option<PathBuf>,
}

fn verdict_of(s: &str) -> Option<Verdict> {
    VERDICTS.into_iter().find(|v| v.name() == s)
}

/// The column's default name: a report `app-php-fpm.json` gives `php-fpm`,
/// an expectations file `nginx/expected-plain.json` gives `nginx-plain`.
fn default_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map_or(String::new(), |s| s.to_string_lossy().to_string());
    if let Some(rest) = stem.strip_prefix("expected") {
        let dir = path
            .parent()
            .and_then(Path::file_name)
            .map_or(String::new(), |d| d.to_string_lossy().to_string());
        return format!("{dir}{rest}");
    }
    for prefix in ["app-", "server-"] {
        if let Some(rest) = stem.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    stem
}

/// Reads one input, `[NAME[@VERSION]=]FILE`: a JSON report or an
/// expectations file. The error is one sentence naming the file.
pub fn read_column(arg: &str) -> Result<Column, String> {
    let (label, file) = match arg.split_once('=') {
        Some((l, f)) if !l.is_empty() && !f.is_empty() => (Some(l), f),
        _ => (None, arg),
    };
    let path = PathBuf::from(file);
    let meta = std::fs::metadata(&path).map_err(|e| format!("cannot read {file}: {e}"))?;
    if meta.len() > MAX_INPUT_BYTES {
        return Err(format!(
            "{file} is {} bytes, over the {MAX_INPUT_BYTES} a report can be",
            meta.len()
        ));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {file}: {e}"))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        format!("{file} is not JSON ({e}): give a report (--json) or an expectations file")
    })?;
    let mut verdicts = BTreeMap::new();
    if doc["schema"] == super::JSON_SCHEMA {
        for c in doc["cases"].as_array().into_iter().flatten() {
            let (Some(id), Some(v)) =
                (c["id"].as_str(), c["verdict"].as_str().and_then(verdict_of))
            else {
                return Err(format!("{file}: a case without an id or a known verdict"));
            };
            verdicts.insert(id.to_string(), v);
        }
    } else if let Some(map) = doc.as_object().filter(|m| !m.contains_key("schema")) {
        for (id, v) in map {
            let Some(v) = v.as_str().and_then(verdict_of) else {
                return Err(format!(
                    "{file}: {id} has no known verdict (pass fail warn info skip)"
                ));
            };
            verdicts.insert(id.clone(), v);
        }
    } else {
        return Err(format!(
            "{file} is neither a {} report nor an expectations file",
            super::JSON_SCHEMA
        ));
    }
    let (name, version) = match label.map(|l| l.split_once('@').unwrap_or((l, ""))) {
        Some((n, v)) => (n.to_string(), (!v.is_empty()).then(|| v.to_string())),
        None => (default_name(&path), None),
    };
    let html = Some(path.with_extension("html")).filter(|h| h.is_file());
    Ok(Column {
        name,
        version,
        verdicts,
        html,
    })
}

/// The rows: every case of `table` that some column has, in the
/// reports' order (section, then id), then ids no table knows, sorted.
fn rows(table: &[CaseInfo], columns: &[Column]) -> Vec<String> {
    let has = |id: &str| columns.iter().any(|c| c.verdicts.contains_key(id));
    let mut known: Vec<&CaseInfo> = table.iter().collect();
    known.sort_by(|a, b| a.section.cmp(&b.section).then(a.id.cmp(b.id)));
    let mut ids: Vec<String> = known
        .into_iter()
        .filter(|c| has(c.id))
        .map(|c| c.id.to_string())
        .collect();
    let mut rest: Vec<String> = columns
        .iter()
        .flat_map(|c| c.verdicts.keys())
        .filter(|id| !table.iter().any(|c| c.id == id.as_str()))
        .cloned()
        .collect();
    rest.sort();
    rest.dedup();
    ids.extend(rest);
    ids
}

fn totals(c: &Column) -> String {
    let n = |v: Verdict| c.verdicts.values().filter(|x| **x == v).count();
    let [pass, fail, warn, info, skip] = [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::Warn,
        Verdict::Info,
        Verdict::Skip,
    ]
    .map(n);
    format!("{pass}/{fail}/{warn}/{info}/{skip}")
}

/// The matrix as a markdown table; `table` orders the rows (a suite's cases).
pub fn to_markdown(table: &[CaseInfo], columns: &[Column]) -> String {
    let mut m = String::new();
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let _ = writeln!(m, "| case | {} |", names.join(" | "));
    let _ = writeln!(m, "|---|{}", "---|".repeat(columns.len()));
    if columns.iter().any(|c| c.version.is_some()) {
        let v: Vec<&str> = columns
            .iter()
            .map(|c| c.version.as_deref().unwrap_or("-"))
            .collect();
        let _ = writeln!(m, "| version | {} |", v.join(" | "));
    }
    for id in rows(table, columns) {
        let cells: Vec<&str> = columns
            .iter()
            .map(|c| match c.verdicts.get(&id) {
                Some(Verdict::Fail) => "**FAIL**",
                Some(Verdict::Warn) => "**warn**",
                Some(v) => v.name(),
                None => "-",
            })
            .collect();
        let _ = writeln!(m, "| `{id}` | {} |", cells.join(" | "));
    }
    let t: Vec<String> = columns.iter().map(totals).collect();
    let _ = writeln!(m, "| pass/fail/warn/info/skip | {} |", t.join(" | "));
    m
}

/// The matrix as one self-contained HTML page; each cell links to the
/// case in the column's HTML report where there is one.
pub fn to_html(table: &[CaseInfo], columns: &[Column]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>fcgi-conformance interop matrix</title>\n<style>{STYLE}\
         td.cell a{{color:#fff}}td.none{{color:#999;text-align:center}}</style>\n</head>\n<body>\n\
         <h1>fcgi-conformance interop matrix</h1>\n<table id=\"matrix\">\n<tr><th>case</th>"
    );
    for c in columns {
        let _ = write!(h, "<th>{}", esc(&c.name));
        if let Some(v) = &c.version {
            let _ = write!(h, "<br><small>{}</small>", esc(v));
        }
        h.push_str("</th>");
    }
    h.push_str("</tr>\n");
    let titles: BTreeMap<&str, &str> = table.iter().map(|c| (c.id, c.title)).collect();
    for id in rows(table, columns) {
        let title = titles.get(id.as_str()).copied().unwrap_or("");
        let _ = write!(
            h,
            "<tr><th title=\"{}\"><code>{}</code></th>",
            esc(title),
            esc(&id)
        );
        for c in columns {
            match c.verdicts.get(&id) {
                Some(v) => {
                    let name = v.name();
                    match &c.html {
                        Some(p) => {
                            let _ = write!(
                                h,
                                "<td class=\"cell v-{name}\" data-verdict=\"{name}\"><a href=\"{}#{}\">{name}</a></td>",
                                esc(&p.display().to_string()),
                                esc(&id)
                            );
                        }
                        None => {
                            let _ = write!(
                                h,
                                "<td class=\"cell v-{name}\" data-verdict=\"{name}\">{name}</td>"
                            );
                        }
                    }
                }
                None => h.push_str("<td class=\"none\">-</td>"),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("<tr><th>pass/fail/warn/info/skip</th>");
    for c in columns {
        let _ = write!(h, "<td>{}</td>", totals(c));
    }
    h.push_str("</tr>\n</table>\n</body>\n</html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_file() {
        assert_eq!(default_name(Path::new("out/app-php-fpm.json")), "php-fpm");
        assert_eq!(
            default_name(Path::new("peers/nginx/expected-plain.json")),
            "nginx-plain"
        );
        assert_eq!(default_name(Path::new("peers/go/expected.json")), "go");
    }
}
