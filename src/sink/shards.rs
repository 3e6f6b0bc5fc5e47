//! Writing one split as Parquet shards: rows are cut into row groups and shards by a budget
//! (tokens, or bytes of text for curation-only runs) at exact row boundaries, so the layout
//! depends only on the sequence of rows, never on batching or thread count. Shards are
//! written under a temporary name (their sha256 and size computed while writing) and renamed
//! to `{split}-{i:05}-of-{n:05}.parquet` once the total is known.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ledger::Ledger;
use crate::error::{Error, Result};

/// A file that hashes (sha256) and counts every byte written to it.
pub struct HashingFile {
    file: std::io::BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
}

impl HashingFile {
    /// Creates `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let f = File::create(path).map_err(|e| Error::io(path, e))?;
        Ok(HashingFile { file: std::io::BufWriter::new(f), hasher: Sha256::new(), bytes: 0 })
    }

    /// Flushes the file; returns (bytes, lowercase hex sha256) of what was written.
    pub fn finish(&mut self, path: &Path) -> Result<(u64, String)> {
        self.file.flush().map_err(|e| Error::io(path, e))?;
        Ok((self.bytes, crate::stage::tokenize::hex(&self.hasher.clone().finalize())))
    }
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Fixed `created_by`, so identical input gives identical bytes.
pub const CREATED_BY: &str = concat!("sluice ", env!("CARGO_PKG_VERSION"));

/// Writer settings shared by every shard (output.md §5.3).
pub fn writer_properties(
    dictionary_columns: &[&str],
    kv: Vec<(String, String)>,
) -> Result<WriterProperties> {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_max_row_group_row_count(None)
        .set_created_by(CREATED_BY.to_string())
        .set_key_value_metadata(Some(kv.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect()));
    for c in dictionary_columns {
        b = b.set_column_dictionary_enabled(ColumnPath::from(*c), true);
    }
    Ok(b.build())
}

/// One finished shard, as listed in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Path relative to the output directory.
    pub path: String,
    /// Rows (documents) in the shard.
    pub num_rows: u64,
    /// Documents in the shard.
    pub num_documents: u64,
    /// Tokens in the shard (0 for curation-only runs).
    pub num_tokens: u64,
    /// Index of the shard's first row within the split.
    pub first_row: u64,
    /// Rows per row group.
    pub row_groups: Vec<u64>,
    /// File size.
    pub bytes: u64,
    /// sha256 of the file.
    pub sha256: String,
}

/// Writes one split.
pub struct SplitWriter {
    split: String,
    out_dir: PathBuf,
    schema: SchemaRef,
    props: WriterProperties,
    /// Column whose values are the per-row budget weight (`num_tokens`), or `None` to weigh by
    /// the byte length of `weight_text`.
    weight_tokens: Option<String>,
    weight_text: String,
    shard_budget: u64,
    row_group_budget: u64,
    ledger: Arc<Ledger>,
    /// Start of the temporary shard names (unique per slice).
    tmp_prefix: String,
    writer: Option<(ArrowWriter<HashingFile>, PathBuf)>,
    shard_weight: u64,
    row_group_weight: u64,
    shard_tokens: u64,
    shard_rows: u64,
    row_groups: Vec<u64>,
    row_group_rows: u64,
    rows_written: u64,
    tmp_shards: Vec<(PathBuf, ShardInfo)>,
}

impl SplitWriter {
    /// A writer for `split` under `out_dir/split/`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        split: &str,
        out_dir: &Path,
        schema: SchemaRef,
        props: WriterProperties,
        weight_tokens: Option<String>,
        weight_text: String,
        shard_budget: u64,
        row_group_budget: u64,
        ledger: Arc<Ledger>,
        tmp_prefix: String,
    ) -> Self {
        SplitWriter {
            split: split.to_string(),
            out_dir: out_dir.to_path_buf(),
            schema,
            props,
            weight_tokens,
            weight_text,
            shard_budget,
            row_group_budget,
            ledger,
            tmp_prefix,
            writer: None,
            shard_weight: 0,
            row_group_weight: 0,
            shard_tokens: 0,
            shard_rows: 0,
            row_groups: Vec::new(),
            row_group_rows: 0,
            rows_written: 0,
            tmp_shards: Vec::new(),
        }
    }

    fn weights(&self, batch: &RecordBatch) -> Result<(Vec<u64>, Vec<u64>)> {
        let n = batch.num_rows();
        let tokens: Vec<u64> = match &self.weight_tokens {
            Some(col) => {
                let a = batch
                    .column_by_name(col)
                    .and_then(|c| c.as_any().downcast_ref::<arrow::array::Int32Array>().cloned())
                    .ok_or_else(|| Error::Internal(format!("missing `{col}` column in output")))?;
                a.values().iter().map(|v| *v as u64).collect()
            }
            None => vec![0; n],
        };
        let weights = if self.weight_tokens.is_some() {
            tokens.clone()
        } else {
            let t = crate::stage::string_column(batch, &self.weight_text)?;
            (0..n).map(|i| if t.is_valid(i) { t.value(i).len() as u64 } else { 0 }).collect()
        };
        Ok((weights, tokens))
    }

    /// Appends rows, cutting row groups and shards at budget boundaries.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let (weights, tokens) = self.weights(batch)?;
        let n = batch.num_rows();
        let mut start = 0;
        while start < n {
            // Take rows until the row group or the shard budget is reached (the row that
            // crosses the budget is included).
            let mut end = start;
            let mut rg_full = false;
            let mut shard_full = false;
            let mut w_rg = self.row_group_weight;
            let mut w_shard = self.shard_weight;
            let mut toks = 0;
            while end < n {
                w_rg += weights[end];
                w_shard += weights[end];
                toks += tokens[end];
                end += 1;
                if w_shard >= self.shard_budget {
                    shard_full = true;
                    break;
                }
                if w_rg >= self.row_group_budget {
                    rg_full = true;
                    break;
                }
            }
            let slice = batch.slice(start, end - start);
            self.writer()?.0.write(&slice)?;
            let rows = (end - start) as u64;
            self.row_group_weight = w_rg;
            self.shard_weight = w_shard;
            self.shard_tokens += toks;
            self.shard_rows += rows;
            self.row_group_rows += rows;
            if shard_full {
                self.close_shard()?;
            } else if rg_full {
                self.flush_row_group()?;
            }
            start = end;
        }
        Ok(())
    }

    fn writer(&mut self) -> Result<&mut (ArrowWriter<HashingFile>, PathBuf)> {
        if self.writer.is_none() {
            let dir = self.out_dir.join(&self.split);
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            let path =
                dir.join(format!(".{}{:03}.parquet.tmp", self.tmp_prefix, self.tmp_shards.len()));
            self.ledger.record(&path)?;
            let f = HashingFile::create(&path)?;
            let w = ArrowWriter::try_new(f, Arc::clone(&self.schema), Some(self.props.clone()))?;
            self.writer = Some((w, path));
        }
        Ok(self.writer.as_mut().expect("just created"))
    }

    fn flush_row_group(&mut self) -> Result<()> {
        if self.row_group_rows > 0 {
            self.writer()?.0.flush()?;
            self.row_groups.push(self.row_group_rows);
            self.row_group_rows = 0;
        }
        self.row_group_weight = 0;
        Ok(())
    }

    fn close_shard(&mut self) -> Result<()> {
        self.flush_row_group()?;
        let Some((mut w, path)) = self.writer.take() else { return Ok(()) };
        w.finish()?;
        let (bytes, sha256) = w.inner_mut().finish(&path)?;
        let info = ShardInfo {
            path: String::new(),
            num_rows: self.shard_rows,
            num_documents: self.shard_rows,
            num_tokens: self.shard_tokens,
            first_row: self.rows_written,
            row_groups: std::mem::take(&mut self.row_groups),
            bytes,
            sha256,
        };
        self.rows_written += self.shard_rows;
        self.tmp_shards.push((path, info));
        self.shard_rows = 0;
        self.shard_tokens = 0;
        self.shard_weight = 0;
        Ok(())
    }

    /// Closes the last shard and renames every shard `k` to `name(k)` (relative to the output
    /// directory).
    pub fn finish(self, name: impl Fn(usize) -> String) -> Result<Vec<ShardInfo>> {
        self.finish_named(|k, _| name(k))
    }

    /// Closes the last shard and renames every shard `k` of `n` to `name(k, n)`.
    pub fn finish_named(mut self, name: impl Fn(usize, usize) -> String) -> Result<Vec<ShardInfo>> {
        self.close_shard()?;
        let n = self.tmp_shards.len();
        let mut out = Vec::with_capacity(n);
        for (i, (tmp, mut info)) in self.tmp_shards.into_iter().enumerate() {
            let rel = name(i, n);
            let dest = self.out_dir.join(&rel);
            self.ledger.record(&dest)?;
            std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
            info.path = rel;
            out.push(info);
        }
        Ok(out)
    }
}
