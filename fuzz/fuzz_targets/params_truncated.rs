//! Name-value pairs (§3.4) from arbitrary bytes and from every truncation of a valid encoding.
//! The invariants live in `fcgi_proto_checks::params_truncated`, shared with the
//! regression tests in `fcgi-proto-checks/tests/fuzz_regressions.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fcgi_proto_checks::params_truncated(data));
