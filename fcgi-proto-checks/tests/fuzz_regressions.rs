//! Replays fuzz inputs through the same checks the fuzz targets run
//! (`fcgi_proto_checks`), so a plain `cargo test` keeps every crash
//! ever found fixed.
//!
//! Inputs live in `tests/fuzz-regressions/<target>/`: `crash-*` files are
//! inputs that once crashed a target (kept forever, see docs/fuzzing.md),
//! `seed-*` files are the spec's appendix B flows as the seed generator
//! writes them, `hostile-*` files are handwritten hostile lengths (§3.4).
//! Further hostile inputs are written out below.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use fcgi_proto_checks::{run_target, TARGETS};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions")
}

/// Runs `target` on `data`, turning a panic into a message naming the input.
fn replay(target: &str, name: &str, data: &[u8]) -> Option<String> {
    match catch_unwind(AssertUnwindSafe(|| run_target(target, data))) {
        Ok(true) => None,
        Ok(false) => Some(format!("{name}: no fuzz target {target}")),
        Err(p) => {
            let why = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Some(format!("{target}/{name}: {why}"))
        }
    }
}

#[test]
fn every_saved_input_passes_its_target() {
    let mut failures = Vec::new();
    let mut count = 0;
    let mut entries: Vec<_> = fs::read_dir(dir())
        .expect("tests/fuzz-regressions exists")
        .flatten()
        .filter(|e| e.path().is_dir())
        .collect();
    entries.sort_by_key(|e| e.path());
    for target_dir in entries {
        let target = target_dir.file_name().to_string_lossy().into_owned();
        assert!(
            TARGETS.contains(&target.as_str()),
            "tests/fuzz-regressions/{target} names no fuzz target"
        );
        let mut files: Vec<_> = fs::read_dir(target_dir.path())
            .unwrap()
            .flatten()
            .map(|f| f.path())
            .collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let data = fs::read(&f).unwrap();
            count += 1;
            failures.extend(replay(&target, &name, &data));
        }
    }
    assert!(
        count > 0,
        "no saved inputs: the harness would prove nothing"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_target_has_saved_inputs() {
    for t in TARGETS {
        let n = fs::read_dir(dir().join(t)).map_or(0, |d| d.count());
        assert!(n > 0, "no saved inputs for {t}");
    }
}

/// Handwritten hostile inputs, each aimed at one way a decoder goes wrong.
#[test]
fn hostile_inputs() {
    let cases: &[(&str, &str, &[u8])] = &[
        // A name length of 2^31-1 with 2 bytes behind it: an error, no allocation.
        (
            "params_truncated",
            "huge-name",
            &[0xff, 0xff, 0xff, 0xff, 0x01, b'a'],
        ),
        // Every length form cut after each byte.
        (
            "params_truncated",
            "cut-long-form",
            &[
                0x80, 0x00, 0x00, 0x02, 0x80, 0x00, 0x00, 0x01, b'A', b'B', b'c',
            ],
        ),
        // A header declaring 65535 content bytes and 255 padding, then nothing.
        (
            "record_stream",
            "max-lengths",
            &[1, 6, 0, 1, 0xff, 0xff, 0xff, 0, 0],
        ),
        // Version 0 behind a valid empty record, pushed a byte at a time.
        (
            "record_stream",
            "bad-version-bytewise",
            &[1, 6, 0, 1, 0, 0, 0, 0, 0, 6, 0, 1, 1, 1],
        ),
        // The dump of a PARAMS record whose pair overruns it.
        (
            "dump",
            "params-overrun",
            &[1, 4, 0, 1, 0, 2, 0, 0, 0x7f, 0x7f],
        ),
        // A head that never ends, and one with a NUL in a value.
        ("cgi_response", "no-blank-line", b"Status: 200\r\nX: y\r\n"),
        ("cgi_response", "nul-value", b"Content-Type: a\x00b\r\n\r\n"),
        // Typed targets on short and empty inputs.
        ("app_state_machine", "empty", b""),
        ("server_state_machine", "ones", &[0xff; 64]),
        ("round_trip", "zeros", &[0; 40]),
    ];
    let failures: Vec<_> = cases
        .iter()
        .filter_map(|(t, name, data)| replay(t, name, data))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
