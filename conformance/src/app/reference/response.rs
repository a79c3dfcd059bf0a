//! The reference application's response: the echo (docs/echo-contract.md)
//! built from a request, and its STDOUT streamed in pieces.

use fcgi_proto::stream::StreamType;
use std::io::Write as _;
use std::sync::Arc;

use fcgi_proto::application::ProtocolStatus;
use fcgi_proto::connection::RequestId;
use fcgi_proto::name_value;
use fcgi_proto::record::RecordType;
use fcgi_proto::role::Role;

use super::{Fault, ReqState, Shared};

pub(super) fn build_response(sh: &Shared, role: Role, r: ReqState) -> (Vec<u8>, Body, Vec<u8>) {
    let role = if role == Role::Filter && sh.has(Fault::FilterIgnoresData) {
        Role::Responder
    } else {
        role
    };
    let block = r.params.unwrap_or_default();
    // Names and values are borrowed from the block: nothing is copied
    // for a param the echo does not use.
    let mut echo_params: Vec<(&[u8], &[u8])> = Vec::new();
    let mut status: Option<String> = None;
    let mut big = 0usize;
    let mut stderr = Vec::new();
    let mut data_length: Option<String> = None;
    let cut = sh.has(Fault::CutLongValues);
    for (n, v) in name_value::pairs(&block).map_while(Result::ok) {
        let v = match v.get(..127) {
            Some(short) if cut => short,
            _ => v,
        };
        match n {
            b"ECHO_STATUS" => status = Some(String::from_utf8_lossy(v).into_owned()),
            b"ECHO_BIG" => {
                big = String::from_utf8_lossy(v)
                    .trim()
                    .parse()
                    .unwrap_or(0usize)
                    .min(16 << 20)
            }
            b"ECHO_STDERR" => stderr = v.to_vec(),
            b"FCGI_DATA_LENGTH" => data_length = Some(String::from_utf8_lossy(v).into_owned()),
            _ => {}
        }
        if n.starts_with(b"ECHO_") {
            echo_params.push((n, v));
        }
    }
    let code = status.as_deref().unwrap_or("200");
    let mut head = String::with_capacity(128);
    if sh.has(Fault::BadCgiHead) {
        head.push_str("Status ");
        head.push_str(code);
        head.push_str("\r\n");
    } else {
        head.push_str("Status: ");
        head.push_str(code);
        head.push_str(if status.is_some() {
            " Echo\r\n"
        } else {
            " OK\r\n"
        });
    }
    head.push_str("Content-Type: text/plain\r\nX-Fcgi-Echo: 1\r\n");
    // Variable- headers mean something only in a 200 (R-6.3-1): in any
    // other answer they would reach the HTTP client.
    if role == Role::Authorizer && (code.trim() == "200" || sh.has(Fault::VariablesOnDeny)) {
        head.push_str("Variable-FCGI_CONFORMANCE_AUTH: yes\r\n");
    }
    if role == Role::Filter {
        let ok = data_length.as_deref() == Some(r.data.len().to_string().as_str());
        head.push_str(&format!(
            "X-Data-Length-Matches: {}\r\n",
            if ok { 1 } else { 0 }
        ));
    }
    head.push_str("\r\n");
    let mut body = Vec::with_capacity(64);
    body.extend_from_slice(b"FCGI-ECHO/1\n");
    for (n, v) in &echo_params {
        body.extend_from_slice(b"param ");
        body.extend_from_slice(n);
        body.push(b'=');
        body.extend_from_slice(v);
        body.push(b'\n');
    }
    let mut stdin = r.stdin;
    if sh.has(Fault::CutLongStdin) {
        stdin.truncate(65536);
    }
    let _ = writeln!(body, "stdin {}", stdin.len());
    let mut parts = std::collections::VecDeque::with_capacity(4);
    parts.push_back(body);
    parts.push_back(stdin);
    if role == Role::Filter {
        parts.push_back(format!("data {}\n", r.data.len()).into_bytes());
        parts.push_back(r.data);
    }
    let body = Body {
        parts,
        at: 0,
        filler: big,
    };
    (head.into_bytes(), body, stderr)
}

/// A response body as its parts (the echo's lines, the request's own STDIN
/// and DATA buffers) and a count of `x` filler bytes after them, taken in
/// pieces: the body is never gathered into one buffer.
pub(super) struct Body {
    parts: std::collections::VecDeque<Vec<u8>>,
    /// Bytes of the first part already taken.
    at: usize,
    filler: usize,
}

impl Body {
    /// Appends up to `max` more bytes of the body to `out`; how many.
    fn take(&mut self, max: usize, out: &mut Vec<u8>) -> usize {
        let mut n = 0;
        // Bounded: each turn takes bytes or drops a part.
        while n < max {
            let Some(part) = self.parts.front() else {
                let k = (max - n).min(self.filler);
                out.resize(out.len() + k, b'x');
                self.filler -= k;
                return n + k;
            };
            let rest = part.get(self.at..).unwrap_or_default();
            let k = (max - n).min(rest.len());
            out.extend_from_slice(rest.get(..k).unwrap_or_default());
            n += k;
            self.at += k;
            if self.at >= part.len() {
                self.parts.pop_front();
                self.at = 0;
            }
        }
        n
    }
}

/// A response's STDOUT goes out in pieces of at most this many bytes.
const PIECE: usize = 32 * 1024;

/// Streams one response in 32 KiB pieces, stopping early if the request is aborted.
pub(super) async fn respond(
    sh: Arc<Shared>,
    id: RequestId,
    wrong_id: Option<u16>,
    head: Vec<u8>,
    mut body: Body,
    stderr: Vec<u8>,
) {
    let enc = sh.encoder();
    let write_id = wrong_id.unwrap_or(id.get());
    let mut piece = head;
    body.take(PIECE, &mut piece);
    let mut aborted = false;
    // The last piece's records go out in one write with the end records:
    // a small response is one write (one hand-off to the writer task, one
    // send) instead of two.
    let mut last = Vec::new();
    // Bounded by the body: every piece after the first takes bytes of it.
    loop {
        // The piece's record, and room for the end records after it (one
        // allocation for a small response).
        let mut out = Vec::with_capacity(piece.len() + stderr.len() + 96);
        {
            let mut c = sh.lock();
            if c.is_aborted(id) && !sh.has(Fault::IgnoreAbort) {
                aborted = true;
                break;
            }
            if wrong_id.is_some() {
                let _ = enc.stream(StreamType::Stdout, write_id, &piece, &mut out);
            } else if c.stream(StreamType::Stdout, id, &piece, &mut out).is_err() {
                break;
            }
        }
        piece.clear();
        if body.take(PIECE, &mut piece) == 0 {
            last = out;
            break;
        }
        sh.send(out).await;
        tokio::task::yield_now().await;
    }
    let mut out = last;
    let close;
    {
        let mut c = sh.lock();
        if !stderr.is_empty() {
            let _ = c.stream(StreamType::Stderr, id, &stderr, &mut out);
            let _ = c.end_stream(StreamType::Stderr, id, &mut out);
        }
        if !sh.has(Fault::NoStdoutEnd) {
            if wrong_id.is_some() {
                let _ = enc.end_stream(StreamType::Stdout, write_id, &mut out);
            } else {
                let _ = c.end_stream(StreamType::Stdout, id, &mut out);
            }
        }
        let mut end = Vec::with_capacity(16);
        let app_status = u32::from(aborted);
        let closing = c
            .end_request(id, app_status, ProtocolStatus::RequestComplete, &mut end)
            .unwrap_or(true);
        if sh.has(Fault::ShortEndRequest) {
            let mut short = Vec::new();
            let _ = enc.record(
                RecordType::EndRequest,
                id.get(),
                &[0, 0, 0, 0, 0],
                &mut short,
            );
            end = short;
        }
        if wrong_id.is_some() {
            end.clear();
            let _ = enc.end_request(
                write_id,
                app_status,
                ProtocolStatus::RequestComplete,
                &mut end,
            );
        }
        out.extend_from_slice(&end);
        if sh.has(Fault::RecordAfterEnd) {
            let _ = enc.end_stream(StreamType::Stdout, id.get(), &mut out);
        }
        close = if sh.has(Fault::NoCloseWithoutKeepConn) {
            false
        } else if sh.has(Fault::CloseDespiteKeepConn) {
            c.active().next().is_none()
        } else {
            closing && c.should_close()
        };
    }
    sh.send(out).await;
    if close {
        sh.close().await;
    }
}
