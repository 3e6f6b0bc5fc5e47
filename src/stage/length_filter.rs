//! `length_filter`: keeps documents whose length in characters, words or lines lies within
//! the given bounds (all inclusive; a bound left out does not apply).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    BatchContext, BuildContext, BuiltStage, Filter, FilterMode, StageBuilder, Verdict,
    string_column,
};
use crate::error::Result;

/// Keeps documents whose length is within bounds. Characters are Unicode scalar values,
/// words are runs of non-whitespace, lines are `\n`-separated (a final line without `\n`
/// counts).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LengthFilterConfig {
    /// Column to measure.
    #[serde(default = "super::normalize::default_column")]
    pub column: String,
    /// Minimum number of characters (reason `too_few_chars`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_chars: Option<u64>,
    /// Maximum number of characters (reason `too_many_chars`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chars: Option<u64>,
    /// Minimum number of whitespace-separated words (reason `too_few_words`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_words: Option<u64>,
    /// Maximum number of words (reason `too_many_words`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_words: Option<u64>,
    /// Minimum number of lines (reason `too_few_lines`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_lines: Option<u64>,
    /// Maximum number of lines (reason `too_many_lines`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lines: Option<u64>,
    /// `drop` removes rejected documents; `annotate` keeps them and adds `<id>_reason`.
    #[serde(default)]
    pub mode: FilterMode,
}

impl StageBuilder for LengthFilterConfig {
    const NAME: &'static str = "length_filter";

    fn example() -> Self {
        LengthFilterConfig {
            column: "text".into(),
            min_chars: Some(200),
            max_words: Some(100_000),
            ..Default::default()
        }
    }

    fn check(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (what, lo, hi) in [
            ("chars", self.min_chars, self.max_chars),
            ("words", self.min_words, self.max_words),
            ("lines", self.min_lines, self.max_lines),
        ] {
            if let (Some(lo), Some(hi)) = (lo, hi)
                && lo > hi
            {
                out.push(format!("min_{what} ({lo}) is greater than max_{what} ({hi})"));
            }
        }
        if [
            self.min_chars,
            self.max_chars,
            self.min_words,
            self.max_words,
            self.min_lines,
            self.max_lines,
        ]
        .iter()
        .all(Option::is_none)
        {
            out.push("set at least one bound (min_chars, max_chars, min_words, ...)".into());
        }
        out
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        super::require_string(&cx.input_schema, &self.column)?;
        Ok(BuiltStage::Filter(Box::new(LengthFilter(self.clone())), self.mode))
    }
}

struct LengthFilter(LengthFilterConfig);

fn out_of(
    n: u64,
    lo: Option<u64>,
    hi: Option<u64>,
    few: &'static str,
    many: &'static str,
) -> Option<&'static str> {
    if lo.is_some_and(|lo| n < lo) {
        Some(few)
    } else if hi.is_some_and(|hi| n > hi) {
        Some(many)
    } else {
        None
    }
}

impl LengthFilter {
    fn decide(&self, text: &str) -> Option<&'static str> {
        let c = &self.0;
        if c.min_chars.is_some() || c.max_chars.is_some() {
            let n = text.chars().count() as u64;
            if let Some(r) = out_of(n, c.min_chars, c.max_chars, "too_few_chars", "too_many_chars")
            {
                return Some(r);
            }
        }
        if c.min_words.is_some() || c.max_words.is_some() {
            let n = text.split_whitespace().count() as u64;
            if let Some(r) = out_of(n, c.min_words, c.max_words, "too_few_words", "too_many_words")
            {
                return Some(r);
            }
        }
        if c.min_lines.is_some() || c.max_lines.is_some() {
            let n = if text.is_empty() { 0 } else { text.lines().count() as u64 };
            if let Some(r) = out_of(n, c.min_lines, c.max_lines, "too_few_lines", "too_many_lines")
            {
                return Some(r);
            }
        }
        None
    }
}

impl Filter for LengthFilter {
    fn reads(&self) -> Option<Vec<&str>> {
        Some(vec![self.0.column.as_str()])
    }

    fn evaluate(&self, batch: &arrow::array::RecordBatch, _: &BatchContext) -> Result<Verdict> {
        let col = string_column(batch, &self.0.column)?;
        Ok(Verdict::reasons(col.iter().map(|t| self.decide(t.unwrap_or(""))).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::test_util::filter_reasons;

    #[test]
    fn bounds_are_inclusive_and_reasons_named() {
        let c = LengthFilterConfig {
            column: "text".into(),
            min_chars: Some(3),
            max_chars: Some(5),
            ..Default::default()
        };
        assert_eq!(
            filter_reasons(&c, &["ab", "abc", "ééééé", "abcdef"]),
            vec![Some("too_few_chars"), None, None, Some("too_many_chars")]
        );
    }

    #[test]
    fn words_and_lines() {
        let c = LengthFilterConfig {
            column: "text".into(),
            min_words: Some(2),
            max_lines: Some(2),
            ..Default::default()
        };
        assert_eq!(
            filter_reasons(&c, &["one", "one two", "a b\nc\nd"]),
            vec![Some("too_few_words"), None, Some("too_many_lines")]
        );
    }

    #[test]
    fn check_rejects_inverted_bounds() {
        let c = LengthFilterConfig { min_chars: Some(5), max_chars: Some(1), ..Default::default() };
        assert_eq!(c.check().len(), 1);
    }
}
