//! §5.3 Byte streams: FCGI_STDIN, FCGI_DATA, FCGI_STDOUT, FCGI_STDERR: the server suite's cases.

use crate::case::Outcome;
use crate::server::http::HttpRequest;
use fcgi_proto::record::RecordType;

use super::helpers::*;

super::cases! {
    section "5.3";
    "stdin-body" [R_5_3_1, R_3_3_12, R_6_2_3, R_6_1_2] Plain
        "STDIN is exactly the body, ended by an empty record"
        "A POST of 100000 bytes: the STDIN stream's value equals the body and ends with an empty STDIN record."
        => stdin_body;
    "large-response" [R_3_3_12, R_5_3_3] Plain
        "A response far larger than one record"
        "A 1 MiB body holding every byte value, in maximum-size records: the HTTP body is exact."
        => large_response;
}

async fn stdin_body(ctx: &mut Ctx) -> Outcome {
    let body: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(7) % 256) as u8)
        .collect();
    let (seen, resp) = ctx
        .exchange(
            HttpRequest::post(path("stdin-body"), body.clone()),
            |app, s| app.respond(s, &ok_response(b"got it\n")),
        )
        .await;
    let Some(s) = &seen else {
        return no_request("POST /stdin-body", &resp);
    };
    if let Some(o) = violation(s) {
        return o;
    }
    if s.stdin != body {
        return Outcome::fail(
            "STDIN equal to the 100000-byte body",
            format!(
                "{} bytes{}",
                s.stdin.len(),
                if s.stdin_ended {
                    ""
                } else {
                    ", stream not ended"
                }
            ),
        );
    }
    if !s.stdin_ended {
        return Outcome::fail(
            "STDIN ended by an empty record (R-5.3-1)",
            format!("no empty STDIN record: {}", s.describe()),
        );
    }
    // R-6.1-2: each input stream is finished before the next begins.
    let last_params = s
        .records
        .iter()
        .rposition(|(t, ..)| *t == RecordType::Params);
    let first_stdin = s.records.iter().position(|(t, ..)| *t == RecordType::Stdin);
    if let (Some(p), Some(i)) = (last_params, first_stdin) {
        if i < p {
            return Outcome::fail(
                "PARAMS finished before STDIN begins (R-6.1-2)",
                format!("STDIN record #{i} before PARAMS record #{p}"),
            );
        }
    }
    if let Some(o) = expect_body(&resp, 200, b"got it\n") {
        return o;
    }
    Outcome::pass(format!(
        "100000 bytes in {} STDIN records, the last empty",
        s.stdin_records
    ))
}

async fn large_response(ctx: &mut Ctx) -> Outcome {
    let body: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 256) as u8).collect();
    let r = ok_response(&body);
    let (seen, resp) = custom_answer(
        ctx,
        "large-response",
        move |app, s| app.stdout_bytes(s.id, &r, true),
        true,
    )
    .await;
    if let Err(o) = usable(&seen, "GET", &resp) {
        return o;
    }
    if let Some(o) = expect_body(&resp, 200, &body) {
        return o;
    }
    Outcome::pass("1 MiB body intact")
}
