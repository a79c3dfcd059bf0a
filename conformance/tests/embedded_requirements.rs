//! The binary carries `spec/requirements.toml` (a copy inside the crate,
//! because a packaged crate cannot reach `../spec`): the copy must be the
//! spec's file byte for byte, and `list --requirements` must work from a
//! directory with no spec in it, as after `cargo install`.

#[path = "support/repo.rs"]
mod repo;

use std::process::Command;

use fcgi_conformance::__private::requirements;

/// In the repository the copy equals the spec's file. Outside it (the
/// unpacked `.crate`) there is nothing to compare with: the test says it
/// skipped; the same check runs in-tree in `cargo test --workspace`
/// (.ci/run, step "tests").
#[test]
fn the_embedded_copy_is_the_spec_file() {
    let Some(root) = repo::root() else {
        repo::present("spec/requirements.toml");
        return;
    };
    let spec = root.join("spec/requirements.toml");
    let want = std::fs::read_to_string(&spec)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", spec.display()));
    assert!(
        want == requirements::EMBEDDED,
        "{} differs from spec/requirements.toml; copy it over:\n    cp spec/requirements.toml {}",
        requirements::EMBEDDED_PATH,
        requirements::EMBEDDED_PATH
    );
}

#[test]
fn the_embedded_copy_parses() {
    let reqs = requirements::embedded().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        reqs.iter().any(|r| r.id == "R-3.3-1"),
        "no R-3.3-1 in the built-in requirements"
    );
}

/// `list --requirements` run where no spec/ exists lists every live
/// requirement of the built-in copy.
#[test]
fn list_requirements_needs_no_spec_on_disk() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = Command::new(env!("CARGO_BIN_EXE_fcgi-conformance"))
        .args(["list", "--requirements", "--format", "json"])
        .current_dir(dir.path())
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("list --requirements --format json is JSON");
    let live = requirements::embedded()
        .expect("built-in requirements")
        .iter()
        .filter(|r| !r.retired)
        .count();
    assert_eq!(rows.len(), live, "one row per live requirement");
}
