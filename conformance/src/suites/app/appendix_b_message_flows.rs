//! §B Appendix B: typical protocol message flows: the app suite's cases.

use crate::app::ctx::{same_as_sent, well_formed, Ctx};
use crate::case::Outcome;

use super::helpers::*;

super::cases! {
    section "B";
    "flows" [R_6_2_1, R_5_3_1, R_5_5_1] Alone
        "appendix B's message flows, record for record"
        "The spec's typical flows: a GET with no body, a POST whose body spans two STDIN records, and two requests multiplexed if FCGI_MPXS_CONNS says so; each answered in full."
        => appendix_b_flows;
}

async fn appendix_b_flows(ctx: Ctx) -> Outcome {
    // Flow 1: a GET, no body, params in one record.
    let get = ctx.req(1, b"").param("ECHO_FLOW", "1");
    let (c, r) = match ctx.serve(&get, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if let Err(o) = well_formed(&c, &r) {
        return o;
    }
    // A web server closes a connection it did not ask to keep; some
    // applications (libfcgi) linger until it does before accepting again.
    drop(c);
    // Flow 2: a POST whose body spans two STDIN records.
    let mut post = ctx.req(1, &varied(1200)).param("ECHO_FLOW", "2");
    post.stdin_record_size = std::num::NonZeroU16::new(700);
    let (c, r) = match ctx.serve(&post, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    match well_formed(&c, &r) {
        Ok(out) => {
            let o = same_as_sent(&ctx, &post, &out);
            if o.verdict != crate::case::Verdict::Pass {
                return o;
            }
        }
        Err(o) => return o,
    }
    drop(c);
    // Flow 4: two requests multiplexed, only where the application says it can.
    if ctx.probed.mpxs_conns == Some(true) {
        let (c, reqs, resps) = match interleaved(&ctx, 2, "flow 4").await {
            Ok(x) => x,
            Err(o) => return o,
        };
        if let Err(o) = judge_interleaved(&ctx, &c, &reqs, &resps) {
            return o;
        }
        return Outcome::pass("flows 1, 2 and 4 answered in full");
    }
    Outcome::pass("flows 1 and 2 answered in full (flow 4 needs FCGI_MPXS_CONNS=1)")
}
