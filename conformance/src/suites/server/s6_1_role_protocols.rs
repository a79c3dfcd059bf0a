//! §6.1 Role protocols: the server suite's cases.

use crate::case::Outcome;
use crate::server::http::{self};
use fcgi_proto::stream::StreamType;

use super::helpers::*;

super::cases! {
    section "6.1";
    "params-text" [R_6_1_7] Plain
        "Param values carry no NUL terminator"
        "A GET: no param name or value contains a NUL byte."
        => params_text;
    "stdin-empty" [R_6_1_5, R_5_3_1] Plain
        "A request without body still gets the empty STDIN record"
        "A GET: STDIN is sent as one empty record."
        => stdin_empty;
    "status-header" [R_6_1_8, R_6_2_2] Plain
        "The CGI Status header sets the HTTP status"
        "The application answers \"Status: 404 Not Found\": the client gets 404 and the body."
        => status_header;
    "stderr-interleaved" [R_6_1_3, R_5_3_2] Plain
        "STDERR interleaved with STDOUT"
        "STDOUT and STDERR records alternate: the HTTP body holds the STDOUT bytes only."
        => stderr_interleaved;
}

async fn params_text(ctx: &mut Ctx) -> Outcome {
    let (seen, resp, body) = simple_get(ctx, "params-text").await;
    let s = match usable(&seen, "GET /params-text", &resp) {
        Ok(s) => s,
        Err(o) => return o,
    };
    if let Some((n, _, _)) = s
        .params
        .iter()
        .find(|(n, v, _)| n.contains(&0) || v.contains(&0))
    {
        return Outcome::fail(
            "no NUL byte in names or values (R-6.1-7)",
            format!("NUL in {}", String::from_utf8_lossy(n)),
        );
    }
    if let Some(o) = expect_body(&resp, 200, &body) {
        return o;
    }
    Outcome::pass(format!("{} params, no NUL bytes", s.params.len()))
}

async fn stdin_empty(ctx: &mut Ctx) -> Outcome {
    let (seen, resp, body) = simple_get(ctx, "stdin-empty").await;
    let Some(s) = &seen else {
        return no_request("GET /stdin-empty", &resp);
    };
    if let Some(o) = violation(s) {
        return o;
    }
    if !s.stdin_ended {
        return Outcome::fail(
            "an empty STDIN record even with no body (R-6.1-5)",
            s.describe(),
        );
    }
    if !s.stdin.is_empty() {
        return Outcome::fail(
            "no STDIN content for a GET",
            format!("{} bytes", s.stdin.len()),
        );
    }
    if let Some(o) = expect_body(&resp, 200, &body) {
        return o;
    }
    Outcome::pass(format!("STDIN: {} record(s), empty", s.stdin_records))
}

async fn status_header(ctx: &mut Ctx) -> Outcome {
    let (seen, resp) = custom_answer(
        ctx,
        "status-header",
        |app, s| {
            app.stdout_bytes(
                s.id,
                b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nno such thing\n",
                true,
            )
        },
        true,
    )
    .await;
    if let Err(o) = usable(&seen, "GET", &resp) {
        return o;
    }
    if let Some(o) = expect_body(&resp, 404, b"no such thing\n") {
        return o;
    }
    Outcome::pass("Status: 404 became HTTP 404")
}

async fn stderr_interleaved(ctx: &mut Ctx) -> Outcome {
    let head = b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    let (seen, resp) = custom_answer(
        ctx,
        "stderr-interleaved",
        move |app, s| {
            let mut out = Vec::new();
            let enc = app.encoder;
            let _ = enc.stream(StreamType::Stdout, s.id, &head, &mut out);
            for i in 0..3 {
                let _ = enc.stream(
                    StreamType::Stderr,
                    s.id,
                    format!("STDERR-LINE-{i}\n").as_bytes(),
                    &mut out,
                );
                let _ = enc.stream(
                    StreamType::Stdout,
                    s.id,
                    format!("body-{i}\n").as_bytes(),
                    &mut out,
                );
            }
            let _ = enc.end_stream(StreamType::Stderr, s.id, &mut out);
            let _ = enc.end_stream(StreamType::Stdout, s.id, &mut out);
            out
        },
        true,
    )
    .await;
    if let Err(o) = usable(&seen, "GET", &resp) {
        return o;
    }
    if let Ok(r) = &resp {
        if http::find(&r.body, b"STDERR-LINE").is_some() {
            return Outcome::fail(
                "STDERR kept out of the HTTP body (§5.3: it is the error stream)",
                "STDERR text in the body",
            );
        }
    }
    if let Some(o) = expect_body(&resp, 200, b"body-0\nbody-1\nbody-2\n") {
        return o;
    }
    let in_headers = resp
        .as_ref()
        .map(|r| r.headers.iter().any(|(_, v)| v.contains("STDERR-LINE")))
        .unwrap_or(false);
    Outcome::pass(format!(
        "body holds STDOUT only; STDERR {}",
        if in_headers {
            "appeared in a header"
        } else {
            "not in the HTTP response (left to the server's log)"
        }
    ))
}
