//! §3.3 Records: header, version, padding, request ids: the app suite's cases.

use crate::app::ctx::Ctx;
use crate::case::Outcome;
use fcgi_proto::encoder::{Encoder, Padding};
use fcgi_proto::record::{Header, RecordType};
use fcgi_proto::stream::StreamType;

use super::helpers::*;

super::cases! {
    section "3.3";
    "version" [R_3_3_1] Plain
        "every record sent carries version 1"
        "A plain request; every record of the answer has version FCGI_VERSION_1."
        => version;
    "aligned-output" [R_3_3_4] Plain
        "records sent are padded to multiples of 8 bytes"
        "A plain request; each answer record (header, content, padding) is a multiple of 8 bytes long. A SHOULD: a miss is a warning."
        => aligned_output;
    "padding-255" [R_3_3_3] Plain
        "requests with 255 padding bytes per record are served alike"
        "Every record of the request carries 255 padding bytes; the answer equals what was sent (echo) or the baseline status."
        => padding_255;
    "padding-none" [R_3_3_3] Plain
        "requests without padding are served alike"
        "No record of the request is padded; the answer equals what was sent (echo) or the baseline status."
        => padding_none;
    "chopped-writes" [R_3_3_12, R_3_3_6] Plain
        "a request written one byte per write is served alike"
        "The whole request is written one byte at a time (Autobahn's chopsize); the answer is the same."
        => chopped_writes;
    "padding-garbage" [R_3_3_3] Alone
        "nonzero padding bytes are ignored"
        "Every record carries 7 padding bytes of 0xff; the receiver must discard padding whatever it holds, so the answer is the same."
        => padding_garbage;
    "reserved-nonzero" [R_3_3_7] Alone
        "a nonzero reserved header byte is ignored"
        "Every record's reserved header byte is 0x5a; receivers should ignore it (a SHOULD: a difference is a warning)."
        => reserved_nonzero;
    "concurrent-connections" [R_3_2_3] Alone
        "two connections open at once"
        "A request on a second connection while a first connection holds a half-sent request; whether it is served is recorded (applications may serve one connection at a time)."
        => concurrent_connections;
    "abort-inactive-id" [R_3_3_9] Alone
        "ABORT_REQUEST for an id never begun is ignored"
        "ABORT_REQUEST for id 9, then a normal request on the same connection: served, nothing sent for id 9."
        => abort_inactive_id;
    "wrong-version" [R_3_3_1, R_3_5_3] Hostile
        "a record with version 2 does not stop the application"
        "BEGIN_REQUEST with version 2. Whatever the application does with that connection (info), it must still serve a fresh one."
        => wrong_version;
    "garbage-after-record" [R_3_3_6, R_3_5_3] Hostile
        "garbage after a valid record does not stop the application"
        "A valid BEGIN_REQUEST then 64 random bytes. The application may drop that connection; it must still serve a fresh one."
        => garbage_after_record;
    "half-record" [R_3_3_2, R_3_5_3] Hostile
        "a half-sent record then silence does not stop the application"
        "A header declaring 65535 content bytes, 10 of them, then silence; while that connection is held open, a fresh one is served (a target that serves one connection at a time is left the timeout to react first); then a close, and the application serves again."
        => half_record;
    "cut-mid-request" [R_3_5_3] Hostile
        "a connection cut mid-request does not stop the application"
        "BEGIN_REQUEST and half the PARAMS, then the connection is closed; the application then serves a fresh connection."
        => cut_mid_request;
    "inactive-id-ignored" [R_3_3_9] Alone
        "records for an inactive request id are ignored"
        "STDIN and PARAMS records for an id never begun, then a normal request on the same connection: served, nothing answered for the stray id."
        => inactive_id_ignored;
    "padding-overflow" [R_3_3_3] Alone
        "a 65535-byte record with one byte of padding"
        "A STDIN record of 65535 content bytes and 1 padding byte (content and padding together past 65535, which the text does not forbid, OQ-12): whether the answer equals what was sent (info)."
        => padding_overflow;
}

async fn version(ctx: Ctx) -> Outcome {
    let req = ctx.req(1, b"");
    let (conn, _resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    // The decoder refuses any version but 1, so reaching here means every
    // record so far had version 1; check the judge found nothing either.
    match conn.violations.first() {
        Some(v) => Outcome::fail("well-formed records", v.to_string()),
        None => Outcome::pass(format!("{} records, all version 1", conn.records_seen)),
    }
}

async fn aligned_output(ctx: Ctx) -> Outcome {
    // Two bodies one byte apart, so unpadded output cannot be aligned by chance.
    let mut total = 0;
    let mut aligned = 0;
    for body in [&b"a"[..], &b"ab"[..]] {
        let req = ctx.req(1, body);
        let (conn, _resp) = match ctx.serve(&req, None).await {
            Ok(x) => x,
            Err(o) => return o,
        };
        total += usize::try_from(conn.records_seen).unwrap_or(usize::MAX);
        aligned += conn.aligned_records;
    }
    if aligned == total {
        Outcome::pass(format!("all {total} records are multiples of 8 bytes"))
    } else {
        Outcome::warn(
            "every record padded to a multiple of 8 bytes",
            format!("{} of {total} records are not", total - aligned),
        )
    }
}

async fn padding_255(ctx: Ctx) -> Outcome {
    let mut req = echo_req(&ctx, b"padded body");
    req.padding = Padding::Fixed(255);
    served_alike(ctx, req, None).await
}

async fn padding_none(ctx: Ctx) -> Outcome {
    let mut req = echo_req(&ctx, b"unpadded body");
    req.padding = Padding::None;
    served_alike(ctx, req, None).await
}

async fn chopped_writes(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"chopped body").param("ECHO_CHOP", "1");
    served_alike(ctx, req, Some(1)).await
}

async fn wrong_version(ctx: Ctx) -> Outcome {
    let mut b = echo_req(&ctx, b"").bytes();
    if let Some(v) = b.first_mut() {
        *v = 2;
    }
    match hostile(&ctx, &b, true).await {
        Ok(what) => Outcome::info(format!(
            "on a version-2 BEGIN_REQUEST the application {what}"
        )),
        Err(o) => o,
    }
}

async fn garbage_after_record(ctx: Ctx) -> Outcome {
    let mut b = echo_req(&ctx, b"").begin_bytes();
    b.extend((0..64u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 0x80));
    match hostile(&ctx, &b, true).await {
        Ok(what) => Outcome::info(format!("after garbage the application {what}")),
        Err(o) => o,
    }
}

async fn half_record(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"");
    let mut b = req.begin_bytes();
    b.extend_from_slice(&Header::new(RecordType::Params, 1, 65535, 0).to_bytes());
    b.extend_from_slice(&[0x41; 10]);
    if ctx.probed.at_once < 2 {
        // One connection at a time: the stalled one must end first.
        return match hostile(&ctx, &b, true).await {
            Ok(what) => Outcome::info(format!(
                "while waiting for the rest of a record the application {what}"
            )),
            Err(o) => o,
        };
    }
    let mut c = match ctx.conn("hostile").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(e) = c.send(&b).await {
        return Outcome::info(format!(
            "while waiting for the rest of a record the application refused the bytes ({e})"
        ));
    }
    // The stalled connection stays open while a fresh one is served; what
    // the stalled one sees meanwhile is recorded, not waited for.
    let req = echo_req(&ctx, b"beside a half record");
    let fresh = ctx.serve(&req, None);
    tokio::pin!(fresh);
    let mut what = None;
    let served = loop {
        tokio::select! {
            r = &mut fresh => break r,
            w = reaction(&mut c, ctx.timeout), if what.is_none() => what = Some(w),
        }
    };
    c.shutdown().await;
    let what = what.unwrap_or_else(|| "kept the connection open and silent".into());
    match served {
        Ok((_, resp)) if resp.end.is_some() => Outcome::info(format!(
            "while waiting for the rest of a record the application {what}, and served a fresh connection beside it"
        )),
        Ok(_) => Outcome::info(format!(
            "while waiting for the rest of a record the application {what}; a fresh connection beside it got no END_REQUEST"
        )),
        Err(o) => Outcome::info(format!(
            "while waiting for the rest of a record the application {what}; a fresh connection beside it was not served: {}",
            o.actual.unwrap_or(o.detail)
        )),
    }
}

async fn cut_mid_request(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"");
    let mut b = req.begin_bytes();
    let p = req.params_bytes();
    b.extend_from_slice(p.get(..p.len() / 2).unwrap_or_default());
    let mut c = match ctx.conn("cut").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut c, &b).await {
        return o;
    }
    drop(c);
    Outcome::pass("connection cut after half the PARAMS")
}

async fn inactive_id_ignored(ctx: Ctx) -> Outcome {
    let enc = Encoder::default();
    let mut stray = Vec::new();
    let _ = enc.stream(StreamType::Stdin, 7, b"stray", &mut stray);
    let _ = enc.end_stream(StreamType::Stdin, 7, &mut stray);
    stray_then_served(&ctx, stray, 7, "strays").await
}

async fn padding_garbage(ctx: Ctx) -> Outcome {
    let mut req = echo_req(&ctx, b"garbage padding");
    req.padding = Padding::Fixed(7);
    let mut wire = req.bytes();
    // Fill every padding byte with 0xff.
    let mut at = 0usize;
    while let Some(h) = wire.get(at..).and_then(Header::from_slice) {
        let start = at + 8 + usize::from(h.content_length);
        let end = start + usize::from(h.padding_length);
        if let Some(p) = wire.get_mut(start..end) {
            p.fill(0xff);
        }
        at += h.record_len();
    }
    send_and_judge(&ctx, &req, &wire, "padding garbage").await
}

async fn reserved_nonzero(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"reserved byte");
    let mut wire = req.bytes();
    map_headers(&mut wire, |h| {
        if let Some(b) = h.get_mut(7) {
            *b = 0x5a;
        }
    });
    soften(send_and_judge(&ctx, &req, &wire, "reserved byte").await)
}

async fn concurrent_connections(ctx: Ctx) -> Outcome {
    let first = echo_req(&ctx, b"first");
    let mut a = match ctx.conn("held").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    // Hold the first connection mid-request: BEGIN and PARAMS, no STDIN end.
    let mut held = first.begin_bytes();
    held.extend(first.params_bytes());
    if let Err(o) = send_or_fail(&mut a, &held).await {
        return o;
    }
    let second = echo_req(&ctx, b"second");
    let mut b = match ctx.conn("second").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut b, &second.bytes()).await {
        return o;
    }
    let outcome = match b.response(1).await {
        Ok(r) if r.end.is_some() => Outcome::pass("a second connection was served while the first was mid-request"),
        Ok(_) => Outcome::info("the second connection got no END_REQUEST"),
        Err((e, _)) => Outcome::info(format!(
            "the second connection was not served while the first was mid-request ({e}): the application serves one connection at a time"
        )),
    };
    a.shutdown().await;
    outcome
}

async fn abort_inactive_id(ctx: Ctx) -> Outcome {
    let mut stray = Vec::new();
    let _ = Encoder::default().abort_request(9, &mut stray);
    stray_then_served(&ctx, stray, 9, "stray abort").await
}

async fn padding_overflow(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, &varied(usize::from(u16::MAX)));
    let mut wire = req.begin_bytes();
    wire.extend(req.params_bytes());
    wire.extend_from_slice(&Header::new(RecordType::Stdin, req.id, u16::MAX, 1).to_bytes());
    wire.extend_from_slice(&req.stdin);
    wire.push(0);
    wire.extend(req.stdin_parts().1);
    let o = send_and_judge(&ctx, &req, &wire, "padding overflow").await;
    Outcome::info(if o.verdict == crate::case::Verdict::Pass {
        format!("served as sent ({})", o.detail)
    } else {
        format!("not served as sent: {}", o.detail)
    })
}
