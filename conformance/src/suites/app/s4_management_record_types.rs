//! §4 Management record types: the app suite's cases.

use crate::app::ctx::Ctx;
use crate::case::Outcome;
use fcgi_proto::encoder::Encoder;
use fcgi_proto::management::{self};
use fcgi_proto::record::RecordType;

use super::helpers::*;

super::cases! {
    section "4";
    "management-nonzero-id" [R_A_3] Alone
        "what the application does with GET_VALUES carrying request id 1"
        "A web server must send management records with id 0; this one does not. Recorded: answered, ignored or closed (info)."
        => management_nonzero_id;
}

async fn management_nonzero_id(ctx: Ctx) -> Outcome {
    let mut c = match ctx.conn("management id 1").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let block = management::query([management::MPXS_CONNS.as_bytes()]).unwrap_or_default();
    let mut b = Vec::new();
    let _ = Encoder::default().record(RecordType::GetValues, 1, &block, &mut b);
    if let Err(o) = send_or_fail(&mut c, &b).await {
        return o;
    }
    let what = reaction(&mut c, short(ctx.timeout)).await;
    Outcome::info(format!(
        "on GET_VALUES with request id 1 the application {what}"
    ))
}
