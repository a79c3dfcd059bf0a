//! Traceability (spec/README.md, duvet-style): every requirement ID the
//! code names exists in spec/requirements.toml, and every MUST requirement
//! is checked by a conformance case or a codec test, or is listed below as
//! not testable here, with the reason.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fcgi_conformance::requirements::{self, Requirement};

/// MUST requirements no case or test checks, and why. Reviewed like code.
const NOT_TESTED: &[(&str, &str)] = &[
    (
        "R-2.2-2",
        "binds the web server: `--spawn` gives the child pipes on descriptors 1 and 2 \
         (their tails explain a child that dies) rather than closed ones, because closing \
         them needs unsafe pre-exec code",
    ),
    (
        "R-3.2-2",
        "checking FCGI_WEB_SERVER_ADDRS needs the application restarted with a list that \
         excludes the runner's address; `--spawn` sets it to 127.0.0.1 only",
    ),
    (
        "R-6.4-3",
        "binds the web server's Filter role, which none of nginx, lighttpd and apache2 sends",
    ),
    (
        "R-6.4-4",
        "when a Filter reads its input cannot be seen from the wire: the runner sends every \
         stream before reading any answer",
    ),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Requirement IDs named anywhere in the Rust sources and tests under `dir`.
fn ids_in(dir: &Path, out: &mut BTreeMap<String, BTreeSet<String>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            // requirement/ holds the generated constants: every ID, naming
            // none of them as a check.
            if p.file_name()
                .is_some_and(|n| n == "target" || n == "corpus" || n == "requirement")
            {
                continue;
            }
            ids_in(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let b = text.as_bytes();
            let mut i = 0;
            while let Some(off) = text.get(i..).and_then(|t| t.find("R-")) {
                let start = i + off;
                let mut end = start + 2;
                while end < b.len()
                    && (b[end].is_ascii_alphanumeric() || b[end] == b'.' || b[end] == b'-')
                {
                    end += 1;
                }
                let id = text[start..end].trim_end_matches(['.', '-']).to_string();
                // Shape: R-<section>-<n>, section digits/dots or a letter.
                let parts: Vec<&str> = id.splitn(3, '-').collect();
                if parts.len() == 3
                    && parts[2].chars().all(|c| c.is_ascii_digit())
                    && !parts[2].is_empty()
                {
                    let rel = p.strip_prefix(root()).unwrap_or(&p).display().to_string();
                    out.entry(id).or_default().insert(rel);
                }
                i = end.max(start + 2);
            }
        }
    }
}

fn load() -> Vec<Requirement> {
    requirements::load(&root().join("spec/requirements.toml"))
        .expect("spec/requirements.toml loads")
}

#[test]
fn every_named_requirement_exists() {
    let reqs = load();
    let known: BTreeSet<&str> = reqs.iter().map(|r| r.id.as_str()).collect();
    let mut named = BTreeMap::new();
    for d in [
        "fcgi-proto/src",
        "fcgi-proto/tests",
        "conformance/src",
        "conformance/tests",
        "fuzz/fuzz_targets",
        "benches/src",
    ] {
        ids_in(&root().join(d), &mut named);
    }
    let mut cases = fcgi_conformance::app::cases();
    cases.extend(fcgi_conformance::server::cases());
    let unknown_in_cases = requirements::unknown_ids(&reqs, &cases);
    assert!(
        unknown_in_cases.is_empty(),
        "cases name unknown IDs: {unknown_in_cases:?}"
    );
    let unknown: Vec<String> = named
        .iter()
        .filter(|(id, _)| !known.contains(id.as_str()))
        .map(|(id, files)| format!("{id} in {files:?}"))
        .collect();
    assert!(
        unknown.is_empty(),
        "unknown requirement IDs named in code:\n{}",
        unknown.join("\n")
    );
    for (id, _) in NOT_TESTED {
        assert!(known.contains(id), "NOT_TESTED names unknown {id}");
    }
}

#[test]
fn every_must_is_checked_or_explained() {
    let reqs = load();
    let mut cases = fcgi_conformance::app::cases();
    cases.extend(fcgi_conformance::server::cases());
    let cov = requirements::coverage(&reqs, &cases);
    let mut in_tests = BTreeMap::new();
    for d in ["fcgi-proto/src", "fcgi-proto/tests"] {
        ids_in(&root().join(d), &mut in_tests);
    }
    let exempt: BTreeMap<&str, &str> = NOT_TESTED.iter().copied().collect();
    let mut report = String::new();
    let mut missing = Vec::new();
    for (r, by) in &cov {
        let tests = in_tests.get(&r.id).map(|s| s.len()).unwrap_or(0);
        let line = format!(
            "{:<9} {:<6} {:<11} cases: {:<2} codec files: {}",
            r.id,
            r.level,
            r.party,
            by.len(),
            tests
        );
        report.push_str(&line);
        report.push('\n');
        if r.level == "MUST" && by.is_empty() && tests == 0 {
            match exempt.get(r.id.as_str()) {
                Some(why) => report.push_str(&format!("          not tested: {why}\n")),
                None => missing.push(r.id.clone()),
            }
        }
        if exempt.contains_key(r.id.as_str()) && (!by.is_empty() || tests > 0) {
            missing.push(format!(
                "{} is listed as not tested but is covered: remove it from NOT_TESTED",
                r.id
            ));
        }
    }
    println!("{report}");
    assert!(
        missing.is_empty(),
        "MUST requirements with no case, no codec test and no reason: {missing:?}"
    );
}
