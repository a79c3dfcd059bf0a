//! §5.2 Name-value pair stream: FCGI_PARAMS: the app suite's cases.

use crate::app::ctx::{no_end, well_formed, Ctx};
use crate::app::request::parse_echo;
use crate::case::Outcome;

use super::helpers::*;

super::cases! {
    section "5.2";
    "params-empty" [R_5_2_1, R_5_5_5] Plain
        "a request with an empty PARAMS stream still ends with END_REQUEST"
        "PARAMS is only its empty record; the application may answer an error status, but the request must end with END_REQUEST."
        => params_empty;
    "params-duplicates" [R_5_2_2] Plain
        "which of two params with the same name the application sees"
        "ECHO_DUP is sent twice with different values; the echo shows which one wins (info)."
        => params_duplicates;
}

async fn params_empty(ctx: Ctx) -> Outcome {
    let mut req = ctx.req(1, b"");
    req.params.clear();
    let mut c = match ctx.conn("no params").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut c, &req.bytes()).await {
        return o;
    }
    match c.response(1).await {
        Ok(resp) => match resp.end {
            Some(e) => Outcome::pass(format!(
                "ended with {}({}) after {} STDOUT bytes",
                e.protocol_status.name(),
                e.protocol_status.code(),
                resp.stdout.len()
            )),
            None => Outcome::fail("END_REQUEST", "none"),
        },
        Err((e, partial)) => no_end(1, &e, &partial),
    }
}

async fn params_duplicates(ctx: Ctx) -> Outcome {
    if !ctx.probed.echo {
        return Outcome::skip("needs the echo contract to see which value the application keeps");
    }
    let mut req = echo_req(&ctx, b"");
    req.params.push((b"ECHO_DUP".to_vec(), b"first".to_vec()));
    req.params.push((b"ECHO_DUP".to_vec(), b"second".to_vec()));
    let (conn, resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let out = match well_formed(&conn, &resp) {
        Ok(o) => o,
        Err(o) => return o,
    };
    match parse_echo(out.body).and_then(|e| e.params.get("ECHO_DUP").cloned()) {
        Some(v) => Outcome::info(format!("of two ECHO_DUP params the application kept {v:?}")),
        None => Outcome::info("the duplicated param did not come back"),
    }
}
