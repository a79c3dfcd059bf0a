//! The decode paths allocate nothing per pair and nothing per record
//! (issue 7): a counting global allocator watches them.
//!
//! The allocator is the one place in this crate with `unsafe`: a
//! `GlobalAlloc` impl cannot be written without it. It only forwards to the
//! system allocator and bumps a per-thread counter, so tests running on
//! other threads do not disturb each other's counts.
#![deny(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use fcgi_benches::{inputs, ours};
use fcgi_proto::decoder::Decoder;
use fcgi_proto::name_value;
use fcgi_proto::record::records;

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn bump() {
    // `try_with`: the slot may be gone while the thread is being torn down.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counter itself never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made on this thread while `f` runs, and its result.
fn count<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCS.with(Cell::get);
    let r = f();
    (ALLOCS.with(Cell::get) - before, r)
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the guard: a counter stuck at zero would pass everything below.
    let (n, v) = count(|| std::hint::black_box(vec![1u8; 100]));
    assert!(n >= 1, "counted {n}");
    drop(v);
}

#[test]
fn params_decode_allocates_nothing() {
    for b in inputs::blocks() {
        let (n, sum) = count(|| {
            let mut pairs = 0usize;
            for p in name_value::pairs(&b.bytes) {
                let (name, value) = p.unwrap();
                std::hint::black_box((name, value));
                pairs += 1;
            }
            pairs
        });
        assert!(sum > 0, "{}", b.name);
        assert_eq!(n, 0, "{}: {n} allocations for {sum} pairs", b.name);
        let (n, s) = count(|| ours::decode_params(&b.bytes));
        assert_eq!(n, 0, "{}: decode_params allocated", b.name);
        assert_eq!(s.unwrap().pairs, sum);
    }
}

#[test]
fn whole_buffer_record_parsing_allocates_nothing() {
    for size in inputs::RECORD_SIZES {
        let wire = inputs::stdout_stream(size);
        let (n, recs) = count(|| {
            let mut k = 0usize;
            for r in records(&wire) {
                std::hint::black_box(r.unwrap());
                k += 1;
            }
            k
        });
        assert!(recs > 16, "{size}");
        assert_eq!(
            n, 0,
            "{size}-byte records: {n} allocations for {recs} records"
        );
    }
}

#[test]
fn chunked_decoder_allocates_per_buffer_growth_not_per_record() {
    for size in inputs::RECORD_SIZES {
        let wire = inputs::stdout_stream(size);
        let mut dec = Decoder::new();
        let (first, s) = count(|| ours::decode_records_chunked(&wire, inputs::CHUNK, &mut dec));
        let recs = s.unwrap().records;
        // The buffer grows to hold the largest record (log2 steps), no more.
        assert!(
            first <= 20,
            "{size}: {first} allocations for {recs} records"
        );
        // Warm: the same decoder on a second stream allocates nothing.
        let (again, _) = count(|| ours::decode_records_chunked(&wire, inputs::CHUNK, &mut dec));
        assert_eq!(again, 0, "{size}: warm decoder allocated {again} times");
    }
}
