//! §3.5 Closing transport connections: the app suite's cases.

use crate::app::conn::ConnError;
use crate::app::ctx::{well_formed, Ctx};
use crate::case::Outcome;

super::cases! {
    section "3.5";
    "close-without-keep-conn" [R_3_5_1, R_5_1_2] Plain
        "without FCGI_KEEP_CONN the application closes after END_REQUEST"
        "A request without FCGI_KEEP_CONN; after END_REQUEST the application closes the connection."
        => close_without_keep_conn;
}

async fn close_without_keep_conn(ctx: Ctx) -> Outcome {
    let req = ctx.req(1, b"").keep(false);
    let (mut conn, resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if let Err(o) = well_formed(&conn, &resp) {
        return o;
    }
    match conn.closed_within(ctx.timeout).await {
        Ok(None) => Outcome::pass("closed after END_REQUEST"),
        Ok(Some(r)) => Outcome::fail(
            "the connection closed after END_REQUEST",
            format!(
                "another record: {} for id {}",
                r.record_type.name(),
                r.request_id
            ),
        ),
        Err(ConnError::Timeout) => Outcome::fail(
            "the connection closed after END_REQUEST",
            format!("still open {:.1}s later", ctx.timeout.as_secs_f64()),
        ),
        Err(e) => Outcome::fail("the connection closed after END_REQUEST", e.to_string()),
    }
}
