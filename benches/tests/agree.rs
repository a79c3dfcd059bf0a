//! Before any figure is trusted: the inputs are what the docs say, and ours
//! and each peer do the same work on them (same pairs, same records, same
//! bytes out), so no bench compares a real decode with a failed one.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use fcgi_benches::{inputs, ours, peers, reference};
use fcgi_proto::connection::Application;
use fcgi_proto::decoder::Decoder;
use fcgi_proto::name_value::{self, LengthForm};
use fcgi_proto::record::records;

#[test]
fn nginx_capture_is_a_whole_request_with_27_short_pairs() {
    let kinds: Vec<_> = records(inputs::NGINX_GET_REQUEST)
        .map(|r| r.unwrap().record_type().name())
        .collect();
    assert_eq!(kinds, ["BEGIN_REQUEST", "PARAMS", "PARAMS", "STDIN"]);
    let block = inputs::nginx_params();
    assert_eq!(block.len(), 779);
    let mut it = name_value::pairs(&block);
    let mut n = 0;
    while let Some(p) = it.next_pair() {
        let p = p.unwrap();
        assert_eq!(
            (p.name_form, p.value_form),
            (LengthForm::Short, LengthForm::Short)
        );
        n += 1;
    }
    assert_eq!(n, 27);
    // The async-fcgi variant needs no cut for this capture.
    assert_eq!(inputs::nginx_params_short(), block);
}

#[test]
fn blocks_have_the_advertised_shape() {
    let long = inputs::long_params();
    let pairs: Vec<_> = name_value::pairs(&long).map(Result::unwrap).collect();
    assert_eq!(pairs.len(), 4);
    assert!(pairs.iter().all(|(_, v)| v.len() == 65536));
    let mut it = name_value::pairs(&long);
    assert_eq!(
        it.next_pair().unwrap().unwrap().value_form,
        LengthForm::Long
    );
    let tiny = inputs::tiny_params();
    assert_eq!(tiny.len(), inputs::TINY_PAIRS * 4);
    assert_eq!(
        ours::decode_params(&tiny).unwrap().pairs,
        inputs::TINY_PAIRS
    );
}

#[test]
fn the_limit_block_has_exactly_the_default_pair_limit() {
    let block = inputs::limit_params();
    // docs/performance.md gives this size.
    assert_eq!(block.len(), 118_040);
    let n = name_value::validate(&block, 0, inputs::LIMIT_PAIRS).unwrap();
    assert_eq!(n, inputs::LIMIT_PAIRS);
    assert!(name_value::validate(&block, 0, inputs::LIMIT_PAIRS - 1).is_err());
}

/// The floor walks the same pairs as the decoder: same count, same bytes,
/// same checksum, on every block; and it refuses what the decoder refuses.
#[test]
fn skip_walk_sees_the_pairs_ours_sees_and_fails_where_ours_fails() {
    for b in inputs::blocks() {
        assert_eq!(
            reference::skip_walk(&b.bytes),
            Some(ours::decode_params(&b.bytes).unwrap()),
            "{}",
            b.name
        );
    }
    let block = inputs::nginx_params();
    // Every cut inside the block that is not at a pair boundary is an error
    // for both; a cut at a boundary is a shorter valid block for both.
    for cut in 0..block.len() {
        let part = &block[..cut];
        assert_eq!(
            reference::skip_walk(part),
            ours::decode_params(part).ok(),
            "cut at {cut}"
        );
    }
    // A 4-byte length that declares more than is present.
    assert_eq!(
        reference::skip_walk(&[0xff, 0xff, 0xff, 0xff, 1, b'a']),
        None
    );
}

#[test]
fn record_streams_decode_whole_and_chunked_alike() {
    for size in inputs::RECORD_SIZES {
        let wire = inputs::stdout_stream(size);
        let whole = ours::decode_records(&wire).unwrap();
        assert_eq!(whole.content, inputs::STREAM_BYTES);
        assert_eq!(whole.records, inputs::STREAM_BYTES.div_ceil(size) + 1);
        let mut dec = Decoder::new();
        for _ in 0..2 {
            let chunked = ours::decode_records_chunked(&wire, inputs::CHUNK, &mut dec).unwrap();
            assert_eq!(chunked, whole);
        }
        let mut out = Vec::new();
        ours::encode_records(
            &inputs::encoder_for(size),
            &inputs::stdout_payload(),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, wire);
    }
}

#[test]
fn ours_and_tokio_fastcgi_see_the_same_request() {
    let mut conn = Application::default();
    let a = ours::receive_request(inputs::NGINX_GET_REQUEST, &mut conn).unwrap();
    let mut conn = Application::default();
    let b = ours::receive_request_in_place(inputs::NGINX_GET_REQUEST, &mut conn).unwrap();
    assert_eq!(a, b);
    assert_eq!((a.request_id, a.params.pairs, a.stdin), (1, 27, 0));
    assert_eq!(
        peers::tokio_fastcgi::receive_request(inputs::NGINX_GET_REQUEST),
        Some(27)
    );
    assert!(peers::tokio_fastcgi::receive_request_only(
        inputs::NGINX_GET_REQUEST
    ));
    assert!(peers::tokio_fastcgi::serve_request(
        inputs::NGINX_GET_REQUEST,
        inputs::RESPONSE_BODY
    ));
    let mut out = Vec::new();
    let s =
        ours::serve_request(inputs::NGINX_GET_REQUEST, inputs::RESPONSE_BODY, &mut out).unwrap();
    let kinds: Vec<_> = records(&out)
        .map(|r| r.unwrap().record_type().name())
        .collect();
    assert_eq!(kinds, ["STDOUT", "STDOUT", "END_REQUEST"]);
    assert_eq!(s.written, out.len());
}

#[test]
fn ours_and_fastcgi_client_write_the_same_request() {
    let block = inputs::nginx_params();
    let pairs = inputs::pair_list(&block);
    let response = inputs::response_stream();
    let mut out = Vec::new();
    let mut stdout = Vec::new();
    let n = ours::client_request(&pairs, &response, &mut out, &mut stdout).unwrap();
    assert_eq!(stdout, inputs::RESPONSE_BODY);
    let params = peers::fastcgi_client::params(&pairs).unwrap();
    assert_eq!(
        peers::fastcgi_client::execute_once(params, &response),
        Some(n)
    );
    // Same records and the same set of pairs; the pair order differs
    // (fastcgi-client keeps params in a HashMap).
    let params = peers::fastcgi_client::params(&pairs).unwrap();
    let theirs = peers::fastcgi_client::request_bytes(params, &response).unwrap();
    // fastcgi-client 0.12 writes the empty STDIN record twice (its batch
    // writer emits one empty record for an empty body, then the explicit
    // end of stream adds another): 8 bytes more than ours.
    assert_eq!(theirs.len(), out.len() + 8);
    let summary = |wire: &[u8]| {
        let mut kinds = Vec::new();
        let mut got: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for r in records(wire) {
            let r = r.unwrap();
            kinds.push((r.record_type().name(), r.content.len()));
            for (n, v) in name_value::pairs(r.content).map_while(Result::ok) {
                if r.record_type().name() == "PARAMS" {
                    got.push((n.to_vec(), v.to_vec()));
                }
            }
        }
        got.sort();
        (kinds, got)
    };
    let (mut their_kinds, their_pairs) = summary(&theirs);
    assert_eq!(their_kinds.pop(), Some(("STDIN", 0)));
    assert_eq!((their_kinds, their_pairs), summary(&out));
}

#[cfg(feature = "agpl-peers")]
#[test]
fn ours_and_async_fcgi_agree_on_params() {
    use bytes::{Bytes, BytesMut};
    use fcgi_proto::encoder::Encoder;
    for b in inputs::blocks().into_iter().filter(|b| b.async_fcgi_ok) {
        let theirs = peers::async_fcgi::decode_params(&Bytes::copy_from_slice(&b.bytes));
        assert_eq!(theirs, ours::decode_params(&b.bytes).unwrap(), "{}", b.name);
        let pairs = inputs::pair_list(&b.bytes);
        let mut mine = Vec::new();
        Encoder::default()
            .params(1, pairs.iter().copied(), &mut mine)
            .unwrap();
        let mut buf = BytesMut::new();
        let n = peers::async_fcgi::encode_params_record(
            &peers::async_fcgi::pair_list(&pairs),
            &mut buf,
        )
        .unwrap();
        assert_eq!(n, mine.len(), "{}", b.name);
        // Padding bytes are unspecified (async-fcgi leaves them as they were).
        let body = 8 + b.bytes.len();
        assert_eq!(&buf[..body], &mine[..body], "{}", b.name);
    }
}

#[cfg(feature = "agpl-peers")]
#[test]
fn async_fcgi_stdin_records_match_ours_but_for_the_type() {
    use bytes::{Bytes, BytesMut};
    let data = inputs::stdout_payload();
    let mut buf = BytesMut::new();
    let n = peers::async_fcgi::encode_stdin(&Bytes::copy_from_slice(&data), &mut buf);
    let mine = inputs::stdout_stream(65535);
    assert_eq!(n, mine.len());
    let theirs: Vec<_> = records(&buf).map(|r| r.unwrap()).collect();
    let ours: Vec<_> = records(&mine).map(|r| r.unwrap()).collect();
    assert_eq!(theirs.len(), ours.len());
    for (t, o) in theirs.iter().zip(&ours) {
        assert_eq!(t.record_type().name(), "STDIN");
        assert_eq!(t.content, o.content);
    }
}
