//! Runs one operation N times, for instruction counts under callgrind:
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null icount <op> <n>
//! ```
//!
//! Running each op twice with different N and dividing the difference in
//! instructions by the difference in N gives instructions per operation
//! with start-up and input building cancelled out (`benches/run.sh` does
//! this). Ops: `params-decode-nginx`, `params-decode-4096`,
//! `params-decode-tiny`, the floor of each (`params-skip-walk-*`, the
//! skip-only walk of the same block),
//! `params-encode-nginx`, `record-decode-8k` (1 MiB, whole buffer),
//! `record-decode-chunked-8` (1 MiB of 8-byte records, 1 KiB reads), `request-receive`,
//! `request-serve`, `client-request`, and the same work done by the peers
//! (`peer-*`; async-fcgi ones with `--features agpl-peers`); `list` prints them.
#![forbid(unsafe_code)]

use std::hint::black_box;
use std::process::ExitCode;

use fcgi_benches::{inputs, ours, peers, reference};
use fcgi_proto::connection::Application;
use fcgi_proto::decoder::Decoder;
use fcgi_proto::encoder::Encoder;

const OPS: &[&str] = &[
    "params-decode-nginx",
    "params-decode-4096",
    "params-decode-tiny",
    "params-skip-walk-nginx",
    "params-skip-walk-4096",
    "params-skip-walk-tiny",
    "params-encode-nginx",
    "record-decode-8k",
    "record-decode-chunked-8",
    "request-receive",
    "request-serve",
    "client-request",
    "peer-tokio-fastcgi-request-receive",
    "peer-tokio-fastcgi-request-serve",
    "peer-fastcgi-client-request",
    #[cfg(feature = "agpl-peers")]
    "peer-async-fcgi-params-decode-nginx",
    #[cfg(feature = "agpl-peers")]
    "peer-async-fcgi-params-encode-nginx",
];

/// Every field of a params summary in one number, so that the optimiser
/// keeps all the work, as criterion's `black_box` of the summary does.
fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn fold(s: ours::PairSum) -> u64 {
    (s.pairs as u64)
        .wrapping_add(s.bytes as u64)
        .wrapping_add(s.check)
}

/// The block a params op names by its last word.
fn params_block(op: &str) -> Vec<u8> {
    if op.ends_with("nginx") {
        inputs::nginx_params()
    } else if op.ends_with("4096") {
        inputs::limit_params()
    } else {
        inputs::tiny_params()
    }
}

fn run(op: &str, n: u64) -> Result<u64, String> {
    let mut check = 0u64;
    match op {
        "params-decode-nginx" | "params-decode-4096" | "params-decode-tiny" => {
            let block = params_block(op);
            for _ in 0..n {
                check += fold(ours::decode_params(black_box(&block)).map_err(err)?);
            }
        }
        "params-skip-walk-nginx" | "params-skip-walk-4096" | "params-skip-walk-tiny" => {
            let block = params_block(op);
            for _ in 0..n {
                check +=
                    fold(reference::skip_walk(black_box(&block)).ok_or("skip walk: malformed")?);
            }
        }
        "params-encode-nginx" => {
            let block = inputs::nginx_params();
            let list = inputs::pair_list(&block);
            let enc = Encoder::default();
            let mut out = Vec::with_capacity(2048);
            for _ in 0..n {
                out.clear();
                enc.params(1, black_box(&list).iter().copied(), &mut out)
                    .map_err(err)?;
                check += out.len() as u64;
            }
        }
        "record-decode-8k" => {
            let wire = inputs::stdout_stream(8192);
            for _ in 0..n {
                check += ours::decode_records(black_box(&wire)).map_err(err)?.records as u64;
            }
        }
        "record-decode-chunked-8" => {
            let wire = inputs::stdout_stream(8);
            let mut dec = Decoder::new();
            for _ in 0..n {
                check += ours::decode_records_chunked(black_box(&wire), inputs::CHUNK, &mut dec)
                    .map_err(err)?
                    .records as u64;
            }
        }
        "request-receive" => {
            for _ in 0..n {
                let mut conn = Application::default();
                let s = ours::receive_request(black_box(inputs::NGINX_GET_REQUEST), &mut conn)
                    .map_err(err)?;
                check += s.params.pairs as u64;
            }
        }
        "request-serve" => {
            let mut out = Vec::with_capacity(256);
            for _ in 0..n {
                let s = ours::serve_request(
                    black_box(inputs::NGINX_GET_REQUEST),
                    inputs::RESPONSE_BODY,
                    &mut out,
                )
                .map_err(err)?;
                check += s.written as u64;
            }
        }
        "client-request" => {
            let block = inputs::nginx_params();
            let list = inputs::pair_list(&block);
            let response = inputs::response_stream();
            let (mut out, mut stdout) = (Vec::new(), Vec::new());
            for _ in 0..n {
                check += ours::client_request(black_box(&list), &response, &mut out, &mut stdout)
                    .map_err(err)? as u64;
            }
        }
        "peer-tokio-fastcgi-request-receive" => {
            for _ in 0..n {
                check += u64::from(peers::tokio_fastcgi::receive_request_only(black_box(
                    inputs::NGINX_GET_REQUEST,
                )));
            }
        }
        "peer-tokio-fastcgi-request-serve" => {
            for _ in 0..n {
                check += u64::from(peers::tokio_fastcgi::serve_request(
                    black_box(inputs::NGINX_GET_REQUEST),
                    inputs::RESPONSE_BODY,
                ));
            }
        }
        "peer-fastcgi-client-request" => {
            let block = inputs::nginx_params();
            let list = inputs::pair_list(&block);
            let response = inputs::response_stream();
            for _ in 0..n {
                // Building its params map is part of the count here
                // (criterion times it outside, with iter_batched).
                let p = peers::fastcgi_client::params(&list).ok_or("params")?;
                check += peers::fastcgi_client::execute_once(p, black_box(&response))
                    .ok_or("execute_once failed")? as u64;
            }
        }
        #[cfg(feature = "agpl-peers")]
        "peer-async-fcgi-params-decode-nginx" => {
            let block = bytes::Bytes::from(inputs::nginx_params_short());
            for _ in 0..n {
                check += peers::async_fcgi::decode_params(black_box(&block)).pairs as u64;
            }
        }
        #[cfg(feature = "agpl-peers")]
        "peer-async-fcgi-params-encode-nginx" => {
            let block = inputs::nginx_params_short();
            let list = peers::async_fcgi::pair_list(&inputs::pair_list(&block));
            let mut buf = bytes::BytesMut::new();
            for _ in 0..n {
                check += peers::async_fcgi::encode_params_record(black_box(&list), &mut buf)
                    .ok_or("encode failed")? as u64;
            }
        }
        other => return Err(format!("unknown op {other:?}; ops: {}", OPS.join(", "))),
    }
    Ok(check)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [l] if l == "list" => {
            for op in OPS {
                println!("{op}");
            }
            ExitCode::SUCCESS
        }
        [op, n] => match n.parse::<u64>() {
            Ok(n) => match run(op, n) {
                Ok(check) => {
                    println!("{op} x{n}: check {check}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("icount: {e}");
                    ExitCode::FAILURE
                }
            },
            Err(_) => {
                eprintln!("icount: N must be a number");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!("usage: icount <op> <n> | icount list");
            ExitCode::from(2)
        }
    }
}
