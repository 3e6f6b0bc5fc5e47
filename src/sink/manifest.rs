//! `manifest.json`: the description of a finished dataset, written last as its commit point
//! (no manifest, no dataset). It holds no wall-clock values, so identical input gives an
//! identical manifest.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::shards::ShardInfo;
use crate::plan::Plan;
use crate::stage::tokenize::TokenizerInfo;

/// Per-split totals and shards.
#[derive(Debug, Serialize)]
pub struct SplitManifest {
    /// Rows in the split (documents, or packed rows).
    pub num_rows: u64,
    /// Documents in the split.
    pub num_documents: u64,
    /// Tokens in the split (packed: real tokens, padding excluded).
    pub num_tokens: u64,
    /// Packed layout: rows, documents split across rows, padding, fill rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packing: Option<serde_json::Value>,
    /// Shards in order.
    pub shards: Vec<ShardInfo>,
}

/// Per-source totals.
#[derive(Debug, Serialize, Deserialize, Default, Clone)]
pub struct SourceManifest {
    /// Source name.
    pub name: String,
    /// Globs as given.
    pub paths: Vec<String>,
    /// Documents written from this source.
    pub documents: u64,
    /// Tokens written from this source.
    pub tokens: u64,
    /// Weight from the pipeline file.
    pub weight: f64,
}

/// The manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `sluice`.
    pub format: String,
    /// Version of this layout.
    pub format_version: u32,
    /// Engine and version.
    pub created_by: String,
    /// Pipeline name.
    pub pipeline: String,
    /// sha256 of the resolved configuration (canonical JSON).
    pub config_sha256: String,
    /// `documents` or `packed`.
    pub layout: String,
    /// Tokenizer facts; null for curation-only runs.
    pub tokenizer: Option<TokenizerInfo>,
    /// Column name → Arrow type.
    pub columns: serde_json::Map<String, serde_json::Value>,
    /// Packing (null: one document per row).
    pub packing: Option<serde_json::Value>,
    /// Order of documents in the shards.
    pub order: String,
    /// How documents are assigned to splits.
    pub split_rule: serde_json::Value,
    /// Parquet writer settings.
    pub parquet: serde_json::Value,
    /// Splits.
    pub splits: serde_json::Map<String, serde_json::Value>,
    /// Sources.
    pub sources: Vec<SourceManifest>,
    /// Counted stages (`mix`, `balance`): per stage id, the requested and realised mixture.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub mixture: serde_json::Map<String, serde_json::Value>,
    /// Near-duplicate stages (`minhash_dedup`): per stage id, what the clustering found
    /// (documents signed, pairs per band, clusters and their sizes, removed per source); the
    /// stats add what the count pass and the reduce step cost, which varies run to run.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub dedup: serde_json::Map<String, serde_json::Value>,
    /// `output.shuffle`: the sort key, the budget and, per split, the buckets and bytes
    /// spilled (`order` is then `shuffled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle: Option<serde_json::Value>,
}

impl Manifest {
    /// The manifest of `plan` without its splits and per-source counts (filled in by
    /// `finalize` from the slices' commits).
    pub fn template(plan: &Plan) -> Manifest {
        let cfg_json = serde_json::to_vec(&plan.config).expect("config serializes");
        let schema = super::shard_schema(plan).expect("planned schema");
        let columns = schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), serde_json::Value::String(f.data_type().to_string())))
            .collect();
        let tokenized = plan.tokenized();
        let o = &plan.config.output;
        let splits = serde_json::Map::new();
        let sources = Vec::new();
        let packed = o.layout == crate::config::Layout::Packed;
        Manifest {
            format: "sluice".into(),
            format_version: 1,
            created_by: super::shards::CREATED_BY.into(),
            pipeline: plan.config.name.clone(),
            config_sha256: crate::stage::tokenize::hex(&Sha256::digest(&cfg_json)),
            layout: o.layout.name().into(),
            tokenizer: plan.tokenizer_info().cloned(),
            columns,
            packing: packed.then(|| {
                serde_json::json!({
                    "seq_len": o.seq_len, "drop_last": o.drop_last, "pad_id": super::pad_id(plan),
                    "method": "greedy: documents in order, concatenated with their EOS; a \
                               document continues in the next row; per split",
                    "seq_lengths": "per row, the lengths of the document pieces in it",
                })
            }),
            order: if o.shuffle { "shuffled" } else { "input" }.into(),
            split_rule: serde_json::json!({
                "key": "origin_id (the input document's id; equal to doc_id unless a row-changing stage made copies)",
                "hash": "xxh3_64(seed_le64 || origin_id) % 1000000",
                "seed": plan.config.seed, "fractions": {"validation": o.validation_fraction}
            }),
            parquet: serde_json::json!({
                "compression": "zstd", "level": 3,
                "dictionary": if packed { vec![] } else if tokenized { vec!["doc_id", "source"] } else { vec!["source"] },
                "row_group_budget": if tokenized { o.row_group_tokens } else { o.row_group_text_bytes },
                "row_group_unit": if tokenized { "tokens" } else { "text_bytes" },
                "shard_budget": if tokenized { o.shard_tokens } else { o.shard_text_bytes },
                "list_element_name": "element",
            }),
            splits,
            sources,
            mixture: serde_json::Map::new(),
            dedup: serde_json::Map::new(),
            shuffle: super::shuffle::ShuffleSpec::of(plan).map(|s| s.describe()),
        }
    }

    /// A split's entry: totals, packing figures, shards.
    pub fn split_entry(
        shards: Vec<ShardInfo>,
        stats: &crate::exec::metrics::SplitStats,
        seq_len: Option<u64>,
    ) -> serde_json::Value {
        let packing = stats.packing.as_ref().map(|p| {
            let slots = p.rows * seq_len.unwrap_or(0);
            serde_json::json!({
                "rows": p.rows,
                "documents_split": p.documents_split,
                "padding_tokens": p.padding_tokens,
                "tokens_dropped": p.tokens_dropped,
                "fill_rate": if slots == 0 { 0.0 } else { p.real_tokens as f64 / slots as f64 },
            })
        });
        let m = SplitManifest {
            num_rows: shards.iter().map(|s| s.num_rows).sum(),
            num_documents: stats.documents,
            num_tokens: shards.iter().map(|s| s.num_tokens).sum(),
            packing,
            shards,
        };
        serde_json::to_value(m).expect("split serializes")
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest serializes") + "\n"
    }
}
