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
//! Large documents first mark every gram's key in a bitmap (two "seen" bits per key, each with
//! a "seen again" bit): a gram with a bit hit once is unique and never touches the hash
//! table. The table then holds only the repeated grams and stays in cache. Tables and bitmaps
//! live in a per-thread scratch and are invalidated by an epoch counter instead of being
//! cleared.

use std::cell::RefCell;

use super::Words;
use crate::text::pystr::py_len;

const BASE: u64 = 0x9E37_79B9_7F4A_7C15 | 1;
const SEP: u64 = b' ' as u64 + 1;
/// Grams per pass below which the bitmap prefilter is skipped.
const PREFILTER_MIN: usize = 32;
/// Prefilter bits per gram (each gram sets two of them; see [`Prefilter::bits`]).
const PREFILTER_BITS: usize = 8;
/// Bytes of the anchor that starts each `""`-joined gram (see [`WordTable::anchors`]).
const ANCHOR: usize = 16;
/// Marks a top-gram key made from a byte hash rather than packed word ids.
const HASHED: u64 = u64::MAX;

/// Powers `B^k` for strings shorter than this are read from [`POW`].
const POW_TABLE: usize = 1024;

const fn powers() -> [u64; POW_TABLE] {
    let mut t = [1u64; POW_TABLE];
    let mut k = 1;
    while k < POW_TABLE {
        t[k] = t[k - 1].wrapping_mul(BASE);
        k += 1;
    }
    t
}
static POW: [u64; POW_TABLE] = powers();

/// `B^k` (modulo 2^64).
#[inline]
fn pow(k: usize) -> u64 {
    match POW.get(k) {
        Some(p) => *p,
        None => {
            let (mut r, mut b, mut e) = (1u64, BASE, k);
            while e > 0 {
                if e & 1 == 1 {
                    r = r.wrapping_mul(b);
                }
                b = b.wrapping_mul(b);
                e >>= 1;
            }
            r
        }
    }
}

/// The polynomial hash of `bytes` (each byte + 1, base [`BASE`]); short words sum independent
/// products instead of one multiply chain.
#[inline]
fn word_hash(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    if n <= 32 {
        let p = &POW[..n];
        bytes
            .iter()
            .zip(p.iter().rev())
            .fold(0u64, |h, (b, p)| h.wrapping_add((u64::from(*b) + 1).wrapping_mul(*p)))
    } else {
        bytes.iter().fold(0u64, |h, b| h.wrapping_mul(BASE).wrapping_add(u64::from(*b) + 1))
    }
}

/// The first [`ANCHOR`] (16) bytes of `b` as a little-endian integer, zero past its end;
/// a few overlapping loads instead of a byte loop or a copy.
#[inline]
fn head(b: &[u8]) -> u128 {
    let n = b.len();
    let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    let u32_at = |i: usize| u64::from(u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes")));
    if n >= 16 {
        u128::from_le_bytes(b[..16].try_into().expect("16 bytes"))
    } else if n >= 8 {
        // bytes 8..n are the top n - 8 bytes of the last eight
        let hi = if n == 8 { 0 } else { u64_at(n - 8) >> (8 * (16 - n)) };
        u128::from(u64_at(0)) | u128::from(hi) << 64
    } else if n >= 4 {
        u128::from(u32_at(0) | (u32_at(n - 4) >> (8 * (8 - n))) << 32)
    } else if n > 0 {
        // bytes 0, n / 2 and n - 1 cover every length up to 3
        let at = |i: usize| u64::from(b[i]) << (8 * i);
        u128::from(at(0) | at(n / 2) | at(n - 1))
    } else {
        0
    }
}

/// `LOW_BYTES[k]` keeps the low `k` bytes of a little-endian word (`k <= 8`).
static LOW_BYTES: [u64; 9] = {
    let mut t = [0u64; 9];
    let mut k = 1;
    while k < 9 {
        t[k] = (t[k - 1] << 8) | 0xFF;
        k += 1;
    }
    t
};

/// The first 16 bytes of `t[a..b]` as [`head`] gives them and its last 8 bytes (meaningful
/// for 8 bytes or more), read with the same loads whatever the length, so a mix of word
/// lengths costs no mispredicted branches; `None` near the ends of `t`, where those loads
/// would leave it.
#[inline(always)]
fn head_tail_at(t: &[u8], a: usize, b: usize) -> Option<(u128, u64)> {
    if a + 16 > t.len() || b < 8 {
        return None;
    }
    let at = |i: usize| u64::from_le_bytes(t[i..i + 8].try_into().expect("8 bytes"));
    let n = (b - a).min(16);
    // the low `k` bytes of a word (k <= 8): a table load, not a variable 128-bit shift
    let low = |w: u64, k: usize| w & LOW_BYTES[k];
    let lo = low(at(a), n.min(8));
    let hi = low(at(a + 8), n.saturating_sub(8));
    Some((u128::from(lo) | u128::from(hi) << 64, at(b - 8)))
}

/// A word's vocabulary key from its [`head`], last 8 bytes and length: a word of up to 7
/// bytes is its own key (bytes and length); a longer one is keyed by a hash (top byte `0xFF`)
/// and confirmed against the word that made the entry.
#[inline(always)]
fn word_key(h: u128, tail: u64, n: usize) -> u64 {
    let short = h as u64 | (n as u64) << 56;
    let lo = h as u64 ^ (n as u64).rotate_left(32);
    let long = mix(lo ^ tail.rotate_left(17), (h >> 64) as u64) | 0xFF << 56;
    std::hint::select_unpredictable(n < 8, short, long)
}

/// [`word_key`] of a word's bytes.
fn word_key_of(b: &[u8]) -> u64 {
    let tail = match b.len() {
        n if n >= 8 => u64::from_le_bytes(b[n - 8..].try_into().expect("8 bytes")),
        _ => 0,
    };
    word_key(head(b), tail, b.len())
}

/// Whether two words of at least 8 bytes are equal: up to 24 bytes, the first 16 and the last
/// 8 bytes cover the word, so two loads each decide it without a `memcmp` call.
#[inline]
fn same_word(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    if !(8..=24).contains(&n) {
        return a == b;
    }
    let tail = |w: &[u8]| u64::from_le_bytes(w[n - 8..].try_into().expect("8 bytes"));
    head(a) == head(b) && tail(a) == tail(b)
}

/// Items ahead of the current one whose prefilter bitmap word is prefetched.
const MARKS_AHEAD: usize = 16;
/// Prefilter bitmap words (16 bytes each) from which probes are prefetched: 256 KiB.
const PREFETCH_FROM: usize = 1 << 14;

/// Candidates ahead of the current one whose table slot is prefetched.
const AHEAD: usize = 8;

/// Asks the CPU to start loading the cache line of `slot`: a hint with no effect on results.
#[inline(always)]
fn prefetch<T>(slot: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and changes no memory; `slot` is a live reference.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((slot as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = slot;
}

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
    key: u64,
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

/// What the prefix sums need of one distinct word.
#[derive(Clone, Copy)]
struct WordInfo {
    /// [`word_hash`] of its bytes.
    hash: u64,
    bytes: u32,
    /// Code points.
    chars: u32,
    /// Whether it holds a `' '`.
    space: bool,
}

impl WordInfo {
    fn of(w: &str) -> Self {
        let b = w.as_bytes();
        WordInfo {
            hash: word_hash(b),
            bytes: b.len() as u32,
            chars: py_len(w) as u32,
            space: b.contains(&b' '),
        }
    }
}

#[derive(Clone, Copy, Default)]
struct DupSlot {
    /// The gram's mixed hash.
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
    /// (Built only when some word holds a `' '`: empty otherwise.)
    spaced_words: Vec<u32>,
    /// Words containing `' '`.
    spaced_total: u32,
    /// Per word: its vocabulary key.
    keys: Vec<u64>,
    /// Positions of long words whose hashed key matched an entry, to be confirmed.
    unconfirmed: Vec<u32>,
    /// Per id: what the prefix sums need of the word.
    info: Vec<WordInfo>,
    /// Prefix hash of `"".join(words[..k])`.
    cat: Vec<u64>,
    /// Prefix hash of `" ".join(words[..k])`, built on first use (empty until then).
    spaced: Vec<u64>,
    vocab: Vec<VocabSlot>,
    top: Vec<TopSlot>,
    dup: Vec<DupSlot>,
    /// Prefilter bitmap: per 64 buckets, the "seen" and the "seen again" bits side by side
    /// (one cache line per probe).
    marks: Vec<[u64; 2]>,
    /// Per word: whether its anchor (the first [`ANCHOR`] bytes of the words from it on,
    /// joined without separator) may occur at another word's start (built on first use:
    /// empty until then).
    anchor_repeats: Vec<bool>,
    anchor_hashes: Vec<u64>,
    /// Per position: how many bigrams in a row from it may repeat (after the 2-gram pass,
    /// for documents without `' '` in a word; empty otherwise). An n-gram whose n - 1
    /// bigrams do not all repeat occurs once.
    pair_runs: Vec<u32>,
    /// Per word count in the document: `count * len` of the longest word with that count, and
    /// `count * (1 + L(count))` (see [`WordTable::top_duplicate_bound`]; built on first use,
    /// empty until then).
    vocab_terms: Vec<(u64, u64)>,
    /// The grams of one pass that may repeat: position, key and its mixed hash.
    top_cands: Vec<(u32, u64)>,
    dup_cands: Vec<(u32, u64)>,
    /// The positions [`WordTable::dup_candidates`] kept for `dup_base_n`-grams (0: none yet).
    dup_base: Vec<u32>,
    dup_base_n: usize,
    epoch: u32,
}

/// Bytes of scratch a thread keeps between documents (more is freed after the document).
const SCRATCH_KEEP: usize = 64 << 20;

impl Scratch {
    /// Heap bytes held by the buffers.
    fn retained_bytes(&self) -> usize {
        fn b<T>(v: &Vec<T>) -> usize {
            v.capacity() * size_of::<T>()
        }
        b(&self.ids)
            + b(&self.reps)
            + b(&self.id_counts)
            + b(&self.best)
            + b(&self.chars)
            + b(&self.bytes)
            + b(&self.spaced_words)
            + b(&self.keys)
            + b(&self.unconfirmed)
            + b(&self.info)
            + b(&self.cat)
            + b(&self.spaced)
            + b(&self.vocab)
            + b(&self.top)
            + b(&self.dup)
            + b(&self.marks)
            + b(&self.anchor_repeats)
            + b(&self.anchor_hashes)
            + b(&self.pair_runs)
            + b(&self.vocab_terms)
            + b(&self.top_cands)
            + b(&self.dup_cands)
            + b(&self.dup_base)
    }

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

/// Slots a pass's table starts with; it doubles whenever it is half full, so its size follows
/// the distinct grams, not the candidates.
const TABLE_START: usize = 1 << 12;

/// A slot of an epoch-invalidated open-addressing table.
trait Slot: Copy + Default {
    fn epoch(&self) -> u32;
    fn set_epoch(&mut self, epoch: u32);
    /// The mixed hash that places the slot.
    fn place(&self) -> u64;
}

impl Slot for TopSlot {
    fn epoch(&self) -> u32 {
        self.epoch
    }
    fn set_epoch(&mut self, epoch: u32) {
        self.epoch = epoch;
    }
    fn place(&self) -> u64 {
        mix(self.key.0, self.key.1)
    }
}

impl Slot for VocabSlot {
    fn epoch(&self) -> u32 {
        self.epoch
    }
    fn set_epoch(&mut self, epoch: u32) {
        self.epoch = epoch;
    }
    fn place(&self) -> u64 {
        mix(self.key, 0)
    }
}

impl Slot for DupSlot {
    fn epoch(&self) -> u32 {
        self.epoch
    }
    fn set_epoch(&mut self, epoch: u32) {
        self.epoch = epoch;
    }
    fn place(&self) -> u64 {
        self.hash
    }
}

/// The entries of the table `v[..=mask]` of `epoch`.
fn live<T: Slot>(v: &[T], mask: usize, epoch: u32) -> Vec<T> {
    v[..=mask].iter().filter(|t| t.epoch() == epoch).copied().collect()
}

/// Doubles a table into `v`, putting the `live` entries back under epoch `next` (taken after
/// [`live`], as a new epoch may clear the tables); returns the new mask.
fn grow<T: Slot>(v: &mut Vec<T>, live: Vec<T>, mask: usize, next: u32) -> usize {
    let mask = table(v, 2 * (mask + 1));
    for mut t in live {
        let mut slot = (t.place() as usize) & mask;
        while v[slot].epoch() == next {
            slot = (slot + 1) & mask;
        }
        t.set_epoch(next);
        v[slot] = t;
    }
    mask
}

/// Empties `v` and makes room for `cap` items. A buffer too small is replaced, not grown:
/// growing would copy the old (stale) contents, which on a book is megabytes per document.
fn reuse<T>(v: &mut Vec<T>, cap: usize) {
    v.clear();
    if v.capacity() < cap {
        *v = Vec::new();
        v.reserve_exact(cap);
    }
}

/// Keeps the items of `v` for which `keep` holds, in order, without a branch per item: every
/// item is moved down and the count advances past the kept ones (the filters here keep an
/// unpredictable mix, where `Vec::retain` mispredicts about every other item).
fn keep_where<T: Copy>(v: &mut Vec<T>, keep: impl Fn(&T) -> bool) {
    let mut kept = 0;
    for k in 0..v.len() {
        let item = v[k];
        v[kept] = item;
        kept += usize::from(keep(&item));
    }
    v.truncate(kept);
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

/// Which grams of a pass may repeat: after [`Prefilter::mark`]ing every key, a key with a
/// bit that was hit once belongs to exactly one gram.
struct Prefilter {
    on: bool,
    shift: u32,
}

impl Prefilter {
    /// A prefilter for `grams` keys; off (every key may repeat) for fewer than
    /// [`PREFILTER_MIN`], where the table is small anyway.
    fn new(s: &mut Scratch, grams: usize) -> Self {
        if grams < PREFILTER_MIN {
            return Prefilter { on: false, shift: 0 };
        }
        Self::always(s, grams)
    }

    /// A prefilter for `grams` keys, whatever their number.
    fn always(s: &mut Scratch, grams: usize) -> Self {
        let bits = (PREFILTER_BITS * grams).next_power_of_two().max(64);
        reuse(&mut s.marks, bits / 64);
        s.marks.resize(bits / 64, [0; 2]);
        Prefilter { on: true, shift: 64 - bits.trailing_zeros() }
    }

    #[inline]
    fn mark(&self, s: &mut Scratch, h: u64) {
        self.mark_in(&mut s.marks, h);
    }

    /// The bitmap word of `h` and its two bits there: the top bits of `h` pick the word and
    /// one bit, middle bits the other. A key whose two bits were both hit by other keys too
    /// is a false "may repeat" (about 4% of unique keys, against 11% with one bit), at the
    /// same one cache line per probe.
    #[inline]
    fn bits(&self, h: u64) -> (usize, u64) {
        let b = (h >> self.shift) as usize;
        (b / 64, 1u64 << (b % 64) | 1u64 << ((h >> 20) & 63))
    }

    /// Sets the "seen" bits of `h`, and the "seen again" bit of each that was already seen.
    #[inline]
    fn mark_in(&self, marks: &mut [[u64; 2]], h: u64) {
        let (w, bits) = self.bits(h);
        let [seen, again] = marks[w];
        marks[w] = [seen | bits, again | (seen & bits)];
    }

    /// Whether both "seen again" bits of `h` are set.
    #[inline]
    fn again_in(&self, marks: &[[u64; 2]], h: u64) -> bool {
        let (w, bits) = self.bits(h);
        marks[w][1] & bits == bits
    }

    /// The bitmap word of key `h`.
    #[inline]
    fn word(&self, h: u64) -> usize {
        (h >> self.shift) as usize / 64
    }

    /// Marks the key of every item. A bitmap larger than [`PREFETCH_FROM`] words (a book's
    /// outgrows the L2 cache, and the probes are random) has the word [`MARKS_AHEAD`] items
    /// ahead prefetched.
    fn mark_all<T>(&self, marks: &mut [[u64; 2]], items: &[T], key: impl Fn(&T) -> u64) {
        if marks.len() < PREFETCH_FROM {
            items.iter().for_each(|item| self.mark_in(marks, key(item)));
            return;
        }
        for (k, item) in items.iter().enumerate() {
            if let Some(ahead) = items.get(k + MARKS_AHEAD) {
                prefetch(&marks[self.word(key(ahead))]);
            }
            self.mark_in(marks, key(item));
        }
    }

    /// Keeps the items whose key may repeat (all of them when the prefilter is off), in
    /// order, prefetching like [`Self::mark_all`].
    fn retain_repeated<T: Copy>(
        &self,
        marks: &[[u64; 2]],
        items: &mut Vec<T>,
        key: impl Fn(&T) -> u64,
    ) {
        if !self.on {
            return;
        }
        let far = marks.len() >= PREFETCH_FROM;
        let mut kept = 0;
        for k in 0..items.len() {
            if far && let Some(ahead) = items.get(k + MARKS_AHEAD) {
                prefetch(&marks[self.word(key(ahead))]);
            }
            let item = items[k];
            items[kept] = item;
            kept += usize::from(self.again_in(marks, key(&item)));
        }
        items.truncate(kept);
    }

    #[inline]
    fn maybe_repeated(&self, s: &Scratch, h: u64) -> bool {
        if !self.on {
            return true;
        }
        self.again_in(&s.marks, h)
    }
}

/// Per-word ids, prefix sums and prefix hashes of one document's words.
pub struct WordTable<'a> {
    words: Words<'a>,
    s: RefCell<Scratch>,
}

impl Drop for WordTable<'_> {
    fn drop(&mut self) {
        let mut s = std::mem::take(self.s.get_mut());
        if s.retained_bytes() > SCRATCH_KEEP {
            // do not keep a huge scratch per thread after one huge document
            s = Scratch { epoch: s.epoch, ..Scratch::default() };
        }
        SCRATCH.with(|c| *c.borrow_mut() = s);
    }
}

/// Per-word ids, then per id the first position and the count, and the long words to confirm.
type InternLists<'v> = (&'v mut Vec<u32>, &'v mut Vec<u32>, &'v mut Vec<u32>, &'v mut Vec<u32>);

/// Interns the words' `keys` into the table `vocab` under a new epoch, filling `ids` (per
/// word), `reps` and `counts` (per id: first position, occurrences). A word of up to 7 bytes
/// is its own key; a longer one is keyed by a hash. With `confirm`, a long word matching a
/// key is compared on the spot with the word that made the entry; without, its position is
/// appended to the fourth list for the caller to confirm.
///
/// The slot of the word a few ahead is prefetched: the table outgrows the cache on
/// book-length documents.
fn intern(
    s: &mut Scratch,
    vocab: &mut Vec<VocabSlot>,
    keys: &[u64],
    confirm: Option<Words<'_>>,
    (ids, reps, counts, unconfirmed): &mut InternLists<'_>,
) {
    for v in [&mut **ids, &mut **reps, &mut **counts, &mut **unconfirmed] {
        v.clear();
    }
    // a new epoch; epoch 1 follows a wrap-around (which clears the tables in `s`) or is the
    // first one, so the local table is cleared too
    let new_epoch = |s: &mut Scratch, vocab: &mut Vec<VocabSlot>| {
        let e = s.next_epoch();
        if e == 1 {
            vocab.fill(VocabSlot::default());
        }
        e
    };
    let mut epoch = new_epoch(s, vocab);
    let mut mask = table(vocab, 1024);
    // the mixed keys of the next `AHEAD` words: each is mixed once, for its prefetch
    let mut ring = [0u64; AHEAD];
    for (r, key) in ring.iter_mut().zip(keys) {
        *r = mix(*key, 0);
    }
    for (k, &key) in keys.iter().enumerate() {
        let mixed = ring[k % AHEAD];
        if let Some(ahead) = keys.get(k + AHEAD) {
            let m = mix(*ahead, 0);
            ring[k % AHEAD] = m;
            prefetch(&vocab[(m as usize) & mask]);
        }
        if 2 * reps.len() >= mask {
            let entries = live(vocab, mask, epoch);
            epoch = new_epoch(s, vocab);
            mask = grow(vocab, entries, mask, epoch);
        }
        let long = key >> 56 == 0xFF;
        let mut slot = (mixed as usize) & mask;
        let id = loop {
            let v = vocab[slot];
            if v.epoch != epoch {
                let id = reps.len() as u32;
                vocab[slot] = VocabSlot { key, id, epoch };
                reps.push(k as u32);
                counts.push(1);
                break id;
            }
            if v.key == key {
                match confirm {
                    Some(w) if long => {
                        if same_word(w.bytes(reps[v.id as usize] as usize), w.bytes(k)) {
                            counts[v.id as usize] += 1;
                            break v.id;
                        }
                    }
                    _ => {
                        if long {
                            unconfirmed.push(k as u32);
                        }
                        counts[v.id as usize] += 1;
                        break v.id;
                    }
                }
            }
            slot = (slot + 1) & mask;
        };
        ids.push(id);
    }
}

/// [`intern`]s the words, confirming the long words' matches afterwards, in a pass whose
/// reads do not wait on each other; after a hash collision (never seen in practice) it
/// interns again, confirming every match on the spot.
fn intern_confirmed(
    s: &mut Scratch,
    vocab: &mut Vec<VocabSlot>,
    keys: &[u64],
    words: Words<'_>,
    lists: &mut InternLists<'_>,
) {
    intern(s, vocab, keys, None, lists);
    let (ids, reps, _, unconfirmed) = lists;
    let confirmed = unconfirmed.iter().all(|&k| {
        let k = k as usize;
        same_word(words.bytes(reps[ids[k] as usize] as usize), words.bytes(k))
    });
    if !confirmed {
        intern(s, vocab, keys, Some(words), lists);
    }
}

impl<'a> WordTable<'a> {
    /// Interns the words and precomputes the per-word values.
    pub fn new(words: Words<'a>) -> Self {
        let mut s = SCRATCH.with(|c| std::mem::take(&mut *c.borrow_mut()));
        let n = words.len();
        s.best.clear();
        s.best.resize(65, 0);
        for v in [&mut s.ids, &mut s.reps, &mut s.id_counts, &mut s.chars, &mut s.bytes] {
            reuse(v, n + 1);
        }
        reuse(&mut s.cat, n + 1);
        s.spaced_words.clear();
        s.spaced_total = 0;
        s.spaced.clear();
        s.anchor_repeats.clear();
        s.dup_base_n = 0;
        s.pair_runs.clear();
        s.vocab_terms.clear();
        s.chars.push(0);
        s.bytes.push(0);
        s.cat.push(0);
        // every word's key (see `word_key`)
        let mut keys = std::mem::take(&mut s.keys);
        reuse(&mut keys, n);
        match words {
            Words::Spans { text, spans } => {
                let t = text.as_bytes();
                keys.extend(spans.iter().map(|&(a, b)| {
                    let (a, b) = (a as usize, b as usize);
                    match head_tail_at(t, a, b) {
                        Some((h, tail)) => word_key(h, tail, b - a),
                        None => word_key_of(&t[a..b]),
                    }
                }));
            }
            Words::Strs(_) => keys.extend(words.iter_bytes().map(word_key_of)),
        }
        let (mut vocab, mut reps, mut counts, mut ids, mut info, mut unconfirmed) = (
            std::mem::take(&mut s.vocab),
            std::mem::take(&mut s.reps),
            std::mem::take(&mut s.id_counts),
            std::mem::take(&mut s.ids),
            std::mem::take(&mut s.info),
            std::mem::take(&mut s.unconfirmed),
        );
        reuse(&mut unconfirmed, n);
        intern_confirmed(
            &mut s,
            &mut vocab,
            &keys,
            words,
            &mut (&mut ids, &mut reps, &mut counts, &mut unconfirmed),
        );
        // a word's hash, length and code points are worked out once per distinct word and
        // summed from its id; local vectors and running sums keep the loop in registers
        reuse(&mut info, reps.len());
        info.extend(reps.iter().map(|&k| WordInfo::of(words.get(k as usize))));
        let (mut cat, mut chars_v, mut bytes_v) = (
            std::mem::take(&mut s.cat),
            std::mem::take(&mut s.chars),
            std::mem::take(&mut s.bytes),
        );
        let (mut cat_sum, mut chars_sum, mut bytes_sum, mut spaced) = (0u64, 0u32, 0u32, 0u32);
        for &id in &ids {
            let w = info[id as usize];
            cat_sum = cat_sum.wrapping_mul(pow(w.bytes as usize)).wrapping_add(w.hash);
            cat.push(cat_sum);
            chars_sum += w.chars;
            chars_v.push(chars_sum);
            bytes_sum += w.bytes;
            bytes_v.push(bytes_sum);
            spaced += u32::from(w.space);
        }
        s.unconfirmed = unconfirmed;
        (s.cat, s.chars, s.bytes, s.spaced_total) = (cat, chars_v, bytes_v, spaced);
        if s.spaced_total > 0 {
            // prefix counts of the words holding a `' '` (rare: spaCy never makes one)
            reuse(&mut s.spaced_words, n + 1);
            s.spaced_words.push(0);
            for (k, &id) in ids.iter().enumerate() {
                let c = s.spaced_words[k] + u32::from(info[id as usize].space);
                s.spaced_words.push(c);
            }
        }
        s.best[1] = counts.iter().copied().max().unwrap_or(0);
        (s.vocab, s.reps, s.id_counts, s.ids, s.keys, s.info) =
            (vocab, reps, counts, ids, keys, info);
        WordTable { words, s: RefCell::new(s) }
    }

    /// The distinct words in order of first occurrence: each word's first index and count.
    pub fn vocab(&self) -> super::Vocab {
        let s = self.s.borrow();
        s.reps.iter().copied().zip(s.id_counts.iter().copied()).collect()
    }

    /// Hash of `"".join(words[i..i + n])`, in O(1) from the prefix hashes.
    #[inline]
    fn cat_hash(s: &Scratch, i: usize, n: usize) -> u64 {
        let len = (s.bytes[i + n] - s.bytes[i]) as usize;
        s.cat[i + n].wrapping_sub(s.cat[i].wrapping_mul(pow(len)))
    }

    /// Words holding a `' '` among `words[i..j]`.
    #[inline]
    fn spaced_between(s: &Scratch, i: usize, j: usize) -> u32 {
        if s.spaced_total == 0 { 0 } else { s.spaced_words[j] - s.spaced_words[i] }
    }

    /// Builds the `" "`-joined prefix hashes if they are not built yet.
    fn build_spaced(s: &mut Scratch, words: Words<'_>) {
        if !s.spaced.is_empty() {
            return;
        }
        reuse(&mut s.spaced, words.len() + 1);
        s.spaced.push(0);
        for (k, w) in words.iter_bytes().enumerate() {
            let mut h = s.spaced[k];
            if k > 0 {
                h = h.wrapping_mul(BASE).wrapping_add(SEP);
            }
            let len = (s.bytes[k + 1] - s.bytes[k]) as usize;
            s.spaced.push(h.wrapping_mul(pow(len)).wrapping_add(word_hash(w)));
        }
    }

    /// Hash of `" ".join(words[i..i + n])` (after [`Self::build_spaced`]).
    fn spaced_hash(s: &Scratch, i: usize, n: usize) -> u64 {
        // The prefix before word i ends with the separator (for i > 0).
        let mut hi = s.spaced[i];
        if i > 0 {
            hi = hi.wrapping_mul(BASE).wrapping_add(SEP);
        }
        let len = (s.bytes[i + n] - s.bytes[i]) as usize + n - 1;
        s.spaced[i + n].wrapping_sub(hi.wrapping_mul(pow(len)))
    }

    /// The exact key of the `" "`-joined gram at `i`: packed ids, or a byte hash (to be
    /// confirmed) when a word holds a `' '` or `n > 4`.
    #[inline]
    fn top_key(s: &Scratch, i: usize, n: usize) -> (u64, u64) {
        if n <= 4 && Self::spaced_between(s, i, i + n) == 0 {
            let id = |k: usize| if k < n { u64::from(s.ids[i + k]) } else { 0 };
            (id(0) | id(1) << 32, id(2) | id(3) << 32)
        } else {
            (Self::spaced_hash(s, i, n), HASHED)
        }
    }

    /// Whether the joined grams at `a` and `b` are equal strings (`sep`: `" "` or `""`).
    fn same(&self, s: &Scratch, a: usize, b: usize, n: usize, spaced: bool) -> bool {
        // (a loop, not a slice compare: `n` is at most a few dozen, below a `memcmp` call's cost)
        if (0..n).all(|k| s.ids[a + k] == s.ids[b + k]) {
            return true;
        }
        if s.bytes[a + n] - s.bytes[a] != s.bytes[b + n] - s.bytes[b] {
            return false;
        }
        let bytes = |i: usize| {
            (i..i + n).flat_map(move |k| {
                let sep: &[u8] = if spaced && k > i { b" " } else { b"" };
                sep.iter().chain(self.words.bytes(k))
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
        if n > 4 || s.spaced_total != 0 {
            Self::build_spaced(s, self.words);
        }
        let len = self.words.len();
        let tuples = s.spaced_total == 0;
        let mut cands = std::mem::take(&mut s.top_cands);
        reuse(&mut cands, total);
        if n > 2 && tuples && s.pair_runs.len() + 1 == len {
            for i in 0..total {
                if s.pair_runs[i] as usize >= n - 1 {
                    let key = Self::top_key(s, i, n);
                    cands.push((i as u32, mix(key.0, key.1)));
                }
            }
        } else {
            let pre = Prefilter::new(s, total);
            if pre.on {
                for i in 0..total {
                    let (lo, hi) = Self::top_key(s, i, n);
                    pre.mark(s, mix(lo, hi));
                }
            }
            let mut runs = std::mem::take(&mut s.pair_runs);
            reuse(&mut runs, total);
            for i in 0..total {
                let key = Self::top_key(s, i, n);
                let h = mix(key.0, key.1);
                let may = pre.maybe_repeated(s, h);
                if may {
                    cands.push((i as u32, h));
                }
                if n == 2 && tuples {
                    runs.push(u32::from(may));
                }
            }
            // consecutive repeating bigrams from each position
            for i in (0..runs.len().saturating_sub(1)).rev() {
                if runs[i] != 0 {
                    runs[i] = runs[i + 1].saturating_add(1);
                }
            }
            s.pair_runs = runs;
        }
        let epoch = s.next_epoch();
        let mut epoch = epoch;
        let mut mask = table(&mut s.top, (2 * cands.len()).min(TABLE_START));
        let mut entries = 0usize;
        // (count, first) of the best repeated gram so far
        let (mut best_count, mut best_first) = (0u32, 0u32);
        for (c, &(i, h)) in cands.iter().enumerate() {
            if let Some(ahead) = cands.get(c + AHEAD) {
                prefetch(&s.top[(ahead.1 as usize) & mask]);
            }
            if 2 * (entries + 1) > mask + 1 {
                let entries = live(&s.top, mask, epoch);
                epoch = s.next_epoch();
                mask = grow(&mut s.top, entries, mask, epoch);
            }
            let i = i as usize;
            let key = Self::top_key(s, i, n);
            let mut slot = (h as usize) & mask;
            let (count, first) = loop {
                let t = &s.top[slot];
                if t.epoch != epoch {
                    s.top[slot] = TopSlot { key, first: i as u32, count: 1, epoch };
                    entries += 1;
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
        s.top_cands = cands;
        // Without a repeated gram every count is 1 and the first gram wins.
        let (count, first) = if best_count >= 2 { (best_count, best_first) } else { (1, 0) };
        if n < s.best.len() {
            s.best[n] = count;
        }
        Some(Self::gram_chars(s, first as usize, n, true) * count as usize)
    }

    /// An upper bound on [`Self::top_duplicate_chars`]`(n)`, from two facts about any
    /// n-gram `g` occurring `C` times: every word of `g` occurs at least `C` times, and `g`
    /// is no longer than its words plus the separators. So
    /// - `C` is at most the highest count of a shorter gram found so far (its prefix), and
    ///   `len(g)` at most the longest n-gram's;
    /// - with `w` the word of `g` with the lowest count `c`, `C <= c` and every other word of
    ///   `g` occurs at least `c` times, so it is no longer than the longest such word `L(c)`:
    ///   `len(g) * C <= c * (len(w) + (n - 1) * (1 + L(c)))`; the largest of these over the
    ///   vocabulary bounds every gram.
    ///
    /// `None` when no bound applies: only for words without `' '` (then `" "`-joined grams
    /// compare as word tuples).
    pub fn top_duplicate_bound(&self, n: usize) -> Option<usize> {
        let s = self.s.borrow();
        let len = self.words.len();
        if n < 2 || n >= s.best.len() || len < n || s.spaced_total != 0 {
            return None;
        }
        drop(s);
        let vocab = self.vocab_bound(n)?;
        let s = self.s.borrow();
        let chained = (1..n).rev().map(|m| s.best[m]).find(|c| *c > 0).and_then(|count| {
            let longest = (0..=len - n).map(|i| s.chars[i + n] - s.chars[i]).max()?;
            Some(count as usize * (longest as usize + n - 1))
        });
        Some(chained.map_or(vocab, |c| c.min(vocab)))
    }

    /// `max over words w of c * (len(w) + (n - 1) * (1 + L(c)))` (see
    /// [`Self::top_duplicate_bound`]); the per-word terms are made once per document.
    fn vocab_bound(&self, n: usize) -> Option<usize> {
        let mut guard = self.s.borrow_mut();
        let s = &mut *guard;
        if s.vocab_terms.is_empty() {
            // Per count: 1 + the longest word with that count (0: no word has it). Within one
            // count only the longest word can give the maximum, and words of equal count see
            // each other's lengths, so one term per count is enough (no sort).
            let most = s.id_counts.iter().copied().max().unwrap_or(0) as usize;
            let mut longest_at = vec![0u64; most + 1];
            for (id, &c) in s.id_counts.iter().enumerate() {
                let rep = s.reps[id] as usize;
                let len = u64::from(s.chars[rep + 1] - s.chars[rep]);
                let at = &mut longest_at[c as usize];
                *at = (*at).max(len + 1);
            }
            let mut terms = std::mem::take(&mut s.vocab_terms);
            let mut longest = 0u64;
            for (c, &at) in longest_at.iter().enumerate().rev() {
                if at == 0 {
                    continue;
                }
                longest = longest.max(at - 1);
                let c = c as u64;
                terms.push((c * (at - 1), c * (1 + longest)));
            }
            s.vocab_terms = terms;
        }
        let n = (n - 1) as u64;
        s.vocab_terms.iter().map(|(a, b)| a + n * b).max().map(|b| b as usize)
    }

    /// Marks the words whose anchor (the first [`ANCHOR`] bytes of the unseparated text from
    /// that word on) may also start at another word. Two equal `""`-joined grams of at least
    /// [`ANCHOR`] bytes start with equal anchors, whatever their word boundaries, so a gram
    /// that long starting at an unmarked word occurs once: one pass here serves every n.
    fn anchors(s: &mut Scratch, words: Words<'_>) {
        if !s.anchor_repeats.is_empty() || words.is_empty() {
            return;
        }
        // From the last word back: a word's anchor is its own bytes followed by the next
        // word's anchor (zero bytes after the last word), cut to 16 bytes.
        let pre = Prefilter::always(s, words.len());
        let mut hashes = std::mem::take(&mut s.anchor_hashes);
        reuse(&mut hashes, words.len());
        hashes.resize(words.len(), 0);
        let mut next = 0u128;
        for k in (0..words.len()).rev() {
            let (h, len) = match words {
                Words::Spans { text, spans } => {
                    let (a, b) = (spans[k].0 as usize, spans[k].1 as usize);
                    let h = head_tail_at(text.as_bytes(), a, b).map(|(h, _)| h);
                    (h.unwrap_or_else(|| head(&text.as_bytes()[a..b])), b - a)
                }
                Words::Strs(w) => (head(w[k].as_bytes()), w[k].len()),
            };
            let joined = h | next << (8 * len.min(ANCHOR - 1));
            let anchor = std::hint::select_unpredictable(len >= ANCHOR, h, joined);
            next = anchor;
            hashes[k] = mix(anchor as u64, (anchor >> 64) as u64);
        }
        pre.mark_all(&mut s.marks, &hashes, |h| *h);
        // which anchors may repeat: the hashes with both "seen again" bits set
        let mut repeats = std::mem::take(&mut s.anchor_repeats);
        reuse(&mut repeats, hashes.len());
        repeats.extend(hashes.iter().map(|h| pre.maybe_repeated(s, *h)));
        (s.anchor_repeats, s.anchor_hashes) = (repeats, hashes);
    }

    /// The positions whose `""`-joined n-gram may occur again in the document, each with the
    /// gram's mixed hash (a bijection of its polynomial hash), in order.
    ///
    /// A gram may repeat only if its anchor may (see [`Self::anchors`]) or it is shorter than
    /// an anchor. Both hold for fewer positions as `n` grows (a longer gram has more bytes), so
    /// the positions kept for one `n` are the starting set for any larger `n`. A second
    /// bitmap over the grams' own hashes then drops the grams whose hash occurs once.
    fn dup_candidates(s: &mut Scratch, n: usize, total: usize, out: &mut Vec<(u32, u64)>) {
        let (bytes, repeats) = (&s.bytes, &s.anchor_repeats);
        // (`|`, not `||`: both sides are cheap, and a branch on `repeats[i]` mispredicts often)
        let may = |i: usize| repeats[i] | (((bytes[i + n] - bytes[i]) as usize) < ANCHOR);
        if s.dup_base_n != 0 && s.dup_base_n <= n {
            let base = &mut s.dup_base;
            base.truncate(base.partition_point(|&i| (i as usize) < total));
            keep_where(base, |&i| may(i as usize));
        } else {
            reuse(&mut s.dup_base, total);
            s.dup_base.extend(0..total as u32);
            keep_where(&mut s.dup_base, |&i| may(i as usize));
        }
        s.dup_base_n = n;
        reuse(out, s.dup_base.len());
        out.extend(s.dup_base.iter().map(|&i| (i, mix(Self::cat_hash(s, i as usize, n), 0))));
        let pre = Prefilter::new(s, out.len());
        if pre.on {
            pre.mark_all(&mut s.marks, out, |c| c.1);
            pre.retain_repeated(&s.marks, out, |c| c.1);
        }
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
        Self::anchors(s, self.words);
        // A gram that occurs once is new and nothing later equals it: the walk goes from one
        // candidate to the next.
        let mut cands = std::mem::take(&mut s.dup_cands);
        Self::dup_candidates(s, n, total, &mut cands);
        let epoch = s.next_epoch();
        let mut epoch = epoch;
        let mut mask = table(&mut s.dup, (2 * cands.len()).min(TABLE_START));
        let mut entries = 0usize;
        let (mut idx, mut repeated) = (0usize, 0usize);
        for (c, &(i, m)) in cands.iter().enumerate() {
            if (i as usize) < idx {
                continue;
            }
            if let Some(ahead) = cands.get(c + AHEAD) {
                prefetch(&s.dup[(ahead.1 as usize) & mask]);
            }
            if 2 * (entries + 1) > mask + 1 {
                let entries = live(&s.dup, mask, epoch);
                epoch = s.next_epoch();
                mask = grow(&mut s.dup, entries, mask, epoch);
            }
            idx = i as usize;
            let mut slot = (m as usize) & mask;
            let seen = loop {
                let t = s.dup[slot];
                if t.epoch != epoch {
                    s.dup[slot] = DupSlot { hash: m, first: idx as u32, epoch };
                    entries += 1;
                    break false;
                }
                if t.hash == m && self.same(s, t.first as usize, idx, n, false) {
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
        s.dup_cands = cands;
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

    /// The words as spans into one text (joined with a byte that no test word holds).
    fn spans_of(w: &[&str]) -> (String, Vec<(u32, u32)>) {
        let (mut text, mut spans) = (String::new(), Vec::new());
        for word in w {
            let start = text.len() as u32;
            text.push_str(word);
            spans.push((start, text.len() as u32));
            text.push('\u{1}');
        }
        (text, spans)
    }

    fn check(w: &[&str], ns: std::ops::RangeInclusive<usize>) {
        let (text, spans) = spans_of(w);
        for words in [Words::Strs(w), Words::Spans { text: &text, spans: &spans }] {
            let t = WordTable::new(words);
            for n in ns.clone() {
                let top = top_ref(w, n);
                if let Some(bound) = t.top_duplicate_bound(n) {
                    assert!(bound >= top.unwrap_or(0), "bound n={n} len={}", w.len());
                }
                assert_eq!(t.top_duplicate_chars(n), top, "top n={n} len={}", w.len());
                assert_eq!(t.all_duplicate_chars(n), all_ref(w, n), "dup n={n} len={}", w.len());
            }
        }
    }

    #[test]
    fn a_hash_collision_between_long_words_is_caught() {
        // every long word gets the same hashed key: the confirming pass must tell them apart
        let w = ["abcdefghij", "klmnopqrst", "ab", "abcdefghij", "klmnopqrst", "ab", "uvwxyz123"];
        let words = Words::Strs(&w);
        let keys: Vec<u64> = w
            .iter()
            .map(|x| if x.len() < 8 { head(x.as_bytes()) as u64 } else { 0xFF << 56 })
            .collect();
        let mut s = Scratch::default();
        let (mut vocab, mut ids, mut reps, mut counts, mut unconfirmed) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut lists = (&mut ids, &mut reps, &mut counts, &mut unconfirmed);
        intern(&mut s, &mut vocab, &keys, None, &mut lists);
        assert_eq!(*lists.0, [0, 0, 1, 0, 0, 1, 0], "unconfirmed, the collision merges words");
        intern_confirmed(&mut s, &mut vocab, &keys, words, &mut lists);
        assert_eq!(*lists.0, [0, 1, 2, 0, 1, 2, 3]);
        assert_eq!(*lists.1, [0, 1, 2, 6]);
        assert_eq!(*lists.2, [2, 2, 2, 1]);
        // and the whole table on real keys agrees
        let t = WordTable::new(words);
        assert_eq!(t.s.borrow().ids, [0, 1, 2, 0, 1, 2, 3]);
    }

    #[test]
    fn word_keys_read_in_place_equal_the_keys_of_the_words() {
        let text: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
        for a in 0..text.len() {
            for b in a..=text.len() {
                let want = word_key_of(&text[a..b]);
                if let Some((h, tail)) = head_tail_at(&text, a, b) {
                    assert_eq!(word_key(h, tail, b - a), want, "{a}..{b}");
                }
            }
        }
        // keys of short words are the words: different words, different keys
        assert_ne!(word_key_of(b"ab"), word_key_of(b"ab\0"));
        assert_ne!(word_key_of(b"abcdefg"), word_key_of(b"abcdefgh"));
    }

    #[test]
    fn head_reads_the_first_sixteen_bytes() {
        let text: Vec<u8> = (1..=40u8).collect();
        for n in 0..=40 {
            let mut want = [0u8; 16];
            let k = n.min(16);
            want[..k].copy_from_slice(&text[..k]);
            assert_eq!(head(&text[..n]), u128::from_le_bytes(want), "length {n}");
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
            // long words alike in their first 16 bytes or differing only in trailing NULs
            ["abcdefgh", "abcdefgh\0", "abcdefghijklmnop", "abcdefgh\0\0", "abcdefghijklmnopq"]
                .iter()
                .cycle()
                .take(40)
                .chain(["abcdefghijklmnop\0", "abcdefgh", "abcdefghijklmnopr"].iter())
                .copied()
                .collect(),
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
        let mut next = crate::text::xorshift(0x2545_F491_4F6C_DD1Du64);
        for len in [0usize, 3, 17, 200, 3000, 20_000] {
            for width in [3usize, 6, 12] {
                let w: Vec<&str> =
                    (0..len).map(|_| vocab[(next() % width as u64) as usize]).collect();
                check(&w, 1..=10);
            }
        }
        // Long words that concatenate into each other: long grams, equal across different
        // word boundaries, exercise the anchors.
        let long = ["alphabet", "alpha", "bet", "soup", "alphabetsoup", "betsoup", "xylo", "phone"];
        for len in [50usize, 3000, 20_000] {
            for width in [4usize, 8] {
                let w: Vec<&str> =
                    (0..len).map(|_| long[(next() % width as u64) as usize]).collect();
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
        assert_eq!(WordTable::new(Words::Strs(&w)).top_duplicate_chars(1), Some(9));
        // "bb" and "a" both appear twice: the one seen first decides the length.
        assert_eq!(
            WordTable::new(Words::Strs(&["bb", "a", "bb", "a"])).top_duplicate_chars(1),
            Some(4)
        );
        assert_eq!(
            WordTable::new(Words::Strs(&["a", "bb", "a", "bb"])).top_duplicate_chars(1),
            Some(2)
        );
        // A higher count beats an earlier gram.
        assert_eq!(
            WordTable::new(Words::Strs(&["bb", "a", "bb", "a", "a"])).top_duplicate_chars(1),
            Some(3)
        );
    }
}
