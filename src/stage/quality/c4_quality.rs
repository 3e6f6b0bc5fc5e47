//! `c4_quality`: datatrove's `C4QualityFilter` (C4, Raffel et al. 2020). Works line by line:
//! drops lines without terminal punctuation, short lines, lines with "javascript" or policy
//! notices, removes citation markers, rejects documents with "lorem ipsum" or `{`, or fewer
//! than five sentences, and rewrites the text to the kept lines.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringBuilder};
use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::constants::{C4_CITATION_REGEX, C4_END_PUNCTUATION, C4_POLICY_SUBSTRINGS};
use super::{Spans, WordSplitter, en_tokenizer, span};
use crate::error::Result;
use crate::stage::{
    BatchContext, BuildContext, BuiltStage, Filter, FilterMode, StageBuilder, Verdict,
    string_column,
};
use crate::text::EnTokenizer;
use crate::text::pystr::{is_py_space_ascii, py_split_whitespace, py_splitlines, py_strip};

/// C4 quality filter, as datatrove 0.10.1 defines it (defaults included). Reasons:
/// `lorem_ipsum`, `curly_bracket`, `too_few_sentences`. Kept documents get the rewritten text
/// (kept lines joined by `\n`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct C4QualityConfig {
    /// Column to check and rewrite.
    #[serde(default = "crate::stage::normalize::default_column")]
    pub column: String,
    /// Count sentences per line with the English sentencizer (otherwise each kept line counts
    /// as one) and join kept lines with `\n` (otherwise with a space).
    #[serde(default = "yes")]
    pub split_paragraph: bool,
    /// Remove `[1]`, `[edit]` and `[citation needed]` markers.
    #[serde(default = "yes")]
    pub remove_citations: bool,
    /// Drop lines that do not end in `.`, `?`, `!`, `"` or `'`, or that end in `...`.
    #[serde(default = "yes")]
    pub filter_no_terminal_punct: bool,
    /// Minimum number of sentences in the kept lines (-1 disables).
    #[serde(default = "d_min_num_sentences")]
    pub min_num_sentences: i64,
    /// Minimum number of whitespace-separated words per line.
    #[serde(default = "d_min_words_per_line")]
    pub min_words_per_line: u64,
    /// Drop lines with a word longer than this (-1 disables).
    #[serde(default = "d_max_word_length")]
    pub max_word_length: i64,
    /// Reject documents with "lorem ipsum" in a kept line.
    #[serde(default = "yes")]
    pub filter_lorem_ipsum: bool,
    /// Drop lines that mention "javascript".
    #[serde(default = "yes")]
    pub filter_javascript: bool,
    /// Reject documents with `{` in a kept line.
    #[serde(default = "yes")]
    pub filter_curly_bracket: bool,
    /// Drop lines with terms-of-use, privacy or cookie notices.
    #[serde(default = "yes")]
    pub filter_policy: bool,
    /// `drop` removes rejected documents; `annotate` keeps them and adds `<id>_reason`.
    #[serde(default)]
    pub mode: FilterMode,
}

fn yes() -> bool {
    true
}
fn d_min_num_sentences() -> i64 {
    5
}
fn d_min_words_per_line() -> u64 {
    3
}
fn d_max_word_length() -> i64 {
    1000
}

impl Default for C4QualityConfig {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({})).expect("defaults")
    }
}

impl StageBuilder for C4QualityConfig {
    const NAME: &'static str = "c4_quality";

    fn example() -> Self {
        Self::default()
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        super::prepare_en_tokenizer();
        crate::stage::require_string(&cx.input_schema, &self.column)?;
        Ok(BuiltStage::Filter(Box::new(C4Quality::new(self.clone())), self.mode))
    }
}

/// The filter, usable directly on strings.
pub struct C4Quality {
    cfg: C4QualityConfig,
    citation: Regex,
    /// Any of the lower-case substrings the checks look for: most lines match none, and one
    /// search replaces eight.
    needles: Regex,
}

/// The outcome for one document.
pub enum C4Outcome {
    /// Kept, with its rewritten text.
    Keep(String),
    /// Rejected, with the reason.
    Reject(&'static str),
}

impl C4Quality {
    /// Builds the filter.
    pub fn new(cfg: C4QualityConfig) -> Self {
        let needles = ["lorem ipsum", "javascript"].iter().chain(C4_POLICY_SUBSTRINGS);
        let needles = needles.map(|s| regex::escape(s)).collect::<Vec<_>>().join("|");
        C4Quality {
            cfg,
            citation: Regex::new(C4_CITATION_REGEX).expect("valid citation regex"),
            needles: Regex::new(&needles).expect("valid literal alternation"),
        }
    }

    /// Applies the filter to one text.
    pub fn apply(&self, text: &str) -> C4Outcome {
        let c = &self.cfg;
        let mut cursor = 0usize;
        // The text's tokens (usually cached by the Gopher filters before this one), fetched at
        // the first kept line: they give each kept line's sentences and words without
        // tokenizing the line again.
        let mut toks: Option<Option<Spans>> = None;
        let mut sentences: i64 = 0;
        let mut kept: Vec<Cow<str>> = Vec::new();
        // spaCy words of the kept lines, counted while splitting sentences
        let counting = c.min_num_sentences != -1 && c.split_paragraph;
        let mut words_kept = 0usize;
        let mut lower = String::new();
        for line in py_splitlines(text) {
            let line = py_strip(line);
            // `len(line.split())` and whether a word is longer than `max_word_length`; no word
            // is longer than its line, so short lines skip that check
            let long_line = c.max_word_length != -1 && line.len() as i64 > c.max_word_length;
            let (mut n_words, mut too_long) = (0u64, false);
            if line.is_ascii() && !long_line {
                let mut after_space = true;
                for &b in line.as_bytes() {
                    let space = is_py_space_ascii(b);
                    n_words += u64::from(after_space && !space);
                    after_space = space;
                }
            } else {
                for w in py_split_whitespace(line) {
                    n_words += 1;
                    too_long |= long_line
                        && w.len() as i64 > c.max_word_length
                        && w.chars().count() as i64 > c.max_word_length;
                }
            }
            if too_long {
                continue;
            }
            let line: Cow<str> = if c.remove_citations && line.contains('[') {
                self.citation.replace_all(line, "")
            } else {
                line.into()
            };
            if c.filter_no_terminal_punct
                && (!line.ends_with(C4_END_PUNCTUATION) || line.ends_with("..."))
            {
                continue;
            }
            if n_words < c.min_words_per_line {
                continue;
            }
            // Python `line.lower()`, only searched for ASCII needles: apart from U+0130 and
            // U+212A (which lower-case to ASCII letters), non-ASCII characters lower-case to
            // non-ASCII ones, so lower-casing the ASCII bytes finds the same needles.
            lower.clear();
            if !line.is_ascii() && (line.contains('\u{130}') || line.contains('\u{212A}')) {
                lower.push_str(&line.to_lowercase());
            } else {
                lower.push_str(&line);
                lower.make_ascii_lowercase();
            }
            let any = self.needles.is_match(&lower);
            if c.filter_lorem_ipsum && any && lower.contains("lorem ipsum") {
                return C4Outcome::Reject("lorem_ipsum");
            }
            if c.filter_javascript && any && lower.contains("javascript") {
                continue;
            }
            if c.filter_curly_bracket && line.contains('{') {
                return C4Outcome::Reject("curly_bracket");
            }
            if c.filter_policy && any && C4_POLICY_SUBSTRINGS.iter().any(|p| lower.contains(p)) {
                continue;
            }
            if c.min_num_sentences != -1 {
                sentences += if c.split_paragraph {
                    let toks =
                        toks.get_or_insert_with(|| WordSplitter::SpacyEn.cached_tokens(text));
                    let (s, w) = match (toks.as_deref(), &line) {
                        (Some(toks), Cow::Borrowed(part)) => {
                            line_counts(text, part, toks, &mut cursor)
                        }
                        _ => en_tokenizer().sentence_and_word_count(&line),
                    };
                    words_kept += w;
                    s as i64
                } else {
                    1
                };
            }
            kept.push(line);
        }
        if sentences < c.min_num_sentences {
            return C4Outcome::Reject("too_few_sentences");
        }
        let joined = kept.join(if c.split_paragraph { "\n" } else { " " });
        // kept lines are stripped, but citation removal may leave whitespace at an end
        let out = match py_strip(&joined) {
            s if s.len() == joined.len() => joined,
            s => s.to_string(),
        };
        if counting {
            super::remember_word_count(&out, words_kept);
        }
        C4Outcome::Keep(out)
    }
}

/// Sentences and words of `part`, a stripped line of `text` (so whitespace or the text's ends
/// surround it), from the tokens of `text` that lie inside it; `cursor` moves forward over
/// `toks` as the lines go.
fn line_counts(text: &str, part: &str, toks: &[(u32, u32)], cursor: &mut usize) -> (usize, usize) {
    let a = part.as_ptr() as usize - text.as_ptr() as usize;
    let b = a + part.len();
    while *cursor < toks.len() && (toks[*cursor].0 as usize) < a {
        *cursor += 1;
    }
    let mut end = *cursor;
    while end < toks.len() && (toks[end].0 as usize) < b {
        end += 1;
    }
    let inside = || toks[*cursor..end].iter().map(|t| span(*t));
    let words = inside().filter(|t| !t.2).count();
    (EnTokenizer::sentence_count_of(text, inside()), words)
}

impl Filter for C4Quality {
    fn reads(&self) -> Option<Vec<&str>> {
        Some(vec![self.cfg.column.as_str()])
    }

    fn evaluate(&self, batch: &RecordBatch, _: &BatchContext) -> Result<Verdict> {
        let col = string_column(batch, &self.cfg.column)?;
        let mut reasons = Vec::with_capacity(col.len());
        let mut out = StringBuilder::with_capacity(col.len(), col.value_data().len());
        for i in 0..col.len() {
            if col.is_null(i) {
                reasons.push(None);
                out.append_null();
                continue;
            }
            let text = col.value(i);
            match self.apply(text) {
                C4Outcome::Keep(t) => {
                    reasons.push(None);
                    out.append_value(t);
                }
                C4Outcome::Reject(r) => {
                    reasons.push(Some(r));
                    out.append_value(text);
                }
            }
        }
        let new_text = (self.cfg.column == crate::stage::TEXT).then(|| Arc::new(out.finish()) as _);
        Ok(Verdict { reasons, new_text, annotations: Vec::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str) -> std::result::Result<String, &'static str> {
        match C4Quality::new(C4QualityConfig::default()).apply(text) {
            C4Outcome::Keep(t) => Ok(t),
            C4Outcome::Reject(r) => Err(r),
        }
    }

    #[test]
    fn keeps_punctuated_lines_and_rewrites() {
        let text = "Menu\nThe river runs past the old mill. It is cold.\nClick the button\nWe walked along the bank. The sun was low. Birds sang.\nPlease enable JavaScript to view this site.\nAll rights reserved. Our privacy policy applies.\nThe end came at last[1].";
        assert_eq!(
            apply(text).unwrap(),
            "The river runs past the old mill. It is cold.\nWe walked along the bank. The sun was low. Birds sang.\nThe end came at last."
        );
    }

    #[test]
    fn line_counts_from_the_text_tokens_equal_tokenizing_each_line() {
        let tricky = "  Dr. Smith paid $3.50.\u{a0} It's   fine :) \r\n\tNext line: e.g. this.\x0bOne\u{2028}two. \n\n";
        let mut texts = vec![tricky.to_string()];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/corpora");
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                for e in entries.flatten() {
                    let f = std::fs::File::open(e.path()).unwrap();
                    let r = std::io::BufReader::new(zstd::Decoder::new(f).unwrap());
                    for line in std::io::BufRead::lines(r) {
                        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
                        if let Some(t) = v.get("text").and_then(|t| t.as_str()) {
                            texts.push(t.to_string());
                        }
                    }
                }
            }
            Err(e) => eprintln!("skipping the corpora ({}: {e})", dir.display()),
        }
        let en = en_tokenizer();
        let mut lines = 0;
        for text in &texts {
            let toks = WordSplitter::SpacyEn.cached_tokens(text).unwrap();
            let mut cursor = 0;
            for line in py_splitlines(text) {
                let part = py_strip(line);
                if part.is_empty() {
                    continue;
                }
                lines += 1;
                let got = line_counts(text, part, &toks, &mut cursor);
                assert_eq!(got, en.sentence_and_word_count(part), "{part:?}");
            }
        }
        assert!(lines > 3);
    }

    #[test]
    fn lower_cases_like_python_for_the_needles() {
        // U+212A (Kelvin sign) lower-cases to "k": the line mentions "uses cookies"
        let text = "We walked far. The sun was low.\nThis site uses COO\u{212A}IES, sadly.\nBirds sang. It rained. We slept.\nÉtienne wrote JAVASCRIPT today.";
        assert_eq!(
            apply(text).unwrap(),
            "We walked far. The sun was low.\nBirds sang. It rained. We slept."
        );
    }

    #[test]
    fn document_level_rejections() {
        assert_eq!(apply("Lorem ipsum dolor sit amet, consectetur."), Err("lorem_ipsum"));
        assert_eq!(apply("function f() { return 1; } is fine code."), Err("curly_bracket"));
        assert_eq!(apply("Only one sentence here, friend."), Err("too_few_sentences"));
    }
}
