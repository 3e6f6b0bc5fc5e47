//! spaCy's rule-based English tokenizer and sentencizer (`spacy.blank("en")` +
//! `add_pipe("sentencizer")`, spaCy 3.8.18), as datatrove 0.10.1 uses them for its word and
//! sentence splits (`split_into_words`, `split_into_sentences`).
//!
//! The algorithm follows spaCy's `tokenizer.pyx`:
//!
//! 1. The text is cut into runs of [`is_py_space`] and non-space characters. A whitespace run
//!    that is exactly one `" "` is absorbed; every other whitespace run becomes a token (minus
//!    its first character when that is a `" "` following a word).
//! 2. Each non-space chunk: if it is a special case (tokenizer exception such as `"don't"` or
//!    `"U.S."`), its pieces; otherwise `_split_affixes` strips prefixes and suffixes one at a
//!    time (stopping as soon as what remains, or what remains without the new prefix/suffix, is
//!    a special case), and `_attach_tokens` emits the prefixes, then the rest (a special case,
//!    a `url_match`, or split at infixes), then the suffixes in reverse.
//! 3. `_apply_special_cases`: special cases whose text contains a prefix, suffix or infix are
//!    also looked up as token sequences (spaCy's `PhraseMatcher`), longest first, and merged
//!    back when their tokens touch in the text.
//!
//! The sentencizer starts a new sentence at a token that is neither punctuation (every
//! character in category P*) nor one of its `punct_chars`, once a `punct_chars` token has been
//! seen since the last start. Whitespace tokens count as tokens there.
//!
//! Every special-case piece is a substring of the text it replaces (spaCy checks that the
//! pieces concatenate to the special case), so tokens are returned as `&str` slices of the
//! input.

use std::cell::RefCell;

use super::chunk_memo::{ChunkMemo, MEMO_MAX};
use super::pystr::{is_py_space, is_py_space_ascii, is_unicode_punct};
use super::spacy_en_affix::AffixRules;
use super::spacy_en_data as data;
use super::spacy_en_plain::{NON_ASCII_BYTE, PlainChars, SPACE_BYTE};
use super::spacy_en_special::{SpecialMatcher, SpecialTable};
use super::spacy_en_tok::Tok;

/// Byte classes for the chunk scanner.
const B_SPACE: u8 = 1;
const B_NON_ASCII: u8 = 8;
static BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b >= 0x80 {
            B_NON_ASCII
        } else if is_py_space_ascii(b) {
            B_SPACE
        } else {
            0
        };
        i += 1;
    }
    t
};

/// spaCy's English tokenizer + sentencizer (datatrove's `SpaCyTokenizer("en")`).
///
/// Build it once ([`EnTokenizer::new`] compiles the rules, tens of milliseconds) and share it:
/// it is `Send + Sync` and every method takes `&self` (scratch space is per thread).
///
/// ```text
/// let t = EnTokenizer::new();
/// t.words("Dr. Smith paid $3.50 for e-mail, didn't he?")
///   == ["Dr.", "Smith", "paid", "$", "3.50", "for", "e", "-", "mail", ",", "did", "n't", "he", "?"]
/// t.sentence_count("Hello world. This is it!") == 2
/// ```
#[derive(Debug)]
pub struct EnTokenizer {
    affix: AffixRules,
    /// which chunks no affix rule can split
    plain: PlainChars,
    /// special case text -> its pieces (ORTH)
    specials: SpecialTable,
    /// the special cases matched again as token sequences (`_apply_special_cases`)
    matcher: SpecialMatcher,
}

impl Default for EnTokenizer {
    fn default() -> Self {
        Self::new()
    }
}

/// Scratch state of one tokenization.
struct Work {
    toks: Vec<Tok>,
    /// Splits of recent chunks (only for tokenizing with special cases).
    memo: ChunkMemo,
    /// The special-case matches that `_apply_special_cases` puts back together, found chunk
    /// by chunk (only when tokenizing with special cases).
    seeds: Vec<(usize, usize)>,
    /// Scratch for `_apply_special_cases`, which rebuilds the token list.
    spare: Vec<Tok>,
    prefixes: Vec<(usize, usize)>,
    suffixes: Vec<(usize, usize)>,
    infixes: Vec<(usize, usize)>,
}

impl Work {
    fn new(cap: usize) -> Self {
        Work {
            toks: Vec::with_capacity(cap),
            memo: ChunkMemo::default(),
            seeds: Vec::new(),
            spare: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            infixes: Vec::new(),
        }
    }

    #[inline]
    fn push(&mut self, start: usize, end: usize) {
        self.toks.push(Tok::new(start, end, false));
    }
}

impl EnTokenizer {
    /// Compiles the rules.
    pub fn new() -> Self {
        let mut tok = EnTokenizer {
            affix: AffixRules::new(),
            plain: PlainChars::new(),
            specials: SpecialTable::new(data::SPECIAL_CASES),
            matcher: SpecialMatcher::empty(),
        };
        // spaCy's add_special_case (faster_heuristics): a special case is also matched as a
        // token sequence when a prefix, infix or suffix matches it, or it contains a " "; the
        // sequence is the special case tokenized without special cases.
        let a = &tok.affix;
        let matched = |k: &str| {
            a.find_prefix(k) > 0 || a.has_infix(k) || a.find_suffix(k) > 0 || k.contains(' ')
        };
        let matcher = SpecialMatcher::new(data::SPECIAL_CASES, matched, |k| {
            let mut w = Work::new(8);
            tok.tokenize_into(k, false, &mut w);
            w.toks.iter().map(|t| (t.start, t.end())).collect()
        });
        tok.matcher = matcher;
        tok
    }

    /// datatrove `split_into_words(text)`: the spaCy tokens without whitespace-only tokens.
    pub fn words<'a>(&self, text: &'a str) -> Vec<&'a str> {
        self.with_doc(text, |toks| {
            toks.iter().filter(|t| !t.space()).map(|t| &text[t.start..t.end()]).collect()
        })
    }

    /// All spaCy tokens, whitespace tokens included (what `[t.text for t in nlp(text)]` gives).
    pub fn tokens<'a>(&self, text: &'a str) -> Vec<&'a str> {
        self.with_doc(text, |toks| toks.iter().map(|t| &text[t.start..t.end()]).collect())
    }

    /// `len(split_into_sentences(text))`: the number of sentences the sentencizer finds; 1 for
    /// a text without tokens (datatrove then returns the whole text as one sentence).
    pub fn sentence_count(&self, text: &str) -> usize {
        self.with_doc(text, |toks| sentence_starts(text, spans(toks)).count().max(1))
    }

    /// [`EnTokenizer::sentence_count`] and `len(split_into_words(text))` from one tokenization.
    pub fn sentence_and_word_count(&self, text: &str) -> (usize, usize) {
        self.with_doc(text, |toks| {
            let words = toks.iter().filter(|t| !t.space()).count();
            (sentence_starts(text, spans(toks)).count().max(1), words)
        })
    }

    /// `f` of every token as `(start, end, whitespace_only)` byte offsets into `text`, collected
    /// into any collection (an `Rc<[T]>` is allocated once, at its final size).
    pub fn map_tokens<T, C: FromIterator<T>>(
        &self,
        text: &str,
        f: impl FnMut((usize, usize, bool)) -> T,
    ) -> C {
        self.with_doc(text, |toks| spans(toks).map(f).collect())
    }

    /// [`EnTokenizer::sentence_count`] of a text from its tokens as [`Self::map_tokens`]
    /// gives them (offsets into `text`): for a part of a longer text that starts and ends
    /// next to whitespace, the longer text's tokens inside it are the part's own tokens.
    pub fn sentence_count_of(
        text: &str,
        toks: impl Iterator<Item = (usize, usize, bool)>,
    ) -> usize {
        sentence_starts(text, toks).count().max(1)
    }

    /// datatrove `split_into_sentences(text)`: each sentence runs from the end of the previous
    /// one (its last token) to the end of its own last token; the last one to the end of the
    /// text. A text without tokens is one sentence.
    pub fn sentences<'a>(&self, text: &'a str) -> Vec<&'a str> {
        self.with_doc(text, |toks| {
            let mut out = Vec::new();
            let mut from = 0;
            let mut prev: Option<usize> = None;
            for i in sentence_starts(text, spans(toks)) {
                if let Some(p) = prev
                    && p < i
                {
                    let end = toks[i - 1].end();
                    out.push(&text[from..end]);
                    from = end;
                }
                prev = Some(i);
            }
            out.push(&text[from..]);
            out
        })
    }

    /// Tokenizes `text` (both phases) into a per-thread scratch buffer and hands the tokens to
    /// `f`.
    fn with_doc<R>(&self, text: &str, f: impl FnOnce(&[Tok]) -> R) -> R {
        thread_local! {
            static WORK: RefCell<Work> = RefCell::new(Work::new(1024));
        }
        let run = |w: &mut Work| {
            w.toks.clear();
            w.seeds.clear();
            self.tokenize_into(text, true, w);
            self.matcher.apply(text, &mut w.toks, &w.seeds, &mut w.spare, &self.specials);
            let r = f(&w.toks);
            if w.toks.capacity() > 1 << 20 || w.spare.capacity() > 1 << 20 {
                // do not keep a huge buffer per thread after one huge document
                w.toks = Vec::with_capacity(1024);
                w.spare = Vec::new();
            }
            r
        };
        WORK.with(|cell| match cell.try_borrow_mut() {
            Ok(mut w) => run(&mut w),
            Err(_) => run(&mut Work::new(text.len() / 4 + 4)),
        })
    }

    #[inline]
    fn special(&self, s: &str) -> Option<&'static [&'static str]> {
        self.specials.get(s)
    }

    /// `_tokenize_affixes`: phase 1 (no phrase matching), appending to `w.toks`.
    fn tokenize_into(&self, text: &str, with_special: bool, w: &mut Work) {
        let b = text.as_bytes();
        let n = b.len();
        let mut i = 0;
        let mut prev_was_word = false;
        while i < n {
            // whitespace run [i, j)
            let mut j = i;
            while j < n {
                let cls = BYTE_CLASS[b[j] as usize];
                if cls & B_SPACE != 0 {
                    j += 1;
                } else if cls & B_NON_ASCII != 0 {
                    let c = text[j..].chars().next().expect("char boundary");
                    if !is_py_space(c) {
                        break;
                    }
                    j += c.len_utf8();
                } else {
                    break;
                }
            }
            if j > i {
                // a " " right after a word belongs to that word (spaCy's `spacy` flag)
                let start = if prev_was_word && b[i] == b' ' { i + 1 } else { i };
                if start < j {
                    // whitespace runs are single tokens: no affix or special case splits them
                    w.toks.push(Tok::new(start, j, true));
                }
                i = j;
            }
            if i >= n {
                break;
            }
            // non-space run [i, j); `acc` ORs its characters' masks (see `PlainChars`)
            let (mut j, mut acc) = self.plain.skip_letters(b, i);
            while j < n {
                let info = self.plain.byte(b[j]);
                if info & (SPACE_BYTE | NON_ASCII_BYTE) == 0 {
                    acc |= info;
                    j += 1;
                } else if info & SPACE_BYTE != 0 {
                    break;
                } else {
                    let c = text[j..].chars().next().expect("char boundary");
                    if is_py_space(c) {
                        break;
                    }
                    acc |= self.plain.mask(c);
                    j += c.len_utf8();
                }
            }
            self.tokenize_chunk(text, i, j, PlainChars::plain(acc), with_special, w);
            prev_was_word = true;
            i = j;
        }
    }

    /// One non-space chunk `text[a..b]`.
    #[inline]
    fn tokenize_chunk(
        &self,
        text: &str,
        a: usize,
        b: usize,
        plain: bool,
        with_special: bool,
        w: &mut Work,
    ) {
        let chunk = &text[a..b];
        let before = w.toks.len();
        if with_special && !plain && word_then_stop(text.as_bytes(), a, b) {
            // what the affix rules give such a chunk, without running them (nor taking a
            // memo slot)
            match self.special(chunk) {
                Some(pieces) => push_pieces(w, a, pieces),
                None => {
                    match self.special(&text[a..b - 1]) {
                        Some(pieces) => push_pieces(w, a, pieces),
                        None => w.push(a, b - 1),
                    }
                    w.push(b - 1, b);
                }
            }
            self.seeds(text, before, w);
            return;
        }
        if with_special && !plain && b - a <= MEMO_MAX {
            // a chunk's tokens depend only on its bytes: reuse the split of an equal chunk
            if let Some((ends, seeds)) = w.memo.get_at(text.as_bytes(), a, b - a) {
                let mut at = a;
                for &e in ends {
                    let e = a + usize::from(e);
                    w.toks.push(Tok::new(at, e, false));
                    at = e;
                }
                if seeds {
                    self.matcher.seeds_in_chunk(text, &w.toks, before, &mut w.seeds);
                }
                return;
            }
            match self.special(chunk) {
                Some(pieces) => push_pieces(w, a, pieces),
                None => self.tokenize_general(text, a, b, with_special, w),
            }
            let seeds = self.seeds(text, before, w);
            // remember the split if its tokens cover the chunk end to end (they always do)
            let toks = &w.toks[before..];
            let contiguous = toks.first().is_some_and(|t| t.start == a)
                && toks.last().is_some_and(|t| t.end() == b)
                && toks.windows(2).all(|p| p[0].end() == p[1].start);
            if contiguous {
                let ends = toks.iter().map(|t| t.end() - a);
                w.memo.put(chunk.as_bytes(), ends, seeds);
            }
            return;
        }
        if with_special && let Some(pieces) = self.special(chunk) {
            push_pieces(w, a, pieces);
            self.seeds(text, before, w);
            return;
        }
        // No prefix, suffix, infix or url rule can match (see `PlainChars`): one token.
        if plain {
            w.push(a, b);
            return;
        }
        // (the chunk itself is not a special case: checked above)
        self.tokenize_general(text, a, b, with_special, w);
        if with_special {
            self.seeds(text, before, w);
        }
    }

    /// Finds the special-case matches to put back together among the tokens of the chunk
    /// just tokenized (`w.toks[first..]`); returns whether there was one.
    #[inline]
    fn seeds(&self, text: &str, first: usize, w: &mut Work) -> bool {
        w.toks.len() - first > 1 && self.matcher.seeds_in_chunk(text, &w.toks, first, &mut w.seeds)
    }

    /// `_split_affixes` + `_attach_tokens` for `text[a..b]`.
    fn tokenize_general(&self, text: &str, a: usize, b: usize, with_special: bool, w: &mut Work) {
        w.prefixes.clear();
        w.suffixes.clear();
        let (mut s, mut e) = (a, b);
        let mut last_size = usize::MAX;
        let mut special_rest: Option<&'static [&'static str]> = None;
        while s < e && e - s != last_size {
            let string = &text[s..e];
            // the whole chunk (first round) was already looked up by the caller
            if with_special
                && last_size != usize::MAX
                && let Some(p) = self.special(string)
            {
                special_rest = Some(p);
                break;
            }
            last_size = e - s;
            let first = string.as_bytes()[0];
            let pre_len = if first < 0x80 && !self.affix.prefix_possible_ascii(first) {
                0
            } else {
                self.affix.find_prefix(string)
            };
            if pre_len != 0 {
                let minus_pre = &text[s + pre_len..e];
                if with_special
                    && !minus_pre.is_empty()
                    && let Some(p) = self.special(minus_pre)
                {
                    w.prefixes.push((s, s + pre_len));
                    s += pre_len;
                    special_rest = Some(p);
                    break;
                }
            }
            let suf_len = self.affix.find_suffix(&text[s + pre_len..e]);
            if suf_len != 0 {
                let minus_suf = &text[s..e - suf_len];
                if with_special
                    && !minus_suf.is_empty()
                    && let Some(p) = self.special(minus_suf)
                {
                    w.suffixes.push((e - suf_len, e));
                    e -= suf_len;
                    special_rest = Some(p);
                    break;
                }
            }
            // (the suffix is searched after the prefix, so pre_len + suf_len <= len always)
            if pre_len != 0 {
                w.prefixes.push((s, s + pre_len));
                s += pre_len;
            }
            if suf_len != 0 {
                w.suffixes.push((e - suf_len, e));
                e -= suf_len;
            }
        }
        // _attach_tokens
        for i in 0..w.prefixes.len() {
            let (ps, pe) = w.prefixes[i];
            w.push(ps, pe);
        }
        if s < e {
            let string = &text[s..e];
            // (when the loop above ended without finding a special case, `string` was already
            // looked up at the top of its last round)
            if let Some(pieces) = special_rest {
                push_pieces(w, s, pieces);
            } else if self.affix.url_match(string) {
                w.push(s, e);
            } else {
                w.infixes.clear();
                self.affix.find_infixes(string, &mut w.infixes);
                let mut start = 0;
                for k in 0..w.infixes.len() {
                    let (is, ie) = w.infixes[k];
                    if is == 0 {
                        // a match at the very start is skipped (`start_before_infixes`)
                        continue;
                    }
                    if is != start {
                        w.push(s + start, s + is);
                    }
                    if is != ie {
                        w.push(s + is, s + ie);
                    }
                    start = ie;
                }
                if start < string.len() {
                    w.push(s + start, e);
                }
            }
        }
        for i in (0..w.suffixes.len()).rev() {
            let (ss, se) = w.suffixes[i];
            w.push(ss, se);
        }
    }
}

/// Whether the chunk `b[a..e]` is ASCII letters followed by one of `,;:!?`, or by `.` after
/// a lower-case letter: the commonest chunks that need the affix rules (`said,`, `him.`),
/// and most of those that missed the chunk memo when it also held them. The affix
/// rules split such a chunk into the letters (or their special-case pieces, when they are a
/// special case) and the stop: the stop is an unconditional suffix (`.` is one after a
/// lower-case letter), no prefix, suffix or infix rule fires on ASCII letters alone, and the
/// letters stay one token whether or not `url_match` takes them. The tests check this against
/// the rules for random letters and every letters-only special case.
#[inline]
fn word_then_stop(b: &[u8], a: usize, e: usize) -> bool {
    if e - a < 2 {
        return false;
    }
    let ok_stop = match b[e - 1] {
        b',' | b';' | b':' | b'!' | b'?' => true,
        b'.' => b[e - 2].is_ascii_lowercase(),
        _ => false,
    };
    ok_stop && b[a..e - 1].iter().all(u8::is_ascii_alphabetic)
}

#[inline]
fn push_pieces(w: &mut Work, mut at: usize, pieces: &[&str]) {
    for p in pieces {
        w.push(at, at + p.len());
        at += p.len();
    }
}

/// Whether `s` is one of the sentencizer's `punct_chars`.
#[inline]
fn is_sent_punct_char(s: &str) -> bool {
    let mut it = s.chars();
    match (it.next(), it.next()) {
        (Some(c), None) => {
            if c.is_ascii() {
                matches!(c, '!' | '.' | '?')
            } else {
                data::SENT_PUNCT_CHARS.binary_search(&c).is_ok()
            }
        }
        _ => false,
    }
}

/// spaCy's `is_punct` lexeme attribute: every character in category P*.
#[inline]
fn is_punct_token(s: &str) -> bool {
    s.chars().all(is_unicode_punct)
}

fn spans(toks: &[Tok]) -> impl Iterator<Item = (usize, usize, bool)> + '_ {
    toks.iter().map(|t| (t.start, t.end(), t.space()))
}

/// Indices of the tokens that start a sentence (the sentencizer's `predict`).
fn sentence_starts<'t>(
    text: &'t str,
    toks: impl Iterator<Item = (usize, usize, bool)> + 't,
) -> impl Iterator<Item = usize> + 't {
    let mut seen_period = false;
    toks.enumerate().filter_map(move |(i, (start, end, space))| {
        if i == 0 {
            seen_period = !space && is_sent_punct_char(&text[start..end]);
            return Some(0);
        }
        if space {
            if seen_period {
                seen_period = false;
                return Some(i);
            }
            return None;
        }
        let s = &text[start..end];
        let in_punct = is_sent_punct_char(s);
        if seen_period && !in_punct && !is_punct_token(s) {
            seen_period = false;
            Some(i)
        } else {
            if in_punct {
                seen_period = true;
            }
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::is_py_space;
    use super::{EnTokenizer, PlainChars, Work};

    fn w(t: &EnTokenizer, s: &str) -> String {
        t.words(s).join(" | ")
    }

    #[test]
    fn datatrove_example() {
        let t = EnTokenizer::new();
        assert_eq!(
            w(&t, "Dr. Smith paid $3.50 for e-mail, didn't he?"),
            "Dr. | Smith | paid | $ | 3.50 | for | e | - | mail | , | did | n't | he | ?"
        );
    }

    #[test]
    fn affixes_and_specials() {
        let t = EnTokenizer::new();
        assert_eq!(w(&t, "(U.S.A.)"), "( | U.S.A. | )");
        assert_eq!(w(&t, "\"Hello,\" she said."), "\" | Hello | , | \" | she | said | .");
        assert_eq!(w(&t, "I can't, won't"), "I | ca | n't | , | wo | n't");
        assert_eq!(w(&t, "visit www.example.com."), "visit | www.example.com | .");
        assert_eq!(w(&t, "5km 10am 3pm."), "5 | km | 10 | am | 3 | pm | .");
        assert_eq!(w(&t, "well...yes"), "well | ... | yes");
        assert_eq!(w(&t, "Hello :) (:"), "Hello | :) | (:");
        assert_eq!(w(&t, "a\n\nb\t c  d"), "a | b | c | d");
    }

    #[test]
    fn sentences() {
        let t = EnTokenizer::new();
        assert_eq!(t.sentence_count("Hello world. This is it! Really? Yes."), 4);
        assert_eq!(t.sentence_count("He said \"Stop.\" Then left."), 2);
        assert_eq!(t.sentence_count("e.g. this is Dr. Who."), 1);
        assert_eq!(t.sentence_count("Hello.  . World"), 3);
        assert_eq!(t.sentence_count(""), 1);
        assert_eq!(t.sentence_count("   "), 1);
        assert_eq!(t.sentences("Hi. There"), ["Hi.", " There"]);
        assert_eq!(t.sentences(""), [""]);
    }

    #[test]
    fn send_sync() {
        fn check<T: Send + Sync>() {}
        check::<EnTokenizer>();
    }

    /// The general affix path on `s` (no special cases): the token texts.
    fn general(t: &EnTokenizer, s: &str) -> Vec<String> {
        let mut w = Work::new(8);
        t.tokenize_general(s, 0, s.len(), false, &mut w);
        w.toks.iter().map(|x| s[x.start..x.end()].to_string()).collect()
    }

    /// Whether the scanner would treat `s` as one plain token.
    fn plain(t: &EnTokenizer, s: &str) -> bool {
        PlainChars::plain(s.chars().fold(0, |acc, c| acc | t.plain.mask(c)))
    }

    #[test]
    fn plain_chunks_are_one_token_in_every_script() {
        let t = EnTokenizer::new();
        for s in ["hello", "12345", "más", "že", "Ελληνικά", "привет", "中文", "x86", "ñandú"]
        {
            assert!(plain(&t, s), "{s:?} should be plain");
        }
        for s in ["5km", "it's", "a.b", "e-mail", "don’t", "(x", "a,b", "10кг", "US$"] {
            assert!(!plain(&t, s), "{s:?} should not be plain");
        }
        // random chunks over letters of several scripts, digits, units and punctuation: a
        // chunk the masks call plain is one token on the general path
        let pool: Vec<char> = "abcxyzkmgKMGT0123456789éñüßøæœçàèìòùâêîôûëïÿąęłńśźżčřšžůőű            абвгдеёжзийклмнопрстуфхцчшщъыьэюякмг αβγδεζηθλμπσωΩ אבג عرب हिन्दी 中文日本語한국어            .,;:!?'\"()[]{}-–—_/\\&%$€£#@*+=<>~^|’‘“”…·•°©®™"
            .chars()
            .collect();
        let mut next = crate::text::xorshift(0x9e37_79b9_7f4a_7c15u64);
        let mut plain_seen = 0;
        for _ in 0..200_000 {
            let n = 1 + (next() % 8) as usize;
            let s: String = (0..n).map(|_| pool[(next() % pool.len() as u64) as usize]).collect();
            if s.chars().any(is_py_space) || !plain(&t, &s) {
                continue;
            }
            plain_seen += 1;
            assert_eq!(general(&t, &s), std::slice::from_ref(&s), "{s:?}");
        }
        assert!(plain_seen > 10_000, "{plain_seen}");
    }

    #[test]
    fn words_then_a_stop_split_as_the_rules_split_them() {
        let t = EnTokenizer::new();
        // the affix rules alone (special cases included), on `s` as one chunk
        let rules = |s: &str| -> Vec<String> {
            let mut w = Work::new(8);
            match t.special(s) {
                Some(pieces) => super::push_pieces(&mut w, 0, pieces),
                None => t.tokenize_general(s, 0, s.len(), true, &mut w),
            }
            w.toks.iter().map(|x| s[x.start..x.end()].to_string()).collect()
        };
        let mut words: Vec<String> = crate::text::spacy_en_data::SPECIAL_CASES
            .iter()
            .map(|(k, _)| k.to_string())
            .filter(|k| k.bytes().all(|c| c.is_ascii_alphabetic()))
            .collect();
        assert!(words.len() > 100, "{}", words.len());
        let mut next = crate::text::xorshift(0x5eed_1234_abcd_0001u64);
        let letters: Vec<char> = ('a'..='z').chain('A'..='Z').collect();
        for _ in 0..40_000 {
            let n = 1 + (next() % 14) as usize;
            words.push((0..n).map(|_| letters[(next() % 52) as usize]).collect());
        }
        let mut fast = 0;
        for word in &words {
            for stop in [",", ";", ":", "!", "?", "."] {
                let s = format!("{word}{stop}");
                if !super::word_then_stop(s.as_bytes(), 0, s.len()) {
                    continue;
                }
                fast += 1;
                // phase 1 as the scanner runs it (a fresh memo: the chunk misses it)
                let mut w = Work::new(8);
                t.tokenize_into(&s, true, &mut w);
                let got: Vec<String> =
                    w.toks.iter().map(|x| s[x.start..x.end()].to_string()).collect();
                assert_eq!(got, rules(&s), "{s:?}");
            }
        }
        assert!(fast > 200_000, "{fast}");
        // the shape itself
        for (s, want) in [("said,", true), ("him.", true), ("HIM.", false), ("x", false)] {
            assert_eq!(super::word_then_stop(s.as_bytes(), 0, s.len()), want, "{s}");
        }
        for s in ["a1,", "it's,", ".,", "co-op."] {
            assert!(!super::word_then_stop(s.as_bytes(), 0, s.len()), "{s}");
        }
    }

    #[test]
    fn fast_paths_agree_with_the_general_path() {
        let t = EnTokenizer::new();
        // chunks of only ASCII letters or only ASCII digits are one token
        let mut next = crate::text::xorshift(0x2545_f491_4f6c_dd1du64);
        let letters: Vec<char> = ('a'..='z').chain('A'..='Z').collect();
        for _ in 0..20_000 {
            let n = 1 + (next() % 12) as usize;
            let s: String = if next().is_multiple_of(4) {
                (0..n).map(|_| char::from(b'0' + (next() % 10) as u8)).collect()
            } else {
                (0..n).map(|_| letters[(next() % 52) as usize]).collect()
            };
            assert_eq!(general(&t, &s), std::slice::from_ref(&s), "{s:?}");
        }
        // whitespace runs are one token (no rule matches a Python whitespace character)
        let spaces: Vec<char> =
            (0..=0x10ffffu32).filter_map(char::from_u32).filter(|&c| is_py_space(c)).collect();
        for &c in &spaces {
            for &d in &spaces {
                let s: String = [c, d].iter().collect();
                assert_eq!(general(&t, &s), std::slice::from_ref(&s), "{s:?}");
            }
        }
    }
}
