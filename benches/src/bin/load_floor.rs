//! The kernel's floor under `fcgi-conformance load`: a FastCGI application
//! that does as little as one can and still answer every request correctly,
//! so that its CPU per request is what the transport costs
//! (docs/performance.md, "The floor under load").
//!
//! ```text
//! load-floor tokio    127.0.0.1:PORT   # same runtime and syscall pattern as reference-app
//! load-floor blocking 127.0.0.1:PORT   # a thread per connection, blocking read and write
//! ```
//!
//! Per connection it reads into one 64 KiB buffer, walks the whole records
//! in it by their headers (§3.3; nothing is decoded), and for every empty
//! FCGI_STDIN record (§5.3: the request's input has ended) appends a fixed
//! response under that request's id: one STDOUT record with the same 86
//! bytes as the reference application's answer to a request without
//! `ECHO_` params, the empty STDOUT record and FCGI_END_REQUEST (§5.5).
//! Everything answered in one read goes out in one write. FCGI_GET_VALUES
//! (§4.1) is answered with an empty result. It is a benchmark tool, not an
//! application: it trusts the load generator (records are not validated,
//! params are not read), and it is never run by a test.
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::encoder::Encoder;
use fcgi_proto::record::{Header, RecordType};
use fcgi_proto::stream::StreamType;

/// The reference application's STDOUT for a Responder request with no body
/// and no `ECHO_` params (conformance/src/app/reference.rs, build_response).
const BODY: &[u8] =
    b"Status: 200 OK\r\nContent-Type: text/plain\r\nX-Fcgi-Echo: 1\r\n\r\nFCGI-ECHO/1\nstdin 0\n";
const BUF: usize = 64 * 1024;

/// Answers every request whose input ended inside `buf[..len]`; returns how
/// many bytes of `buf` were whole records (the rest waits for more bytes).
fn answer(buf: &[u8], enc: &Encoder, out: &mut Vec<u8>) -> usize {
    let mut at = 0;
    // Bounded: every turn consumes one whole record of at least 8 bytes.
    while let Some(h) = buf.get(at..).and_then(Header::from_slice) {
        let len = h.record_len();
        if buf.len() - at < len {
            break;
        }
        let id = h.request_id;
        match h.record_type {
            RecordType::Stdin if h.content_length == 0 => {
                let _ = enc.stream(StreamType::Stdout, id, BODY, out);
                let _ = enc.end_stream(StreamType::Stdout, id, out);
                let _ = enc.end_request(id, 0, ProtocolStatus::RequestComplete, out);
            }
            RecordType::GetValues => {
                let _ = enc.record(RecordType::GetValuesResult, 0, &[], out);
            }
            _ => {}
        }
        at += len;
    }
    at
}

fn serve_blocking(mut s: TcpStream) {
    let enc = Encoder::default();
    let mut buf = vec![0u8; BUF];
    let mut have = 0;
    let mut out = Vec::with_capacity(4096);
    loop {
        let Some(free) = buf.get_mut(have..) else {
            return;
        };
        match s.read(free) {
            Ok(0) | Err(_) => return,
            Ok(n) => have += n,
        }
        let used = answer(buf.get(..have).unwrap_or_default(), &enc, &mut out);
        buf.copy_within(used..have, 0);
        have -= used;
        if have == BUF {
            return; // a record longer than the buffer: not from `load`
        }
        if !out.is_empty() {
            if s.write_all(&out).is_err() {
                return;
            }
            out.clear();
        }
    }
}

async fn serve_tokio(mut s: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let enc = Encoder::default();
    let mut buf = vec![0u8; BUF];
    let mut have = 0;
    let mut out = Vec::with_capacity(4096);
    loop {
        let Some(free) = buf.get_mut(have..) else {
            return;
        };
        match s.read(free).await {
            Ok(0) | Err(_) => return,
            Ok(n) => have += n,
        }
        let used = answer(buf.get(..have).unwrap_or_default(), &enc, &mut out);
        buf.copy_within(used..have, 0);
        have -= used;
        if have == BUF {
            return;
        }
        if !out.is_empty() {
            if s.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, addr) = match args.as_slice() {
        [m, a] if m == "tokio" || m == "blocking" => match a.parse::<SocketAddr>() {
            Ok(addr) if addr.ip().is_loopback() => (m.clone(), addr),
            _ => {
                eprintln!("load-floor: give a loopback HOST:PORT, e.g. 127.0.0.1:9100");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!(
                "load-floor: give a mode and an address: load-floor tokio|blocking 127.0.0.1:PORT"
            );
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("load-floor: cannot listen on {addr}: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!("load-floor: {mode} on {addr}");
    if mode == "blocking" {
        for s in listener.incoming().flatten() {
            std::thread::spawn(move || serve_blocking(s));
        }
        return ExitCode::SUCCESS;
    }
    // The reference application's runtime (conformance/src/main.rs, runtime()).
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("load-floor: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(async move {
        let _ = listener.set_nonblocking(true);
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(serve_tokio(s));
        }
    });
    ExitCode::SUCCESS
}
