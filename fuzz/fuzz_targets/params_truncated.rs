//! Name-value pairs (§3.4) from arbitrary bytes and from every truncation of a valid encoding.
//! The invariants live in `fcgi_proto::fuzz_bridge::params_truncated`, shared with the
//! regression tests in `fcgi-proto/tests/fuzz_regressions.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fcgi_proto::fuzz_bridge::params_truncated(data));
