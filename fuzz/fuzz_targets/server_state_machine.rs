//! Arbitrary records from the application and arbitrary writes through the web server's state machine (§3.3, §5).
//! The invariants live in `fcgi_proto_checks::server_state_machine`, shared with the
//! regression tests in `fcgi-proto-checks/tests/fuzz_regressions.rs`.
#![no_main]

use fcgi_proto_checks::ServerInput;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: ServerInput| fcgi_proto_checks::server_state_machine(&input));
