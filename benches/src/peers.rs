//! The other FastCGI crates, each driven through its public API on the
//! same bytes as ours, over in-memory readers and writers.
//!
//! - tokio-fastcgi 1.3 (application side) exposes no record or name-value
//!   decoder of its own: only `Requests::next`, which reads whole requests.
//! - fastcgi-client 0.12 (web-server side) exposes no encoder: only
//!   `Client::execute_once`, which writes a request and reads the response.
//! - async-fcgi 0.5 (AGPL-3.0, feature `agpl-peers`) exposes
//!   `NameValuePair::parse` and `NVBody`; its record reader is crate-private.

use std::borrow::Cow;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::block_on;

/// tokio-fastcgi 1.3: the application side.
pub mod tokio_fastcgi {
    use super::*;
    use ::tokio_fastcgi::{RequestResult, Requests};

    /// Reads one whole request with `Requests::next` from `wire` (an
    /// in-memory `AsyncRead`), answers to a sink; returns the number of
    /// params it parsed, `None` if it failed.
    pub fn receive_request(wire: &[u8]) -> Option<usize> {
        block_on(async {
            let mut reqs = Requests::new(wire, ::tokio::io::sink(), 1, 1);
            let req = reqs.next().await.ok()??;
            let n = req.params_iter().map(|i| i.count())?;
            Some(n)
        })?
    }

    /// Same as [`receive_request`] without looking at the params after:
    /// the unit the benches time.
    pub fn receive_request_only(wire: &[u8]) -> bool {
        block_on(async {
            let mut reqs = Requests::new(wire, ::tokio::io::sink(), 1, 1);
            matches!(reqs.next().await, Ok(Some(_)))
        })
        .unwrap_or(false)
    }

    /// One whole request: `Requests::next`, then `Request::process` with a
    /// handler that writes `body` to STDOUT; tokio-fastcgi then ends STDOUT
    /// and STDERR and writes END_REQUEST, into a sink.
    pub fn serve_request(wire: &[u8], body: &'static [u8]) -> bool {
        block_on(async {
            let mut reqs = Requests::new(wire, ::tokio::io::sink(), 1, 1);
            let Ok(Some(req)) = reqs.next().await else {
                return false;
            };
            req.process(|r| async move {
                match r.get_stdout().write(body).await {
                    Ok(_) => RequestResult::Complete(0),
                    Err(_) => RequestResult::Complete(1),
                }
            })
            .await
            .is_ok()
        })
        .unwrap_or(false)
    }
}

/// A duplex stream in memory for fastcgi-client: reads come from a fixed
/// response, writes are appended to a `Vec`.
pub struct MemStream<'a> {
    input: &'a [u8],
    /// Everything the client wrote.
    pub written: Vec<u8>,
}

impl<'a> MemStream<'a> {
    /// A stream that will answer with `input`.
    pub fn new(input: &'a [u8]) -> Self {
        MemStream {
            input,
            written: Vec::new(),
        }
    }
}

impl futures_io::AsyncRead for MemStream<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = buf.len().min(self.input.len());
        let (head, rest) = self.input.split_at(n);
        if let Some(dst) = buf.get_mut(..n) {
            dst.copy_from_slice(head);
        }
        self.input = rest;
        Poll::Ready(Ok(n))
    }
}

impl futures_io::AsyncWrite for MemStream<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.written.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// fastcgi-client 0.12: the web-server side.
pub mod fastcgi_client {
    use super::*;
    use ::fastcgi_client::{io::empty, Client, Params, Request};

    /// The client's params, borrowed from `pairs` (its API takes `str`);
    /// `None` if a name or value is not UTF-8.
    pub fn params<'p>(pairs: &[(&'p [u8], &'p [u8])]) -> Option<Params<'p>> {
        let mut p = Params::default();
        p.clear();
        for (n, v) in pairs {
            let n = std::str::from_utf8(n).ok()?;
            let v = std::str::from_utf8(v).ok()?;
            p.insert(Cow::Borrowed(n), Cow::Borrowed(v));
        }
        Some(p)
    }

    /// `Client::execute_once` over a [`MemStream`] that answers `response`:
    /// writes BEGIN_REQUEST, PARAMS and an empty STDIN, then reads the
    /// response. Returns the STDOUT length, `None` on failure.
    pub fn execute_once(params: Params<'_>, response: &[u8]) -> Option<usize> {
        block_on(async {
            let client = Client::new(MemStream::new(response));
            let resp = client
                .execute_once(Request::new(params, empty()))
                .await
                .ok()?;
            Some(resp.stdout.map_or(0, |s| s.len()))
        })?
    }

    /// The bytes `execute_once` writes for `params` (to compare with ours).
    pub fn request_bytes(params: Params<'_>, response: &[u8]) -> Option<Vec<u8>> {
        block_on(async {
            let mut stream = MemStream::new(response);
            let client = Client::new(&mut stream);
            client
                .execute_once(Request::new(params, empty()))
                .await
                .ok()?;
            Some(stream.written)
        })?
    }
}

/// async-fcgi 0.5 (AGPL-3.0): its name-value pair parser and builder.
#[cfg(feature = "agpl-peers")]
pub mod async_fcgi {
    use crate::ours::PairSum;
    use ::async_fcgi::fastcgi::{NVBody, NameValuePair, RecordType};
    use bytes::{Bytes, BytesMut};

    /// Decodes a whole block with `NameValuePair::parse` until it is
    /// empty. Each pair is two `Bytes` sharing the block (reference
    /// counted). Panics, inside async-fcgi, on any 4-byte length.
    pub fn decode_params(block: &Bytes) -> PairSum {
        let mut b = block.clone();
        let mut sum = PairSum::default();
        while !b.is_empty() {
            let p = NameValuePair::parse(&mut b);
            sum.add(&p.name_data, &p.value_data);
        }
        sum
    }

    /// The pairs as `Bytes` (async-fcgi's input type), made once.
    pub fn pair_list(pairs: &[(&[u8], &[u8])]) -> Vec<(Bytes, Bytes)> {
        pairs
            .iter()
            .map(|(n, v)| (Bytes::copy_from_slice(n), Bytes::copy_from_slice(v)))
            .collect()
    }

    /// Encodes pairs into one PARAMS record for request 1 with
    /// `NVBody::add`, `NVBody::to_record` and `Record::append` into `out`
    /// (cleared, and reserved so that async-fcgi's padding write fits).
    /// `None` if a pair does not fit (async-fcgi's limit: one record).
    pub fn encode_params_record(pairs: &[(Bytes, Bytes)], out: &mut BytesMut) -> Option<usize> {
        let mut body = NVBody::new();
        let mut len = 0usize;
        for (n, v) in pairs {
            let p = NameValuePair::new(n.clone(), v.clone());
            len += p.len();
            body.add(p).ok()?;
        }
        out.clear();
        out.reserve(len + 16);
        body.to_record(RecordType::Params, 1).append(out);
        Some(out.len())
    }

    /// Encodes `data` as STDIN records with `STDINBody::new` and
    /// `Record::append` into `out` (cleared and reserved): async-fcgi's only
    /// public stream-record writer. It always fills records to 65535 bytes
    /// and writes STDIN only (the web server's direction), so it is timed
    /// beside our STDOUT encode of 65535-byte records: same sizes, same work.
    pub fn encode_stdin(data: &Bytes, out: &mut BytesMut) -> usize {
        use ::async_fcgi::fastcgi::STDINBody;
        let mut rest = data.clone();
        out.clear();
        out.reserve(data.len() + data.len() / 65535 * 16 + 64);
        loop {
            let last = rest.is_empty();
            STDINBody::new(1, &mut rest).append(out);
            if last {
                break;
            }
        }
        out.len()
    }
}
