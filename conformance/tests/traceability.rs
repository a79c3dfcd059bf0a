//! Traceability (spec/README.md, duvet-style): which requirements the code
//! checks, found by reference to their constants, never by text.
//!
//! - A **case** checks the requirements it lists (`[R_3_3_1, …]` in its
//!   `cases!` entry, `CaseInfo::requirements`).
//! - A **codec test** checks the requirements whose constants
//!   (`fcgi_proto::requirement::R_3_3_1`) appear in the body of a `#[test]`
//!   function of fcgi-proto, in `fcgi-proto/tests` or in a test module under
//!   `fcgi-proto/src` (proptest blocks included, `#[ignore]`d tests not).
//!   The source is read as Rust tokens, so comments and doc text, where an
//!   ID is only mentioned, count for nothing.
//!
//! Every live MUST requirement is checked by one or the other, or is listed
//! in NOT_TESTED with the reason. Where spec/requirements.toml says what
//! checks a requirement (`check = "cases" | "tests" | "cases and tests" |
//! "none"`), that claim must be what is found here, at every level.

#[path = "support/repo.rs"]
mod repo;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use fcgi_conformance::__private::requirements::{self, generate, Requirement};
use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// MUST requirements no case or test checks, and why, for requirements
/// whose entry in requirements.toml has no `check` (with one, the reason is
/// the entry's `reason`). Reviewed like code.
const NOT_TESTED: &[(&str, &str)] = &[];

/// Where fcgi-proto's tests are: integration tests, and test modules in the
/// sources.
const CODEC_TEST_DIRS: &[&str] = &[
    "fcgi-proto/tests",
    "fcgi-proto/src",
    "fcgi-proto-checks/tests",
    "fcgi-proto-checks/src",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if !p
                .file_name()
                .is_some_and(|n| n == "target" || n == "corpus")
            {
                rust_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// What a `#[...]` attribute says about the item after it.
enum Attr {
    Test,
    Ignore,
    Other,
}

fn attr_kind(body: &TokenStream) -> Attr {
    let idents: Vec<String> = body
        .clone()
        .into_iter()
        .take_while(|t| !matches!(t, TokenTree::Group(_)))
        .filter_map(|t| match t {
            TokenTree::Ident(i) => Some(i.to_string()),
            _ => None,
        })
        .collect();
    match idents.last().map(String::as_str) {
        // `#[test]`, `#[tokio::test]`, `#[tokio::test(flavor = …)]`.
        Some("test") => Attr::Test,
        Some("ignore") if idents.len() == 1 => Attr::Ignore,
        _ => Attr::Other,
    }
}

fn idents_in(ts: TokenStream, out: &mut BTreeSet<String>) {
    for t in ts {
        match t {
            TokenTree::Ident(i) => {
                out.insert(i.to_string());
            }
            TokenTree::Group(g) => idents_in(g.stream(), out),
            _ => {}
        }
    }
}

/// Each `#[test]` function in `ts` (at any depth: modules, macro bodies)
/// with the identifiers its body uses.
fn test_fns(ts: TokenStream, out: &mut Vec<(String, BTreeSet<String>)>) {
    let tokens: Vec<TokenTree> = ts.into_iter().collect();
    let (mut test, mut ignored) = (false, false);
    let mut i = 0;
    while let Some(t) = tokens.get(i) {
        match t {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                if let Some(TokenTree::Group(g)) = tokens.get(i + 1) {
                    if g.delimiter() == Delimiter::Bracket {
                        match attr_kind(&g.stream()) {
                            Attr::Test => test = true,
                            Attr::Ignore => ignored = true,
                            Attr::Other => {}
                        }
                        i += 2;
                        continue;
                    }
                }
            }
            TokenTree::Ident(id) if id == "fn" && test => {
                let name = match tokens.get(i + 1) {
                    Some(TokenTree::Ident(n)) => n.to_string(),
                    _ => String::from("?"),
                };
                let body = tokens.iter().skip(i + 2).find_map(|t| match t {
                    TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => Some(g.stream()),
                    _ => None,
                });
                if let Some(body) = body {
                    if !ignored {
                        let mut ids = BTreeSet::new();
                        idents_in(body, &mut ids);
                        out.push((name, ids));
                    }
                }
                (test, ignored) = (false, false);
            }
            TokenTree::Group(g) => {
                test_fns(g.stream(), out);
                (test, ignored) = (false, false);
            }
            TokenTree::Punct(p) if p.as_char() == ';' => (test, ignored) = (false, false),
            _ => {}
        }
        i += 1;
    }
}

/// For each requirement ID, the codec tests (`file::test_name`) whose
/// bodies name its constant.
fn codec_tests() -> BTreeMap<&'static str, BTreeSet<String>> {
    let constants: BTreeMap<String, &'static str> = fcgi_proto::requirement::Requirement::ALL
        .iter()
        .map(|r| (generate::constant(r.id()), r.id()))
        .collect();
    let mut files = Vec::new();
    for d in CODEC_TEST_DIRS {
        rust_files(&root().join(d), &mut files);
    }
    let mut out: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let text = std::fs::read_to_string(&f)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", f.display()));
        let ts = TokenStream::from_str(&text)
            .unwrap_or_else(|e| panic!("{} does not lex as Rust: {e}", f.display()));
        let mut tests = Vec::new();
        test_fns(ts, &mut tests);
        let rel = f.strip_prefix(root()).unwrap_or(&f).display().to_string();
        for (name, idents) in tests {
            for ident in idents {
                if let Some(id) = constants.get(&ident) {
                    out.entry(*id).or_default().insert(format!("{rel}::{name}"));
                }
            }
        }
    }
    out
}

fn load() -> Vec<Requirement> {
    requirements::load(&root().join("spec/requirements.toml"))
        .expect("spec/requirements.toml loads")
}

/// The scanner finds test functions, their constants, and nothing in
/// comments, doc text, strings, non-test functions or ignored tests.
#[test]
fn the_scanner_counts_code_not_text() {
    let src = r#"
        //! R_3_3_1 in a module doc
        /// R_3_3_2 in a doc comment
        #[test]
        fn plain() { assert_eq!(x(), Some(R_3_3_3.id())); /* R_3_3_4 */ let s = "R_3_3_5"; }
        fn helper() { R_3_3_6; }
        #[cfg(test)]
        mod tests {
            #[tokio::test(flavor = "multi_thread")]
            async fn nested() -> Result<(), E> { requirement::R_3_4_1 }
            #[test]
            #[ignore]
            fn ignored() { R_3_4_2 }
        }
        proptest! {
            #[test]
            fn prop(x in 0..3u8) { prop_assert!(f(x, R_3_4_3)); }
        }
    "#;
    let mut found = Vec::new();
    test_fns(TokenStream::from_str(src).unwrap(), &mut found);
    let names: Vec<(&str, Vec<&str>)> = found
        .iter()
        .map(|(n, ids)| {
            (
                n.as_str(),
                ids.iter()
                    .map(String::as_str)
                    .filter(|i| i.starts_with("R_"))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("plain", vec!["R_3_3_3"]),
            ("nested", vec!["R_3_4_1"]),
            ("prop", vec!["R_3_4_3"]),
        ]
    );
}

/// Every R-… ID mentioned in the text of the code (comments, messages)
/// names a live requirement: the text may explain, it must not mislead.
/// (Code that names a requirement by constant is checked by the compiler.)
#[test]
fn every_mentioned_requirement_exists() {
    if !repo::present("the workspace's sources and spec/") {
        return;
    }
    let reqs = load();
    let live: BTreeSet<&str> = reqs
        .iter()
        .filter(|r| !r.retired)
        .map(|r| r.id.as_str())
        .collect();
    let retired: BTreeSet<&str> = reqs
        .iter()
        .filter(|r| r.retired)
        .map(|r| r.id.as_str())
        .collect();
    let mut files = Vec::new();
    for d in [
        "fcgi-proto/src",
        "fcgi-proto/tests",
        "conformance/src",
        "conformance/tests",
        "fuzz/fuzz_targets",
        "benches/src",
    ] {
        rust_files(&root().join(d), &mut files);
    }
    let generated = root().join(generate::GENERATED);
    let mut bad = Vec::new();
    for f in files.iter().filter(|f| **f != generated) {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let rel = f.strip_prefix(root()).unwrap_or(f).display();
        for (n, line) in text.lines().enumerate() {
            for id in mentioned_ids(line) {
                if retired.contains(id.as_str()) {
                    bad.push(format!("{rel}:{}: {id} is retired", n + 1));
                } else if !live.contains(id.as_str()) {
                    bad.push(format!("{rel}:{}: {id} is not in the spec", n + 1));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "unknown requirement IDs:\n{}",
        bad.join("\n")
    );
}

/// `R-<section>-<n>` IDs in a line of text.
fn mentioned_ids(line: &str) -> Vec<String> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = line.get(i..).and_then(|t| t.find("R-")) {
        let start = i + off;
        let preceded = start
            .checked_sub(1)
            .and_then(|k| b.get(k))
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_');
        let mut end = start + 2;
        while b
            .get(end)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'-')
        {
            end += 1;
        }
        let id = line
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches(['.', '-']);
        let parts: Vec<&str> = id.splitn(3, '-').collect();
        if !preceded
            && parts.len() == 3
            && parts
                .get(2)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
        {
            out.push(id.to_string());
        }
        i = end.max(start + 2);
    }
    out
}

#[test]
fn every_must_is_checked_or_explained() {
    if !repo::present("the workspace's sources and spec/") {
        return;
    }
    let reqs = load();
    let mut cases = fcgi_conformance::__private::app::cases();
    cases.extend(fcgi_conformance::__private::server::cases());
    let by_cases: BTreeMap<&str, usize> = requirements::coverage(&reqs, &cases)
        .into_iter()
        .map(|(r, by)| (r.id.as_str(), by.len()))
        .collect();
    let tests = codec_tests();
    let by_tests: BTreeMap<&str, usize> = tests.iter().map(|(id, t)| (*id, t.len())).collect();
    let (report, problems) = judge(&reqs, &by_cases, &by_tests, NOT_TESTED);
    println!("{report}");
    for (id, by) in &tests {
        println!(
            "{id}: {}",
            by.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    assert!(
        problems.is_empty(),
        "traceability:\n{}",
        problems.join("\n")
    );
}

/// Holds each live requirement's `check` claim (or, without one, the MUST
/// rule and `not_tested`) against the number of cases and codec tests that
/// name it. Returns the report and the problems found.
fn judge(
    reqs: &[Requirement],
    by_cases: &BTreeMap<&str, usize>,
    by_tests: &BTreeMap<&str, usize>,
    not_tested: &[(&str, &str)],
) -> (String, Vec<String>) {
    let exempt: BTreeMap<&str, &str> = not_tested.iter().copied().collect();
    let mut report = String::new();
    let mut problems = Vec::new();
    for id in exempt.keys() {
        if !reqs.iter().any(|r| r.id == *id && !r.retired) {
            problems.push(format!(
                "NOT_TESTED names {id}, which is not a live requirement"
            ));
        }
    }
    for r in reqs.iter().filter(|r| !r.retired) {
        let cases = by_cases.get(r.id.as_str()).copied().unwrap_or(0);
        let tests = by_tests.get(r.id.as_str()).copied().unwrap_or(0);
        report.push_str(&format!(
            "{:<9} {:<6} {:<11} cases: {cases:<2} codec tests: {tests}\n",
            r.id, r.level, r.party
        ));
        let found = match (cases > 0, tests > 0) {
            (true, true) => "cases and tests",
            (true, false) => "cases",
            (false, true) => "tests",
            (false, false) => "none",
        };
        match r.check.as_deref() {
            Some(claim) => {
                if !["cases", "tests", "cases and tests", "none"].contains(&claim) {
                    problems.push(format!("{}: check = {claim:?} is not a known value", r.id));
                } else if claim != found {
                    problems.push(format!(
                        "{}: requirements.toml says check = {claim:?}, the code has {found} \
                         ({cases} cases, {tests} codec tests naming it)",
                        r.id
                    ));
                }
                let reason = r.reason.as_deref().filter(|s| !s.trim().is_empty());
                match (claim == "none", reason) {
                    (true, None) => {
                        problems.push(format!("{}: check = \"none\" without a reason", r.id))
                    }
                    (true, Some(why)) => {
                        report.push_str(&format!("          not checked: {why}\n"))
                    }
                    (false, _) => {}
                }
                if exempt.contains_key(r.id.as_str()) {
                    problems.push(format!(
                        "{}: in NOT_TESTED but requirements.toml has its check; \
                         keep the reason there and drop the entry here",
                        r.id
                    ));
                }
            }
            None => match (found, exempt.get(r.id.as_str())) {
                ("none", Some(why)) if r.level == "MUST" => {
                    report.push_str(&format!("          not checked: {why}\n"))
                }
                ("none", None) if r.level == "MUST" => problems.push(format!(
                    "{}: a MUST with no case, no codec test and no reason",
                    r.id
                )),
                (_, Some(_)) => problems.push(format!(
                    "{}: in NOT_TESTED, but it is {} ({found}): remove it from NOT_TESTED",
                    r.id,
                    if found == "none" {
                        "not a MUST"
                    } else {
                        "checked"
                    }
                )),
                _ => {}
            },
        }
    }
    (report, problems)
}

#[test]
fn judge_holds_claims_against_the_code() {
    let entry = |id: &str, level: &str, check: Option<&str>, reason: Option<&str>| Requirement {
        id: id.into(),
        section: "3.3".into(),
        level: level.into(),
        party: "both".into(),
        summary: String::new(),
        derived: false,
        retired: false,
        check: check.map(Into::into),
        reason: reason.map(Into::into),
    };
    let count = |v: &[(&'static str, usize)]| v.iter().copied().collect::<BTreeMap<_, _>>();
    let cases = count(&[("R-3.3-1", 2), ("R-3.3-3", 1), ("R-3.3-6", 1)]);
    let tests = count(&[("R-3.3-2", 1), ("R-3.3-3", 4)]);
    let problems = |reqs: &[Requirement], not_tested: &[(&str, &str)]| {
        judge(reqs, &cases, &tests, not_tested).1
    };
    // Claims that agree, at any level; a retired entry counts for nothing.
    let mut retired = entry("R-3.3-9", "MUST", None, None);
    retired.retired = true;
    let agree = [
        entry("R-3.3-1", "MUST", Some("cases"), None),
        entry("R-3.3-2", "MAY", Some("tests"), None),
        entry("R-3.3-3", "SHOULD", Some("cases and tests"), None),
        entry(
            "R-3.3-4",
            "MUST",
            Some("none"),
            Some("cannot be seen on the wire"),
        ),
        entry("R-3.3-5", "MUST", None, None),
        entry("R-3.3-7", "SHOULD", None, None),
        retired,
    ];
    assert_eq!(
        problems(&agree, &[("R-3.3-5", "why")]),
        Vec::<String>::new()
    );
    // Without its NOT_TESTED entry the unchecked MUST is reported.
    let p = problems(&agree, &[]);
    assert!(p.len() == 1 && p[0].starts_with("R-3.3-5: a MUST"), "{p:?}");
    // Each kind of disagreement is reported.
    for (bad, want) in [
        (
            entry("R-3.3-1", "MAY", Some("cases and tests"), None),
            "the code has cases",
        ),
        (
            entry("R-3.3-3", "MUST", Some("tests"), None),
            "the code has cases and tests",
        ),
        (
            entry("R-3.3-6", "MUST", Some("none"), Some("x")),
            "the code has cases",
        ),
        (
            entry("R-3.3-4", "MUST", Some("none"), None),
            "without a reason",
        ),
        (
            entry("R-3.3-4", "MUST", Some("none"), Some(" ")),
            "without a reason",
        ),
        (
            entry("R-3.3-1", "MUST", Some("case"), None),
            "not a known value",
        ),
    ] {
        let p = problems(&[bad], &[]);
        assert!(p.len() == 1 && p[0].contains(want), "{want}: {p:?}");
    }
    // NOT_TESTED entries that no longer belong there.
    for (reqs, not_tested, want) in [
        (
            vec![entry("R-3.3-1", "MUST", None, None)],
            "R-3.3-1",
            "checked (cases)",
        ),
        (
            vec![entry("R-3.3-8", "SHOULD", None, None)],
            "R-3.3-8",
            "not a MUST",
        ),
        (
            vec![entry("R-3.3-4", "MUST", Some("none"), Some("x"))],
            "R-3.3-4",
            "keep the reason there",
        ),
        (
            vec![entry("R-3.3-1", "MUST", Some("cases"), None)],
            "R-3.3-12",
            "not a live",
        ),
    ] {
        let p = problems(&reqs, &[(not_tested, "why")]);
        assert!(p.len() == 1 && p[0].contains(want), "{want}: {p:?}");
    }
}
