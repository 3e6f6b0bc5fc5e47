//! The work on one unit: reading it and running a segment of stages on the workers (filters,
//! transforms, row-changing stages, then the `prepare` of the ordered stage that follows), and
//! the in-order decision of an ordered stage on the coordinating thread.

use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Int32Array, RecordBatch, StringArray, StringBuilder, UInt32Array,
};
use arrow::datatypes::{DataType, Field};

use super::lazy::LazyBatch;
use super::metrics::StageStats;
use crate::error::{Error, Result};
use crate::plan::{Plan, PlannedStage};
use crate::sink;
use crate::source::{self, ReadOutput, units};
use crate::stage::{
    BatchContext, BuiltStage, COPY_INDEX, Decider, Expand, FilterMode, ID, ORIGIN_ID, Prepared,
    TEXT, string_column, with_column,
};

/// A unit on its way through the steps, with everything it picked up for the sink. Side
/// outputs travel with it, so they are written in input order whatever the thread timing.
pub(super) struct UnitState {
    /// Position in the input.
    pub seq: u64,
    /// The end-of-input marker: no input, but ordered stages flush on it.
    pub end: bool,
    /// The slice the unit belongs to.
    pub slice: usize,
    /// The slice's end marker: ordered stages export their state delta, the sink commits.
    pub slice_end: bool,
    /// State deltas the ordered stages exported at the slice's end: (stage index, bytes).
    pub deltas: Vec<(usize, Vec<u8>)>,
    /// State of the ordered stages at the slice's end.
    pub state: Vec<super::metrics::StateStats>,
    /// Index of the source the unit came from.
    pub source: usize,
    /// Input bytes the unit accounts for (progress).
    pub input_bytes: u64,
    /// What reading found (bad records, counts).
    pub read: ReadOutput,
    /// Documents the reader produced.
    pub documents: u64,
    /// Thread-seconds spent reading.
    pub read_seconds: f64,
    /// The documents still alive.
    pub batch: Option<RecordBatch>,
    /// The documents an ordered stage kept, with its row drops not cut yet: the cut happens
    /// on a worker in the next segment, not on the coordinating thread.
    pub lazy: Option<LazyBatch>,
    /// Per-stage counter deltas.
    pub stages: Vec<StageStats>,
    /// Dropped rows for `dropped/`.
    pub dropped: Vec<RecordBatch>,
    /// Rows for declared side outputs: (index in `plan.side_outputs`, rows).
    pub side: Vec<(usize, RecordBatch)>,
    /// The next ordered stage's prepared work.
    pub prepared: Option<Prepared>,
}

impl UnitState {
    /// A fresh state for a unit, or (with `unit` = None) a marker of `slice`.
    pub fn new(plan: &Plan, seq: u64, unit: Option<&units::Unit>, slice: usize) -> Self {
        UnitState {
            seq,
            end: false,
            slice,
            slice_end: false,
            deltas: Vec::new(),
            state: Vec::new(),
            source: unit.map_or(0, |u| u.file.source),
            input_bytes: unit.map_or(0, |u| u.input_bytes),
            read: ReadOutput::default(),
            documents: 0,
            read_seconds: 0.0,
            batch: None,
            lazy: None,
            stages: empty_stage_stats(plan),
            dropped: Vec::new(),
            side: Vec::new(),
            prepared: None,
        }
    }
}

/// Zeroed counters for every stage of `plan`.
pub(super) fn empty_stage_stats(plan: &Plan) -> Vec<StageStats> {
    plan.stages
        .iter()
        .map(|s| StageStats {
            id: s.id.clone(),
            type_name: s.type_name.to_string(),
            mode: match &s.stage {
                BuiltStage::Transform(_) => "transform".into(),
                BuiltStage::Filter(_, FilterMode::Drop) => "drop".into(),
                BuiltStage::Filter(_, FilterMode::Annotate) => "annotate".into(),
                BuiltStage::Expand(_) => "row-changing".into(),
                BuiltStage::Ordered(o, _) if o.counted() => "counted".into(),
                BuiltStage::Ordered(_, FilterMode::Drop) => "ordered, drop".into(),
                BuiltStage::Ordered(_, FilterMode::Annotate) => "ordered, annotate".into(),
            },
            ..Default::default()
        })
        .collect()
}

/// Reads the unit (first step only).
pub(super) fn read(plan: &Plan, unit: units::Unit, st: &mut UnitState) -> Result<()> {
    let t0 = Instant::now();
    let read = units::read(unit, &plan.sources, &plan.doc_schema)?;
    let mut read = source::apply_policy(read, plan.config.on_error)?;
    st.read_seconds = t0.elapsed().as_secs_f64();
    st.documents = read.batch.as_ref().map_or(0, |b| b.num_rows() as u64);
    st.batch = read.batch.take();
    st.read = read;
    Ok(())
}

fn text_bytes(batch: &RecordBatch) -> u64 {
    batch
        .column_by_name(TEXT)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>().map(|s| s.values().len() as u64))
        .unwrap_or(0)
}

fn ctx(st: &PlannedStage, seq: u64, counting: bool) -> BatchContext {
    BatchContext { seq, seed: st.seed, counting }
}

/// Runs the stages of one segment on the unit's batch, then the `prepare` of the ordered
/// stage after it. Row drops are deferred (see [`super::lazy`]): a filter that names the
/// columns it reads sees only those. `counting` is the stage whose count pass (or map phase)
/// this is, if any; only that stage sees [`BatchContext::counting`] set.
pub(super) fn run_segment(
    plan: &Plan,
    segment: &crate::plan::Segment,
    want_dropped: bool,
    counting: Option<usize>,
    st: &mut UnitState,
) -> Result<()> {
    let mut batch = match (st.lazy.take(), st.batch.take()) {
        (Some(lazy), _) => lazy,
        (None, Some(input)) => LazyBatch::new(input),
        (None, None) => return Ok(()),
    };
    let mut last = None;
    for i in segment.stages.clone() {
        if batch.num_rows() == 0 {
            break;
        }
        let planned = &plan.stages[i];
        let t0 = Instant::now();
        let c = ctx(planned, st.seq, counting == Some(i));
        let s = &mut st.stages[i];
        s.docs_in += batch.num_rows() as u64;
        s.bytes_in += text_bytes(&batch.view(&[TEXT])?);
        let id = &planned.id;
        match &planned.stage {
            BuiltStage::Transform(t) => {
                let out = t
                    .apply_counted(batch.whole()?, &c, &mut s.changes)
                    .map_err(|e| e.in_stage(id))?;
                if let Some(col) = &planned.counts_tokens {
                    s.tokens += sum_tokens(&out, col);
                }
                batch = LazyBatch::new(out);
            }
            BuiltStage::Filter(f, mode) => {
                let input = match f.reads() {
                    Some(cols) => batch.view(&cols)?,
                    None => batch.whole()?,
                };
                let v = f.evaluate(&input, &c).map_err(|e| e.in_stage(id))?;
                check_len(id, v.reasons.len(), batch.num_rows())?;
                let rejected = v.reasons.iter().any(Option::is_some);
                // the rows as they came in (before a rewrite of their text)
                let original = (want_dropped && rejected && *mode == FilterMode::Drop)
                    .then(|| batch.view(&sink::DROPPED_FROM))
                    .transpose()?;
                if let Some(t) = v.new_text {
                    let nullable = batch.schema().field_with_name(TEXT)?.is_nullable();
                    batch.set_column(Field::new(TEXT, DataType::Utf8, nullable), t);
                }
                for (field, col) in f.annotation_fields().into_iter().zip(v.annotations) {
                    batch.set_column(field.as_ref().clone(), col);
                }
                apply_reasons(
                    planned,
                    *mode,
                    &v.reasons,
                    original,
                    &mut batch,
                    s,
                    &mut st.dropped,
                )?;
            }
            BuiltStage::Expand(e) => {
                let input = with_origin(batch.whole()?)?;
                let (out, orphans) = expand(e.as_ref(), &input, &c).map_err(|e| e.in_stage(id))?;
                count_orphans(id, &input, &orphans, want_dropped, s, &mut st.dropped)?;
                batch = LazyBatch::new(out);
            }
            BuiltStage::Ordered(..) => {
                return Err(Error::Internal(format!("ordered stage `{id}` inside a segment")));
            }
        }
        s.docs_out += batch.num_rows() as u64;
        s.seconds += t0.elapsed().as_secs_f64();
        last = Some(i);
    }
    let t0 = Instant::now();
    let out = batch.whole()?;
    // cutting the columns no filter read is the last stage's work
    if let Some(i) = last {
        st.stages[i].seconds += t0.elapsed().as_secs_f64();
    }
    if out.num_rows() == 0 {
        return Ok(());
    }
    if let Some(o) = segment.ordered {
        let planned = &plan.stages[o];
        let BuiltStage::Ordered(stage, _) = &planned.stage else {
            return Err(Error::Internal("segment ends on a stage that is not ordered".into()));
        };
        let t0 = Instant::now();
        st.prepared = Some(
            stage
                .prepare(&out, &ctx(planned, st.seq, counting == Some(o)))
                .map_err(|e| e.in_stage(&planned.id))?,
        );
        st.stages[o].seconds += t0.elapsed().as_secs_f64();
    }
    st.batch = Some(out);
    Ok(())
}

fn check_len(id: &str, got: usize, rows: usize) -> Result<()> {
    if got != rows {
        return Err(Error::Internal(format!(
            "stage `{id}` returned {got} decisions for {rows} rows"
        )));
    }
    Ok(())
}

fn sum_tokens(batch: &RecordBatch, col: &str) -> u64 {
    batch
        .column_by_name(col)
        .and_then(|c| c.as_any().downcast_ref::<Int32Array>().cloned())
        .map_or(0, |c| c.values().iter().map(|v| *v as u64).sum())
}

/// Applies a filter's or an ordered stage's reasons: counts them, then drops the rows (and
/// keeps them for `dropped/`) or adds the reason column.
fn apply_reasons(
    planned: &PlannedStage,
    mode: FilterMode,
    reasons: &[Option<&'static str>],
    original: Option<RecordBatch>,
    batch: &mut LazyBatch,
    s: &mut StageStats,
    dropped: &mut Vec<RecordBatch>,
) -> Result<()> {
    for r in reasons.iter().flatten() {
        *s.reasons.entry((*r).to_string()).or_insert(0) += 1;
    }
    let rejected = reasons.iter().any(Option::is_some);
    match mode {
        FilterMode::Annotate => {
            let col: StringArray = reasons.iter().copied().collect();
            batch.set_column(
                Field::new(planned.reason_column(), DataType::Utf8, true),
                Arc::new(col),
            );
        }
        FilterMode::Drop if !rejected => {}
        FilterMode::Drop => {
            if let Some(original) = original {
                dropped.push(sink::dropped_rows(&original, &planned.id, reasons)?);
            }
            let keep: BooleanArray = reasons.iter().map(|r| Some(r.is_none())).collect();
            batch.keep(&keep)?;
        }
    }
    Ok(())
}

/// The ordered stage `o` decides the unit's batch, in input order, on the coordinating thread.
/// On the end marker, the decider flushes what it held back.
pub(super) fn decide(
    plan: &Plan,
    o: usize,
    decider: &mut dyn Decider,
    side_index: Option<usize>,
    want_dropped: bool,
    st: &mut UnitState,
) -> Result<()> {
    let planned = &plan.stages[o];
    let BuiltStage::Ordered(_, mode) = &planned.stage else {
        return Err(Error::Internal("deciding with a stage that is not ordered".into()));
    };
    let t0 = Instant::now();
    let s = &mut st.stages[o];
    let id = &planned.id;
    if let Some(input) = st.batch.take() {
        let prepared = st
            .prepared
            .take()
            .ok_or_else(|| Error::Internal(format!("stage `{id}`: batch not prepared")))?;
        s.docs_in += input.num_rows() as u64;
        s.bytes_in += text_bytes(&input);
        let mut d = decider.decide(&input, prepared).map_err(|e| e.in_stage(id))?;
        check_len(id, d.reasons.len(), input.num_rows())?;
        let input = match d.rewritten.take() {
            Some(b) => {
                check_len(id, b.num_rows(), input.num_rows())?;
                b
            }
            None => input,
        };
        if let (Some(rows), Some(k)) = (d.side.take(), side_index) {
            st.side.push((k, rows));
        }
        for g in std::mem::take(&mut d.groups) {
            let e = s.groups.entry(g.group).or_default();
            e.documents += g.documents;
            e.tokens += g.tokens;
        }
        if let Some(c) = d.copies.take() {
            check_len(id, c.counts.len(), input.num_rows())?;
            let input = with_origin(input)?;
            let parents: Vec<u32> = c
                .counts
                .iter()
                .enumerate()
                .flat_map(|(i, &k)| std::iter::repeat_n(i as u32, k as usize))
                .collect();
            let taken =
                arrow::compute::take_record_batch(&input, &UInt32Array::from(parents.clone()))?;
            let (out, orphans) =
                number_copies(&input, taken, &parents, c.stride).map_err(|e| e.in_stage(id))?;
            count_orphans(id, &input, &orphans, want_dropped, s, &mut st.dropped)?;
            s.docs_out += out.num_rows() as u64;
            st.lazy = (out.num_rows() > 0).then(|| LazyBatch::new(out));
        } else {
            let rejected = d.reasons.iter().any(Option::is_some);
            let original =
                (want_dropped && rejected && *mode == FilterMode::Drop).then(|| input.clone());
            let mut batch = LazyBatch::new(input);
            apply_reasons(planned, *mode, &d.reasons, original, &mut batch, s, &mut st.dropped)?;
            s.docs_out += batch.num_rows() as u64;
            st.lazy = (batch.num_rows() > 0).then_some(batch);
        }
    }
    if st.end
        && let Some(flushed) = decider.finish().map_err(|e| e.in_stage(id))?
    {
        s.docs_out += flushed.num_rows() as u64;
        if let Some(mut lazy) = st.lazy.take() {
            st.batch = Some(lazy.whole()?);
        }
        st.batch = match st.batch.take() {
            None => Some(flushed),
            Some(b) => Some(arrow::compute::concat_batches(&b.schema(), [&b, &flushed])?),
        };
    }
    if st.slice_end {
        st.deltas.push((o, decider.export().map_err(|e| e.in_stage(id))?));
        st.state.push(super::metrics::StateStats::new(
            id,
            decider.state_bytes(),
            decider.state_entries(),
        ));
    }
    s.seconds += t0.elapsed().as_secs_f64();
    Ok(())
}

/// Counts the input rows that gave no copy (`sampled_out`) and keeps them for `dropped/`.
fn count_orphans(
    id: &str,
    input: &RecordBatch,
    orphans: &[Option<&'static str>],
    want_dropped: bool,
    s: &mut StageStats,
    dropped: &mut Vec<RecordBatch>,
) -> Result<()> {
    if !orphans.iter().any(Option::is_some) {
        return Ok(());
    }
    for r in orphans.iter().flatten() {
        *s.reasons.entry((*r).to_string()).or_insert(0) += 1;
    }
    if want_dropped {
        dropped.push(sink::dropped_rows(input, id, orphans)?);
    }
    Ok(())
}

/// Adds `origin_id` (= `id`) and `copy_index` (= 0) to a batch that has none yet.
fn with_origin(batch: RecordBatch) -> Result<RecordBatch> {
    let mut batch = batch;
    if batch.column_by_name(ORIGIN_ID).is_none() {
        let ids = Arc::clone(
            batch
                .column_by_name(ID)
                .ok_or_else(|| Error::Internal("the batch has no `id` column".into()))?,
        );
        batch = with_column(&batch, Field::new(ORIGIN_ID, DataType::Utf8, false), ids)?;
    }
    if batch.column_by_name(COPY_INDEX).is_none() {
        let zeros: ArrayRef = Arc::new(UInt32Array::from(vec![0u32; batch.num_rows()]));
        batch = with_column(&batch, Field::new(COPY_INDEX, DataType::UInt32, false), zeros)?;
    }
    Ok(batch)
}

/// Runs a row-changing stage and numbers its copies (see [`number_copies`]).
fn expand(
    e: &dyn Expand,
    input: &RecordBatch,
    c: &BatchContext,
) -> Result<(RecordBatch, Vec<Option<&'static str>>)> {
    let x = e.expand(input, c)?;
    number_copies(input, x.batch, &x.parents, e.max_copies().max(1))
}

/// Numbers the copies a row-changing or counted stage made of `input` (`batch`, with
/// `parents`): an output row of an input row with copy index `c` gets `c * stride + j` (its
/// rank among that row's outputs), and every copy but the first gets the id
/// `<origin>#<copy>`. Returns the rows and, per input row, a reason when it gave no row.
fn number_copies(
    input: &RecordBatch,
    batch: RecordBatch,
    parents: &[u32],
    stride: u32,
) -> Result<(RecordBatch, Vec<Option<&'static str>>)> {
    let n = input.num_rows();
    if parents.len() != batch.num_rows() || parents.windows(2).any(|w| w[0] > w[1]) {
        return Err(Error::Internal("a row-changing stage broke the parents contract".into()));
    }
    if parents.last().is_some_and(|&p| p as usize >= n) {
        return Err(Error::Internal("a row-changing stage named a row it was not given".into()));
    }
    let origin = string_column(input, ORIGIN_ID)?;
    let copies = input
        .column_by_name(COPY_INDEX)
        .and_then(|a| a.as_any().downcast_ref::<UInt32Array>())
        .ok_or_else(|| Error::Internal("`copy_index` is not uint32".into()))?;
    let mut ids = StringBuilder::with_capacity(parents.len(), parents.len() * 16);
    let mut new_copies = Vec::with_capacity(parents.len());
    let mut gave = vec![false; n];
    let mut rank = 0u32;
    for (k, &p) in parents.iter().enumerate() {
        let p = p as usize;
        rank = if k > 0 && parents[k - 1] as usize == p { rank + 1 } else { 0 };
        if rank >= stride {
            return Err(Error::Internal(format!(
                "a row-changing stage gave more than its {stride} copies of a row"
            )));
        }
        gave[p] = true;
        let copy = copies
            .value(p)
            .checked_mul(stride)
            .and_then(|v| v.checked_add(rank))
            .ok_or_else(|| {
                Error::Invalid("row-changing stages chained too deeply: copy index overflow".into())
            })?;
        new_copies.push(copy);
        if copy == 0 {
            ids.append_value(origin.value(p));
        } else {
            ids.append_value(format!("{}#{copy}", origin.value(p)));
        }
    }
    let mut out = batch;
    out = with_column(&out, Field::new(ID, DataType::Utf8, false), Arc::new(ids.finish()))?;
    let origins = arrow::compute::take(origin, &UInt32Array::from(parents.to_vec()), None)?;
    out = with_column(&out, Field::new(ORIGIN_ID, DataType::Utf8, false), origins)?;
    out = with_column(
        &out,
        Field::new(COPY_INDEX, DataType::UInt32, false),
        Arc::new(UInt32Array::from(new_copies)),
    )?;
    let orphans = gave.iter().map(|g| (!g).then_some("sampled_out")).collect();
    Ok((out, orphans))
}
