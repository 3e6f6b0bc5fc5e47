//! `minhash_dedup`'s decider through the three steps of a counted stage:
//! - **count pass**: each slice exports its signed documents (row in the slice, id, source,
//!   priority, signature);
//! - **reduce**: the slices are merged in order, which numbers the documents (their ordinal
//!   in the whole input), sends the band values to the [`BandSorter`] and the ids to a scratch
//!   file; `conclude` clusters the band pairs, band after band, and saves the plan: the
//!   removed ordinals, each with its survivor's id;
//! - **write pass**: rows are numbered again as they pass (the state saved per slice is the
//!   row count), and the removed ones are dropped and listed with their survivor.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{RecordBatch, StringBuilder};

use super::bands::BandSorter;
use super::cluster::{Pick, UnionFind};
use super::{Signed, Survivor};
use crate::error::{Error, Result};
use crate::stage::spill::{push_str, read_str, read_u64, row_count};
use crate::stage::{Conclusion, Decider, Decision, ID, Prepared, SOURCE, string_column};

/// The reason a removed document gets.
pub const REASON: &str = "near_duplicate";

/// The write pass's plan.
struct Plan {
    /// Removed ordinals, ascending.
    removed: Vec<u64>,
    /// Per removed ordinal, the index of its survivor's id.
    survivor: Vec<u32>,
    /// Survivor ids.
    ids: Vec<String>,
}

pub struct MinhashDecider {
    bands: usize,
    hashes: usize,
    survivor: Survivor,
    /// Count pass: the slice in progress.
    slice: Vec<u8>,
    slice_records: u64,
    slice_rows: u64,
    /// Count pass: text bytes signed and nanoseconds spent signing (slice, then whole input).
    slice_sign: [u64; 2],
    sign: [u64; 2],
    /// Reduce step.
    sorter: BandSorter,
    scratch: Option<PathBuf>,
    docs: Option<BufWriter<File>>,
    rows: u64,
    signed: u64,
    per_slice_rows: Vec<u64>,
    /// Write pass: the plan, the ordinal of the next row, rows of the slice in progress.
    plan: Option<Plan>,
    next: u64,
}

impl MinhashDecider {
    pub fn new(bands: usize, hashes: usize, survivor: Survivor, memory: u64) -> Self {
        MinhashDecider {
            bands,
            hashes,
            survivor,
            slice: Vec::new(),
            slice_records: 0,
            slice_rows: 0,
            slice_sign: [0; 2],
            sign: [0; 2],
            sorter: BandSorter::new(bands, hashes, memory),
            scratch: None,
            docs: None,
            rows: 0,
            signed: 0,
            per_slice_rows: Vec::new(),
            plan: None,
            next: 0,
        }
    }

    fn docs_path(&self) -> Result<PathBuf> {
        self.scratch
            .as_ref()
            .map(|d| d.join("documents.bin"))
            .ok_or_else(|| Error::Internal("minhash_dedup: no scratch directory".into()))
    }

    fn decide_removals(&mut self, batch: &RecordBatch, rows: usize) -> Result<Decision> {
        let plan = self.plan.as_ref().expect("checked");
        let ids = string_column(batch, ID)?;
        let sources = string_column(batch, SOURCE)?;
        let mut at = plan.removed.partition_point(|&r| r < self.next);
        let mut reasons = vec![None; rows];
        let (mut dup, mut src, mut of) =
            (StringBuilder::new(), StringBuilder::new(), StringBuilder::new());
        for (i, reason) in reasons.iter_mut().enumerate() {
            let ord = self.next + i as u64;
            if plan.removed.get(at) == Some(&ord) {
                *reason = Some(REASON);
                dup.append_value(ids.value(i));
                src.append_value(sources.value(i));
                of.append_value(&plan.ids[plan.survivor[at] as usize]);
                at += 1;
            }
        }
        self.next += rows as u64;
        self.slice_rows += rows as u64;
        let side = if reasons.iter().any(Option::is_some) {
            Some(RecordBatch::try_new(
                crate::stage::exact_dedup::duplicates_schema(),
                vec![Arc::new(dup.finish()), Arc::new(src.finish()), Arc::new(of.finish())],
            )?)
        } else {
            None
        };
        Ok(Decision { reasons, side, ..Default::default() })
    }

    /// Reads the scratch file of documents once, in ordinal order: `f(ordinal, id, source,
    /// priority)` for each signed document.
    fn each_document(&self, mut f: impl FnMut(u64, String, String, f64)) -> Result<()> {
        let path = self.docs_path()?;
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let mut r = BufReader::with_capacity(1 << 20, file);
        let bad = |e: std::io::Error| Error::io(&path, e);
        for _ in 0..self.signed {
            let ord = read_u64(&mut r).map_err(bad)?;
            let id = read_str(&mut r).map_err(bad)?;
            let source = read_str(&mut r).map_err(bad)?;
            let priority = f64::from_le_bytes(read_u64(&mut r).map_err(bad)?.to_le_bytes());
            f(ord, id, source, priority);
        }
        Ok(())
    }

    /// The priorities of `members` (ascending ordinals).
    fn priorities(&self, members: &[u64]) -> Result<HashMap<u64, f64>> {
        let mut out = HashMap::with_capacity(members.len());
        let mut at = 0;
        self.each_document(|ord, _, _, p| {
            if members.get(at) == Some(&ord) {
                out.insert(ord, p);
                at += 1;
            }
        })?;
        Ok(out)
    }

    /// The survivors' ids, and the removed documents per source.
    fn survivor_ids(
        &self,
        removals: &[(u64, u64)],
        survivors: &HashMap<u64, u32>,
    ) -> Result<(Vec<String>, BTreeMap<String, u64>)> {
        let mut ids = vec![String::new(); survivors.len()];
        let mut by_source = BTreeMap::new();
        let mut at = 0;
        self.each_document(|ord, id, source, _| {
            if let Some(&k) = survivors.get(&ord) {
                ids[k as usize] = id;
            }
            while at < removals.len() && removals[at].0 < ord {
                at += 1;
            }
            if removals.get(at).is_some_and(|r| r.0 == ord) {
                *by_source.entry(source).or_insert(0) += 1;
            }
        })?;
        Ok((ids, by_source))
    }
}

impl Decider for MinhashDecider {
    fn decide(&mut self, batch: &RecordBatch, prepared: Prepared) -> Result<Decision> {
        let signed = prepared
            .downcast::<Signed>()
            .map_err(|_| Error::Internal("minhash_dedup: wrong prepared type".into()))?;
        if signed.rows != batch.num_rows() {
            return Err(Error::Internal("minhash_dedup: prepared rows differ".into()));
        }
        if self.plan.is_some() {
            return self.decide_removals(batch, signed.rows);
        }
        let sigs = signed.signatures.ok_or_else(|| {
            Error::Internal("minhash_dedup: the count pass got no signatures".into())
        })?;
        let ids = string_column(batch, ID)?;
        let sources = string_column(batch, SOURCE)?;
        for (i, sig) in sigs.iter().enumerate() {
            let Some(sig) = sig else { continue };
            self.slice.extend_from_slice(&(self.slice_rows + i as u64).to_le_bytes());
            push_str(&mut self.slice, ids.value(i));
            push_str(&mut self.slice, sources.value(i));
            let p = signed.priorities.as_ref().map_or(f64::NEG_INFINITY, |p| p[i]);
            self.slice.extend_from_slice(&p.to_le_bytes());
            sig.iter().for_each(|v| self.slice.extend_from_slice(&v.to_le_bytes()));
            self.slice_records += 1;
        }
        self.slice_rows += signed.rows as u64;
        self.slice_sign[0] += signed.bytes;
        self.slice_sign[1] += (signed.seconds * 1e9) as u64;
        Ok(Decision { reasons: vec![None; signed.rows], ..Default::default() })
    }

    fn state_bytes(&self) -> u64 {
        match &self.plan {
            Some(p) => {
                (p.removed.capacity() * 12) as u64
                    + p.ids.iter().map(|s| s.len() as u64 + 24).sum::<u64>()
            }
            None => self.slice.capacity() as u64 + self.sorter.held_bytes(),
        }
    }

    fn state_entries(&self) -> u64 {
        match &self.plan {
            Some(p) => p.removed.len() as u64,
            None => self.signed + self.slice_records,
        }
    }

    fn export(&mut self) -> Result<Vec<u8>> {
        let rows = std::mem::take(&mut self.slice_rows);
        if self.plan.is_some() {
            return Ok(rows.to_le_bytes().to_vec());
        }
        let mut out = Vec::with_capacity(32 + self.slice.len());
        out.extend_from_slice(&rows.to_le_bytes());
        out.extend_from_slice(&std::mem::take(&mut self.slice_records).to_le_bytes());
        for v in std::mem::take(&mut self.slice_sign) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.append(&mut self.slice);
        self.slice = Vec::new();
        Ok(out)
    }

    fn import(&mut self, delta: &[u8]) -> Result<()> {
        if self.plan.is_none() {
            return Err(Error::Internal("minhash_dedup: import before the plan".into()));
        }
        self.next += row_count(delta, "minhash_dedup")?;
        Ok(())
    }

    fn use_scratch(&mut self, dir: &std::path::Path) -> Result<()> {
        self.sorter.set_dir(dir);
        self.scratch = Some(dir.to_path_buf());
        let path = self.docs_path()?;
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        self.docs = Some(BufWriter::with_capacity(1 << 20, file));
        Ok(())
    }

    fn merge(&mut self, local: &[u8]) -> Result<Vec<u8>> {
        let bad = || Error::Internal("minhash_dedup: a saved count is damaged".into());
        let mut r = local;
        let rows = read_u64(&mut r).map_err(|_| bad())?;
        let records = read_u64(&mut r).map_err(|_| bad())?;
        for v in &mut self.sign {
            *v += read_u64(&mut r).map_err(|_| bad())?;
        }
        let width = self.bands * self.hashes;
        let mut sig = vec![0u64; width];
        let path = self.docs_path()?;
        let docs = self.docs.as_mut().ok_or_else(|| Error::Internal("no scratch file".into()))?;
        for _ in 0..records {
            let row = read_u64(&mut r).map_err(|_| bad())?;
            let id = read_str(&mut r).map_err(|_| bad())?;
            let source = read_str(&mut r).map_err(|_| bad())?;
            let priority = read_u64(&mut r).map_err(|_| bad())?;
            for v in &mut sig {
                *v = read_u64(&mut r).map_err(|_| bad())?;
            }
            let ord = self.rows + row;
            let mut rec = Vec::with_capacity(24 + id.len() + source.len());
            rec.extend_from_slice(&ord.to_le_bytes());
            push_str(&mut rec, &id);
            push_str(&mut rec, &source);
            rec.extend_from_slice(&priority.to_le_bytes());
            docs.write_all(&rec).map_err(|e| Error::io(&path, e))?;
            self.sorter.push(ord, &sig)?;
            self.signed += 1;
        }
        if !r.is_empty() {
            return Err(bad());
        }
        self.rows += rows;
        self.per_slice_rows.push(rows);
        Ok(Vec::new())
    }

    fn conclude(&mut self) -> Result<Option<Conclusion>> {
        let t0 = std::time::Instant::now();
        let path = self.docs_path()?;
        if let Some(mut w) = self.docs.take() {
            w.flush().map_err(|e| Error::io(&path, e))?;
        }
        let runs = self.sorter.runs();
        let mut sets = UnionFind::default();
        let mut pairs = Vec::with_capacity(self.bands);
        for band in 0..self.bands {
            pairs.push(self.sorter.pairs(band, |a, b| sets.union(a, b))?);
        }
        let removals = match self.survivor {
            Survivor::Reference => sets.removals_by(Pick::Root),
            Survivor::First => sets.removals_by(Pick::First),
            Survivor::Highest => {
                let p = self.priorities(&sets.members())?;
                sets.removals_by(Pick::Highest(&p))
            }
        };
        let mut survivors: HashMap<u64, u32> = HashMap::new();
        let mut sizes: BTreeMap<u64, u64> = BTreeMap::new();
        {
            let mut members: HashMap<u64, u64> = HashMap::new();
            for &(_, s) in &removals {
                let k = survivors.len() as u32;
                survivors.entry(s).or_insert(k);
                *members.entry(s).or_insert(1) += 1;
            }
            for n in members.into_values() {
                *sizes.entry(n).or_insert(0) += 1;
            }
        }
        let (ids, by_source) = self.survivor_ids(&removals, &survivors)?;
        let mut plan = Vec::with_capacity(16 + removals.len() * 12);
        plan.extend_from_slice(&(removals.len() as u64).to_le_bytes());
        for &(r, s) in &removals {
            plan.extend_from_slice(&r.to_le_bytes());
            plan.extend_from_slice(&survivors[&s].to_le_bytes());
        }
        plan.extend_from_slice(&(ids.len() as u64).to_le_bytes());
        ids.iter().for_each(|id| push_str(&mut plan, id));
        let per_slice = self.per_slice_rows.iter().map(|r| r.to_le_bytes().to_vec()).collect();
        let report = serde_json::json!({
            "documents": self.rows,
            "signed": self.signed,
            "too_short": self.rows - self.signed,
            "pairs_per_band": pairs,
            "documents_in_clusters": sets.len(),
            "clusters": survivors.len(),
            "removed": removals.len(),
            "removed_by_source": by_source,
            "cluster_sizes": sizes.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            "survivor": match self.survivor {
                Survivor::Reference => "reference",
                Survivor::First => "first",
                Survivor::Highest => "highest",
            },
            "count_pass": {
                "text_bytes": self.sign[0],
                "sign_thread_seconds": self.sign[1] as f64 / 1e9,
            },
            "reduce": {
                "band_bytes_peak": self.sorter.peak_bytes,
                "runs_spilled": runs,
                "bytes_spilled": self.sorter.bytes_spilled(),
                "union_find_bytes": sets.bytes(),
                "cluster_seconds": t0.elapsed().as_secs_f64(),
            },
        });
        Ok(Some(Conclusion { plan, per_slice, report }))
    }

    fn load_plan(&mut self, bytes: &[u8]) -> Result<()> {
        let bad = |_| Error::Internal("minhash_dedup: the saved plan is damaged".into());
        let mut r = bytes;
        let n = read_u64(&mut r).map_err(bad)? as usize;
        let (mut removed, mut survivor) = (
            Vec::with_capacity(n.min(bytes.len() / 12)),
            Vec::with_capacity(n.min(bytes.len() / 12)),
        );
        for _ in 0..n {
            removed.push(read_u64(&mut r).map_err(bad)?);
            let mut b = [0u8; 4];
            r.read_exact(&mut b).map_err(bad)?;
            survivor.push(u32::from_le_bytes(b));
        }
        let k = read_u64(&mut r).map_err(bad)? as usize;
        let mut ids = Vec::with_capacity(k.min(bytes.len()));
        for _ in 0..k {
            ids.push(read_str(&mut r).map_err(bad)?);
        }
        if survivor.iter().any(|&s| s as usize >= ids.len()) || !removed.is_sorted() {
            return Err(Error::Internal("minhash_dedup: the saved plan is damaged".into()));
        }
        self.plan = Some(Plan { removed, survivor, ids });
        Ok(())
    }
}
