//! The incremental record decoder (§3.3) against one-shot decoding, chunk sizes from the input.
//! The invariants live in `fcgi_proto_checks::record_stream`, shared with the
//! regression tests in `fcgi-proto-checks/tests/fuzz_regressions.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fcgi_proto_checks::record_stream(data));
