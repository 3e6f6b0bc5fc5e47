//! `line_dedup`'s decider through the three steps of a counted stage:
//! - **count pass**: per slice, the documents holding each unit hash and the first of them
//!   (row in the slice), exported sorted by hash;
//! - **reduce**: the slices are added in order to [`UnitCounts`], which numbers the documents
//!   (ordinals in the whole input); `conclude` keeps the units of more than `max_documents`
//!   documents: the plan;
//! - **write pass**: the plan goes to the workers (they cut the units out); here the rows are
//!   numbered again, documents left blank are dropped, and each removed unit is listed when
//!   the document that first held it passes.

use std::io::Read;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringBuilder, UInt64Builder};

use super::counts::{ENTRY_BYTES, UnitCounts};
use super::{Cut, Removed, SharedPlan};
use crate::error::{Error, Result};
use crate::stage::exact_dedup::HashKeyed;
use crate::stage::spill::{read_u64, row_count};
use crate::stage::{Conclusion, Decider, Decision, ID, Prepared, SOURCE, string_column};

/// The reason a document left blank gets.
pub const REASON: &str = "only_repeated_lines";

pub struct LineDecider {
    column: String,
    max_documents: u64,
    shared: SharedPlan,
    /// Count pass: the slice in progress (hash → documents, first row in the slice).
    slice: HashKeyed<(u64, u64)>,
    slice_rows: u64,
    /// Reduce step.
    counts: UnitCounts,
    rows: u64,
    per_slice_rows: Vec<u64>,
    /// Write pass: the plan and the ordinal of the next row.
    plan: Option<Arc<Removed>>,
    next: u64,
}

impl LineDecider {
    pub fn new(column: String, max_documents: u64, memory: u64, shared: SharedPlan) -> Self {
        LineDecider {
            column,
            max_documents,
            shared,
            slice: HashKeyed::default(),
            slice_rows: 0,
            counts: UnitCounts::new(memory),
            rows: 0,
            per_slice_rows: Vec::new(),
            plan: None,
            next: 0,
        }
    }

    fn cut(
        &mut self,
        batch: &RecordBatch,
        column: Option<ArrayRef>,
        blank: Vec<u32>,
        removed: Vec<(u32, u128, super::units::Span)>,
    ) -> Result<Decision> {
        let plan = self.plan.clone().expect("checked");
        let rows = batch.num_rows();
        let original = string_column(batch, &self.column)?;
        let mut reasons = vec![None; rows];
        for row in blank {
            reasons[row as usize] = Some(REASON);
        }
        let rewritten = match column {
            Some(column) => {
                let schema = batch.schema();
                let mut columns = batch.columns().to_vec();
                columns[schema.index_of(&self.column)?] = column;
                Some(RecordBatch::try_new(schema, columns)?)
            }
            None => None,
        };
        // each removed unit is listed once: by the document that first held it
        let (ids, sources) = (string_column(batch, ID)?, string_column(batch, SOURCE)?);
        let (mut unit, mut docs, mut first, mut src) = (
            StringBuilder::new(),
            UInt64Builder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
        );
        let mut listed = HashKeyed::<()>::default();
        for (row, hash, span) in removed {
            let (documents, first_ord) = plan[&hash];
            let row = row as usize;
            if first_ord == self.next + row as u64 && listed.insert(hash, ()).is_none() {
                unit.append_value(original.value(row)[span.start..span.end].trim());
                docs.append_value(documents);
                first.append_value(ids.value(row));
                src.append_value(sources.value(row));
            }
        }
        let side = if listed.is_empty() {
            None
        } else {
            Some(RecordBatch::try_new(
                super::removed_units_schema(),
                vec![
                    Arc::new(unit.finish()) as ArrayRef,
                    Arc::new(docs.finish()),
                    Arc::new(first.finish()),
                    Arc::new(src.finish()),
                ],
            )?)
        };
        self.next += rows as u64;
        self.slice_rows += rows as u64;
        Ok(Decision { reasons, side, rewritten, ..Default::default() })
    }
}

impl Decider for LineDecider {
    fn decide(&mut self, batch: &RecordBatch, prepared: Prepared) -> Result<Decision> {
        let cut = prepared
            .downcast::<Cut>()
            .map_err(|_| Error::Internal("line_dedup: wrong prepared type".into()))?;
        match (*cut, self.plan.is_some()) {
            (Cut::Write { column, blank, removed }, true) => {
                self.cut(batch, column, blank, removed)
            }
            (Cut::Count(hashes), false) if hashes.len() == batch.num_rows() => {
                for (i, doc) in hashes.iter().enumerate() {
                    let row = self.slice_rows + i as u64;
                    for &h in doc {
                        self.slice.entry(h).or_insert((0, row)).0 += 1;
                    }
                }
                self.slice_rows += hashes.len() as u64;
                Ok(Decision { reasons: vec![None; hashes.len()], ..Default::default() })
            }
            _ => Err(Error::Internal("line_dedup: a batch prepared for the other pass".into())),
        }
    }

    fn state_bytes(&self) -> u64 {
        match &self.plan {
            Some(p) => p.capacity() as u64 * ENTRY_BYTES,
            None => self.slice.capacity() as u64 * ENTRY_BYTES + self.counts.held_bytes(),
        }
    }

    fn state_entries(&self) -> u64 {
        match &self.plan {
            Some(p) => p.len() as u64,
            None => self.slice.len() as u64,
        }
    }

    fn export(&mut self) -> Result<Vec<u8>> {
        let rows = std::mem::take(&mut self.slice_rows);
        if self.plan.is_some() {
            return Ok(rows.to_le_bytes().to_vec());
        }
        let mut entries: Vec<(u128, (u64, u64))> = self.slice.drain().collect();
        self.slice = HashKeyed::default();
        entries.sort_unstable_by_key(|e| e.0);
        let mut out = Vec::with_capacity(16 + entries.len() * 32);
        out.extend_from_slice(&rows.to_le_bytes());
        out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        for (h, (docs, first)) in entries {
            out.extend_from_slice(&h.to_le_bytes());
            out.extend_from_slice(&docs.to_le_bytes());
            out.extend_from_slice(&first.to_le_bytes());
        }
        Ok(out)
    }

    fn import(&mut self, delta: &[u8]) -> Result<()> {
        if self.plan.is_none() {
            return Err(Error::Internal("line_dedup: import before the plan".into()));
        }
        self.next += row_count(delta, "line_dedup")?;
        Ok(())
    }

    fn use_scratch(&mut self, dir: &std::path::Path) -> Result<()> {
        self.counts.set_dir(dir);
        Ok(())
    }

    fn merge(&mut self, local: &[u8]) -> Result<Vec<u8>> {
        let bad = |_| Error::Internal("line_dedup: a saved count is damaged".into());
        let mut r = local;
        let rows = read_u64(&mut r).map_err(bad)?;
        let n = read_u64(&mut r).map_err(bad)?;
        for _ in 0..n {
            let mut h = [0u8; 16];
            r.read_exact(&mut h).map_err(bad)?;
            let docs = read_u64(&mut r).map_err(bad)?;
            let first = read_u64(&mut r).map_err(bad)?;
            self.counts.add(u128::from_le_bytes(h), docs, self.rows + first)?;
        }
        if !r.is_empty() {
            return Err(Error::Internal("line_dedup: a saved count is damaged".into()));
        }
        self.rows += rows;
        self.per_slice_rows.push(rows);
        Ok(Vec::new())
    }

    fn conclude(&mut self) -> Result<Option<Conclusion>> {
        let t0 = std::time::Instant::now();
        let runs = self.counts.runs();
        let (max, mut plan) = (self.max_documents, Vec::new());
        let (mut repeated, mut occurrences) = (0u64, 0u64);
        let distinct = self.counts.finish(|e| {
            if e.documents > max {
                repeated += 1;
                occurrences += e.documents;
                plan.extend_from_slice(&e.hash.to_le_bytes());
                plan.extend_from_slice(&e.documents.to_le_bytes());
                plan.extend_from_slice(&e.first.to_le_bytes());
            }
        })?;
        let per_slice = self.per_slice_rows.iter().map(|r| r.to_le_bytes().to_vec()).collect();
        let report = serde_json::json!({
            "documents": self.rows,
            "distinct_units": distinct,
            "max_documents": max,
            "removed_units": repeated,
            "unit_document_pairs": occurrences,
            "reduce": {
                "counts_bytes_peak": self.counts.peak_bytes,
                "runs_spilled": runs,
                "bytes_spilled": self.counts.bytes_spilled(),
                "seconds": t0.elapsed().as_secs_f64(),
            },
        });
        Ok(Some(Conclusion { plan, per_slice, report }))
    }

    fn load_plan(&mut self, bytes: &[u8]) -> Result<()> {
        if !bytes.len().is_multiple_of(32) {
            return Err(Error::Internal("line_dedup: the saved plan is damaged".into()));
        }
        let mut removed = Removed::default();
        removed.reserve(bytes.len() / 32);
        for rec in bytes.chunks_exact(32) {
            let h = u128::from_le_bytes(rec[..16].try_into().expect("16"));
            let docs = u64::from_le_bytes(rec[16..24].try_into().expect("8"));
            let first = u64::from_le_bytes(rec[24..].try_into().expect("8"));
            removed.insert(h, (docs, first));
        }
        let removed = Arc::new(removed);
        *self
            .shared
            .write()
            .map_err(|_| Error::Internal("line_dedup: the plan lock is poisoned".into()))? =
            Some(removed.clone());
        self.plan = Some(removed);
        Ok(())
    }
}
