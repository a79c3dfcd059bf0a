//! §5.4 FCGI_ABORT_REQUEST: the server suite's cases.

use crate::case::Outcome;
use crate::server::harness::Ev;
use crate::server::http::{self, HttpRequest};
use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::connection::ApplicationEvent;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

use super::helpers::*;

super::cases! {
    section "5.4";
    "client-disconnect" [R_5_4_5, R_5_4_3, R_5_4_4, R_5_4_1] Alone
        "The HTTP client disconnects mid-response"
        "The client reads the head and closes while the application still writes (16 KiB every 100 ms, so that a server relaying the response must write to the closed client): reports FCGI_ABORT_REQUEST or a closed connection (info); neither within the timeout is a warning (the application works on for nobody)."
        => client_disconnect;
}

/// What the application writes each 100 ms after the client is gone.
const TRICKLE: usize = 16 * 1024;

async fn client_disconnect(ctx: &mut Ctx) -> Outcome {
    let url = ctx.http.clone();
    let t = ctx.timeout;
    let (gone_tx, gone_rx) = tokio::sync::oneshot::channel::<String>();
    let started = tokio::spawn(async move {
        let req = HttpRequest::get(path("client-disconnect"));
        // Wait a little for the head (a buffering server may hold it), then go away.
        let note = match http::start(&url, &req, t.min(Duration::from_secs(1))).await {
            Ok(mut s) => {
                let mut b = [0u8; 64];
                let _ =
                    tokio::time::timeout(Duration::from_millis(100), s.stream.read(&mut b)).await;
                format!("the client read the head ({}) and closed", s.head.status)
            }
            Err(e) => format!("the client closed before any response ({e})"),
        };
        let _ = gone_tx.send(note);
    });
    let Some(s) = ctx.app.collect(ctx.deadline()).await else {
        return Outcome::fail("a FastCGI request", "none arrived");
    };
    if let Some(o) = violation(&s) {
        return o;
    }
    let mut head = b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    head.extend(std::iter::repeat_n(b'.', 32 * 1024));
    ctx.app
        .write(s.conn, ctx.app.stdout_bytes(s.id, &head, false));
    let client_note =
        match tokio::time::timeout(ctx.timeout + Duration::from_secs(1), gone_rx).await {
            Ok(Ok(n)) => n,
            _ => return Outcome::fail("the HTTP client to finish", "it did not"),
        };
    let _ = started.await;
    // Keep writing, as an application producing a long response would, and
    // watch. Each piece is larger than a server holds back before writing
    // to its client: with a few bytes at a time (as before) whether the
    // server noticed depended on whether its last write of the head had
    // raced the client's close (apache2 was seen both ways), not on what
    // it does once it writes to a client that is gone.
    let piece = vec![b'.'; TRICKLE];
    let deadline = ctx.deadline();
    let mut tick = Instant::now();
    loop {
        let until = (tick + Duration::from_millis(100)).min(deadline);
        match ctx.app.next(until).await {
            Some(e) if e.conn == s.conn => match e.ev {
                Ev::Fcgi(ApplicationEvent::AbortRequest { request_id })
                    if request_id.get() == s.id =>
                {
                    ctx.app
                        .end_request(s.conn, s.id, 0, ProtocolStatus::RequestComplete);
                    return Outcome::info(format!(
                            "{client_note}; FCGI_ABORT_REQUEST sent (R-5.4-3), the application ended the request"
                        ));
                }
                Ev::Closed => {
                    return Outcome::info(format!("{client_note}; the server closed the connection (R-5.4-4), no FCGI_ABORT_REQUEST"));
                }
                _ => {}
            },
            Some(_) => {}
            None => {
                if Instant::now() >= deadline {
                    return Outcome::warn(
                        "an abort once the client is gone (R-5.4-5): FCGI_ABORT_REQUEST (R-5.4-3) or a closed connection (R-5.4-4)",
                        format!("{client_note}; neither within {:?}: the application would keep working for nobody", ctx.timeout),
                    );
                }
                tick = Instant::now();
                ctx.app
                    .write(s.conn, ctx.app.stdout_bytes(s.id, &piece, false));
            }
        }
    }
}
