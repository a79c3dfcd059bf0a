//! §4.1 FCGI_GET_VALUES, FCGI_GET_VALUES_RESULT: the server suite's cases.

use crate::case::Outcome;

use super::helpers::*;

super::cases! {
    section "4.1";
    "get-values" [R_4_1_8, R_4_1_1, R_4_1_4] Alone
        "Does the server send FCGI_GET_VALUES"
        "Reports whether the server asked FCGI_GET_VALUES on the connection that carried this case's request, at any time of that connection's life, and for which names (info). Only that connection counts, not what earlier cases of the selection saw, so the result does not depend on the selection."
        => get_values;
}

async fn get_values(ctx: &mut Ctx) -> Outcome {
    let (seen, resp, body) = simple_get(ctx, "get-values").await;
    let seen = match usable(&seen, "GET", &resp) {
        Ok(s) => s,
        Err(o) => return o,
    };
    if let Some(o) = expect_body(&resp, 200, &body) {
        return o;
    }
    match ctx.app.get_values_on(seen.conn) {
        None => {
            Outcome::info("no FCGI_GET_VALUES on the connection that carried this case's request")
        }
        Some([]) => Outcome::info(
            "FCGI_GET_VALUES with no names on the connection that carried this case's request",
        ),
        Some(names) => Outcome::info(format!(
            "FCGI_GET_VALUES for {} on the connection that carried this case's request",
            names.join(", ")
        )),
    }
}
