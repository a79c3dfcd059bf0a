//! §3.4 Name-value pairs: the two length forms: the app suite's cases.

use crate::app::ctx::Ctx;
use crate::case::Outcome;
use fcgi_proto::encoder::Encoder;
use fcgi_proto::stream::StreamType;

use super::helpers::*;

super::cases! {
    section "3.4";
    "long-form-short-lengths" [R_3_4_3] Alone
        "the 4-byte length form for short names and values is accepted"
        "Every name and value length is sent in the 4-byte form; the answer is the same."
        => long_form_short_lengths;
    "long-values" [R_3_4_2, R_3_4_6] Plain
        "values of 127, 128 and 64 KiB+1 bytes cross record boundaries intact"
        "Params with values of 127, 128 and 65537 bytes (the last spans two PARAMS records); with the echo contract each comes back unchanged."
        => long_values;
    "params-one-byte-records" [R_3_4_6, R_5_2_1] Plain
        "PARAMS split into one-byte records is served alike"
        "The PARAMS stream is sent one content byte per record, so lengths straddle records; the answer is the same."
        => params_one_byte_records;
    "truncated-params" [R_3_4_4, R_3_5_3] Hostile
        "a PARAMS block whose last pair overruns its stream does not stop the application"
        "PARAMS whose last value length exceeds the bytes sent, then the empty PARAMS; the application may refuse or drop the request (info), then must serve a fresh connection."
        => truncated_params;
}

async fn long_form_short_lengths(ctx: Ctx) -> Outcome {
    let mut req = echo_req(&ctx, b"long forms").param("ECHO_SHORT", "abc");
    req.long_forms = true;
    served_alike(ctx, req, None).await
}

async fn long_values(ctx: Ctx) -> Outcome {
    let v = |n: usize| -> Vec<u8> { (0..n).map(|i| b'a' + (i % 26) as u8).collect() };
    let req = echo_req(&ctx, b"")
        .param("ECHO_V127", v(127))
        .param("ECHO_V128", v(128))
        .param("ECHO_V65537", v(65537));
    served_alike(ctx, req, None).await
}

async fn params_one_byte_records(ctx: Ctx) -> Outcome {
    let mut req = echo_req(&ctx, b"tiny records").param("ECHO_TINY", "split");
    req.params_record_size = Some(std::num::NonZeroU16::MIN);
    served_alike(ctx, req, None).await
}

async fn truncated_params(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"");
    let mut block = req.params_block();
    // A last pair declaring a 1000-byte value with 3 bytes present.
    block.extend_from_slice(&[4, 0x80, 0, 0x03, 0xe8]);
    block.extend_from_slice(b"ECHOabc");
    let enc = Encoder::default();
    let mut b = req.begin_bytes();
    let _ = enc.stream(StreamType::Params, 1, &block, &mut b);
    let _ = enc.end_stream(StreamType::Params, 1, &mut b);
    let _ = enc.end_stream(StreamType::Stdin, 1, &mut b);
    match hostile(&ctx, &b, true).await {
        Ok(what) => Outcome::info(format!(
            "on a PARAMS block that overruns its stream the application {what}"
        )),
        Err(o) => o,
    }
}
