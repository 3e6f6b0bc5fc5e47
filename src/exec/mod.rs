//! The executor. A producer thread cuts the input into units ([`crate::source::units`]); a
//! rayon pool reads each unit and runs the first segment of stages on it; results are put back
//! in input order (a bounded reorder window) by the calling thread, which runs each ordered
//! stage's decision in input order, hands the unit to the workers for the next segment, and
//! finally to the sink. Output depends only on the input order, never on the thread count.

mod lazy;
pub mod metrics;
pub mod progress;
mod segment;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::sink::manifest::{Manifest, SourceManifest};
use crate::sink::{self, Sink};
use crate::source::units::{self, CutOptions};
use crate::stage::{BuiltStage, Decider};
use metrics::{InputStats, RunStats, StateStats};
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

/// Runs a plan, writing into `out_dir` (locked for the whole run).
pub fn run(plan: &Plan, out_dir: &Path, opts: &RunOptions) -> Result<RunOutcome> {
    let _lock = sink::lock::OutputLock::acquire(out_dir, "run")?;
    let result = run_inner(plan, out_dir, opts);
    if result.is_err() {
        sink::remove_temporaries(out_dir);
    }
    result
}

/// An ordered stage's decider: (stage index, decider, index of its side output).
type Slot = (usize, Box<dyn Decider>, Option<usize>);

/// The ordered stages' deciders, one per segment that ends in one.
struct Deciders {
    /// Per segment: the decider of the ordered stage after it.
    by_segment: Vec<Option<Slot>>,
    budget: u64,
}

impl Deciders {
    fn new(plan: &Plan, segments: &[crate::plan::Segment]) -> Self {
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

    fn stats(&self, plan: &Plan) -> Vec<StateStats> {
        self.by_segment
            .iter()
            .flatten()
            .map(|(o, d, _)| {
                StateStats::new(&plan.stages[*o].id, d.state_bytes(), d.state_entries())
            })
            .collect()
    }
}

/// One message from a worker: (step, seq, result).
type Done = (usize, u64, Result<UnitState>);

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
    let mut stage_totals = segment::empty_stage_stats(plan);
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
    let segments = plan.segments();
    let last_step = segments.len() - 1;
    let mut deciders = Deciders::new(plan, &segments);
    let window = opts.window.max(1);
    let stop = AtomicBool::new(false);
    let cut = CutOptions { chunk_bytes: opts.chunk_bytes, chunk_lines: opts.chunk_lines };

    let outcome: Result<()> = std::thread::scope(|scope| {
        let (unit_tx, unit_rx) = mpsc::sync_channel::<units::Unit>(window);
        let stop = &stop;
        let producer = scope.spawn(move || {
            units::cut(&plan.sources, cut, |u| {
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
        let mut ended = false;
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
                        segment::run_segment(plan, seg, want_dropped, &mut st)?;
                        Ok(st)
                    })();
                    let _ = tx.send((step, seq, r));
                });
            };
            loop {
                while !ended && in_flight < window {
                    if exhausted {
                        // the end marker: ordered stages flush on it
                        let st = UnitState::new(plan, seq, None);
                        pending[0].insert(seq, Ok(st));
                        in_flight += 1;
                        ended = true;
                        break;
                    }
                    match unit_rx.recv() {
                        Ok(unit) => {
                            let st = UnitState::new(plan, seq, Some(&unit));
                            seq += 1;
                            spawn(0, Some(unit), st);
                            in_flight += 1;
                        }
                        Err(_) => exhausted = true,
                    }
                }
                if in_flight == 0 {
                    return Ok(());
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
                            if step < last_step {
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
                                if st.batch.is_some() {
                                    spawn(step + 1, None, st);
                                } else {
                                    pending[step + 1].insert(st.seq, Ok(st));
                                }
                            } else {
                                in_flight -= 1;
                                deliver(
                                    &mut sink,
                                    st,
                                    &mut progress,
                                    &mut input,
                                    &mut stage_totals,
                                    &mut per_source,
                                )?;
                            }
                        }
                    }
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
    });
    progress.finish();
    outcome?;
    let state = deciders.stats(plan);
    let finished = sink.finish()?;
    let manifest = Manifest::new(plan, &finished, per_source);
    let stats = RunStats {
        pipeline: plan.config.name.clone(),
        threads: opts.threads,
        wall_seconds: start.elapsed().as_secs_f64(),
        input,
        stages: stage_totals,
        state,
        output: finished.split_stats(),
        peak_rss_bytes: metrics::peak_rss_bytes(),
    };
    sink::commit(out_dir, &stats, &manifest)?;
    Ok(RunOutcome { stats, manifest })
}

/// Hands a unit that went through every step to the sink, in input order.
fn deliver(
    sink: &mut Sink,
    st: UnitState,
    progress: &mut progress::Progress,
    input: &mut InputStats,
    stage_totals: &mut [metrics::StageStats],
    per_source: &mut [SourceManifest],
) -> Result<()> {
    progress.advance(st.input_bytes, st.read.records);
    input.add_read(&st.read, st.documents, st.read_seconds);
    sink.quarantine(&st.read.bad)?;
    for d in &st.dropped {
        sink.write_dropped(d)?;
    }
    for (k, rows) in &st.side {
        sink.write_side(*k, rows)?;
    }
    stage_totals.iter_mut().zip(&st.stages).for_each(|(a, b)| a.merge(b));
    if let Some(b) = &st.batch {
        for (docs, toks) in sink.write(b)? {
            per_source[st.source].documents += docs;
            per_source[st.source].tokens += toks;
        }
    }
    Ok(())
}
