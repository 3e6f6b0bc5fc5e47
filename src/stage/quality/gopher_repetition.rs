//! `gopher_repetition`: datatrove's `GopherRepetitionFilter` (Gopher, Rae et al. 2021):
//! duplicated paragraphs and lines, the most frequent 2–4-grams, and duplicated 5–10-grams.

use arrow::array::RecordBatch;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ngrams::WordTable;
use super::{WordSplitter, find_duplicates, on};
use crate::error::Result;
use crate::stage::{
    BatchContext, BuildContext, BuiltStage, Filter, FilterMode, StageBuilder, Verdict,
    string_column,
};
use crate::text::pystr::py_strip;

/// Gopher repetition filter, as datatrove 0.10.1 defines it (defaults included). Reasons:
/// `empty`, `dup_para_frac`, `dup_para_char_frac`, `dup_line_frac`, `dup_line_char_frac`,
/// `top_{n}_gram`, `duplicated_{n}_n_grams`. A threshold set to `null` or 0 disables its
/// check.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GopherRepetitionConfig {
    /// Column to check.
    #[serde(default = "crate::stage::normalize::default_column")]
    pub column: String,
    /// Maximum share of lines (split on runs of `\n`, unstripped) that repeat an earlier line.
    #[serde(default = "d_dup_line_frac")]
    pub dup_line_frac: Option<f64>,
    /// Maximum share of paragraphs (split on 2+ `\n` of the stripped text) that repeat.
    #[serde(default = "d_dup_para_frac")]
    pub dup_para_frac: Option<f64>,
    /// Maximum characters in repeated lines over the document's characters.
    #[serde(default = "d_dup_line_char_frac")]
    pub dup_line_char_frac: Option<f64>,
    /// Maximum characters in repeated paragraphs over the document's characters.
    #[serde(default = "d_dup_para_char_frac")]
    pub dup_para_char_frac: Option<f64>,
    /// `[n, max_fraction]` pairs: the most frequent n-gram (words joined by spaces), times its
    /// count, over the document's characters.
    #[serde(default = "d_top_n_grams")]
    pub top_n_grams: Vec<(usize, f64)>,
    /// `[n, max_fraction]` pairs: characters of n-grams (words joined without separator) that
    /// repeat an earlier one, over the document's characters.
    #[serde(default = "d_dup_n_grams")]
    pub dup_n_grams: Vec<(usize, f64)>,
    /// Word splitter: `spacy_en` (the reference) or `whitespace`.
    #[serde(default)]
    pub words: WordSplitter,
    /// `drop` removes rejected documents; `annotate` keeps them and adds `<id>_reason`.
    #[serde(default)]
    pub mode: FilterMode,
}

fn d_dup_line_frac() -> Option<f64> {
    Some(0.3)
}
fn d_dup_para_frac() -> Option<f64> {
    Some(0.3)
}
fn d_dup_line_char_frac() -> Option<f64> {
    Some(0.2)
}
fn d_dup_para_char_frac() -> Option<f64> {
    Some(0.2)
}
fn d_top_n_grams() -> Vec<(usize, f64)> {
    vec![(2, 0.2), (3, 0.18), (4, 0.16)]
}
fn d_dup_n_grams() -> Vec<(usize, f64)> {
    vec![(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)]
}

impl Default for GopherRepetitionConfig {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({})).expect("defaults")
    }
}

impl StageBuilder for GopherRepetitionConfig {
    const NAME: &'static str = "gopher_repetition";

    fn example() -> Self {
        Self::default()
    }

    fn check(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (n, _) in self.top_n_grams.iter().chain(&self.dup_n_grams) {
            if !(1..=64).contains(n) {
                out.push(format!("n-gram size {n} is out of range 1..=64"));
            }
        }
        out
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        self.words.prepare();
        crate::stage::require_string(&cx.input_schema, &self.column)?;
        Ok(BuiltStage::Filter(Box::new(GopherRepetition::new(self.clone())), self.mode))
    }
}

/// The filter, usable directly on strings.
pub struct GopherRepetition {
    cfg: GopherRepetitionConfig,
    top_reasons: Vec<&'static str>,
    dup_reasons: Vec<&'static str>,
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Python `re.split(r"\n{min,}", text)`.
fn split_runs(text: &str, min: usize) -> impl Iterator<Item = &str> {
    let b = text.as_bytes();
    let mut start = Some(0);
    let mut from = 0;
    std::iter::from_fn(move || {
        let s = start?;
        loop {
            let Some(k) = memchr::memchr(b'\n', &b[from..]) else {
                start = None;
                return Some(&text[s..]);
            };
            let i = from + k;
            let j = i + b[i..].iter().take_while(|c| **c == b'\n').count();
            from = j;
            if j - i >= min {
                start = Some(j);
                return Some(&text[s..i]);
            }
        }
    })
}

impl GopherRepetition {
    /// Builds the filter; reason strings are made once.
    pub fn new(cfg: GopherRepetitionConfig) -> Self {
        let top_reasons =
            cfg.top_n_grams.iter().map(|(n, _)| leak(format!("top_{n}_gram"))).collect();
        let dup_reasons =
            cfg.dup_n_grams.iter().map(|(n, _)| leak(format!("duplicated_{n}_n_grams"))).collect();
        GopherRepetition { cfg, top_reasons, dup_reasons }
    }

    /// The reason the reference gives for rejecting `text`, or `None` to keep it.
    pub fn decide(&self, text: &str) -> Option<&'static str> {
        let c = &self.cfg;
        if text.is_empty() {
            return Some("empty");
        }
        let text_len = text.chars().count() as f64;
        // at most one line per newline (and paragraphs are fewer)
        let lines = memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1;
        let (n, dup, chars) = find_duplicates(split_runs(py_strip(text), 2), lines / 4);
        if on(c.dup_para_frac).is_some_and(|t| dup as f64 / n as f64 > t) {
            return Some("dup_para_frac");
        }
        if on(c.dup_para_char_frac).is_some_and(|t| chars as f64 / text_len > t) {
            return Some("dup_para_char_frac");
        }
        let (n, dup, chars) = find_duplicates(split_runs(text, 1), lines);
        if on(c.dup_line_frac).is_some_and(|t| dup as f64 / n as f64 > t) {
            return Some("dup_line_frac");
        }
        if on(c.dup_line_char_frac).is_some_and(|t| chars as f64 / text_len > t) {
            return Some("dup_line_char_frac");
        }
        c.words.with_words(text, |words| {
            let table = WordTable::new(words);
            let reason = self.decide_ngrams(&table, text_len);
            if reason.is_none() {
                // the next filter (Gopher quality) sums over the distinct words
                c.words.remember_vocab(text, || table.vocab());
            }
            reason
        })
    }

    /// The top and duplicated n-gram checks, in the reference's order.
    fn decide_ngrams(&self, table: &WordTable<'_>, text_len: f64) -> Option<&'static str> {
        let c = &self.cfg;
        for ((n, frac), reason) in c.top_n_grams.iter().zip(&self.top_reasons) {
            // a bound at or under the threshold decides without counting
            if table.top_duplicate_bound(*n).is_some_and(|b| b as f64 / text_len <= *frac) {
                continue;
            }
            if let Some(top) = table.top_duplicate_chars(*n)
                && top as f64 / text_len > *frac
            {
                return Some(*reason);
            }
        }
        for ((n, frac), reason) in c.dup_n_grams.iter().zip(&self.dup_reasons) {
            if table.all_duplicate_chars(*n) as f64 / text_len > *frac {
                return Some(*reason);
            }
        }
        None
    }
}

impl Filter for GopherRepetition {
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
        GopherRepetition::new(GopherRepetitionConfig::default()).decide(text)
    }

    #[test]
    fn splits_like_python_re_split() {
        let split = |t, min| split_runs(t, min).collect::<Vec<_>>();
        assert_eq!(split("\na\n\nb\n", 1), vec!["", "a", "b", ""]);
        assert_eq!(split("a\nb\n\n\nc", 2), vec!["a\nb", "c"]);
        assert_eq!(split("a\nb\n\n\nc", 4), vec!["a\nb\n\n\nc"]);
        assert_eq!(split("", 1), vec![""]);
        assert_eq!(split("\n\n", 2), vec!["", ""]);
    }

    #[test]
    fn crlf_blank_lines_count_as_duplicates() {
        let para = "This is a perfectly ordinary sentence about gardens and weather today.";
        let text =
            (0..6).map(|i| format!("{para} Number {i}.")).collect::<Vec<_>>().join("\r\n\r\n");
        assert_eq!(decide(&text), Some("dup_line_frac"));
    }

    #[test]
    fn repeated_paragraphs_and_short_docs() {
        assert_eq!(decide("same para\n\nsame para\n\nsame para\n\nother"), Some("dup_para_frac"));
        assert_eq!(decide("hello world"), Some("top_2_gram"));
    }
}
