//! §5.5 FCGI_END_REQUEST: the server suite's cases.

use crate::case::Outcome;
use crate::server::harness::Ev;
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
    "end-request-final" [R_5_5_7] Alone
        "END_REQUEST before the server has sent all of STDIN"
        "A POST with a 1 MiB body: the application answers and ends the request as soon as PARAMS has ended, before it has read the end of STDIN (it reads on, and ignores the rest, §3.3): the client still gets the complete response (R-5.5-7)."
        => end_request_final;
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

/// Far longer than one read of the runner's ([`crate::driver::READ_BUFFER`]):
/// the end of STDIN cannot come in the read that ends PARAMS.
const FINAL_BODY: usize = 1 << 20;

/// What `end_request_final` looks for among the connections' events.
#[derive(Default)]
struct Early {
    /// (connection, id, STDIN ended first, written) of the armed answer.
    answered: Option<(u64, u16, bool, bool)>,
    /// The first violation of each connection (at most a few).
    violations: Vec<(u64, fcgi_proto::Error)>,
}

impl Early {
    fn take(&mut self, e: crate::server::harness::AppEvent) {
        match e.ev {
            Ev::AnsweredEarly {
                id,
                stdin_ended,
                written,
            } => self.answered = Some((e.conn, id, stdin_ended, written)),
            Ev::Violation(v) => {
                let first = !self.violations.iter().any(|(c, _)| *c == e.conn);
                if first && self.violations.len() < crate::bounds::VIOLATIONS_KEPT {
                    self.violations.push((e.conn, v));
                }
            }
            _ => {}
        }
    }
}

async fn end_request_final(ctx: &mut Ctx) -> Outcome {
    let body = b"ended before STDIN did\n";
    ctx.app.answer_at_params_end(ok_response(body));
    let mut task = ctx.spawn(HttpRequest::post(
        path("end-request-final"),
        vec![b'f'; FINAL_BODY],
    ));
    let deadline = ctx.deadline();
    let mut seen = Early::default();
    let mut early_resp = None;
    while seen.answered.is_none() && early_resp.is_none() {
        tokio::select! {
            biased;
            e = ctx.app.next(deadline) => match e {
                None => break,
                Some(e) => seen.take(e),
            },
            r = &mut task => early_resp = Some(joined(r)),
        }
    }
    let resp = match early_resp {
        Some(r) => {
            // The client may have its response before the connection has
            // queued what it did: what it has read is taken in first (a
            // barrier, not a pause).
            ctx.app.sync(ctx.timeout).await;
            for _ in 0..crate::bounds::EVENT_QUEUE {
                if seen.answered.is_some() {
                    break;
                }
                match ctx.app.next(Instant::now()).await {
                    Some(e) => seen.take(e),
                    None => break,
                }
            }
            r
        }
        None => ctx.finish(task).await,
    };
    let Early {
        answered,
        violations,
    } = seen;
    let Some((conn, id, stdin_ended, written)) = answered else {
        return no_request("the POST", &resp);
    };
    if let Some((_, v)) = violations.iter().find(|(c, _)| *c == conn) {
        return Outcome::fail(
            format!("well-formed records ({})", v.section()),
            format!("{v}"),
        );
    }
    if stdin_ended {
        return Outcome::info(
            "the empty STDIN record came in the same read as the end of PARAMS: the request could not be ended before STDIN was",
        );
    }
    if !written {
        return Outcome::fail(
            "the connection open until the application answered",
            format!("connection {conn} closed before the END_REQUEST for id {id} could go out"),
        );
    }
    if let Some(o) = expect_body(&resp, 200, body) {
        return o;
    }
    Outcome::pass(format!(
        "the response reached the client, though the application ended request {id} at the end of PARAMS, before STDIN ended (the runner read the rest and ignored it, §3.3)"
    ))
}
