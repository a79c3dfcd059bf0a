//! §5.2 Name-value pair stream: FCGI_PARAMS: the server suite's cases.

use crate::case::Outcome;

use super::helpers::*;

super::cases! {
    section "5.2";
    "params-terminated" [R_5_2_1, R_5_2_2, R_3_4_4] Plain
        "PARAMS is well-formed and ended by an empty record"
        "A GET: the PARAMS stream decodes as name-value pairs and ends with an empty PARAMS record."
        => params_terminated;
}

async fn params_terminated(ctx: &mut Ctx) -> Outcome {
    let (seen, resp, body) = simple_get(ctx, "params-terminated").await;
    let Some(s) = &seen else {
        return no_request("GET /params-terminated", &resp);
    };
    if let Some(o) = violation(s) {
        return o;
    }
    if !s.params_ended {
        return Outcome::fail(
            "PARAMS ended by an empty PARAMS record (R-5.2-1)",
            format!(
                "no empty PARAMS record within the timeout: {}",
                s.describe()
            ),
        );
    }
    if let Some(o) = expect_body(&resp, 200, &body) {
        return o;
    }
    Outcome::pass(format!(
        "{} pairs in {} PARAMS records, the last empty",
        s.params.len(),
        s.params_records
    ))
}
