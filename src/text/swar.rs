//! Byte tests on eight bytes at once: a `u64` read little-endian from a byte slice, tested
//! with carry-free arithmetic ("SIMD within a register"). The tokenizer's chunk scanner, the
//! line splitter and the n-gram word keys use them on their hot paths.

/// `0x01` in every byte.
pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
/// The high bit of every byte.
pub(crate) const HIGH: u64 = 0x80 * ONES;

/// The eight bytes of `b` from `i` on, little-endian, if there are eight.
#[inline]
pub(crate) fn load8(b: &[u8], i: usize) -> Option<u64> {
    b.get(i..i + 8).map(|e| u64::from_le_bytes(e.try_into().expect("8 bytes")))
}

/// Whether some byte of `x` is below `n` (`n <= 128`). `(x - n) & !x & HIGH` can mark a
/// wrong byte after a borrow, but it is non-zero exactly when some byte is below `n`.
#[inline]
pub(crate) fn has_byte_below(x: u64, n: u8) -> bool {
    debug_assert!(n <= 128);
    x.wrapping_sub(u64::from(n) * ONES) & !x & HIGH != 0
}

/// Whether some byte of `x` equals `b`.
#[inline]
pub(crate) fn has_byte(x: u64, b: u8) -> bool {
    has_byte_below(x ^ (u64::from(b) * ONES), 1)
}

/// Whether every byte of `x` is ASCII.
#[inline]
pub(crate) fn all_ascii(x: u64) -> bool {
    x & HIGH == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agree_with_a_byte_by_byte_check() {
        let mut rng = crate::text::xorshift(5);
        let interesting = [0u8, 1, 0x1f, 0x20, 0x21, 0x7f, 0x80, 0x81, 0xc2, 0xe2, 0xff];
        for _ in 0..200_000 {
            let mut bytes = [0u8; 8];
            for b in &mut bytes {
                let r = rng();
                *b = if r.is_multiple_of(3) {
                    interesting[(r >> 8) as usize % interesting.len()]
                } else {
                    (r >> 16) as u8
                };
            }
            let x = load8(&bytes, 0).unwrap();
            let n = (rng() % 129) as u8;
            assert_eq!(has_byte_below(x, n), bytes.iter().any(|b| *b < n), "{bytes:?} < {n}");
            let b = interesting[(rng() % interesting.len() as u64) as usize];
            assert_eq!(has_byte(x, b), bytes.contains(&b), "{bytes:?} has {b}");
            assert_eq!(all_ascii(x), bytes.is_ascii());
        }
        assert_eq!(load8(b"1234567", 0), None);
        assert_eq!(load8(b"12345678", 0), Some(u64::from_le_bytes(*b"12345678")));
    }
}
