//! Tasks, phases, resume and finalize: which slices a process runs and what state it starts
//! from. A plain run is every slice plus finalize in one process. `--task I/N` runs a
//! contiguous range of slices and writes a completion marker; `finalize` names the shards.
//! A pipeline with an ordered stage split into N > 1 tasks runs in phases over the work area:
//! `map` (per task: the first segment and the stage's decisions on its own slices, a state
//! delta per slice), one reduce (the deltas merged in slice order into the deltas one run over
//! the whole input would have made), and `apply` (per task: the state before its first slice
//! imported, then its slices run as in one run). Survivors are the same for any N.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{Deciders, Mode, RunOptions, RunOutcome, execute};
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::sink::Sink;
use crate::sink::commit::{self, RunInfo, WORK, read_commit, state_path, task_marker, task_slices};
use crate::sink::ledger::Ledger;
use crate::sink::lock::OutputLock;
use crate::source::slices::{self, Slice};
use crate::stage::BuiltStage;

/// Which phase of a task to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Only the map phase (a no-op for pipelines without an ordered stage).
    Map,
    /// The task's output (after the reduce, for phased pipelines).
    Apply,
}

fn plan_slices(plan: &Plan) -> Result<Vec<Slice>> {
    slices::plan(&plan.sources, plan.config.output.slice_bytes)
}

/// The slices to run out of `own`: with an ordered stage, from the first uncommitted one on
/// (its state must pass through every later slice); without, every uncommitted one.
fn todo(plan: &Plan, out: &Path, own: std::ops::Range<usize>) -> Result<Vec<usize>> {
    let ordered = plan.stages.iter().any(|s| matches!(s.stage, BuiltStage::Ordered(..)));
    let mut out_list = Vec::new();
    for s in own {
        if (!out_list.is_empty() && ordered) || read_commit(out, s)?.is_none() {
            out_list.push(s);
        }
    }
    Ok(out_list)
}

/// Rebuilds the ordered stages' state before slice `first`: from the deltas saved with each
/// committed slice, or (phased tasks) from the reduce step's deltas.
fn import_before(
    plan: &Plan,
    out: &Path,
    deciders: &mut Deciders,
    first: usize,
    phased: bool,
) -> Result<()> {
    for (o, d) in deciders.each() {
        let id = &plan.stages[o].id;
        for s in 0..first {
            let p = if phased { reduce_path(out, id, s) } else { state_path(out, id, s) };
            let bytes = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
            d.import(&bytes).map_err(|e| e.in_stage(id))?;
        }
    }
    Ok(())
}

fn map_dir(out: &Path, stage: &str) -> PathBuf {
    out.join(WORK).join("map").join(stage)
}

fn map_marker(out: &Path, stage: &str, task: usize, tasks: usize) -> PathBuf {
    map_dir(out, stage).join(format!("task-{task}-of-{tasks}.done"))
}

fn plan_path(out: &Path, stage: &str) -> PathBuf {
    out.join(WORK).join("reduce").join(stage).join("plan.bin")
}

/// Where the reduce step leaves a counted stage's plan for people; `finalize` reads it.
pub fn report_path(out: &Path, stage: &str) -> PathBuf {
    out.join(WORK).join("reduce").join(stage).join("report.json")
}

/// The counted stages (`mix`, `balance`, `minhash_dedup`, `line_dedup`) in pipeline order.
/// Each has its own count pass and reduce step, in order: a later one's count pass runs the
/// earlier ones with their plans.
fn counted_stages(plan: &Plan) -> Vec<usize> {
    plan.stages
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(&s.stage, BuiltStage::Ordered(o, _) if o.counted()))
        .map(|(i, _)| i)
        .collect()
}

/// Counted stages before stage `before` load the plan of their reduce step (all of them
/// before the write pass, `before` = the number of stages).
fn load_plans(plan: &Plan, out: &Path, deciders: &mut Deciders, before: usize) -> Result<()> {
    for (o, d) in deciders.each() {
        let stage = &plan.stages[o];
        if o < before && matches!(&stage.stage, BuiltStage::Ordered(s, _) if s.counted()) {
            let p = plan_path(out, &stage.id);
            let bytes = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
            d.load_plan(&bytes).map_err(|e| e.in_stage(&stage.id))?;
        }
    }
    Ok(())
}

/// The map phase of ordered stage `o` over the slices `own` (for a counted stage, its count
/// pass), committed with its task marker.
#[allow(clippy::too_many_arguments)]
fn map_phase(
    plan: &Plan,
    out: &Path,
    opts: &RunOptions,
    slices: &[Slice],
    own: &[usize],
    o: usize,
    marker: &Path,
    ledger: &Ledger,
) -> Result<()> {
    let segments = plan.segments();
    let step = segments
        .iter()
        .position(|s| s.ordered == Some(o))
        .ok_or_else(|| Error::Internal("the mapped stage ends no segment".into()))?;
    let mut deciders = Deciders::new(plan, &segments);
    load_plans(plan, out, &mut deciders, o)?;
    let mode = Mode::Map { map_dir: map_dir(out, &plan.stages[o].id), ledger, step, stage: o };
    execute(plan, out, opts, slices, own, &mut deciders, mode)?;
    commit::write_atomic(marker, b"", ledger)
}

fn reduce_path(out: &Path, stage: &str, slice: usize) -> PathBuf {
    out.join(WORK).join("reduce").join(stage).join(format!("{slice:05}.bin"))
}

/// Runs and commits the uncommitted slices of `own`, the ordered stages' state rebuilt first;
/// returns how many slices ran.
fn write_slices(
    plan: &Plan,
    out: &Path,
    opts: &RunOptions,
    slices: &[Slice],
    own: std::ops::Range<usize>,
    phased: bool,
    ledger: &Ledger,
) -> Result<usize> {
    let todo = todo(plan, out, own)?;
    let mut deciders = Deciders::new(plan, &plan.segments());
    load_plans(plan, out, &mut deciders, plan.stages.len())?;
    if let Some(&first) = todo.first() {
        import_before(plan, out, &mut deciders, first, phased)?;
    }
    let mut sink = Sink::new(plan, out, std::sync::Arc::new(Ledger::open(out)?))?;
    let mode = Mode::Write { sink: &mut sink, ledger };
    if let Err(e) = execute(plan, out, opts, slices, &todo, &mut deciders, mode) {
        crate::sink::remove_temporaries(out, &todo);
        return Err(e);
    }
    Ok(todo.len())
}

/// Runs the whole input (every slice) and finalizes.
pub fn run_all(plan: &Plan, out: &Path, opts: &RunOptions, resume: bool) -> Result<RunOutcome> {
    let start = Instant::now();
    let _lock = OutputLock::acquire(out, "run")?;
    let slices = plan_slices(plan)?;
    if !resume {
        refuse_running_tasks(out)?;
    }
    let ledger = if resume {
        Ledger::open(out)?
    } else {
        let l = Ledger::start(out)?;
        let work = out.join(WORK);
        if work.exists() {
            std::fs::remove_dir_all(&work).map_err(|e| Error::io(&work, e))?;
        }
        l
    };
    RunInfo::new(plan, &slices).establish(out, &ledger)?;
    for o in counted_stages(plan) {
        map_and_reduce(plan, out, opts, &slices, o, 1, &ledger)?;
    }
    let ran = write_slices(plan, out, opts, &slices, 0..slices.len(), false, &ledger)?;
    if resume && ran < slices.len() {
        tracing::info!(kept = slices.len() - ran, slices = slices.len(), "Resumed.");
    }
    let (stats, manifest) = commit::finalize(out, opts.threads, start)?;
    Ok(RunOutcome { stats, manifest })
}

/// A plain run starts over by deleting what the last run wrote: refuse while a task of a job
/// array into the same directory still holds its lock (a dead task's lock is stale and goes).
fn refuse_running_tasks(out: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(out.join(WORK).join("locks")) else { return Ok(()) };
    for e in entries.flatten() {
        // taking the lock succeeds only when no live process holds it; it is released at once
        OutputLock::acquire(&e.path(), "check").map_err(|err| Error::Input {
            location: out.display().to_string(),
            message: format!(
                "tasks of a job array are writing into this directory ({err}); a plain run \
                 would delete their files: wait for them and run `sluice finalize`, or use \
                 another output directory"
            ),
        })?;
    }
    Ok(())
}

/// What a task run did.
pub enum TaskOutcome {
    /// The task's slices are committed (now or earlier).
    Done {
        /// Slices run now.
        ran: usize,
        /// Slices of the task.
        slices: usize,
    },
    /// The map phase is committed.
    Mapped,
}

/// Runs task `task` of `tasks`: its slices (skipping committed ones), then its marker.
pub fn run_task(
    plan: &Plan,
    out: &Path,
    opts: &RunOptions,
    task: usize,
    tasks: usize,
    phase: Phase,
) -> Result<TaskOutcome> {
    if tasks == 0 || task >= tasks {
        return Err(Error::Invalid(format!(
            "--task {task}/{tasks}: the index must be below the count (0/{tasks} to {}/{tasks})",
            tasks.saturating_sub(1)
        )));
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let lock_dir = out.join(WORK).join("locks").join(format!("task-{task}-of-{tasks}"));
    let _lock = OutputLock::acquire(&lock_dir, &format!("task {task}/{tasks}"))?;
    let slices = plan_slices(plan)?;
    let ledger = Ledger::open(out)?;
    RunInfo::new(plan, &slices).establish(out, &ledger)?;
    let own = task_slices(slices.len(), task, tasks);
    let ordered: Vec<usize> = plan
        .stages
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.stage, BuiltStage::Ordered(..)))
        .map(|(i, _)| i)
        .collect();
    let counted = counted_stages(plan);
    // phased: the state before a task's slices comes from the reduce step
    let phased = tasks > 1 && !ordered.is_empty();
    if phased && ordered.len() > 1 {
        return Err(Error::Invalid(format!(
            "a pipeline split into {tasks} tasks may hold one ordered stage for now; this one \
             has {} ({}): run it with --task 0/1 or without --task",
            ordered.len(),
            ordered.iter().map(|&i| plan.stages[i].id.as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    // the counted stages before the last one: their count passes and reduce steps come first,
    // in order (only one task gets here with more than one: N > 1 tasks hold one ordered stage)
    let earlier = &counted[..counted.len().saturating_sub(1)];
    let reduce_earlier = || -> Result<()> {
        for &o in earlier {
            map_and_reduce(plan, out, opts, &slices, o, tasks, &ledger)?;
        }
        Ok(())
    };
    // a map phase: the phased stage's, or a counted stage's count pass (also for one task)
    let mapped = counted.last().copied().or(if phased { ordered.first().copied() } else { None });
    let marker = |t: usize| mapped.map(|o| map_marker(out, &plan.stages[o].id, t, tasks));
    if phase == Phase::Map {
        let Some(o) = mapped else {
            tracing::info!("No map phase: the pipeline has no ordered stage, or runs as one task.");
            return Ok(TaskOutcome::Mapped);
        };
        let m = marker(task).expect("mapped");
        if !m.exists() {
            reduce_earlier()?;
            let own_list: Vec<usize> = own.clone().collect();
            map_phase(plan, out, opts, &slices, &own_list, o, &m, &ledger)?;
        }
        return Ok(TaskOutcome::Mapped);
    }
    if task_marker(out, task, tasks).exists() {
        return Ok(TaskOutcome::Done { ran: 0, slices: own.len() });
    }
    if let Some(o) = mapped {
        reduce_earlier()?;
        map_and_reduce(plan, out, opts, &slices, o, tasks, &ledger)?;
    }
    let ran = write_slices(plan, out, opts, &slices, own.clone(), phased, &ledger)?;
    commit::write_atomic(&task_marker(out, task, tasks), b"", &ledger)?;
    Ok(TaskOutcome::Done { ran, slices: own.len() })
}

/// The reduce step of stage `o`, run once. One task (a plain run, `--task 0/1`) first runs
/// the map phase over every slice itself, if it has not; N tasks need each one's map phase.
fn map_and_reduce(
    plan: &Plan,
    out: &Path,
    opts: &RunOptions,
    slices: &[Slice],
    o: usize,
    tasks: usize,
    ledger: &Ledger,
) -> Result<()> {
    let id = &plan.stages[o].id;
    let marker = map_marker(out, id, 0, 1);
    if tasks == 1 && !marker.exists() {
        tracing::info!(stage = %id, "Count pass: the stages before `{id}` over the whole input.");
        let all: Vec<usize> = (0..slices.len()).collect();
        map_phase(plan, out, opts, slices, &all, o, &marker, ledger)?;
    }
    reduce(plan, out, ledger, id, slices.len(), tasks, &|t| map_marker(out, id, t, tasks))
}

/// The reduce step: once every task's map phase is committed, merges the map deltas in slice
/// order (under a lock, once; later callers find it done).
fn reduce(
    plan: &Plan,
    out: &Path,
    ledger: &Ledger,
    id: &str,
    slices: usize,
    tasks: usize,
    marker: &dyn Fn(usize) -> PathBuf,
) -> Result<()> {
    let done = out.join(WORK).join("reduce").join(id).join("done");
    if done.exists() {
        return Ok(());
    }
    let missing: Vec<usize> = (0..tasks).filter(|t| !marker(*t).exists()).collect();
    if !missing.is_empty() {
        return Err(Error::Input {
            location: out.display().to_string(),
            message: format!(
                "stage `{id}` needs every task's map phase before any task writes: tasks {} \
                 have not run `--phase map` yet (run `sluice run P --task I/{tasks} --phase \
                 map` for each, then this again)",
                commit::ranges(&missing)
            ),
        });
    }
    let _lock = OutputLock::acquire(&out.join(WORK).join("locks").join("reduce"), "reduce")?;
    if done.exists() {
        return Ok(());
    }
    let stage = plan
        .stages
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| Error::Internal(format!("no stage `{id}`")))?;
    let BuiltStage::Ordered(o, _) = &stage.stage else {
        return Err(Error::Internal(format!("stage `{id}` is not ordered")));
    };
    let mut d = o.decider();
    let scratch = out.join(WORK).join("reduce").join(id).join("scratch");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).map_err(|e| Error::io(&scratch, e))?;
    }
    std::fs::create_dir_all(&scratch).map_err(|e| Error::io(&scratch, e))?;
    d.use_scratch(&scratch).map_err(|e| e.in_stage(id))?;
    let dir = map_dir(out, id);
    let budget = plan.config.state_memory_mb.saturating_mul(1 << 20);
    for s in 0..slices {
        let p = dir.join(format!("{s:05}.bin"));
        let local = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        let global = d.merge(&local).map_err(|e| e.in_stage(id))?;
        if d.state_bytes() > budget {
            return Err(Error::Input {
                location: format!("stage `{id}`"),
                message: format!(
                    "the reduce step holds {} MiB for {} entries, over `state_memory_mb: {}`; \
                     raise `state_memory_mb` if the machine has the memory",
                    d.state_bytes() >> 20,
                    d.state_entries(),
                    plan.config.state_memory_mb
                ),
            });
        }
        if !o.counted() {
            commit::write_atomic(&reduce_path(out, id, s), &global, ledger)?;
        }
    }
    if let Some(c) = d.conclude().map_err(|e| e.in_stage(id))? {
        for (s, delta) in c.per_slice.iter().enumerate() {
            commit::write_atomic(&reduce_path(out, id, s), delta, ledger)?;
        }
        let report = serde_json::to_vec_pretty(&c.report).expect("report serializes");
        commit::write_atomic(&report_path(out, id), &report, ledger)?;
        commit::write_atomic(&plan_path(out, id), &c.plan, ledger)?;
    }
    drop(d);
    std::fs::remove_dir_all(&scratch).map_err(|e| Error::io(&scratch, e))?;
    commit::write_atomic(&done, b"", ledger)
}

/// Finalizes an output directory that tasks wrote into (exclusively locked).
pub fn finalize(out: &Path, threads: usize) -> Result<RunOutcome> {
    let start = Instant::now();
    if !out.join(WORK).join("run.json").is_file() {
        return Err(Error::Input {
            location: out.display().to_string(),
            message: "no run to finalize here (no .sluice/run.json): run the tasks first \
                      (`sluice run P --task I/N`), or this run was finalized already"
                .into(),
        });
    }
    let _lock = OutputLock::acquire(out, "finalize")?;
    let (stats, manifest) = commit::finalize(out, threads, start)?;
    Ok(RunOutcome { stats, manifest })
}
