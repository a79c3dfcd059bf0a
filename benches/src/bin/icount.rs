//! Runs one operation N times, for instruction counts under callgrind:
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null icount <op> <n>
//! ```
//!
//! Running each op twice with different N and dividing the difference in
//! instructions by the difference in N gives instructions per operation
//! with start-up and input building cancelled out (`benches/run.sh` does
//! this). Ops: `params-decode-nginx`, `params-decode-tiny`,
//! `params-encode-nginx`, `record-decode-8k` (1 MiB, whole buffer),
//! `record-decode-chunked-8` (1 MiB of 8-byte records, 1 KiB reads), `request-receive`,
//! `request-serve`, `client-request`; `list` prints them.
#![forbid(unsafe_code)]

use std::hint::black_box;
use std::process::ExitCode;

use fcgi_benches::{inputs, ours};
use fcgi_proto::app;
use fcgi_proto::decoder::Decoder;
use fcgi_proto::encoder::Encoder;

const OPS: [&str; 8] = [
    "params-decode-nginx",
    "params-decode-tiny",
    "params-encode-nginx",
    "record-decode-8k",
    "record-decode-chunked-8",
    "request-receive",
    "request-serve",
    "client-request",
];

fn run(op: &str, n: u64) -> Result<u64, String> {
    let err = |e: fcgi_proto::Error| e.to_string();
    let mut check = 0u64;
    match op {
        "params-decode-nginx" | "params-decode-tiny" => {
            let block = if op.ends_with("nginx") {
                inputs::nginx_params()
            } else {
                inputs::tiny_params()
            };
            for _ in 0..n {
                check += ours::decode_params(black_box(&block)).map_err(err)?.pairs as u64;
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
                let mut conn = app::Connection::default();
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
