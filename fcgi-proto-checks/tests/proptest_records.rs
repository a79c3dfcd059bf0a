//! Property tests of records (§3.3): arbitrary record sequences (the
//! `arbitrary` impls shared with the fuzz targets) survive encode→decode
//! with every padding policy, and the incremental decoder fed arbitrary
//! chunks agrees with the one-shot parser on any bytes, errors included.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// Shared with fcgi-proto's snapshot tests, which this test lived beside.
#[path = "../../fcgi-proto/tests/common/dump_check.rs"]
mod dump_check;

use core::num::NonZeroU16;
use std::collections::BTreeMap;

use arbitrary::{Arbitrary, Unstructured};
use fcgi_proto::decoder::Decoder;
use fcgi_proto::encoder::{Encoder, Padding};
use fcgi_proto::record::{records, records_with, Header, ParseOptions, HEADER_LEN};
use fcgi_proto::requirement::R_3_3_2;
use fcgi_proto::stream::{Reassembler, StreamType};
use fcgi_proto::{dump, Error, OwnedRecord, RecordType};
use proptest::prelude::*;

/// Arbitrary records drawn from `arbitrary`'s `Unstructured` over proptest
/// bytes, one byte string per record so that sequences are long (one
/// `Unstructured` for the whole vector gives its first record every byte).
fn owned_records() -> impl Strategy<Value = Vec<OwnedRecord>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..400), 0..12).prop_map(|raws| {
        raws.iter()
            .filter_map(|raw| OwnedRecord::arbitrary(&mut Unstructured::new(raw)).ok())
            .collect()
    })
}

fn padding() -> impl Strategy<Value = Padding> {
    prop_oneof![
        Just(Padding::None),
        Just(Padding::Align8),
        any::<u8>().prop_map(Padding::Fixed),
    ]
}

fn parse_options() -> impl Strategy<Value = ParseOptions> {
    any::<bool>().prop_map(|strict| ParseOptions::default().with_strict_version(strict))
}

/// What a parser saw: each record's header, offset, content and padding,
/// then the error that ended the stream, if any.
type Seen = (Vec<(u64, Header, Vec<u8>, Vec<u8>)>, Option<Error>);

fn one_shot(bytes: &[u8], options: ParseOptions) -> Seen {
    let mut out = Vec::new();
    for r in records_with(bytes, options) {
        match r {
            Ok(r) => out.push((r.offset, r.header, r.content.to_vec(), r.padding.to_vec())),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// Feeds `bytes` to a [`Decoder`] in chunks of the given sizes (cycled).
fn chunked(bytes: &[u8], sizes: &[usize], options: ParseOptions) -> Seen {
    let mut d = Decoder::with_options(options, 1 << 20);
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut sizes = sizes.iter().copied().cycle();
    // Also pull records before the first byte arrives: nothing must come out.
    assert!(d.next_record().unwrap().is_none());
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(1).clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        if let Err(e) = d.push(chunk) {
            return (out, Some(e));
        }
        loop {
            match d.next_record() {
                Ok(Some(r)) => {
                    out.push((r.offset, r.header, r.content.to_vec(), r.padding.to_vec()));
                }
                Ok(None) => break,
                Err(e) => return (out, Some(e)),
            }
        }
    }
    match d.finish() {
        Ok(()) => (out, None),
        Err(e) => (out, Some(e)),
    }
}

fn encode(records: &[OwnedRecord], enc: &Encoder) -> Vec<u8> {
    let mut wire = Vec::new();
    for r in records {
        enc.record(r.record_type, r.request_id, &r.content, &mut wire)
            .unwrap();
    }
    wire
}

/// Bytes that look like a stream more often than random bytes do: a valid
/// encoding with a few bytes overwritten and possibly cut short.
fn mangled_stream() -> impl Strategy<Value = Vec<u8>> {
    (
        owned_records(),
        padding(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(recs, pad, edits, cut, do_cut)| {
            let mut wire = encode(&recs, &Encoder::default().with_padding(pad));
            if !wire.is_empty() {
                for (at, b) in edits {
                    let i = at.index(wire.len());
                    wire[i] = b;
                }
                if do_cut {
                    wire.truncate(cut.index(wire.len()));
                }
            }
            wire
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// encode→decode gives back the same records, with every padding policy;
    /// headers carry the padding the policy asks for and padding is zeros.
    #[test]
    fn records_round_trip(recs in owned_records(), pad in padding()) {
        let enc = Encoder::default().with_padding(pad);
        let wire = encode(&recs, &enc);
        let (seen, err) = one_shot(&wire, ParseOptions::default());
        prop_assert!(err.is_none(), "{:?}", err);
        let back: Vec<OwnedRecord> = records(&wire).map(|r| r.unwrap().to_owned()).collect();
        prop_assert_eq!(&back, &recs);
        let mut offset = 0u64;
        for ((at, h, content, padding), r) in seen.iter().zip(&recs) {
            prop_assert_eq!(*at, offset);
            prop_assert_eq!(h.version, 1);
            prop_assert_eq!(h.reserved, 0);
            prop_assert_eq!(usize::from(h.content_length), r.content.len());
            prop_assert_eq!(h.padding_length, pad.for_len(r.content.len()));
            if pad == Padding::Align8 {
                prop_assert_eq!(h.record_len() % 8, 0);
            }
            prop_assert!(padding.iter().all(|&b| b == 0));
            prop_assert_eq!(content, &r.content);
            offset += h.record_len() as u64;
        }
        prop_assert_eq!(offset, wire.len() as u64);
    }

    /// The same records decoded in arbitrary chunks by the incremental
    /// decoder, with every padding policy.
    #[test]
    fn chunked_decode_of_encoded_records(
        recs in owned_records(),
        pad in padding(),
        sizes in prop::collection::vec(1usize..300, 1..16),
    ) {
        let wire = encode(&recs, &Encoder::default().with_padding(pad));
        let (seen, err) = chunked(&wire, &sizes, ParseOptions::default());
        prop_assert!(err.is_none(), "{:?}", err);
        let back: Vec<OwnedRecord> = seen
            .iter()
            .map(|(_, h, c, _)| OwnedRecord {
                record_type: h.record_type,
                request_id: h.request_id,
                content: c.clone(),
            })
            .collect();
        prop_assert_eq!(back, recs);
    }

    /// On arbitrary bytes the chunked decoder and the one-shot parser see
    /// the same records and the same error, at the same offset.
    #[test]
    fn chunked_equals_one_shot_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        sizes in prop::collection::vec(1usize..64, 1..16),
        options in parse_options(),
    ) {
        prop_assert_eq!(chunked(&bytes, &sizes, options), one_shot(&bytes, options));
    }

    /// The same on near-valid streams (valid encodings with bytes
    /// overwritten or cut short), where the interesting errors live.
    #[test]
    fn chunked_equals_one_shot_on_mangled_streams(
        bytes in mangled_stream(),
        sizes in prop::collection::vec(1usize..200, 1..16),
        options in parse_options(),
    ) {
        let a = chunked(&bytes, &sizes, options);
        let b = one_shot(&bytes, options);
        prop_assert_eq!(&a, &b);
        // One byte at a time is a chunking too.
        prop_assert_eq!(chunked(&bytes, &[1], options), b);
    }

    /// The streaming renderer writes what the whole-buffer dump shows, for
    /// any chunking, in text and (with `serde`) JSON, within its buffer bound.
    #[test]
    fn streamed_dump_is_the_whole_dump(
        bytes in mangled_stream(),
        sizes in proptest::collection::vec(1usize..200, 1..6),
    ) {
        let d = dump::dump(&bytes);
        let (text, s) = dump_check::streamed(&bytes, &sizes, dump::RenderOptions::default());
        prop_assert_eq!(text, d.to_string());
        prop_assert_eq!(s.is_clean(), d.is_clean());
        dump_check::forms_agree(&bytes, ParseOptions::default());
    }

    /// The dump shows every record the parser frames, and the same error.
    #[test]
    fn dump_frames_like_the_parser(bytes in mangled_stream()) {
        let d = dump::dump(&bytes);
        let (seen, err) = one_shot(&bytes, ParseOptions::default());
        prop_assert_eq!(d.entries.len(), seen.len());
        for (e, (at, h, c, _)) in d.entries.iter().zip(&seen) {
            prop_assert_eq!(e.record.offset, *at);
            prop_assert_eq!(&e.record.header, h);
            prop_assert_eq!(e.record.content, &c[..]);
        }
        prop_assert_eq!(&d.error, &err);
        prop_assert_eq!(d.len, bytes.len());
        // The text has one line per record, pair lines, and the error line.
        let text = d.to_string();
        let record_lines = text.lines().filter(|l| !l.starts_with("          ")).count();
        prop_assert_eq!(record_lines, seen.len() + usize::from(err.is_some()));
    }

    /// Streams written with any record size and padding reassemble to the
    /// data written, per request id and stream, however they interleave.
    #[test]
    fn streams_reassemble(
        parts in prop::collection::vec(
            (1u16..4, prop::sample::select(vec![StreamType::Stdin, StreamType::Stdout, StreamType::Data, StreamType::Stderr]),
             prop::collection::vec(any::<u8>(), 0..200)),
            0..24,
        ),
        max_record in 1u16..64,
        pad in padding(),
    ) {
        let enc = Encoder::default().with_padding(pad).with_max_record_content(NonZeroU16::new(max_record).unwrap());
        let mut wire = Vec::new();
        let mut want: BTreeMap<(u16, StreamType), Vec<u8>> = BTreeMap::new();
        for (id, t, data) in &parts {
            enc.stream(*t, *id, data, &mut wire).unwrap();
            want.entry((*id, *t)).or_default().extend_from_slice(data);
        }
        for (id, t) in want.keys() {
            enc.end_stream(*t, *id, &mut wire).unwrap();
        }
        for r in records(&wire) {
            let r = r.unwrap();
            prop_assert!(usize::from(r.header.content_length) <= usize::from(max_record));
        }
        let mut re = Reassembler::default();
        let mut got: BTreeMap<(u16, StreamType), Vec<u8>> = BTreeMap::new();
        for r in records(&wire) {
            if let Some(a) = re.push(&r.unwrap()).unwrap() {
                let t = StreamType::of(a.record_type).unwrap();
                prop_assert!(got.insert((a.request_id, t), a.data).is_none());
            }
        }
        prop_assert_eq!(got, want);
        prop_assert_eq!(re.buffered(), 0);
    }
}

/// A record cut at every possible byte: the chunked decoder and the one-shot
/// parser agree, and the error is a truncated record at the record's offset.
#[test]
fn every_cut_of_a_two_record_stream() {
    let enc = Encoder::default();
    let mut wire = Vec::new();
    enc.record(RecordType::Stdout, 1, b"hello", &mut wire)
        .unwrap();
    enc.record(RecordType::Stderr, 1, b"oops!!!!!", &mut wire)
        .unwrap();
    let second = 16;
    for cut in 0..wire.len() {
        let bytes = &wire[..cut];
        let (seen, err) = one_shot(bytes, ParseOptions::default());
        assert_eq!(
            (seen.clone(), err),
            chunked(bytes, &[3], ParseOptions::default())
        );
        match cut {
            0 => assert!(err.is_none() && seen.is_empty()),
            c if c == second => assert!(err.is_none() && seen.len() == 1),
            c => {
                let e = err.unwrap();
                let at = if c < second { 0 } else { second };
                assert_eq!(e.offset(), at as u64, "cut at {c}");
                let needed = if c - at < HEADER_LEN {
                    HEADER_LEN
                } else if c < second {
                    16
                } else {
                    wire.len() - second
                };
                assert_eq!(
                    e.kind(),
                    &fcgi_proto::ErrorKind::TruncatedRecord {
                        needed,
                        available: c - at
                    },
                    "cut at {c}"
                );
                assert_eq!(e.requirement(), Some(R_3_3_2));
            }
        }
    }
}
