//! FxHash (the hasher of rustc): a fast, non-cryptographic hasher for the short keys and lines
//! looked up per token or per line (special cases, duplicate lines and paragraphs). Inputs are
//! the documents themselves, so there is no adversary to defend against beyond slow inputs,
//! and a collision only costs a string comparison.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// The hasher: one rotate, xor and multiply per 8 bytes.
///
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    /// Two lanes of 8 bytes each per round (halving the chain of dependent multiplies on a
    /// line of text), then the last 1 to 15 bytes in at most two words read with overlapping
    /// loads instead of byte by byte.
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let n = bytes.len();
        // the length first: the overlapping loads below read some bytes twice
        self.add(n as u64);
        let mut i = 0;
        if n >= 16 {
            let mut other = FxHasher::default();
            while i + 16 <= n {
                self.add(at(i));
                other.add(at(i + 8));
                i += 16;
            }
            self.add(other.hash);
        }
        let rest = n - i;
        if rest >= 8 {
            // the last 8 bytes, overlapping the word before when `rest` < 16
            self.add(at(i));
            self.add(at(n - 8));
        } else if rest >= 4 {
            let at4 = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
            self.add(u64::from(at4(i)) | u64::from(at4(n - 4)) << 32);
        } else if rest > 0 {
            let b = |i: usize| u64::from(bytes[i]);
            self.add(b(i) | b(i + rest / 2) << 8 | b(n - 1) << 16);
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    /// The multiply leaves the low bits, which pick the bucket, the least mixed: the top
    /// bits are rotated down.
    #[inline]
    fn finish(&self) -> u64 {
        self.hash.rotate_left(26)
    }
}

/// A `HashMap` with [`FxHasher`].
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
/// A `HashSet` with [`FxHasher`].
pub(crate) type FxSet<K> = HashSet<K, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use super::FxHasher;
    use std::hash::{Hash, Hasher};

    fn hash(s: &str) -> u64 {
        let mut h = FxHasher::default();
        s.hash(&mut h);
        h.finish()
    }

    #[test]
    fn equal_strings_hash_equally_and_near_misses_do_not() {
        let words = ["", "a", "ab", "abb", "abc", "abcd", "abcdcd", "abcdefgh", "abcdefghi"];
        for (i, a) in words.iter().enumerate() {
            let copy: String = a.chars().collect();
            assert_eq!(hash(a), hash(&copy));
            for b in &words[i + 1..] {
                assert_ne!(hash(a), hash(b), "{a:?} {b:?}");
            }
        }
        // every length up to 40 (the lanes, the overlapping tails): one byte changed anywhere
        // changes the hash
        let base: String = (0..40u8).map(|i| char::from(b'a' + i % 26)).collect();
        for n in 1..=base.len() {
            let s = &base[..n];
            for k in 0..n {
                let mut t = s.as_bytes().to_vec();
                t[k] = b'#';
                assert_ne!(hash(s), hash(std::str::from_utf8(&t).unwrap()), "{n} {k}");
            }
        }
    }

    #[test]
    fn low_bits_spread_similar_lines() {
        // the table picks a bucket from the low bits: similar lines must not crowd together
        let mut buckets = std::collections::HashSet::new();
        for i in 0..10_000 {
            buckets.insert(hash(&format!("This is line number {i} of the book.")) & 0x3fff);
        }
        assert!(buckets.len() > 7_000, "{}", buckets.len());
    }
}
