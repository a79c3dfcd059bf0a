//! `--expect FILE`: the verdicts a user pins per case id (a JSON object of
//! case id to verdict name), read and checked against the suite's case
//! table before any case runs, and compared with the report after.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::case::{CaseInfo, Verdict};
use crate::report::Report;
use crate::suggest::nearest;

/// Every verdict, by name.
const VERDICTS: [Verdict; 5] = [
    Verdict::Pass,
    Verdict::Fail,
    Verdict::Warn,
    Verdict::Info,
    Verdict::Skip,
];

/// Most unknown names one error line lists.
const LISTED: usize = 3;

/// A checked expectations file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectations {
    /// Where it was read from.
    pub path: PathBuf,
    /// Verdict expected per case id; every id is one of the suite's.
    pub want: BTreeMap<String, Verdict>,
}

fn verdict_named(name: &str) -> Option<Verdict> {
    VERDICTS.into_iter().find(|v| v.name() == name)
}

fn listed(items: &[String]) -> String {
    let mut s = items
        .iter()
        .take(LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > LISTED {
        s.push_str(&format!(" and {} more", items.len() - LISTED));
    }
    s
}

/// Reads `path` and checks it against `cases` (the suite's case table):
/// a malformed file, an unknown case id or an unknown verdict name is an
/// error naming it, with the nearest valid one where there is one.
pub fn load(path: &Path, suite: &str, cases: &[CaseInfo]) -> Result<Expectations, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "--expect {}: cannot read it: {e} (give a JSON file of case id -> verdict)",
            path.display()
        )
    })?;
    parse(&text, path, suite, cases)
}

/// [`load`] on text already read.
pub fn parse(
    text: &str,
    path: &Path,
    suite: &str,
    cases: &[CaseInfo],
) -> Result<Expectations, String> {
    // serde_json's message carries the line and column of the problem.
    let raw: BTreeMap<String, String> = serde_json::from_str(text).map_err(|e| {
        format!(
            "--expect {}: not a JSON object of case id -> verdict name: {e}",
            path.display()
        )
    })?;
    let ids: Vec<&str> = cases.iter().map(|c| c.id).collect();
    let names: Vec<&str> = VERDICTS.iter().map(|v| v.name()).collect();
    let mut unknown_ids = Vec::new();
    let mut unknown_verdicts = Vec::new();
    let mut want = BTreeMap::new();
    for (id, v) in &raw {
        if !ids.contains(&id.as_str()) {
            unknown_ids.push(match nearest(id, &ids) {
                Some(n) => format!("'{id}' (did you mean '{n}'?)"),
                None => format!("'{id}'"),
            });
            continue;
        }
        match verdict_named(v) {
            Some(verdict) => {
                want.insert(id.clone(), verdict);
            }
            None => unknown_verdicts.push(match nearest(v, &names) {
                Some(n) => format!("'{v}' for {id} (did you mean '{n}'?)"),
                None => format!("'{v}' for {id}"),
            }),
        }
    }
    if !unknown_ids.is_empty() {
        return Err(format!(
            "--expect {}: unknown {suite} case id {} (`fcgi-conformance list {suite}` shows the ids)",
            path.display(),
            listed(&unknown_ids)
        ));
    }
    if !unknown_verdicts.is_empty() {
        return Err(format!(
            "--expect {}: unknown verdict {} (verdicts: {})",
            path.display(),
            listed(&unknown_verdicts),
            names.join(", ")
        ));
    }
    Ok(Expectations {
        path: path.to_path_buf(),
        want,
    })
}

impl Expectations {
    /// The differences between the report's verdicts and these: a case
    /// run with another verdict than expected, or run and not listed.
    pub fn differences(&self, report: &Report) -> Vec<String> {
        let mut diffs = Vec::new();
        for (id, v) in &report.verdicts() {
            match self.want.get(id) {
                Some(w) if w == v => {}
                Some(w) => diffs.push(format!("{id}: expected {}, got {}", w.name(), v.name())),
                None => diffs.push(format!("{id}: not in expectations, got {}", v.name())),
            }
        }
        diffs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<CaseInfo> {
        ["app/4.1/get-values", "app/4.2/unknown-type"]
            .into_iter()
            .map(|id| CaseInfo {
                id,
                title: "",
                section: fcgi_proto::requirement::Section::S4_1,
                requirements: &[],
                expects: "",
            })
            .collect()
    }

    fn check(text: &str) -> Result<Expectations, String> {
        parse(text, Path::new("e.json"), "app", &table())
    }

    #[test]
    fn a_good_file_is_read() {
        let e = check(r#"{"app/4.1/get-values": "pass", "app/4.2/unknown-type": "warn"}"#);
        let e = e.unwrap_or_else(|m| panic!("{m}"));
        assert_eq!(e.want.get("app/4.2/unknown-type"), Some(&Verdict::Warn));
    }

    #[test]
    fn an_unknown_id_is_named_with_the_nearest() {
        let e = check(r#"{"app/4.1/get-value": "pass"}"#)
            .err()
            .unwrap_or_default();
        assert!(e.contains("unknown app case id 'app/4.1/get-value'"), "{e}");
        assert!(e.contains("did you mean 'app/4.1/get-values'?"), "{e}");
        let e = check(r#"{"zzz": "pass"}"#).err().unwrap_or_default();
        assert!(e.contains("'zzz'") && !e.contains("did you mean"), "{e}");
    }

    #[test]
    fn an_unknown_verdict_is_named_with_the_nearest() {
        let e = check(r#"{"app/4.1/get-values": "passs"}"#)
            .err()
            .unwrap_or_default();
        assert!(
            e.contains("unknown verdict 'passs' for app/4.1/get-values (did you mean 'pass'?)"),
            "{e}"
        );
        // Verdict names are lower case, as the reports write them.
        assert!(check(r#"{"app/4.1/get-values": "PASS"}"#).is_err());
    }

    #[test]
    fn a_malformed_file_says_where() {
        let e = check("{\n  \"app/4.1/get-values\": \"pass\",\n  \"x\" 1\n}")
            .err()
            .unwrap_or_default();
        assert!(e.contains("line 3 column 7"), "{e}");
        let e = check("[\"pass\"]").err().unwrap_or_default();
        assert!(e.contains("expected a map at line 1"), "{e}");
    }

    #[test]
    fn many_unknown_ids_fit_one_line() {
        let e = check(r#"{"a": "pass", "b": "pass", "c": "pass", "d": "pass", "e": "pass"}"#)
            .err()
            .unwrap_or_default();
        assert!(e.contains("and 2 more"), "{e}");
        assert_eq!(e.lines().count(), 1);
    }
}
