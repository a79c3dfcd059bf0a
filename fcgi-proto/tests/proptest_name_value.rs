//! Property tests of name-value pairs (§3.4): round trips for every length
//! form, the 4-byte form of short lengths, truncated blocks (every prefix of
//! a valid block), and decode→encode→decode on arbitrary bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use fcgi_proto::error::PairPart;
use fcgi_proto::name_value::{
    self, encode_pair, encode_pair_with, encode_pairs, encoded_len, pairs, LengthForm,
    MAX_SHORT_LEN,
};
use fcgi_proto::requirement::{R_3_4_1, R_3_4_2, R_3_4_3};
use fcgi_proto::ErrorKind;
use proptest::prelude::*;

#[path = "common/traceability.rs"]
mod traceability;
use traceability::checks;

/// The lengths where the forms change or a length field widens.
const EDGE_LENGTHS: [usize; 6] = [0, 127, 128, 255, 65535, 65536];

type Owned = (Vec<u8>, Vec<u8>);

/// Decodes a whole block, returning the pairs and the error, if any.
fn decode(block: &[u8]) -> (Vec<Owned>, Option<fcgi_proto::Error>) {
    let mut out = Vec::new();
    for p in pairs(block) {
        match p {
            Ok((n, v)) => out.push((n.to_vec(), v.to_vec())),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// Bytes of exactly `len`, cycling through `seed` (or zeros).
fn filled(len: usize, seed: &[u8]) -> Vec<u8> {
    if seed.is_empty() {
        vec![0; len]
    } else {
        seed.iter().copied().cycle().take(len).collect()
    }
}

/// A pair with the length forms it is to be written in: the 1-byte form
/// only where it fits, the 4-byte form for any length.
fn pair_with_forms(max_len: usize) -> impl Strategy<Value = (Owned, LengthForm, LengthForm)> {
    (
        prop::collection::vec(any::<u8>(), 0..max_len),
        prop::collection::vec(any::<u8>(), 0..max_len),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(n, v, long_name, long_value)| {
            let form = |len: usize, long: bool| {
                if long || len > MAX_SHORT_LEN {
                    LengthForm::Long
                } else {
                    LengthForm::Short
                }
            };
            let nf = form(n.len(), long_name);
            let vf = form(v.len(), long_value);
            ((n, v), nf, vf)
        })
}

/// The expected error when a block is cut `r` bytes into a pair written
/// with forms `nf`/`vf` that starts at `start` (1 <= r < the pair's size).
fn expected_cut(
    start: usize,
    r: usize,
    (name, value): &Owned,
    nf: LengthForm,
    vf: LengthForm,
) -> (ErrorKind, u64) {
    let (nf, vf) = (nf.size(), vf.size());
    let kind = if r < nf {
        return (
            ErrorKind::TruncatedLength {
                which: PairPart::Name,
            },
            start as u64,
        );
    } else if r < nf + vf {
        return (
            ErrorKind::TruncatedLength {
                which: PairPart::Value,
            },
            (start + nf) as u64,
        );
    } else if r < nf + vf + name.len() {
        ErrorKind::PairOverrun {
            which: PairPart::Name,
            declared: name.len() as u32,
            available: r - nf - vf,
        }
    } else {
        ErrorKind::PairOverrun {
            which: PairPart::Value,
            declared: value.len() as u32,
            available: r - nf - vf - name.len(),
        }
    };
    (kind, start as u64)
}

/// Checks the decode of `block[..k]` against the pairs written with `forms`
/// and `starts` (the offset of each pair; `starts.last()` is the block length).
fn check_prefix(
    block: &[u8],
    k: usize,
    written: &[(Owned, LengthForm, LengthForm)],
    starts: &[usize],
) {
    let (got, err) = decode(&block[..k]);
    // Pairs wholly inside the prefix come out whole and in order.
    let whole = starts.iter().skip(1).filter(|&&end| end <= k).count();
    let want: Vec<Owned> = written[..whole].iter().map(|(p, _, _)| p.clone()).collect();
    assert_eq!(got, want, "prefix of {k} bytes");
    if starts.contains(&k) {
        assert!(
            err.is_none(),
            "prefix of {k} bytes ends on a pair boundary: {err:?}"
        );
        return;
    }
    let err = err.unwrap_or_else(|| panic!("prefix of {k} bytes cuts a pair but decoded cleanly"));
    let (p, nf, vf) = &written[whole];
    let start = starts[whole];
    let (kind, offset) = expected_cut(start, k - start, p, *nf, *vf);
    assert_eq!(err.kind(), &kind, "prefix of {k} bytes");
    assert_eq!(err.offset(), offset, "prefix of {k} bytes");
    // The offset points into the cut pair: never before it, never past the prefix.
    assert!(err.offset() >= start as u64 && err.offset() <= k as u64);
    assert_eq!(err.section().to_string(), "§3.4");
    assert_eq!(err.requirement(), Some(R_3_4_3));
}

fn write_all(written: &[(Owned, LengthForm, LengthForm)]) -> (Vec<u8>, Vec<usize>) {
    let mut block = Vec::new();
    let mut starts = vec![0];
    for ((n, v), nf, vf) in written {
        encode_pair_with(n, v, *nf, *vf, &mut block).unwrap();
        starts.push(block.len());
    }
    (block, starts)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary names and values round-trip, in the shortest forms.
    #[test]
    fn arbitrary_pairs_round_trip(
        ps in prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 0..300), prop::collection::vec(any::<u8>(), 0..300)),
            0..8,
        )
    ) {
        let block = encode_pairs(ps.iter().map(|(n, v)| (&n[..], &v[..]))).unwrap();
        prop_assert_eq!(block.len(), ps.iter().map(|(n, v)| encoded_len(n, v)).sum::<usize>());
        let (got, err) = decode(&block);
        prop_assert!(err.is_none(), "{:?}", err);
        prop_assert_eq!(&got, &ps);
        // The encoder picked the shortest form for each length.
        let mut it = name_value::pairs(&block);
        while let Some(p) = it.next_pair() {
            let p = p.unwrap();
            prop_assert_eq!(p.name_form, LengthForm::shortest(p.name.len()));
            prop_assert_eq!(p.value_form, LengthForm::shortest(p.value.len()));
        }
    }

    /// Lengths at the edges of the forms: the length bytes are exactly the
    /// spec's layout, and the pair decodes back.
    #[test]
    fn edge_lengths_round_trip(
        name_len in prop::sample::select(&EDGE_LENGTHS[..]),
        value_len in prop::sample::select(&EDGE_LENGTHS[..]),
        seed in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        // 0..=127 in one byte, high bit clear; longer in four.
        checks(&[R_3_4_1, R_3_4_2]);
        let name = filled(name_len, &seed);
        let value = filled(value_len, &seed);
        let mut block = Vec::new();
        encode_pair(&name, &value, &mut block).unwrap();
        let field = |len: usize| -> Vec<u8> {
            if len <= 127 {
                vec![len as u8]
            } else {
                let mut b = (len as u32).to_be_bytes();
                b[0] |= 0x80;
                b.to_vec()
            }
        };
        let mut want = field(name_len);
        want.extend(field(value_len));
        prop_assert_eq!(&block[..want.len()], &want[..]);
        prop_assert_eq!(block.len(), want.len() + name_len + value_len);
        let (got, err) = decode(&block);
        prop_assert!(err.is_none());
        prop_assert_eq!(got, vec![(name, value)]);
    }

    /// The 4-byte form of a short length decodes to the same pairs as the
    /// 1-byte form (R-3.4-3), and the decoder reports the form it saw.
    #[test]
    fn long_form_of_short_lengths_decodes_the_same(
        written in prop::collection::vec(pair_with_forms(200), 0..6)
    ) {
        let (block, _) = write_all(&written);
        let shortest = encode_pairs(written.iter().map(|((n, v), _, _)| (&n[..], &v[..]))).unwrap();
        let (a, ea) = decode(&block);
        let (b, eb) = decode(&shortest);
        prop_assert!(ea.is_none() && eb.is_none());
        prop_assert_eq!(&a, &b);
        let mut it = name_value::pairs(&block);
        for (_, nf, vf) in &written {
            let p = it.next_pair().unwrap().unwrap();
            prop_assert_eq!(p.name_form, *nf);
            prop_assert_eq!(p.value_form, *vf);
        }
        prop_assert!(it.next_pair().is_none());
    }

    /// The 1-byte form refuses lengths above 127 and leaves the output as it was.
    #[test]
    fn short_form_refuses_long_lengths(
        len in 128usize..1000,
        prior in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut out = prior.clone();
        let e = encode_pair_with(&vec![b'n'; len], b"", LengthForm::Short, LengthForm::Short, &mut out)
            .unwrap_err();
        prop_assert_eq!(e.kind(), &fcgi_proto::UsageKind::ShortFormTooSmall(len));
        let e = encode_pair_with(b"n", &vec![b'v'; len], LengthForm::Long, LengthForm::Short, &mut out)
            .unwrap_err();
        prop_assert_eq!(e.kind(), &fcgi_proto::UsageKind::ShortFormTooSmall(len));
        prop_assert_eq!(out, prior);
    }

    /// Every prefix of a valid block: on a pair boundary it is a valid
    /// block of fewer pairs; anywhere else it is a truncated-params error at
    /// the cut pair (or at the missing length field), never a panic.
    #[test]
    fn every_prefix_of_a_valid_block(
        written in prop::collection::vec(pair_with_forms(160), 1..5)
    ) {
        let (block, starts) = write_all(&written);
        for k in 0..block.len() {
            check_prefix(&block, k, &written, &starts);
        }
    }

    /// decode→encode→decode on arbitrary bytes: the pairs decoded before any
    /// error re-encode (shortest forms) to a block that decodes to the same
    /// pairs cleanly, and re-encoding that block is a fixed point.
    #[test]
    fn decode_encode_decode_identity(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let (first, err) = decode(&bytes);
        if let Some(e) = &err {
            prop_assert!(e.offset() <= bytes.len() as u64);
            // The iterator is fused after an error.
            let mut it = pairs(&bytes);
            while let Some(Ok(_)) = it.next() {}
            prop_assert!(it.next().is_none());
        }
        let block = encode_pairs(first.iter().map(|(n, v)| (&n[..], &v[..]))).unwrap();
        let (second, err2) = decode(&block);
        prop_assert!(err2.is_none());
        prop_assert_eq!(&second, &first);
        let again = encode_pairs(second.iter().map(|(n, v)| (&n[..], &v[..]))).unwrap();
        prop_assert_eq!(again, block);
        // validate agrees with the iterator.
        match (name_value::validate(&bytes, 0, usize::MAX), err) {
            (Ok(n), None) => prop_assert_eq!(n, first.len()),
            (Err(a), Some(b)) => prop_assert_eq!(a, b),
            (a, b) => prop_assert!(false, "validate {:?} vs iterator {:?}", a, b),
        }
    }

    /// A valid block written in arbitrary forms decodes, and its shortest
    /// re-encoding is byte-identical whenever the original used shortest forms.
    #[test]
    fn shortest_blocks_are_fixed_points(
        written in prop::collection::vec(pair_with_forms(200), 0..6)
    ) {
        let (block, _) = write_all(&written);
        let (got, err) = decode(&block);
        prop_assert!(err.is_none());
        let re = encode_pairs(got.iter().map(|(n, v)| (&n[..], &v[..]))).unwrap();
        let all_shortest = written.iter().all(|((n, v), nf, vf)| {
            *nf == LengthForm::shortest(n.len()) && *vf == LengthForm::shortest(v.len())
        });
        prop_assert_eq!(re == block, all_shortest);
    }
}

/// Prefixes of blocks holding pairs at the edge lengths (up to 65536 bytes):
/// every cut within a few bytes of a field boundary, and a spread of others.
#[test]
fn prefixes_of_edge_length_pairs() {
    let mut written = Vec::new();
    for &n in &EDGE_LENGTHS {
        for &v in &[0usize, 1, 127, 128, 65536] {
            let forms = [
                (LengthForm::shortest(n), LengthForm::shortest(v)),
                (LengthForm::Long, LengthForm::Long),
            ];
            for (nf, vf) in forms {
                written.push(((filled(n, b"nm"), filled(v, b"val")), nf, vf));
            }
        }
    }
    let (block, starts) = write_all(&written);
    let (got, err) = decode(&block);
    assert!(err.is_none());
    assert_eq!(got.len(), written.len());
    let mut cuts = std::collections::BTreeSet::new();
    for (i, ((n, _), nf, vf)) in written.iter().enumerate() {
        let s = starts[i];
        let marks = [
            s,
            s + nf.size(),
            s + nf.size() + vf.size(),
            s + nf.size() + vf.size() + n.len(),
            starts[i + 1],
        ];
        for m in marks {
            for d in 0..=5 {
                cuts.insert(m.saturating_sub(d));
                cuts.insert(m + d);
            }
        }
    }
    // A spread of cuts far from any boundary.
    let mut k = 7usize;
    while k < block.len() {
        cuts.insert(k);
        k += 997;
    }
    let mut checked = 0;
    for k in cuts.into_iter().filter(|&k| k < block.len()) {
        check_prefix(&block, k, &written, &starts);
        checked += 1;
    }
    assert!(checked > 500, "only {checked} cuts checked");
}
