//! The output pipeline of a run: split (train/validation by a seeded hash of the origin key, so
//! no copy of a validation document lands in train) → layout (`documents`, or `packed` rows
//! per split) → one [`shards::SplitWriter`] per split; side outputs (`dropped/`,
//! `quarantine/`, and those the stages declare at plan time, such as `duplicates/`); and the
//! commit: `stats.json`, then `manifest.json` last (no manifest, no dataset).

pub mod ledger;
pub mod lock;
pub mod manifest;
pub mod packed;
pub mod shards;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;

use crate::config::Layout;
use crate::error::{Error, Result};
use crate::exec::metrics::{RunStats, SplitStats};
use crate::plan::Plan;
use crate::source::BadRecord;
use crate::stage::tokenize::{INPUT_IDS, NUM_TOKENS};
use crate::stage::{ID, ORIGIN_ID, SOURCE, TEXT};
use ledger::Ledger;
use manifest::Manifest;
use packed::Packer;
use shards::{HashingFile, ShardInfo, SplitWriter};

/// Name of the document-id column in tokenized shards.
pub const DOC_ID: &str = "doc_id";
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
    if plan.tokenized() {
        let mut cols = vec![
            (INPUT_IDS.to_string(), INPUT_IDS.to_string()),
            (NUM_TOKENS.to_string(), NUM_TOKENS.to_string()),
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
            if !cols.iter().any(|(from, _)| from == c) {
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

/// The pad id of the packed layout: `output.pad_id`, else EOS, else 0.
pub fn pad_id(plan: &Plan) -> i32 {
    plan.config
        .output
        .pad_id
        .or_else(|| plan.tokenizer_info().and_then(|t| t.eos_id).map(|e| e as i32))
        .unwrap_or(0)
}

/// A side output: one Parquet file written under a temporary name, renamed when complete.
struct SideWriter {
    writer: ArrowWriter<HashingFile>,
    tmp: PathBuf,
    dest: PathBuf,
}

impl SideWriter {
    fn new(
        out_dir: &Path,
        kind: &str,
        name: &str,
        schema: SchemaRef,
        dict: &[&str],
        ledger: &Ledger,
    ) -> Result<Self> {
        let dir = out_dir.join(kind);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let tmp = dir.join(format!(".{name}.parquet.tmp"));
        let dest = dir.join(format!("{name}.parquet"));
        ledger.record(&tmp)?;
        ledger.record(&dest)?;
        let props = shards::writer_properties(dict, Vec::new())?;
        let writer = ArrowWriter::try_new(HashingFile::create(&tmp)?, schema, Some(props))?;
        Ok(SideWriter { writer, tmp, dest })
    }

    fn finish(mut self) -> Result<()> {
        self.writer.finish()?;
        self.writer.inner_mut().finish(&self.tmp)?;
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| Error::io(&self.dest, e))
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

/// One split's writer, with its packer in the packed layout.
struct SplitOut {
    name: &'static str,
    writer: SplitWriter,
    packer: Option<Packer>,
    stats: SplitStats,
}

/// Writes the output of a run.
pub struct Sink {
    out_dir: PathBuf,
    seed: u64,
    fraction: f64,
    columns: Vec<(String, String)>,
    schema: SchemaRef,
    splits: Vec<SplitOut>,
    dropped: Option<SideWriter>,
    sides: Vec<SideWriter>,
    quarantine: Option<(std::io::BufWriter<std::fs::File>, PathBuf, PathBuf)>,
    quarantined: u64,
    ledger: Arc<Ledger>,
}

/// What the sink wrote, per split.
pub struct Finished {
    /// (split name, shards, counters), in manifest order.
    pub splits: Vec<(String, Vec<ShardInfo>, SplitStats)>,
}

impl Finished {
    /// Counters per split, for `stats.json`.
    pub fn split_stats(&self) -> BTreeMap<String, SplitStats> {
        self.splits.iter().map(|(n, _, s)| (n.clone(), s.clone())).collect()
    }
}

impl Sink {
    /// Prepares the output directory for `plan`: deletes the files the last run recorded in
    /// its ledger (and only those) and opens the writers.
    pub fn new(plan: &Plan, out_dir: &Path) -> Result<Sink> {
        let ledger = Arc::new(Ledger::start(out_dir)?);
        let o = &plan.config.output;
        let columns = output_columns(plan)?;
        let doc_schema = document_schema(plan)?;
        let schema = shard_schema(plan)?;
        let tokenized = plan.tokenized();
        let dict: Vec<&str> = match o.layout {
            Layout::Packed => vec![],
            Layout::Documents if tokenized => vec![DOC_ID, SOURCE],
            Layout::Documents => vec![SOURCE],
        };
        let props = shards::writer_properties(&dict, Vec::new())?;
        let splits = SPLITS
            .iter()
            .map(|s| SplitOut {
                name: s,
                writer: SplitWriter::new(
                    s,
                    out_dir,
                    Arc::clone(&schema),
                    props.clone(),
                    tokenized.then(|| NUM_TOKENS.to_string()),
                    TEXT.to_string(),
                    if tokenized { o.shard_tokens } else { o.shard_text_bytes },
                    if tokenized { o.row_group_tokens } else { o.row_group_text_bytes },
                    Arc::clone(&ledger),
                ),
                packer: (o.layout == Layout::Packed).then(|| {
                    Packer::new(
                        o.seq_len.unwrap_or(1) as usize,
                        pad_id(plan),
                        o.drop_last,
                        Arc::clone(&schema),
                    )
                }),
                stats: SplitStats::default(),
            })
            .collect();
        let dropped = o
            .write_dropped
            .then(|| {
                SideWriter::new(
                    out_dir,
                    "dropped",
                    "dropped",
                    dropped_schema(),
                    &["stage", "reason", SOURCE],
                    &ledger,
                )
            })
            .transpose()?;
        let sides = plan
            .side_outputs
            .iter()
            .map(|s| {
                SideWriter::new(out_dir, s.kind, &s.name, Arc::clone(&s.schema), &[SOURCE], &ledger)
            })
            .collect::<Result<_>>()?;
        Ok(Sink {
            out_dir: out_dir.to_path_buf(),
            seed: plan.config.seed,
            fraction: o.validation_fraction,
            columns,
            schema: doc_schema,
            splits,
            dropped,
            sides,
            quarantine: None,
            quarantined: 0,
            ledger,
        })
    }

    /// Writes kept documents; returns (documents, tokens) per split.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<Vec<(u64, u64)>> {
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
        let out = RecordBatch::try_new(Arc::clone(&self.schema), cols)?;
        // the split is decided on the origin key, so every copy of a document goes with it
        let key = if batch.column_by_name(ORIGIN_ID).is_some() { ORIGIN_ID } else { ID };
        let ids = crate::stage::string_column(batch, key)?;
        let val: BooleanArray = ids
            .iter()
            .map(|id| Some(is_validation(self.seed, id.unwrap_or(""), self.fraction)))
            .collect();
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
            let split = &mut self.splits[i];
            split.stats.documents += part.num_rows() as u64;
            split.stats.tokens += tokens;
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

    /// Writes documents dropped by `stage` with their reasons (only when enabled).
    pub fn write_dropped(&mut self, batch: &RecordBatch) -> Result<()> {
        if let Some(d) = &mut self.dropped {
            d.writer.write(batch)?;
        }
        Ok(())
    }

    /// Writes rows of the `k`-th declared side output (`plan.side_outputs[k]`).
    pub fn write_side(&mut self, k: usize, batch: &RecordBatch) -> Result<()> {
        let w =
            self.sides.get_mut(k).ok_or_else(|| Error::Internal(format!("no side output {k}")))?;
        w.writer.write(batch)?;
        Ok(())
    }

    /// True when dropped documents are collected.
    pub fn wants_dropped(&self) -> bool {
        self.dropped.is_some()
    }

    /// Appends bad records to `quarantine/bad_records.jsonl`.
    pub fn quarantine(&mut self, bad: &[BadRecord]) -> Result<()> {
        if bad.is_empty() {
            return Ok(());
        }
        if self.quarantine.is_none() {
            let dir = self.out_dir.join("quarantine");
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            let tmp = dir.join(".bad_records.jsonl.tmp");
            let dest = dir.join("bad_records.jsonl");
            self.ledger.record(&tmp)?;
            self.ledger.record(&dest)?;
            let f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            self.quarantine = Some((std::io::BufWriter::new(f), tmp, dest));
        }
        let (w, tmp, _) = self.quarantine.as_mut().expect("just opened");
        for b in bad {
            let line = serde_json::to_string(b).map_err(|e| Error::Internal(e.to_string()))?;
            writeln!(w, "{line}").map_err(|e| Error::io(tmp.clone(), e))?;
            self.quarantined += b.records;
        }
        Ok(())
    }

    /// Flushes the packers, closes every writer and renames files to their final names.
    pub fn finish(self) -> Result<Finished> {
        let mut splits = Vec::new();
        for mut s in self.splits {
            if let Some(p) = s.packer.take() {
                let (last, stats) = p.finish()?;
                if let Some(rows) = last {
                    s.stats.rows += rows.num_rows() as u64;
                    s.writer.write(&rows)?;
                }
                s.stats.packing = Some(stats);
            }
            let shards = s.writer.finish()?;
            s.stats.shards = shards.len() as u64;
            splits.push((s.name.to_string(), shards, s.stats));
        }
        if let Some(d) = self.dropped {
            d.finish()?;
        }
        for w in self.sides {
            w.finish()?;
        }
        if let Some((mut w, tmp, dest)) = self.quarantine {
            w.flush().map_err(|e| Error::io(&tmp, e))?;
            drop(w);
            std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
        }
        Ok(Finished { splits })
    }
}

/// Writes `stats.json`, then `manifest.json` last (under a temporary name, renamed): the
/// commit point of a run.
pub fn commit(out_dir: &Path, stats: &RunStats, manifest: &Manifest) -> Result<()> {
    let ledger = Ledger::append(out_dir)?;
    let stats_path = out_dir.join("stats.json");
    ledger.record(&stats_path)?;
    std::fs::write(
        &stats_path,
        serde_json::to_string_pretty(stats).expect("stats serialize") + "\n",
    )
    .map_err(|e| Error::io(&stats_path, e))?;
    let tmp = out_dir.join(".manifest.json.tmp");
    let dest = out_dir.join("manifest.json");
    ledger.record(&tmp)?;
    ledger.record(&dest)?;
    std::fs::write(&tmp, manifest.to_json()).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))
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
pub fn remove_temporaries(out_dir: &Path) {
    for sub in ledger::OUTPUT_DIRS {
        if let Ok(entries) = std::fs::read_dir(out_dir.join(sub)) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().ends_with(".tmp") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}
