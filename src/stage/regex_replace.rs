//! `regex_replace`: replaces every match of a regular expression in a text column (for
//! example to mask e-mail addresses or remove boilerplate lines).

use arrow::array::RecordBatch;
use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BatchContext, BuildContext, BuiltStage, StageBuilder, Transform};
use crate::error::Result;

/// Replaces every match of `pattern` with `replacement` (`$1`, `${name}` refer to groups).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegexReplaceConfig {
    /// Column to rewrite.
    #[serde(default = "super::normalize::default_column")]
    pub column: String,
    /// The regular expression (Rust `regex` syntax).
    pub pattern: String,
    /// Replacement text; `$1` or `${name}` insert capture groups, `$$` a literal `$`.
    #[serde(default)]
    pub replacement: String,
}

impl StageBuilder for RegexReplaceConfig {
    const NAME: &'static str = "regex_replace";

    fn example() -> Self {
        RegexReplaceConfig {
            column: "text".into(),
            pattern: r"[\w.+-]+@[\w-]+\.[\w.-]+".into(),
            replacement: "<EMAIL>".into(),
        }
    }

    fn check(&self) -> Vec<String> {
        super::regex_filter::compile(&self.pattern)
            .err()
            .map(|e| e.to_string())
            .into_iter()
            .collect()
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        super::require_string(&cx.input_schema, &self.column)?;
        let re = super::regex_filter::compile(&self.pattern)?;
        Ok(BuiltStage::Transform(Box::new(RegexReplace { cfg: self.clone(), re })))
    }
}

struct RegexReplace {
    cfg: RegexReplaceConfig,
    re: Regex,
}

impl Transform for RegexReplace {
    fn apply(&self, batch: RecordBatch, _: &BatchContext) -> Result<RecordBatch> {
        super::rewrite_strings(&batch, &self.cfg.column, |s, buf| {
            buf.push_str(&self.re.replace_all(s, self.cfg.replacement.as_str()));
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::test_util::transform;

    #[test]
    fn masks_emails() {
        let c = RegexReplaceConfig::example();
        assert_eq!(
            transform(&c, &["write to a.b@example.org today", "none"]),
            vec!["write to <EMAIL> today", "none"]
        );
    }

    #[test]
    fn groups_in_replacement() {
        let c = RegexReplaceConfig {
            pattern: r"(\d+) apples".into(),
            replacement: "$1 pears".into(),
            ..RegexReplaceConfig::example()
        };
        assert_eq!(transform(&c, &["3 apples"]), vec!["3 pears"]);
    }
}
