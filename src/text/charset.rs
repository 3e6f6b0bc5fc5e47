//! `CharSet`: a fixed set of Unicode scalar values, as an ASCII bitmap plus sorted inclusive
//! ranges for the rest. The tables in `unicode_tables.rs` and `spacy_en_data.rs` are generated
//! as `CharSet` statics by `gen_tables.py`.

/// A set of characters: ASCII by bitmap, everything else by binary search over sorted,
/// disjoint, inclusive `(lo, hi)` code-point ranges (all `>= 0x80`).
#[derive(Debug)]
pub struct CharSet {
    pub(crate) ascii: [u64; 2],
    pub(crate) ranges: &'static [(u32, u32)],
}

impl CharSet {
    /// Whether `c` is in the set.
    #[inline]
    pub fn contains(&self, c: char) -> bool {
        let u = c as u32;
        if u < 128 {
            return self.ascii_contains(u as u8);
        }
        self.contains_non_ascii(u)
    }

    /// Whether the ASCII byte `b` (`< 0x80`) is in the set.
    #[inline]
    pub fn ascii_contains(&self, b: u8) -> bool {
        (self.ascii[(b >> 6) as usize & 1] >> (b & 63)) & 1 != 0
    }

    fn contains_non_ascii(&self, u: u32) -> bool {
        let r = self.ranges;
        // first range whose `hi >= u`
        let i = r.partition_point(|&(_, hi)| hi < u);
        i < r.len() && r[i].0 <= u
    }
}

#[cfg(test)]
mod tests {
    use super::CharSet;

    static SET: CharSet =
        CharSet { ascii: [1 << 32, 1 << (b'a' - 64)], ranges: &[(0xe9, 0xe9), (0x100, 0x17f)] };

    #[test]
    fn membership() {
        assert!(SET.contains(' '));
        assert!(SET.contains('a'));
        assert!(!SET.contains('b'));
        assert!(SET.contains('é'));
        assert!(!SET.contains('è'));
        assert!(SET.contains('\u{100}'));
        assert!(SET.contains('\u{17f}'));
        assert!(!SET.contains('\u{180}'));
        assert!(!SET.contains('\u{10ffff}'));
    }
}
