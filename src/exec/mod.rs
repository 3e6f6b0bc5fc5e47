//! The executor. A producer thread cuts the input into units ([`crate::source::units`]); a
//! rayon pool reads each unit and runs the first segment of stages on it; results are put back
//! in input order (a bounded reorder window) by the calling thread, which runs each ordered
//! stage's decision in input order, hands the unit to the workers for the next segment, and
//! finally to the sink. Output depends only on the input order, never on the thread count.

mod lazy;
pub mod metrics;
pub mod progress;
mod segment;
pub mod tasks;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::sink::ledger::Ledger;
use crate::sink::manifest::{Manifest, SourceManifest};
use crate::sink::{self, Sink};
use crate::source::slices::Slice;
use crate::source::units::{self, CutOptions, Piece};
use crate::stage::{BuiltStage, Decider};
use metrics::{InputStats, RunStats};
use segment::UnitState;

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

/// What a finished run reports.
pub struct RunOutcome {
    /// Statistics (also written to `stats.json`).
    pub stats: RunStats,
    /// The manifest (also written to `manifest.json`).
    pub manifest: Manifest,
}

/// Runs a whole plan into `out_dir` (locked for the whole run): every slice, then finalize.
/// With `resume`, slices an interrupted run committed are kept.
pub fn run(plan: &Plan, out_dir: &Path, opts: &RunOptions, resume: bool) -> Result<RunOutcome> {
    tasks::run_all(plan, out_dir, opts, resume)
}

/// An ordered stage's decider: (stage index, decider, index of its side output).
type Slot = (usize, Box<dyn Decider>, Option<usize>);

/// The ordered stages' deciders, one per segment that ends in one.
pub(crate) struct Deciders {
    /// Per segment: the decider of the ordered stage after it.
    by_segment: Vec<Option<Slot>>,
    budget: u64,
}

impl Deciders {
    pub(crate) fn new(plan: &Plan, segments: &[crate::plan::Segment]) -> Self {
        let mut side = 0;
        let by_segment = segments
            .iter()
            .map(|seg| {
                let o = seg.ordered?;
                let BuiltStage::Ordered(stage, _) = &plan.stages[o].stage else { return None };
                let k = stage.side_output().map(|_| {
                    side += 1;
                    side - 1
                });
                Some((o, stage.decider(), k))
            })
            .collect();
        Deciders { by_segment, budget: plan.config.state_memory_mb.saturating_mul(1 << 20) }
    }

    fn check_budget(&self, plan: &Plan) -> Result<()> {
        let total: u64 = self.by_segment.iter().flatten().map(|(_, d, _)| d.state_bytes()).sum();
        if total > self.budget {
            let (o, d, _) = self
                .by_segment
                .iter()
                .flatten()
                .max_by_key(|(_, d, _)| d.state_bytes())
                .expect("some state");
            return Err(Error::Input {
                location: format!("stage `{}`", plan.stages[*o].id),
                message: format!(
                    "ordered stages hold {} MiB of state, over `state_memory_mb: {}` (this \
                     stage: {} entries, {} MiB); raise `state_memory_mb` if the machine has \
                     the memory, or split the input",
                    total >> 20,
                    plan.config.state_memory_mb,
                    d.state_entries(),
                    d.state_bytes() >> 20
                ),
            });
        }
        Ok(())
    }

    /// Every decider with its stage index.
    pub(crate) fn each(&mut self) -> impl Iterator<Item = (usize, &mut Box<dyn Decider>)> {
        self.by_segment.iter_mut().flatten().map(|(o, d, _)| (*o, d))
    }
}

/// One message from a worker: (step, seq, result).
type Done = (usize, u64, Result<UnitState>);

/// What [`execute`] does with the units.
pub(crate) enum Mode<'a> {
    /// Run every step and write through the sink, committing each slice.
    Write { sink: &'a mut Sink, ledger: &'a Ledger },
    /// The map phase of a task split, or the count pass of a counted stage: the segments up
    /// to and including the decision of the ordered stage `stage` (segment `step`), with a
    /// fresh state; each slice's delta of that stage is written to `map_dir/<slice>.bin`.
    Map { map_dir: PathBuf, ledger: &'a Ledger, step: usize, stage: usize },
}

/// Counters of the slice in progress (written with its commit).
#[derive(Default)]
struct SliceAcc {
    input: InputStats,
    stages: Vec<metrics::StageStats>,
    sources: Vec<SourceManifest>,
}

/// Runs the slices `todo` (ascending) of `slices`: the producer cuts them into units, the
/// workers run the segments, the calling thread decides in order and delivers in order.
pub(crate) fn execute(
    plan: &Plan,
    out_dir: &Path,
    opts: &RunOptions,
    slices: &[Slice],
    todo: &[usize],
    deciders: &mut Deciders,
    mut mode: Mode,
) -> Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.max(1))
        .thread_name(|i| format!("sluice-worker-{i}"))
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the thread pool: {e}")))?;
    let run: Vec<Slice> = todo.iter().map(|&i| slices[i].clone()).collect();
    let Some(last_slice) = todo.last().copied() else { return Ok(()) };
    let counting = match mode {
        Mode::Map { stage, .. } => Some(stage),
        Mode::Write { .. } => None,
    };
    let want_dropped = match &mode {
        Mode::Write { sink, .. } => sink.wants_dropped(),
        Mode::Map { .. } => false,
    };
    let total_bytes: u64 = run.iter().map(Slice::bytes).sum();
    let mut progress = progress::Progress::new(total_bytes, opts.progress);
    let new_acc = || SliceAcc {
        input: InputStats::default(),
        stages: segment::empty_stage_stats(plan),
        sources: plan
            .sources
            .iter()
            .map(|s| SourceManifest { name: s.config.name.clone(), ..Default::default() })
            .collect(),
    };
    let mut acc = new_acc();
    let segments = plan.segments();
    let last_step = match mode {
        Mode::Write { .. } => segments.len() - 1,
        Mode::Map { step, .. } => step,
    };
    let window = opts.window.max(1);
    let stop = AtomicBool::new(false);
    let cut = CutOptions { chunk_bytes: opts.chunk_bytes, chunk_lines: opts.chunk_lines };

    std::thread::scope(|scope| {
        let (unit_tx, unit_rx) = mpsc::sync_channel::<Piece>(window);
        let stop = &stop;
        let run = &run;
        let producer = scope.spawn(move || {
            units::cut(&plan.sources, run, cut, |u| {
                !stop.load(Ordering::Relaxed) && unit_tx.send(u).is_ok()
            });
        });
        let (res_tx, res_rx) = mpsc::channel::<Done>();
        let mut in_flight = 0usize;
        let mut pending: Vec<BTreeMap<u64, Result<UnitState>>> =
            (0..segments.len()).map(|_| BTreeMap::new()).collect();
        let mut next: Vec<u64> = vec![0; segments.len()];
        let mut seq = 0u64;
        let mut exhausted = false;
        let result = pool.in_place_scope(|scope| -> Result<()> {
            let spawn = |step: usize, unit: Option<units::Unit>, mut st: UnitState| {
                let tx = res_tx.clone();
                let seg = &segments[step];
                scope.spawn(move |_| {
                    let seq = st.seq;
                    let r = (|| {
                        if let Some(u) = unit {
                            segment::read(plan, u, &mut st)?;
                        }
                        segment::run_segment(plan, seg, want_dropped, counting, &mut st)?;
                        Ok(st)
                    })();
                    let _ = tx.send((step, seq, r));
                });
            };
            loop {
                while !exhausted && in_flight < window {
                    match unit_rx.recv() {
                        Ok(Piece::Unit(unit)) => {
                            let st = UnitState::new(plan, seq, Some(&unit), unit.slice);
                            seq += 1;
                            spawn(0, Some(unit), st);
                            in_flight += 1;
                        }
                        Ok(Piece::SliceEnd(s)) => {
                            if s == last_slice {
                                // the end-of-input marker: ordered stages flush on it
                                let mut st = UnitState::new(plan, seq, None, s);
                                st.end = true;
                                pending[0].insert(seq, Ok(st));
                                seq += 1;
                                in_flight += 1;
                            }
                            let mut st = UnitState::new(plan, seq, None, s);
                            st.slice_end = true;
                            pending[0].insert(seq, Ok(st));
                            seq += 1;
                            in_flight += 1;
                        }
                        Err(_) => exhausted = true,
                    }
                }
                // move every unit that is next in order one step on
                let mut moved = true;
                while moved {
                    moved = false;
                    for step in 0..segments.len() {
                        while let Some(r) = pending[step].remove(&next[step]) {
                            next[step] += 1;
                            moved = true;
                            let mut st = r?;
                            if let Some((o, d, side)) = &mut deciders.by_segment[step] {
                                segment::decide(
                                    plan,
                                    *o,
                                    d.as_mut(),
                                    *side,
                                    want_dropped,
                                    &mut st,
                                )?;
                                deciders.check_budget(plan)?;
                            }
                            if step < last_step {
                                if st.batch.is_some() || st.lazy.is_some() {
                                    spawn(step + 1, None, st);
                                } else {
                                    pending[step + 1].insert(st.seq, Ok(st));
                                }
                                continue;
                            }
                            in_flight -= 1;
                            progress.advance(st.input_bytes, st.read.records);
                            match &mut mode {
                                Mode::Write { sink, ledger } => {
                                    if deliver(plan, out_dir, sink, ledger, st, &mut acc)? {
                                        acc = new_acc();
                                    }
                                }
                                Mode::Map { map_dir, ledger, stage, .. } => {
                                    if st.slice_end {
                                        let delta = st
                                            .deltas
                                            .iter()
                                            .find(|(o, _)| o == stage)
                                            .map(|(_, d)| d)
                                            .ok_or_else(|| {
                                                Error::Internal("map phase without a delta".into())
                                            })?;
                                        let p = map_dir.join(format!("{:05}.bin", st.slice));
                                        sink::commit::write_atomic(&p, delta, ledger)?;
                                    }
                                }
                            }
                        }
                    }
                }
                if in_flight == 0 && exhausted {
                    return Ok(());
                }
                if in_flight == 0 {
                    continue;
                }
                let (step, seq, r) =
                    res_rx.recv().map_err(|_| Error::Internal("a worker vanished".into()))?;
                pending[step].insert(seq, r);
            }
        });
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        drop(unit_rx);
        producer.join().map_err(|_| Error::Internal("the reader thread panicked".into()))?;
        result
    })?;
    progress.finish();
    Ok(())
}

/// Hands a unit that went through every step to the sink, in input order; at a slice's end,
/// commits the slice (and returns true).
fn deliver(
    plan: &Plan,
    out_dir: &Path,
    sink: &mut Sink,
    ledger: &Ledger,
    st: UnitState,
    acc: &mut SliceAcc,
) -> Result<bool> {
    let slice = st.slice;
    acc.input.add_read(&st.read, st.documents, st.read_seconds);
    sink.quarantine(slice, &st.read.bad)?;
    for d in &st.dropped {
        sink.write_dropped(slice, d)?;
    }
    for (k, rows) in &st.side {
        sink.write_side(slice, *k, rows)?;
    }
    acc.stages.iter_mut().zip(&st.stages).for_each(|(a, b)| a.merge(b));
    if let Some(b) = &st.batch {
        for (docs, toks) in sink.write(slice, b)? {
            acc.sources[st.source].documents += docs;
            acc.sources[st.source].tokens += toks;
        }
    }
    if st.slice_end {
        let (splits, sides) = sink.commit_slice(slice)?;
        for (o, delta) in &st.deltas {
            let p = sink::commit::state_path(out_dir, &plan.stages[*o].id, slice);
            sink::commit::write_atomic(&p, delta, ledger)?;
        }
        let done = std::mem::take(acc);
        let commit = sink::commit::SliceCommit {
            slice,
            splits,
            sides,
            input: done.input,
            stages: done.stages,
            sources: done.sources,
            state: st.state,
        };
        sink::commit::write_commit(out_dir, &commit, ledger)?;
        return Ok(true);
    }
    Ok(false)
}
