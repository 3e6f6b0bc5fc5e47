//! Byte-level BPE on raw bytes: the model half of the fast path. A piece is looked up whole
//! first (one hash probe serves most pieces), then in a per-thread cache of earlier pieces, and
//! only then merged, with the same rule as `tokenizers` (lowest merge rank first, leftmost
//! among equals). Ids carry no offsets or token strings.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Mutex, MutexGuard};

type Map<K, V> = HashMap<K, V, ahash::RandomState>;

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

/// Per-thread memo: piece bytes → ids.
#[derive(Default)]
pub struct Cache {
    map: Map<Box<[u8]>, Box<[u32]>>,
}

/// A byte-level BPE model built from a `tokenizers` BPE model's vocabulary and merges.
pub struct ByteBpe {
    byte_ids: [u32; 256],
    /// Pieces that encode to exactly one token, by their bytes.
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
            whole.insert(bytes.into_boxed_slice(), id);
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
        if let Some(&id) = self.whole.get(piece) {
            out.push(id);
            return;
        }
        if let Some(ids) = cache.map.get(piece) {
            out.extend_from_slice(ids);
            return;
        }
        let start = out.len();
        self.merge(piece, out);
        if cache.map.len() >= CACHE_LIMIT {
            cache.map.clear();
        }
        cache.map.insert(piece.into(), out[start..].into());
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
        assert_eq!(bpe.whole.get(&b"aa"[..]), Some(&256));
    }
}
