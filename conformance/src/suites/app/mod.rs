//! The application suite's cases (`fcgi-conformance app`): the runner plays
//! the web server. One file per spec section; each case names its
//! requirement IDs, says what it expects, and returns a verdict that could
//! have gone the other way.

mod appendix_a_record_types;
mod appendix_b_message_flows;
mod helpers;
mod s2_2_file_descriptors;
mod s3_2_accepting_transport_connections;
mod s3_3_records;
mod s3_4_name_value_pairs;
mod s3_5_closing_transport_connections;
mod s4_1_get_values;
mod s4_2_unknown_type;
mod s4_management_record_types;
mod s5_1_begin_request;
mod s5_2_params;
mod s5_3_byte_streams;
mod s5_4_abort_request;
mod s5_5_end_request;
mod s6_1_role_protocols;
mod s6_2_responder;
mod s6_3_authorizer;
mod s6_4_filter;
mod s7_errors;
mod s8_types_and_constants;

use crate::app::ctx::Ctx;
pub(crate) use helpers::held_open;
pub(crate) use helpers::settle;
pub(crate) use helpers::short as quiet;

/// A case of the application suite.
pub type Case = super::Case<fn(Ctx) -> super::CaseFuture<'static>>;

/// Declares a section file's cases (see `declare_cases` in `suites`).
macro_rules! cases {
    ($($t:tt)*) => { crate::suites::declare_cases!("app"; $($t)*); };
}
use cases;

/// Every case of the application suite, in spec order.
pub fn all() -> Vec<Case> {
    [
        s2_2_file_descriptors::cases(),
        s3_2_accepting_transport_connections::cases(),
        s3_3_records::cases(),
        s3_4_name_value_pairs::cases(),
        s3_5_closing_transport_connections::cases(),
        s4_management_record_types::cases(),
        s4_1_get_values::cases(),
        s4_2_unknown_type::cases(),
        s5_1_begin_request::cases(),
        s5_2_params::cases(),
        s5_3_byte_streams::cases(),
        s5_4_abort_request::cases(),
        s5_5_end_request::cases(),
        s6_1_role_protocols::cases(),
        s6_2_responder::cases(),
        s6_3_authorizer::cases(),
        s6_4_filter::cases(),
        s7_errors::cases(),
        s8_types_and_constants::cases(),
        appendix_a_record_types::cases(),
        appendix_b_message_flows::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
