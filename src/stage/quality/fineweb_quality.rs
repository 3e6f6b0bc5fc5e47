//! `fineweb_quality`: datatrove's `FineWebQualityFilter` (FineWeb, Penedo et al. 2024): share of
//! lines ending in terminal punctuation, share of short lines, duplicated line characters, and
//! newlines per word.

use arrow::array::RecordBatch;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::WordSplitter;
use super::constants::is_terminal_punctuation;
use crate::error::Result;
use crate::stage::{
    BatchContext, BuildContext, BuiltStage, Filter, FilterMode, StageBuilder, Verdict,
    string_column,
};
use crate::text::fxhash::FxSet;
use crate::text::pystr::py_strip;

/// FineWeb quality filter, as datatrove 0.10.1 defines it (defaults included). Reasons:
/// `empty`, `line_punct_ratio`, `short_line_ratio`, `char_dup_ratio`, `list_ratio`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FinewebQualityConfig {
    /// Column to check.
    #[serde(default = "crate::stage::normalize::default_column")]
    pub column: String,
    /// Minimum share of non-blank lines (split on `\n`) ending in terminal punctuation.
    #[serde(default = "d_line_punct_thr")]
    pub line_punct_thr: f64,
    /// Skip the punctuation check when no line ends in terminal punctuation.
    #[serde(default)]
    pub line_punct_exclude_zero: bool,
    /// Maximum share of lines of at most `short_line_length` characters.
    #[serde(default = "d_short_line_thr")]
    pub short_line_thr: f64,
    /// What counts as a short line, in characters.
    #[serde(default = "d_short_line_length")]
    pub short_line_length: u64,
    /// Maximum characters of repeated lines over the characters of the text without `\n`.
    #[serde(default = "d_char_duplicates_ratio")]
    pub char_duplicates_ratio: f64,
    /// Maximum newlines per word.
    #[serde(default = "d_new_line_ratio")]
    pub new_line_ratio: f64,
    /// Word splitter: `spacy_en` (the reference) or `whitespace`.
    #[serde(default)]
    pub words: WordSplitter,
    /// `drop` removes rejected documents; `annotate` keeps them and adds `<id>_reason`.
    #[serde(default)]
    pub mode: FilterMode,
}

fn d_line_punct_thr() -> f64 {
    0.12
}
fn d_short_line_thr() -> f64 {
    0.67
}
fn d_short_line_length() -> u64 {
    30
}
fn d_char_duplicates_ratio() -> f64 {
    0.01
}
fn d_new_line_ratio() -> f64 {
    0.3
}

impl Default for FinewebQualityConfig {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({})).expect("defaults")
    }
}

impl StageBuilder for FinewebQualityConfig {
    const NAME: &'static str = "fineweb_quality";

    fn example() -> Self {
        Self::default()
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        self.words.prepare();
        crate::stage::require_string(&cx.input_schema, &self.column)?;
        Ok(BuiltStage::Filter(Box::new(FinewebQuality(self.clone())), self.mode))
    }
}

/// The filter, usable directly on strings.
pub struct FinewebQuality(pub FinewebQualityConfig);

impl FinewebQuality {
    /// The reason the reference gives for rejecting `text`, or `None` to keep it.
    pub fn decide(&self, text: &str) -> Option<&'static str> {
        let c = &self.0;
        // one pass over the stripped-nonempty lines gathers every line statistic
        let mut seen: FxSet<&str> = FxSet::default();
        let (mut lines, mut punct, mut short, mut dup_chars) = (0usize, 0usize, 0usize, 0usize);
        for line in text.split('\n') {
            if py_strip(line).is_empty() {
                continue;
            }
            lines += 1;
            punct += usize::from(line.chars().next_back().is_some_and(is_terminal_punctuation));
            let chars = if line.is_ascii() { line.len() } else { line.chars().count() };
            short += usize::from(chars as u64 <= c.short_line_length);
            if !seen.insert(line) {
                dup_chars += chars;
            }
        }
        if lines == 0 {
            return Some("empty");
        }
        let n = lines as f64;
        let punct = punct as f64 / n;
        if punct < c.line_punct_thr && !(punct == 0.0 && c.line_punct_exclude_zero) {
            return Some("line_punct_ratio");
        }
        if short as f64 / n > c.short_line_thr {
            return Some("short_line_ratio");
        }
        let newlines = text.bytes().filter(|b| *b == b'\n').count();
        let non_newline = (text.chars().count() - newlines) as f64;
        if dup_chars as f64 / non_newline > c.char_duplicates_ratio {
            return Some("char_dup_ratio");
        }
        let words = c.words.count(text) as f64;
        if newlines as f64 / words > c.new_line_ratio {
            return Some("list_ratio");
        }
        None
    }
}

impl Filter for FinewebQuality {
    fn reads(&self) -> Option<Vec<&str>> {
        Some(vec![self.0.column.as_str()])
    }

    fn evaluate(&self, batch: &RecordBatch, _: &BatchContext) -> Result<Verdict> {
        let col = string_column(batch, &self.0.column)?;
        Ok(Verdict::reasons(col.iter().map(|t| self.decide(t.unwrap_or(""))).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(text: &str) -> Option<&'static str> {
        FinewebQuality(FinewebQualityConfig::default()).decide(text)
    }

    #[test]
    fn reasons_in_order() {
        assert_eq!(decide(" \n\t\n"), Some("empty"));
        assert_eq!(
            decide("no punctuation here at all in this line\nnor here in this other line"),
            Some("line_punct_ratio")
        );
        assert_eq!(
            decide("Short.\nAlso short.\nTiny.\nA much longer line that ends with a period."),
            Some("short_line_ratio")
        );
        let dup = "This line is repeated many times over and over.\n".repeat(3);
        assert_eq!(decide(&dup), Some("char_dup_ratio"));
        let list = (0..20)
            .map(|i| format!("Supercalifragilisticexpialidocious{i}."))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(decide(&list), Some("list_ratio"));
        assert_eq!(
            decide("A normal paragraph of text that ends properly and is long enough to pass."),
            None
        );
    }
}
