//! Inputs and drivers shared by the criterion benches (`benches/codec.rs`),
//! the instruction counter (`src/bin/icount.rs`) and the tests.
//!
//! Every function here does one unit of work that a bench times: "ours"
//! drives `fcgi-proto`, [`peers`] drives the other FastCGI crates on the
//! same bytes, and [`reference`] gives what they are read against (a copy
//! and a scan of the same bytes; a skip-only walk of the same pairs, the
//! floor of a params decode). See docs/performance.md for the figures.
#![forbid(unsafe_code)]

pub mod inputs;
pub mod ours;
pub mod peers;
pub mod reference;

use std::future::Future;
use std::task::{Context, Poll, Waker};

/// Drives a future that never waits on anything outside itself (all the
/// peers here read from memory and write to memory) to completion on the
/// calling thread, without a runtime. `None` if it is still pending after
/// a bounded number of polls, which would mean it waits on real I/O.
pub fn block_on<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1024 {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Some(v);
        }
    }
    None
}
