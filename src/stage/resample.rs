//! `resample` (row-changing): fixed weights per source or per `when:` predicate. A document of
//! weight `w` appears `floor(w)` times, plus once more with probability `w - floor(w)`, chosen
//! by the seeded hash of its origin key and copy index: weight 2.5 gives 2 or 3 copies
//! (expectation 2.5), 0.3 keeps about 30%. The same input, file and seed give the same copies,
//! at any thread count.

use std::collections::BTreeMap;

use arrow::array::{Array, RecordBatch, UInt32Array};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    BatchContext, BuildContext, BuiltStage, COPY_INDEX, Expand, Expansion, ORIGIN_ID, SOURCE,
    StageBuilder, row_seed, string_column, unit_interval,
};
use crate::error::{Error, Result};
use crate::sql::SqlExpr;

/// Oversamples or downsamples documents by fixed weights. A document's weight is the first
/// matching rule's, else its source's (`weights`, else the source's `weight:`), else 1.
/// Copies get the ids `<id>#1`, `<id>#2`, ...; every copy keeps `origin_id`, so the
/// train/validation split keeps all copies of a document together.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResampleConfig {
    /// Weight per source name (overrides the source's `weight:`). 0 drops the source.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub weights: BTreeMap<String, f64>,
    /// Rules tried in order; the first whose SQL predicate is true gives the weight.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<ResampleRule>,
}

/// One `when:` rule of `resample`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResampleRule {
    /// SQL boolean predicate over the columns (`lang = 'de' AND length(text) > 2000`).
    pub when: String,
    /// Weight of the documents it matches (0 or more).
    pub weight: f64,
}

fn check_weight(what: &str, w: f64) -> Option<String> {
    (!(w.is_finite() && (0.0..=1000.0).contains(&w)))
        .then(|| format!("{what}: weight must be between 0 and 1000, got {w}"))
}

impl StageBuilder for ResampleConfig {
    const NAME: &'static str = "resample";

    fn example() -> Self {
        ResampleConfig {
            weights: [("wiki".to_string(), 2.5), ("web".to_string(), 0.3)].into(),
            rules: vec![ResampleRule { when: "length(text) > 20000".into(), weight: 1.0 }],
        }
    }

    fn check(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .weights
            .iter()
            .filter_map(|(s, w)| check_weight(&format!("weights.{s}"), *w))
            .collect();
        for (i, r) in self.rules.iter().enumerate() {
            out.extend(check_weight(&format!("rules[{i}]"), r.weight));
            if r.when.trim().is_empty() {
                out.push(format!("rules[{i}]: `when` is empty"));
            }
        }
        out
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        let names: Vec<&str> = cx.sources.iter().map(|(n, _)| n.as_str()).collect();
        for s in self.weights.keys() {
            if !names.contains(&s.as_str()) {
                return Err(Error::Invalid(format!(
                    "weights: no source named `{s}` (sources: {})",
                    names.join(", ")
                )));
            }
        }
        let source_weights: Vec<(String, f64)> = cx
            .sources
            .iter()
            .map(|(n, w)| (n.clone(), self.weights.get(n).copied().unwrap_or(*w)))
            .collect();
        let rules = self
            .rules
            .iter()
            .map(|r| Ok((SqlExpr::compile(&r.when, &cx.input_schema)?, r.weight)))
            .collect::<Result<Vec<_>>>()?;
        let max = source_weights
            .iter()
            .map(|(_, w)| *w)
            .chain(self.rules.iter().map(|r| r.weight))
            .fold(1.0f64, f64::max);
        Ok(BuiltStage::Expand(Box::new(Resample {
            source_weights,
            rules,
            max_copies: max.ceil() as u32,
        })))
    }
}

struct Resample {
    source_weights: Vec<(String, f64)>,
    rules: Vec<(SqlExpr, f64)>,
    max_copies: u32,
}

/// Copies of a document of weight `w`, given its uniform draw `u` in `[0, 1)`.
pub fn copies(w: f64, u: f64) -> u32 {
    let whole = w.floor();
    whole as u32 + u32::from(u < w - whole)
}

impl Expand for Resample {
    fn max_copies(&self) -> u32 {
        self.max_copies
    }

    fn expand(&self, batch: &RecordBatch, ctx: &BatchContext) -> Result<Expansion> {
        let n = batch.num_rows();
        let sources = string_column(batch, SOURCE)?;
        let mut weights: Vec<Option<f64>> = vec![None; n];
        for (rule, w) in &self.rules {
            let hit = rule.evaluate_bool(batch)?;
            for (i, slot) in weights.iter_mut().enumerate() {
                if slot.is_none() && hit.is_valid(i) && hit.value(i) {
                    *slot = Some(*w);
                }
            }
        }
        let origin = string_column(batch, ORIGIN_ID)?;
        let copy = batch
            .column_by_name(COPY_INDEX)
            .and_then(|c| c.as_any().downcast_ref::<UInt32Array>())
            .ok_or_else(|| Error::Internal("resample: no `copy_index` column".into()))?;
        let mut parents = Vec::with_capacity(n);
        for (i, w) in weights.iter().enumerate() {
            let w = w.unwrap_or_else(|| {
                let s = sources.value(i);
                self.source_weights.iter().find(|(n, _)| n == s).map_or(1.0, |(_, w)| *w)
            });
            let u = unit_interval(row_seed(ctx.seed, origin.value(i), copy.value(i)));
            for _ in 0..copies(w, u) {
                parents.push(i as u32);
            }
        }
        let batch = arrow::compute::take_record_batch(batch, &UInt32Array::from(parents.clone()))?;
        Ok(Expansion { batch, parents })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_have_the_weight_as_expectation() {
        assert_eq!(copies(2.0, 0.99), 2);
        assert_eq!(copies(2.5, 0.49), 3);
        assert_eq!(copies(2.5, 0.5), 2);
        assert_eq!(copies(0.0, 0.0), 0);
        let n = 100_000;
        let total: u64 = (0..n)
            .map(|i| copies(0.3, unit_interval(row_seed(7, &format!("doc{i}"), 0))) as u64)
            .sum();
        let rate = total as f64 / n as f64;
        assert!((rate - 0.3).abs() < 0.01, "{rate}");
    }

    #[test]
    fn unknown_source_and_bad_weights_are_errors() {
        let cfg = ResampleConfig { weights: [("nope".into(), 2.0)].into(), rules: vec![] };
        let b = crate::stage::test_util::batch(&["a"]);
        let err = cfg.build(&crate::stage::test_util::build_cx(b.schema())).err().unwrap();
        assert!(err.to_string().contains("no source named `nope`"), "{err}");
        let bad = ResampleConfig { weights: [("test".into(), -1.0)].into(), rules: vec![] };
        assert_eq!(bad.check().len(), 1);
    }
}
