//! The pipeline file: typed configuration for sources, stages and output, parsed from YAML or
//! TOML. The doc comment on every field is the user documentation (`sluice stages` prints it).

mod check;
mod load;
#[cfg(test)]
mod yaml12_tests;

pub use check::check_config;
pub use load::{load, parse_str};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::stage::registry::StageConfig;

/// A curation pipeline as written in a `.yaml`/`.yml`/`.toml` file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Name of the pipeline; recorded in the manifest.
    pub name: String,
    /// Seed for every random choice (the train/validation split, sampling). Same input, same
    /// file and same seed give byte-identical output.
    #[serde(default)]
    pub seed: u64,
    /// Named input sources, read in the order given.
    pub sources: Vec<SourceConfig>,
    /// What to do with a bad input record (malformed JSON, invalid UTF-8, missing text,
    /// truncated or corrupt file): `fail` stops the run with the file and line; `skip` counts
    /// it in the stats and writes it to `OUT/quarantine/`.
    #[serde(default)]
    pub on_error: OnError,
    /// Processing stages, applied in order to every document.
    #[serde(default)]
    pub stages: Vec<StageSpec>,
    /// Memory budget, in MiB, for the state that ordered stages hold across batches (for
    /// example `exact_dedup`'s keys), all such stages together. A run whose state outgrows it
    /// stops with an error naming the stage, instead of growing without bound; `stats.json`
    /// reports each stage's state bytes.
    #[serde(default = "default_state_memory_mb")]
    pub state_memory_mb: u64,
    /// Where and how to write the result.
    pub output: OutputConfig,
}

/// Policy for bad input records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Stop the run at the first bad record (exit code 1).
    #[default]
    Fail,
    /// Skip bad records, count them in the stats and copy them to `OUT/quarantine/`.
    Skip,
}

/// What a source does with a JSONL line that is not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Utf8Policy {
    /// Replace each invalid sequence with U+FFFD (one per maximal invalid subpart, as Python's
    /// `bytes.decode("utf-8", "replace")` does) and read the line; counted in `stats.json`
    /// (`input.replaced_invalid_utf8`).
    Replace,
    /// Skip the line and count it (`invalid_utf8`), whatever `on_error` says.
    Skip,
    /// Stop the run at the line, whatever `on_error` says.
    Fail,
}

/// One input source: a set of files with the same layout.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Name of the source; becomes the `source` column of every document it yields.
    pub name: String,
    /// Files or glob patterns (`data/*.jsonl.zst`, `data/**/*.parquet`), relative to the
    /// directory sluice runs in. Files are read in sorted order.
    pub paths: Vec<String>,
    /// File format; by default taken from each file's extension (`.jsonl`, `.json`, `.ndjson`,
    /// each optionally `.gz` or `.zst`, and `.parquet`).
    #[serde(default)]
    pub format: Option<SourceFormat>,
    /// Field (JSONL) or column (Parquet) that holds the document text.
    #[serde(default = "default_text_field")]
    pub text_field: String,
    /// Field or column that holds a stable document id. When the field is absent, the id is
    /// `<source>/<file name>:<line or row>`.
    #[serde(default = "default_id_field")]
    pub id_field: String,
    /// Relative sampling weight of this source, recorded in the manifest (resampling stages
    /// use it).
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// JSONL lines that are not valid UTF-8: `replace` (U+FFFD), `skip` or `fail`. Unset, they
    /// are bad records under the pipeline's `on_error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_utf8: Option<Utf8Policy>,
}

fn default_state_memory_mb() -> u64 {
    8192
}

fn default_text_field() -> String {
    "text".into()
}
fn default_id_field() -> String {
    "id".into()
}
fn default_weight() -> f64 {
    1.0
}

/// Input file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// One JSON object per line; plain, gzip (`.gz`) or zstd (`.zst`) compressed.
    Jsonl,
    /// Apache Parquet.
    Parquet,
}

/// One entry of `stages:`: an id plus the stage type and its options.
///
/// No `deny_unknown_fields` here: it breaks `flatten` (serde-rs/serde#1358). Unknown keys are
/// still rejected by each stage type's own struct.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StageSpec {
    /// Unique id of the stage, used in stats, drop reasons and error messages. Defaults to the
    /// stage type (with a numeric suffix when a type is used twice).
    #[serde(default)]
    pub id: Option<String>,
    /// The stage type and its options.
    #[serde(flatten)]
    pub config: StageConfig,
}

/// Output location and layout.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Output directory; receives `train/`, `validation/`, `manifest.json` and `stats.json`.
    /// The CLI flag `--out` overrides it.
    pub dir: String,
    /// Fraction of documents (0 to 1) that go to the `validation` split, chosen by a seeded
    /// hash of the document id, so the split is stable across re-runs and corpus growth.
    #[serde(default)]
    pub validation_fraction: f64,
    /// Tokens per shard before a new shard starts (tokenized runs).
    #[serde(default = "default_shard_tokens")]
    pub shard_tokens: u64,
    /// Tokens per Parquet row group (tokenized runs).
    #[serde(default = "default_row_group_tokens")]
    pub row_group_tokens: u64,
    /// Bytes of text per shard before a new shard starts (curation-only runs, no `tokenize`).
    #[serde(default = "default_shard_text_bytes")]
    pub shard_text_bytes: u64,
    /// Bytes of text per Parquet row group (curation-only runs).
    #[serde(default = "default_row_group_text_bytes")]
    pub row_group_text_bytes: u64,
    /// Extra columns to carry into tokenized shards besides `input_ids`, `num_tokens`,
    /// `doc_id` and `source` (for example `text` or `url`). Curation-only runs keep every column.
    #[serde(default)]
    pub keep_columns: Vec<String>,
    /// Also write every dropped document, with the stage id and reason, to `OUT/dropped/`.
    #[serde(default)]
    pub write_dropped: bool,
    /// Input bytes per slice: the unit of commits, resume and task splits. The input is cut
    /// into slices of about this size (whole small files; row-group ranges of large Parquet
    /// files; byte ranges of large plain JSONL files; a compressed JSONL file is never cut), and
    /// every slice writes its own shards, so the output is the same for any number of tasks.
    /// A killed run loses at most the slices in flight.
    #[serde(default = "default_slice_bytes")]
    pub slice_bytes: u64,
    /// Row layout of tokenized shards: `documents` (one row per document) or `packed` (rows of
    /// exactly `seq_len` tokens, documents concatenated with their EOS, `seq_lengths` per row).
    #[serde(default)]
    pub layout: Layout,
    /// Tokens per packed row (`layout: packed` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq_len: Option<u64>,
    /// `layout: packed`: drop the last, partial row of each split instead of padding it to
    /// `seq_len` with `pad_id`.
    #[serde(default)]
    pub drop_last: bool,
    /// `layout: packed`: the id that pads a kept last row; by default the tokenizer's EOS id
    /// (0 if it has none). Padding is never counted in `num_tokens` or `seq_lengths`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pad_id: Option<i32>,
    /// Write the documents in a seeded random order instead of input order: a permutation of
    /// each split that depends only on the pipeline `seed` and each document's source, origin
    /// id, copy index and text, never on the order inside files, the thread count or the tasks.
    /// Documents are spilled to bucket files in the work area while the run writes, and
    /// `finalize` sorts one bucket at a time within `shuffle_memory_mb`. With `layout: packed`
    /// the shuffle comes first, and packing runs over each whole shuffled split.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shuffle: bool,
    /// `shuffle: true`: memory (MiB) that `finalize` may use to sort one bucket of documents
    /// (default 1024). Buckets are sized to half of it; a bucket that grows past that is split
    /// again on disk before it is sorted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle_memory_mb: Option<u64>,
}

/// Row layouts of tokenized output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// One row per document: `input_ids`, `num_tokens`, `doc_id`, `source`.
    #[default]
    Documents,
    /// Rows of exactly `seq_len` tokens: documents (with their EOS) concatenated in order,
    /// a document longer than the room left continuing in the next row; `seq_lengths` gives
    /// the document pieces of each row. Packing runs per split, after the split.
    Packed,
}

impl Layout {
    /// The name used in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Documents => "documents",
            Layout::Packed => "packed",
        }
    }
}

fn default_slice_bytes() -> u64 {
    128 << 20
}
fn default_shard_tokens() -> u64 {
    1 << 27
}
fn default_row_group_tokens() -> u64 {
    1 << 20
}
fn default_shard_text_bytes() -> u64 {
    512 << 20
}
fn default_row_group_text_bytes() -> u64 {
    32 << 20
}

impl PipelineConfig {
    /// Stage ids in order, with defaults filled in (`type`, or `type_2`, `type_3` for repeats).
    pub fn stage_ids(&self) -> Vec<String> {
        let mut seen = std::collections::HashMap::<&str, usize>::new();
        self.stages
            .iter()
            .map(|s| match &s.id {
                Some(id) => id.clone(),
                None => {
                    let name = s.config.type_name();
                    let n = seen.entry(name).or_insert(0);
                    *n += 1;
                    if *n == 1 { name.to_string() } else { format!("{name}_{n}") }
                }
            })
            .collect()
    }
}
