//! The global shuffle (`output.shuffle: true`): the documents of each split are written in
//! the order of a seeded sort key instead of input order, within a memory budget.
//!
//! - **Key.** Each document gets `k1 = xxh3_64(seed ‖ source ‖ 0 ‖ origin_id ‖ copy_index)`
//!   and `k2 = xxh3_64(seed ‖ text)`; the output order is ascending `(k1, k2)`, and only rows
//!   equal in all of source, origin id, copy index and text keep their input order. The key
//!   depends on the document, never on where it sits in a file, the threads or the tasks.
//! - **Scatter** (the write pass). Each slice appends its documents, with their keys, to one
//!   Arrow IPC file (LZ4) per split and key range (`buckets`, fixed at plan time from the
//!   input size and `shuffle_memory_mb`), committed with the slice.
//! - **Gather** (`finalize`). Per split, bucket by bucket in key order: a bucket that fits in
//!   half the budget is read whole, sorted and written through the layout (the packer, when
//!   `packed`) to the shard writer; a larger one is split again into narrower key ranges on
//!   disk first. Memory stays within the budget plus the writer's open row group.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::{IpcWriteOptions, StreamWriter};
use serde::{Deserialize, Serialize};

use super::NUM_TOKENS;
use super::ledger::Ledger;
use super::packed::{PackStats, Packer};
use super::shards::{ShardInfo, SplitWriter};
use crate::config::Layout;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::stage::{COPY_INDEX, ID, ORIGIN_ID, SOURCE, TEXT};

/// Sort-key columns appended to the spilled documents (removed before the shards).
const K1: &str = "__sluice_shuffle_k1";
const K2: &str = "__sluice_shuffle_k2";
/// Most key ranges one scatter (plan time, or a re-split in `finalize`) opens.
const MAX_FANOUT: u64 = 256;
/// Most rows per sorted chunk handed to the layout.
const CHUNK_ROWS: usize = 4096;
/// About the most bytes per sorted chunk (a chunk ends after the row that reaches it).
const CHUNK_BYTES: u64 = 8 << 20;
/// Spilled rows a bucket buffers before they are written, summed over the buckets.
const BUFFER_BYTES: usize = 16 << 20;

/// Everything the gather needs, fixed at plan time and pinned in `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShuffleSpec {
    /// Seed of the sort key (`stage_seed(pipeline seed, "output.shuffle")`).
    pub seed: u64,
    /// `output.shuffle_memory_mb`.
    pub memory_mb: u64,
    /// Key ranges of the scatter.
    pub buckets: u64,
    /// Row layout of the shards.
    pub packed: Option<PackSpec>,
    /// Shard and row-group budgets (tokens, or text bytes in curation-only runs).
    pub shard_budget: u64,
    /// Row-group budget.
    pub row_group_budget: u64,
    /// True when rows are weighed by `num_tokens`.
    pub tokenized: bool,
    /// Columns with dictionary encoding in the shards.
    pub dictionary: Vec<String>,
}

/// The packer's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackSpec {
    /// Tokens per row.
    pub seq_len: u64,
    /// Pad id of the last row.
    pub pad_id: i32,
    /// Drop the last row instead of padding it.
    pub drop_last: bool,
}

impl ShuffleSpec {
    /// The shuffle of `plan`, if it asks for one.
    pub fn of(plan: &Plan) -> Option<ShuffleSpec> {
        let o = &plan.config.output;
        if !o.shuffle {
            return None;
        }
        let memory_mb = o.shuffle_memory_mb.unwrap_or(1024);
        // compressed JSONL inflates about fourfold; a bucket that outgrows the estimate is
        // split again in finalize, so this only sets the first fan-out
        let estimate: u64 = plan
            .sources
            .iter()
            .flat_map(|s| &s.files)
            .map(|f| {
                let p = f.path.to_string_lossy();
                if p.ends_with(".gz") || p.ends_with(".zst") { f.bytes * 4 } else { f.bytes }
            })
            .sum();
        let tokenized = plan.tokenized();
        Some(ShuffleSpec {
            seed: crate::stage::stage_seed(plan.config.seed, "output.shuffle"),
            memory_mb,
            buckets: estimate.div_ceil(target_bytes(memory_mb)).clamp(1, MAX_FANOUT),
            packed: (o.layout == Layout::Packed).then(|| PackSpec {
                seq_len: o.seq_len.unwrap_or(1),
                pad_id: super::pad_id(plan),
                drop_last: o.drop_last,
            }),
            shard_budget: if tokenized { o.shard_tokens } else { o.shard_text_bytes },
            row_group_budget: if tokenized { o.row_group_tokens } else { o.row_group_text_bytes },
            tokenized,
            dictionary: super::dictionary_columns(o.layout, tokenized)
                .iter()
                .map(|s| s.to_string())
                .collect(),
        })
    }

    /// The manifest's description of the order.
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "seed": self.seed,
            "key": "ascending (k1, k2): k1 = xxh3_64(seed_le64 || source || 0x00 || origin_id || copy_index_le32), k2 = xxh3_64(seed_le64 || text); rows equal in all of these keep input order",
            "scope": "per split; packing (if any) runs after the shuffle",
            "memory_mb": self.memory_mb,
        })
    }
}

/// Bytes of documents sorted at once: half the budget (the rest is for the sort index, the
/// sorted chunk, the packer and the shard writer's open row group).
fn target_bytes(memory_mb: u64) -> u64 {
    (memory_mb << 20) / 2
}

/// An inclusive range of 128-bit keys `(k1 << 64) | k2`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Range {
    lo: u128,
    hi: u128,
}

impl Range {
    const ALL: Range = Range { lo: 0, hi: u128::MAX };

    /// Width of each of `n >= 2` parts (the last may be narrower).
    fn width(self, n: u64) -> u128 {
        (self.hi - self.lo) / n as u128 + 1
    }

    /// Which of `n` equal parts `key` falls into.
    fn part_of(self, key: u128, n: u64) -> usize {
        if n <= 1 { 0 } else { ((key - self.lo) / self.width(n)) as usize }
    }

    /// Part `i` of `n`.
    fn part(self, i: u64, n: u64) -> Range {
        if n <= 1 {
            return self;
        }
        let w = self.width(n);
        let lo = self.lo.saturating_add(w.saturating_mul(i as u128));
        Range { lo, hi: lo.saturating_add(w - 1).min(self.hi) }
    }
}

fn key(k1: u64, k2: u64) -> u128 {
    ((k1 as u128) << 64) | k2 as u128
}

/// The sort keys of the documents of `batch` (the pipeline's final columns).
pub fn keys(batch: &RecordBatch, seed: u64) -> Result<(UInt64Array, UInt64Array)> {
    let origin = if batch.column_by_name(ORIGIN_ID).is_some() { ORIGIN_ID } else { ID };
    let ids = crate::stage::string_column(batch, origin)?;
    let sources = crate::stage::string_column(batch, SOURCE)?;
    let texts = batch.column_by_name(TEXT).and_then(|c| c.as_any().downcast_ref::<StringArray>());
    let copies =
        batch.column_by_name(COPY_INDEX).and_then(|c| c.as_any().downcast_ref::<UInt32Array>());
    let n = batch.num_rows();
    let (mut k1, mut k2) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut buf = Vec::new();
    for i in 0..n {
        buf.clear();
        buf.extend_from_slice(&seed.to_le_bytes());
        buf.extend_from_slice(sources.value(i).as_bytes());
        buf.push(0);
        buf.extend_from_slice(ids.value(i).as_bytes());
        buf.extend_from_slice(&copies.map_or(0, |c| c.value(i)).to_le_bytes());
        k1.push(xxhash_rust::xxh3::xxh3_64(&buf));
        let text = texts.filter(|t| t.is_valid(i)).map_or("", |t| t.value(i));
        k2.push(xxhash_rust::xxh3::xxh3_64_with_seed(text.as_bytes(), seed));
    }
    Ok((UInt64Array::from(k1), UInt64Array::from(k2)))
}

/// The spill schema: the document schema plus the two key columns.
pub fn spill_schema(documents: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<Field> = documents.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(K1, DataType::UInt64, false));
    fields.push(Field::new(K2, DataType::UInt64, false));
    Arc::new(Schema::new(fields).with_metadata(documents.metadata().clone()))
}

/// One committed spill file: one slice's documents of one split in one key range.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketPart {
    /// Key range (bucket) index.
    pub bucket: u64,
    /// Path relative to the output directory.
    pub path: String,
    /// Documents in it.
    pub rows: u64,
    /// File size.
    pub bytes: u64,
    /// In-memory (Arrow) size of its documents.
    pub mem_bytes: u64,
}

/// An IPC file being written.
struct Spill {
    writer: StreamWriter<BufWriter<File>>,
    tmp: PathBuf,
    rows: u64,
    mem_bytes: u64,
    pending: Vec<RecordBatch>,
    pending_bytes: usize,
}

fn ipc_options() -> Result<IpcWriteOptions> {
    Ok(IpcWriteOptions::default()
        .try_with_compression(Some(arrow::ipc::CompressionType::LZ4_FRAME))?)
}

impl Spill {
    fn create(path: PathBuf, schema: &SchemaRef, ledger: &Ledger) -> Result<Spill> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
        }
        ledger.record(&path)?;
        let f = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let writer = StreamWriter::try_new_with_options(BufWriter::new(f), schema, ipc_options()?)?;
        Ok(Spill {
            writer,
            tmp: path,
            rows: 0,
            mem_bytes: 0,
            pending: Vec::new(),
            pending_bytes: 0,
        })
    }

    fn push(&mut self, batch: RecordBatch, limit: usize) -> Result<()> {
        let m = batch.get_array_memory_size();
        self.rows += batch.num_rows() as u64;
        self.mem_bytes += m as u64;
        self.pending_bytes += m;
        self.pending.push(batch);
        if self.pending_bytes >= limit {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffered rows as one batch.
    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let b = arrow::compute::concat_batches(&self.pending[0].schema(), &self.pending)?;
        self.writer.write(&b)?;
        self.pending.clear();
        self.pending_bytes = 0;
        Ok(())
    }

    /// Closes the file; returns (rows, file bytes, in-memory bytes).
    fn finish(mut self) -> Result<(u64, u64, u64)> {
        self.flush()?;
        self.writer.finish()?;
        let f = self.writer.into_inner()?;
        f.into_inner().map_err(|e| Error::io(&self.tmp, e.into_error()))?;
        let bytes = std::fs::metadata(&self.tmp).map_err(|e| Error::io(&self.tmp, e))?.len();
        Ok((self.rows, bytes, self.mem_bytes))
    }
}

/// Splits `batch` (with key columns) into the `n` parts of `range`; appends each part's rows
/// to its spill, opened by `open(i)` on first use.
fn scatter(
    batch: &RecordBatch,
    range: Range,
    n: u64,
    spills: &mut [Option<Spill>],
    limit: usize,
    mut open: impl FnMut(usize) -> Result<Spill>,
) -> Result<()> {
    let (k1, k2) = key_columns(batch)?;
    let parts: Vec<usize> =
        (0..batch.num_rows()).map(|i| range.part_of(key(k1.value(i), k2.value(i)), n)).collect();
    let mut order: Vec<u32> = (0..parts.len() as u32).collect();
    order.sort_by_key(|&i| parts[i as usize]);
    let mut start = 0;
    while start < order.len() {
        let p = parts[order[start] as usize];
        let mut end = start;
        while end < order.len() && parts[order[end] as usize] == p {
            end += 1;
        }
        let rows = if end - start == batch.num_rows() {
            batch.clone()
        } else {
            let idx = UInt32Array::from(order[start..end].to_vec());
            arrow::compute::take_record_batch(batch, &idx)?
        };
        if spills[p].is_none() {
            spills[p] = Some(open(p)?);
        }
        spills[p].as_mut().expect("just opened").push(rows, limit)?;
        start = end;
    }
    Ok(())
}

fn key_columns(batch: &RecordBatch) -> Result<(&UInt64Array, &UInt64Array)> {
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
            .ok_or_else(|| Error::Internal(format!("shuffle: spilled rows lack `{name}`")))
    };
    Ok((col(K1)?, col(K2)?))
}

/// One slice's spill files for one split (the write pass).
pub struct BucketWriter {
    out_dir: PathBuf,
    split: &'static str,
    slice: usize,
    spec: Arc<ShuffleSpec>,
    schema: SchemaRef,
    spills: Vec<Option<Spill>>,
}

/// Committed path of a slice's spill file for `bucket` of `split`.
fn part_path(split: &str, bucket: u64, slice: usize) -> String {
    format!("{}/shuffle/{split}/{bucket:05}/{slice:05}.arrow", super::commit::WORK)
}

impl BucketWriter {
    /// The spill files of `slice` for `split`; `schema` is the spill schema.
    pub fn new(
        out_dir: &Path,
        split: &'static str,
        slice: usize,
        spec: Arc<ShuffleSpec>,
        schema: SchemaRef,
    ) -> Self {
        let spills = (0..spec.buckets).map(|_| None).collect();
        BucketWriter { out_dir: out_dir.to_path_buf(), split, slice, spec, schema, spills }
    }

    /// Appends documents (with their key columns).
    pub fn write(&mut self, batch: &RecordBatch, ledger: &Ledger) -> Result<()> {
        let (out, split, slice, schema) = (&self.out_dir, self.split, self.slice, &self.schema);
        let limit = BUFFER_BYTES / self.spec.buckets as usize;
        scatter(batch, Range::ALL, self.spec.buckets, &mut self.spills, limit, |b| {
            let p = out.join(part_path(split, b as u64, slice) + ".tmp");
            Spill::create(p, schema, ledger)
        })
    }

    /// Closes the files and renames them to their committed names.
    pub fn commit(self, ledger: &Ledger) -> Result<Vec<BucketPart>> {
        let mut parts = Vec::new();
        for (b, s) in self.spills.into_iter().enumerate() {
            let Some(s) = s else { continue };
            let tmp = s.tmp.clone();
            let (rows, bytes, mem_bytes) = s.finish()?;
            let rel = part_path(self.split, b as u64, self.slice);
            let dest = self.out_dir.join(&rel);
            ledger.record(&dest)?;
            std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
            parts.push(BucketPart { bucket: b as u64, path: rel, rows, bytes, mem_bytes });
        }
        Ok(parts)
    }
}

/// What the gather of one split did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GatherStats {
    /// Key ranges sorted in memory.
    pub buckets_sorted: u64,
    /// Key ranges split again on disk because they outgrew half the budget.
    pub buckets_resplit: u64,
    /// Bytes written by those re-splits.
    pub bytes_resplit: u64,
    /// In-memory bytes of the largest range sorted at once.
    pub largest_bucket_bytes: u64,
}

/// What the gather of one split wrote.
pub struct Gathered {
    /// The split's shards, named `{split}-{i:05}-of-{n:05}.parquet`.
    pub shards: Vec<ShardInfo>,
    /// Packing figures (packed layout).
    pub packing: Option<PackStats>,
    /// Rows written (documents, or packed rows).
    pub rows: u64,
    /// What the gather did.
    pub stats: GatherStats,
}

impl Gathered {
    /// The split's entry in the manifest's `shuffle.splits`.
    pub fn report(&self, spilled: &[&BucketPart]) -> serde_json::Value {
        serde_json::json!({
            "buckets": spilled.iter().map(|p| p.bucket).collect::<std::collections::BTreeSet<_>>().len(),
            "spill_files": spilled.len(),
            "bytes_spilled": spilled.iter().map(|p| p.bytes).sum::<u64>() + self.stats.bytes_resplit,
            "buckets_sorted": self.stats.buckets_sorted,
            "buckets_resplit": self.stats.buckets_resplit,
            "largest_sort_bytes": self.stats.largest_bucket_bytes,
        })
    }
}

/// Sorts and writes the documents of `split` in key order; `spilled` are its committed spill
/// files, in slice order.
pub fn gather(
    out_dir: &Path,
    split: &str,
    spec: &ShuffleSpec,
    ledger: &Arc<Ledger>,
    spilled: &[&BucketPart],
) -> Result<Gathered> {
    let Some(first) = spilled.first() else {
        let packing = spec.packed.as_ref().map(|_| PackStats::default());
        return Ok(Gathered { shards: Vec::new(), packing, rows: 0, stats: Default::default() });
    };
    // the shard schema: the documents' (the spill schema less the keys), or packed rows
    let schema = read(&out_dir.join(&first.path))?.schema();
    let keep: Vec<usize> = (0..schema.fields().len() - 2).collect();
    let docs = Arc::new(schema.project(&keep)?);
    let shard_schema = match spec.packed {
        Some(_) => super::packed::packed_schema(docs.metadata().clone()),
        None => docs,
    };
    Gather::new(out_dir, split, spec, shard_schema, ledger)?.run(spilled)
}

/// The gather of one split in `finalize`.
struct Gather<'a> {
    out_dir: &'a Path,
    split: &'a str,
    spec: &'a ShuffleSpec,
    ledger: &'a Ledger,
    writer: SplitWriter,
    packer: Option<Packer>,
    target: u64,
    scratch: usize,
    rows: u64,
    stats: GatherStats,
}

impl<'a> Gather<'a> {
    /// A gather of `split` into shards of `shard_schema`.
    fn new(
        out_dir: &'a Path,
        split: &'a str,
        spec: &'a ShuffleSpec,
        shard_schema: SchemaRef,
        ledger: &'a Arc<Ledger>,
    ) -> Result<Self> {
        let dict: Vec<&str> = spec.dictionary.iter().map(|s| s.as_str()).collect();
        let writer = SplitWriter::new(
            split,
            out_dir,
            Arc::clone(&shard_schema),
            super::shards::writer_properties(&dict, Vec::new())?,
            spec.tokenized.then(|| NUM_TOKENS.to_string()),
            TEXT.to_string(),
            spec.shard_budget,
            spec.row_group_budget,
            Arc::clone(ledger),
            format!("{split}-shuffled-"),
        );
        let packer = spec
            .packed
            .as_ref()
            .map(|p| Packer::new(p.seq_len as usize, p.pad_id, p.drop_last, shard_schema));
        Ok(Gather {
            out_dir,
            split,
            spec,
            ledger,
            writer,
            packer,
            target: target_bytes(spec.memory_mb),
            scratch: 0,
            rows: 0,
            stats: GatherStats::default(),
        })
    }

    /// Sorts and writes every bucket, in key order; `parts` are the committed spill files of
    /// this split, in slice order. Returns the shards (named `{split}-{i:05}-of-{n:05}`) and
    /// the packing figures.
    fn run(mut self, parts: &[&BucketPart]) -> Result<Gathered> {
        for b in 0..self.spec.buckets {
            let files: Vec<Piece> = parts
                .iter()
                .filter(|p| p.bucket == b)
                .map(|p| Piece { path: self.out_dir.join(&p.path), mem_bytes: p.mem_bytes })
                .collect();
            self.range(files, Range::ALL.part(b, self.spec.buckets), false)?;
        }
        let mut pack = None;
        if let Some(p) = self.packer.take() {
            let (last, stats) = p.finish()?;
            if let Some(rows) = last {
                self.rows += rows.num_rows() as u64;
                self.writer.write(&rows)?;
            }
            pack = Some(stats);
        }
        let split = self.split.to_string();
        let shards =
            self.writer.finish_named(|k, n| format!("{split}/{split}-{k:05}-of-{n:05}.parquet"))?;
        Ok(Gathered { shards, packing: pack, rows: self.rows, stats: self.stats })
    }

    /// The documents in `files` (all in `range`): sorted in memory when they fit, else split
    /// into narrower ranges first. `scratch` files are removed once read.
    fn range(&mut self, files: Vec<Piece>, range: Range, scratch: bool) -> Result<()> {
        let mem: u64 = files.iter().map(|f| f.mem_bytes).sum();
        if files.is_empty() {
            return Ok(());
        }
        if mem <= self.target {
            self.sort(&files, mem)?;
        } else {
            self.resplit(&files, mem, range)?;
        }
        if scratch {
            for f in &files {
                let _ = std::fs::remove_file(&f.path);
            }
        }
        Ok(())
    }

    fn resplit(&mut self, files: &[Piece], mem: u64, range: Range) -> Result<()> {
        if range.lo == range.hi {
            return Err(Error::Invalid(format!(
                "shuffle: {} MiB of `{}` documents share one sort key (the same source, id, copy \
                 index and text) and cannot be sorted within half of shuffle_memory_mb ({} MiB); \
                 remove the duplicates (`exact_dedup`) or raise `output.shuffle_memory_mb`",
                mem >> 20,
                self.split,
                self.spec.memory_mb
            )));
        }
        let n = (mem.div_ceil(self.target) * 2).clamp(2, MAX_FANOUT);
        let n = (n as u128).min((range.hi - range.lo).saturating_add(1)) as u64;
        self.stats.buckets_resplit += 1;
        let id = self.scratch;
        self.scratch += 1;
        let mut spills: Vec<Option<Spill>> = (0..n).map(|_| None).collect();
        let dir = self.out_dir.join(super::commit::WORK).join("shuffle").join("scratch");
        let limit = BUFFER_BYTES / n as usize;
        let mut schema = None;
        for f in files {
            for batch in read(&f.path)? {
                let batch = batch?;
                let s = schema.get_or_insert_with(|| batch.schema());
                let (ledger, split) = (self.ledger, self.split);
                scatter(&batch, range, n, &mut spills, limit, |i| {
                    Spill::create(dir.join(format!("{split}-{id}-{i}.arrow")), s, ledger)
                })?;
            }
        }
        let mut subs = Vec::new();
        for (i, s) in spills.into_iter().enumerate() {
            let Some(s) = s else { continue };
            let path = s.tmp.clone();
            let (_, bytes, mem_bytes) = s.finish()?;
            self.stats.bytes_resplit += bytes;
            subs.push((i as u64, Piece { path, mem_bytes }));
        }
        for (i, piece) in subs {
            self.range(vec![piece], range.part(i, n), true)?;
        }
        Ok(())
    }

    /// Reads `files` whole, sorts by key and writes the documents through the layout.
    fn sort(&mut self, files: &[Piece], mem: u64) -> Result<()> {
        self.stats.buckets_sorted += 1;
        self.stats.largest_bucket_bytes = self.stats.largest_bucket_bytes.max(mem);
        let mut batches = Vec::new();
        for f in files {
            for b in read(&f.path)? {
                let b = b?;
                if b.num_rows() > 0 {
                    batches.push(b);
                }
            }
        }
        let mut order: Vec<(u128, u32, u32)> = Vec::new();
        let mut sizes: Vec<Vec<u64>> = Vec::with_capacity(batches.len());
        for (bi, b) in batches.iter().enumerate() {
            let (k1, k2) = key_columns(b)?;
            for r in 0..b.num_rows() {
                order.push((key(k1.value(r), k2.value(r)), bi as u32, r as u32));
            }
            sizes.push(row_bytes(b));
        }
        // (key, batch, row): ties in key keep input order (batches are in slice order)
        order.sort_unstable();
        let refs: Vec<&RecordBatch> = batches.iter().collect();
        let keep: Vec<usize> = (0..batches[0].num_columns() - 2).collect();
        // chunks of at most CHUNK_ROWS documents and about CHUNK_BYTES (books are large)
        let mut start = 0;
        while start < order.len() {
            let (mut end, mut bytes) = (start, 0);
            while end < order.len()
                && end - start < CHUNK_ROWS
                && (end == start || bytes < CHUNK_BYTES)
            {
                let (_, b, r) = order[end];
                bytes += sizes[b as usize][r as usize];
                end += 1;
            }
            let idx: Vec<(usize, usize)> =
                order[start..end].iter().map(|&(_, b, r)| (b as usize, r as usize)).collect();
            let rows = arrow::compute::interleave_record_batch(&refs, &idx)?.project(&keep)?;
            self.emit(&rows)?;
            start = end;
        }
        Ok(())
    }

    fn emit(&mut self, docs: &RecordBatch) -> Result<()> {
        match &mut self.packer {
            None => {
                self.rows += docs.num_rows() as u64;
                self.writer.write(docs)
            }
            Some(p) => {
                if let Some(rows) = p.push(docs)? {
                    self.rows += rows.num_rows() as u64;
                    self.writer.write(&rows)?;
                }
                Ok(())
            }
        }
    }
}

/// Approximate bytes of each row: the string and list values plus 16 bytes per column.
fn row_bytes(batch: &RecordBatch) -> Vec<u64> {
    let mut sizes = vec![16 * batch.num_columns() as u64; batch.num_rows()];
    for col in batch.columns() {
        if let Some(s) = col.as_any().downcast_ref::<StringArray>() {
            for (r, size) in sizes.iter_mut().enumerate() {
                *size += s.value_length(r) as u64;
            }
        } else if let Some(l) = col.as_any().downcast_ref::<arrow::array::ListArray>() {
            for (r, size) in sizes.iter_mut().enumerate() {
                *size += 4 * l.value_length(r) as u64;
            }
        }
    }
    sizes
}

/// A spill file to read in the gather.
struct Piece {
    path: PathBuf,
    mem_bytes: u64,
}

fn read(path: &Path) -> Result<StreamReader<BufReader<File>>> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(StreamReader::try_new(BufReader::new(f), None)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_key_space_without_gaps_or_overlap() {
        for r in
            [Range::ALL, Range { lo: 5, hi: 5 + 9 }, Range { lo: u128::MAX - 6, hi: u128::MAX }]
        {
            for n in [1u64, 2, 3, 7, 10, 256] {
                let n = (n as u128).min((r.hi - r.lo).saturating_add(1)) as u64;
                // the parts that can hold keys; any after them are empty and never chosen
                let parts: Vec<Range> =
                    (0..n).map(|i| r.part(i, n)).take_while(|p| p.lo <= p.hi).collect();
                assert_eq!(parts[0].lo, r.lo);
                assert_eq!(parts.last().unwrap().hi, r.hi, "{r:?} in {n}");
                for w in parts.windows(2) {
                    assert_eq!(w[0].hi + 1, w[1].lo, "{r:?} in {n}");
                }
                for (i, p) in parts.iter().enumerate() {
                    assert_eq!(r.part_of(p.lo, n), i);
                    assert_eq!(r.part_of(p.hi, n), i);
                }
            }
        }
    }

    #[test]
    fn keys_follow_the_documented_formula_and_ignore_row_position() {
        let schema = Arc::new(Schema::new(vec![
            Field::new(ID, DataType::Utf8, false),
            Field::new(SOURCE, DataType::Utf8, false),
            Field::new(TEXT, DataType::Utf8, true),
        ]));
        let batch = |ids: Vec<&str>, texts: Vec<&str>| {
            let n = ids.len();
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(StringArray::from(ids)),
                    Arc::new(StringArray::from(vec!["web"; n])),
                    Arc::new(StringArray::from(texts)),
                ],
            )
            .unwrap()
        };
        let (a1, a2) = keys(&batch(vec!["x", "y"], vec!["one", "two"]), 9).unwrap();
        let (b1, b2) = keys(&batch(vec!["y", "x"], vec!["two", "one"]), 9).unwrap();
        assert_eq!((a1.value(0), a2.value(0)), (b1.value(1), b2.value(1)));
        let mut buf = 9u64.to_le_bytes().to_vec();
        buf.extend_from_slice(b"web\0x");
        buf.extend_from_slice(&0u32.to_le_bytes());
        assert_eq!(a1.value(0), xxhash_rust::xxh3::xxh3_64(&buf));
        assert_eq!(a2.value(0), xxhash_rust::xxh3::xxh3_64_with_seed(b"one", 9));
        let (c1, _) = keys(&batch(vec!["x"], vec!["one"]), 10).unwrap();
        assert_ne!(c1.value(0), a1.value(0), "the seed changes the order");
    }
}
