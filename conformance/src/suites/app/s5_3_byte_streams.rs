//! §5.3 Byte streams: FCGI_STDIN, FCGI_DATA, FCGI_STDOUT, FCGI_STDERR: the app suite's cases.

use crate::app::ctx::{compare_echo_params, dump_preview, same_as_sent, well_formed, Ctx};
use crate::app::request::parse_echo;
use crate::case::Outcome;
use fcgi_proto::encoder::Encoder;
use fcgi_proto::stream::StreamType;

use super::helpers::*;

super::cases! {
    section "5.3";
    "extra-empty-record" [R_5_3_1] Alone
        "a second empty STDIN record after the stream ended"
        "The web server sends one empty STDIN record too many; the application's reaction is recorded (info)."
        => extra_empty_record;
    "stdout-ended" [R_5_3_1, R_6_2_1] Plain
        "STDOUT is ended by an empty record before END_REQUEST"
        "A plain request; STDOUT ends with an empty record before END_REQUEST."
        => stdout_ended;
    "empty-stdin" [R_5_3_1, R_6_1_5] Plain
        "a request with an empty STDIN stream is served"
        "STDIN is only its empty record and CONTENT_LENGTH is 0; the answer shows an empty body."
        => empty_stdin;
    "large-stdin" [R_3_3_12, R_5_3_3] Plain
        "a 4 MiB body arrives intact"
        "STDIN of 4 MiB of varied bytes in 65535-byte records; with the echo contract it comes back byte for byte."
        => large_stdin;
    "large-response" [R_3_3_2, R_5_3_1] Plain
        "a 1 MiB response spans records correctly"
        "With the echo contract, ECHO_BIG asks for 1 MiB more body; it arrives whole, in records of at most 65535 bytes, STDOUT ended."
        => large_response;
    "stderr" [R_5_3_1, R_6_1_4] Plain
        "STDERR, once begun, is ended by an empty record"
        "With the echo contract, ECHO_STDERR asks for a STDERR line; once STDERR carries data it must end with an empty record (a warning, not a failure: OQ-26). No STDERR at all is recorded as info."
        => stderr;
}

async fn stdout_ended(ctx: Ctx) -> Outcome {
    let req = ctx.req(1, b"");
    match ctx.serve(&req, None).await {
        Ok((_, resp)) if resp.stdout_ended => Outcome::pass(format!(
            "{} STDOUT records, the last empty",
            resp.stdout_records
        )),
        Ok((_, resp)) => Outcome::fail(
            "an empty STDOUT record before END_REQUEST",
            format!("{} STDOUT records, none empty", resp.stdout_records),
        ),
        Err(o) => o,
    }
}

async fn empty_stdin(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"");
    served_alike(ctx, req, None).await
}

async fn large_stdin(ctx: Ctx) -> Outcome {
    const BODY: usize = 4 << 20;
    let mut req = ctx.req_owned(1, varied(BODY)).param("ECHO_CASE", "1");
    // The body is dropped once sent and its echo checked against
    // `varied`'s formula: the runner holds one copy of it at a time.
    let (conn, resp) = match ctx.serve_dropping_stdin(&mut req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let out = match well_formed(&conn, &resp) {
        Ok(o) => o,
        Err(o) => return o,
    };
    if !ctx.probed.echo {
        return same_as_sent(&ctx, &req, &out);
    }
    let Some(echo) = parse_echo(out.body) else {
        return Outcome::fail("a body in the echo contract's form", dump_preview(out.body));
    };
    if let Some(fail) = compare_echo_params(&req, &echo) {
        return fail;
    }
    match varied_difference(echo.stdin) {
        None if echo.stdin.len() == BODY => {
            Outcome::pass(format!("params and {BODY} body bytes came back unchanged"))
        }
        at => Outcome::fail(
            format!("a body of {BODY} bytes echoed unchanged"),
            format!(
                "{} bytes{}",
                echo.stdin.len(),
                at.map_or(String::new(), |i| format!(", first difference at byte {i}"))
            ),
        ),
    }
}

async fn large_response(ctx: Ctx) -> Outcome {
    if !ctx.probed.echo {
        return Outcome::skip(
            "needs the echo contract (docs/echo-contract.md) to ask for a large response",
        );
    }
    let big = 1usize << 20;
    let req = echo_req(&ctx, b"").param("ECHO_BIG", big.to_string());
    let (conn, resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let out = match well_formed(&conn, &resp) {
        Ok(o) => o,
        Err(o) => return o,
    };
    match parse_echo(out.body) {
        Some(e) if e.tail.len() == big && e.tail.iter().all(|&b| b == b'x') => {
            Outcome::pass(format!(
                "{} body bytes in {} STDOUT records",
                out.body.len(),
                resp.stdout_records
            ))
        }
        Some(e) => Outcome::fail(
            format!("{big} filler bytes"),
            format!("{} bytes", e.tail.len()),
        ),
        None => Outcome::fail("a body in the echo contract's form", dump_preview(out.body)),
    }
}

async fn stderr(ctx: Ctx) -> Outcome {
    if !ctx.probed.echo {
        return Outcome::skip("needs the echo contract to ask for STDERR output");
    }
    let req = echo_req(&ctx, b"").param("ECHO_STDERR", "conformance-stderr-line");
    let (conn, resp) = match ctx.serve(&req, None).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if let Err(o) = well_formed(&conn, &resp) {
        return o;
    }
    let found = resp
        .stderr
        .windows(b"conformance-stderr-line".len())
        .any(|w| w == b"conformance-stderr-line");
    let what = format!(
        "STDERR: {} bytes{}",
        resp.stderr.len(),
        if found {
            " holding the line asked for"
        } else {
            ", without the line asked for"
        },
    );
    // OQ-26: an unended STDERR breaks R-5.3-1, but widely deployed
    // applications leave it open; the suite warns rather than fails.
    match (resp.stderr.is_empty(), resp.stderr_ended) {
        (true, _) => Outcome::info(format!("{what}; nothing was written on STDERR")),
        (false, true) => Outcome::pass(format!("{what}; STDERR ended by an empty record")),
        (false, false) => Outcome::warn(
            "STDERR ended by an empty record once begun (R-5.3-1, OQ-26)",
            format!("{what}; STDERR never ended"),
        ),
    }
}

async fn extra_empty_record(ctx: Ctx) -> Outcome {
    let req = echo_req(&ctx, b"").keep(true);
    let mut wire = req.bytes();
    let _ = Encoder::default().end_stream(StreamType::Stdin, 1, &mut wire);
    let mut c = match ctx.conn("extra empty record").await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if let Err(o) = send_or_fail(&mut c, &wire).await {
        return o;
    }
    let served = match c.response(1).await {
        Ok(r) => r.end.is_some(),
        Err(_) => false,
    };
    let after = reaction(&mut c, short(ctx.timeout)).await;
    Outcome::info(format!(
        "{}; after the extra empty STDIN record the application {after}",
        if served {
            "the request was served"
        } else {
            "the request was not served"
        }
    ))
}
