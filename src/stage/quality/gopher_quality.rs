//! `gopher_quality`: datatrove's `GopherQualityFilter` (Gopher, Rae et al. 2021): word count,
//! mean word length, symbol ratios, bullet and ellipsis lines, alphabetic words, stop words.

use std::collections::HashSet;

use arrow::array::RecordBatch;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::constants::{STOP_WORDS, is_punctuation};
use super::{WordSplitter, Words, on, on_u};
use crate::error::Result;
use crate::stage::{
    BatchContext, BuildContext, BuiltStage, Filter, FilterMode, StageBuilder, Verdict,
    string_column,
};
use crate::text::pystr::{is_py_alpha, py_lstrip, py_rstrip, py_splitlines};

/// Gopher quality filter, as datatrove 0.10.1 defines it (defaults included). Reasons:
/// `gopher_short_doc`, `gopher_long_doc`, `gopher_below_avg_threshold`,
/// `gopher_above_avg_threshold`, `gopher_too_many_hashes`, `gopher_too_many_ellipsis`,
/// `gopher_too_many_bullets`, `gopher_too_many_end_ellipsis`, `gopher_below_alpha_threshold`,
/// `gopher_enough_stop_words` (too few stop words). `null` or 0 disables a check.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GopherQualityConfig {
    /// Column to check.
    #[serde(default = "crate::stage::normalize::default_column")]
    pub column: String,
    /// Minimum number of non-symbol words (words with a character outside the punctuation set).
    #[serde(default = "d_min_doc_words")]
    pub min_doc_words: Option<u64>,
    /// Maximum number of non-symbol words.
    #[serde(default = "d_max_doc_words")]
    pub max_doc_words: Option<u64>,
    /// Minimum mean length (code points) of the non-symbol words.
    #[serde(default = "d_min_avg_word_length")]
    pub min_avg_word_length: Option<f64>,
    /// Maximum mean length of the non-symbol words.
    #[serde(default = "d_max_avg_word_length")]
    pub max_avg_word_length: Option<f64>,
    /// Maximum `#` count, and `...`/`…` count, per word.
    #[serde(default = "d_max_symbol_word_ratio")]
    pub max_symbol_word_ratio: Option<f64>,
    /// Maximum share of lines starting with `•` or `-`.
    #[serde(default = "d_max_bullet_lines_ratio")]
    pub max_bullet_lines_ratio: Option<f64>,
    /// Maximum share of lines ending with `...` or `…`.
    #[serde(default = "d_max_ellipsis_lines_ratio")]
    pub max_ellipsis_lines_ratio: Option<f64>,
    /// Minimum share of words with at least one alphabetic character (the option keeps the
    /// reference's name).
    #[serde(default = "d_max_non_alpha_words_ratio")]
    pub max_non_alpha_words_ratio: Option<f64>,
    /// Minimum number of distinct stop words present (case-sensitive).
    #[serde(default = "d_min_stop_words")]
    pub min_stop_words: Option<u64>,
    /// The stop words.
    #[serde(default = "d_stop_words")]
    pub stop_words: Vec<String>,
    /// Word splitter: `spacy_en` (the reference) or `whitespace`.
    #[serde(default)]
    pub words: WordSplitter,
    /// `drop` removes rejected documents; `annotate` keeps them and adds `<id>_reason`.
    #[serde(default)]
    pub mode: FilterMode,
}

fn d_min_doc_words() -> Option<u64> {
    Some(50)
}
fn d_max_doc_words() -> Option<u64> {
    Some(100_000)
}
fn d_min_avg_word_length() -> Option<f64> {
    Some(3.0)
}
fn d_max_avg_word_length() -> Option<f64> {
    Some(10.0)
}
fn d_max_symbol_word_ratio() -> Option<f64> {
    Some(0.1)
}
fn d_max_bullet_lines_ratio() -> Option<f64> {
    Some(0.9)
}
fn d_max_ellipsis_lines_ratio() -> Option<f64> {
    Some(0.3)
}
fn d_max_non_alpha_words_ratio() -> Option<f64> {
    Some(0.8)
}
fn d_min_stop_words() -> Option<u64> {
    Some(2)
}
fn d_stop_words() -> Vec<String> {
    STOP_WORDS.iter().map(|s| s.to_string()).collect()
}

impl Default for GopherQualityConfig {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({})).expect("defaults")
    }
}

impl StageBuilder for GopherQualityConfig {
    const NAME: &'static str = "gopher_quality";

    fn example() -> Self {
        Self::default()
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        self.words.prepare();
        crate::stage::require_string(&cx.input_schema, &self.column)?;
        Ok(BuiltStage::Filter(Box::new(GopherQuality::new(self.clone())), self.mode))
    }
}

/// The filter, usable directly on strings.
pub struct GopherQuality {
    cfg: GopherQualityConfig,
    stop_words: StopWords,
    /// Per byte: [`B_PUNCT`] (an ASCII `is_punctuation` character), [`B_ALPHA`] (an ASCII
    /// letter).
    byte_class: [u8; 256],
}

const B_PUNCT: u8 = 1;
const B_ALPHA: u8 = 2;

/// The stop words, matched case-sensitively; `at_least` counts the distinct ones among `words`.
struct StopWords {
    list: Vec<String>,
    set: HashSet<String>,
    /// Word lengths in bytes that some stop word has (bit k: length k, up to 63).
    lens: u64,
    /// Each stop word of up to 8 bytes packed into an integer with its length.
    packed: Vec<(u64, usize)>,
}

/// The bytes of a word of up to 8 bytes in one integer.
fn pack(w: &str) -> u64 {
    w.bytes().rev().fold(0u64, |k, c| k << 8 | u64::from(c))
}

impl StopWords {
    fn new(words: &[String]) -> Self {
        let set: HashSet<String> = words.iter().cloned().collect();
        let mut list: Vec<String> = set.iter().cloned().collect();
        list.sort();
        let lens = list.iter().fold(0u64, |m, w| m | 1u64.checked_shl(w.len() as u32).unwrap_or(0));
        let packed = list
            .iter()
            .map(|w| if w.len() <= 8 { (pack(w), w.len()) } else { (0, usize::MAX) })
            .collect();
        StopWords { list, set, lens, packed }
    }

    /// Whether at least `m` distinct stop words occur among `words` (the scan stops once they
    /// have).
    fn at_least(&self, words: Words<'_>, m: u64) -> bool {
        if self.list.len() > 64 || self.list.iter().any(|w| w.len() > 63) {
            let mut found: HashSet<&str> = HashSet::new();
            for w in words.iter() {
                if self.set.contains(w) && found.insert(w) && found.len() as u64 >= m {
                    return true;
                }
            }
            return found.len() as u64 >= m;
        }
        let mut mask = 0u64;
        for w in words.iter() {
            if u64::from(mask.count_ones()) >= m {
                return true;
            }
            if w.len() < 64
                && self.lens & (1 << w.len()) != 0
                && let Some(k) = if w.len() <= 8 {
                    let (p, len) = (pack(w), w.len());
                    self.packed.iter().position(|s| *s == (p, len))
                } else {
                    self.list.iter().position(|s| s == w)
                }
            {
                mask |= 1 << k;
            }
        }
        u64::from(mask.count_ones()) >= m
    }
}

/// Python `text.count("#")` and `text.count("...") + text.count("…")` (non-overlapping: a run
/// of k dots holds k / 3 of them).
fn symbol_counts(text: &str) -> (usize, usize) {
    let b = text.as_bytes();
    let hashes = b.iter().filter(|c| **c == b'#').count();
    // runs of dots, found by jumping from dot to dot
    let (mut ellipses, mut run, mut last) = (0usize, 0usize, usize::MAX);
    for at in memchr::memchr_iter(b'.', b) {
        if last.wrapping_add(1) == at {
            run += 1;
        } else {
            ellipses += run / 3;
            run = 1;
        }
        last = at;
    }
    ellipses += run / 3;
    ellipses += text.matches('…').count();
    (hashes, ellipses)
}

impl GopherQuality {
    /// Builds the filter.
    pub fn new(cfg: GopherQualityConfig) -> Self {
        let stop_words = StopWords::new(&cfg.stop_words);
        let byte_class = std::array::from_fn(|b| {
            let b = b as u8;
            if !b.is_ascii() {
                0
            } else if is_punctuation(char::from(b)) {
                B_PUNCT
            } else if b.is_ascii_alphabetic() {
                B_ALPHA
            } else {
                0
            }
        });
        GopherQuality { cfg, stop_words, byte_class }
    }

    /// The reason the reference gives for rejecting `text`, or `None` to keep it.
    pub fn decide(&self, text: &str) -> Option<&'static str> {
        self.cfg.words.with_words_vocab(text, |words, vocab| match vocab {
            Some(vocab) => self.decide_counted(
                text,
                words,
                vocab.iter().map(|&(first, count)| (words.get(first as usize), count)),
            ),
            None => self.decide_words(text, words),
        })
    }

    /// [`Self::decide`] with the words already split.
    pub fn decide_words(&self, text: &str, words: Words<'_>) -> Option<&'static str> {
        self.decide_counted(text, words, words.iter().map(|w| (w, 1)))
    }

    /// Over `(word, count)` pairs: the words with a non-punctuation character, their total
    /// length in code points, and the words with an alphabetic character.
    fn word_sums<'w>(&self, counted: impl Iterator<Item = (&'w str, u32)>) -> (u64, u64, usize) {
        let (mut n_non_symbol, mut non_symbol_chars, mut alpha) = (0u64, 0u64, 0usize);
        for (w, count) in counted {
            let (non_symbol, chars, is_alpha) = if w.is_ascii() {
                // both searches usually stop at the first byte
                let b = w.as_bytes();
                let class = |c: &u8| self.byte_class[usize::from(*c)];
                (
                    b.iter().any(|c| class(c) & B_PUNCT == 0),
                    b.len(),
                    b.iter().any(|c| class(c) & B_ALPHA != 0),
                )
            } else {
                // one pass; each property is looked up only until it is known
                let (mut non_symbol, mut chars, mut alpha) = (false, 0usize, false);
                for ch in w.chars() {
                    chars += 1;
                    non_symbol = non_symbol || !is_punctuation(ch);
                    alpha = alpha || is_py_alpha(ch);
                }
                (non_symbol, chars, alpha)
            };
            if non_symbol {
                n_non_symbol += u64::from(count);
                non_symbol_chars += chars as u64 * u64::from(count);
            }
            if is_alpha {
                alpha += count as usize;
            }
        }
        (n_non_symbol, non_symbol_chars, alpha)
    }

    /// [`Self::decide`] with the words already split, and listed again as `counted`: any
    /// list of (word, count) whose words, repeated count times, are `words` in any order
    /// (every word once, or each distinct word with its count).
    fn decide_counted<'w>(
        &self,
        text: &str,
        words: Words<'_>,
        counted: impl Iterator<Item = (&'w str, u32)>,
    ) -> Option<&'static str> {
        let c = &self.cfg;
        let n_words = words.len() as f64;
        let (n_non_symbol, non_symbol_chars, alpha) = self.word_sums(counted);
        if on_u(c.min_doc_words).is_some_and(|m| n_non_symbol < m) {
            return Some("gopher_short_doc");
        }
        if on_u(c.max_doc_words).is_some_and(|m| n_non_symbol > m) {
            return Some("gopher_long_doc");
        }
        // numpy's mean of an empty list is NaN, and every comparison with NaN is false.
        let avg = if n_non_symbol == 0 {
            f64::NAN
        } else {
            non_symbol_chars as f64 / n_non_symbol as f64
        };
        if on(c.min_avg_word_length).is_some_and(|m| avg < m) {
            return Some("gopher_below_avg_threshold");
        }
        if on(c.max_avg_word_length).is_some_and(|m| avg > m) {
            return Some("gopher_above_avg_threshold");
        }
        if let Some(m) = on(c.max_symbol_word_ratio) {
            let (hashes, ellipses) = symbol_counts(text);
            if hashes as f64 / n_words > m {
                return Some("gopher_too_many_hashes");
            }
            if ellipses as f64 / n_words > m {
                return Some("gopher_too_many_ellipsis");
            }
        }
        let (mut lines, mut bullets, mut ellipsis) = (0usize, 0usize, 0usize);
        for line in py_splitlines(text) {
            lines += 1;
            let l = py_lstrip(line);
            if l.starts_with('•') || l.starts_with('-') {
                bullets += 1;
            }
            let r = py_rstrip(line);
            if r.ends_with("...") || r.ends_with('…') {
                ellipsis += 1;
            }
        }
        if on(c.max_bullet_lines_ratio).is_some_and(|m| bullets as f64 / lines as f64 > m) {
            return Some("gopher_too_many_bullets");
        }
        if on(c.max_ellipsis_lines_ratio).is_some_and(|m| ellipsis as f64 / lines as f64 > m) {
            return Some("gopher_too_many_end_ellipsis");
        }
        if on(c.max_non_alpha_words_ratio).is_some_and(|m| (alpha as f64 / n_words) < m) {
            return Some("gopher_below_alpha_threshold");
        }
        if on_u(c.min_stop_words).is_some_and(|m| !self.stop_words.at_least(words, m)) {
            return Some("gopher_enough_stop_words");
        }
        None
    }
}

impl Filter for GopherQuality {
    fn reads(&self) -> Option<Vec<&str>> {
        Some(vec![self.cfg.column.as_str()])
    }

    fn evaluate(&self, batch: &RecordBatch, _: &BatchContext) -> Result<Verdict> {
        let col = string_column(batch, &self.cfg.column)?;
        Ok(Verdict::reasons(col.iter().map(|t| self.decide(t.unwrap_or(""))).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(text: &str) -> Option<&'static str> {
        GopherQuality::new(GopherQualityConfig::default()).decide(text)
    }

    fn prose(n: usize) -> String {
        "The farmer and the dog walk to the river with care. ".repeat(n)
    }

    #[test]
    fn symbol_counts_are_python_str_count() {
        let text = "a.. b... c.... d...... e……. #x## …...";
        let py = |sub: &str| text.matches(sub).count();
        assert_eq!(symbol_counts(text), (py("#"), py("...") + py("…")));
        assert_eq!(symbol_counts("......."), (0, 2));
    }

    #[test]
    fn short_long_and_good() {
        assert_eq!(decide("a few words only"), Some("gopher_short_doc"));
        assert_eq!(decide(&prose(10)), None);
    }

    #[test]
    fn stop_words_are_case_sensitive() {
        let text = "The Farmer And The Dog Walk To Rivers With Care Today. ".repeat(8);
        assert_eq!(decide(&text), Some("gopher_enough_stop_words"));
    }

    #[test]
    fn hashes_bullets_and_ellipsis() {
        assert_eq!(
            decide(&format!("{} {}", prose(10), "#".repeat(40))),
            Some("gopher_too_many_hashes")
        );
        let bullets = (0..60)
            .map(|_| "- the farmer and the dog walk to the river")
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(decide(&bullets), Some("gopher_too_many_bullets"));
        let ell = (0..60)
            .map(|_| "the farmer and the dog walk to the river…")
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(decide(&ell), Some("gopher_too_many_end_ellipsis"));
    }

    #[test]
    fn sums_over_distinct_words_equal_sums_over_every_word() {
        use crate::stage::quality::gopher_repetition::{GopherRepetition, GopherRepetitionConfig};
        let text = [
            "« Café » — the naïve farmer's dog, the river… and 3.50 $ for e-mail!",
            "Le garçon (qui?) a dit: «non». The farmer said \"no\" -- twice; ### ok.",
            "Zürich, Ærø and Σίσυφος walk to the river with care. ‘Quoted’ words 123.",
            "The farmer and the dog walk to the river with care, don't they?",
        ]
        .iter()
        .cycle()
        .take(40)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
        let f = GopherQuality::new(GopherQualityConfig::default());
        // the repetition filter keeps this text and leaves its distinct words in the cache
        let rep = GopherRepetition::new(GopherRepetitionConfig {
            dup_line_frac: None,
            dup_para_frac: None,
            dup_line_char_frac: None,
            dup_para_char_frac: None,
            top_n_grams: vec![(2, 1.0)],
            dup_n_grams: vec![(5, 1.0)],
            ..GopherRepetitionConfig::default()
        });
        assert_eq!(rep.decide(&text), None);
        WordSplitter::SpacyEn.with_words_vocab(&text, |words, vocab| {
            let vocab = vocab.expect("the repetition filter remembered the distinct words");
            assert!(vocab.len() < words.len() / 4);
            assert_eq!(vocab.iter().map(|v| v.1 as usize).sum::<usize>(), words.len());
            let distinct = vocab.iter().map(|&(first, n)| (words.get(first as usize), n));
            let every = f.word_sums(words.iter().map(|w| (w, 1)));
            assert!(every.0 > 0 && every.2 > 0 && every.0 as usize != every.2);
            assert_eq!(f.word_sums(distinct), every);
        });
        assert_eq!(
            f.decide(&text),
            WordSplitter::SpacyEn.with_words(&text, |w| f.decide_words(&text, w))
        );
    }

    #[test]
    fn python_splitlines_breaks_on_form_feed() {
        let text =
            (0..30).map(|_| "- the farmer and the dog walk").collect::<Vec<_>>().join("\x0c");
        assert_eq!(decide(&text), Some("gopher_too_many_bullets"));
    }
}
