//! The codec's typed requirement IDs (`fcgi-proto/src/requirement/ids.rs`)
//! are what spec/requirements.toml and the spec's headings say: this test
//! regenerates the file's text and compares. With `FCGI_WRITE_IDS=1` it
//! writes the file instead (then rebuild, and run it again without).

#[path = "support/repo.rs"]
mod repo;

use std::path::{Path, PathBuf};

use fcgi_conformance::__private::requirements::{self, generate};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn generated_ids_are_up_to_date() {
    if !repo::present("spec/ and fcgi-proto/src/") {
        return;
    }
    let root = root();
    let reqs =
        requirements::load(&root.join("spec/requirements.toml")).unwrap_or_else(|e| panic!("{e}"));
    let md_path = generate::spec_markdown(&root.join("spec")).unwrap_or_else(|e| panic!("{e}"));
    let md = std::fs::read_to_string(&md_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", md_path.display()));
    let want = generate::rust_source(&reqs, &md).unwrap_or_else(|e| panic!("{e}"));
    let path = root.join(generate::GENERATED);
    if std::env::var_os("FCGI_WRITE_IDS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &want)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let first = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
        panic!(
            "{} is stale: it differs from what spec/requirements.toml and {} give from line {}\n  \
             committed: {:?}\n  generated: {:?}\nregenerate it with:\n    {}",
            generate::GENERATED,
            md_path.display(),
            first + 1,
            have.lines().nth(first).unwrap_or("(end of file)"),
            want.lines().nth(first).unwrap_or("(end of file)"),
            generate::COMMAND
        );
    }
}

/// The compiled constants are the ones of the file just checked: the same
/// live IDs, in the same order, with the same section, level and party.
/// It reads the binary's built-in copy, which `embedded_requirements`
/// holds equal to spec/requirements.toml, so it runs in the package too.
#[test]
fn compiled_ids_match_the_toml() {
    let reqs = requirements::embedded().unwrap_or_else(|e| panic!("{e}"));
    let live: Vec<String> = reqs
        .iter()
        .filter(|r| !r.retired)
        .map(|r| format!("{} {} {} {}", r.id, r.section, r.level, r.party))
        .collect();
    let compiled: Vec<String> = fcgi_proto::requirement::Requirement::ALL
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}",
                r.id(),
                r.section().short(),
                r.level(),
                r.party()
            )
        })
        .collect();
    assert_eq!(
        compiled, live,
        "the compiled constants are not the toml's: after FCGI_WRITE_IDS=1 rewrote \
         ids.rs, run the test again so that fcgi-proto is rebuilt"
    );
    let retired: Vec<&str> = reqs
        .iter()
        .filter(|r| r.retired)
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(fcgi_proto::requirement::RETIRED, retired.as_slice());
}
