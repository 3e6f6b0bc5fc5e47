//! The executor: a producer thread cuts the input into units (JSONL chunks, Parquet row
//! groups); a rayon pool parses each unit and runs every stage on it; results are put back in
//! input order (a bounded reorder window) and written by the calling thread. Output depends
//! only on the input order, never on the thread count.

mod lazy;
pub mod metrics;
pub mod progress;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use arrow::array::{BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field};

use crate::config::SourceFormat;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::sink::manifest::{Manifest, SourceManifest};
use crate::sink::{self, Sink};
use crate::source::{self, BadRecord, InputFile, ReadOutput, jsonl, parquet};
use crate::stage::tokenize::NUM_TOKENS;
use crate::stage::{BatchContext, BuiltStage, FilterMode, TEXT};
use lazy::LazyBatch;
use metrics::{InputStats, RunStats, StageStats};

/// Runtime knobs (CLI flags, never pipeline fields).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Worker threads.
    pub threads: usize,
    /// Units in flight (bounded memory): default 4 × threads.
    pub window: usize,
    /// Largest JSONL chunk in bytes.
    pub chunk_bytes: usize,
    /// Largest JSONL chunk in lines.
    pub chunk_lines: usize,
    /// Draw a progress bar.
    pub progress: bool,
}

impl RunOptions {
    /// Defaults for `threads` workers.
    pub fn with_threads(threads: usize) -> Self {
        RunOptions {
            threads,
            window: 4 * threads,
            chunk_bytes: 1 << 20,
            chunk_lines: 2048,
            progress: false,
        }
    }
}

enum UnitKind {
    Lines(jsonl::Chunk),
    RowGroup { index: usize, first_row: u64, rows: u64 },
    Failed(BadRecord),
}

struct Unit {
    seq: u64,
    file: Arc<InputFile>,
    kind: UnitKind,
    input_bytes: u64,
}

struct UnitResult {
    source: usize,
    input_bytes: u64,
    read: ReadOutput,
    documents: u64,
    read_seconds: f64,
    batch: Option<RecordBatch>,
    stages: Vec<StageStats>,
    dropped: Vec<RecordBatch>,
}

fn file_failure(
    file: &InputFile,
    kind: &'static str,
    line: Option<u64>,
    message: String,
) -> UnitKind {
    UnitKind::Failed(BadRecord {
        kind,
        file: file.display(),
        line,
        message,
        record: None,
        records: 1,
    })
}

/// Cuts every input file into units, in order; stops early when `stop` is set.
fn produce(plan: &Plan, opts: &RunOptions, tx: mpsc::SyncSender<Unit>, stop: &AtomicBool) {
    let mut seq = 0u64;
    let mut send = |file: &Arc<InputFile>, kind: UnitKind, input_bytes: u64| -> bool {
        let unit = Unit { seq, file: Arc::clone(file), kind, input_bytes };
        seq += 1;
        !stop.load(Ordering::Relaxed) && tx.send(unit).is_ok()
    };
    for s in &plan.sources {
        for file in &s.files {
            match file.format {
                SourceFormat::Jsonl => {
                    let count = Arc::new(AtomicU64::new(0));
                    let reader = match jsonl::open(file, Arc::clone(&count)) {
                        Ok(r) => r,
                        Err(e) => {
                            let k = file_failure(
                                file,
                                "unreadable_file",
                                None,
                                format!("cannot open: {e}"),
                            );
                            if !send(file, k, file.bytes) {
                                return;
                            }
                            continue;
                        }
                    };
                    let mut last = 0;
                    for cut in jsonl::Chunker::new(reader, opts.chunk_bytes, opts.chunk_lines) {
                        let now = count.load(Ordering::Relaxed).min(file.bytes);
                        let bytes = now - last;
                        last = now;
                        let kind = match cut {
                            jsonl::Cut::Chunk(c) => UnitKind::Lines(c),
                            jsonl::Cut::Failed { line, message } => {
                                let mut k =
                                    file_failure(file, "truncated_file", Some(line), message);
                                if let UnitKind::Failed(b) = &mut k {
                                    b.records = 1;
                                }
                                k
                            }
                            jsonl::Cut::Empty => file_failure(
                                file,
                                "empty_file",
                                None,
                                "the file holds no records".into(),
                            ),
                        };
                        if !send(file, kind, bytes) {
                            return;
                        }
                    }
                    // Compressed bytes read after the last chunk (trailers, buffering) still
                    // count towards the progress bar: an empty unit carries them.
                    let rest = file.bytes.saturating_sub(last);
                    if rest > 0
                        && !send(
                            file,
                            UnitKind::Lines(jsonl::Chunk { data: Vec::new(), first_line: 0 }),
                            rest,
                        )
                    {
                        return;
                    }
                }
                SourceFormat::Parquet => match parquet::row_groups(file) {
                    Ok(groups) if groups.is_empty() || groups.iter().all(|&n| n == 0) => {
                        let k = file_failure(
                            file,
                            "empty_file",
                            None,
                            "the Parquet file holds no rows".into(),
                        );
                        if !send(file, k, file.bytes) {
                            return;
                        }
                    }
                    Ok(groups) => {
                        let mut first_row = 0;
                        let per = file.bytes / groups.len() as u64;
                        for (index, rows) in groups.iter().enumerate() {
                            let kind = UnitKind::RowGroup { index, first_row, rows: *rows };
                            if !send(file, kind, per) {
                                return;
                            }
                            first_row += rows;
                        }
                    }
                    Err(e) => {
                        let k = file_failure(file, "corrupt_file", None, e.to_string());
                        if !send(file, k, file.bytes) {
                            return;
                        }
                    }
                },
            }
        }
    }
}

/// Derives the per-stage, per-batch seed.
fn stage_seed(seed: u64, stage: usize, seq: u64) -> u64 {
    let mut key = [0u8; 24];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(stage as u64).to_le_bytes());
    key[16..].copy_from_slice(&seq.to_le_bytes());
    xxhash_rust::xxh3::xxh3_64(&key)
}

fn text_bytes(batch: &RecordBatch) -> u64 {
    batch
        .column_by_name(TEXT)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>().map(|s| s.values().len() as u64))
        .unwrap_or(0)
}

/// Runs every stage on one batch. Row drops are deferred (see [`lazy`]): a filter that names
/// the columns it reads sees only those.
fn run_stages(
    plan: &Plan,
    batch: RecordBatch,
    seq: u64,
    want_dropped: bool,
    stats: &mut [StageStats],
    dropped: &mut Vec<RecordBatch>,
) -> Result<Option<RecordBatch>> {
    let mut batch = LazyBatch::new(batch);
    for (i, st) in plan.stages.iter().enumerate() {
        if batch.num_rows() == 0 {
            return Ok(None);
        }
        let t0 = Instant::now();
        let ctx = BatchContext { seq, seed: stage_seed(plan.config.seed, i, seq) };
        let s = &mut stats[i];
        s.docs_in += batch.num_rows() as u64;
        s.bytes_in += text_bytes(&batch.view(&[TEXT])?);
        match &st.stage {
            BuiltStage::Transform(t) => {
                let out = t.apply(batch.whole()?, &ctx).map_err(|e| e.in_stage(&st.id))?;
                if let Some(c) = out
                    .column_by_name(NUM_TOKENS)
                    .and_then(|c| c.as_any().downcast_ref::<arrow::array::Int32Array>().cloned())
                {
                    s.tokens += c.values().iter().map(|v| *v as u64).sum::<u64>();
                }
                batch = LazyBatch::new(out);
            }
            BuiltStage::Filter(f, mode) => {
                let input = match f.reads() {
                    Some(cols) => batch.view(&cols)?,
                    None => batch.whole()?,
                };
                let v = f.evaluate(&input, &ctx).map_err(|e| e.in_stage(&st.id))?;
                if v.reasons.len() != batch.num_rows() {
                    return Err(Error::Internal(format!(
                        "stage `{}` returned {} decisions for {} rows",
                        st.id,
                        v.reasons.len(),
                        batch.num_rows()
                    )));
                }
                let rejected = v.reasons.iter().filter(|r| r.is_some()).count();
                // the rows as they came in (before a rewrite of their text)
                let original = (want_dropped && rejected > 0 && *mode == FilterMode::Drop)
                    .then(|| batch.view(&sink::DROPPED_FROM))
                    .transpose()?;
                if let Some(t) = v.new_text {
                    let nullable = batch.schema().field_with_name(TEXT)?.is_nullable();
                    batch.set_column(Field::new(TEXT, DataType::Utf8, nullable), t);
                }
                for (field, col) in f.annotation_fields().into_iter().zip(v.annotations) {
                    batch.set_column(field.as_ref().clone(), col);
                }
                for r in v.reasons.iter().flatten() {
                    *s.reasons.entry((*r).to_string()).or_insert(0) += 1;
                }
                match mode {
                    FilterMode::Annotate => {
                        let col: StringArray = v.reasons.iter().copied().collect();
                        batch.set_column(
                            Field::new(st.reason_column(), DataType::Utf8, true),
                            Arc::new(col),
                        );
                    }
                    FilterMode::Drop if rejected == 0 => {}
                    FilterMode::Drop => {
                        if let Some(original) = original {
                            dropped.push(sink::dropped_rows(&original, &st.id, &v.reasons)?);
                        }
                        let keep: BooleanArray =
                            v.reasons.iter().map(|r| Some(r.is_none())).collect();
                        batch.keep(&keep)?;
                    }
                }
            }
        }
        s.docs_out += batch.num_rows() as u64;
        s.seconds += t0.elapsed().as_secs_f64();
    }
    let t0 = Instant::now();
    let out = batch.whole()?;
    // cutting the columns no filter read is the last filter's work
    if let Some(s) = stats.last_mut() {
        s.seconds += t0.elapsed().as_secs_f64();
    }
    Ok((out.num_rows() > 0).then_some(out))
}

fn process(plan: &Plan, unit: Unit, want_dropped: bool) -> Result<UnitResult> {
    let t0 = Instant::now();
    let source = &plan.sources[unit.file.source];
    let read = match unit.kind {
        UnitKind::Lines(chunk) => jsonl::parse_chunk(&chunk, &unit.file, source, &plan.doc_schema)?,
        UnitKind::RowGroup { index, first_row, rows } => {
            parquet::read_row_group(&unit.file, index, first_row, rows, source, &plan.doc_schema)?
        }
        UnitKind::Failed(bad) => ReadOutput { bad: vec![bad], ..Default::default() },
    };
    let mut read = source::apply_policy(read, plan.config.on_error)?;
    let read_seconds = t0.elapsed().as_secs_f64();
    let mut stages = empty_stage_stats(plan);
    let mut dropped = Vec::new();
    let documents = read.batch.as_ref().map_or(0, |b| b.num_rows() as u64);
    let batch = match read.batch.take() {
        Some(b) => run_stages(plan, b, unit.seq, want_dropped, &mut stages, &mut dropped)?,
        None => None,
    };
    Ok(UnitResult {
        source: unit.file.source,
        input_bytes: unit.input_bytes,
        read,
        documents,
        read_seconds,
        batch,
        stages,
        dropped,
    })
}

/// Zeroed counters for every stage of `plan`.
fn empty_stage_stats(plan: &Plan) -> Vec<StageStats> {
    plan.stages
        .iter()
        .map(|s| StageStats {
            id: s.id.clone(),
            type_name: s.type_name.to_string(),
            mode: match &s.stage {
                BuiltStage::Transform(_) => "transform".into(),
                BuiltStage::Filter(_, FilterMode::Drop) => "drop".into(),
                BuiltStage::Filter(_, FilterMode::Annotate) => "annotate".into(),
            },
            ..Default::default()
        })
        .collect()
}

/// What a finished run reports.
pub struct RunOutcome {
    /// Statistics (also written to `stats.json`).
    pub stats: RunStats,
    /// The manifest (also written to `manifest.json`).
    pub manifest: Manifest,
}

/// Runs a plan, writing into `out_dir`.
pub fn run(plan: &Plan, out_dir: &Path, opts: &RunOptions) -> Result<RunOutcome> {
    let result = run_inner(plan, out_dir, opts);
    if result.is_err() {
        sink::remove_temporaries(out_dir);
    }
    result
}

fn run_inner(plan: &Plan, out_dir: &Path, opts: &RunOptions) -> Result<RunOutcome> {
    let start = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.max(1))
        .thread_name(|i| format!("sluice-worker-{i}"))
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the thread pool: {e}")))?;
    let mut sink = Sink::new(plan, out_dir)?;
    let want_dropped = sink.wants_dropped();
    let total_bytes: u64 = plan.sources.iter().flat_map(|s| &s.files).map(|f| f.bytes).sum();
    let mut progress = progress::Progress::new(total_bytes, opts.progress);
    let mut input = InputStats {
        files: plan.sources.iter().map(|s| s.files.len() as u64).sum(),
        bytes: total_bytes,
        ..Default::default()
    };
    let mut stage_totals = empty_stage_stats(plan);
    let mut per_source: Vec<SourceManifest> = plan
        .sources
        .iter()
        .map(|s| SourceManifest {
            name: s.config.name.clone(),
            paths: s.config.paths.clone(),
            weight: s.config.weight,
            ..Default::default()
        })
        .collect();
    let mut splits: BTreeMap<String, metrics::SplitStats> = BTreeMap::new();
    let window = opts.window.max(1);
    let stop = AtomicBool::new(false);

    let outcome: Result<()> = std::thread::scope(|scope| {
        let (unit_tx, unit_rx) = mpsc::sync_channel::<Unit>(window);
        let producer = scope.spawn(|| produce(plan, opts, unit_tx, &stop));
        let (res_tx, res_rx) = mpsc::channel::<(u64, Result<UnitResult>)>();
        let mut in_flight = 0usize;
        let mut pending: BTreeMap<u64, Result<UnitResult>> = BTreeMap::new();
        let mut next_emit = 0u64;
        let mut exhausted = false;
        let result = pool.in_place_scope(|scope| -> Result<()> {
            loop {
                while !exhausted && in_flight < window {
                    match unit_rx.recv() {
                        Ok(unit) => {
                            let tx = res_tx.clone();
                            let seq = unit.seq;
                            scope.spawn(move |_| {
                                let r = process(plan, unit, want_dropped);
                                let _ = tx.send((seq, r));
                            });
                            in_flight += 1;
                        }
                        Err(_) => exhausted = true,
                    }
                }
                if in_flight == 0 {
                    return Ok(());
                }
                let (seq, r) =
                    res_rx.recv().map_err(|_| Error::Internal("a worker vanished".into()))?;
                pending.insert(seq, r);
                while let Some(r) = pending.remove(&next_emit) {
                    next_emit += 1;
                    in_flight -= 1;
                    let r = r?;
                    progress.advance(r.input_bytes, r.read.records);
                    input.add_read(&r.read, r.documents, r.read_seconds);
                    sink.quarantine(&r.read.bad)?;
                    for d in &r.dropped {
                        sink.write_dropped(d)?;
                    }
                    stage_totals.iter_mut().zip(&r.stages).for_each(|(a, b)| a.merge(b));
                    if let Some(b) = &r.batch {
                        let counts = sink.write(b)?;
                        for (name, (docs, toks)) in sink::SPLITS.iter().zip(counts) {
                            let s = splits.entry(name.to_string()).or_default();
                            s.documents += docs;
                            s.tokens += toks;
                            per_source[r.source].documents += docs;
                            per_source[r.source].tokens += toks;
                        }
                    }
                }
            }
        });
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        drop(unit_rx);
        producer.join().map_err(|_| Error::Internal("the reader thread panicked".into()))?;
        result
    });
    progress.finish();
    outcome?;
    let shards = sink.finish()?;
    for (name, list) in &shards {
        splits.entry(name.clone()).or_default().shards = list.len() as u64;
    }
    let manifest = Manifest::new(plan, shards, per_source);
    let stats = RunStats {
        pipeline: plan.config.name.clone(),
        threads: opts.threads,
        wall_seconds: start.elapsed().as_secs_f64(),
        input,
        stages: stage_totals,
        output: splits,
        peak_rss_bytes: metrics::peak_rss_bytes(),
    };
    let stats_path = out_dir.join("stats.json");
    std::fs::write(
        &stats_path,
        serde_json::to_string_pretty(&stats).expect("stats serialize") + "\n",
    )
    .map_err(|e| Error::io(&stats_path, e))?;
    let tmp = out_dir.join(".manifest.json.tmp");
    std::fs::write(&tmp, manifest.to_json()).map_err(|e| Error::io(&tmp, e))?;
    let dest = out_dir.join("manifest.json");
    std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
    Ok(RunOutcome { stats, manifest })
}
