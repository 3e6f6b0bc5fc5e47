//! Exact, cache-friendly versions of datatrove's n-gram statistics (Gopher repetition).
//!
//! The reference joins words into strings (`" ".join` for the top n-grams, `"".join` for the
//! duplicated n-grams) and hashes the strings. Here:
//! - every word gets an interned id, and a `" "`-joined n-gram of words without a `' '` in
//!   them is keyed by its id tuple, which is exact: splitting the joined string on `' '` gives
//!   the words back. A gram with a `' '` inside a word is keyed by a hash of its joined bytes
//!   and confirmed byte for byte;
//! - a `""`-joined n-gram is keyed by a polynomial hash of its joined bytes, combined in O(1)
//!   from prefix hashes; equal strings always have equal hashes and every match is confirmed
//!   by comparing the joined bytes, so `"ab"+"c" == "a"+"bc"` counts as the reference counts it.
//!
//! Large documents first mark every gram's key in a bitmap (one bit for "seen", one for "seen
//! again"): a gram whose bucket was hit once is unique and never touches the hash table. The
//! table then holds only the repeated grams and stays in cache. Tables and bitmaps live in a
//! per-thread scratch and are invalidated by an epoch counter instead of being cleared.

use std::cell::RefCell;

const BASE: u64 = 0x9E37_79B9_7F4A_7C15 | 1;
const SEP: u64 = b' ' as u64 + 1;
/// Grams per pass below which the bitmap prefilter is skipped.
const PREFILTER_MIN: usize = 256;
/// Prefilter bits per gram (a unique gram shares its bucket with another about 1/8 of the time).
const PREFILTER_BITS: usize = 8;
/// Marks a top-gram key made from a byte hash rather than packed word ids.
const HASHED: u64 = u64::MAX;

/// Multiplicative inverse of an odd number modulo 2^64 (Newton's iteration).
const fn inverse(a: u64) -> u64 {
    let mut x = a;
    let mut i = 0;
    while i < 6 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
        i += 1;
    }
    x
}

const BASE_INV: u64 = inverse(BASE);

/// `B^k` and `B^-k` for short words.
const fn powers(b: u64) -> [u64; 64] {
    let mut t = [1u64; 64];
    let mut k = 1;
    while k < 64 {
        t[k] = t[k - 1].wrapping_mul(b);
        k += 1;
    }
    t
}
const POW: [u64; 64] = powers(BASE);
const POW_INV: [u64; 64] = powers(BASE_INV);

#[inline]
fn mix(lo: u64, hi: u64) -> u64 {
    let mut x = lo ^ hi.wrapping_mul(0x9FB2_1C65_1E98_DF25);
    x ^= x >> 32;
    x = x.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    x ^= x >> 32;
    x.wrapping_mul(0xD6E8_FEB8_6659_FD93)
}

#[derive(Clone, Copy, Default)]
struct VocabSlot {
    hash: u64,
    id: u32,
    epoch: u32,
}

#[derive(Clone, Copy, Default)]
struct TopSlot {
    key: (u64, u64),
    first: u32,
    count: u32,
    epoch: u32,
}

#[derive(Clone, Copy, Default)]
struct DupSlot {
    hash: u64,
    first: u32,
    epoch: u32,
}

/// Per-thread buffers reused across documents and passes.
#[derive(Default)]
struct Scratch {
    ids: Vec<u32>,
    /// Per id: the position of its first occurrence, and its count.
    reps: Vec<u32>,
    id_counts: Vec<u32>,
    /// Per n: the highest count of an n-gram found so far (0: not known).
    best: Vec<u32>,
    /// Prefix sums over words: code points, bytes, words containing `' '`.
    chars: Vec<u32>,
    bytes: Vec<u32>,
    spaced_words: Vec<u32>,
    /// Prefix hash of `"".join(words[..k])` and `B^len`, `B^-len` of it.
    cat: Vec<(u64, u64, u64)>,
    /// Same for `" ".join(words[..k])`.
    spaced: Vec<(u64, u64, u64)>,
    vocab: Vec<VocabSlot>,
    top: Vec<TopSlot>,
    dup: Vec<DupSlot>,
    seen: Vec<u64>,
    again: Vec<u64>,
    epoch: u32,
}

impl Scratch {
    /// A new epoch: every slot written before reads as empty.
    fn next_epoch(&mut self) -> u32 {
        if self.epoch == u32::MAX {
            self.vocab.fill(VocabSlot::default());
            self.top.fill(TopSlot::default());
            self.dup.fill(DupSlot::default());
            self.epoch = 0;
        }
        self.epoch += 1;
        self.epoch
    }
}

/// Grows `v` to at least `cap` default slots; returns the mask for `cap` (a power of two).
fn table<T: Default + Clone>(v: &mut Vec<T>, cap: usize) -> usize {
    let cap = cap.next_power_of_two().max(16);
    if v.len() < cap {
        v.resize(cap, T::default());
    }
    cap - 1
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Which grams of a pass may repeat: after [`Prefilter::mark`]ing every key, a key whose
/// bucket was hit once belongs to exactly one gram.
struct Prefilter {
    on: bool,
    shift: u32,
    /// Marks that landed on an already seen bucket (bounds the distinct repeated keys).
    repeats: usize,
}

impl Prefilter {
    fn new(s: &mut Scratch, grams: usize) -> Self {
        if grams < PREFILTER_MIN {
            return Prefilter { on: false, shift: 0, repeats: grams };
        }
        let bits = (PREFILTER_BITS * grams).next_power_of_two();
        s.seen.clear();
        s.seen.resize(bits / 64, 0);
        s.again.clear();
        s.again.resize(bits / 64, 0);
        Prefilter { on: true, shift: 64 - bits.trailing_zeros(), repeats: 0 }
    }

    #[inline]
    fn mark(&mut self, s: &mut Scratch, h: u64) {
        let b = (h >> self.shift) as usize;
        let (w, bit) = (b / 64, 1u64 << (b % 64));
        let seen = s.seen[w];
        s.again[w] |= seen & bit;
        s.seen[w] = seen | bit;
        self.repeats += usize::from(seen & bit != 0);
    }

    #[inline]
    fn maybe_repeated(&self, s: &Scratch, h: u64) -> bool {
        if !self.on {
            return true;
        }
        let b = (h >> self.shift) as usize;
        s.again[b / 64] & (1u64 << (b % 64)) != 0
    }

    /// Table capacity for the keys that may repeat (at most twice the repeated marks).
    fn table_cap(&self) -> usize {
        4 * self.repeats.max(4)
    }
}

/// Per-word ids, prefix sums and prefix hashes of one document's words.
pub struct WordTable<'a> {
    words: &'a [&'a str],
    s: RefCell<Scratch>,
}

impl Drop for WordTable<'_> {
    fn drop(&mut self) {
        let mut s = std::mem::take(self.s.get_mut());
        if s.cat.capacity() > 1 << 22 {
            // do not keep a huge scratch per thread after one huge document
            s = Scratch { epoch: s.epoch, ..Scratch::default() };
        }
        SCRATCH.with(|c| *c.borrow_mut() = s);
    }
}

impl<'a> WordTable<'a> {
    /// Interns the words and precomputes the per-word values.
    pub fn new(words: &'a [&'a str]) -> Self {
        let mut s = SCRATCH.with(|c| std::mem::take(&mut *c.borrow_mut()));
        let n = words.len();
        s.best.clear();
        s.best.resize(65, 0);
        for v in [
            &mut s.ids,
            &mut s.reps,
            &mut s.id_counts,
            &mut s.chars,
            &mut s.bytes,
            &mut s.spaced_words,
        ] {
            v.clear();
            v.reserve(n + 1);
        }
        s.cat.clear();
        s.cat.reserve(n + 1);
        s.spaced.clear();
        s.spaced.reserve(n + 1);
        s.chars.push(0);
        s.bytes.push(0);
        s.spaced_words.push(0);
        s.cat.push((0, 1, 1));
        s.spaced.push((0, 1, 1));
        let epoch = s.next_epoch();
        let mut mask = table(&mut s.vocab, 1024);
        for (k, w) in words.iter().enumerate() {
            let mut h = 0u64;
            let mut space = false;
            for &b in w.as_bytes() {
                h = h.wrapping_mul(BASE).wrapping_add(u64::from(b) + 1);
                space |= b == b' ';
            }
            let (p, q) = match (POW.get(w.len()), POW_INV.get(w.len())) {
                (Some(p), Some(q)) => (*p, *q),
                _ => w.bytes().fold((1u64, 1u64), |(p, q), _| {
                    (p.wrapping_mul(BASE), q.wrapping_mul(BASE_INV))
                }),
            };
            let (ch, cp, cq) = s.cat[k];
            s.cat.push((
                ch.wrapping_mul(p).wrapping_add(h),
                cp.wrapping_mul(p),
                cq.wrapping_mul(q),
            ));
            let (mut sh, mut sp, mut sq) = s.spaced[k];
            if k > 0 {
                sh = sh.wrapping_mul(BASE).wrapping_add(SEP);
                sp = sp.wrapping_mul(BASE);
                sq = sq.wrapping_mul(BASE_INV);
            }
            s.spaced.push((
                sh.wrapping_mul(p).wrapping_add(h),
                sp.wrapping_mul(p),
                sq.wrapping_mul(q),
            ));
            let chars = if w.is_ascii() { w.len() } else { w.chars().count() } as u32;
            s.chars.push(s.chars[k] + chars);
            s.bytes.push(s.bytes[k] + w.len() as u32);
            s.spaced_words.push(s.spaced_words[k] + u32::from(space));
            // intern
            if 2 * s.reps.len() >= mask {
                mask = Self::grow_vocab(&mut s, epoch);
            }
            let mut slot = (mix(h, 0) as usize) & mask;
            let id = loop {
                let v = s.vocab[slot];
                if v.epoch != epoch {
                    let id = s.reps.len() as u32;
                    s.vocab[slot] = VocabSlot { hash: h, id, epoch };
                    s.reps.push(k as u32);
                    s.id_counts.push(1);
                    break id;
                }
                if v.hash == h && words[s.reps[v.id as usize] as usize] == *w {
                    s.id_counts[v.id as usize] += 1;
                    break v.id;
                }
                slot = (slot + 1) & mask;
            };
            s.ids.push(id);
        }
        s.best[1] = s.id_counts.iter().copied().max().unwrap_or(0);
        WordTable { words, s: RefCell::new(s) }
    }

    /// Doubles the vocabulary table, re-inserting the current epoch's entries.
    fn grow_vocab(s: &mut Scratch, epoch: u32) -> usize {
        let old: Vec<VocabSlot> = s.vocab.iter().filter(|v| v.epoch == epoch).copied().collect();
        let cap = 2 * (s.reps.len().max(512)) * 2;
        s.vocab.clear();
        let mask = table(&mut s.vocab, cap);
        for v in old {
            let mut slot = (mix(v.hash, 0) as usize) & mask;
            while s.vocab[slot].epoch == epoch {
                slot = (slot + 1) & mask;
            }
            s.vocab[slot] = v;
        }
        mask
    }

    /// Hash of `"".join(words[i..i + n])`, in O(1) from the prefix hashes.
    #[inline]
    fn cat_hash(s: &Scratch, i: usize, n: usize) -> u64 {
        let (hi, _, qi) = s.cat[i];
        let (he, pe, _) = s.cat[i + n];
        he.wrapping_sub(hi.wrapping_mul(pe.wrapping_mul(qi)))
    }

    /// Hash of `" ".join(words[i..i + n])`.
    fn spaced_hash(s: &Scratch, i: usize, n: usize) -> u64 {
        // The prefix before word i ends with the separator (for i > 0).
        let (mut hi, _, mut qi) = s.spaced[i];
        if i > 0 {
            hi = hi.wrapping_mul(BASE).wrapping_add(SEP);
            qi = qi.wrapping_mul(BASE_INV);
        }
        let (he, pe, _) = s.spaced[i + n];
        he.wrapping_sub(hi.wrapping_mul(pe.wrapping_mul(qi)))
    }

    /// The exact key of the `" "`-joined gram at `i`: packed ids, or a byte hash (to be
    /// confirmed) when a word holds a `' '` or `n > 4`.
    #[inline]
    fn top_key(s: &Scratch, i: usize, n: usize) -> (u64, u64) {
        if n <= 4 && s.spaced_words[i + n] == s.spaced_words[i] {
            let id = |k: usize| if k < n { u64::from(s.ids[i + k]) } else { 0 };
            (id(0) | id(1) << 32, id(2) | id(3) << 32)
        } else {
            (Self::spaced_hash(s, i, n), HASHED)
        }
    }

    /// Whether the joined grams at `a` and `b` are equal strings (`sep`: `" "` or `""`).
    fn same(&self, s: &Scratch, a: usize, b: usize, n: usize, spaced: bool) -> bool {
        if s.ids[a..a + n] == s.ids[b..b + n] {
            return true;
        }
        if s.bytes[a + n] - s.bytes[a] != s.bytes[b + n] - s.bytes[b] {
            return false;
        }
        let bytes = |i: usize| {
            self.words[i..i + n].iter().enumerate().flat_map(move |(k, w)| {
                let sep: &[u8] = if spaced && k > 0 { b" " } else { b"" };
                sep.iter().chain(w.as_bytes())
            })
        };
        bytes(a).eq(bytes(b))
    }

    fn gram_chars(s: &Scratch, i: usize, n: usize, spaced: bool) -> usize {
        (s.chars[i + n] - s.chars[i]) as usize + if spaced { n - 1 } else { 0 }
    }

    /// datatrove `find_top_duplicate(get_n_grams(words, n))`: `len(gram) * count` of the most
    /// frequent `" "`-joined n-gram (on a tie, the one seen first); `None` without n-grams.
    pub fn top_duplicate_chars(&self, n: usize) -> Option<usize> {
        let total = (self.words.len() + 1).checked_sub(n).filter(|t| *t > 0)?;
        let mut guard = self.s.borrow_mut();
        let s = &mut *guard;
        let mut pre = Prefilter::new(s, total);
        if pre.on {
            for i in 0..total {
                let (lo, hi) = Self::top_key(s, i, n);
                pre.mark(s, mix(lo, hi));
            }
        }
        let epoch = s.next_epoch();
        let mask = table(&mut s.top, pre.table_cap());
        // (count, first) of the best repeated gram so far
        let (mut best_count, mut best_first) = (0u32, 0u32);
        for i in 0..total {
            let key = Self::top_key(s, i, n);
            let h = mix(key.0, key.1);
            if !pre.maybe_repeated(s, h) {
                continue;
            }
            let mut slot = (h as usize) & mask;
            let (count, first) = loop {
                let t = &s.top[slot];
                if t.epoch != epoch {
                    s.top[slot] = TopSlot { key, first: i as u32, count: 1, epoch };
                    break (1, i as u32);
                }
                if t.key == key && (key.1 != HASHED || self.same(s, t.first as usize, i, n, true)) {
                    let t = &mut s.top[slot];
                    t.count += 1;
                    break (t.count, t.first);
                }
                slot = (slot + 1) & mask;
            };
            if count > best_count || (count == best_count && first < best_first) {
                (best_count, best_first) = (count, first);
            }
        }
        // Without a repeated gram every count is 1 and the first gram wins.
        let (count, first) = if best_count >= 2 { (best_count, best_first) } else { (1, 0) };
        if n < s.best.len() {
            s.best[n] = count;
        }
        Some(Self::gram_chars(s, first as usize, n, true) * count as usize)
    }

    /// An upper bound on [`Self::top_duplicate_chars`]`(n)` that costs one pass over prefix
    /// sums: the count of an n-gram is at most the highest count of a shorter gram (its
    /// prefix) found so far, and its length at most the longest n-gram's. `None` when no bound
    /// is known; only for words without `' '` (then `" "`-joined grams compare as word tuples).
    pub fn top_duplicate_bound(&self, n: usize) -> Option<usize> {
        let s = self.s.borrow();
        let len = self.words.len();
        if n < 2 || n >= s.best.len() || len < n || s.spaced_words[len] != 0 {
            return None;
        }
        let count = (1..n).rev().map(|m| s.best[m]).find(|c| *c > 0)?;
        let longest = (0..=len - n).map(|i| s.chars[i + n] - s.chars[i]).max()? as usize + n - 1;
        Some(count as usize * longest)
    }

    /// datatrove `find_all_duplicate(words, n)`: characters of `""`-joined n-grams already
    /// seen, skipping `n` words after each duplicate.
    pub fn all_duplicate_chars(&self, n: usize) -> usize {
        let len = self.words.len();
        if len < n || n == 0 {
            return 0;
        }
        let total = len - n + 1;
        let mut guard = self.s.borrow_mut();
        let s = &mut *guard;
        let mut pre = Prefilter::new(s, total);
        if pre.on {
            for i in 0..total {
                pre.mark(s, mix(Self::cat_hash(s, i, n), 0));
            }
        }
        let epoch = s.next_epoch();
        let mask = table(&mut s.dup, pre.table_cap());
        let (mut idx, mut repeated) = (0usize, 0usize);
        while idx < total {
            let h = Self::cat_hash(s, idx, n);
            let m = mix(h, 0);
            // A gram that occurs once is new; nothing later can equal it.
            if !pre.maybe_repeated(s, m) {
                idx += 1;
                continue;
            }
            let mut slot = (m as usize) & mask;
            let seen = loop {
                let t = s.dup[slot];
                if t.epoch != epoch {
                    s.dup[slot] = DupSlot { hash: h, first: idx as u32, epoch };
                    break false;
                }
                if t.hash == h && self.same(s, t.first as usize, idx, n, false) {
                    break true;
                }
                slot = (slot + 1) & mask;
            };
            if seen {
                repeated += Self::gram_chars(s, idx, n, false);
                idx += n;
            } else {
                idx += 1;
            }
        }
        repeated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The reference algorithms, transcribed naively.
    fn top_ref(words: &[&str], n: usize) -> Option<usize> {
        if words.len() < n {
            return None;
        }
        let grams: Vec<String> = (0..=words.len() - n).map(|i| words[i..i + n].join(" ")).collect();
        let mut order: Vec<String> = Vec::new();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for g in grams {
            if !counts.contains_key(&g) {
                order.push(g.clone());
            }
            *counts.entry(g).or_insert(0) += 1;
        }
        let mut best: Option<(&String, usize)> = None;
        for g in &order {
            let c = counts[g];
            if best.is_none_or(|(_, bc)| c > bc) {
                best = Some((g, c));
            }
        }
        best.map(|(g, c)| g.chars().count() * c)
    }

    fn all_ref(words: &[&str], n: usize) -> usize {
        let mut seen = std::collections::HashSet::new();
        let (mut idx, mut rep) = (0usize, 0usize);
        while words.len() >= n && idx < words.len() - n + 1 {
            let g: String = words[idx..idx + n].concat();
            if seen.contains(&g) {
                rep += g.chars().count();
                idx += n;
            } else {
                seen.insert(g);
                idx += 1;
            }
        }
        rep
    }

    fn check(w: &[&str], ns: std::ops::RangeInclusive<usize>) {
        let t = WordTable::new(w);
        for n in ns {
            let top = top_ref(w, n);
            if let Some(bound) = t.top_duplicate_bound(n) {
                assert!(bound >= top.unwrap_or(0), "bound n={n} len={}", w.len());
            }
            assert_eq!(t.top_duplicate_chars(n), top, "top n={n} len={}", w.len());
            assert_eq!(t.all_duplicate_chars(n), all_ref(w, n), "dup n={n} len={}", w.len());
        }
    }

    #[test]
    fn matches_the_reference_on_tricky_inputs() {
        let cases: Vec<Vec<&str>> = vec![
            vec![],
            vec!["a"],
            "a b a b a b c".split(' ').collect(),
            vec!["ab", "c", "a", "bc", "ab", "c"],
            vec!["x y", "z", "x", "y z", "x y", "z"],
            vec!["  ", "a", " ", " a", " ", " ", "a", "  ", "a"],
            "the cat the cat the dog the cat".split(' ').collect(),
            vec!["é", "é", "é", "é", "é", "é", "é", "é", "é", "é", "é", "é"],
        ];
        for w in &cases {
            check(w, 1..=10);
        }
    }

    #[test]
    fn matches_the_reference_on_random_documents_large_and_small() {
        // Few distinct words, some with spaces or splittable into others, so that repeats,
        // unseparated-join collisions and the prefilter path are all exercised.
        let vocab = ["a", "b", "ab", "ba", "a b", " ", "c", "ca", "é", "bé", "the", "of"];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for len in [0usize, 3, 17, 200, 3000, 20_000] {
            for width in [3usize, 6, 12] {
                let w: Vec<&str> =
                    (0..len).map(|_| vocab[(next() % width as u64) as usize]).collect();
                check(&w, 1..=10);
            }
        }
        // Mostly unique words with a few repeated phrases: the prefilter drops most grams.
        let owned: Vec<String> = (0..40_000u64)
            .map(|i| if i % 97 < 20 { format!("w{}", i % 97) } else { format!("u{}", next()) })
            .collect();
        let w: Vec<&str> = owned.iter().map(String::as_str).collect();
        check(&w, 2..=10);
    }

    #[test]
    fn tie_goes_to_the_first_seen_gram() {
        let w = vec!["long_word", "x", "a", "y"];
        // Every 1-gram appears once: the first, "long_word", decides the length.
        assert_eq!(WordTable::new(&w).top_duplicate_chars(1), Some(9));
        // "bb" and "a" both appear twice: the one seen first decides the length.
        assert_eq!(WordTable::new(&["bb", "a", "bb", "a"]).top_duplicate_chars(1), Some(4));
        assert_eq!(WordTable::new(&["a", "bb", "a", "bb"]).top_duplicate_chars(1), Some(2));
        // A higher count beats an earlier gram.
        assert_eq!(WordTable::new(&["bb", "a", "bb", "a", "a"]).top_duplicate_chars(1), Some(3));
    }
}
