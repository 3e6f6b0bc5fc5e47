//! Exact, allocation-light versions of datatrove's n-gram statistics.
//!
//! The reference joins words into strings (`" ".join` for the top n-grams, `"".join` for the
//! duplicated n-grams) and hashes the strings. Here an n-gram is a window of word slices whose
//! polynomial hash over the bytes of its joined string is combined from per-word hashes in
//! O(n); equal joined strings always have equal hashes, and every hash match is confirmed by
//! comparing the joined bytes, so the result equals the reference's exactly (including
//! `"ab"+"c" == "a"+"bc"` for the unseparated joins).

const BASE: u64 = 0x9E37_79B9_7F4A_7C15 | 1;
const NONE: u32 = u32::MAX;
const SEP: u64 = b' ' as u64 + 1;

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

/// An open-addressing table from gram hash to the first entry with that hash; reused across
/// passes so that large documents do not reallocate it nine times.
struct Table {
    slots: Vec<(u64, u32)>,
    mask: usize,
    entries: Vec<Entry>,
}

impl Table {
    fn reset(&mut self, n: usize) {
        let cap = (2 * n.max(8)).next_power_of_two();
        if self.slots.len() != cap {
            self.slots = vec![(0, NONE); cap];
        } else {
            self.slots.fill((0, NONE));
        }
        self.mask = cap - 1;
        self.entries.clear();
    }
}

/// Per-word hashes, prefix hashes and lengths of one document's words.
pub struct WordTable<'a> {
    words: &'a [&'a str],
    chars: Vec<u32>,
    /// Prefix hash of `"".join(words[..k])` and `B^len`, `B^-len` of it.
    cat: Vec<(u64, u64, u64)>,
    /// Prefix hash of `" ".join(words[..k])` and `B^len`, `B^-len` of it.
    spaced: Vec<(u64, u64, u64)>,
    table: std::cell::RefCell<Table>,
}

struct Entry {
    first: u32,
    count: u32,
    next: u32,
}

impl<'a> WordTable<'a> {
    /// Precomputes per-word values.
    pub fn new(words: &'a [&'a str]) -> Self {
        let mut chars = Vec::with_capacity(words.len());
        let mut cat = Vec::with_capacity(words.len() + 1);
        let mut spaced = Vec::with_capacity(words.len() + 1);
        cat.push((0u64, 1u64, 1u64));
        spaced.push((0u64, 1u64, 1u64));
        for (k, w) in words.iter().enumerate() {
            let (mut h, mut p, mut q) = (0u64, 1u64, 1u64);
            for &b in w.as_bytes() {
                h = h.wrapping_mul(BASE).wrapping_add(u64::from(b) + 1);
                p = p.wrapping_mul(BASE);
                q = q.wrapping_mul(BASE_INV);
            }
            let (ch, cp, cq) = cat[k];
            cat.push((ch.wrapping_mul(p).wrapping_add(h), cp.wrapping_mul(p), cq.wrapping_mul(q)));
            let (mut sh, mut sp, mut sq) = spaced[k];
            if k > 0 {
                sh = sh.wrapping_mul(BASE).wrapping_add(SEP);
                sp = sp.wrapping_mul(BASE);
                sq = sq.wrapping_mul(BASE_INV);
            }
            spaced.push((
                sh.wrapping_mul(p).wrapping_add(h),
                sp.wrapping_mul(p),
                sq.wrapping_mul(q),
            ));
            chars.push(if w.is_ascii() { w.len() as u32 } else { w.chars().count() as u32 });
        }
        let table = Table { slots: Vec::new(), mask: 0, entries: Vec::new() };
        WordTable { words, chars, cat, spaced, table: std::cell::RefCell::new(table) }
    }

    /// Hash of the joined bytes of `words[i..i + n]`, in O(1) from the prefix hashes.
    fn gram_hash(&self, i: usize, n: usize, sep: Option<u8>) -> u64 {
        match sep {
            None => {
                let (hi, _, qi) = self.cat[i];
                let (he, pe, _) = self.cat[i + n];
                he.wrapping_sub(hi.wrapping_mul(pe.wrapping_mul(qi)))
            }
            Some(_) => {
                // The prefix before word i ends with the separator (for i > 0).
                let (mut hi, _, mut qi) = self.spaced[i];
                if i > 0 {
                    hi = hi.wrapping_mul(BASE).wrapping_add(SEP);
                    qi = qi.wrapping_mul(BASE_INV);
                }
                let (he, pe, _) = self.spaced[i + n];
                he.wrapping_sub(hi.wrapping_mul(pe.wrapping_mul(qi)))
            }
        }
    }

    fn gram_chars(&self, i: usize, n: usize, sep: Option<u8>) -> usize {
        let words: usize = self.chars[i..i + n].iter().map(|c| *c as usize).sum();
        words + if sep.is_some() { n - 1 } else { 0 }
    }

    fn same(&self, a: usize, b: usize, n: usize, sep: Option<u8>) -> bool {
        if a == b || self.words[a..a + n] == self.words[b..b + n] {
            return true;
        }
        let bytes = |i: usize| {
            self.words[i..i + n].iter().enumerate().flat_map(move |(k, w)| {
                let s: &[u8] = match sep {
                    Some(_) if k > 0 => b" ",
                    _ => b"",
                };
                s.iter().chain(w.as_bytes())
            })
        };
        debug_assert!(sep.is_none() || sep == Some(b' '));
        bytes(a).eq(bytes(b))
    }

    /// Finds the entry of the gram at `i`, inserting it if new; returns (entry, inserted).
    fn lookup(&self, t: &mut Table, i: usize, n: usize, sep: Option<u8>) -> (usize, bool) {
        let h = self.gram_hash(i, n, sep);
        let mut slot = (h ^ (h >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9) as usize & t.mask;
        loop {
            let (key, head) = t.slots[slot];
            if head == NONE {
                t.entries.push(Entry { first: i as u32, count: 0, next: NONE });
                let e = t.entries.len() - 1;
                t.slots[slot] = (h, e as u32);
                return (e, true);
            }
            if key == h {
                let mut e = head as usize;
                loop {
                    if self.same(t.entries[e].first as usize, i, n, sep) {
                        return (e, false);
                    }
                    if t.entries[e].next == NONE {
                        t.entries.push(Entry { first: i as u32, count: 0, next: NONE });
                        let added = t.entries.len() - 1;
                        t.entries[e].next = added as u32;
                        return (added, true);
                    }
                    e = t.entries[e].next as usize;
                }
            }
            slot = (slot + 1) & t.mask;
        }
    }

    /// datatrove `find_top_duplicate(get_n_grams(words, n))`: `len(gram) * count` of the most
    /// frequent `" "`-joined n-gram (on a tie, the one seen first); `None` without n-grams.
    pub fn top_duplicate_chars(&self, n: usize) -> Option<usize> {
        let total = (self.words.len() + 1).checked_sub(n).filter(|t| *t > 0)?;
        let mut t = self.table.borrow_mut();
        t.reset(total);
        let (mut best, mut best_count) = (0usize, 0u32);
        for i in 0..total {
            let (e, _) = self.lookup(&mut t, i, n, Some(b' '));
            t.entries[e].count += 1;
            let c = t.entries[e].count;
            // Entries are created in first-seen order, so the smaller index wins a tie.
            if c > best_count || (c == best_count && e < best) {
                best = e;
                best_count = c;
            }
        }
        Some(self.gram_chars(t.entries[best].first as usize, n, Some(b' ')) * best_count as usize)
    }

    /// datatrove `find_all_duplicate(words, n)`: characters of `""`-joined n-grams already
    /// seen, skipping `n` words after each duplicate.
    pub fn all_duplicate_chars(&self, n: usize) -> usize {
        let len = self.words.len();
        if len < n || n == 0 {
            return 0;
        }
        let mut t = self.table.borrow_mut();
        t.reset(len);
        let (mut idx, mut repeated) = (0usize, 0usize);
        while idx < len - n + 1 {
            let (_, inserted) = self.lookup(&mut t, idx, n, None);
            if inserted {
                idx += 1;
            } else {
                repeated += self.gram_chars(idx, n, None);
                idx += n;
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

    #[test]
    fn matches_the_reference_on_tricky_inputs() {
        let cases: Vec<Vec<&str>> = vec![
            vec![],
            vec!["a"],
            "a b a b a b c".split(' ').collect(),
            vec!["ab", "c", "a", "bc", "ab", "c"],
            vec!["x y", "z", "x", "y z", "x y", "z"],
            "the cat the cat the dog the cat".split(' ').collect(),
            vec!["é", "é", "é", "é", "é", "é", "é", "é", "é", "é", "é", "é"],
        ];
        for w in &cases {
            let t = WordTable::new(w);
            for n in 1..=10 {
                assert_eq!(t.top_duplicate_chars(n), top_ref(w, n), "{w:?} n={n}");
                assert_eq!(t.all_duplicate_chars(n), all_ref(w, n), "{w:?} n={n}");
            }
        }
    }

    #[test]
    fn tie_goes_to_the_first_seen_gram() {
        let w = vec!["long_word", "x", "a", "y"];
        // Every 1-gram appears once: the first, "long_word", decides the length.
        assert_eq!(WordTable::new(&w).top_duplicate_chars(1), Some(9));
    }
}
