//! The named quality filters of datatrove 0.10.1 (the FineWeb chain), reproduced decision for
//! decision: `gopher_repetition`, `gopher_quality`, `c4_quality` (which also rewrites the
//! text) and `fineweb_quality`. Definitions: `../shared/docs/filters.md` and
//! `docs/filters.md`. Lengths are Python `len` (code points); words come from the port of
//! spaCy's English tokenizer in [`crate::text`] unless a stage names another splitter.

pub mod c4_quality;
pub mod constants;
pub mod fineweb_quality;
pub mod gopher_quality;
pub mod gopher_repetition;
pub mod ngrams;

use std::rc::Rc;
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::text::EnTokenizer;
use crate::text::fxhash::FxSet;
use crate::text::pystr::py_split_whitespace;

/// How a quality filter splits text into words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WordSplitter {
    /// The reference: spaCy's rule-based English tokenizer (`spacy.blank("en")`), punctuation
    /// tokens included, as datatrove uses for `language="eng"`.
    #[default]
    SpacyEn,
    /// Python `str.split()` on whitespace (what Dolma and NeMo Curator use); not the reference.
    Whitespace,
}

/// The shared English tokenizer, compiled on first use.
pub fn en_tokenizer() -> &'static EnTokenizer {
    static EN: OnceLock<EnTokenizer> = OnceLock::new();
    EN.get_or_init(EnTokenizer::new)
}

/// Starts compiling the shared English tokenizer (about 15 ms, mostly its URL regexes) on a
/// background thread, once per process. Stages call this when they are built, so the first
/// batch does not wait for the compile; a caller that needs the tokenizer before it is ready
/// waits for the same compile.
pub fn prepare_en_tokenizer() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        // without a thread the tokenizer is simply compiled on first use
        let _ = std::thread::Builder::new().name("sluice-spacy-init".into()).spawn(|| {
            en_tokenizer();
        });
    });
}

impl WordSplitter {
    /// Starts compiling what this splitter needs (see [`prepare_en_tokenizer`]).
    pub fn prepare(self) {
        if self == WordSplitter::SpacyEn {
            prepare_en_tokenizer();
        }
    }

    /// Splits `text` into words.
    pub fn words(self, text: &str) -> Vec<&str> {
        match self {
            WordSplitter::SpacyEn => en_tokenizer().words(text),
            WordSplitter::Whitespace => py_split_whitespace(text).collect(),
        }
    }

    /// Calls `f` with the words of `text`, reusing the split of an identical text made
    /// earlier on this thread. Consecutive filters (Gopher repetition, then Gopher quality)
    /// see the same texts, and one batch is processed on one thread, so the second filter
    /// does not tokenize again.
    pub fn with_words<R>(self, text: &str, f: impl FnOnce(Words<'_>) -> R) -> R {
        self.with_words_vocab(text, |words, _| f(words))
    }

    /// [`Self::with_words`], also handing `f` the text's distinct words with their counts
    /// when a filter that saw the same text earlier on this thread remembered them (see
    /// [`Self::remember_vocab`]): a per-word sum can then run once per distinct word.
    pub fn with_words_vocab<R>(
        self,
        text: &str,
        f: impl FnOnce(Words<'_>, Option<&[(u32, u32)]>) -> R,
    ) -> R {
        let cached = self.cached(text, |e| {
            let words = Rc::clone(e.words.get_or_insert_with(|| {
                let mut words = Vec::with_capacity(e.tokens.len());
                words.extend(e.tokens.iter().filter(|(_, end)| end & SPACE_BIT == 0));
                Rc::new(words)
            }));
            (words, e.vocab.clone())
        });
        match cached {
            Some((spans, vocab)) => f(Words::Spans { text, spans: &spans }, vocab.as_deref()),
            None => f(Words::Strs(&self.words(text)), None),
        }
    }

    /// The cache key of `text` split by this splitter.
    fn cache_key(self, text: &str) -> CacheKey {
        (xxhash_rust::xxh3::xxh3_64(text.as_bytes()), text.len(), self)
    }

    /// Remembers the distinct words of `text` that `make` lists, as [`Vocab`] describes them,
    /// with the text's cached words on this thread. Nothing is made or kept when the text is
    /// not cached (its words would be made again, so indexes into them would not be known
    /// to match).
    pub fn remember_vocab(self, text: &str, make: impl FnOnce() -> Vocab) {
        let key = self.cache_key(text);
        WORDS.with(|c| {
            let mut c = c.borrow_mut();
            let Some(e) = c.map.get_mut(&key) else { return };
            if e.words.is_none() || e.vocab.is_some() {
                return;
            }
            let vocab = make();
            let room = vocab.len();
            e.vocab = Some(vocab);
            c.words += room;
        });
    }

    /// Every token of `text` (`spacy_en` also yields whitespace tokens, which are not words)
    /// from this thread's cache, tokenizing (and remembering) on a miss; [`span`] decodes one.
    /// `None` for texts of 2 GiB or more, which are not cached.
    pub(crate) fn cached_tokens(self, text: &str) -> Option<Spans> {
        self.cached(text, |e| Rc::clone(&e.tokens))
    }

    /// `f` of this thread's cache entry for `text`, made (by tokenizing) on a miss. `None`
    /// for texts of 2 GiB or more, which are not cached.
    fn cached<R>(self, text: &str, f: impl FnOnce(&mut Cached) -> R) -> Option<R> {
        if text.len() >= SPACE_BIT as usize {
            return None;
        }
        let key = self.cache_key(text);
        if !WORDS.with(|c| c.borrow().map.contains_key(&key)) {
            self.remember(text, key);
        }
        WORDS.with(|c| c.borrow_mut().map.get_mut(&key).map(f))
    }

    /// Tokenizes `text` and keeps its tokens in this thread's cache under `key`.
    fn remember(self, text: &str, key: CacheKey) {
        let encode = |(s, e, space): (usize, usize, bool)| {
            (s as u32, e as u32 | if space { SPACE_BIT } else { 0 })
        };
        let tokens: Spans = match self {
            WordSplitter::SpacyEn => en_tokenizer().map_tokens(text, encode),
            WordSplitter::Whitespace => {
                let base = text.as_ptr() as usize;
                py_split_whitespace(text)
                    .map(|w| {
                        let start = w.as_ptr() as usize - base;
                        encode((start, start + w.len(), false))
                    })
                    .collect()
            }
        };
        WORDS.with(|c| {
            let mut c = c.borrow_mut();
            // room for the tokens and for the word spans made from them later
            let room = 2 * tokens.len();
            if c.map.len() >= CACHE_DOCS || c.words + room > CACHE_WORDS {
                c.map.clear();
                c.words = 0;
            }
            c.words += room;
            c.map.insert(key, Cached { tokens, words: None, vocab: None });
        });
    }
}

/// Marks a whitespace token in a cached span's end offset (texts under 2 GiB are cached).
const SPACE_BIT: u32 = 1 << 31;

/// A cached token as `(start, end, whitespace_only)` byte offsets.
#[inline]
pub(crate) fn span((start, end): (u32, u32)) -> (usize, usize, bool) {
    (start as usize, (end & !SPACE_BIT) as usize, end & SPACE_BIT != 0)
}

impl WordSplitter {
    /// `len(words(text))`, using a count remembered for this exact text on this thread (see
    /// [`remember_word_count`]) when there is one.
    pub fn count(self, text: &str) -> usize {
        match self {
            WordSplitter::SpacyEn => {
                let key = (xxhash_rust::xxh3::xxh3_64(text.as_bytes()), text.len());
                match COUNTS.with(|c| c.borrow().get(&key).copied()) {
                    Some(n) => n,
                    None => en_tokenizer().words(text).len(),
                }
            }
            WordSplitter::Whitespace => py_split_whitespace(text).count(),
        }
    }
}

/// Remembers on this thread that `text` has `words` `spacy_en` words. `c4_quality` counts the
/// words of the text it writes while it splits the kept lines into sentences (the words of
/// lines joined by `"\n"` are the words of each line, since spaCy tokenizes between
/// whitespace), so `fineweb_quality` does not tokenize that text again.
pub fn remember_word_count(text: &str, words: usize) {
    let key = (xxhash_rust::xxh3::xxh3_64(text.as_bytes()), text.len());
    COUNTS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_DOCS {
            c.clear();
        }
        c.insert(key, words);
    });
}

/// Documents whose words one thread remembers.
const CACHE_DOCS: usize = 8192;
/// Token and word spans one thread remembers (8 bytes each).
const CACHE_WORDS: usize = 8 << 20;

/// Token spans (byte ranges; [`SPACE_BIT`] set on whitespace tokens) of one text.
pub(crate) type Spans = Rc<[(u32, u32)]>;

/// Word spans (byte ranges, no whitespace tokens) of one text.
type WordSpans = Rc<Vec<(u32, u32)>>;

/// The distinct words of one text, in order of first occurrence: for each, the index (among
/// the words) of its first occurrence and how many times it occurs.
pub type Vocab = Rc<[(u32, u32)]>;

/// What one thread remembers of one text.
struct Cached {
    tokens: Spans,
    /// Made on first use.
    words: Option<WordSpans>,
    /// Remembered by the first filter that interns the words (Gopher repetition).
    vocab: Option<Vocab>,
}

/// A text's hash and length, and the splitter.
type CacheKey = (u64, usize, WordSplitter);

#[derive(Default)]
struct WordCache {
    map: std::collections::HashMap<CacheKey, Cached>,
    words: usize,
}

/// The words of one text, as byte spans into it (what the tokenizer cache keeps) or as
/// string slices.
#[derive(Clone, Copy)]
pub enum Words<'a> {
    /// `(start, end)` byte offsets of each word in `text`.
    Spans { text: &'a str, spans: &'a [(u32, u32)] },
    /// The words themselves.
    Strs(&'a [&'a str]),
}

impl<'a> Words<'a> {
    /// Number of words.
    pub fn len(&self) -> usize {
        match self {
            Words::Spans { spans, .. } => spans.len(),
            Words::Strs(w) => w.len(),
        }
    }

    /// Whether there are no words.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Word `i`.
    #[inline]
    pub fn get(&self, i: usize) -> &'a str {
        match *self {
            Words::Spans { text, spans } => &text[spans[i].0 as usize..spans[i].1 as usize],
            Words::Strs(w) => w[i],
        }
    }

    /// The bytes of word `i`.
    #[inline]
    pub fn bytes(&self, i: usize) -> &'a [u8] {
        match *self {
            Words::Spans { text, spans } => {
                &text.as_bytes()[spans[i].0 as usize..spans[i].1 as usize]
            }
            Words::Strs(w) => w[i].as_bytes(),
        }
    }

    /// The words in order.
    pub fn iter(self) -> impl DoubleEndedIterator<Item = &'a str> + ExactSizeIterator {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// The bytes of the words in order.
    pub fn iter_bytes(self) -> impl DoubleEndedIterator<Item = &'a [u8]> + ExactSizeIterator {
        (0..self.len()).map(move |i| self.bytes(i))
    }
}

thread_local! {
    static WORDS: std::cell::RefCell<WordCache> = std::cell::RefCell::new(WordCache::default());
    static COUNTS: std::cell::RefCell<std::collections::HashMap<(u64, usize), usize>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// datatrove `find_duplicates`: walks `items` in order; an item seen before adds 1 to the
/// duplicate count and its length (code points) to the duplicate characters.
/// `expected`: about how many items there are (the set is sized for it, not grown).
pub fn find_duplicates<'a>(
    items: impl IntoIterator<Item = &'a str>,
    expected: usize,
) -> (usize, usize, usize) {
    let mut seen: FxSet<&str> = FxSet::with_capacity_and_hasher(expected, Default::default());
    let (mut n, mut dup, mut chars) = (0, 0, 0);
    for item in items {
        n += 1;
        if !seen.insert(item) {
            dup += 1;
            chars += item.chars().count();
        }
    }
    (n, dup, chars)
}

/// A threshold that Python treats as set (`None` and `0` disable a check).
pub(crate) fn on(x: Option<f64>) -> Option<f64> {
    x.filter(|v| *v != 0.0)
}

/// Same for integer thresholds.
pub(crate) fn on_u(x: Option<u64>) -> Option<u64> {
    x.filter(|v| *v != 0)
}

/// Pathological documents: each must finish (cost linear in the text); a quadratic path would
/// hang these tests. Timing is measured in `benches/stages.rs`, not here.
#[cfg(test)]
mod pathological {
    use super::c4_quality::{C4Quality, C4QualityConfig};
    use super::fineweb_quality::{FinewebQuality, FinewebQualityConfig};
    use super::gopher_quality::{GopherQuality, GopherQualityConfig};
    use super::gopher_repetition::{GopherRepetition, GopherRepetitionConfig};

    fn chain(text: &str) -> Option<&'static str> {
        GopherRepetition::new(GopherRepetitionConfig::default())
            .decide(text)
            .or_else(|| GopherQuality::new(GopherQualityConfig::default()).decide(text))
            .or_else(|| match C4Quality::new(C4QualityConfig::default()).apply(text) {
                super::c4_quality::C4Outcome::Reject(r) => Some(r),
                super::c4_quality::C4Outcome::Keep(t) => {
                    FinewebQuality(FinewebQualityConfig::default()).decide(&t)
                }
            })
    }

    #[test]
    fn ten_megabyte_single_line() {
        let words = ["river", "stone", "harbor", "lantern", "meadow", "copper", "willow", "ember"];
        let mut text = String::with_capacity(10 << 20);
        let mut i = 0usize;
        while text.len() < 10 << 20 {
            text.push_str(words[(i * 7 + i / 3) % words.len()]);
            text.push_str(if i % 11 == 10 { ". " } else { " " });
            i += 1;
        }
        assert!(chain(&text).is_some());
    }

    #[test]
    fn a_million_repeated_tokens() {
        let text = "the ".repeat(1_000_000);
        assert!(chain(&text).is_some());
        let lines = "the same line again.\n".repeat(200_000);
        assert_eq!(chain(&lines), Some("dup_line_frac"));
    }

    #[test]
    fn one_huge_token() {
        let text = format!("{}.", "a".repeat(5 << 20));
        assert!(chain(&text).is_some());
        let text = "(".repeat(1 << 20);
        assert!(chain(&text).is_some());
    }
}
