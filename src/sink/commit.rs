//! Commits and the work area. Every slice of the input commits on its own: its shards and side
//! output parts are renamed to committed names, its decider state delta is written, and its
//! commit record (`OUT/.sluice/slices/NNNNN.json`: shards, counters) is written last. A task
//! writes a completion marker after its last slice. `finalize` checks that every slice
//! committed, gives shards their global names in slice order, merges the counters and writes
//! `stats.json`, then `manifest.json` last: no manifest, no dataset. `run.json` pins the run
//! (config hash, slices) so every task, resume and finalize works on the same plan.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ledger::Ledger;
use super::manifest::{Manifest, SourceManifest};
use super::{SPLITS, SidePart, SplitPart};
use crate::error::{Error, Result};
use crate::exec::metrics::{InputStats, RunStats, SplitStats, StageStats, StateStats};
use crate::plan::Plan;
use crate::source::slices::Slice;

/// The work area under the output directory.
pub const WORK: &str = ".sluice";

/// What pins a run: every task, resume and finalize checks it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    /// sha256 of the resolved pipeline configuration.
    pub config_sha256: String,
    /// sha256 of the slice plan (files, sizes, ranges).
    pub slices_sha256: String,
    /// Number of slices.
    pub slices: usize,
    /// `packed` rows' length, for the manifest's fill rate.
    pub seq_len: Option<u64>,
    /// The manifest without splits and counts.
    pub manifest: Manifest,
    /// Sources as the manifest lists them (counts zero).
    pub sources: Vec<SourceManifest>,
    /// Stage ids and types, for the merged stats.
    pub stages: Vec<(String, String)>,
    /// Input files.
    pub files: u64,
    /// Input bytes.
    pub bytes: u64,
    /// `output.shuffle`: what the gather in `finalize` needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle: Option<super::shuffle::ShuffleSpec>,
}

impl RunInfo {
    /// The run of `plan` over `slices`.
    pub fn new(plan: &Plan, slices: &[Slice]) -> Self {
        let manifest = Manifest::template(plan);
        let sj = serde_json::to_vec(&(
            slices,
            plan.sources
                .iter()
                .map(|s| {
                    s.files
                        .iter()
                        .map(|f| (f.path.display().to_string(), f.bytes))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>(),
        ))
        .expect("slices serialize");
        RunInfo {
            config_sha256: manifest.config_sha256.clone(),
            slices_sha256: crate::stage::tokenize::hex(&Sha256::digest(&sj)),
            slices: slices.len(),
            seq_len: plan.config.output.seq_len,
            manifest,
            sources: plan
                .sources
                .iter()
                .map(|s| SourceManifest {
                    name: s.config.name.clone(),
                    paths: s.config.paths.clone(),
                    weight: s.config.weight,
                    ..Default::default()
                })
                .collect(),
            stages: plan.stages.iter().map(|s| (s.id.clone(), s.type_name.to_string())).collect(),
            files: plan.sources.iter().map(|s| s.files.len() as u64).sum(),
            bytes: plan.sources.iter().flat_map(|s| &s.files).map(|f| f.bytes).sum(),
            shuffle: super::shuffle::ShuffleSpec::of(plan),
        }
    }

    fn path(out: &Path) -> PathBuf {
        out.join(WORK).join("run.json")
    }

    /// Reads the run pinned in `out`.
    pub fn load(out: &Path) -> Result<RunInfo> {
        let p = Self::path(out);
        let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::input(p.display().to_string(), e.to_string()))
    }

    /// Pins this run in `out`, or checks that the run already pinned there is this one.
    pub fn establish(&self, out: &Path, ledger: &Ledger) -> Result<()> {
        let p = Self::path(out);
        if let Ok(old) = Self::load(out) {
            if old.config_sha256 != self.config_sha256 || old.slices_sha256 != self.slices_sha256 {
                return Err(Error::Input {
                    location: p.display().to_string(),
                    message: format!(
                        "{} holds another run (config {}, {} slices); this one is config {}, {} \
                         slices: the pipeline file or the inputs changed. Finish or remove that \
                         run, or use another output directory",
                        out.display(),
                        &old.config_sha256[..12],
                        old.slices,
                        &self.config_sha256[..12],
                        self.slices
                    ),
                });
            }
            return Ok(());
        }
        let json = serde_json::to_string_pretty(self).expect("run info serializes");
        write_atomic(&p, json.as_bytes(), ledger)
    }
}

/// What one committed slice wrote and counted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SliceCommit {
    /// Slice index.
    pub slice: usize,
    /// Per split: committed shards and counters.
    pub splits: Vec<SplitPart>,
    /// Committed side output parts.
    pub sides: Vec<SidePart>,
    /// Input counters.
    pub input: InputStats,
    /// Per-stage counters.
    pub stages: Vec<StageStats>,
    /// Per-source documents and tokens written.
    pub sources: Vec<SourceManifest>,
    /// Ordered stages' state after the slice.
    pub state: Vec<StateStats>,
}

/// Path of a slice's commit record.
pub fn commit_path(out: &Path, slice: usize) -> PathBuf {
    out.join(WORK).join("slices").join(format!("{slice:05}.json"))
}

/// Path of an ordered stage's state delta after a slice.
pub fn state_path(out: &Path, stage: &str, slice: usize) -> PathBuf {
    out.join(WORK).join("state").join(stage).join(format!("{slice:05}.bin"))
}

/// Path of a task's completion marker.
pub fn task_marker(out: &Path, task: usize, tasks: usize) -> PathBuf {
    out.join(WORK).join("tasks").join(format!("{task}-of-{tasks}.done"))
}

/// Writes `bytes` to `path` under a temporary name, then renames it (recorded in `ledger`).
pub fn write_atomic(path: &Path, bytes: &[u8], ledger: &Ledger) -> Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let tmp = path.with_extension("tmp");
    ledger.record(&tmp)?;
    ledger.record(path)?;
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Writes a slice's commit record: the slice's commit point.
pub fn write_commit(out: &Path, c: &SliceCommit, ledger: &Ledger) -> Result<()> {
    let json = serde_json::to_vec(c).expect("commit serializes");
    write_atomic(&commit_path(out, c.slice), &json, ledger)
}

/// A slice's commit record, if it committed.
pub fn read_commit(out: &Path, slice: usize) -> Result<Option<SliceCommit>> {
    let p = commit_path(out, slice);
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| Error::input(p.display().to_string(), format!("unreadable commit: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&p, e)),
    }
}

/// Slices `[start, end)` of task `task` of `tasks` (contiguous ranges, sizes differing by at
/// most one).
pub fn task_slices(slices: usize, task: usize, tasks: usize) -> std::ops::Range<usize> {
    (task * slices / tasks)..((task + 1) * slices / tasks)
}

fn sum_pack(a: &mut Option<super::packed::PackStats>, b: &Option<super::packed::PackStats>) {
    if let Some(b) = b {
        let a = a.get_or_insert_with(Default::default);
        a.rows += b.rows;
        a.documents += b.documents;
        a.documents_split += b.documents_split;
        a.real_tokens += b.real_tokens;
        a.padding_tokens += b.padding_tokens;
        a.tokens_dropped += b.tokens_dropped;
    }
}

/// Finishes a run in `out`: checks every slice's commit, names shards globally, merges the
/// counters, writes `stats.json` and then `manifest.json`. Run again after a failure, it picks
/// up where it stopped.
pub fn finalize(out: &Path, threads: usize, start: Instant) -> Result<(RunStats, Manifest)> {
    let run = RunInfo::load(out).map_err(|e| match e {
        Error::Io { .. } => Error::Input {
            location: out.display().to_string(),
            message: "no run to finalize here (no .sluice/run.json): run `sluice run --task` \
                      first"
                .into(),
        },
        e => e,
    })?;
    let ledger = std::sync::Arc::new(Ledger::open(out)?);
    let mut commits = Vec::with_capacity(run.slices);
    let mut missing = Vec::new();
    for s in 0..run.slices {
        match read_commit(out, s)? {
            Some(c) => commits.push(c),
            None => missing.push(s),
        }
    }
    if !missing.is_empty() {
        return Err(Error::Input {
            location: out.display().to_string(),
            message: format!(
                "{} of {} slices have not committed (slices {}); run the tasks that own them \
                 (with the same --task I/N), then finalize again",
                missing.len(),
                run.slices,
                ranges(&missing)
            ),
        });
    }
    let mut manifest = run.manifest.clone();
    let mut outputs = std::collections::BTreeMap::new();
    let mut shuffled = serde_json::Map::new();
    for split in SPLITS {
        let parts: Vec<&SplitPart> =
            commits.iter().flat_map(|c| c.splits.iter().filter(|p| p.name == split)).collect();
        let n: usize = parts.iter().map(|p| p.shards.len()).sum();
        let mut stats = SplitStats::default();
        let (mut shards, mut g, mut first_row) = (Vec::with_capacity(n), 0, 0);
        for p in &parts {
            stats.documents += p.stats.documents;
            stats.tokens += p.stats.tokens;
            stats.rows += p.stats.rows;
            sum_pack(&mut stats.packing, &p.stats.packing);
        }
        if let Some(spec) = &run.shuffle {
            let spilled: Vec<&super::shuffle::BucketPart> =
                parts.iter().flat_map(|p| &p.buckets).collect();
            tracing::info!(
                split,
                files = spilled.len(),
                mib = spilled.iter().map(|p| p.bytes).sum::<u64>() >> 20,
                "Shuffling: sorting the spilled documents bucket by bucket."
            );
            let g = super::shuffle::gather(out, split, spec, &ledger, &spilled)?;
            shuffled.insert(split.to_string(), g.report(&spilled));
            (stats.rows, stats.packing) = (g.rows, g.packing);
            shards = g.shards;
        }
        for p in &parts {
            for sh in &p.shards {
                let rel = format!("{split}/{split}-{g:05}-of-{n:05}.parquet");
                place(out, &sh.path, &rel, &ledger)?;
                let mut sh = sh.clone();
                sh.path = rel;
                sh.first_row = first_row;
                first_row += sh.num_rows;
                shards.push(sh);
                g += 1;
            }
        }
        stats.shards = shards.len() as u64;
        manifest
            .splits
            .insert(split.to_string(), Manifest::split_entry(shards, &stats, run.seq_len));
        outputs.insert(split.to_string(), stats);
    }
    // side outputs: one file per committed part, in slice order
    let mut groups: Vec<((String, String), Vec<&SidePart>)> = Vec::new();
    for p in commits.iter().flat_map(|c| &c.sides) {
        let key = (p.kind.clone(), p.name.clone());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(p),
            None => groups.push((key, vec![p])),
        }
    }
    for ((kind, name), parts) in &groups {
        let ext = if kind == "quarantine" { "jsonl" } else { "parquet" };
        let n = parts.len();
        for (i, p) in parts.iter().enumerate() {
            let rel = if n == 1 {
                format!("{kind}/{name}.{ext}")
            } else {
                format!("{kind}/{name}-{i:05}-of-{n:05}.{ext}")
            };
            place(out, &p.path, &rel, &ledger)?;
        }
    }
    // counters
    let mut input = InputStats::default();
    let mut stages: Vec<StageStats> = run
        .stages
        .iter()
        .map(|(id, ty)| StageStats { id: id.clone(), type_name: ty.clone(), ..Default::default() })
        .collect();
    let mut state: Vec<StateStats> = Vec::new();
    let mut sources = run.sources.clone();
    for c in &commits {
        input.merge(&c.input);
        for (a, b) in stages.iter_mut().zip(&c.stages) {
            if a.mode.is_empty() {
                a.mode = b.mode.clone();
            }
            a.merge(b);
        }
        for st in &c.state {
            match state.iter_mut().find(|s| s.stage == st.stage) {
                Some(s) if st.bytes >= s.bytes => *s = st.clone(),
                Some(_) => {}
                None => state.push(st.clone()),
            }
        }
        for (a, b) in sources.iter_mut().zip(&c.sources) {
            a.documents += b.documents;
            a.tokens += b.tokens;
        }
    }
    input.files = run.files;
    input.bytes = run.bytes;
    manifest.sources = sources;
    let dedup;
    (manifest.mixture, dedup) = counted_reports(out, &stages)?;
    // the manifest is byte-identical run after run: it leaves out what the reduce step cost
    manifest.dedup = dedup.clone();
    for d in manifest.dedup.values_mut() {
        if let Some(d) = d.as_object_mut() {
            d.remove("reduce");
            d.remove("count_pass");
        }
    }
    if let Some(s) = manifest.shuffle.as_mut() {
        s["splits"] = shuffled.into();
    }
    let stats = RunStats {
        pipeline: manifest.pipeline.clone(),
        threads,
        wall_seconds: start.elapsed().as_secs_f64(),
        input,
        stages,
        state,
        output: outputs,
        peak_rss_bytes: crate::exec::metrics::peak_rss_bytes(),
        mixture: manifest.mixture.clone(),
        dedup,
        shuffle: manifest.shuffle.clone(),
    };
    let stats_path = out.join("stats.json");
    ledger.record(&stats_path)?;
    std::fs::write(
        &stats_path,
        serde_json::to_string_pretty(&stats).expect("stats serialize") + "\n",
    )
    .map_err(|e| Error::io(&stats_path, e))?;
    write_atomic(&out.join("manifest.json"), manifest.to_json().as_bytes(), &ledger)?;
    // the work area has served its purpose; its files are sluice's own
    let work = out.join(WORK);
    std::fs::remove_dir_all(&work).map_err(|e| Error::io(&work, e))?;
    Ok((stats, manifest))
}

type Reports = serde_json::Map<String, serde_json::Value>;

/// The counted stages' reports (saved by the reduce step): the mixtures (`mix`, `balance`)
/// with the realised counts added per group (`realised_documents`, `realised_tokens`,
/// `realised_share`), and the near-duplicate clusterings (`minhash_dedup`) as they are.
fn counted_reports(out: &Path, stages: &[StageStats]) -> Result<(Reports, Reports)> {
    let (mut all, mut dedup) = (Reports::new(), Reports::new());
    for st in stages {
        let p = crate::exec::tasks::report_path(out, &st.id);
        let Ok(bytes) = std::fs::read(&p) else { continue };
        let mut report: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Input { location: p.display().to_string(), message: format!("damaged: {e}") }
        })?;
        if [crate::stage::minhash::NAME, crate::stage::line_dedup::NAME]
            .contains(&st.type_name.as_str())
        {
            dedup.insert(st.id.clone(), report);
            continue;
        }
        let by_tokens = report["unit"] == "tokens";
        let docs: u64 = st.groups.values().map(|g| g.documents).sum();
        let toks: u64 = st.groups.values().map(|g| g.tokens).sum();
        if let Some(groups) = report.get_mut("groups").and_then(|g| g.as_array_mut()) {
            for g in groups {
                let name = g["group"].as_str().unwrap_or_default().to_string();
                let r = st.groups.get(&name).cloned().unwrap_or_default();
                let (part, whole) = if by_tokens { (r.tokens, toks) } else { (r.documents, docs) };
                g["realised_documents"] = r.documents.into();
                g["realised_tokens"] = r.tokens.into();
                g["realised_share"] =
                    (if whole == 0 { 0.0 } else { part as f64 / whole as f64 }).into();
            }
        }
        all.insert(st.id.clone(), report);
    }
    Ok((all, dedup))
}

/// Renames a committed part to its final name (already done after an interrupted finalize).
fn place(out: &Path, from: &str, to: &str, ledger: &Ledger) -> Result<()> {
    let (src, dest) = (out.join(from), out.join(to));
    if src.exists() {
        ledger.record(&dest)?;
        std::fs::rename(&src, &dest).map_err(|e| Error::io(&dest, e))
    } else if dest.exists() {
        Ok(())
    } else {
        Err(Error::Input {
            location: src.display().to_string(),
            message: "a committed part is missing; the output directory was changed by hand".into(),
        })
    }
}

/// `1-3, 7` for `[1, 2, 3, 7]`.
pub fn ranges(v: &[usize]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        out.push(if i == j { v[i].to_string() } else { format!("{}-{}", v[i], v[j]) });
        i = j + 1;
    }
    out.join(", ")
}
