//! The text side of `augment`: a document cut into words and the whitespace between them, the
//! operations on that form, and the seeded generator that drives them. Everything here is a
//! pure function of (text, settings, seed); `docs/augment.md` states each rule.

use std::borrow::Cow;

use regex::Regex;

use super::synonyms::{Synonyms, match_case};

/// SplitMix64 (Steele, Lea and Flood 2014): tiny, fast, passes BigCrush; enough for noise.
#[derive(Debug, Clone)]
pub struct Rng(u64);

/// SplitMix64's increment (the golden ratio in 64 bits).
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a bijective 64-bit mix.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator for operation `op` of a copy whose seed is `copy_seed`: each operation has
    /// its own stream, so changing one probability does not reshuffle another's choices.
    pub fn for_op(copy_seed: u64, op: u64) -> Rng {
        Rng(mix64(copy_seed ^ op.wrapping_mul(GOLDEN)))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix64(self.0)
    }

    /// A uniform number in `[0, 1)` (53 bits).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform index in `0..n` (`n > 0`; multiply-shift, bias below 2^-32 for any real `n`).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// The seed of copy `rank` (1, 2, ...) of a row whose [`row_seed`](crate::stage::row_seed) is
/// `row`.
pub fn copy_seed(row: u64, rank: u32) -> u64 {
    mix64(row ^ u64::from(rank).wrapping_mul(GOLDEN))
}

/// Per-character noise probabilities; each character gets at most one of them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CharProbs {
    /// Swap with the next character of the same word.
    pub swap: f64,
    /// Remove the character (never the last one left in a word).
    pub drop: f64,
    /// Write the character twice.
    pub duplicate: f64,
    /// Replace the character with a QWERTY neighbour.
    pub keyboard: f64,
}

impl CharProbs {
    fn any(&self) -> bool {
        self.swap + self.drop + self.duplicate + self.keyboard > 0.0
    }
}

/// Everything one copy needs besides the text and the seed.
#[derive(Debug, Default)]
pub struct Ops {
    /// Probability per document of shuffling its sentences.
    pub sentence_shuffle: f64,
    /// Probability per word that has synonyms of replacing it with one.
    pub synonym: f64,
    /// Probability per pair of neighbouring words of swapping them.
    pub word_swap: f64,
    /// Probability per word of deleting it.
    pub word_delete: f64,
    /// Probability per word of inserting a word of the document after it.
    pub word_insert: f64,
    /// Character noise.
    pub chars: CharProbs,
    /// Spans never touched.
    pub protect: Option<Regex>,
    /// The synonym table (required when `synonym > 0`).
    pub synonyms: Option<Synonyms>,
}

/// The operations in the order they run; the index is the operation's stream number and the
/// name is what `augment_ops` records.
pub const OP_NAMES: [&str; 9] = [
    "sentence_shuffle",
    "synonym",
    "word_swap",
    "word_delete",
    "word_insert",
    "char_swap",
    "char_drop",
    "char_duplicate",
    "char_keyboard",
];

/// One word (a maximal run of non-whitespace, or a protected span with the words it touches)
/// and the whitespace after it.
#[derive(Debug, Clone)]
struct Word<'a> {
    text: Cow<'a, str>,
    sep: &'a str,
    protected: bool,
}

/// A document as words: leading whitespace, then each word with the whitespace after it.
#[derive(Debug)]
struct Doc<'a> {
    lead: &'a str,
    words: Vec<Word<'a>>,
}

impl<'a> Doc<'a> {
    /// Cuts `text` into words. Whitespace inside a protected span does not end a word, and
    /// any word that overlaps a protected span is protected (a whitespace-only span becomes a
    /// protected word of its own).
    fn parse(text: &'a str, protect: Option<&Regex>) -> Doc<'a> {
        let ranges: Vec<(usize, usize)> = protect
            .map(|re| re.find_iter(text).filter(|m| !m.is_empty()).map(|m| (m.start(), m.end())))
            .into_iter()
            .flatten()
            .collect();
        let mut r = 0;
        let mut in_prot = |i: usize| {
            while r < ranges.len() && ranges[r].1 <= i {
                r += 1;
            }
            r < ranges.len() && ranges[r].0 <= i
        };
        let bytes = text.len();
        let mut chars = text.char_indices().peekable();
        let mut words = Vec::new();
        let mut lead_end = bytes;
        let mut start = None;
        let mut protected = false;
        let mut sep_start = 0;
        while let Some((i, c)) = chars.next() {
            let prot = in_prot(i);
            let word_char = prot || !c.is_whitespace();
            match (start, word_char) {
                (None, true) if words.is_empty() && lead_end == bytes => {
                    lead_end = i;
                    start = Some(i);
                    protected = prot;
                }
                (None, true) => {
                    let last: &mut Word = words.last_mut().expect("a word before the separator");
                    last.sep = &text[sep_start..i];
                    start = Some(i);
                    protected = prot;
                }
                (Some(_), true) => protected |= prot,
                (Some(s), false) => {
                    words.push(Word { text: Cow::Borrowed(&text[s..i]), sep: "", protected });
                    start = None;
                    sep_start = i;
                }
                (None, false) => {}
            }
            if chars.peek().is_none() {
                match start {
                    Some(s) => {
                        words.push(Word { text: Cow::Borrowed(&text[s..]), sep: "", protected })
                    }
                    None => {
                        if let Some(last) = words.last_mut() {
                            last.sep = &text[sep_start..];
                        }
                    }
                }
            }
        }
        Doc { lead: &text[..lead_end], words }
    }

    fn render(&self, out: &mut String) {
        out.push_str(self.lead);
        for w in &self.words {
            out.push_str(&w.text);
            out.push_str(w.sep);
        }
    }
}

/// Whether a word ends a sentence: its last character, after closing quotes and brackets, is
/// `.`, `!`, `?`, `…` or a CJK full stop, exclamation or question mark.
fn ends_sentence(word: &str) -> bool {
    let core = word.trim_end_matches(['"', '\'', ')', ']', '}', '»', '”', '’', '」', '』']);
    core.ends_with(['.', '!', '?', '…', '。', '！', '？'])
}

/// The byte range of a word's core: from its first to its last alphanumeric character.
fn core_range(word: &str) -> Option<(usize, usize)> {
    let start = word.char_indices().find(|(_, c)| c.is_alphanumeric())?.0;
    let (i, c) = word.char_indices().rev().find(|(_, c)| c.is_alphanumeric())?;
    Some((start, i + c.len_utf8()))
}

/// Of two separators that a deletion joins, the one with more line breaks; on a tie the
/// shorter one (the first on equal length).
fn join_seps<'a>(a: &'a str, b: &'a str) -> &'a str {
    let breaks = |s: &str| s.bytes().filter(|&c| c == b'\n').count();
    match breaks(b).cmp(&breaks(a)) {
        std::cmp::Ordering::Greater => b,
        std::cmp::Ordering::Less => a,
        std::cmp::Ordering::Equal if b.len() < a.len() => b,
        std::cmp::Ordering::Equal => a,
    }
}

impl Ops {
    /// Augments one copy of `text`: writes the new text to `out` and returns how many times
    /// each operation (in [`OP_NAMES`] order) was applied.
    pub fn apply(&self, text: &str, seed: u64, out: &mut String) -> [u32; 9] {
        let mut counts = [0u32; 9];
        let mut doc = Doc::parse(text, self.protect.as_ref());
        let rng = |op: usize| Rng::for_op(seed, op as u64);
        if self.sentence_shuffle > 0.0 {
            counts[0] = u32::from(shuffle_sentences(&mut doc, &mut rng(0), self.sentence_shuffle));
        }
        if let (true, Some(syn)) = (self.synonym > 0.0, &self.synonyms) {
            counts[1] = replace_synonyms(&mut doc, &mut rng(1), self.synonym, syn);
        }
        if self.word_swap > 0.0 {
            counts[2] = swap_words(&mut doc, &mut rng(2), self.word_swap);
        }
        if self.word_delete > 0.0 {
            counts[3] = delete_words(&mut doc, &mut rng(3), self.word_delete);
        }
        if self.word_insert > 0.0 {
            counts[4] = insert_words(&mut doc, &mut rng(4), self.word_insert);
        }
        if self.chars.any() {
            let mut noise = CharNoise::new(&self.chars, rng(5));
            let mut buf = String::new();
            for w in doc.words.iter_mut().filter(|w| !w.protected) {
                buf.clear();
                if noise.word(&w.text, &mut buf, &mut counts[5..9]) {
                    w.text = Cow::Owned(std::mem::take(&mut buf));
                }
            }
        }
        out.clear();
        doc.render(out);
        counts
    }
}

/// With probability `p`, a uniformly random non-identity order of the sentences that hold no
/// protected word; the others keep their places, and the whitespace between sentences stays
/// where it was. A sentence ends at a word that [`ends_sentence`] or before a line break.
/// Needs two movable sentences. Returns whether it shuffled.
fn shuffle_sentences(doc: &mut Doc, rng: &mut Rng, p: f64) -> bool {
    if rng.unit() >= p || doc.words.len() < 2 {
        return false;
    }
    let mut sentences = Vec::new();
    let mut start = 0;
    for (i, w) in doc.words.iter().enumerate() {
        if i + 1 == doc.words.len() || ends_sentence(&w.text) || w.sep.contains(['\n', '\r']) {
            sentences.push(start..i + 1);
            start = i + 1;
        }
    }
    let movable: Vec<usize> = (0..sentences.len())
        .filter(|&s| !doc.words[sentences[s].clone()].iter().any(|w| w.protected))
        .collect();
    if movable.len() < 2 {
        return false;
    }
    let mut order = movable.clone();
    // Fisher–Yates, redrawn while it gives the identity (at most 1 in 2 for two sentences).
    while order == movable {
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
    }
    let mut from: Vec<usize> = (0..sentences.len()).collect();
    for (slot, src) in movable.iter().zip(&order) {
        from[*slot] = *src;
    }
    let mut words = Vec::with_capacity(doc.words.len());
    for (slot, &src) in from.iter().enumerate() {
        let gap = doc.words[sentences[slot].end - 1].sep;
        words.extend(doc.words[sentences[src].clone()].iter().cloned());
        words.last_mut().expect("sentences are not empty").sep = gap;
    }
    doc.words = words;
    true
}

/// Each unprotected word whose core (first to last alphanumeric character) has synonyms is
/// replaced with probability `p` by one of them, chosen uniformly, in the word's case pattern;
/// the punctuation around the core stays.
fn replace_synonyms(doc: &mut Doc, rng: &mut Rng, p: f64, syn: &Synonyms) -> u32 {
    let mut n = 0;
    for w in doc.words.iter_mut().filter(|w| !w.protected) {
        let Some((a, b)) = core_range(&w.text) else { continue };
        let Some(list) = syn.get(&w.text[a..b]) else { continue };
        if rng.unit() < p {
            let pick = &list[rng.below(list.len())];
            let new =
                format!("{}{}{}", &w.text[..a], match_case(&w.text[a..b], pick), &w.text[b..]);
            w.text = Cow::Owned(new);
            n += 1;
        }
    }
    n
}

/// Left to right, each pair of neighbouring unprotected words is swapped with probability `p`;
/// a swapped pair is not drawn again (the next pair starts after it). Whitespace stays.
fn swap_words(doc: &mut Doc, rng: &mut Rng, p: f64) -> u32 {
    let (mut i, mut n) = (0, 0);
    while i + 1 < doc.words.len() {
        if !doc.words[i].protected && !doc.words[i + 1].protected && rng.unit() < p {
            let (a, b) = doc.words.split_at_mut(i + 1);
            std::mem::swap(&mut a[i].text, &mut b[0].text);
            n += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    n
}

/// Each unprotected word is deleted with probability `p`, but never every word: if all would
/// go, the first is kept. The whitespace on both sides of a deleted word becomes one
/// separator ([`join_seps`]).
fn delete_words(doc: &mut Doc, rng: &mut Rng, p: f64) -> u32 {
    let mut gone: Vec<bool> = doc.words.iter().map(|w| !w.protected && rng.unit() < p).collect();
    if gone.iter().all(|&g| g)
        && let Some(first) = gone.first_mut()
    {
        *first = false;
    }
    let n = gone.iter().filter(|&&g| g).count() as u32;
    if n == 0 {
        return 0;
    }
    let mut kept: Vec<Word> = Vec::with_capacity(doc.words.len() - n as usize);
    for (w, g) in std::mem::take(&mut doc.words).into_iter().zip(gone) {
        if !g {
            kept.push(w);
        } else if let Some(prev) = kept.last_mut() {
            prev.sep = join_seps(prev.sep, w.sep);
        } else {
            doc.lead = join_seps(doc.lead, w.sep);
        }
    }
    doc.words = kept;
    n
}

/// After each word, with probability `p`, inserts the core of a word drawn uniformly from the
/// document's unprotected words (as they are before this step), separated by one space.
fn insert_words<'a>(doc: &mut Doc<'a>, rng: &mut Rng, p: f64) -> u32 {
    let pool: Vec<Cow<'a, str>> = doc
        .words
        .iter()
        .filter(|w| !w.protected)
        .filter_map(|w| {
            let (a, b) = core_range(&w.text)?;
            Some(match &w.text {
                Cow::Borrowed(s) => Cow::Borrowed(&s[a..b]),
                Cow::Owned(s) => Cow::Owned(s[a..b].to_string()),
            })
        })
        .collect();
    if pool.is_empty() {
        return 0;
    }
    let mut out = Vec::with_capacity(doc.words.len() + 4);
    let mut n = 0;
    for mut w in std::mem::take(&mut doc.words) {
        if rng.unit() < p {
            let sep = std::mem::replace(&mut w.sep, " ");
            out.push(w);
            out.push(Word { text: pool[rng.below(pool.len())].clone(), sep, protected: false });
            n += 1;
        } else {
            out.push(w);
        }
    }
    doc.words = out;
    n
}

/// Noise on the characters of unprotected words, left to right through the document. Each
/// character draws once and gets at most one kind: swap with the next character (which is then
/// not drawn), drop (not the last character left: a word never vanishes), duplicate, or a
/// QWERTY neighbour (only ASCII letters and digits; case kept). A kind that does not apply
/// leaves the character as it is. Instead of one draw per character, the gap to the next
/// drawn-noisy character is drawn from the geometric law, which has the same distribution
/// (independent draws are memoryless) and skips clean words without touching them.
struct CharNoise {
    /// Cumulative thresholds of the kinds: swap, drop, duplicate, keyboard.
    thresholds: [f64; 4],
    /// `ln(1 - p)`, `p` the probability that a character is noisy.
    log_clean: f64,
    /// Clean characters left before the next noisy one.
    gap: u64,
    rng: Rng,
}

impl CharNoise {
    fn new(p: &CharProbs, rng: Rng) -> CharNoise {
        let t1 = p.swap;
        let t2 = t1 + p.drop;
        let t3 = t2 + p.duplicate;
        let t4 = t3 + p.keyboard;
        let mut n =
            CharNoise { thresholds: [t1, t2, t3, t4], log_clean: (1.0 - t4).ln(), gap: 0, rng };
        n.gap = n.next_gap();
        n
    }

    /// Clean characters before the next noisy one: `P(gap >= k) = (1 - p)^k`.
    fn next_gap(&mut self) -> u64 {
        if self.log_clean == f64::NEG_INFINITY {
            return 0;
        }
        let u = 1.0 - self.rng.unit(); // in (0, 1]
        (u.ln() / self.log_clean) as u64 // saturates for huge gaps
    }

    /// Writes `word` with its noise to `out` and returns whether anything changed (else `out`
    /// is left as it is); `counts` is `[swap, drop, duplicate, keyboard]`.
    fn word(&mut self, word: &str, out: &mut String, counts: &mut [u32]) -> bool {
        let len = word.chars().count() as u64;
        if self.gap >= len {
            self.gap -= len;
            return false;
        }
        let mut changed = false;
        let mut written = 0usize;
        let mut chars = word.chars().peekable();
        while let Some(c) = chars.next() {
            if self.gap > 0 {
                self.gap -= 1;
                out.push(c);
                written += 1;
                continue;
            }
            let u = self.rng.unit() * self.thresholds[3];
            self.gap = self.next_gap();
            let [t_swap, t_drop, t_dup, _] = self.thresholds;
            if u < t_swap {
                if let Some(next) = chars.next() {
                    out.push(next);
                    out.push(c);
                    written += 2;
                    counts[0] += 1;
                    changed |= next != c;
                    continue;
                }
            } else if u < t_drop {
                if written > 0 || chars.peek().is_some() {
                    counts[1] += 1;
                    changed = true;
                    continue;
                }
            } else if u < t_dup {
                out.push(c);
                out.push(c);
                written += 2;
                counts[2] += 1;
                changed = true;
                continue;
            } else {
                let near = keyboard_neighbours(c);
                if !near.is_empty() {
                    out.push(near[self.rng.below(near.len())]);
                    written += 1;
                    counts[3] += 1;
                    changed = true;
                    continue;
                }
            }
            out.push(c);
            written += 1;
        }
        changed
    }
}

/// QWERTY rows; a key's neighbours are its left and right keys and the two keys that touch
/// it in the rows above and below (the rows are staggered by half a key).
const ROWS: [&str; 4] = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"];

/// The keys next to `c` on a QWERTY keyboard (ASCII letters and digits; an upper-case letter
/// gets upper-case neighbours); empty for every other character.
pub fn keyboard_neighbours(c: char) -> Vec<char> {
    let lower = c.to_ascii_lowercase();
    let Some((r, col)) = ROWS.iter().enumerate().find_map(|(r, row)| {
        row.find(lower).filter(|_| c.is_ascii_alphanumeric()).map(|col| (r, col))
    }) else {
        return Vec::new();
    };
    let at = |r: usize, col: isize| -> Option<char> {
        (col >= 0).then(|| ROWS[r].as_bytes().get(col as usize).map(|&b| b as char)).flatten()
    };
    let col = col as isize;
    let mut out = vec![at(r, col - 1), at(r, col + 1)];
    if r > 0 {
        out.extend([at(r - 1, col), at(r - 1, col + 1)]);
    }
    if r + 1 < ROWS.len() {
        out.extend([at(r + 1, col - 1), at(r + 1, col)]);
    }
    out.into_iter()
        .flatten()
        .map(|k| if c.is_ascii_uppercase() { k.to_ascii_uppercase() } else { k })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str, protect: Option<&str>) -> (String, Vec<(String, String, bool)>) {
        let re = protect.map(|p| Regex::new(p).unwrap());
        let d = Doc::parse(text, re.as_ref());
        let mut back = String::new();
        d.render(&mut back);
        assert_eq!(back, text, "parse + render is the identity");
        let w = d.words.iter().map(|w| (w.text.to_string(), w.sep.to_string(), w.protected));
        (d.lead.to_string(), w.collect())
    }

    #[test]
    fn parsing_keeps_every_byte_and_protected_spans_are_single_words() {
        let (lead, w) = words("  Hello,  wörld!\n\nBye ", None);
        assert_eq!(lead, "  ");
        assert_eq!(w[0], ("Hello,".into(), "  ".into(), false));
        assert_eq!(w[1], ("wörld!".into(), "\n\n".into(), false));
        assert_eq!(w[2], ("Bye".into(), " ".into(), false));
        let (_, w) = words("see {{a b}}c now", Some(r"\{\{[^}]*\}\}"));
        assert_eq!(w[1], ("{{a b}}c".into(), " ".into(), true));
        assert!(!w[0].2 && !w[2].2);
        let (_, w) = words("a\n\nb", Some(r"\n\n"));
        assert_eq!(w.len(), 1, "whitespace inside a protected span joins the words: {w:?}");
        assert!(words("", None).1.is_empty() && words(" \t", None).1.is_empty());
    }

    #[test]
    fn keyboard_neighbours_follow_the_qwerty_layout() {
        let mut a = keyboard_neighbours('a');
        a.sort();
        assert_eq!(a, ['q', 's', 'w', 'z']);
        let mut h = keyboard_neighbours('H');
        h.sort();
        assert_eq!(h, ['B', 'G', 'J', 'N', 'U', 'Y']);
        let mut one = keyboard_neighbours('1');
        one.sort();
        assert_eq!(one, ['2', 'q']);
        assert!(keyboard_neighbours('é').is_empty() && keyboard_neighbours('.').is_empty());
    }

    #[test]
    fn deletion_joins_separators_by_line_breaks_then_length() {
        assert_eq!(join_seps(" ", "\n\n"), "\n\n");
        assert_eq!(join_seps("\n", " "), "\n");
        assert_eq!(join_seps(" ", ""), "");
        assert_eq!(join_seps("  ", " "), " ");
    }

    #[test]
    fn sentence_ends() {
        assert!(ends_sentence("end.") && ends_sentence("so?\"") && ends_sentence("好。"));
        assert!(!ends_sentence("Mr") && !ends_sentence("a,"));
    }
}
