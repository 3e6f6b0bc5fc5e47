//! Byte-level BPE on raw bytes: the model half of the fast path. A piece is looked up whole
//! first (one hash probe serves most pieces), then in a per-thread cache of earlier pieces, and
//! only then merged, with the same rule as `tokenizers` (lowest merge rank first, leftmost
//! among equals). Ids carry no offsets or token strings.
//!
//! Pieces of at most [`SHORT`] bytes (nearly all of them) are keyed by their bytes packed into
//! two integers, so a lookup hashes and compares two words instead of a heap-allocated slice;
//! short pieces also merge by scanning a small array instead of a heap.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::{Mutex, MutexGuard};

type Map<K, V> = HashMap<K, V, ahash::RandomState>;
type ShortMap<V> = HashMap<Short, V, BuildHasherDefault<ShortHasher>>;

/// Longest piece, in bytes, keyed as a [`Short`].
const SHORT: usize = 15;
/// Longest piece, in bytes, merged by [`ByteBpe::merge_scan`] rather than with a heap.
const SCAN: usize = 48;

/// A piece of 1 to [`SHORT`] bytes packed into two little-endian words, its length in the top
/// byte, so that equal keys are equal pieces.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Short([u64; 2]);

impl Short {
    /// The key of `piece`, if it is short (and not empty).
    #[inline]
    fn of(piece: &[u8]) -> Option<Short> {
        let n = piece.len();
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        let half = |b: &[u8]| u32::from_le_bytes(b.try_into().unwrap_or([0; 4])) as u64;
        let (lo, hi) = match n {
            // Two overlapping reads, the second shifted so that it starts where the first ends.
            // (At 8 bytes the shift is 64 bits: nothing is left.)
            8..=SHORT => (
                word(&piece[..8]),
                word(&piece[n - 8..]).checked_shr((16 - n) as u32 * 8).unwrap_or(0),
            ),
            4..=7 => (half(&piece[..4]) | (half(&piece[n - 4..]) >> ((8 - n) * 8)) << 32, 0),
            1..=3 => {
                let mut lo = 0u64;
                for (k, &b) in piece.iter().enumerate() {
                    lo |= (b as u64) << (8 * k);
                }
                (lo, 0)
            }
            _ => return None,
        };
        Some(Short([lo, hi | ((n as u64) << 56)]))
    }
}

impl Hash for Short {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        let [lo, hi] = self.0;
        let h = (lo.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ hi).wrapping_mul(0xD6E8_FEB8_6659_FD93);
        state.write_u64(h ^ (h >> 29));
    }
}

/// Passes on the one word [`Short`]'s `Hash` writes (already mixed).
#[derive(Default)]
struct ShortHasher(u64);

impl Hasher for ShortHasher {
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Entries a thread's cache holds before it starts over (about 10 MB of short words).
const CACHE_LIMIT: usize = 1 << 17;
/// Thread slots; more threads than this share slots (still correct, only slower).
const SLOTS: usize = 64;

/// The GPT-2 byte ↔ character table that byte-level vocabularies are written in: the char that
/// stands for each byte.
pub fn byte_chars() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut extra = 0u32;
    for b in 0..256u32 {
        let printable = (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || b >= 0xAE;
        table[b as usize] = if printable {
            char::from_u32(b).unwrap_or('\0')
        } else {
            extra += 1;
            char::from_u32(255 + extra).unwrap_or('\0')
        };
    }
    table
}

/// A vocabulary string decoded back to bytes, if every char is in the byte alphabet.
fn to_bytes(token: &str, inverse: &Map<char, u8>) -> Option<Vec<u8>> {
    token.chars().map(|c| inverse.get(&c).copied()).collect()
}

/// Per-thread memo: piece bytes → ids. Short pieces map to a range of `ids`.
#[derive(Default)]
pub struct Cache {
    short: ShortMap<(u32, u32)>,
    ids: Vec<u32>,
    long: Map<Box<[u8]>, Box<[u32]>>,
}

impl Cache {
    fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    fn clear(&mut self) {
        self.short.clear();
        self.ids.clear();
        self.long.clear();
    }
}

/// A byte-level BPE model built from a `tokenizers` BPE model's vocabulary and merges.
pub struct ByteBpe {
    byte_ids: [u32; 256],
    /// Short pieces that encode to exactly one token.
    whole_short: ShortMap<u32>,
    /// Longer pieces that encode to exactly one token, by their bytes.
    whole: Map<Box<[u8]>, u32>,
    /// (left id, right id) → (rank, merged id).
    merges: Map<u64, (u32, u32)>,
    caches: Vec<Mutex<Cache>>,
}

#[inline]
fn pair(a: u32, b: u32) -> u64 {
    ((a as u64) << 32) | b as u64
}

#[derive(Clone, Copy)]
struct Symbol {
    id: u32,
    prev: i32,
    next: i32,
    alive: bool,
}

impl ByteBpe {
    /// Builds the model. `merges` are in rank order. `ignore_merges` is the `tokenizers` flag:
    /// a piece found whole in the vocabulary is that token. Without it a whole-piece lookup is
    /// kept only for tokens that the merges rebuild as themselves. `None` when some byte has no
    /// token or a merge names a token the vocabulary lacks (the caller then uses the reference).
    pub fn new(
        vocab: &HashMap<String, u32>,
        merges: &[(String, String)],
        ignore_merges: bool,
    ) -> Option<ByteBpe> {
        let chars = byte_chars();
        let inverse: Map<char, u8> = chars.iter().enumerate().map(|(b, &c)| (c, b as u8)).collect();
        let mut byte_ids = [0u32; 256];
        for (b, c) in chars.iter().enumerate() {
            byte_ids[b] = *vocab.get(c.to_string().as_str())?;
        }
        let mut merge_map = Map::default();
        for (rank, (a, b)) in merges.iter().enumerate() {
            let new = *vocab.get(format!("{a}{b}").as_str())?;
            merge_map
                .insert(pair(*vocab.get(a.as_str())?, *vocab.get(b.as_str())?), (rank as u32, new));
        }
        let mut bpe = ByteBpe {
            byte_ids,
            whole_short: ShortMap::default(),
            whole: Map::default(),
            merges: merge_map,
            caches: (0..SLOTS).map(|_| Mutex::new(Cache::default())).collect(),
        };
        let mut whole = Map::default();
        let mut ids = Vec::new();
        for (token, &id) in vocab {
            let Some(bytes) = to_bytes(token, &inverse) else { continue };
            if bytes.is_empty() {
                continue;
            }
            if !ignore_merges {
                ids.clear();
                bpe.merge(&bytes, &mut ids);
                if ids != [id] {
                    continue;
                }
            }
            match Short::of(&bytes) {
                Some(key) => {
                    bpe.whole_short.insert(key, id);
                }
                None => {
                    whole.insert(bytes.into_boxed_slice(), id);
                }
            }
        }
        bpe.whole = whole;
        Some(bpe)
    }

    /// This thread's cache.
    pub fn cache(&self) -> MutexGuard<'_, Cache> {
        let slot = rayon::current_thread_index().map_or(SLOTS - 1, |i| i % SLOTS);
        self.caches[slot].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends the ids of one pretokenized piece.
    #[inline]
    pub fn encode_piece(&self, piece: &[u8], cache: &mut Cache, out: &mut Vec<u32>) {
        match Short::of(piece) {
            Some(key) => self.encode_short(piece, key, cache, out),
            None => self.encode_long(piece, cache, out),
        }
    }

    #[inline]
    fn encode_short(&self, piece: &[u8], key: Short, cache: &mut Cache, out: &mut Vec<u32>) {
        if let Some(&id) = self.whole_short.get(&key) {
            out.push(id);
            return;
        }
        if let Some(&(at, n)) = cache.short.get(&key) {
            out.extend_from_slice(&cache.ids[at as usize..(at + n) as usize]);
            return;
        }
        let start = out.len();
        self.merge(piece, out);
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        let at = cache.ids.len() as u32;
        cache.ids.extend_from_slice(&out[start..]);
        cache.short.insert(key, (at, (out.len() - start) as u32));
    }

    #[inline(never)]
    fn encode_long(&self, piece: &[u8], cache: &mut Cache, out: &mut Vec<u32>) {
        if let Some(&id) = self.whole.get(piece) {
            out.push(id);
            return;
        }
        if let Some(ids) = cache.long.get(piece) {
            out.extend_from_slice(ids);
            return;
        }
        let start = out.len();
        self.merge(piece, out);
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.long.insert(piece.into(), out[start..].into());
    }

    /// Rank and result of merging `a` then `b`; rank `u32::MAX` when no merge joins them.
    #[inline]
    fn rank(&self, a: u32, b: u32) -> (u32, u32) {
        self.merges.get(&pair(a, b)).copied().unwrap_or((u32::MAX, 0))
    }

    /// [`Self::merge`] for a piece of at most [`SCAN`] bytes: the symbols and their pair ranks
    /// sit in arrays on the stack; each step merges the leftmost pair of lowest rank and
    /// re-ranks its two neighbours. Same result as the heap, without allocating.
    fn merge_scan(&self, piece: &[u8], out: &mut Vec<u32>) {
        let mut n = piece.len();
        debug_assert!((2..=SCAN).contains(&n));
        let mut ids = [0u32; SCAN];
        let mut ranks = [(u32::MAX, 0u32); SCAN];
        for (k, &b) in piece.iter().enumerate() {
            ids[k] = self.byte_ids[b as usize];
        }
        for k in 0..n - 1 {
            ranks[k] = self.rank(ids[k], ids[k + 1]);
        }
        loop {
            let mut best = 0;
            for k in 1..n - 1 {
                if ranks[k].0 < ranks[best].0 {
                    best = k;
                }
            }
            let (rank, new) = ranks[best];
            if rank == u32::MAX {
                break;
            }
            ids[best] = new;
            ids.copy_within(best + 2..n, best + 1);
            ranks.copy_within(best + 2..n, best + 1);
            n -= 1;
            if best + 1 < n {
                ranks[best] = self.rank(new, ids[best + 1]);
            } else {
                ranks[best] = (u32::MAX, 0);
            }
            if best > 0 {
                ranks[best - 1] = self.rank(ids[best - 1], new);
            }
            if n == 1 {
                break;
            }
        }
        out.extend_from_slice(&ids[..n]);
    }

    /// Merges the bytes of `piece` and appends the resulting ids: the pair with the lowest rank
    /// merges first, the leftmost of equal ranks first (a heap of candidate pairs, each checked
    /// against the current neighbours when it comes out, as `tokenizers` does).
    fn merge(&self, piece: &[u8], out: &mut Vec<u32>) {
        let n = piece.len();
        if n < 2 {
            out.extend(piece.iter().map(|&b| self.byte_ids[b as usize]));
            return;
        }
        if n <= SCAN {
            return self.merge_scan(piece, out);
        }
        self.merge_heap(piece, out);
    }

    /// [`Self::merge`] with a heap, for long pieces.
    fn merge_heap(&self, piece: &[u8], out: &mut Vec<u32>) {
        let n = piece.len();
        let mut sym: Vec<Symbol> = piece
            .iter()
            .enumerate()
            .map(|(k, &b)| Symbol {
                id: self.byte_ids[b as usize],
                prev: k as i32 - 1,
                next: if k + 1 < n { k as i32 + 1 } else { -1 },
                alive: true,
            })
            .collect();
        let mut heap = BinaryHeap::with_capacity(n);
        for k in 0..n - 1 {
            if let Some(&(rank, new)) = self.merges.get(&pair(sym[k].id, sym[k + 1].id)) {
                heap.push(Reverse((rank, k as u32, new)));
            }
        }
        while let Some(Reverse((_, pos, new))) = heap.pop() {
            let p = pos as usize;
            if !sym[p].alive || sym[p].next < 0 {
                continue;
            }
            let r = sym[p].next as usize;
            match self.merges.get(&pair(sym[p].id, sym[r].id)) {
                Some(&(_, id)) if id == new => {}
                _ => continue,
            }
            sym[p].id = new;
            sym[r].alive = false;
            sym[p].next = sym[r].next;
            let after = sym[r].next;
            if after >= 0 {
                sym[after as usize].prev = p as i32;
            }
            if sym[p].prev >= 0 {
                let q = sym[p].prev as usize;
                if let Some(&(rank, id)) = self.merges.get(&pair(sym[q].id, new)) {
                    heap.push(Reverse((rank, q as u32, id)));
                }
            }
            if sym[p].next >= 0 {
                let s = sym[p].next as usize;
                if let Some(&(rank, id)) = self.merges.get(&pair(new, sym[s].id)) {
                    heap.push(Reverse((rank, pos, id)));
                }
            }
        }
        out.extend(sym.iter().filter(|s| s.alive).map(|s| s.id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_is_a_bijection_onto_printable_chars() {
        let t = byte_chars();
        assert_eq!(t[b'A' as usize], 'A');
        assert_eq!(t[b' ' as usize], 'Ġ');
        assert_eq!(t[b'\n' as usize], 'Ċ');
        let mut seen: Vec<char> = t.to_vec();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 256);
    }

    #[test]
    fn lowest_rank_merges_first_and_leftmost_wins_ties() {
        let chars = byte_chars();
        let mut vocab: HashMap<String, u32> =
            chars.iter().enumerate().map(|(b, c)| (c.to_string(), b as u32)).collect();
        for (i, t) in ["aa", "ab", "aab"].iter().enumerate() {
            vocab.insert(t.to_string(), 256 + i as u32);
        }
        let merges: Vec<(String, String)> = [("a", "b"), ("a", "a"), ("a", "ab")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let bpe = ByteBpe::new(&vocab, &merges, false).unwrap();
        let mut out = Vec::new();
        // "aab": "ab" (rank 0) merges before "aa" (rank 1), then "a"+"ab".
        bpe.merge(b"aab", &mut out);
        assert_eq!(out, [258]);
        out.clear();
        // "aaa": the leftmost "aa" merges, no merge joins "aa"+"a".
        bpe.merge(b"aaa", &mut out);
        assert_eq!(out, [256, b'a' as u32]);
        // "aa" rebuilds itself, so the whole-piece lookup may serve it.
        assert_eq!(bpe.whole_short.get(&Short::of(b"aa").unwrap()), Some(&256));
    }

    #[test]
    fn short_keys_pack_bytes_and_length() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for n in 0..=20usize {
            for _ in 0..50 {
                let piece: Vec<u8> = (0..n).map(|_| (next() % 3) as u8).collect();
                let key = Short::of(&piece);
                if n == 0 || n > SHORT {
                    assert!(key.is_none());
                    continue;
                }
                let mut bytes = [0u8; 16];
                bytes[..n].copy_from_slice(&piece);
                bytes[15] = n as u8;
                let want = [
                    u64::from_le_bytes(bytes[..8].try_into().unwrap()),
                    u64::from_le_bytes(bytes[8..].try_into().unwrap()),
                ];
                assert_eq!(key.unwrap().0, want, "{piece:?}");
            }
        }
        // Trailing zero bytes are part of the key.
        assert!(Short::of(b"a") != Short::of(b"a\0"));
    }

    #[test]
    fn scan_and_heap_merge_alike_on_gpt2() {
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/tokenizers/gpt2/tokenizer.json");
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("skipped: {path} is missing");
            return;
        };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let vocab: HashMap<String, u32> =
            serde_json::from_value(json["model"]["vocab"].clone()).unwrap();
        let merges: Vec<(String, String)> = json["model"]["merges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let (a, b) = m.as_str().unwrap().split_once(' ').unwrap();
                (a.to_string(), b.to_string())
            })
            .collect();
        let bpe = ByteBpe::new(&vocab, &merges, false).unwrap();
        let alphabet: Vec<&[u8]> = [
            " ", "e", "t", "a", "o", "n", "s", "h", "r", "ing", "th", "é", "д", "中", "'", "0",
            "\n",
        ]
        .iter()
        .map(|s| s.as_bytes())
        .collect();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let (mut scan, mut heap) = (Vec::new(), Vec::new());
        for round in 0..20_000 {
            let mut piece = Vec::new();
            while piece.len() < 2 + round % (SCAN - 3) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                piece.extend_from_slice(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            piece.truncate(SCAN);
            scan.clear();
            heap.clear();
            bpe.merge_scan(&piece, &mut scan);
            bpe.merge_heap(&piece, &mut heap);
            assert_eq!(scan, heap, "{:?}", String::from_utf8_lossy(&piece));
        }
    }
}
