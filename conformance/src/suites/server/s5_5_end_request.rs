//! §5.5 FCGI_END_REQUEST: the server suite's cases.

use crate::case::Outcome;
use crate::server::http::HttpRequest;
use fcgi_proto::application::ProtocolStatus;
use std::time::Duration;
use tokio::time::Instant;

use super::helpers::*;

super::cases! {
    section "5.5";
    "end-without-stdout-end" [R_5_5_7] Hostile
        "END_REQUEST without the empty STDOUT record"
        "The application ends the request with END_REQUEST but no empty STDOUT record: the client still gets the complete response."
        => end_without_stdout_end;
    "cant-mpx-conn" [R_5_5_2, R_5_5_6, R_5_1_4] Alone
        "An FCGI_CANT_MPX_CONN answer"
        "The application refuses with FCGI_CANT_MPX_CONN: the server retries elsewhere or answers 5xx; a 2xx for a refused request is a warning. The refusal counts only if it was really sent: a request whose BEGIN_REQUEST never arrived whole, or whose connection closed before the refusal could go out, fails whatever the client got."
        => cant_mpx_conn;
    "overloaded" [R_5_5_3, R_5_5_6, R_5_1_4] Alone
        "An FCGI_OVERLOADED answer"
        "The application refuses with FCGI_OVERLOADED: the client gets a 5xx (or a retried success); a 2xx is a warning. The refusal counts only if it was really sent: a request whose BEGIN_REQUEST never arrived whole, or whose connection closed before the refusal could go out, fails whatever the client got."
        => overloaded;
    "close-before-output" [R_5_5_5] Hostile
        "Connection closed with no output and no END_REQUEST"
        "The application closes right after reading the request: the client gets a 5xx, never a 2xx."
        => close_before_output;
    "close-mid-body" [R_5_5_5] Hostile
        "Connection closed mid-body with no END_REQUEST"
        "The application sends the head and part of the body, then closes: the client gets a 5xx or a response whose framing shows it is cut, never a complete 200."
        => close_mid_body;
}

async fn end_without_stdout_end(ctx: &mut Ctx) -> Outcome {
    let (seen, resp) = custom_answer(
        ctx,
        "end-without-stdout-end",
        |app, s| app.stdout_bytes(s.id, &ok_response(b"no empty STDOUT record\n"), false),
        true,
    )
    .await;
    if let Err(o) = usable(&seen, "GET", &resp) {
        return o;
    }
    if let Some(o) = expect_body(&resp, 200, b"no empty STDOUT record\n") {
        return o;
    }
    Outcome::pass("END_REQUEST ended the response")
}

async fn close_before_output(ctx: &mut Ctx) -> Outcome {
    let task = ctx.spawn(HttpRequest::get(path("close-before-output")));
    let seen = ctx.app.collect(ctx.deadline()).await;
    let Some(s) = seen else {
        let resp = ctx.finish(task).await;
        return no_request("the GET", &resp);
    };
    ctx.app.close(s.conn);
    // A server may retry on a fresh connection: close that too.
    let until = Instant::now() + ctx.timeout.min(Duration::from_secs(2));
    let limit = Instant::now() + ctx.timeout + Duration::from_secs(1);
    let mut task = task;
    let mut collecting = true;
    let resp = loop {
        tokio::select! {
            r = ctx.app.collect(until), if collecting => match r {
                Some(r2) => ctx.app.close(r2.conn),
                None => collecting = false,
            },
            r = &mut task => break joined(r),
            () = tokio::time::sleep_until(limit) => {
                task.abort();
                break Err("no HTTP response within the timeout".into());
            }
        }
    };
    match &resp {
        Ok(r) if (200..300).contains(&r.status) => Outcome::fail("a 5xx (R-5.5-5)", r.summary()),
        _ => cut_verdict(&resp, "closed before output"),
    }
}

async fn close_mid_body(ctx: &mut Ctx) -> Outcome {
    let (head_seen, head_arrived) = tokio::sync::oneshot::channel();
    let task = ctx.spawn_telling(HttpRequest::get(path("close-mid-body")), head_seen);
    let seen = ctx.app.collect(ctx.deadline()).await;
    let Some(s) = seen else {
        let resp = ctx.finish(task).await;
        return no_request("the GET", &resp);
    };
    let mut head = b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    head.extend(std::iter::repeat_n(b'z', 5000));
    ctx.app
        .write(s.conn, ctx.app.stdout_bytes(s.id, &head, false));
    // The cut comes once the client has the response head (the body is
    // under way), or after the timeout for a server that holds the head
    // back until the response ends: an event, not a pause.
    let _ = tokio::time::timeout(ctx.timeout, head_arrived).await;
    ctx.app.close(s.conn);
    let resp = ctx.finish(task).await;
    cut_verdict(&resp, "closed mid-body")
}

async fn cant_mpx_conn(ctx: &mut Ctx) -> Outcome {
    refusal(ctx, ProtocolStatus::CantMpxConn).await
}

async fn overloaded(ctx: &mut Ctx) -> Outcome {
    refusal(ctx, ProtocolStatus::Overloaded).await
}
