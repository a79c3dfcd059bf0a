//! §4 Management record types: the server suite's cases.

use crate::case::Outcome;
use crate::server::http::HttpRequest;

use super::helpers::*;

super::cases! {
    section "4";
    "management-id-zero" [R_A_3, R_3_3_5] Alone
        "Management records the server sends carry request ID 0"
        "A POST whose body spans several STDIN records: every management record (GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE) the server sent on the connection that carried it, at any time of that connection's life so far, carries the null request ID 0 (R-A-3). Info when the server sent none there: most servers never send one."
        => management_id_zero;
}

/// Longer than one STDIN record of most servers, so that a server that
/// sends management records between a request's records has the chance.
const BODY: usize = 100_000;

async fn management_id_zero(ctx: &mut Ctx) -> Outcome {
    let (seen, resp) = ctx
        .exchange(
            HttpRequest::post(path("management-id-zero"), vec![b'm'; BODY]),
            |app, s| app.respond(s, &ok_response(b"management-id-zero\n")),
        )
        .await;
    let s = match usable(&seen, "POST /management-id-zero", &resp) {
        Ok(s) => s,
        Err(o) => return o,
    };
    if let Some(o) = expect_body(&resp, 200, b"management-id-zero\n") {
        return o;
    }
    let records = ctx.app.management_on(s.conn);
    let listed = |rs: &[(fcgi_proto::record::RecordType, u16)]| {
        rs.iter()
            .map(|(t, id)| format!("{} id {id}", t.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if records.iter().any(|(_, id)| *id != 0) {
        return Outcome::fail(
            "management records with request ID 0 (R-A-3)",
            format!("on connection {}: {}", s.conn, listed(records)),
        );
    }
    if records.is_empty() {
        return Outcome::info(
            "no management record on the connection that carried this case's request",
        );
    }
    Outcome::pass(format!(
        "{} management record(s), all with ID 0: {}",
        records.len(),
        listed(records)
    ))
}
