//! The output pipeline of a run: split (train/validation by a seeded hash of the origin key, so
//! no copy of a validation document lands in train) → layout (`documents`, or `packed` rows
//! per split) → one [`shards::SplitWriter`] per split; side outputs (`dropped/`,
//! `quarantine/`, and those the stages declare at plan time, such as `duplicates/`); and the
//! commit: `stats.json`, then `manifest.json` last (no manifest, no dataset).

pub mod commit;
pub mod ledger;
pub mod lock;
pub mod manifest;
pub mod packed;
pub mod shards;
pub mod shuffle;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;

use crate::config::Layout;
use crate::error::{Error, Result};
use crate::exec::metrics::SplitStats;
use crate::plan::Plan;
use crate::source::BadRecord;
use crate::stage::{ID, ORIGIN_ID, SOURCE, TEXT};
use ledger::Ledger;
use packed::Packer;
use serde::{Deserialize, Serialize};
use shards::{HashingFile, ShardInfo, SplitWriter};
use shuffle::{BucketPart, BucketWriter, ShuffleSpec};

/// Name of the document-id column in tokenized shards.
pub const DOC_ID: &str = "doc_id";
/// Name of the token-id column in tokenized shards (whatever the tokenizing stage calls it).
pub const INPUT_IDS: &str = "input_ids";
/// Name of the token-count column in tokenized shards.
pub const NUM_TOKENS: &str = "num_tokens";
/// Split names, in manifest order.
pub const SPLITS: [&str; 2] = ["train", "validation"];

/// Parts-per-million resolution of the split hash.
const SPLIT_PPM: u64 = 1_000_000;

/// True when the document with origin key `doc_id` goes to the validation split.
pub fn is_validation(seed: u64, doc_id: &str, fraction: f64) -> bool {
    if fraction <= 0.0 {
        return false;
    }
    let mut key = seed.to_le_bytes().to_vec();
    key.extend_from_slice(doc_id.as_bytes());
    let h = xxhash_rust::xxh3::xxh3_64(&key);
    h % SPLIT_PPM < (fraction * SPLIT_PPM as f64).round() as u64
}

/// Column projection from the pipeline's final schema to the shard schema.
fn output_columns(plan: &Plan) -> Result<Vec<(String, String)>> {
    let schema = plan.final_schema();
    if let Some(tokens) = &plan.tokens {
        let mut cols = vec![
            (tokens.ids.clone(), INPUT_IDS.to_string()),
            (tokens.count.clone(), NUM_TOKENS.to_string()),
            (ID.to_string(), DOC_ID.to_string()),
            (SOURCE.to_string(), SOURCE.to_string()),
        ];
        for c in &plan.config.output.keep_columns {
            if schema.field_with_name(c).is_err() {
                return Err(Error::Invalid(format!(
                    "output.keep_columns: no column `{c}` after the last stage (columns: {})",
                    schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if !cols.iter().any(|(from, to)| from == c || to == c) {
                cols.push((c.clone(), c.clone()));
            }
        }
        Ok(cols)
    } else {
        Ok(schema.fields().iter().map(|f| (f.name().clone(), f.name().clone())).collect())
    }
}

/// Schema of the documents the layout receives (the documents-layout shard schema).
pub fn document_schema(plan: &Plan) -> Result<SchemaRef> {
    let schema = plan.final_schema();
    let fields: Vec<Field> = output_columns(plan)?
        .into_iter()
        .map(|(from, to)| schema.field_with_name(&from).map(|f| f.as_ref().clone().with_name(to)))
        .collect::<std::result::Result<_, _>>()?;
    Ok(Arc::new(Schema::new(fields).with_metadata(shard_metadata(plan))))
}

fn shard_metadata(plan: &Plan) -> std::collections::HashMap<String, String> {
    let o = &plan.config.output;
    let meta = serde_json::json!({
        "format": "sluice",
        "layout": o.layout.name(),
        "seq_len": o.seq_len,
        "tokenizer": plan.tokenizer_info(),
    });
    [("sluice".to_string(), meta.to_string())].into()
}

/// Schema of the shards for a plan (per its layout).
pub fn shard_schema(plan: &Plan) -> Result<SchemaRef> {
    match plan.config.output.layout {
        Layout::Documents => document_schema(plan),
        Layout::Packed => Ok(packed::packed_schema(shard_metadata(plan))),
    }
}

/// Columns of the shards written with dictionary encoding.
pub fn dictionary_columns(layout: Layout, tokenized: bool) -> Vec<&'static str> {
    match layout {
        Layout::Packed => vec![],
        Layout::Documents if tokenized => vec![DOC_ID, SOURCE],
        Layout::Documents => vec![SOURCE],
    }
}

/// The pad id of the packed layout: `output.pad_id`, else EOS, else 0.
pub fn pad_id(plan: &Plan) -> i32 {
    plan.config
        .output
        .pad_id
        .or_else(|| plan.tokenizer_info().and_then(|t| t.eos_id).map(|e| e as i32))
        .unwrap_or(0)
}

/// A side output part: one Parquet file per slice, written under a temporary name and
/// renamed to its committed name when the slice commits.
struct SideWriter {
    writer: ArrowWriter<HashingFile>,
    tmp: PathBuf,
    rows: u64,
}

impl SideWriter {
    fn new(
        out_dir: &Path,
        kind: &str,
        stem: &str,
        schema: SchemaRef,
        dict: &[&str],
        ledger: &Ledger,
    ) -> Result<Self> {
        let dir = out_dir.join(kind);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let tmp = dir.join(format!(".{stem}.parquet.tmp"));
        ledger.record(&tmp)?;
        let props = shards::writer_properties(dict, Vec::new())?;
        let writer = ArrowWriter::try_new(HashingFile::create(&tmp)?, schema, Some(props))?;
        Ok(SideWriter { writer, tmp, rows: 0 })
    }

    fn finish(mut self, out_dir: &Path, rel: String, ledger: &Ledger) -> Result<SidePart> {
        self.writer.finish()?;
        self.writer.inner_mut().finish(&self.tmp)?;
        let dest = out_dir.join(&rel);
        ledger.record(&dest)?;
        std::fs::rename(&self.tmp, &dest).map_err(|e| Error::io(&dest, e))?;
        Ok(SidePart { kind: String::new(), name: String::new(), path: rel, rows: self.rows })
    }
}

/// Schema of `dropped/`: id, source, text, stage, reason.
pub fn dropped_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(DOC_ID, DataType::Utf8, false),
        Field::new(SOURCE, DataType::Utf8, false),
        Field::new(TEXT, DataType::Utf8, true),
        Field::new("stage", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
    ]))
}

/// One split's writer for the slice in progress, with its packer in the packed layout.
struct SplitOut {
    name: &'static str,
    writer: SplitWriter,
    packer: Option<Packer>,
    /// `output.shuffle`: the slice's spill files instead of shards.
    buckets: Option<BucketWriter>,
    stats: SplitStats,
}

/// One committed part of a side output (a slice's rows of `dropped/`, `duplicates/<id>`,
/// `quarantine/`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SidePart {
    /// `dropped`, `duplicates`, `quarantine`.
    pub kind: String,
    /// File stem of the final files (`dropped`, the stage id, `bad_records`).
    pub name: String,
    /// Committed path, relative to the output directory.
    pub path: String,
    /// Rows (records) in it.
    pub rows: u64,
}

/// One split's committed part of a slice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SplitPart {
    /// Split name.
    pub name: String,
    /// Committed shards, in order (paths relative to the output directory).
    pub shards: Vec<ShardInfo>,
    /// Counters.
    pub stats: SplitStats,
    /// `output.shuffle`: the slice's spill files (its shards are written by `finalize`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<BucketPart>,
}

/// The writers of the slice in progress.
struct SliceOut {
    slice: usize,
    splits: Vec<SplitOut>,
    dropped: Option<SideWriter>,
    sides: Vec<Option<SideWriter>>,
    quarantine: Option<(std::io::BufWriter<std::fs::File>, PathBuf, u64)>,
}

/// Writes the output of a run, one slice at a time.
pub struct Sink {
    out_dir: PathBuf,
    seed: u64,
    fraction: f64,
    columns: Vec<(String, String)>,
    schema: SchemaRef,
    shard_schema: SchemaRef,
    props: parquet::file::properties::WriterProperties,
    tokenized: bool,
    write_dropped: bool,
    output: crate::config::OutputConfig,
    pad_id: i32,
    side_outputs: Vec<crate::stage::SideOutput>,
    ledger: Arc<Ledger>,
    cur: Option<SliceOut>,
    /// `output.shuffle`: the spec and the spill schema.
    shuffle: Option<(Arc<ShuffleSpec>, SchemaRef)>,
}

/// Committed name of shard `k` of `split` in `slice`.
pub fn part_name(split: &str, slice: usize, k: usize) -> String {
    format!("{split}/.part-{slice:05}-{k:03}.parquet")
}

impl Sink {
    /// A sink for `plan` writing into `out_dir`, recording every file in `ledger`.
    pub fn new(plan: &Plan, out_dir: &Path, ledger: Arc<Ledger>) -> Result<Sink> {
        let o = &plan.config.output;
        let tokenized = plan.tokenized();
        let dict = dictionary_columns(o.layout, tokenized);
        let schema = document_schema(plan)?;
        let shuffle = ShuffleSpec::of(plan).map(|s| (Arc::new(s), shuffle::spill_schema(&schema)));
        Ok(Sink {
            out_dir: out_dir.to_path_buf(),
            seed: plan.config.seed,
            fraction: o.validation_fraction,
            columns: output_columns(plan)?,
            schema,
            shard_schema: shard_schema(plan)?,
            props: shards::writer_properties(&dict, Vec::new())?,
            tokenized,
            write_dropped: o.write_dropped,
            output: o.clone(),
            pad_id: pad_id(plan),
            side_outputs: plan.side_outputs.clone(),
            ledger,
            cur: None,
            shuffle,
        })
    }

    /// The writers of `slice`, opened on first use.
    fn at(&mut self, slice: usize) -> Result<&mut SliceOut> {
        if self.cur.as_ref().is_some_and(|c| c.slice != slice) {
            return Err(Error::Internal(format!(
                "slice {slice} written before the last one committed"
            )));
        }
        if self.cur.is_none() {
            let o = &self.output;
            let splits = SPLITS
                .iter()
                .map(|s| SplitOut {
                    name: s,
                    writer: SplitWriter::new(
                        s,
                        &self.out_dir,
                        Arc::clone(&self.shard_schema),
                        self.props.clone(),
                        self.tokenized.then(|| NUM_TOKENS.to_string()),
                        TEXT.to_string(),
                        if self.tokenized { o.shard_tokens } else { o.shard_text_bytes },
                        if self.tokenized { o.row_group_tokens } else { o.row_group_text_bytes },
                        Arc::clone(&self.ledger),
                        format!("{s}-{slice:05}-"),
                    ),
                    buckets: self.shuffle.as_ref().map(|(spec, schema)| {
                        BucketWriter::new(
                            &self.out_dir,
                            s,
                            slice,
                            Arc::clone(spec),
                            Arc::clone(schema),
                        )
                    }),
                    packer: (o.layout == Layout::Packed && self.shuffle.is_none()).then(|| {
                        Packer::new(
                            o.seq_len.unwrap_or(1) as usize,
                            self.pad_id,
                            o.drop_last,
                            Arc::clone(&self.shard_schema),
                        )
                    }),
                    stats: SplitStats::default(),
                })
                .collect();
            self.cur = Some(SliceOut {
                slice,
                splits,
                dropped: None,
                sides: self.side_outputs.iter().map(|_| None).collect(),
                quarantine: None,
            });
        }
        Ok(self.cur.as_mut().expect("just opened"))
    }

    /// Writes kept documents of `slice`; returns (documents, tokens) per split.
    pub fn write(&mut self, slice: usize, batch: &RecordBatch) -> Result<Vec<(u64, u64)>> {
        let cols: Vec<ArrayRef> = self
            .columns
            .iter()
            .map(|(from, _)| {
                batch
                    .column_by_name(from)
                    .cloned()
                    .ok_or_else(|| Error::Internal(format!("column `{from}` missing")))
            })
            .collect::<Result<_>>()?;
        let out = match &self.shuffle {
            None => RecordBatch::try_new(Arc::clone(&self.schema), cols)?,
            Some((spec, schema)) => {
                let (k1, k2) = shuffle::keys(batch, spec.seed)?;
                let mut cols = cols;
                cols.push(Arc::new(k1));
                cols.push(Arc::new(k2));
                RecordBatch::try_new(Arc::clone(schema), cols)?
            }
        };
        let ledger = Arc::clone(&self.ledger);
        // the split is decided on the origin key, so every copy of a document goes with it
        let key = if batch.column_by_name(ORIGIN_ID).is_some() { ORIGIN_ID } else { ID };
        let ids = crate::stage::string_column(batch, key)?;
        let (seed, fraction) = (self.seed, self.fraction);
        let val: BooleanArray =
            ids.iter().map(|id| Some(is_validation(seed, id.unwrap_or(""), fraction))).collect();
        let cur = self.at(slice)?;
        let mut counts = vec![(0, 0); SPLITS.len()];
        for (i, mask) in [arrow::compute::not(&val)?, val].iter().enumerate() {
            let part = if mask.true_count() == batch.num_rows() {
                out.clone()
            } else {
                arrow::compute::filter_record_batch(&out, mask)?
            };
            if part.num_rows() == 0 {
                continue;
            }
            let tokens = part
                .column_by_name(NUM_TOKENS)
                .and_then(|c| {
                    c.as_any()
                        .downcast_ref::<arrow::array::Int32Array>()
                        .map(|a| a.values().iter().map(|v| *v as u64).sum())
                })
                .unwrap_or(0);
            counts[i] = (part.num_rows() as u64, tokens);
            let split = &mut cur.splits[i];
            split.stats.documents += part.num_rows() as u64;
            split.stats.tokens += tokens;
            if let Some(b) = &mut split.buckets {
                b.write(&part, &ledger)?;
                continue;
            }
            match &mut split.packer {
                None => {
                    split.stats.rows += part.num_rows() as u64;
                    split.writer.write(&part)?;
                }
                Some(p) => {
                    if let Some(rows) = p.push(&part)? {
                        split.stats.rows += rows.num_rows() as u64;
                        split.writer.write(&rows)?;
                    }
                }
            }
        }
        Ok(counts)
    }

    /// Writes documents dropped by a stage with their reasons (only when enabled).
    pub fn write_dropped(&mut self, slice: usize, batch: &RecordBatch) -> Result<()> {
        if !self.write_dropped || batch.num_rows() == 0 {
            return Ok(());
        }
        let (out_dir, ledger) = (self.out_dir.clone(), Arc::clone(&self.ledger));
        let cur = self.at(slice)?;
        if cur.dropped.is_none() {
            let stem = format!("dropped-{slice:05}");
            let dict = ["stage", "reason", SOURCE];
            cur.dropped = Some(SideWriter::new(
                &out_dir,
                "dropped",
                &stem,
                dropped_schema(),
                &dict,
                &ledger,
            )?);
        }
        let w = cur.dropped.as_mut().expect("just opened");
        w.rows += batch.num_rows() as u64;
        w.writer.write(batch)?;
        Ok(())
    }

    /// Writes rows of the `k`-th declared side output (`plan.side_outputs[k]`).
    pub fn write_side(&mut self, slice: usize, k: usize, batch: &RecordBatch) -> Result<()> {
        let spec = self
            .side_outputs
            .get(k)
            .cloned()
            .ok_or_else(|| Error::Internal(format!("no side output {k}")))?;
        let (out_dir, ledger) = (self.out_dir.clone(), Arc::clone(&self.ledger));
        let cur = self.at(slice)?;
        if cur.sides[k].is_none() {
            let stem = format!("{}-{slice:05}", spec.name);
            cur.sides[k] =
                Some(SideWriter::new(&out_dir, spec.kind, &stem, spec.schema, &[SOURCE], &ledger)?);
        }
        let w = cur.sides[k].as_mut().expect("just opened");
        w.rows += batch.num_rows() as u64;
        w.writer.write(batch)?;
        Ok(())
    }

    /// True when dropped documents are collected.
    pub fn wants_dropped(&self) -> bool {
        self.write_dropped
    }

    /// Appends bad records to the slice's part of `quarantine/bad_records.jsonl`.
    pub fn quarantine(&mut self, slice: usize, bad: &[BadRecord]) -> Result<()> {
        if bad.is_empty() {
            return Ok(());
        }
        let (out_dir, ledger) = (self.out_dir.clone(), Arc::clone(&self.ledger));
        let cur = self.at(slice)?;
        if cur.quarantine.is_none() {
            let dir = out_dir.join("quarantine");
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            let tmp = dir.join(format!(".bad_records-{slice:05}.jsonl.tmp"));
            ledger.record(&tmp)?;
            let f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            cur.quarantine = Some((std::io::BufWriter::new(f), tmp, 0));
        }
        let (w, tmp, n) = cur.quarantine.as_mut().expect("just opened");
        for b in bad {
            let line = serde_json::to_string(b).map_err(|e| Error::Internal(e.to_string()))?;
            writeln!(w, "{line}").map_err(|e| Error::io(tmp.clone(), e))?;
            *n += b.records;
        }
        Ok(())
    }

    /// Closes the slice's writers (flushing the packers: the last row of a slice is padded or
    /// dropped) and renames its files to their committed names; returns what it wrote.
    pub fn commit_slice(&mut self, slice: usize) -> Result<(Vec<SplitPart>, Vec<SidePart>)> {
        self.at(slice)?;
        let cur = self.cur.take().expect("opened");
        let mut splits = Vec::new();
        for mut s in cur.splits {
            if let Some(p) = s.packer.take() {
                let (last, stats) = p.finish()?;
                if let Some(rows) = last {
                    s.stats.rows += rows.num_rows() as u64;
                    s.writer.write(&rows)?;
                }
                s.stats.packing = Some(stats);
            }
            let name = s.name;
            let shards = s.writer.finish(|k| part_name(name, slice, k))?;
            s.stats.shards = shards.len() as u64;
            let buckets = match s.buckets {
                Some(b) => b.commit(&self.ledger)?,
                None => Vec::new(),
            };
            splits.push(SplitPart { name: name.to_string(), shards, stats: s.stats, buckets });
        }
        let mut sides = Vec::new();
        if let Some(d) = cur.dropped {
            let mut p =
                d.finish(&self.out_dir, format!("dropped/.part-{slice:05}.parquet"), &self.ledger)?;
            (p.kind, p.name) = ("dropped".into(), "dropped".into());
            sides.push(p);
        }
        for (spec, w) in self.side_outputs.iter().zip(cur.sides) {
            if let Some(w) = w {
                let rel = format!("{}/.part-{}-{slice:05}.parquet", spec.kind, spec.name);
                let mut p = w.finish(&self.out_dir, rel, &self.ledger)?;
                (p.kind, p.name) = (spec.kind.to_string(), spec.name.clone());
                sides.push(p);
            }
        }
        if let Some((mut w, tmp, rows)) = cur.quarantine {
            w.flush().map_err(|e| Error::io(&tmp, e))?;
            drop(w);
            let rel = format!("quarantine/.part-{slice:05}.jsonl");
            let dest = self.out_dir.join(&rel);
            self.ledger.record(&dest)?;
            std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
            sides.push(SidePart {
                kind: "quarantine".into(),
                name: "bad_records".into(),
                path: rel,
                rows,
            });
        }
        Ok((splits, sides))
    }
}

/// The columns of a batch that [`dropped_rows`] reads.
pub const DROPPED_FROM: [&str; 3] = [ID, SOURCE, TEXT];

/// Builds the rows for `dropped/`: the rejected documents of one filter.
pub fn dropped_rows(
    batch: &RecordBatch,
    stage: &str,
    reasons: &[Option<&'static str>],
) -> Result<RecordBatch> {
    let mask: BooleanArray = reasons.iter().map(|r| Some(r.is_some())).collect();
    // only the columns a dropped row keeps are cut (not wide or nested metadata)
    let schema = batch.schema();
    let cols = DROPPED_FROM.iter().map(|c| schema.index_of(c)).collect::<Result<Vec<_>, _>>()?;
    let rows = arrow::compute::filter_record_batch(&batch.project(&cols)?, &mask)?;
    let n = rows.num_rows();
    let reason: StringArray = reasons.iter().flatten().map(|r| Some(*r)).collect();
    Ok(RecordBatch::try_new(
        dropped_schema(),
        vec![
            Arc::clone(rows.column_by_name(ID).expect("id")),
            Arc::clone(rows.column_by_name(SOURCE).expect("source")),
            Arc::clone(rows.column_by_name(TEXT).expect("text")),
            Arc::new(StringArray::from(vec![stage; n])),
            Arc::new(reason),
        ],
    )?)
}

/// Removes temporary files left by a failed run.
/// (Temporary names carry the slice; siblings' files are left alone.)
pub fn remove_temporaries(out_dir: &Path, slices: &[usize]) {
    let tags: Vec<String> = slices.iter().map(|s| format!("-{s:05}")).collect();
    for sub in ledger::OUTPUT_DIRS {
        if let Ok(entries) = std::fs::read_dir(out_dir.join(sub)) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".tmp") && tags.iter().any(|t| name.contains(t.as_str())) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}
