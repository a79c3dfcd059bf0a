//! Name-value pairs (§3.4): the body of `FCGI_PARAMS`, `FCGI_GET_VALUES`
//! and `FCGI_GET_VALUES_RESULT`.
//!
//! A length below 128 may take one byte; any length up to 2^31-1 may take
//! four bytes with the high bit of the first set. The encoder picks the
//! shortest form; the decoder takes either form for any length (R-3.4-3).

use crate::error::{Error, ErrorKind, PairPart, UsageError, UsageKind};

/// Largest length the 1-byte form holds (§3.4, R-3.4-1).
pub const MAX_SHORT_LEN: usize = 127;
/// Largest length the 4-byte form holds, 2^31-1 (§3.4, R-3.4-2).
pub const MAX_LEN: usize = 0x7fff_ffff;

/// Which of the two length forms a length takes on the wire (§3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum LengthForm {
    /// One byte, high bit clear: 0..=127 (R-3.4-1).
    Short,
    /// Four bytes big-endian, high bit of the first set: 0..=2^31-1 (R-3.4-2).
    Long,
}

impl LengthForm {
    /// The shortest form for `len`.
    pub fn shortest(len: usize) -> Self {
        if len <= MAX_SHORT_LEN {
            LengthForm::Short
        } else {
            LengthForm::Long
        }
    }

    /// Bytes the form takes.
    pub fn size(self) -> usize {
        match self {
            LengthForm::Short => 1,
            LengthForm::Long => 4,
        }
    }
}

/// Reads one length at `pos` (§3.4). Returns the length, its form and the
/// position after it; `None` when the input ends inside it.
#[inline]
pub fn decode_length(buf: &[u8], pos: usize) -> Option<(usize, LengthForm, usize)> {
    let first = *buf.get(pos)?;
    if first & 0x80 == 0 {
        return Some((usize::from(first), LengthForm::Short, pos + 1));
    }
    let b: [u8; 4] = buf.get(pos..pos.checked_add(4)?)?.try_into().ok()?;
    let raw = u32::from_be_bytes(b) & 0x7fff_ffff;
    Some((raw as usize, LengthForm::Long, pos + 4))
}

/// Appends `len` in the given form (§3.4).
#[inline]
pub fn encode_length(len: usize, form: LengthForm, out: &mut Vec<u8>) -> Result<(), UsageError> {
    match form {
        LengthForm::Short => {
            let b = u8::try_from(len)
                .ok()
                .filter(|b| *b <= 0x7f)
                .ok_or(UsageError::new(UsageKind::ShortFormTooSmall(len)))?;
            out.push(b);
        }
        LengthForm::Long => {
            let v = u32::try_from(len)
                .ok()
                .filter(|v| *v as usize <= MAX_LEN)
                .ok_or(UsageError::new(UsageKind::LengthTooLarge(len)))?;
            out.extend_from_slice(&(v | 0x8000_0000).to_be_bytes());
        }
    }
    Ok(())
}

/// Bytes one pair takes in the shortest forms.
pub fn encoded_len(name: &[u8], value: &[u8]) -> usize {
    LengthForm::shortest(name.len()).size()
        + LengthForm::shortest(value.len()).size()
        + name.len()
        + value.len()
}

/// Appends one pair with the shortest length forms (§3.4).
#[inline]
pub fn encode_pair(name: &[u8], value: &[u8], out: &mut Vec<u8>) -> Result<(), UsageError> {
    encode_pair_with(
        name,
        value,
        LengthForm::shortest(name.len()),
        LengthForm::shortest(value.len()),
        out,
    )
}

/// Appends one pair with chosen length forms, e.g. the 4-byte form for a
/// short name (§3.4: legal, and the conformance suite sends it).
#[inline]
pub fn encode_pair_with(
    name: &[u8],
    value: &[u8],
    name_form: LengthForm,
    value_form: LengthForm,
    out: &mut Vec<u8>,
) -> Result<(), UsageError> {
    // One reservation per pair rather than one check per piece.
    out.reserve(
        name_form
            .size()
            .saturating_add(value_form.size())
            .saturating_add(name.len())
            .saturating_add(value.len()),
    );
    let mark = out.len();
    let r = encode_length(name.len(), name_form, out)
        .and_then(|()| encode_length(value.len(), value_form, out));
    if let Err(e) = r {
        out.truncate(mark);
        return Err(e);
    }
    out.extend_from_slice(name);
    out.extend_from_slice(value);
    Ok(())
}

/// Encodes many pairs, shortest forms, into a fresh block.
pub fn encode_pairs<'p, I>(pairs: I) -> Result<Vec<u8>, UsageError>
where
    I: IntoIterator<Item = (&'p [u8], &'p [u8])>,
{
    let mut out = Vec::new();
    for (n, v) in pairs {
        encode_pair(n, v, &mut out)?;
    }
    Ok(out)
}

/// One decoded pair with the forms its lengths took on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair<'a> {
    /// The name.
    pub name: &'a [u8],
    /// The value.
    pub value: &'a [u8],
    /// Form of the name length.
    pub name_form: LengthForm,
    /// Form of the value length.
    pub value_form: LengthForm,
    /// Offset of the pair's first byte in the block.
    pub offset: usize,
}

/// A zero-copy iterator over the pairs of a complete block (§3.4).
///
/// Yields `Ok((name, value))` borrowed from the block, then, if the block
/// is malformed, one `Err` with the byte offset of the bad length or the
/// pair that overruns, and nothing after it. Lengths are checked against
/// the bytes present before anything is sliced; nothing is allocated.
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    // The bytes still to walk end where `buf` ends: after an error `buf` is
    // cut at `pos`, so one comparison says both "ended" and "failed".
    buf: &'a [u8],
    pos: usize,
    base: u64,
}

/// The pairs of `block` (§3.4).
pub fn pairs(block: &[u8]) -> Pairs<'_> {
    pairs_at(block, 0)
}

/// The pairs of `block`, with error offsets counted from `base`.
pub fn pairs_at(block: &[u8], base: u64) -> Pairs<'_> {
    Pairs {
        buf: block,
        pos: 0,
        base,
    }
}

impl<'a> Pairs<'a> {
    /// Bytes of the block taken by the whole pairs read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The next pair with its length forms, or the error that ends the block.
    #[inline]
    pub fn next_pair(&mut self) -> Option<Result<Pair<'a>, Error>> {
        self.step()
    }

    // `next_pair`'s body, forced inline so that `validate` (in this crate,
    // where an `#[inline]` hint is not always taken) keeps the walk in
    // one loop.
    #[inline(always)]
    fn step(&mut self) -> Option<Result<Pair<'a>, Error>> {
        let start = self.pos;
        if start >= self.buf.len() {
            return None;
        }
        let r = self.read(start);
        if r.is_err() {
            // Nothing after the error: the walk ends where the bad pair starts.
            self.buf = self.buf.get(..start).unwrap_or_default();
        }
        Some(r)
    }

    // The error paths are out of line, and take values rather than `&self`
    // so that the walk can keep its state in registers: the loop over good
    // pairs stays small (the decode of a params block is a hot path).
    #[cold]
    #[inline(never)]
    fn truncated(base: u64, which: PairPart, at: usize) -> Error {
        Error::new(
            ErrorKind::TruncatedLength { which },
            base.saturating_add(at as u64),
        )
    }

    /// The overrun of the pair at `start`, with `rest` bytes after its two
    /// lengths: names the part that runs past the end, as §3.4 reads them
    /// (the name first), with the bytes that part had left.
    #[cold]
    #[inline(never)]
    fn overrun(base: u64, start: usize, rest: usize, name_len: usize, value_len: usize) -> Error {
        let (which, declared, available) = if name_len > rest {
            (PairPart::Name, name_len, rest)
        } else {
            (PairPart::Value, value_len, rest - name_len)
        };
        Error::new(
            ErrorKind::PairOverrun {
                which,
                declared: declared as u32,
                available,
            },
            base.saturating_add(start as u64),
        )
    }

    /// Both lengths of the pair at `start` (§3.4), either form each, the
    /// position after them and the bytes from there to the end.
    #[inline(always)]
    fn lengths(&self, start: usize) -> Result<Lengths<'a>, Error> {
        let buf = self.buf;
        // Nearly every pair has two 1-byte lengths (nginx, Apache and every
        // peer we capture): one bounds check and one test of both high bits.
        if let Some(&[n, v, ref rest @ ..]) = buf.get(start..) {
            if (n | v) & 0x80 == 0 {
                return Ok(Lengths {
                    name: (usize::from(n), LengthForm::Short),
                    value: (usize::from(v), LengthForm::Short),
                    end: start + 2,
                    rest,
                });
            }
        }
        let Some((name_len, name_form, p)) = decode_length(buf, start) else {
            return Err(Self::truncated(self.base, PairPart::Name, start));
        };
        let Some((value_len, value_form, p)) = decode_length(buf, p) else {
            return Err(Self::truncated(self.base, PairPart::Value, p));
        };
        Ok(Lengths {
            name: (name_len, name_form),
            value: (value_len, value_form),
            end: p,
            // `decode_length` succeeded, so `p` is at most the length.
            rest: buf.get(p..).unwrap_or_default(),
        })
    }

    #[inline(always)]
    fn read(&mut self, start: usize) -> Result<Pair<'a>, Error> {
        let Lengths {
            name: (name_len, name_form),
            value: (value_len, value_form),
            end: p,
            rest,
        } = self.lengths(start)?;
        // Lengths are checked against the bytes present before slicing.
        // Each is at most 2^31-1, so their sum cannot overflow: one check
        // covers both, and the cold path says which part ran over.
        let both = name_len + value_len;
        let overrun = || Self::overrun(self.base, start, rest.len(), name_len, value_len);
        let Some((pair, _)) = rest.split_at_checked(both) else {
            return Err(overrun());
        };
        let Some((name, value)) = pair.split_at_checked(name_len) else {
            return Err(overrun());
        };
        self.pos = p + both;
        Ok(Pair {
            name,
            value,
            name_form,
            value_form,
            offset: start,
        })
    }
}

/// The two lengths at the start of a pair, as [`Pairs`] reads them.
struct Lengths<'a> {
    name: (usize, LengthForm),
    value: (usize, LengthForm),
    /// Position after the second length.
    end: usize,
    /// The bytes from `end` to the end of the block.
    rest: &'a [u8],
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<(&'a [u8], &'a [u8]), Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.next_pair().map(|r| r.map(|p| (p.name, p.value)))
    }
}

/// Checks a whole block and counts its pairs, failing at the first error
/// or when more than `max_pairs` are present.
pub fn validate(block: &[u8], base: u64, max_pairs: usize) -> Result<usize, Error> {
    let mut n = 0usize;
    let mut it = pairs_at(block, base);
    while let Some(p) = it.step() {
        let p = p?;
        n += 1;
        if n > max_pairs {
            return Err(too_many_pairs(max_pairs, base, p.offset));
        }
    }
    Ok(n)
}

#[cold]
#[inline(never)]
fn too_many_pairs(max_pairs: usize, base: u64, offset: usize) -> Error {
    Error::new(
        ErrorKind::LimitExceeded {
            limit: crate::error::Limit::Pairs,
            max: max_pairs,
        },
        base.saturating_add(offset as u64),
    )
}

/// Finds the first value for `name` in a block; malformed tails end the search.
pub fn find<'a>(block: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    pairs(block)
        .map_while(Result::ok)
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::requirement::{checks, R_3_4_5};

    #[test]
    fn short_and_long_forms() {
        let mut out = Vec::new();
        encode_pair(b"A", &[b'x'; 128], &mut out).unwrap();
        assert_eq!(&out[..5], &[1, 0x80, 0, 0, 128]);
        let got: Vec<_> = pairs(&out).collect::<Result<_, _>>().unwrap();
        assert_eq!(got, vec![(&b"A"[..], &[b'x'; 128][..])]);
    }

    #[test]
    fn long_form_for_short_length_is_accepted() {
        let mut out = Vec::new();
        encode_pair_with(b"AB", b"c", LengthForm::Long, LengthForm::Long, &mut out).unwrap();
        assert_eq!(out, [0x80, 0, 0, 2, 0x80, 0, 0, 1, b'A', b'B', b'c']);
        let got: Vec<_> = pairs(&out).collect::<Result<_, _>>().unwrap();
        assert_eq!(got, vec![(&b"AB"[..], &b"c"[..])]);
    }

    /// Names and values are uninterpreted bytes, nothing escaped.
    #[test]
    fn any_byte_round_trips() {
        checks(&[R_3_4_5]);
        let name: Vec<u8> = (0..=255u8).collect();
        let value = b"=\0\n\xff;\"".to_vec();
        let mut out = Vec::new();
        encode_pair(&name, &value, &mut out).unwrap();
        let got: Vec<_> = pairs(&out).collect::<Result<_, _>>().unwrap();
        assert_eq!(got, vec![(&name[..], &value[..])]);
    }

    #[test]
    fn short_form_refuses_128() {
        let mut out = vec![9];
        let e = encode_pair_with(
            &[0; 128],
            b"",
            LengthForm::Short,
            LengthForm::Short,
            &mut out,
        )
        .unwrap_err();
        assert_eq!(e.kind(), &UsageKind::ShortFormTooSmall(128));
        assert_eq!(out, [9], "nothing is left behind on error");
    }

    #[test]
    fn huge_declared_length_is_an_error_not_an_allocation() {
        let block = [0xff, 0xff, 0xff, 0xff, 0x01, b'a'];
        let e = pairs(&block).next().unwrap().unwrap_err();
        assert_eq!(e.offset(), 0);
        assert!(matches!(
            e.kind(),
            ErrorKind::PairOverrun {
                which: PairPart::Name,
                declared: 0x7fff_ffff,
                ..
            }
        ));
    }

    #[test]
    fn validate_counts_and_places_the_pair_over_the_limit() {
        let mut block = Vec::new();
        for n in [&b"A"[..], b"BB", b"CCC"] {
            encode_pair(n, b"v", &mut block).unwrap();
        }
        assert_eq!(validate(&block, 100, 3).unwrap(), 3);
        let e = validate(&block, 100, 2).unwrap_err();
        // The third pair starts after (1+1+1+1) + (1+1+2+1) bytes.
        assert_eq!(e.offset(), 100 + 9);
        assert!(matches!(
            e.kind(),
            ErrorKind::LimitExceeded {
                limit: crate::error::Limit::Pairs,
                max: 2
            }
        ));
        let e = validate(&block[..block.len() - 1], 100, 3).unwrap_err();
        assert_eq!(e.offset(), 109);
    }

    /// One bound covers name and value; the error still names the part
    /// that ran over and what it had left, at the pair's offset, and the
    /// walk ends at the bad pair.
    #[test]
    fn overrun_names_the_part_and_the_bytes_left() {
        for (block, which, declared, available) in [
            (&[2, 5, b'a', b'b', b'c', b'd'][..], PairPart::Value, 5, 2),
            (&[9, 0, b'a', b'b', b'c', b'd'][..], PairPart::Name, 9, 4),
            (&[0x80, 0, 0, 1, 3, b'a', b'b'][..], PairPart::Value, 3, 1),
        ] {
            let mut good = Vec::new();
            encode_pair(b"N", b"v", &mut good).unwrap();
            let whole = [&good[..], block].concat();
            let mut it = pairs_at(&whole, 10);
            assert!(it.next_pair().unwrap().is_ok());
            let e = it.next_pair().unwrap().unwrap_err();
            assert_eq!(e.offset(), 10 + 4, "{block:?}");
            assert_eq!(
                e.kind(),
                &ErrorKind::PairOverrun {
                    which,
                    declared,
                    available
                },
                "{block:?}"
            );
            assert_eq!(it.position(), 4);
            assert!(it.next_pair().is_none());
            assert_eq!(it.position(), 4);
        }
    }

    #[test]
    fn truncation_inside_value_length() {
        let block = [3, 0x80, 0];
        let e = pairs(&block).next().unwrap().unwrap_err();
        assert_eq!(e.offset(), 1);
        assert_eq!(e.section().to_string(), "§3.4");
    }
}
