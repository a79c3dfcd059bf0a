//! §4.1 FCGI_GET_VALUES, FCGI_GET_VALUES_RESULT: the server suite's cases.

use crate::case::Outcome;

use super::helpers::*;

super::cases! {
    section "4.1";
    "get-values" [R_4_1_8, R_4_1_1, R_4_1_4] Plain
        "Does the server send FCGI_GET_VALUES"
        "Reports whether the server asked FCGI_GET_VALUES at any point of the run so far, and for which names (info)."
        => get_values;
}

async fn get_values(ctx: &mut Ctx) -> Outcome {
    let before = ctx.app.get_values_total;
    let (seen, resp, body) = simple_get(ctx, "get-values").await;
    if let Err(o) = usable(&seen, "GET", &resp) {
        return o;
    }
    if let Some(o) = expect_body(&resp, 200, &body) {
        return o;
    }
    let total = ctx.app.get_values_total;
    if total == 0 {
        Outcome::info("no FCGI_GET_VALUES seen in this run")
    } else {
        Outcome::info(format!(
            "{total} FCGI_GET_VALUES seen in this run ({} in this case)",
            total - before
        ))
    }
}
