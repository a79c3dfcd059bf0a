//! The CGI/1.1 response head parser (§6.2, RFC 3875 §6) on arbitrary bytes.
//! The invariants live in `fcgi_proto_checks::cgi_response`, shared with the
//! regression tests in `fcgi-proto-checks/tests/fuzz_regressions.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fcgi_proto_checks::cgi_response(data));
