//! A per-thread memo of how the tokenizer split recent non-space chunks of text.
//!
//! spaCy tokenizes each whitespace-delimited chunk on its own (special cases, prefixes,
//! suffixes, infixes; `_apply_special_cases` runs afterwards over the whole token list), so a
//! chunk's tokens depend only on its bytes. Natural text repeats its chunks (`"(the"`,
//! `"don't"`, `"U.S."`) and the affix rules are the slow part of tokenizing, so the split of
//! short chunks is remembered: a direct-mapped table keyed by the chunk's bytes, where a newer
//! chunk replaces an older one in the same slot. A hit returns exactly the tokens the rules
//! gave the same bytes before. (Letters and one stop, such as `"said,"`, are split directly
//! and never stored: see `word_then_stop` in the tokenizer.)

/// Longest chunk remembered, in bytes.
pub(super) const MEMO_MAX: usize = 24;
/// Most tokens of a remembered chunk.
const MAX_PIECES: usize = 8;
/// Slots in the table (a power of two): 40 bytes each (80 KiB), so the table stays in the L2 cache;
/// 8,192 and 16,384 slots ran fewer instructions but were no faster on the books.
const SLOTS: usize = 2048;

#[derive(Clone, Copy, Default)]
struct Slot {
    /// The chunk's bytes, zero-padded.
    key: [u64; 3],
    /// Chunk length in bytes (0: empty slot).
    len: u8,
    /// Number of tokens.
    pieces: u8,
    /// End offset of each token in the chunk.
    ends: [u8; MAX_PIECES],
    /// Whether the tokens hold a special-case match to put back together (see
    /// `SpecialMatcher::seeds_in_chunk`).
    seeds: bool,
}

/// The memo: empty until first used.
#[derive(Default)]
pub(super) struct ChunkMemo {
    slots: Vec<Slot>,
}

/// The chunk `bytes[at..at + len]` (at most [`MEMO_MAX`] bytes) as three zero-padded words,
/// and its slot. With [`MEMO_MAX`] bytes readable from `at` (all but the end of a text), the
/// words are loaded in place and masked; otherwise the chunk is copied to a padded buffer.
#[inline]
fn key(bytes: &[u8], at: usize, len: usize) -> ([u64; 3], usize) {
    let k = match bytes.get(at..at + MEMO_MAX) {
        Some(window) => {
            let word = |i: usize| {
                let w = u64::from_le_bytes(window[8 * i..8 * i + 8].try_into().expect("8 bytes"));
                match len.saturating_sub(8 * i) {
                    0 => 0,
                    n if n >= 8 => w,
                    n => w & ((1u64 << (8 * n)) - 1),
                }
            };
            [word(0), word(1), word(2)]
        }
        None => {
            let mut buf = [0u8; MEMO_MAX];
            buf[..len].copy_from_slice(&bytes[at..at + len]);
            let word =
                |i: usize| u64::from_le_bytes(buf[8 * i..8 * i + 8].try_into().expect("8 bytes"));
            [word(0), word(1), word(2)]
        }
    };
    let h =
        (k[0] ^ (len as u64).rotate_left(40)).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(23)
            ^ k[1].wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
            ^ k[2].wrapping_mul(0x1656_67B1_9E37_79F9);
    let h = h.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    (k, (h >> 40) as usize & (SLOTS - 1))
}

impl ChunkMemo {
    /// The token end offsets remembered for the chunk `text[at..at + len]`, and whether they
    /// hold a special-case match (`None` for chunks longer than [`MEMO_MAX`] bytes, which are
    /// never remembered).
    #[inline]
    pub(super) fn get_at(&self, text: &[u8], at: usize, len: usize) -> Option<(&[u8], bool)> {
        if self.slots.is_empty() || len == 0 || len > MEMO_MAX {
            return None;
        }
        let (k, slot) = key(text, at, len);
        let s = &self.slots[slot];
        (usize::from(s.len) == len && s.key == k)
            .then(|| (&s.ends[..usize::from(s.pieces)], s.seeds))
    }

    /// Remembers that `chunk` splits into tokens ending at `ends` (offsets into the chunk),
    /// and whether they hold a special-case match. A split that does not fit a slot is not
    /// remembered.
    pub(super) fn put(
        &mut self,
        chunk: &[u8],
        ends: impl ExactSizeIterator<Item = usize>,
        seeds: bool,
    ) {
        if ends.len() > MAX_PIECES || chunk.is_empty() || chunk.len() > MEMO_MAX {
            return;
        }
        if self.slots.is_empty() {
            self.slots = vec![Slot::default(); SLOTS];
        }
        let (k, at) = key(chunk, 0, chunk.len());
        let mut slot = Slot {
            key: k,
            len: chunk.len() as u8,
            pieces: ends.len() as u8,
            seeds,
            ..Slot::default()
        };
        for (i, e) in ends.enumerate() {
            slot.ends[i] = e as u8;
        }
        self.slots[at] = slot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'m>(m: &'m ChunkMemo, chunk: &[u8]) -> Option<&'m [u8]> {
        m.get_at(chunk, 0, chunk.len()).map(|(ends, _)| ends)
    }

    #[test]
    fn remembers_exact_bytes_only() {
        let mut m = ChunkMemo::default();
        assert_eq!(get(&m, b"said,"), None);
        m.put(b"said,", [4, 5].into_iter(), false);
        assert_eq!(get(&m, b"said,"), Some(&[4u8, 5][..]));
        assert_eq!(get(&m, b"said."), None);
        assert_eq!(get(&m, b"said,\0"), None);
        m.put(&[b'x'; MEMO_MAX + 1], [MEMO_MAX + 1].into_iter(), false);
        assert_eq!(get(&m, &[b'x'; MEMO_MAX + 1]), None);
        // a chunk looked up in place inside a longer text (loaded and masked) finds what the
        // chunk alone (copied to a padded buffer) put, at any length and position
        let text = b"x said, (the) don't U.S. e-mail... well-known-and-long-chunk! tail";
        for len in 1..=MEMO_MAX {
            for at in 0..=text.len() - len {
                let chunk = &text[at..at + len];
                let mut m = ChunkMemo::default();
                m.put(chunk, [len].into_iter(), len % 2 == 0);
                assert_eq!(
                    m.get_at(text, at, len),
                    Some((&[len as u8][..], len % 2 == 0)),
                    "{len} at {at}"
                );
                // one byte more or less is another chunk
                assert_eq!(m.get_at(text, at, len - 1), None);
                if at + len < text.len() {
                    assert_eq!(m.get_at(text, at, len + 1), None);
                }
            }
        }
        let long = b"a-b-c-d-e";
        m.put(long, [1, 2, 3, 4, 5, 6, 7, 8, 9].into_iter(), false);
        assert_eq!(get(&m, long), None);
    }
}
