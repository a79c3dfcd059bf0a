//! Files of the repository around the crate (`docs/`, `spec/`), which the
//! packaged crate does not ship. In the repository a missing file is a
//! failure; in an unpacked `.crate` the test says it skipped and why. The
//! same checks run in-tree in `cargo test --workspace` (.ci/run, step
//! "tests"), so skipping them in the package hides nothing.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository root, when the crate sits in its workspace.
pub fn root() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).ok()?;
    manifest.contains("\"fcgi-proto\"").then_some(root)
}

/// The text of `rel` (relative to the repository root), or `None` with a
/// line on standard error when the crate is outside the repository.
/// Panics, failing the test, when the repository is there but the file is not.
pub fn file(rel: &str) -> Option<String> {
    let Some(root) = root() else {
        eprintln!(
            "SKIPPED: {rel} is not part of the packaged crate; this check runs in the repository"
        );
        return None;
    };
    match std::fs::read_to_string(root.join(rel)) {
        Ok(text) => Some(text),
        Err(e) => panic!("cannot read {rel} in the repository: {e}"),
    }
}
