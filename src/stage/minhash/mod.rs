//! `minhash_dedup` (counted): near-duplicate removal exact to datatrove 0.10.1's four-step
//! MinHash pipeline. The count pass computes every document's signature on the workers
//! ([`signature`]); the reduce step sorts each band's values on disk within a memory budget
//! and clusters the band collisions ([`bands`], [`cluster`]); the write pass drops the
//! removed documents and lists each with its survivor in `OUT/duplicates/<stage id>.parquet`
//! ([`decider`]). See `docs/dedup.md`.

pub mod bands;
pub mod cluster;
mod decider;
pub mod signature;

use std::sync::Arc;

use arrow::array::RecordBatch;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    BatchContext, BuildContext, BuiltStage, Decider, FilterMode, Ordered, Prepared, SideOutput,
    StageBuilder, string_column,
};
use crate::error::Result;
use signature::{SignatureConfig, Signer};

/// The stage type's name in pipeline files (its reports go to the `dedup` key of the stats and
/// the manifest).
pub const NAME: &str = "minhash_dedup";

/// Which document of a cluster survives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Survivor {
    /// datatrove's choice: the root of the cluster's union-find set (union by size, ties to
    /// the earlier pair member). Removes exactly the documents datatrove removes.
    #[default]
    Reference,
    /// The first document of the cluster in input order. The same clusters, so the same
    /// number of documents removed; only which one is kept can differ.
    First,
    /// The document with the highest value of the `priority` column (a quality score, a
    /// crawl date as a number); ties, nulls and NaN go to the earliest.
    Highest,
}

/// Removes near-duplicate documents with MinHash-LSH, decision for decision as datatrove
/// 0.10.1 (`MinhashConfig` defaults: word 5-grams of its simplified text, 14 bands of 8
/// 64-bit hashes, seed 1). Documents whose band values collide in any band are clustered
/// (union-find); all but one document of each cluster are dropped (reason
/// `near_duplicate`) and listed in `OUT/duplicates/<stage id>.parquet` with the survivor's
/// id. Documents with fewer than `n_grams` words are never removed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MinhashDedupConfig {
    /// Column that holds the text (a string column).
    #[serde(default = "super::normalize::default_column")]
    pub column: String,
    /// Words per shingle (datatrove's `n_grams`).
    #[serde(default = "default_n_grams")]
    pub n_grams: usize,
    /// Bands (datatrove's `num_buckets`); more bands find less similar pairs.
    #[serde(default = "default_buckets")]
    pub buckets: usize,
    /// Hashes per band (datatrove's `hashes_per_bucket`); more hashes per band need more
    /// similar pairs.
    #[serde(default = "default_hashes")]
    pub hashes_per_bucket: usize,
    /// Seed of the hash permutations (datatrove's `seed`, numpy's `RandomState`). Not derived
    /// from the pipeline seed, so that the signatures equal datatrove's.
    #[serde(default = "default_seed")]
    pub seed: u32,
    /// Which document of a cluster survives: `reference` (datatrove's), `first` (the first in
    /// input order) or `highest` (the highest `priority`).
    #[serde(default)]
    pub survivor: Survivor,
    /// The numeric column (integer or float) whose highest value survives with
    /// `survivor: highest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// Memory, in MiB, the reduce step may use for band values before it spills sorted runs
    /// to the work area (each signed document costs `buckets × (hashes_per_bucket + 1) × 8`
    /// bytes there). Counts against `state_memory_mb`.
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u64,
    /// `drop` removes near-duplicates; `annotate` keeps them and adds `<id>_reason`
    /// (`near_duplicate`).
    #[serde(default)]
    pub mode: FilterMode,
}

fn default_n_grams() -> usize {
    5
}
fn default_buckets() -> usize {
    14
}
fn default_hashes() -> usize {
    8
}
fn default_seed() -> u32 {
    1
}
fn default_memory_mb() -> u64 {
    512
}

impl Default for MinhashDedupConfig {
    fn default() -> Self {
        MinhashDedupConfig {
            column: super::normalize::default_column(),
            n_grams: default_n_grams(),
            buckets: default_buckets(),
            hashes_per_bucket: default_hashes(),
            seed: default_seed(),
            survivor: Survivor::default(),
            priority: None,
            memory_mb: default_memory_mb(),
            mode: FilterMode::Drop,
        }
    }
}

impl MinhashDedupConfig {
    fn signature_config(&self) -> SignatureConfig {
        SignatureConfig {
            n_grams: self.n_grams,
            buckets: self.buckets,
            hashes_per_bucket: self.hashes_per_bucket,
            seed: self.seed,
        }
    }
}

impl StageBuilder for MinhashDedupConfig {
    const NAME: &'static str = NAME;

    fn example() -> Self {
        MinhashDedupConfig::default()
    }

    fn check(&self) -> Vec<String> {
        let mut errors = Vec::new();
        for (name, v) in [
            ("n_grams", self.n_grams),
            ("buckets", self.buckets),
            ("hashes_per_bucket", self.hashes_per_bucket),
        ] {
            if v == 0 {
                errors.push(format!("`{name}` must be at least 1"));
            }
        }
        if self.buckets * self.hashes_per_bucket > 4096 {
            errors.push(format!(
                "`buckets × hashes_per_bucket` is {}; at most 4096 hashes per signature",
                self.buckets * self.hashes_per_bucket
            ));
        }
        if self.memory_mb == 0 {
            errors.push("`memory_mb` must be positive".into());
        }
        match (self.survivor, &self.priority) {
            (Survivor::Highest, None) => {
                errors.push("`survivor: highest` needs `priority: <numeric column>`".into())
            }
            (Survivor::Reference | Survivor::First, Some(_)) => errors.push(
                "`priority` is only read with `survivor: highest`; set both or neither".into(),
            ),
            _ => {}
        }
        errors
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        super::require_string(&cx.input_schema, &self.column)?;
        if let Some(p) = &self.priority {
            let numeric = cx.input_schema.field_with_name(p).map(|f| f.data_type().is_numeric());
            if !matches!(numeric, Ok(true)) {
                return Err(crate::error::Error::Invalid(format!(
                    "`priority: {p}` must name a numeric column of the input ({})",
                    match numeric {
                        Ok(_) => "it is not numeric",
                        Err(_) =>
                            "there is no such column; add it to the source or compute it \
                                   with an earlier stage",
                    }
                )));
            }
        }
        let stage = MinhashDedup {
            column: self.column.clone(),
            priority: self.priority.clone(),
            signer: Arc::new(Signer::new(self.signature_config())),
            survivor: self.survivor,
            memory_bytes: self.memory_mb.saturating_mul(1 << 20),
            side: SideOutput {
                name: cx.stage_id.to_string(),
                kind: "duplicates",
                schema: super::exact_dedup::duplicates_schema(),
            },
        };
        Ok(BuiltStage::Ordered(Box::new(stage), self.mode))
    }
}

struct MinhashDedup {
    column: String,
    priority: Option<String>,
    signer: Arc<Signer>,
    survivor: Survivor,
    memory_bytes: u64,
    side: SideOutput,
}

/// The parallel half of a batch: in the count pass each row's signature (`None`: fewer than
/// `n_grams` words, or a null text), the text bytes signed and the thread-seconds it took; in
/// the write pass nothing but the row count.
pub(crate) struct Signed {
    rows: usize,
    signatures: Option<Vec<Option<Vec<u64>>>>,
    /// Count pass with a `priority` column: each row's value (null and NaN: −∞).
    priorities: Option<Vec<f64>>,
    bytes: u64,
    seconds: f64,
}

impl Ordered for MinhashDedup {
    fn prepare(&self, batch: &RecordBatch, ctx: &BatchContext) -> Result<Prepared> {
        let rows = batch.num_rows();
        if !ctx.counting {
            let none = Signed { rows, signatures: None, priorities: None, bytes: 0, seconds: 0.0 };
            return Ok(Box::new(none));
        }
        let t0 = std::time::Instant::now();
        let text = string_column(batch, &self.column)?;
        let signatures = text.iter().map(|t| t.and_then(|t| self.signer.signature(t))).collect();
        let bytes = text.values().len() as u64;
        let priorities = match &self.priority {
            Some(p) => Some(priorities(batch, p)?),
            None => None,
        };
        let seconds = t0.elapsed().as_secs_f64();
        Ok(Box::new(Signed { rows, signatures: Some(signatures), priorities, bytes, seconds }))
    }

    fn decider(&self) -> Box<dyn Decider> {
        let c = self.signer.config();
        Box::new(decider::MinhashDecider::new(
            c.buckets,
            c.hashes_per_bucket,
            self.survivor,
            self.memory_bytes,
        ))
    }

    fn side_output(&self) -> Option<SideOutput> {
        Some(self.side.clone())
    }

    fn counted(&self) -> bool {
        true
    }
}

/// The `priority` column as f64 (null and NaN: −∞, so they never win).
fn priorities(batch: &RecordBatch, column: &str) -> Result<Vec<f64>> {
    use arrow::array::{Array, Float64Array};
    let col = batch.column_by_name(column).ok_or_else(|| {
        crate::error::Error::Invalid(format!("the batch has no column `{column}`"))
    })?;
    let cast = arrow::compute::cast(col, &arrow::datatypes::DataType::Float64)?;
    let values = cast
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or_else(|| crate::error::Error::Internal("a Float64 cast gave another type".into()))?;
    Ok((0..values.len())
        .map(|i| {
            let v = if values.is_null(i) { f64::NEG_INFINITY } else { values.value(i) };
            if v.is_nan() { f64::NEG_INFINITY } else { v }
        })
        .collect())
}
