//! What each figure is read against: a copy and a scan of the same bytes
//! (context: what moving the bytes costs), and for the name-value decode
//! its floor, a bounds-checked skip-only walk of the same pairs.

use crate::ours::PairSum;

/// Copies `src` into `dst` (same length), as `memcpy` would.
#[inline]
pub fn memcpy(src: &[u8], dst: &mut [u8]) {
    if let Some(d) = dst.get_mut(..src.len()) {
        d.copy_from_slice(src);
    }
}

/// Reads every byte once: a wrapping sum of the input as little-endian
/// 64-bit words (the tail bytes added one by one). No branch per byte, so
/// the compiler vectorises it: about as fast as the memory can be read.
#[inline]
pub fn scan(src: &[u8]) -> u64 {
    let words = src.chunks_exact(8);
    let tail = words.remainder();
    let mut sum = words.fold(0u64, |a, w| {
        let w: [u8; 8] = w.try_into().unwrap_or_default();
        a.wrapping_add(u64::from_le_bytes(w))
    });
    for &b in tail {
        sum = sum.wrapping_add(u64::from(b));
    }
    sum
}

/// The floor of a name-value decode (§3.4): a bounds-checked walk that
/// only skips. It reads each length in its 1- or 4-byte form, checks that
/// the length and the name and value it declares lie inside the block, and
/// jumps over them, keeping the same summary [`crate::ours::decode_params`]
/// keeps (pairs, name plus value bytes, the sum of each name's first byte)
/// so the optimiser keeps every load and the tests can check both saw the
/// same pairs. It keeps no forms, no offsets and no error detail: `None`
/// for any malformed block. It is written to be as cheap as such a walk
/// can be (both 1-byte lengths read with one check, one bound for name
/// and value together), so that it is a floor and not a strawman.
///
/// The start of pair n+1 depends on the length bytes of pair n, so no
/// decoder of this format can run ahead of this chain of loads; `memcpy`
/// has no such chain and is not the limit.
#[inline]
pub fn skip_walk(block: &[u8]) -> Option<PairSum> {
    let mut sum = PairSum::default();
    let mut pos = 0usize;
    while pos < block.len() {
        let (name_len, value_len, p) = match block.get(pos..pos.wrapping_add(2)) {
            Some(&[n, v]) if (n | v) & 0x80 == 0 => (usize::from(n), usize::from(v), pos + 2),
            _ => {
                let (n, p) = length_at(block, pos)?;
                let (v, p) = length_at(block, p)?;
                (n, v, p)
            }
        };
        // Each length is below 2^31 and `p` is inside the block: no overflow
        // on the 64-bit hosts the benches run on.
        let both = name_len + value_len;
        let end = p + both;
        if end > block.len() {
            return None;
        }
        sum.pairs += 1;
        sum.bytes += both;
        let first = block.get(p).copied().filter(|_| name_len != 0);
        sum.check = sum.check.wrapping_add(u64::from(first.unwrap_or(0)));
        pos = end;
    }
    Some(sum)
}

/// One length at `pos` and the position after it (§3.4), or `None`.
#[inline(always)]
fn length_at(block: &[u8], pos: usize) -> Option<(usize, usize)> {
    let first = *block.get(pos)?;
    if first & 0x80 == 0 {
        return Some((usize::from(first), pos + 1));
    }
    let b: [u8; 4] = block.get(pos..pos.checked_add(4)?)?.try_into().ok()?;
    Some(((u32::from_be_bytes(b) & 0x7fff_ffff) as usize, pos + 4))
}
