//! §3.5 Closing transport connections: the server suite's cases.

use crate::case::Outcome;
use crate::server::http::HttpRequest;

use super::helpers::*;

super::cases! {
    section "3.5";
    "keep-conn" [R_5_1_2, R_3_5_2] Alone
        "FCGI_KEEP_CONN and connection reuse"
        "Three GETs in a row: reports whether FCGI_KEEP_CONN is set and how many connections carried them (info)."
        => keep_conn;
    "idle-close" [R_3_5_2, R_5_1_2] Alone
        "The application closes an idle kept connection"
        "After a request on a kept connection the application closes it; the next request must still succeed (warn if not). Skipped when connections are not kept."
        => idle_close;
    "stale-connection" [R_3_5_2, R_5_5_5] Alone
        "A kept connection closed as the next request arrives (the pm.max_requests race)"
        "The application closes a reused connection right after the next request's records arrive, before any output: a server that retries on a fresh connection passes; a 5xx is a warning. Skipped when connections are not reused."
        => stale_connection;
}

async fn keep_conn(ctx: &mut Ctx) -> Outcome {
    let mut flags = Vec::new();
    let mut conns = Vec::new();
    for i in 0..3 {
        let (seen, resp, body) = simple_get(ctx, &format!("keep-conn/{i}")).await;
        let s = match usable(&seen, "each GET", &resp) {
            Ok(s) => s,
            Err(o) => return o,
        };
        if let Some(o) = expect_body(&resp, 200, &body) {
            return o;
        }
        flags.push(s.keep_conn);
        conns.push(s.conn);
    }
    let distinct: std::collections::BTreeSet<_> = conns.iter().collect();
    let set = flags.iter().filter(|f| **f).count();
    Outcome::info(format!(
        "FCGI_KEEP_CONN set on {set} of 3 requests; {} connection(s) carried the 3 requests",
        distinct.len()
    ))
}

async fn idle_close(ctx: &mut Ctx) -> Outcome {
    let first = match warm(ctx, "idle-close/1").await {
        Ok(s) => s,
        Err(o) => return o,
    };
    if !first.keep_conn {
        return Outcome::skip(
            "the server does not set FCGI_KEEP_CONN: no idle connection to close",
        );
    }
    // The application ends its side; a server that watches its idle
    // connections closes its own end, and that close is awaited (bounded
    // by the timeout) before the next request, instead of a pause.
    let noticed = ctx.app.shut_and_wait(first.conn, ctx.deadline()).await;
    let (seen, resp, body) = simple_get(ctx, "idle-close/2").await;
    match &resp {
        Ok(r) if r.status == 200 && r.complete && r.body == body => Outcome::pass(format!(
            "next request went over {}{}",
            seen.map_or("?".into(), |s| format!("connection {}", s.conn)),
            if noticed {
                " (the server had closed the idle connection in turn)"
            } else {
                " (the server had not closed the idle connection within the timeout)"
            }
        )),
        _ => Outcome::warn(
            "the next request served on a fresh connection",
            http_str(&resp),
        ),
    }
}

async fn stale_connection(ctx: &mut Ctx) -> Outcome {
    let first = match warm(ctx, "stale-connection/1").await {
        Ok(s) => s,
        Err(o) => return o,
    };
    if !first.keep_conn {
        return Outcome::skip("the server does not set FCGI_KEEP_CONN: connections are not reused");
    }
    let task = ctx.spawn(HttpRequest::get(path("stale-connection/2")));
    let Some(second) = ctx.app.collect(ctx.deadline()).await else {
        let resp = ctx.finish(task).await;
        return no_request("the second GET", &resp);
    };
    if second.conn != first.conn {
        ctx.app.respond(&second, &ok_response(b"fresh\n"));
        let resp = ctx.finish(task).await;
        return Outcome::skip(format!(
            "the server set FCGI_KEEP_CONN but opened a new connection for the next request ({})",
            http_str(&resp)
        ));
    }
    // The race: the application closes the reused connection unanswered.
    ctx.app.close(second.conn);
    let third = ctx.app.collect(ctx.deadline()).await;
    if let Some(t) = &third {
        ctx.app.respond(t, &ok_response(b"retried\n"));
    }
    let resp = ctx.finish(task).await;
    match &resp {
        Ok(r) if r.status == 200 && r.complete && r.body == b"retried\n" => {
            Outcome::pass("the server retried on a fresh connection")
        }
        _ => Outcome::warn(
            "a retry on a fresh connection (the request never reached the application)",
            format!(
                "{}{}",
                http_str(&resp),
                if third.is_some() {
                    " after a retry"
                } else {
                    ", no retry"
                }
            ),
        ),
    }
}
