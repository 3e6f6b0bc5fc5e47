//! `balance` (counted): a target class distribution over a label, reached by oversampling the
//! minority classes, downsampling the majority ones, or both, with an optional repetition cap.
//! The classes are found by the count pass; the copies are chosen exactly as `mix` chooses
//! them (whole epochs, then the documents with the smallest seeded keys).

use std::collections::{BTreeMap, HashMap};

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::counted::{Counted, GroupTarget, GroupTotals, Grouping};
use super::select::{Target, largest_remainder};
use crate::error::{Error, Result};
use crate::sql::SqlExpr;
use crate::stage::{BuildContext, BuiltStage, FilterMode, StageBuilder};

/// Balances the classes of a label column: every class gets its target share of the output
/// (`uniform`, or a share per class), by oversampling the smaller classes (`oversample`), by
/// downsampling the larger ones (`downsample`), or both around a total (`both`). Copies are
/// whole epochs plus a seeded partial epoch, as in `mix`; counts are exact.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BalanceConfig {
    /// SQL expression that gives each document's class, read as a string (`lang`; a nested
    /// field: `meta.label`). A document whose class is null stops the run:
    /// filter those out first.
    pub label: String,
    /// The class distribution to reach: `uniform`, or a share per class (adding up to 1;
    /// every class in the data needs one).
    #[serde(default)]
    pub target: BalanceTarget,
    /// `oversample` (default): no class shrinks; the output grows until the class that is
    /// largest for its share keeps its size. `downsample`: no class grows. `both`: every class
    /// is brought to its share of `total_documents`.
    #[serde(default)]
    pub strategy: Strategy,
    /// The most copies per document a class may get on average; a class that would need more
    /// stops at the cap (the report marks it `capped`). Default: no cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_repeat: Option<f64>,
    /// Output size for `both` (default: the input's size, so only the proportions change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_documents: Option<u64>,
}

/// A target distribution.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum BalanceTarget {
    /// A named distribution.
    Named(TargetName),
    /// A share per class.
    Shares(BTreeMap<String, f64>),
}

impl Default for BalanceTarget {
    fn default() -> Self {
        BalanceTarget::Named(TargetName::Uniform)
    }
}

/// Named distributions.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetName {
    /// Every class the same number of documents.
    Uniform,
}

/// How `balance` reaches its target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Repeat documents of the smaller classes; nothing is dropped.
    #[default]
    Oversample,
    /// Drop documents of the larger classes; nothing is repeated.
    Downsample,
    /// Both, around `total_documents`.
    Both,
}

impl StageBuilder for BalanceConfig {
    const NAME: &'static str = "balance";

    fn example() -> Self {
        BalanceConfig {
            label: "meta.label".into(),
            target: BalanceTarget::default(),
            strategy: Strategy::Oversample,
            max_repeat: Some(8.0),
            total_documents: None,
        }
    }

    fn check(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.label.trim().is_empty() {
            out.push("`label` is empty".to_string());
        }
        if let BalanceTarget::Shares(m) = &self.target {
            if m.is_empty() {
                out.push("`target` lists no class".into());
            }
            for (k, v) in m {
                if !(v.is_finite() && (0.0..=1.0).contains(v)) {
                    out.push(format!("target.{k}: a share is between 0 and 1, got {v}"));
                }
            }
            let sum: f64 = m.values().sum();
            if !m.is_empty() && (sum - 1.0).abs() > 1e-6 {
                out.push(format!("the target shares add up to {sum}; they must add up to 1"));
            }
        }
        if let Some(c) = self.max_repeat
            && !(c.is_finite() && (1.0..=10_000.0).contains(&c))
        {
            out.push(format!("max_repeat must be between 1 and 10000, got {c}"));
        }
        if self.total_documents.is_some() && self.strategy != Strategy::Both {
            out.push("`total_documents` goes with `strategy: both`".into());
        }
        out
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        let problems = self.check();
        if !problems.is_empty() {
            return Err(Error::Invalid(problems.join("; ")));
        }
        let label = SqlExpr::compile(&self.label, &cx.input_schema)?;
        let grouping = BalanceGrouping { config: self.clone(), label };
        Ok(BuiltStage::Ordered(
            Box::new(Counted::new(grouping, cx.token_count.clone(), "balance")),
            FilterMode::Drop,
        ))
    }
}

struct BalanceGrouping {
    config: BalanceConfig,
    label: SqlExpr,
}

impl Grouping for BalanceGrouping {
    fn assign(&self, batch: &RecordBatch) -> Result<(Vec<String>, Vec<Option<u32>>)> {
        let values = self.label.evaluate(batch)?;
        let values = arrow::compute::cast(&values, &DataType::Utf8)?;
        let values = values
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| Error::Internal("a cast to utf8 gave no strings".into()))?;
        let mut names: Vec<String> = Vec::new();
        let mut index: HashMap<&str, u32> = HashMap::new();
        let groups = (0..values.len())
            .map(|i| {
                values.is_valid(i).then(|| {
                    let v = values.value(i);
                    *index.entry(v).or_insert_with(|| {
                        names.push(v.to_string());
                        names.len() as u32 - 1
                    })
                })
            })
            .collect();
        Ok((names, groups))
    }

    fn targets(&self, totals: &[GroupTotals]) -> Result<Vec<GroupTarget>> {
        let shares: Vec<f64> = match &self.config.target {
            BalanceTarget::Named(TargetName::Uniform) => vec![1.0; totals.len()],
            BalanceTarget::Shares(m) => {
                let mut v = Vec::with_capacity(totals.len());
                for t in totals {
                    v.push(*m.get(&t.name).ok_or_else(|| {
                        Error::Invalid(format!(
                            "class `{}` ({} documents) has no share in `target`; give it one, or \
                             filter it out before `balance`",
                            t.name, t.documents
                        ))
                    })?);
                }
                if let Some(missing) = m.keys().find(|k| !totals.iter().any(|t| &t.name == *k)) {
                    return Err(Error::Invalid(format!(
                        "class `{missing}` of `target` has no documents (classes found: {})",
                        totals.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
                    )));
                }
                v
            }
        };
        let sum: f64 = shares.iter().sum();
        let shares: Vec<f64> = shares.iter().map(|s| s / sum).collect();
        let n: Vec<u64> = totals.iter().map(|t| t.documents).collect();
        let ratio = |i: usize| if shares[i] > 0.0 { n[i] as f64 / shares[i] } else { f64::NAN };
        let valid: Vec<f64> = (0..n.len()).map(ratio).filter(|r| !r.is_nan()).collect();
        let total = match self.config.strategy {
            Strategy::Oversample => valid.iter().copied().fold(0.0, f64::max).round() as u64,
            Strategy::Downsample => {
                valid.iter().copied().fold(f64::INFINITY, f64::min).round() as u64
            }
            Strategy::Both => self.config.total_documents.unwrap_or(n.iter().sum()),
        };
        let quotas = largest_remainder(&shares, total);
        let described = match &self.config.target {
            BalanceTarget::Named(_) => "uniform".to_string(),
            BalanceTarget::Shares(_) => "share".to_string(),
        };
        Ok(quotas
            .iter()
            .enumerate()
            .map(|(i, &q)| {
                let mut q = match self.config.strategy {
                    Strategy::Oversample => q.max(n[i]),
                    Strategy::Downsample => q.min(n[i]),
                    Strategy::Both => q,
                };
                let mut capped = false;
                if let Some(cap) = self.config.max_repeat {
                    let most = (n[i] as f64 * cap).floor() as u64;
                    if q > most {
                        q = most;
                        capped = true;
                    }
                }
                GroupTarget {
                    target: Target::Documents(q),
                    requested: format!("{described} {:.6}", shares[i]),
                    requested_share: Some(shares[i]),
                    max_repeat: self.config.max_repeat,
                    capped,
                }
            })
            .collect())
    }

    fn ungrouped(&self, rows: u64) -> String {
        format!(
            "{rows} documents have no class (`{}` is null); filter them out before `balance`",
            self.config.label
        )
    }

    fn unit(&self) -> &'static str {
        "documents"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::test_util;

    fn grouping(strategy: Strategy, cap: Option<f64>, total: Option<u64>) -> BalanceGrouping {
        let b = test_util::batch(&["x"]);
        BalanceGrouping {
            config: BalanceConfig {
                label: "source".into(),
                target: BalanceTarget::default(),
                strategy,
                max_repeat: cap,
                total_documents: total,
            },
            label: SqlExpr::compile("source", &b.schema()).unwrap(),
        }
    }

    fn totals() -> Vec<GroupTotals> {
        [("ham", 4826), ("spam", 747)]
            .iter()
            .map(|(n, d)| GroupTotals { name: n.to_string(), documents: *d, tokens: 0 })
            .collect()
    }

    fn docs(t: &[GroupTarget]) -> Vec<u64> {
        t.iter()
            .map(|g| match g.target {
                Target::Documents(d) => d,
                Target::Tokens(_) => panic!("tokens"),
            })
            .collect()
    }

    #[test]
    fn strategies_give_the_expected_sizes() {
        let up = grouping(Strategy::Oversample, None, None).targets(&totals()).unwrap();
        assert_eq!(docs(&up), vec![4826, 4826]);
        let down = grouping(Strategy::Downsample, None, None).targets(&totals()).unwrap();
        assert_eq!(docs(&down), vec![747, 747]);
        let both = grouping(Strategy::Both, None, None).targets(&totals()).unwrap();
        assert_eq!(docs(&both), vec![2787, 2786]);
        let capped = grouping(Strategy::Oversample, Some(4.0), None).targets(&totals()).unwrap();
        assert_eq!(docs(&capped), vec![4826, 2988]);
        assert!(capped[1].capped && !capped[0].capped);
    }

    #[test]
    fn a_class_without_a_share_is_an_error() {
        let mut g = grouping(Strategy::Both, None, Some(100));
        g.config.target = BalanceTarget::Shares([("ham".to_string(), 1.0)].into());
        let err = g.targets(&totals()).unwrap_err().to_string();
        assert!(err.contains("class `spam` (747 documents) has no share"), "{err}");
    }

    #[test]
    fn labels_are_read_as_strings() {
        let b = test_util::batch(&["a", "b"]);
        let (names, groups) = grouping(Strategy::Both, None, None).assign(&b).unwrap();
        assert_eq!(names, vec!["test".to_string()]);
        assert_eq!(groups, vec![Some(0), Some(0)]);
    }
}
