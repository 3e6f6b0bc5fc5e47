//! The stage registry: one closed enum of every stage type. Adding a stage means one file in
//! `src/stage/`, one variant here, and one line in `for_each_type!`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::language::LanguageConfig;
use super::length_filter::LengthFilterConfig;
use super::lists::c4_badwords::C4BadwordsConfig;
use super::lists::url_filter::UrlFilterConfig;
use super::normalize::NormalizeConfig;
use super::quality::c4_quality::C4QualityConfig;
use super::quality::fineweb_quality::FinewebQualityConfig;
use super::quality::gopher_quality::GopherQualityConfig;
use super::quality::gopher_repetition::GopherRepetitionConfig;
use super::regex_filter::RegexFilterConfig;
use super::regex_replace::RegexReplaceConfig;
use super::sql_filter::SqlFilterConfig;
use super::tokenize::TokenizeConfig;
use super::{BuildContext, BuiltStage, StageBuilder};
use crate::error::Result;

/// Every stage type; the `type:` key of a stage picks the variant.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StageConfig {
    /// Keeps documents for which a SQL boolean expression over the columns is true.
    SqlFilter(SqlFilterConfig),
    /// Keeps documents whose length in characters, words or lines is within bounds.
    LengthFilter(LengthFilterConfig),
    /// Unicode normalization and character clean-up of a text column.
    Normalize(NormalizeConfig),
    /// Drops (or keeps only) documents that match a regular expression.
    RegexFilter(RegexFilterConfig),
    /// Replaces every match of a regular expression in a text column.
    RegexReplace(RegexReplaceConfig),
    /// Identifies the language (whatlang) and keeps documents in the listed languages.
    Language(LanguageConfig),
    /// datatrove's Gopher repetition filter (duplicated lines, paragraphs and n-grams).
    GopherRepetition(GopherRepetitionConfig),
    /// datatrove's Gopher quality filter (word counts and lengths, symbols, stop words).
    GopherQuality(GopherQualityConfig),
    /// datatrove's C4 quality filter (line rules; rewrites the text to the kept lines).
    C4Quality(C4QualityConfig),
    /// datatrove's FineWeb quality filter (line punctuation, short lines, duplicates, lists).
    FinewebQuality(FinewebQualityConfig),
    /// datatrove's C4 bad-words filter (LDNOOBW word lists, per language).
    C4Badwords(C4BadwordsConfig),
    /// datatrove's URL filter (blocked domains and URLs, banned words in the URL).
    UrlFilter(UrlFilterConfig),
    /// Tokenizes the text with a Hugging Face `tokenizer.json`; must be the last stage.
    Tokenize(TokenizeConfig),
}

/// Calls `$m!(Variant, ConfigType)` for every stage type, in registry order.
macro_rules! for_each_type {
    ($m:ident) => {
        $m!(SqlFilter, SqlFilterConfig);
        $m!(LengthFilter, LengthFilterConfig);
        $m!(Normalize, NormalizeConfig);
        $m!(RegexFilter, RegexFilterConfig);
        $m!(RegexReplace, RegexReplaceConfig);
        $m!(Language, LanguageConfig);
        $m!(GopherRepetition, GopherRepetitionConfig);
        $m!(GopherQuality, GopherQualityConfig);
        $m!(C4Quality, C4QualityConfig);
        $m!(FinewebQuality, FinewebQualityConfig);
        $m!(C4Badwords, C4BadwordsConfig);
        $m!(UrlFilter, UrlFilterConfig);
        $m!(Tokenize, TokenizeConfig);
    };
}

impl StageConfig {
    /// The registry name (`type:` tag) of this stage.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::SqlFilter(_) => SqlFilterConfig::NAME,
            Self::LengthFilter(_) => LengthFilterConfig::NAME,
            Self::Normalize(_) => NormalizeConfig::NAME,
            Self::RegexFilter(_) => RegexFilterConfig::NAME,
            Self::RegexReplace(_) => RegexReplaceConfig::NAME,
            Self::Language(_) => LanguageConfig::NAME,
            Self::GopherRepetition(_) => GopherRepetitionConfig::NAME,
            Self::GopherQuality(_) => GopherQualityConfig::NAME,
            Self::C4Quality(_) => C4QualityConfig::NAME,
            Self::FinewebQuality(_) => FinewebQualityConfig::NAME,
            Self::C4Badwords(_) => C4BadwordsConfig::NAME,
            Self::UrlFilter(_) => UrlFilterConfig::NAME,
            Self::Tokenize(_) => TokenizeConfig::NAME,
        }
    }

    /// Range checks that need no I/O.
    pub fn check(&self) -> Vec<String> {
        match self {
            Self::SqlFilter(c) => c.check(),
            Self::LengthFilter(c) => c.check(),
            Self::Normalize(c) => c.check(),
            Self::RegexFilter(c) => c.check(),
            Self::RegexReplace(c) => c.check(),
            Self::Language(c) => c.check(),
            Self::GopherRepetition(c) => c.check(),
            Self::GopherQuality(c) => c.check(),
            Self::C4Quality(c) => c.check(),
            Self::FinewebQuality(c) => c.check(),
            Self::C4Badwords(c) => c.check(),
            Self::UrlFilter(c) => c.check(),
            Self::Tokenize(c) => c.check(),
        }
    }

    /// Builds the runnable stage.
    pub fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        match self {
            Self::SqlFilter(c) => c.build(cx),
            Self::LengthFilter(c) => c.build(cx),
            Self::Normalize(c) => c.build(cx),
            Self::RegexFilter(c) => c.build(cx),
            Self::RegexReplace(c) => c.build(cx),
            Self::Language(c) => c.build(cx),
            Self::GopherRepetition(c) => c.build(cx),
            Self::GopherQuality(c) => c.build(cx),
            Self::C4Quality(c) => c.build(cx),
            Self::FinewebQuality(c) => c.build(cx),
            Self::C4Badwords(c) => c.build(cx),
            Self::UrlFilter(c) => c.build(cx),
            Self::Tokenize(c) => c.build(cx),
        }
    }
}

/// One stage type's generated documentation.
#[derive(Debug, Clone)]
pub struct StageType {
    /// Registry name.
    pub name: &'static str,
    /// Example configuration as a stage entry (`type` included).
    pub example: serde_json::Value,
    /// JSON Schema of the options, with the doc comments as descriptions.
    pub schema: serde_json::Value,
}

/// Every stage type with its example, in registry order.
pub fn stage_types() -> Vec<StageType> {
    let mut out = Vec::new();
    macro_rules! push {
        ($variant:ident, $ty:ident) => {
            out.push(StageType {
                name: $ty::NAME,
                example: serde_json::to_value(StageConfig::$variant($ty::example()))
                    .expect("stage examples serialize"),
                schema: schemars::schema_for!($ty).to_value(),
            });
        };
    }
    for_each_type!(push);
    out
}

/// Every registry name, in registry order.
pub fn type_names() -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! push {
        ($variant:ident, $ty:ident) => {
            out.push($ty::NAME);
        };
    }
    for_each_type!(push);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_equal_serde_tags() {
        for t in stage_types() {
            assert_eq!(t.example["type"], t.name);
        }
    }

    #[test]
    fn examples_round_trip_through_yaml_and_toml_and_pass_checks() {
        for t in stage_types() {
            let cfg: StageConfig = serde_json::from_value(t.example.clone()).unwrap();
            assert!(cfg.check().is_empty(), "{}: {:?}", t.name, cfg.check());
            let yaml = serde_saphyr::to_string(&t.example).unwrap();
            let from_yaml: StageConfig = serde_saphyr::from_str(&yaml).unwrap();
            assert_eq!(serde_json::to_value(from_yaml).unwrap(), t.example, "{}", t.name);
            let toml_text = toml::to_string(&t.example).unwrap();
            let from_toml: StageConfig = toml::from_str(&toml_text).unwrap();
            assert_eq!(serde_json::to_value(from_toml).unwrap(), t.example, "{}", t.name);
        }
    }

    #[test]
    fn unknown_keys_are_rejected_for_every_type() {
        for t in stage_types() {
            let mut v = t.example.clone();
            v["bogus_key"] = serde_json::json!(1);
            let err = serde_json::from_value::<StageConfig>(v).unwrap_err().to_string();
            assert!(err.contains("unknown field"), "{}: {err}", t.name);
        }
    }
}
