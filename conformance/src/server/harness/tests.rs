//! The harness against in-process web servers: bounds, flow control, closes.
//! Their web servers write bytes on a plain socket, not through
//! [`crate::driver`]: they flood, overrun bounds and send records for ids
//! never begun, which is raw writes and no state machine, and what they
//! read back is only whether a byte or the end of the stream came.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use crate::target::Addr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn enc() -> Encoder {
    Encoder::default().with_padding(Padding::None)
}

async fn side(bounds: &Bounds) -> (AppSide, TcpStream) {
    let l = Listener::bind(&Addr::Tcp(([127, 0, 0, 1], 0).into()))
        .await
        .unwrap();
    let Addr::Tcp(a) = l.local_addr().unwrap() else {
        panic!("tcp")
    };
    let app = AppSide::start_with(l, bounds);
    let c = TcpStream::connect(a).await.unwrap();
    (app, c)
}

fn begin(id: u16, w: &mut Vec<u8>) {
    let _ = enc().begin_request(id, Role::Responder, true, w);
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

/// The id of the connection whose BEGIN_REQUEST is collected first.
async fn first_conn(app: &mut AppSide, c: &mut TcpStream) -> ConnId {
    let mut w = Vec::new();
    begin(1, &mut w);
    let _ = enc().end_stream(StreamType::Params, 1, &mut w);
    let _ = enc().end_stream(StreamType::Stdin, 1, &mut w);
    c.write_all(&w).await.unwrap();
    let r = app.collect(soon()).await.unwrap();
    app.end_request(r.conn, 1, 0, ProtocolStatus::RequestComplete);
    let mut buf = [0u8; 64];
    let n = c.read(&mut buf).await.unwrap();
    assert!(n > 0, "END_REQUEST expected");
    r.conn
}

#[tokio::test]
async fn shut_and_wait_sees_the_peer_close_its_end() {
    let (mut app, mut c) = side(&Bounds::default()).await;
    let conn = first_conn(&mut app, &mut c).await;
    let peer = tokio::spawn(async move {
        // The web server's side: end of file, then its own close.
        let mut buf = [0u8; 64];
        let n = c.read(&mut buf).await.unwrap();
        assert_eq!(n, 0);
        drop(c);
    });
    assert!(app.shut_and_wait(conn, soon()).await);
    peer.await.unwrap();
}

#[tokio::test]
async fn shut_and_wait_ends_at_the_deadline_when_the_peer_stays() {
    let (mut app, mut c) = side(&Bounds::default()).await;
    let conn = first_conn(&mut app, &mut c).await;
    let until = Instant::now() + Duration::from_millis(300);
    assert!(!app.shut_and_wait(conn, until).await);
    assert!(Instant::now() >= until);
    // Closed afterwards, as `close` does.
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf)).await;
    assert!(matches!(n, Ok(Ok(0)) | Ok(Err(_))), "{n:?}");
}

#[tokio::test]
async fn sync_takes_in_what_came_with_the_awaited_records() {
    let (mut app, mut c) = side(&Bounds::default()).await;
    let mut w = Vec::new();
    let _ = enc().begin_request(1, Role::Authorizer, true, &mut w);
    let _ = enc().end_stream(StreamType::Params, 1, &mut w);
    let _ = enc().stream(StreamType::Stdin, 1, b"not for an authorizer", &mut w);
    let _ = enc().end_stream(StreamType::Stdin, 1, &mut w);
    c.write_all(&w).await.unwrap();
    // Complete at its PARAMS' end; the STDIN of the same write is in.
    let r = app.collect(soon()).await.unwrap();
    assert_eq!(r.stdin, b"not for an authorizer");
    assert!(r.stdin_ended, "{}", r.describe());
}

#[tokio::test]
async fn stdin_is_kept_up_to_the_bound_and_counted_past_it() {
    let bounds = Bounds {
        stdin_kept: 1 << 20,
        ..Bounds::default()
    };
    let (mut app, mut c) = side(&bounds).await;
    let mut w = Vec::new();
    begin(1, &mut w);
    let _ = enc().end_stream(StreamType::Params, 1, &mut w);
    let _ = enc().stream(StreamType::Stdin, 1, &vec![b's'; 3 << 20], &mut w);
    let _ = enc().end_stream(StreamType::Stdin, 1, &mut w);
    let writer = tokio::spawn(async move {
        c.write_all(&w).await.unwrap();
        c
    });
    let r = app.collect(soon()).await.unwrap();
    assert!(r.complete(), "{}", r.describe());
    assert_eq!(r.stdin.len(), 1 << 20);
    assert_eq!(r.stdin_discarded, 2 << 20);
    let x = r.exceeded().unwrap();
    assert!(x.contains("bound of 1 MiB"), "{x}");
    drop(writer.await);
}

#[tokio::test]
async fn records_for_ids_never_begun_are_counted_in_one_event() {
    let (mut app, mut c) = side(&Bounds::default()).await;
    let mut w = Vec::new();
    for _ in 0..100_000 {
        let _ = enc().end_stream(StreamType::Stdin, 77, &mut w);
    }
    begin(1, &mut w);
    let _ = enc().end_stream(StreamType::Params, 1, &mut w);
    let _ = enc().end_stream(StreamType::Stdin, 1, &mut w);
    c.write_all(&w).await.unwrap();
    let mut ignored_events = 0;
    let mut over = 0;
    let mut conn = 0;
    let deadline = soon();
    while let Some(e) = app.next(deadline).await {
        conn = e.conn;
        match e.ev {
            Ev::Fcgi(ApplicationEvent::Ignored { request_id, .. }) => {
                assert_eq!(request_id.get(), 77);
                ignored_events += 1;
            }
            Ev::OverBound(_) => over += 1,
            Ev::Fcgi(ApplicationEvent::StdinEnd { request_id }) if request_id.get() == 1 => break,
            _ => {}
        }
    }
    assert_eq!((ignored_events, over), (1, 1));
    assert_eq!(app.ignored(conn), 100_000);
    assert_eq!(app.ignored_total(), 100_000);
    // Over a bound: closed at the case's end although no request is active.
    app.end_case(Duration::from_secs(2)).await;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf)).await;
    assert!(matches!(n, Ok(Ok(0)) | Ok(Err(_))), "{n:?}");
}

#[tokio::test]
async fn unended_params_of_one_connection_are_bounded() {
    let bounds = Bounds {
        params_per_conn: 1 << 20,
        ..Bounds::default()
    };
    let (mut app, mut c) = side(&bounds).await;
    let mut w = Vec::new();
    let value = vec![b'v'; 200_000];
    for id in 1..=10 {
        begin(id, &mut w);
        let _ = enc().params(id, [(&b"X"[..], &value[..])], &mut w);
    }
    // The runner may close before all is written: ignore write errors.
    let _ = c.write_all(&w).await;
    let mut over = None;
    let mut closed = false;
    let deadline = soon();
    while let Some(e) = app.next(deadline).await {
        match e.ev {
            Ev::OverBound(what) => over = Some(what),
            Ev::Closed => {
                closed = true;
                break;
            }
            _ => {}
        }
    }
    let what = over.expect("an OverBound event");
    assert!(what.contains("1 MiB of unended PARAMS"), "{what}");
    assert!(closed);
}

#[tokio::test]
async fn requests_past_max_reqs_are_refused() {
    let (mut app, mut c) = side(&Bounds::default()).await;
    let mut w = Vec::new();
    for id in 1..=(bounds::MAX_REQS as u16 + 1) {
        begin(id, &mut w);
    }
    c.write_all(&w).await.unwrap();
    let mut begins = 0;
    let mut refused = None;
    let deadline = soon();
    while let Some(e) = app.next(deadline).await {
        match e.ev {
            Ev::Fcgi(ApplicationEvent::BeginRequest { .. }) => begins += 1,
            Ev::Violation(v) => {
                refused = Some(v);
                break;
            }
            _ => {}
        }
    }
    assert_eq!(begins, bounds::MAX_REQS);
    let v = refused.expect("a violation");
    assert!(v.to_string().contains("max_requests"), "{v}");
}

#[tokio::test]
async fn a_flooded_channel_does_not_hold_begin_case() {
    let (mut app, mut c) = side(&Bounds::default()).await;
    let mut w = Vec::new();
    begin(1, &mut w);
    let _ = enc().end_stream(StreamType::Params, 1, &mut w);
    let chunk = {
        let mut s = Vec::new();
        let _ = enc().stream(StreamType::Stdin, 1, &vec![0u8; 1 << 20], &mut s);
        s
    };
    c.write_all(&w).await.unwrap();
    let flood = tokio::spawn(async move { while c.write_all(&chunk).await.is_ok() {} });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t0 = Instant::now();
    app.begin_case(Transcript::new());
    assert!(t0.elapsed() < Duration::from_secs(2));
    // The flooding connection has an active request: closed at the case's end.
    app.end_case(Duration::from_millis(500)).await;
    let r = tokio::time::timeout(Duration::from_secs(5), flood).await;
    assert!(r.is_ok(), "the flood was not stopped by closing");
}

#[tokio::test]
async fn get_values_are_kept_by_connection() {
    let (mut app, mut c) = side(&Bounds::default()).await;
    // A second connection that sends a request and no GET_VALUES.
    let mut quiet = TcpStream::connect(c.peer_addr().unwrap()).await.unwrap();
    let mut w = Vec::new();
    let _ = enc().get_values(
        [
            fcgi_proto::management::MAX_CONNS.as_bytes(),
            fcgi_proto::management::MPXS_CONNS.as_bytes(),
        ],
        &mut w,
    );
    c.write_all(&w).await.unwrap();
    let asked = first_conn(&mut app, &mut c).await;
    let other = first_conn(&mut app, &mut quiet).await;
    assert_ne!(asked, other);
    assert_eq!(
        app.get_values_on(asked),
        Some(&["FCGI_MAX_CONNS".to_string(), "FCGI_MPXS_CONNS".to_string()][..])
    );
    assert_eq!(app.get_values_on(other), None);
    assert_eq!(app.get_values_total, 1);
}
