//! Arbitrary typed records and bodies: encode, then decode, gives them back (§3.3, §4.2, §5.1, §5.5).
//! The invariants live in `fcgi_proto_checks::round_trip`, shared with the
//! regression tests in `fcgi-proto-checks/tests/fuzz_regressions.rs`.
#![no_main]

use fcgi_proto_checks::RoundTripInput;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: RoundTripInput| fcgi_proto_checks::round_trip(&input));
