//! How a test says which requirements it checks: `checks(&[R_3_4_1])` in
//! its body. conformance/tests/traceability.rs counts the requirement
//! constants a test's body names (an assertion on an error's requirement
//! names one too); text in comments counts for nothing.
#![allow(dead_code)]

use fcgi_proto::requirement::Requirement;

/// Declares that the calling test checks `requirements`; does nothing when
/// run (the test's assertions do the checking).
pub fn checks(requirements: &[Requirement]) {
    let _ = requirements;
}
