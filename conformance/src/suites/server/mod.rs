//! The web-server suite's cases (`fcgi-conformance server`): the runner
//! plays the application behind a web server and judges both the records
//! the server sends and the HTTP response its client gets. One file per
//! spec section.

mod appendix_a_record_types;
mod helpers;
mod s3_3_records;
mod s3_4_name_value_pairs;
mod s3_5_closing_transport_connections;
mod s4_1_get_values;
mod s4_management_record_types;
mod s5_1_begin_request;
mod s5_2_params;
mod s5_3_byte_streams;
mod s5_4_abort_request;
mod s5_5_end_request;
mod s6_1_role_protocols;
mod s6_2_responder;
mod s6_3_authorizer;

pub(crate) use helpers::still_serves;
pub use helpers::Ctx;

/// A case of the web-server suite.
pub type Case = super::Case<for<'a> fn(&'a mut Ctx) -> super::CaseFuture<'a>>;

/// Declares a section file's cases (see `declare_cases` in `suites`).
macro_rules! cases {
    ($($t:tt)*) => { crate::suites::declare_cases!("server"; $($t)*); };
}
use cases;

/// Every case of the web-server suite, in spec order, the order they run.
pub fn all() -> Vec<Case> {
    [
        s3_3_records::cases(),
        s3_4_name_value_pairs::cases(),
        s3_5_closing_transport_connections::cases(),
        s4_management_record_types::cases(),
        s4_1_get_values::cases(),
        s5_1_begin_request::cases(),
        s5_2_params::cases(),
        s5_3_byte_streams::cases(),
        s5_4_abort_request::cases(),
        s5_5_end_request::cases(),
        s6_1_role_protocols::cases(),
        s6_2_responder::cases(),
        s6_3_authorizer::cases(),
        appendix_a_record_types::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
