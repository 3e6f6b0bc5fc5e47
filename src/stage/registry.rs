//! The stage registry: one closed enum of every stage type, generated with its matches and
//! documentation from one list. Adding a stage means one file in `src/stage/`, one entry in
//! `registry!` below (and its `use`), and its tests.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::augment::AugmentConfig;
use super::clean::CleanConfig;
use super::exact_dedup::ExactDedupConfig;
use super::language::LanguageConfig;
use super::length_filter::LengthFilterConfig;
use super::line_dedup::LineDedupConfig;
use super::lists::c4_badwords::C4BadwordsConfig;
use super::lists::url_filter::UrlFilterConfig;
use super::minhash::MinhashDedupConfig;
use super::mixing::balance::BalanceConfig;
use super::mixing::mix::MixConfig;
use super::normalize::NormalizeConfig;
use super::pii_redact::PiiRedactConfig;
use super::quality::c4_quality::C4QualityConfig;
use super::quality::fineweb_quality::FinewebQualityConfig;
use super::quality::gopher_quality::GopherQualityConfig;
use super::quality::gopher_repetition::GopherRepetitionConfig;
use super::regex_filter::RegexFilterConfig;
use super::regex_replace::RegexReplaceConfig;
use super::resample::ResampleConfig;
use super::sql_filter::SqlFilterConfig;
use super::tokenize::TokenizeConfig;
use super::{BuildContext, BuiltStage, StageBuilder, StageFacts};
use crate::error::Result;

/// Generates, from one list, the [`StageConfig`] enum (the `type:` key of a stage picks the
/// variant), its `type_name`/`check`/`build` matches and [`stage_types`], which feeds
/// `sluice stages` and the README's stage table. Each line: the variant's one-line summary
/// (its doc comment), the variant and config type, and the stage kind.
macro_rules! registry {
    ($( #[doc = $doc:literal] $variant:ident($ty:ident, $kind:literal), )*) => {
        /// Every stage type; the `type:` key of a stage picks the variant.
        #[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum StageConfig {
            $( #[doc = $doc] $variant($ty), )*
        }

        impl StageConfig {
            /// The registry name (`type:` tag) of this stage.
            pub fn type_name(&self) -> &'static str {
                match self { $( Self::$variant(_) => $ty::NAME, )* }
            }

            /// Range checks that need no I/O.
            pub fn check(&self) -> Vec<String> {
                match self { $( Self::$variant(c) => c.check(), )* }
            }

            /// Builds the runnable stage and the facts the plan needs from it.
            pub fn build(&self, cx: &BuildContext) -> Result<(BuiltStage, StageFacts)> {
                match self { $( Self::$variant(c) => c.build_with_facts(cx), )* }
            }
        }

        /// Every stage type with its example, in registry order.
        pub fn stage_types() -> Vec<StageType> {
            vec![$(
                StageType {
                    name: $ty::NAME,
                    kind: $kind,
                    summary: $doc.trim(),
                    example: serde_json::to_value(StageConfig::$variant($ty::example()))
                        .expect("stage examples serialize"),
                    schema: schemars::schema_for!($ty).to_value(),
                },
            )*]
        }
    };
}

registry! {
    /// keeps rows where a DataFusion SQL boolean expression is true (`length(text) >= 200 AND source = 'web'`; `num_tokens > 32` after `tokenize`); `length` counts characters
    SqlFilter(SqlFilterConfig, "filter"),
    /// min/max characters, words, lines
    LengthFilter(LengthFilterConfig, "filter"),
    /// Unicode NFC/NFD/NFKC/NFKD (passes the Unicode conformance file, see `docs/normalize.md`), lowercase, collapse whitespace, strip control and invisible characters (each an option)
    Normalize(NormalizeConfig, "transform"),
    /// removes controls, zero-width and bidi formatting characters, soft hyphens, characters of chosen Unicode categories or an explicit set (whole grapheme clusters), URLs and boilerplate lines; replaces non-standard spaces (each an option, see `docs/normalize.md`)
    Clean(CleanConfig, "transform"),
    /// drops documents matching a regex (or keeps only matches)
    RegexFilter(RegexFilterConfig, "filter"),
    /// replaces regex matches (PII masking, boilerplate removal)
    RegexReplace(RegexReplaceConfig, "transform"),
    /// redacts e-mails, IPv4/IPv6 addresses, phone numbers (international and US/UK/German/French formats), Luhn-checked card numbers and mod-97-checked IBANs with typed placeholders (`<EMAIL>`) or fixed strings; counts per type in the stats' `changes` (precision and recall in `docs/pii.md`)
    PiiRedact(PiiRedactConfig, "transform"),
    /// language identification (whatlang, model inside the crate); keep by language list and minimum score; adds `lang`, `lang_score`
    Language(LanguageConfig, "filter"),
    /// datatrove's Gopher repetition filter, reference-exact (duplicate lines/paragraphs, top 2–4-grams, duplicated 5–10-grams)
    GopherRepetition(GopherRepetitionConfig, "filter"),
    /// datatrove's Gopher quality filter, reference-exact (word count and length, symbols, bullets, ellipses, alphabetic words, stop words)
    GopherQuality(GopherQualityConfig, "filter"),
    /// datatrove's C4 quality filter, reference-exact; rewrites the text to the lines it keeps
    C4Quality(C4QualityConfig, "filter"),
    /// datatrove's FineWeb quality filter, reference-exact
    FinewebQuality(FinewebQualityConfig, "filter"),
    /// LDNOOBW bad-word lists per language with C4's word-boundary rules
    C4Badwords(C4BadwordsConfig, "filter"),
    /// domain / URL block lists, banned words and subwords in the URL (datatrove's URLFilter)
    UrlFilter(UrlFilterConfig, "filter"),
    /// removes exact duplicates across all sources: 128-bit hash of the (optionally normalized) text, a column or a SQL expression; the first occurrence in input order survives; duplicates go to `OUT/duplicates/` with the survivor's id
    ExactDedup(ExactDedupConfig, "ordered"),
    /// near-duplicate removal with MinHash-LSH, decision for decision as datatrove 0.10.1 (word 5-grams of its simplified text, 14 bands × 8 hashes, seed 1): a count pass signs every document, the reduce step sorts band values within `memory_mb` (spilling to disk) and clusters collisions (union-find), the write pass drops all but one document per cluster; duplicates go to `OUT/duplicates/` with the survivor's id (see `docs/dedup.md`)
    MinhashDedup(MinhashDedupConfig, "counted"),
    /// removes the lines (or paragraphs) found in more than `max_documents` documents of the whole input (navigation, licence headers, Project Gutenberg boilerplate): a count pass counts the documents per unit within `memory_mb` (spilling sorted runs), the write pass cuts them out of every document; each removed unit is listed once in `OUT/duplicates/` with its document count (see `docs/dedup.md`)
    LineDedup(LineDedupConfig, "counted"),
    /// fixed weights per source or per `when:` predicate: weight 2.5 gives every document 2 or 3 copies (expectation 2.5), 0.3 keeps about 30%, chosen by the seeded hash of its origin key
    Resample(ResampleConfig, "row-changing"),
    /// seeded text augmentation: every document `when:` selects also gets `copies` augmented copies (word deletion, swap and insertion, synonyms from a TSV file, character noise, sentence shuffle, each with its probability; `protect:` spans untouched); copies carry `augmented_from` and `augment_ops` (see `docs/augment.md`)
    Augment(AugmentConfig, "row-changing"),
    /// writes a stated mixture exactly: per source or `when:` group one of `share_of_tokens`, `share_of_documents`, `repeat`, `count`, with `max_repeat` caps and an optional total; a count pass plans integer targets (largest remainder), whole epochs plus a seeded partial epoch meet them exactly, and a group that cannot reach its target stops the run before any shard
    Mix(MixConfig, "counted"),
    /// balances the classes of a label (`uniform` or given shares) by oversampling, downsampling or both, with a `max_repeat` cap; exact counts as in `mix`
    Balance(BalanceConfig, "counted"),
    /// Hugging Face `tokenizer.json`; `add_bos`/`add_eos`; truncation and padding stored in the file are switched off; ids equal HF `tokenizers`' `encode(text, add_special_tokens=False)` plus BOS/EOS; GPT-2/Llama-3-style byte-level BPE runs on sluice's own encoder (`engine: auto`), the rest on `tokenizers` (see `docs/tokenize.md`)
    Tokenize(TokenizeConfig, "transform"),
}

/// One stage type's generated documentation.
#[derive(Debug, Clone)]
pub struct StageType {
    /// Registry name.
    pub name: &'static str,
    /// Stage kind: `filter`, `transform`, `row-changing`, `ordered` or `counted`.
    pub kind: &'static str,
    /// One-line summary (the README's stage table).
    pub summary: &'static str,
    /// Example configuration as a stage entry (`type` included).
    pub example: serde_json::Value,
    /// JSON Schema of the options, with the doc comments as descriptions.
    pub schema: serde_json::Value,
}

/// Every registry name, in registry order.
pub fn type_names() -> Vec<&'static str> {
    stage_types().into_iter().map(|t| t.name).collect()
}

/// The README's stage table (`| type | kind | what it does |`), generated from the registry;
/// a test keeps the README equal to it.
pub fn readme_table() -> String {
    let mut out = String::from("| type | kind | what it does |\n|---|---|---|\n");
    for t in stage_types() {
        out.push_str(&format!("| `{}` | {} | {} |\n", t.name, t.kind, t.summary));
    }
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
    fn readme_stage_table_is_the_generated_one() {
        let readme = include_str!("../../README.md");
        let table = readme_table();
        assert!(
            readme.contains(&table),
            "README.md's stage table is out of date; replace it with:\n{table}"
        );
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
