//! The output side of a run: the train/validation split by a seeded hash of the document id,
//! one [`shards::SplitWriter`] per split, the optional `dropped/` and `quarantine/` side
//! outputs, and the manifest written last as the commit point.

pub mod manifest;
pub mod shards;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::source::BadRecord;
use crate::stage::tokenize::{INPUT_IDS, NUM_TOKENS};
use crate::stage::{ID, SOURCE, TEXT};
use shards::{ShardInfo, SplitWriter};

/// Name of the document-id column in tokenized shards.
pub const DOC_ID: &str = "doc_id";
/// Split names, in manifest order.
pub const SPLITS: [&str; 2] = ["train", "validation"];

/// Parts-per-million resolution of the split hash.
const SPLIT_PPM: u64 = 1_000_000;

/// True when `doc_id` goes to the validation split.
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

/// Schema of the shards for a plan.
pub fn shard_schema(plan: &Plan) -> Result<SchemaRef> {
    let schema = plan.final_schema();
    let fields: Vec<Field> = output_columns(plan)?
        .into_iter()
        .map(|(from, to)| schema.field_with_name(&from).map(|f| f.as_ref().clone().with_name(to)))
        .collect::<std::result::Result<_, _>>()?;
    let meta = serde_json::json!({
        "format": "sluice",
        "layout": "documents",
        "tokenizer": plan.tokenizer_info(),
    });
    Ok(Arc::new(
        Schema::new(fields).with_metadata([("sluice".to_string(), meta.to_string())].into()),
    ))
}

/// Side output of dropped documents (`OUT/dropped/dropped.parquet`).
struct DroppedWriter {
    writer: ArrowWriter<std::fs::File>,
    tmp: PathBuf,
    dest: PathBuf,
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

/// Writes the output of a run.
pub struct Sink {
    out_dir: PathBuf,
    seed: u64,
    fraction: f64,
    columns: Vec<(String, String)>,
    schema: SchemaRef,
    splits: Vec<SplitWriter>,
    dropped: Option<DroppedWriter>,
    quarantine: Option<(std::io::BufWriter<std::fs::File>, PathBuf, PathBuf)>,
    quarantined: u64,
}

/// Removes outputs of an earlier run, so a re-run never mixes shards.
pub fn clear_outputs(out_dir: &Path) -> Result<()> {
    for name in ["manifest.json", "stats.json"] {
        let p = out_dir.join(name);
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
        }
    }
    for name in ["train", "validation", "dropped", "quarantine"] {
        let p = out_dir.join(name);
        if p.exists() {
            std::fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
        }
    }
    Ok(())
}

impl Sink {
    /// Prepares the output directory for `plan`.
    pub fn new(plan: &Plan, out_dir: &Path) -> Result<Sink> {
        std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
        clear_outputs(out_dir)?;
        let o = &plan.config.output;
        let columns = output_columns(plan)?;
        let schema = shard_schema(plan)?;
        let tokenized = plan.tokenized();
        let dict: Vec<&str> = if tokenized { vec![DOC_ID, SOURCE] } else { vec![SOURCE] };
        let props = shards::writer_properties(&dict, Vec::new())?;
        let splits = SPLITS
            .iter()
            .map(|s| {
                SplitWriter::new(
                    s,
                    out_dir,
                    Arc::clone(&schema),
                    props.clone(),
                    tokenized.then(|| NUM_TOKENS.to_string()),
                    TEXT.to_string(),
                    if tokenized { o.shard_tokens } else { o.shard_text_bytes },
                    if tokenized { o.row_group_tokens } else { o.row_group_text_bytes },
                )
            })
            .collect();
        let dropped = if o.write_dropped {
            let dir = out_dir.join("dropped");
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            let tmp = dir.join(".dropped.parquet.tmp");
            let f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            let props = shards::writer_properties(&["stage", "reason", SOURCE], Vec::new())?;
            Some(DroppedWriter {
                writer: ArrowWriter::try_new(f, dropped_schema(), Some(props))?,
                tmp,
                dest: dir.join("dropped.parquet"),
            })
        } else {
            None
        };
        Ok(Sink {
            out_dir: out_dir.to_path_buf(),
            seed: plan.config.seed,
            fraction: o.validation_fraction,
            columns,
            schema,
            splits,
            dropped,
            quarantine: None,
            quarantined: 0,
        })
    }

    /// Writes kept documents; returns (documents, tokens) per split.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<[(u64, u64); 2]> {
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
        let ids = crate::stage::string_column(batch, ID)?;
        let val: BooleanArray = ids
            .iter()
            .map(|id| Some(is_validation(self.seed, id.unwrap_or(""), self.fraction)))
            .collect();
        let mut counts = [(0, 0); 2];
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
            self.splits[i].write(&part)?;
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
            let f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            self.quarantine =
                Some((std::io::BufWriter::new(f), tmp, dir.join("bad_records.jsonl")));
        }
        let (w, tmp, _) = self.quarantine.as_mut().expect("just opened");
        for b in bad {
            let line = serde_json::to_string(b).map_err(|e| Error::Internal(e.to_string()))?;
            writeln!(w, "{line}").map_err(|e| Error::io(tmp.clone(), e))?;
            self.quarantined += b.records;
        }
        Ok(())
    }

    /// Closes every writer and renames files to their final names; returns shards per split.
    pub fn finish(self) -> Result<Vec<(String, Vec<ShardInfo>)>> {
        let mut out = Vec::new();
        for (name, w) in SPLITS.iter().zip(self.splits) {
            out.push((name.to_string(), w.finish()?));
        }
        if let Some(d) = self.dropped {
            d.writer.close()?;
            std::fs::rename(&d.tmp, &d.dest).map_err(|e| Error::io(&d.dest, e))?;
        }
        if let Some((mut w, tmp, dest)) = self.quarantine {
            w.flush().map_err(|e| Error::io(&tmp, e))?;
            drop(w);
            std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
        }
        Ok(out)
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
pub fn remove_temporaries(out_dir: &Path) {
    for sub in ["train", "validation", "dropped", "quarantine"] {
        if let Ok(entries) = std::fs::read_dir(out_dir.join(sub)) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().ends_with(".tmp") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}
