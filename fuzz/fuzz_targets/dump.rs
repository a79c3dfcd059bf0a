//! The annotated dump renderer on arbitrary bytes.
//! The invariants live in `fcgi_proto_checks::dump`, shared with the
//! regression tests in `fcgi-proto-checks/tests/fuzz_regressions.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fcgi_proto_checks::dump(data));
