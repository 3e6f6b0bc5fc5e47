//! `augment` (row-changing): seeded text augmentation. Every document stays as it is; each one
//! a `when:` predicate selects (all when absent) also gets `copies` augmented copies. Each copy
//! runs the operations in a fixed order, each with its own probability: sentence shuffle,
//! synonym replacement, word swap, word deletion, word insertion, character noise. Spans that
//! match `protect` are never changed. Copies carry `augmented_from` (the id they were made
//! from) and `augment_ops` (what was applied). Randomness comes only from the row's
//! [`row_seed`] and the copy's rank, so the output does not depend on threads or batching.
//! The rules and the mapping to EDA, nlpaug and TextAttack are in `docs/augment.md`.

mod synonyms;
mod text;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, StringBuilder, UInt32Array};
use arrow::datatypes::{DataType, Field, SchemaRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    BatchContext, BuildContext, BuiltStage, COPY_INDEX, Expand, Expansion, ID, ORIGIN_ID,
    StageBuilder, TEXT, require_string, row_seed, string_column, text_column, with_column,
    with_field,
};
use crate::error::{Error, Result};
use crate::sql::SqlExpr;
pub use synonyms::Synonyms;
pub use text::{OP_NAMES, keyboard_neighbours};

/// Column with the id of the row a copy was made from (null on rows `augment` passed through).
pub const AUGMENTED_FROM: &str = "augmented_from";
/// Column listing the operations applied to a copy, `name:count` in order, comma-separated
/// (empty when none applied; null on rows `augment` passed through).
pub const AUGMENT_OPS: &str = "augment_ops";
/// The most copies per document.
pub const MAX_COPIES: u32 = 16;

/// Adds augmented copies of documents: the original row stays unchanged, and every document
/// `when` selects gets `copies` more rows whose text went through the operations below, each
/// with its probability (all 0 by default; at least one must be above 0). Copies get the ids
/// `<id>#1`, `<id>#2`, ..., keep `origin_id` (so they land in their original's split) and carry
/// `augmented_from` and `augment_ops`. Operations run in this order: `sentence_shuffle`,
/// `synonym`, `word_swap`, `word_delete`, `word_insert`, `char_noise`. A word is a maximal run
/// of non-whitespace characters; the whitespace between words is kept. A copy of a non-empty
/// document is never empty. Must come before `tokenize`. See `docs/augment.md`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AugmentConfig {
    /// SQL predicate selecting the documents to augment (`meta.label = 'spam'`); absent: all.
    /// A null result does not select. Documents with a null `text` are never augmented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Augmented copies per selected document, besides the original (1 to 16).
    #[serde(default = "one")]
    pub copies: u32,
    /// Regex (Rust `regex` syntax) whose matches are never changed: a word that overlaps a
    /// match is never deleted, swapped, replaced, noised or copied by `word_insert`, and a
    /// sentence holding one keeps its place in `sentence_shuffle` (URLs, e-mails, `{{slots}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protect: Option<String>,
    /// TSV file of synonyms, one line per word: `word<TAB>synonym<TAB>synonym...` (UTF-8;
    /// blank lines and lines starting with `#` skipped; words match case-insensitively;
    /// synonyms may be phrases). Relative paths start from the directory sluice runs in.
    /// Required by `synonym`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synonyms: Option<String>,
    /// Probability, per word that has an entry in `synonyms`, of replacing it with one of its
    /// synonyms (uniformly chosen, in the word's case pattern; punctuation around it stays).
    #[serde(default)]
    pub synonym: f64,
    /// Probability, per pair of neighbouring words, left to right, of swapping them (a swapped
    /// pair is not drawn again; the whitespace between words stays in place).
    #[serde(default)]
    pub word_swap: f64,
    /// Probability, per word, of deleting it (never every word: the first is then kept). The
    /// whitespace around a deleted word becomes the side with more line breaks (else the
    /// shorter).
    #[serde(default)]
    pub word_delete: f64,
    /// Probability, per word, of inserting after it a word drawn uniformly from the same
    /// document (without its leading and trailing punctuation), separated by a space.
    #[serde(default)]
    pub word_insert: f64,
    /// Probability, per document, of putting its sentences in a random different order
    /// (sentences end at `.`, `!`, `?`, `…`, `。`, `！`, `？` or a line break; needs two).
    #[serde(default)]
    pub sentence_shuffle: f64,
    /// Character noise inside words, per character.
    #[serde(default, skip_serializing_if = "CharNoise::is_zero")]
    pub char_noise: CharNoise,
}

/// Per-character noise probabilities of `augment`; a character gets at most one kind, so
/// their sum must be at most 1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CharNoise {
    /// Swap with the next character of the same word (nlpaug RandomCharAug `swap`).
    #[serde(default)]
    pub swap: f64,
    /// Remove the character; never the last one left in a word (RandomCharAug `delete`).
    #[serde(default)]
    pub drop: f64,
    /// Write the character twice.
    #[serde(default)]
    pub duplicate: f64,
    /// Replace it with a neighbouring key on a QWERTY keyboard (ASCII letters and digits
    /// only, case kept; other characters are left alone) (nlpaug KeyboardAug).
    #[serde(default)]
    pub keyboard: f64,
}

impl Default for AugmentConfig {
    /// One copy and no operation (`check` then asks for one).
    fn default() -> Self {
        AugmentConfig {
            when: None,
            copies: 1,
            protect: None,
            synonyms: None,
            synonym: 0.0,
            word_swap: 0.0,
            word_delete: 0.0,
            word_insert: 0.0,
            sentence_shuffle: 0.0,
            char_noise: CharNoise::default(),
        }
    }
}

impl CharNoise {
    fn is_zero(&self) -> bool {
        *self == CharNoise::default()
    }
}

fn one() -> u32 {
    1
}

fn check_probability(what: &str, p: f64) -> Option<String> {
    (!(p.is_finite() && (0.0..=1.0).contains(&p)))
        .then(|| format!("{what}: a probability must be between 0 and 1, got {p}"))
}

impl AugmentConfig {
    fn probabilities(&self) -> [(&'static str, f64); 9] {
        let c = &self.char_noise;
        [
            ("synonym", self.synonym),
            ("word_swap", self.word_swap),
            ("word_delete", self.word_delete),
            ("word_insert", self.word_insert),
            ("sentence_shuffle", self.sentence_shuffle),
            ("char_noise.swap", c.swap),
            ("char_noise.drop", c.drop),
            ("char_noise.duplicate", c.duplicate),
            ("char_noise.keyboard", c.keyboard),
        ]
    }
}

impl StageBuilder for AugmentConfig {
    const NAME: &'static str = "augment";

    fn example() -> Self {
        AugmentConfig {
            when: Some("meta.label = 'spam'".into()),
            copies: 2,
            protect: Some(r"https?://\S+|\{\{[^}]*\}\}".into()),
            synonyms: Some("synonyms.tsv".into()),
            synonym: 0.1,
            word_swap: 0.05,
            word_delete: 0.05,
            word_insert: 0.05,
            sentence_shuffle: 0.2,
            char_noise: CharNoise { swap: 0.005, drop: 0.005, duplicate: 0.005, keyboard: 0.01 },
        }
    }

    fn check(&self) -> Vec<String> {
        let probs = self.probabilities();
        let mut out: Vec<String> =
            probs.iter().filter_map(|(what, p)| check_probability(what, *p)).collect();
        if !(1..=MAX_COPIES).contains(&self.copies) {
            out.push(format!("copies must be between 1 and {MAX_COPIES}, got {}", self.copies));
        }
        if out.is_empty() && !probs.iter().any(|(_, p)| *p > 0.0) {
            out.push(
                "no operation: set at least one of synonym, word_swap, word_delete, word_insert, \
                 sentence_shuffle, char_noise above 0"
                    .into(),
            );
        }
        let c = &self.char_noise;
        let sum = c.swap + c.drop + c.duplicate + c.keyboard;
        if sum > 1.0 {
            out.push(format!("char_noise: the probabilities add up to {sum}, more than 1"));
        }
        match (&self.synonyms, self.synonym > 0.0) {
            (None, true) => out.push("synonym needs a `synonyms` file".into()),
            (Some(_), false) => out.push("`synonyms` is set but `synonym` is 0".into()),
            _ => {}
        }
        for (what, v) in [("when", &self.when), ("protect", &self.protect)] {
            if v.as_ref().is_some_and(|s| s.trim().is_empty()) {
                out.push(format!("`{what}` is empty"));
            }
        }
        out
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        let problems = self.check();
        if !problems.is_empty() {
            return Err(Error::Invalid(problems.join("; ")));
        }
        require_string(&cx.input_schema, TEXT)?;
        if cx.token_count.is_some() {
            return Err(Error::Invalid(
                "augment must come before `tokenize`: the copies' token ids would be the \
                 original's"
                    .into(),
            ));
        }
        for name in [AUGMENTED_FROM, AUGMENT_OPS] {
            if cx.input_schema.field_with_name(name).is_ok() {
                require_string(&cx.input_schema, name)?;
            }
        }
        let when = match &self.when {
            Some(w) => {
                let e = SqlExpr::compile(w, &cx.input_schema)?;
                if e.data_type() != &DataType::Boolean {
                    return Err(Error::Invalid(format!(
                        "when: `{w}` must be a boolean expression, but it is {}",
                        e.data_type()
                    )));
                }
                Some(e)
            }
            None => None,
        };
        let protect = match &self.protect {
            Some(p) => Some(
                regex::Regex::new(p)
                    .map_err(|e| Error::Invalid(format!("protect: invalid regex: {e}")))?,
            ),
            None => None,
        };
        let synonyms = self.synonyms.as_deref().map(Synonyms::load).transpose()?;
        let c = &self.char_noise;
        let ops = text::Ops {
            sentence_shuffle: self.sentence_shuffle,
            synonym: self.synonym,
            word_swap: self.word_swap,
            word_delete: self.word_delete,
            word_insert: self.word_insert,
            chars: text::CharProbs {
                swap: c.swap,
                drop: c.drop,
                duplicate: c.duplicate,
                keyboard: c.keyboard,
            },
            protect,
            synonyms,
        };
        Ok(BuiltStage::Expand(Box::new(Augment { when, copies: self.copies, ops })))
    }
}

/// The built stage.
struct Augment {
    when: Option<SqlExpr>,
    copies: u32,
    ops: text::Ops,
}

/// `augment_ops` of a copy: `name:count` for each operation applied, in order.
fn ops_list(counts: &[u32; 9]) -> String {
    let mut out = String::new();
    for (name, n) in OP_NAMES.iter().zip(counts).filter(|(_, n)| **n > 0) {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(name);
        out.push(':');
        out.push_str(&n.to_string());
    }
    out
}

/// An optional `Utf8` column (one `augment` stage after another passes the earlier values on).
fn optional_strings<'a>(batch: &'a RecordBatch, name: &str) -> Result<Option<&'a StringArray>> {
    batch.column_by_name(name).map(|_| string_column(batch, name)).transpose()
}

impl Expand for Augment {
    fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef> {
        let s = with_field(input, Field::new(AUGMENTED_FROM, DataType::Utf8, true));
        Ok(with_field(&s, Field::new(AUGMENT_OPS, DataType::Utf8, true)))
    }

    fn max_copies(&self) -> u32 {
        self.copies + 1
    }

    fn expand(&self, batch: &RecordBatch, ctx: &BatchContext) -> Result<Expansion> {
        let n = batch.num_rows();
        let selected = match &self.when {
            Some(w) => Some(w.evaluate_bool(batch)?),
            None => None,
        };
        let text = text_column(batch)?;
        let ids = string_column(batch, ID)?;
        // The executor always adds the origin columns; a bare batch (benches) counts as the
        // first copy of itself, which is what the executor would add.
        let origin = optional_strings(batch, ORIGIN_ID)?.unwrap_or(ids);
        let copy_index =
            match batch.column_by_name(COPY_INDEX) {
                Some(c) => Some(c.as_any().downcast_ref::<UInt32Array>().ok_or_else(|| {
                    Error::Internal("augment: `copy_index` is not uint32".into())
                })?),
                None => None,
            };
        let prev_from = optional_strings(batch, AUGMENTED_FROM)?;
        let prev_ops = optional_strings(batch, AUGMENT_OPS)?;

        let mut parents = Vec::with_capacity(n);
        let bytes = text.value_data().len();
        let mut texts = StringBuilder::with_capacity(n, bytes);
        let mut from = StringBuilder::with_capacity(n, 0);
        let mut ops = StringBuilder::with_capacity(n, 0);
        let mut buf = String::new();
        for i in 0..n {
            parents.push(i as u32);
            texts.append_option(text.is_valid(i).then(|| text.value(i)));
            from.append_option(prev_from.and_then(|a| a.is_valid(i).then(|| a.value(i))));
            ops.append_option(prev_ops.and_then(|a| a.is_valid(i).then(|| a.value(i))));
            let chosen = selected.as_ref().is_none_or(|s| s.is_valid(i) && s.value(i));
            if !chosen || text.is_null(i) {
                continue;
            }
            let copy = copy_index.map_or(0, |c| c.value(i));
            let row = row_seed(ctx.seed, origin.value(i), copy);
            for rank in 1..=self.copies {
                let counts = self.ops.apply(text.value(i), text::copy_seed(row, rank), &mut buf);
                parents.push(i as u32);
                texts.append_value(&buf);
                from.append_value(ids.value(i));
                ops.append_value(ops_list(&counts));
            }
        }
        let idx = UInt32Array::from(parents.clone());
        let text_at = batch.schema().index_of(TEXT)?;
        let mut new_text = Some(Arc::new(texts.finish()) as ArrayRef);
        let columns = batch
            .columns()
            .iter()
            .enumerate()
            .map(|(k, c)| match k == text_at {
                true => Ok(new_text.take().expect("one text column")),
                false => arrow::compute::take(c, &idx, None),
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let out = RecordBatch::try_new(batch.schema(), columns)?;
        let out = with_column(
            &out,
            Field::new(AUGMENTED_FROM, DataType::Utf8, true),
            Arc::new(from.finish()),
        )?;
        let out = with_column(
            &out,
            Field::new(AUGMENT_OPS, DataType::Utf8, true),
            Arc::new(ops.finish()),
        )?;
        Ok(Expansion { batch: out, parents })
    }
}
