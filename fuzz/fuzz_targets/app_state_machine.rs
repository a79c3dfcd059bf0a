//! Arbitrary records from the web server through the application's state machine (§3.3, §5).
//! The invariants live in `fcgi_proto_checks::app_state_machine`, shared with the
//! regression tests in `fcgi-proto-checks/tests/fuzz_regressions.rs`.
#![no_main]

use fcgi_proto_checks::AppInput;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: AppInput| fcgi_proto_checks::app_state_machine(&input));
