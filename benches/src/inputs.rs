//! The bytes every bench works on, built once and shared with the peers.

use core::num::NonZeroU16;
use fcgi_proto::encoder::Encoder;
use fcgi_proto::name_value::{self, MAX_SHORT_LEN};
use fcgi_proto::record::{records, RecordType};
use fcgi_proto::stream::StreamType;

/// A whole FastCGI request as nginx 1.22.1 sent it to a FastCGI app
/// (`GET /index.php?a=1`, `fastcgi_keep_conn on`, browser-like headers):
/// BEGIN_REQUEST, one PARAMS record of 779 bytes (27 pairs), the empty
/// PARAMS record and the empty STDIN record. Copied from
/// `conformance/peers/nginx/captures/get-request.bin`, recorded by
/// `conformance/peers/tools/capture.sh`.
pub const NGINX_GET_REQUEST: &[u8] = include_bytes!("../data/nginx-get-request.bin");

/// The body our application, and each peer application, writes back.
pub const RESPONSE_BODY: &[u8] =
    b"Content-type: text/html; charset=UTF-8\r\n\r\n<!doctype html><title>ok</title><p>hello</p>\n";

/// Bytes of STDOUT in the record-stream benches: 1 MiB.
pub const STREAM_BYTES: usize = 1 << 20;

/// Content sizes per record in the record-stream benches (§3.3): 8 B,
/// 1 KiB, 8 KiB and the largest record, 65535 B.
pub const RECORD_SIZES: [usize; 4] = [8, 1024, 8192, 65535];

/// Feed size of the chunked record decode: 1 KiB reads.
pub const CHUNK: usize = 1024;

/// The PARAMS stream content of [`NGINX_GET_REQUEST`]: the realistic
/// nginx-to-php-fpm name-value block (§3.4, §5.2). Empty if the capture
/// were malformed (the tests check it is not).
pub fn nginx_params() -> Vec<u8> {
    let mut block = Vec::new();
    for r in records(NGINX_GET_REQUEST).map_while(Result::ok) {
        if r.record_type() == RecordType::Params {
            block.extend_from_slice(r.content);
        }
    }
    block
}

/// The same block with every name and value cut to at most 127 bytes, so
/// that every length takes the 1-byte form: async-fcgi 0.5 panics on any
/// 4-byte length. The nginx capture needs no cut (its longest value is 70
/// bytes), so this is byte-for-byte [`nginx_params`]; it is kept so that a
/// new capture cannot hand async-fcgi a long length.
pub fn nginx_params_short() -> Vec<u8> {
    let mut out = Vec::new();
    for (n, v) in name_value::pairs(&nginx_params()).map_while(Result::ok) {
        let n = n.get(..n.len().min(MAX_SHORT_LEN)).unwrap_or_default();
        let v = v.get(..v.len().min(MAX_SHORT_LEN)).unwrap_or_default();
        // Both lengths are at most 127: the short form cannot fail.
        let _ = name_value::encode_pair(n, v, &mut out);
    }
    out
}

/// Pairs with long values (4-byte lengths, §3.4 R-3.4-2): 4 values of
/// 64 KiB each, as a large cookie or forwarded header would make.
pub fn long_params() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..4u8 {
        let name = format!("HTTP_X_LONG_VALUE_{i}");
        let value: Vec<u8> = (0..65536u32)
            .map(|j| b'a' + ((j + u32::from(i)) % 26) as u8)
            .collect();
        let _ = name_value::encode_pair(name.as_bytes(), &value, &mut out);
    }
    out
}

/// Pairs in the pathological block: 16000 pairs of a 1-byte name and a
/// 1-byte value, 4 bytes each, 64000 bytes: under the 65535 bytes one
/// async-fcgi NVBody can hold.
pub const TINY_PAIRS: usize = 16000;

/// The pathological block: thousands of tiny pairs.
pub fn tiny_params() -> Vec<u8> {
    let mut out = Vec::with_capacity(TINY_PAIRS * 4);
    for i in 0..TINY_PAIRS {
        let n = [b'A' + (i % 26) as u8];
        let v = [b'0' + (i % 10) as u8];
        let _ = name_value::encode_pair(&n, &v, &mut out);
    }
    out
}

/// Pairs in the largest block a request may carry by default:
/// `Limits::max_pairs` is 4096 (§5.2).
pub const LIMIT_PAIRS: usize = 4096;

/// [`LIMIT_PAIRS`] pairs taken in turn from the nginx block: the realistic
/// mix of names and values, at the default pair limit (about 115 KiB).
pub fn limit_params() -> Vec<u8> {
    let nginx = nginx_params();
    let list = pair_list(&nginx);
    let mut out = Vec::new();
    for (n, v) in list.iter().cycle().take(LIMIT_PAIRS) {
        // Every pair came out of a valid block: re-encoding cannot fail.
        let _ = name_value::encode_pair(n, v, &mut out);
    }
    out
}

/// A named params block for the benches.
pub struct Block {
    /// Bench name of the block.
    pub name: &'static str,
    /// The name-value block.
    pub bytes: Vec<u8>,
    /// Whether async-fcgi 0.5 can take it: every length under 128 and the
    /// whole under 65536 bytes.
    pub async_fcgi_ok: bool,
}

/// The four blocks, in the order the report lists them.
pub fn blocks() -> Vec<Block> {
    vec![
        Block {
            name: "nginx",
            bytes: nginx_params_short(),
            async_fcgi_ok: true,
        },
        Block {
            name: "long-64KiB",
            bytes: long_params(),
            async_fcgi_ok: false,
        },
        Block {
            name: "pairs-4096",
            bytes: limit_params(),
            async_fcgi_ok: false,
        },
        Block {
            name: "tiny-16000",
            bytes: tiny_params(),
            async_fcgi_ok: true,
        },
    ]
}

/// The pairs of a block as borrowed slices (the encoder's input).
pub fn pair_list(block: &[u8]) -> Vec<(&[u8], &[u8])> {
    name_value::pairs(block).map_while(Result::ok).collect()
}

/// 1 MiB of STDOUT data: a deterministic, not very compressible pattern.
pub fn stdout_payload() -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..STREAM_BYTES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// The encoder that splits a stream into records of `size` content bytes,
/// padded to 8 as the spec recommends.
pub fn encoder_for(size: usize) -> Encoder {
    match u16::try_from(size).ok().and_then(NonZeroU16::new) {
        Some(max) => Encoder::default().with_max_record_content(max),
        None => Encoder::default(),
    }
}

/// [`stdout_payload`] as STDOUT records of `size` content bytes for request
/// 1, followed by the empty record that ends the stream (§5.3).
pub fn stdout_stream(size: usize) -> Vec<u8> {
    let enc = encoder_for(size);
    let mut out = Vec::new();
    let _ = enc.stream(StreamType::Stdout, 1, &stdout_payload(), &mut out);
    let _ = enc.end_stream(StreamType::Stdout, 1, &mut out);
    out
}

/// What the application sends back to the web server for one request:
/// STDOUT with [`RESPONSE_BODY`], the empty STDOUT and END_REQUEST.
pub fn response_stream() -> Vec<u8> {
    let enc = Encoder::default();
    let mut out = Vec::new();
    let _ = enc.stream(StreamType::Stdout, 1, RESPONSE_BODY, &mut out);
    let _ = enc.end_stream(StreamType::Stdout, 1, &mut out);
    let _ = enc.end_request(
        1,
        0,
        fcgi_proto::application::ProtocolStatus::RequestComplete,
        &mut out,
    );
    out
}
