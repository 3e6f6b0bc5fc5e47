//! `regex_filter`: drops documents that match a regular expression (or, with
//! `keep_matching: true`, those that do not).

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    BatchContext, BuildContext, BuiltStage, Filter, FilterMode, StageBuilder, Verdict,
    string_column,
};
use crate::error::{Error, Result};

/// Drops documents whose column matches `pattern` (Rust `regex` syntax; `(?i)` for
/// case-insensitive, `(?m)` for per-line anchors). Reason `regex_match`, or
/// `regex_no_match` with `keep_matching`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegexFilterConfig {
    /// Column to search.
    #[serde(default = "super::normalize::default_column")]
    pub column: String,
    /// The regular expression.
    pub pattern: String,
    /// Keep only documents that match, instead of dropping them.
    #[serde(default)]
    pub keep_matching: bool,
    /// Minimum number of (non-overlapping) matches for a document to count as matching.
    #[serde(default = "one")]
    pub min_matches: u64,
    /// `drop` removes rejected documents; `annotate` keeps them and adds `<id>_reason`.
    #[serde(default)]
    pub mode: FilterMode,
}

fn one() -> u64 {
    1
}

pub(crate) fn compile(pattern: &str) -> Result<Regex> {
    regex::RegexBuilder::new(pattern)
        .size_limit(64 << 20)
        .build()
        .map_err(|e| Error::Invalid(format!("invalid regular expression `{pattern}`: {e}")))
}

impl StageBuilder for RegexFilterConfig {
    const NAME: &'static str = "regex_filter";

    fn example() -> Self {
        RegexFilterConfig {
            column: "text".into(),
            pattern: r"(?i)lorem ipsum|click here to (subscribe|buy)".into(),
            keep_matching: false,
            min_matches: 1,
            mode: FilterMode::Drop,
        }
    }

    fn check(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Err(e) = compile(&self.pattern) {
            out.push(e.to_string());
        }
        if self.min_matches == 0 {
            out.push("min_matches must be at least 1".into());
        }
        out
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        super::require_string(&cx.input_schema, &self.column)?;
        let re = compile(&self.pattern)?;
        Ok(BuiltStage::Filter(Box::new(RegexFilter { cfg: self.clone(), re }), self.mode))
    }
}

struct RegexFilter {
    cfg: RegexFilterConfig,
    re: Regex,
}

impl RegexFilter {
    fn matches(&self, text: &str) -> bool {
        if self.cfg.min_matches == 1 {
            self.re.is_match(text)
        } else {
            self.re.find_iter(text).take(self.cfg.min_matches as usize).count() as u64
                >= self.cfg.min_matches
        }
    }
}

impl Filter for RegexFilter {
    fn reads(&self) -> Option<Vec<&str>> {
        Some(vec![self.cfg.column.as_str()])
    }

    fn evaluate(&self, batch: &arrow::array::RecordBatch, _: &BatchContext) -> Result<Verdict> {
        let col = string_column(batch, &self.cfg.column)?;
        let reasons = col
            .iter()
            .map(|t| {
                let m = self.matches(t.unwrap_or(""));
                match (m, self.cfg.keep_matching) {
                    (true, false) => Some("regex_match"),
                    (false, true) => Some("regex_no_match"),
                    _ => None,
                }
            })
            .collect();
        Ok(Verdict::reasons(reasons))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::test_util::filter_reasons;

    #[test]
    fn drops_matches_or_keeps_only_matches() {
        let mut c = RegexFilterConfig::example();
        assert_eq!(
            filter_reasons(&c, &["Lorem Ipsum dolor", "fine"]),
            vec![Some("regex_match"), None]
        );
        c.keep_matching = true;
        assert_eq!(
            filter_reasons(&c, &["Lorem Ipsum dolor", "fine"]),
            vec![None, Some("regex_no_match")]
        );
    }

    #[test]
    fn min_matches_counts() {
        let c = RegexFilterConfig {
            pattern: "x".into(),
            min_matches: 3,
            ..RegexFilterConfig::example()
        };
        assert_eq!(filter_reasons(&c, &["xx", "xxx"]), vec![None, Some("regex_match")]);
    }

    #[test]
    fn bad_pattern_is_a_check_error() {
        let c = RegexFilterConfig { pattern: "(".into(), ..RegexFilterConfig::example() };
        assert!(c.check()[0].contains("invalid regular expression"));
    }
}
