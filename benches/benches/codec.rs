//! Criterion benches of fcgi-proto beside memcpy, a byte scan and the other
//! FastCGI crates, each group timing all of them on the same bytes in the
//! same run. The params decode groups also time the skip-only walk of the
//! same pairs (`reference::skip_walk`), the floor the decoder is read
//! against; memcpy and the scan are context there. `benches/run.sh` runs them and prints the table in
//! docs/performance.md.
#![forbid(unsafe_code)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput};
use fcgi_benches::{inputs, ours, peers, reference};
use fcgi_proto::connection::Application;
use fcgi_proto::decoder::Decoder;
use fcgi_proto::encoder::Encoder;

/// memcpy and scan of `bytes`, in the current group.
fn physical(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, bytes: &[u8]) {
    let mut dst = vec![0u8; bytes.len()];
    g.bench_function("memcpy", |b| {
        b.iter(|| reference::memcpy(black_box(bytes), black_box(&mut dst)))
    });
    g.bench_function("scan", |b| b.iter(|| reference::scan(black_box(bytes))));
}

fn params_decode(c: &mut Criterion) {
    for blk in inputs::blocks() {
        let bytes = &blk.bytes;
        let pairs = ours::decode_params(bytes).map_or(0, |s| s.pairs);
        #[cfg(feature = "agpl-peers")]
        let shared = bytes::Bytes::copy_from_slice(bytes);
        for (unit, tp) in [
            ("bytes", Throughput::Bytes(bytes.len() as u64)),
            ("pairs", Throughput::Elements(pairs as u64)),
        ] {
            let mut g = c.benchmark_group(format!("params_decode_{unit}/{}", blk.name));
            g.throughput(tp);
            if blk.name.starts_with("tiny") {
                g.sampling_mode(SamplingMode::Flat).sample_size(30);
            }
            g.bench_function("ours", |b| b.iter(|| ours::decode_params(black_box(bytes))));
            g.bench_function("skip-walk", |b| {
                b.iter(|| reference::skip_walk(black_box(bytes)))
            });
            #[cfg(feature = "agpl-peers")]
            if blk.async_fcgi_ok {
                g.bench_function("async-fcgi", |b| {
                    b.iter(|| peers::async_fcgi::decode_params(black_box(&shared)))
                });
            }
            if unit == "bytes" {
                physical(&mut g, bytes);
            }
            g.finish();
        }
    }
}

fn params_encode(c: &mut Criterion) {
    for blk in inputs::blocks() {
        let bytes = &blk.bytes;
        let list = inputs::pair_list(bytes);
        #[cfg(feature = "agpl-peers")]
        let shared = peers::async_fcgi::pair_list(&list);
        for (unit, tp) in [
            ("bytes", Throughput::Bytes(bytes.len() as u64)),
            ("pairs", Throughput::Elements(list.len() as u64)),
        ] {
            let mut g = c.benchmark_group(format!("params_encode_{unit}/{}", blk.name));
            g.throughput(tp);
            if blk.name.starts_with("tiny") {
                // async-fcgi takes about half a second per tiny block.
                g.sampling_mode(SamplingMode::Flat).sample_size(10);
            }
            // A whole PARAMS record (stream) as the encoder's public API writes it.
            let enc = Encoder::default();
            let mut out = Vec::with_capacity(bytes.len() * 2 + 64);
            g.bench_function("ours", |b| {
                b.iter(|| {
                    out.clear();
                    enc.params(1, black_box(&list).iter().copied(), &mut out)
                })
            });
            #[cfg(feature = "agpl-peers")]
            if blk.async_fcgi_ok {
                let mut buf = bytes::BytesMut::with_capacity(bytes.len() + 64);
                g.bench_function("async-fcgi", |b| {
                    b.iter(|| peers::async_fcgi::encode_params_record(black_box(&shared), &mut buf))
                });
            }
            if unit == "bytes" {
                // The bare block, pair by pair into a reused buffer.
                let mut out = Vec::with_capacity(bytes.len());
                g.bench_function("ours-block", |b| {
                    b.iter(|| ours::encode_params(black_box(&list), &mut out))
                });
                physical(&mut g, bytes);
            }
            g.finish();
        }
    }
}

fn record_decode(c: &mut Criterion) {
    for size in inputs::RECORD_SIZES {
        let wire = inputs::stdout_stream(size);
        let mut g = c.benchmark_group(format!("record_decode/{size}"));
        g.sampling_mode(SamplingMode::Flat).sample_size(30);
        g.throughput(Throughput::Bytes(wire.len() as u64));
        g.bench_function("ours-whole", |b| {
            b.iter(|| ours::decode_records(black_box(&wire)))
        });
        let mut dec = Decoder::new();
        g.bench_function("ours-chunked-1KiB", |b| {
            b.iter(|| ours::decode_records_chunked(black_box(&wire), inputs::CHUNK, &mut dec))
        });
        physical(&mut g, &wire);
        g.finish();
    }
}

fn record_encode(c: &mut Criterion) {
    let data = inputs::stdout_payload();
    for size in inputs::RECORD_SIZES {
        let enc = inputs::encoder_for(size);
        let wire_len = inputs::stdout_stream(size).len();
        let mut g = c.benchmark_group(format!("record_encode/{size}"));
        g.sampling_mode(SamplingMode::Flat).sample_size(30);
        g.throughput(Throughput::Bytes(wire_len as u64));
        let mut out = Vec::with_capacity(wire_len);
        g.bench_function("ours", |b| {
            b.iter(|| ours::encode_records(&enc, black_box(&data), &mut out))
        });
        #[cfg(feature = "agpl-peers")]
        if size == 65535 {
            let shared = bytes::Bytes::copy_from_slice(&data);
            let mut buf = bytes::BytesMut::new();
            g.bench_function("async-fcgi-stdin", |b| {
                b.iter(|| peers::async_fcgi::encode_stdin(black_box(&shared), &mut buf))
            });
        }
        physical(&mut g, &data);
        g.finish();
    }
}

fn whole_request(c: &mut Criterion) {
    let wire = inputs::NGINX_GET_REQUEST;
    let mut g = c.benchmark_group("request_receive/nginx-get");
    g.throughput(Throughput::Elements(1));
    g.bench_function("ours-decoder", |b| {
        b.iter(|| {
            let mut conn = Application::default();
            ours::receive_request(black_box(wire), &mut conn)
        })
    });
    g.bench_function("ours-in-place", |b| {
        b.iter(|| {
            let mut conn = Application::default();
            ours::receive_request_in_place(black_box(wire), &mut conn)
        })
    });
    g.bench_function("tokio-fastcgi", |b| {
        b.iter(|| peers::tokio_fastcgi::receive_request_only(black_box(wire)))
    });
    physical(&mut g, wire);
    g.finish();

    let mut g = c.benchmark_group("request_serve/nginx-get");
    g.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(256);
    g.bench_function("ours", |b| {
        b.iter(|| ours::serve_request(black_box(wire), inputs::RESPONSE_BODY, &mut out))
    });
    g.bench_function("tokio-fastcgi", |b| {
        b.iter(|| peers::tokio_fastcgi::serve_request(black_box(wire), inputs::RESPONSE_BODY))
    });
    g.finish();

    let block = inputs::nginx_params();
    let list = inputs::pair_list(&block);
    let response = inputs::response_stream();
    let mut g = c.benchmark_group("client_request/nginx-get");
    g.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(1024);
    let mut stdout = Vec::with_capacity(256);
    g.bench_function("ours", |b| {
        b.iter(|| ours::client_request(black_box(&list), &response, &mut out, &mut stdout))
    });
    // fastcgi-client consumes its params: they are built outside the timing.
    g.bench_function("fastcgi-client", |b| {
        b.iter_batched(
            || peers::fastcgi_client::params(&list),
            |p| p.and_then(|p| peers::fastcgi_client::execute_once(p, black_box(&response))),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(
    benches,
    params_decode,
    params_encode,
    record_decode,
    record_encode,
    whole_request
);
criterion_main!(benches);
