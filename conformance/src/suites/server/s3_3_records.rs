//! §3.3 Records: header, version, padding, request ids: the server suite's cases.

use crate::case::Outcome;
use crate::server::harness::SeenRequest;
use crate::server::http::HttpRequest;
use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::record::RecordType;
use fcgi_proto::stream::StreamType;
use std::time::Duration;
use tokio::time::Instant;

use super::helpers::*;

super::cases! {
    section "3.3";
    "request-ids" [R_3_3_5, R_5_1_6] Plain
        "Request ids are nonzero and never begun while active"
        "Three GETs in a row: every request id is nonzero and no BEGIN_REQUEST names an id still active on its connection."
        => request_ids;
    "record-header" [R_3_3_1, R_3_3_6, R_3_3_7] Plain
        "Records carry version 1 and a zero reserved byte"
        "A POST: every record parses with version 1; the reserved header byte is 0 (warn otherwise)."
        => record_header;
    "padding-alignment" [R_3_3_4] Plain
        "Records are padded to 8-byte boundaries"
        "A POST: every record the server sends is padded so that the next starts at a multiple of 8 (SHOULD: warn otherwise)."
        => padding_alignment;
    "stdout-one-byte-records" [R_3_3_12] Plain
        "STDOUT split into one-byte records"
        "The response is sent one byte per STDOUT record: the HTTP body is the same bytes."
        => one_byte_records;
    "padding-0-and-255" [R_3_3_3] Plain
        "Records padded with 0 and 255 bytes"
        "STDOUT records alternate padding 0 and 255 (padding bytes 0xFF, not zero): the HTTP body is exact."
        => padding_answers;
    "malformed-record" [R_3_3_1, R_3_3_6] Hostile
        "A malformed record from the application"
        "The application answers with a record of version 9: the client gets a 5xx, never a 2xx."
        => malformed_record;
    "multiplex" [R_5_1_6, R_6_1_3] Alone
        "Multiplexing, with responses interleaved and out of order"
        "Two concurrent requests: if they share a connection, the application answers them interleaved, the second first; both HTTP bodies must be exact. One connection each is reported as info."
        => multiplex;
    "request-id-small" [R_3_3_10] Alone
        "How large the request ids the server picks are"
        "Three GETs in a row: the ids the server chose, and the largest (info: the spec asks for small, reused ids and sets no threshold)."
        => request_id_small;
}

async fn request_ids(ctx: &mut Ctx) -> Outcome {
    let mut ids = Vec::new();
    for i in 0..3 {
        let (seen, resp, body) = simple_get(ctx, &format!("request-ids/{i}")).await;
        let s = match usable(&seen, "each GET", &resp) {
            Ok(s) => s,
            Err(o) => return o,
        };
        if s.id == 0 {
            return Outcome::fail("a nonzero request id (R-3.3-5)", "request id 0");
        }
        if let Some(o) = expect_body(&resp, 200, &body) {
            return o;
        }
        ids.push(format!("{} on conn {}", s.id, s.conn));
    }
    Outcome::pass(format!("request ids: {}", ids.join(", ")))
}

async fn judge_record_headers(ctx: &mut Ctx, alignment: bool) -> Outcome {
    let body: Vec<u8> = (0..777u32).map(|i| (i % 251) as u8).collect();
    let slug = if alignment {
        "padding-alignment"
    } else {
        "record-header"
    };
    let (seen, resp) = ctx
        .exchange(HttpRequest::post(path(slug), body), |app, s| {
            app.respond(s, &ok_response(b"ok"))
        })
        .await;
    let s = match usable(&seen, "a POST", &resp) {
        Ok(s) => s,
        Err(o) => return o,
    };
    if let Some(o) = expect_body(&resp, 200, b"ok") {
        return o;
    }
    if alignment {
        let bad: Vec<String> = s
            .records
            .iter()
            .filter(|(_, len, pad, _)| (len + usize::from(*pad)) % 8 != 0)
            .map(|(t, len, pad, _)| format!("{} len {len} pad {pad}", t.name()))
            .collect();
        if !bad.is_empty() {
            return Outcome::warn(
                "every record padded to a multiple of 8 bytes (R-3.3-4)",
                format!(
                    "{} of {} records not: {}",
                    bad.len(),
                    s.records.len(),
                    bad.iter().take(4).cloned().collect::<Vec<_>>().join("; ")
                ),
            );
        }
        return Outcome::pass(format!(
            "all {} records aligned to 8 bytes",
            s.records.len()
        ));
    }
    if let Some((t, _, _, r)) = s.records.iter().find(|(_, _, _, r)| *r != 0) {
        return Outcome::warn(
            "reserved header byte 0 (R-3.3-7)",
            format!("{} with reserved {r:#04x}", t.name()),
        );
    }
    Outcome::pass(format!(
        "{} records, version 1, reserved byte 0",
        s.records.len()
    ))
}

async fn one_byte_records(ctx: &mut Ctx) -> Outcome {
    let resp_bytes = ok_response(b"one byte at a time\n");
    let r2 = resp_bytes.clone();
    let (seen, resp) = custom_answer(
        ctx,
        "stdout-one-byte-records",
        move |_, s| {
            let mut out = Vec::new();
            for b in &r2 {
                record(
                    RecordType::Stdout,
                    s.id,
                    std::slice::from_ref(b),
                    0,
                    0,
                    &mut out,
                );
            }
            record(RecordType::Stdout, s.id, &[], 0, 0, &mut out);
            out
        },
        true,
    )
    .await;
    if let Err(o) = usable(&seen, "GET", &resp) {
        return o;
    }
    if let Some(o) = expect_body(&resp, 200, b"one byte at a time\n") {
        return o;
    }
    Outcome::pass(format!(
        "{} one-byte STDOUT records reassembled",
        resp_bytes.len()
    ))
}

async fn padding_answers(ctx: &mut Ctx) -> Outcome {
    let resp_bytes = ok_response(b"padded records, 0 and 255\n");
    let r2 = resp_bytes.clone();
    let (seen, resp) = custom_answer(
        ctx,
        "padding-0-and-255",
        move |_, s| {
            let mut out = Vec::new();
            for (i, c) in r2.chunks(7).enumerate() {
                let pad = if i % 2 == 0 { 255 } else { 0 };
                record(RecordType::Stdout, s.id, c, pad, 0xff, &mut out);
            }
            record(RecordType::Stdout, s.id, &[], 255, 0xff, &mut out);
            out
        },
        true,
    )
    .await;
    if let Err(o) = usable(&seen, "GET", &resp) {
        return o;
    }
    if let Some(o) = expect_body(&resp, 200, b"padded records, 0 and 255\n") {
        return o;
    }
    Outcome::pass("records with padding 0 and 255 (0xFF bytes) read correctly")
}

async fn malformed_record(ctx: &mut Ctx) -> Outcome {
    let (seen, resp) = custom_answer(
        ctx,
        "malformed-record",
        |_, s| {
            let mut out = Vec::new();
            record(
                RecordType::Stdout,
                s.id,
                b"Status: 200 OK\r\n\r\nbad",
                0,
                0,
                &mut out,
            );
            if let Some(v) = out.first_mut() {
                *v = 9;
            }
            out
        },
        false,
    )
    .await;
    if let Err(o) = usable(&seen, "GET", &resp) {
        return o;
    }
    match &resp {
        Ok(r) if (200..300).contains(&r.status) => {
            Outcome::fail("a 5xx for a version-9 record (R-3.3-1)", r.summary())
        }
        Ok(r) => Outcome::pass(format!("version-9 record refused: {}", r.summary())),
        Err(e) if e.contains("timed out") => Outcome::warn(
            "a 5xx for a version-9 record (R-3.3-1)",
            format!("no response within the timeout ({e}): the server waits on the broken connection and the client is left waiting"),
        ),
        Err(e) => Outcome::pass(format!("version-9 record refused; the client's connection was closed ({e})")),
    }
}

async fn multiplex(ctx: &mut Ctx) -> Outcome {
    // The second request is sent only once the first has arrived and is
    // held unanswered, so that a server that multiplexes has a connection
    // to put it on whatever the timing: the verdict depends on the server,
    // not on which of two racing requests connected first.
    let until = Instant::now() + ctx.timeout.min(Duration::from_secs(2));
    let a = ctx.spawn(HttpRequest::get(path("multiplex/a")));
    let mut reqs: Vec<SeenRequest> = ctx.app.collect(until).await.into_iter().collect();
    let b = ctx.spawn(HttpRequest::get(path("multiplex/b")));
    reqs.extend(ctx.app.collect(until).await);
    for r in &reqs {
        if let Some(o) = violation(r) {
            return o;
        }
    }
    let body_of =
        |r: &SeenRequest| format!("answer to id {} on conn {}\n", r.id, r.conn).into_bytes();
    let mut note = String::new();
    match reqs.as_slice() {
        [r1, r2] if r1.conn == r2.conn && r1.complete() && r2.complete() => {
            // Interleaved, second first.
            let enc = ctx.app.encoder;
            let (h1, h2) = (ok_response(&body_of(r1)), ok_response(&body_of(r2)));
            let (m1, m2) = (h1.len() / 2, h2.len() / 2);
            let mut out = Vec::new();
            let _ = enc.stream(
                StreamType::Stdout,
                r2.id,
                h2.get(..m2).unwrap_or_default(),
                &mut out,
            );
            let _ = enc.stream(
                StreamType::Stdout,
                r1.id,
                h1.get(..m1).unwrap_or_default(),
                &mut out,
            );
            let _ = enc.stream(
                StreamType::Stdout,
                r2.id,
                h2.get(m2..).unwrap_or_default(),
                &mut out,
            );
            let _ = enc.end_stream(StreamType::Stdout, r2.id, &mut out);
            ctx.app.write(r1.conn, out);
            ctx.app
                .end_request(r2.conn, r2.id, 0, ProtocolStatus::RequestComplete);
            let mut out = Vec::new();
            let _ = enc.stream(
                StreamType::Stdout,
                r1.id,
                h1.get(m1..).unwrap_or_default(),
                &mut out,
            );
            let _ = enc.end_stream(StreamType::Stdout, r1.id, &mut out);
            ctx.app.write(r1.conn, out);
            ctx.app
                .end_request(r1.conn, r1.id, 0, ProtocolStatus::RequestComplete);
            note = format!(
                "multiplexed ids {} and {} on connection {}",
                r1.id, r2.id, r1.conn
            );
        }
        [r1, r2] => {
            ctx.app.respond(r1, &ok_response(&body_of(r1)));
            ctx.app.respond(r2, &ok_response(&body_of(r2)));
            note = format!("one connection per request ({} and {})", r1.conn, r2.conn);
        }
        [r1] => {
            // Serialised: answer the first, then the second.
            ctx.app.respond(r1, &ok_response(&body_of(r1)));
            if let Some(r2) = ctx.app.collect(ctx.deadline()).await {
                ctx.app.respond(&r2, &ok_response(&body_of(&r2)));
                note = format!(
                    "the second request came only after the first ended (conn {} then {})",
                    r1.conn, r2.conn
                );
            }
        }
        _ => {}
    }
    let ra = ctx.finish(a).await;
    let rb = ctx.finish(b).await;
    if reqs.is_empty() {
        return no_request("two concurrent GETs", &ra);
    }
    for (name, r) in [("first", &ra), ("second", &rb)] {
        match r {
            Ok(r) if r.status == 200 && r.complete && r.body.starts_with(b"answer to id") => {}
            other => {
                return Outcome::fail(
                    format!("the {name} request answered with its own body"),
                    http_str(other),
                )
            }
        }
    }
    let distinct = match (&ra, &rb) {
        (Ok(x), Ok(y)) => x.body != y.body,
        _ => false,
    };
    if !distinct {
        return Outcome::fail(
            "each request gets its own response",
            "both got the same body",
        );
    }
    if note.starts_with("multiplexed") {
        Outcome::pass(format!(
            "{note}; interleaved out-of-order answers both right"
        ))
    } else {
        Outcome::info(format!("does not multiplex: {note}"))
    }
}

async fn record_header(ctx: &mut Ctx) -> Outcome {
    judge_record_headers(ctx, false).await
}

async fn padding_alignment(ctx: &mut Ctx) -> Outcome {
    judge_record_headers(ctx, true).await
}

async fn request_id_small(ctx: &mut Ctx) -> Outcome {
    let mut ids = Vec::new();
    for i in 0..3 {
        let (seen, resp, body) = simple_get(ctx, &format!("request-id-small/{i}")).await;
        let s = match usable(&seen, "each GET", &resp) {
            Ok(s) => s,
            Err(o) => return o,
        };
        if let Some(o) = expect_body(&resp, 200, &body) {
            return o;
        }
        ids.push(s.id);
    }
    let largest = ids.iter().max().copied().unwrap_or_default();
    let list: Vec<String> = ids.iter().map(u16::to_string).collect();
    Outcome::info(format!(
        "request ids {} over three requests; the largest {largest}",
        list.join(", ")
    ))
}
