//! The bundled FastCGI client (`fcgi_conformance::client`) against a small
//! in-test application built on `fcgi_proto::connection::Application`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use fcgi_proto::stream::StreamType;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fcgi_conformance::__private::client::{Body, Client, ClientError, Config, Part, Request};
use fcgi_conformance::__private::driver::Driver;
use fcgi_conformance::__private::target::{Addr, Listener, Stream};
use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::connection::{Application, ApplicationEvent as Event, RequestId};
use fcgi_proto::encoder::Encoder;
use fcgi_proto::name_value;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Behavior {
    /// Answers with the body it got and the param ECHO.
    Echo,
    /// Like Echo, after a pause.
    Slow,
    /// Answers 100 KiB.
    Huge,
    /// Answers on request id 7 instead.
    WrongId,
    /// Closes right after the request arrives.
    CloseEarly,
    /// Answers with a record of version 2.
    Malformed,
    /// Serves the first request of each connection, closes on the second.
    CloseOnSecond,
    /// Never answers.
    Silent,
}

struct App {
    addr: Addr,
    accepted: Arc<AtomicUsize>,
}

async fn app(behavior: Behavior) -> App {
    let l = Listener::bind(&Addr::Tcp(([127, 0, 0, 1], 0).into()))
        .await
        .unwrap();
    let addr = l.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let n = accepted.clone();
    tokio::spawn(async move {
        while let Ok(s) = l.accept().await {
            n.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(s, behavior));
        }
    });
    App { addr, accepted }
}

/// One connection of the in-test application, over the runner's driver
/// (`fcgi_conformance::driver`) with the codec's application side.
async fn serve(s: Stream, behavior: Behavior) {
    let (mut rd, mut wr) = Driver::new(s, Application::default())
        .with_read_buffer(8192)
        .into_parts();
    let enc = Encoder::default();
    let mut params: std::collections::BTreeMap<RequestId, Vec<u8>> = Default::default();
    let mut bodies: std::collections::BTreeMap<RequestId, Vec<u8>> = Default::default();
    let mut served = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rd.fill()).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return,
        }
        let mut out = Vec::new();
        let mut ready = Vec::new();
        let mut aborted = Vec::new();
        while let Some(i) = rd.next_event().unwrap() {
            match i.event.unwrap() {
                Event::ParamsEnd { request_id, block } => {
                    params.insert(request_id, block.into_owned());
                }
                Event::Stdin { request_id, data } => {
                    bodies
                        .entry(request_id)
                        .or_default()
                        .extend_from_slice(&data);
                }
                Event::StdinEnd { request_id } => ready.push(request_id),
                Event::AbortRequest { request_id } => aborted.push(request_id),
                _ => {}
            }
        }
        let conn = rd.party_mut();
        for request_id in aborted {
            conn.end_request(request_id, 1, ProtocolStatus::RequestComplete, &mut out)
                .unwrap();
        }
        for id in ready {
            served += 1;
            match behavior {
                Behavior::CloseEarly => return,
                Behavior::CloseOnSecond if served == 2 => return,
                Behavior::Silent => continue,
                Behavior::Slow => tokio::time::sleep(Duration::from_millis(150)).await,
                _ => {}
            }
            let body = bodies.remove(&id).unwrap_or_default();
            let echo = params
                .remove(&id)
                .as_deref()
                .and_then(|b| name_value::find(b, b"ECHO"))
                .unwrap_or_default()
                .to_vec();
            let mut resp = b"Status: 200 OK\r\n\r\n".to_vec();
            resp.extend_from_slice(&echo);
            resp.push(b'|');
            resp.extend_from_slice(&body);
            match behavior {
                Behavior::Huge => resp.extend(std::iter::repeat_n(b'h', 100 * 1024)),
                Behavior::WrongId => {
                    enc.stream(StreamType::Stdout, 7, &resp, &mut out).unwrap();
                    continue;
                }
                Behavior::Malformed => {
                    let at = out.len();
                    enc.stream(StreamType::Stdout, id.get(), &resp, &mut out)
                        .unwrap();
                    out[at] = 2;
                    continue;
                }
                _ => {}
            }
            conn.stream(StreamType::Stdout, id, &resp, &mut out)
                .unwrap();
            conn.end_stream(StreamType::Stdout, id, &mut out).unwrap();
            conn.end_request(id, 0, ProtocolStatus::RequestComplete, &mut out)
                .unwrap();
        }
        if wr.send_raw(&out).await.is_err() {
            return;
        }
        if rd.party().should_close() {
            return;
        }
    }
}

fn config(app: &App) -> Config {
    let mut c = Config::new(app.addr.clone());
    c.timeout = Duration::from_secs(2);
    c
}

fn echo_request(tag: &str, body: &[u8]) -> Request {
    let mut r = Request::get();
    r.param("ECHO", tag);
    r.body = Body::Bytes(body.to_vec());
    r
}

#[tokio::test]
async fn request_response_with_extra_params() {
    let a = app(Behavior::Echo).await;
    let mut cfg = config(&a);
    cfg.extra_params
        .push((b"ECHO".to_vec(), b"from-extra".to_vec()));
    let client = Client::new(cfg);
    // The request's own ECHO comes first, so name_value::find sees it.
    let resp = client
        .request(echo_request("mine", b"body bytes"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(resp.stdout, b"Status: 200 OK\r\n\r\nmine|body bytes");
    assert_eq!(resp.protocol_status, ProtocolStatus::RequestComplete);
    assert!(resp.stdout_ended);
    let resp = client
        .request(Request::get())
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(resp.stdout, b"Status: 200 OK\r\n\r\nfrom-extra|");
}

#[tokio::test]
async fn keep_conn_reuses_one_connection() {
    let a = app(Behavior::Echo).await;
    let client = Client::new(config(&a));
    for i in 0..5 {
        let s = client
            .request(echo_request(&i.to_string(), b""))
            .await
            .unwrap();
        assert_eq!(s.reused_connection(), i > 0);
        s.collect().await.unwrap();
    }
    assert_eq!(a.accepted.load(Ordering::SeqCst), 1);
    assert_eq!(client.open_connections(), 1);
}

#[tokio::test]
async fn without_keep_conn_each_request_has_its_connection() {
    let a = app(Behavior::Echo).await;
    let mut cfg = config(&a);
    cfg.keep_conn = false;
    let client = Client::new(cfg);
    for i in 0..3 {
        client
            .request(echo_request(&i.to_string(), b"x"))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
    }
    assert_eq!(a.accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn multiplexes_concurrent_requests_over_one_connection() {
    let a = app(Behavior::Slow).await;
    let mut cfg = config(&a);
    cfg.multiplex = true;
    let client = Client::new(cfg);
    // Open the connection first so that the concurrent ones find it.
    client
        .request(echo_request("warm", b""))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut streams = Vec::new();
    for i in 0..5 {
        streams.push(
            client
                .request(echo_request(&format!("r{i}"), b""))
                .await
                .unwrap(),
        );
    }
    let ids: std::collections::BTreeSet<u16> =
        streams.iter().map(|s| s.request_id().get()).collect();
    assert_eq!(ids.len(), 5, "distinct ids among active requests");
    for (i, s) in streams.into_iter().enumerate() {
        let r = s.collect().await.unwrap();
        assert!(r.stdout.ends_with(format!("r{i}|").as_bytes()));
    }
    assert_eq!(a.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn response_size_limit() {
    let a = app(Behavior::Huge).await;
    let mut cfg = config(&a);
    cfg.max_response_bytes = 10_000;
    let client = Client::new(cfg);
    let e = client
        .request(Request::get())
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClientError::ResponseTooLarge { limit: 10_000 }),
        "{e}"
    );
}

#[tokio::test]
async fn request_id_mismatch_is_typed() {
    let a = app(Behavior::WrongId).await;
    let client = Client::new(config(&a));
    let e = client
        .request(Request::get())
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClientError::RequestIdMismatch { request_id: 7, .. }),
        "{e}"
    );
}

#[tokio::test]
async fn early_close_is_typed() {
    let a = app(Behavior::CloseEarly).await;
    let client = Client::new(config(&a));
    let e = client
        .request(Request::get())
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClientError::EarlyClose { response_bytes: 0 }),
        "{e}"
    );
}

#[tokio::test]
async fn malformed_record_is_typed() {
    let a = app(Behavior::Malformed).await;
    let client = Client::new(config(&a));
    let e = client
        .request(Request::get())
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err();
    match e {
        ClientError::Malformed(err) => assert_eq!(err.section().to_string(), "§3.3"),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn stale_connection_is_retried_once_for_replayable_bodies() {
    let a = app(Behavior::CloseOnSecond).await;
    let client = Client::new(config(&a));
    client
        .request(echo_request("one", b""))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    // The kept connection is closed by the app as the next request arrives.
    let s = client
        .request(echo_request("two", b"replay me"))
        .await
        .unwrap();
    let mut s = s;
    let mut out = Vec::new();
    while let Some(p) = s.next().await {
        match p.unwrap() {
            Part::Stdout(d) => out.extend_from_slice(&d),
            Part::End { .. } => break,
            Part::Stderr(_) => {}
        }
    }
    assert!(s.retried());
    assert!(out.ends_with(b"two|replay me"));
    assert_eq!(a.accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn streamed_bodies_are_not_replayed() {
    let a = app(Behavior::CloseOnSecond).await;
    let client = Client::new(config(&a));
    client
        .request(echo_request("one", b""))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut r = Request::get();
    r.body = Body::Stream(rx);
    tx.send(b"chunk".to_vec()).await.unwrap();
    drop(tx);
    let e = client
        .request(r)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::EarlyClose { .. }), "{e}");
}

#[tokio::test]
async fn timeout_is_typed() {
    let a = app(Behavior::Silent).await;
    let mut cfg = config(&a);
    cfg.timeout = Duration::from_millis(200);
    let client = Client::new(cfg);
    let e = client
        .request(Request::get())
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Timeout), "{e}");
}

#[tokio::test]
async fn dropping_a_stream_aborts_the_request() {
    // The app answers ABORT_REQUEST with END_REQUEST; the connection stays usable.
    let a = app(Behavior::Silent).await;
    let client = Client::new(config(&a));
    let s = client.request(Request::get()).await.unwrap();
    drop(s);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(client.in_flight(), 0);
    assert_eq!(client.open_connections(), 1);
}

#[tokio::test]
async fn graceful_shutdown_waits_for_requests_in_flight() {
    let a = app(Behavior::Slow).await;
    let client = Client::new(config(&a));
    let s = client.request(echo_request("slow", b"")).await.unwrap();
    let c2 = client.clone();
    let reader = tokio::spawn(async move { s.collect().await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let left = client.shutdown(Duration::from_secs(2)).await;
    assert_eq!(
        left, 0,
        "shutdown returned with the request still in flight"
    );
    let resp = reader.await.unwrap().unwrap();
    assert!(resp.stdout.ends_with(b"slow|"));
    let e = c2.request(Request::get()).await.unwrap_err();
    assert!(matches!(e, ClientError::ShuttingDown));
}
