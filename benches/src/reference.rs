//! The physical floor each figure is read against: a copy and a scan of
//! the same bytes.

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
