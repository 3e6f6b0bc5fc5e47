//! spaCy's special cases (tokenizer exceptions): the table every chunk of text is looked up in,
//! and `_apply_special_cases`, which matches special cases again as token sequences after the
//! affix splitting (spaCy's `PhraseMatcher` on `ORTH`) and merges them back.
//!
//! spaCy adds a special case to that matcher when a prefix, infix or suffix rule matches it (or
//! it contains a space); the token sequence is the special case tokenized without special
//! cases, e.g. `":)"` -> `[":", ")"]`, `"Dr."` -> `["Dr", "."]`. After tokenizing, it collects
//! every match (overlapping ones too), keeps them longest first, then leftmost, dropping a match
//! whose first or last token lies in a match looked at before, and replaces each kept match
//! whose text is a special case by that special case's pieces.

use std::collections::HashSet;

use super::fxhash::FxMap;
use super::spacy_en_tok::Tok;

/// Hash of a short byte string: its first and last 8 (or 4) bytes and its length, mixed by a
/// folded 64x64->128 multiply. Strings longer than 16 bytes share a hash when only their middle
/// differs; lookups compare the whole key anyway.
#[inline]
fn short_hash(s: &[u8]) -> u64 {
    let n = s.len();
    let (a, b) = if n >= 8 {
        (
            u64::from_le_bytes(s[..8].try_into().expect("8 bytes")),
            u64::from_le_bytes(s[n - 8..].try_into().expect("8 bytes")),
        )
    } else if n >= 4 {
        (
            u64::from(u32::from_le_bytes(s[..4].try_into().expect("4 bytes"))),
            u64::from(u32::from_le_bytes(s[n - 4..].try_into().expect("4 bytes"))),
        )
    } else if n > 0 {
        (u64::from(s[0]) | u64::from(s[n / 2]) << 8 | u64::from(s[n - 1]) << 16, 0)
    } else {
        (0, 0)
    };
    let r = u128::from(a ^ 0xa076_1d64_78bd_642f)
        * u128::from(b ^ 0xe703_7ed1_a0b4_28db ^ (n as u64).wrapping_mul(0x8ebc_6af0_9c88_c6e3));
    (r as u64) ^ ((r >> 64) as u64)
}

/// Open-addressing set of the special-case strings (index into `data::SPECIAL_CASES`): the
/// lookup every chunk of text goes through, so kept small and branch-light.
#[derive(Debug)]
pub(super) struct SpecialTable {
    /// `(hash tag << 16) | (index + 1)`, 0 = empty
    slots: Box<[u32]>,
    mask: usize,
    max_len: usize,
    /// Two-bit filter (both bits in one word) on the length and the first two and last two
    /// bytes: most words are rejected here without touching `slots`.
    filter: Box<[u64]>,
    keys: &'static [(&'static str, &'static [&'static str])],
}

impl SpecialTable {
    pub(super) fn new(keys: &'static [(&'static str, &'static [&'static str])]) -> Self {
        let size = (keys.len() * 3).next_power_of_two().max(16);
        assert!(keys.len() < 0xffff, "special-case index fits in 16 bits");
        let mut slots = vec![0u32; size].into_boxed_slice();
        let mask = size - 1;
        for (i, (k, _)) in keys.iter().enumerate() {
            let h = short_hash(k.as_bytes());
            let mut j = h as usize & mask;
            while slots[j] != 0 {
                j = (j + 1) & mask;
            }
            slots[j] = Self::tag(h) << 16 | (i as u32 + 1);
        }
        let max_len = keys.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut filter = vec![0u64; FILTER_BITS / 64].into_boxed_slice();
        for (k, _) in keys {
            let (word, bits) = Self::filter_bits(k.as_bytes());
            filter[word] |= bits;
        }
        SpecialTable { slots, mask, max_len, filter, keys }
    }

    /// The filter word of a non-empty `s` and the two bits it sets there, from its length and
    /// its first two and last two bytes.
    #[inline(always)]
    fn filter_bits(s: &[u8]) -> (usize, u64) {
        let n = s.len();
        let x = u64::from(s[0])
            | u64::from(s[n.min(2) - 1]) << 8
            | u64::from(s[n.saturating_sub(2)]) << 16
            | u64::from(s[n - 1]) << 24
            | (n as u64) << 32;
        let m = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let word = (m >> (64 - (FILTER_LOG2 - 6))) as usize;
        (word, 1 << ((m >> 40) & 63) | 1 << ((m >> 34) & 63))
    }

    #[inline]
    fn tag(h: u64) -> u32 {
        (h >> 48) as u32
    }

    /// The pieces of special case `s`, if it is one. The filter, which rejects most words, is
    /// inlined into the tokenizer's loop; the table lookup is not.
    #[inline(always)]
    pub(super) fn get(&self, s: &str) -> Option<&'static [&'static str]> {
        if s.is_empty() || s.len() > self.max_len {
            return None;
        }
        let (word, bits) = Self::filter_bits(s.as_bytes());
        if self.filter[word] & bits != bits {
            return None;
        }
        self.lookup(s)
    }

    #[inline(never)]
    fn lookup(&self, s: &str) -> Option<&'static [&'static str]> {
        let h = short_hash(s.as_bytes());
        let tag = Self::tag(h);
        let mut j = h as usize & self.mask;
        loop {
            let v = self.slots[j];
            if v == 0 {
                return None;
            }
            if v >> 16 == tag {
                let (k, pieces) = self.keys[(v & 0xffff) as usize - 1];
                if k == s {
                    return Some(pieces);
                }
            }
            j = (j + 1) & self.mask;
        }
    }
}

const FILTER_LOG2: u32 = 15;
const FILTER_BITS: usize = 1 << FILTER_LOG2;

/// A special case that `_apply_special_cases` also matches as a token sequence.
#[derive(Debug)]
struct Pattern {
    /// Token texts of the special case tokenized without special cases.
    toks: Vec<&'static str>,
    /// Whether these tokens differ from the special case's pieces. A match of a pattern that
    /// does not (e.g. "it's": ["it", "'s"]) replaces tokens by the same tokens.
    changes: bool,
}

/// The special cases that `_apply_special_cases` matches as token sequences.
#[derive(Debug)]
pub(super) struct SpecialMatcher {
    /// first token text -> patterns starting with it
    patterns: FxMap<&'static str, Vec<Pattern>>,
    max_first_len: usize,
    /// the most tokens of a pattern
    max_pattern_len: usize,
    /// first bytes of the patterns' first tokens
    first_bytes: [bool; 256],
    /// first bytes of the first and of the second token of the patterns that change tokens
    gate_first_bytes: [bool; 256],
    gate_second_bytes: [bool; 256],
    /// whether a one-token pattern is kept (then every token must be looked up)
    single_token_patterns: bool,
}

impl SpecialMatcher {
    /// A matcher without patterns.
    pub(super) fn empty() -> Self {
        SpecialMatcher {
            patterns: FxMap::default(),
            max_first_len: 0,
            max_pattern_len: 1,
            first_bytes: [false; 256],
            gate_first_bytes: [false; 256],
            gate_second_bytes: [false; 256],
            single_token_patterns: false,
        }
    }

    /// `matched(k)`: whether spaCy adds special case `k` to its matcher; `tokenize(k)`: the
    /// byte spans of `k` tokenized without special cases.
    pub(super) fn new(
        specials: &'static [(&'static str, &'static [&'static str])],
        matched: impl Fn(&str) -> bool,
        tokenize: impl Fn(&'static str) -> Vec<(usize, usize)>,
    ) -> Self {
        let mut m = SpecialMatcher::empty();
        for &(k, pieces) in specials {
            if !matched(k) {
                continue;
            }
            let toks: Vec<&'static str> = tokenize(k).into_iter().map(|(a, b)| &k[a..b]).collect();
            // A one-token match of a special case whose pieces are itself changes nothing and,
            // being shortest, never blocks another match.
            if toks.len() == 1 && pieces.len() == 1 {
                continue;
            }
            let changes = toks.as_slice() != pieces;
            m.patterns.entry(toks[0]).or_default().push(Pattern { toks, changes });
        }
        for (first, pats) in m.patterns.iter() {
            m.max_first_len = m.max_first_len.max(first.len());
            m.first_bytes[first.as_bytes()[0] as usize] = true;
            for p in pats {
                m.max_pattern_len = m.max_pattern_len.max(p.toks.len());
                match p.toks.get(1) {
                    Some(second) if p.changes => {
                        m.gate_first_bytes[first.as_bytes()[0] as usize] = true;
                        m.gate_second_bytes[second.as_bytes()[0] as usize] = true;
                    }
                    Some(_) => {}
                    None => m.single_token_patterns = true,
                }
            }
        }
        m
    }

    /// `_apply_special_cases`: phrase-match the special cases that affix splitting may have cut
    /// into several tokens, and put them back together.
    ///
    /// Only a match whose tokens touch in the text can change anything (its text is then the
    /// special case; with a space inside it is none), and only if the pattern's tokens are not
    /// already the special case's pieces. `seeds` are those matches, as
    /// [`Self::seeds_in_chunk`] found them while tokenizing: most tokens do not touch the next
    /// one, and most touching pairs are no pattern's start.
    /// `spare` is scratch space for rebuilding `toks` (kept between calls to avoid growing a
    /// new vector every time).
    pub(super) fn apply(
        &self,
        text: &str,
        toks: &mut Vec<Tok>,
        seeds: &[(usize, usize)],
        spare: &mut Vec<Tok>,
        specials: &SpecialTable,
    ) {
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        if self.single_token_patterns {
            ranges.push((0, toks.len()));
        } else {
            ranges.extend_from_slice(seeds);
        }
        if ranges.is_empty() {
            return;
        }
        // Matches decide each other's fate only through shared tokens, so only the matches
        // connected to a seed by a chain of overlaps matter: grow each seed's token range until
        // no match sticks out of it (then every match that overlaps a range lies inside it).
        loop {
            ranges.sort_unstable();
            let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
            for r in ranges.drain(..) {
                match merged.last_mut() {
                    Some(m) if r.0 < m.1 => m.1 = m.1.max(r.1),
                    _ => merged.push(r),
                }
            }
            ranges = merged;
            let mut grown = false;
            for r in ranges.iter_mut() {
                let (mut lo, mut hi) = *r;
                let mut j = r.0.saturating_sub(self.max_pattern_len - 1);
                while j < hi {
                    self.matches_at(text, toks, j, |e| {
                        if e > lo && (j < lo || e > hi) {
                            lo = lo.min(j);
                            hi = hi.max(e);
                        }
                    });
                    j += 1;
                }
                grown |= (lo, hi) != *r;
                *r = (lo, hi);
            }
            if !grown {
                break;
            }
        }
        // (start, end) of every match in the ranges, touching or not: all of them take part in
        // the filter
        let mut matches: Vec<(usize, usize)> = Vec::new();
        for &(lo, hi) in &ranges {
            for j in lo..hi {
                self.matches_at(text, toks, j, |e| matches.push((j, e)));
            }
        }
        if matches.is_empty() {
            return;
        }
        // _filter_special_spans: longest first, then leftmost; a span is kept when neither its
        // first nor its last token was covered by a span looked at before (kept or not).
        matches.sort_by(|x, y| (y.1 - y.0).cmp(&(x.1 - x.0)).then(x.0.cmp(&y.0)));
        let mut seen: HashSet<usize> = HashSet::new();
        let mut kept: Vec<(usize, usize)> = Vec::new();
        for &(s, e) in &matches {
            if !seen.contains(&s) && !seen.contains(&(e - 1)) {
                kept.push((s, e));
            }
            seen.extend(s..e);
        }
        kept.sort_unstable();
        // _retokenize_special_spans: a kept span whose text is a special case is replaced by
        // its pieces (spans across whitespace keep their tokens).
        if !retokenize_in_place(text, toks, &kept, specials) {
            retokenize_copy(text, toks, spare, &kept, specials);
        }
    }

    /// Whether pattern `p` matches the tokens from `i` on (`touching`: and they touch).
    #[inline]
    fn pattern_at(&self, text: &str, toks: &[Tok], i: usize, p: &Pattern, touching: bool) -> bool {
        let n = p.toks.len();
        i + n <= toks.len()
            && p.toks[1..].iter().zip(toks[i..i + n].windows(2)).all(|(pt, w)| {
                let t = w[1];
                !t.space() && (!touching || w[0].end() == t.start) && text[t.start..t.end()] == **pt
            })
    }

    /// Calls `f(end)` for every pattern matching the tokens from `j` on (touching or not).
    #[inline]
    fn matches_at(&self, text: &str, toks: &[Tok], j: usize, mut f: impl FnMut(usize)) {
        let t = toks[j];
        if t.space()
            || t.end() - t.start > self.max_first_len
            || !self.first_bytes[text.as_bytes()[t.start] as usize]
        {
            return;
        }
        if let Some(pats) = self.patterns.get(&text[t.start..t.end()]) {
            for p in pats {
                if self.pattern_at(text, toks, j, p, false) {
                    f(j + p.toks.len());
                }
            }
        }
    }

    /// Appends the token spans of the matches of multi-token patterns that change tokens and
    /// whose tokens touch each other in the text, among the tokens of one whitespace-free chunk
    /// (`toks[first..]`, the last tokens so far); returns whether there was one. Tokens that
    /// touch belong to one chunk, so the chunks' matches are all the text's.
    pub(super) fn seeds_in_chunk(
        &self,
        text: &str,
        toks: &[Tok],
        first: usize,
        out: &mut Vec<(usize, usize)>,
    ) -> bool {
        let b = text.as_bytes();
        let before = out.len();
        for i in first..toks.len().saturating_sub(1) {
            let (t, u) = (toks[i], toks[i + 1]);
            if t.end() != u.start
                || t.space()
                || u.space()
                || t.end() - t.start > self.max_first_len
                || !self.gate_first_bytes[b[t.start] as usize]
                || !self.gate_second_bytes[b[u.start] as usize]
            {
                continue;
            }
            if let Some(pats) = self.patterns.get(&text[t.start..t.end()]) {
                for p in pats {
                    if p.changes && self.pattern_at(text, toks, i, p, true) {
                        out.push((i, i + p.toks.len()));
                    }
                }
            }
        }
        out.len() > before
    }
}

/// `_retokenize_special_spans` without a copy of the token list: each kept span (sorted,
/// disjoint) whose text is a special case becomes its pieces. Writes only over tokens already
/// read, which holds while no span grows; returns `false`, changing nothing, if one would.
fn retokenize_in_place(
    text: &str,
    toks: &mut Vec<Tok>,
    kept: &[(usize, usize)],
    specials: &SpecialTable,
) -> bool {
    let pieces_of = |toks: &[Tok], (s, e): (usize, usize)| {
        specials.get(&text[toks[s].start..toks[e - 1].end()])
    };
    if !kept.iter().all(|&k| pieces_of(toks, k).is_none_or(|p| p.len() <= k.1 - k.0)) {
        return false;
    }
    let Some(&(first, _)) = kept.first() else { return true };
    // tokens [i, s) are copied to w; before the first span they stay where they are
    let (mut w, mut i) = (first, first);
    for &(s, e) in kept {
        if w != i {
            toks.copy_within(i..s, w);
        }
        w += s - i;
        match pieces_of(toks, (s, e)) {
            Some(pieces) => {
                let mut at = toks[s].start;
                for p in pieces {
                    toks[w] = Tok::new(at, at + p.len(), false);
                    at += p.len();
                    w += 1;
                }
            }
            None => {
                if w != s {
                    toks.copy_within(s..e, w);
                }
                w += e - s;
            }
        }
        i = e;
    }
    let tail = toks.len() - i;
    if w != i {
        toks.copy_within(i.., w);
    }
    toks.truncate(w + tail);
    true
}

/// `_retokenize_special_spans` into a new list (`spare` is reused scratch).
fn retokenize_copy(
    text: &str,
    toks: &mut Vec<Tok>,
    spare: &mut Vec<Tok>,
    kept: &[(usize, usize)],
    specials: &SpecialTable,
) {
    spare.clear();
    std::mem::swap(toks, spare);
    let old = &*spare;
    toks.reserve(old.len());
    let mut i = 0;
    for &(s, e) in kept {
        // the tokens between kept spans stay as they are
        toks.extend_from_slice(&old[i..s]);
        let (a, b) = (old[s].start, old[e - 1].end());
        if let Some(pieces) = specials.get(&text[a..b]) {
            let mut at = a;
            for p in pieces {
                toks.push(Tok::new(at, at + p.len(), false));
                at += p.len();
            }
        } else {
            toks.extend_from_slice(&old[s..e]);
        }
        i = e;
    }
    toks.extend_from_slice(&old[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::spacy_en_data as data;

    #[test]
    fn the_filter_lets_every_special_case_through() {
        let t = SpecialTable::new(data::SPECIAL_CASES);
        for &(k, pieces) in data::SPECIAL_CASES {
            assert_eq!(t.get(k), Some(pieces), "{k:?}");
        }
        for w in ["the", "The", "and", "said", "dont", "Mr", "U.S", "", "x".repeat(80).as_str()] {
            let known = data::SPECIAL_CASES.iter().find(|(k, _)| *k == w).map(|(_, p)| *p);
            assert_eq!(t.get(w), known, "{w:?}");
        }
    }

    #[test]
    fn in_place_retokenizing_equals_the_copy() {
        let table = SpecialTable::new(data::SPECIAL_CASES);
        let mut rng = crate::text::xorshift(7);
        let (mut in_place, mut grew) = (0, 0);
        for _ in 0..3000 {
            // a text of special cases and plain words, cut into touching tokens at random
            let n = 1 + (rng() % 12) as usize;
            let parts: Vec<&str> = (0..n)
                .map(|_| match rng() % 3 {
                    0 => "word",
                    _ => data::SPECIAL_CASES[(rng() as usize) % data::SPECIAL_CASES.len()].0,
                })
                .collect();
            let text = parts.concat();
            let mut toks = Vec::new();
            let mut at = 0;
            for p in &parts {
                let cut = if p.len() > 1 && rng().is_multiple_of(2) {
                    1 + (rng() as usize) % (p.len() - 1)
                } else {
                    p.len()
                };
                let cut = (1..=cut).rev().find(|c| p.is_char_boundary(*c)).unwrap_or(p.len());
                toks.push(Tok::new(at, at + cut, false));
                if cut < p.len() {
                    toks.push(Tok::new(at + cut, at + p.len(), false));
                }
                at += p.len();
            }
            // sorted disjoint spans over whole parts, which are sometimes special cases
            let mut kept = Vec::new();
            let (mut t, mut i) = (0, 0);
            for p in &parts {
                let start = t;
                let end_byte = toks[t].start + p.len();
                while t < toks.len() && toks[t].end() <= end_byte {
                    t += 1;
                }
                if rng().is_multiple_of(2) && start >= i {
                    kept.push((start, t));
                    i = t;
                }
            }
            let mut want = toks.clone();
            retokenize_copy(&text, &mut want, &mut Vec::new(), &kept, &table);
            let mut got = toks.clone();
            if retokenize_in_place(&text, &mut got, &kept, &table) {
                assert_eq!(got, want, "{text:?} {kept:?}");
                in_place += 1;
            } else {
                assert_eq!(got, toks, "a refused rewrite must change nothing");
                grew += 1;
            }
        }
        assert!(in_place > 1000 && grew > 100, "{in_place} in place, {grew} refused");
    }
}
