//! The counted stage shared by `mix` and `balance`: an [`Ordered`] stage whose decider first
//! observes (the count pass: per row its group, seeded key and tokens, exported per slice),
//! then, in the reduce step, merges every slice's observations and concludes a plan (a
//! [`Selection`] per group), and in the write pass gives each row its copies from the plan.
//! What differs between the two stages is a [`Grouping`]: which group a row belongs to, and
//! what each group must give.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, Int32Array, RecordBatch, UInt32Array};
use serde::{Deserialize, Serialize};

use super::select::{self, Selection, Target};
use crate::error::{Error, Result};
use crate::stage::{
    BatchContext, COPY_INDEX, Conclusion, Copies, Decider, Decision, GroupCount, ID, ORIGIN_ID,
    Ordered, Prepared, row_seed, string_column,
};

/// A group's totals in the counted input.
#[derive(Debug, Clone)]
pub struct GroupTotals {
    /// Group name.
    pub name: String,
    /// Documents.
    pub documents: u64,
    /// Tokens.
    pub tokens: u64,
}

/// What one group must give, and how it was asked for (for the report).
#[derive(Debug, Clone)]
pub struct GroupTarget {
    /// The target.
    pub target: Target,
    /// The request as written (`share_of_tokens 0.5`, `uniform`, ...).
    pub requested: String,
    /// The requested share of the output, when the request is a share.
    pub requested_share: Option<f64>,
    /// The repetition cap, when there is one.
    pub max_repeat: Option<f64>,
    /// True when the cap, not the request, set the target (`balance` only).
    pub capped: bool,
}

/// What makes `mix` and `balance` different.
pub trait Grouping: Send + Sync + 'static {
    /// The group of every row: a local dictionary of names and, per row, an index into it
    /// (`None`: the row is in no group).
    fn assign(&self, batch: &RecordBatch) -> Result<(Vec<String>, Vec<Option<u32>>)>;
    /// Per group (in the order given), what it must give; an error when a target cannot be
    /// met. Groups the count pass found, with their totals, in order of first appearance.
    fn targets(&self, totals: &[GroupTotals]) -> Result<Vec<GroupTarget>>;
    /// The message for rows in no group.
    fn ungrouped(&self, rows: u64) -> String;
    /// `tokens` when shares are shares of tokens, else `documents` (for the report).
    fn unit(&self) -> &'static str;
    /// Groups known before any row is seen (`mix`'s configured groups), in order: they come
    /// first in [`Grouping::targets`]' totals, with zero totals when no row joined them.
    fn known(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A counted stage over a [`Grouping`].
pub struct Counted<G> {
    grouping: Arc<G>,
    token_count: Option<String>,
    stage: &'static str,
}

impl<G: Grouping> Counted<G> {
    /// The stage; `token_count` is the token column when the pipeline tokenized before it.
    pub fn new(grouping: G, token_count: Option<String>, stage: &'static str) -> Self {
        Counted { grouping: Arc::new(grouping), token_count, stage }
    }
}

/// The parallel half: per row its group, key and tokens.
struct Observed {
    names: Vec<String>,
    groups: Vec<Option<u32>>,
    keys: Vec<u64>,
    tokens: Vec<u32>,
}

impl<G: Grouping> Ordered for Counted<G> {
    fn prepare(&self, batch: &RecordBatch, ctx: &BatchContext) -> Result<Prepared> {
        let (names, groups) = self.grouping.assign(batch)?;
        let origin = match batch.column_by_name(ORIGIN_ID) {
            Some(_) => string_column(batch, ORIGIN_ID)?,
            None => string_column(batch, ID)?,
        };
        let copy =
            batch.column_by_name(COPY_INDEX).and_then(|c| c.as_any().downcast_ref::<UInt32Array>());
        let keys = (0..batch.num_rows())
            .map(|i| row_seed(ctx.seed, origin.value(i), copy.map_or(0, |c| c.value(i))))
            .collect();
        let tokens = match &self.token_count {
            None => vec![0; batch.num_rows()],
            Some(col) => {
                let c = batch
                    .column_by_name(col)
                    .and_then(|c| c.as_any().downcast_ref::<Int32Array>())
                    .ok_or_else(|| Error::Internal(format!("no int32 token column `{col}`")))?;
                (0..c.len())
                    .map(|i| if c.is_valid(i) { c.value(i).max(0) as u32 } else { 0 })
                    .collect()
            }
        };
        Ok(Box::new(Observed { names, groups, keys, tokens }))
    }

    fn decider(&self) -> Box<dyn Decider> {
        let mut d = Box::new(CountedDecider {
            grouping: Arc::clone(&self.grouping),
            stage: self.stage,
            names: Vec::new(),
            index: HashMap::new(),
            slice_rows: Vec::new(),
            slice_ungrouped: 0,
            reduce: Vec::new(),
            reduce_slices: 0,
            ungrouped: 0,
            plan: None,
        });
        for name in self.grouping.known() {
            d.intern(&name);
        }
        d
    }

    fn counted(&self) -> bool {
        true
    }

    fn makes_copies(&self) -> bool {
        true
    }
}

/// One observed row: (group, key, tokens).
type Row = (u32, u64, u32);

/// A group's rows in the reduce step, in input order, and where each slice's rows end.
#[derive(Default)]
struct GroupRows {
    rows: Vec<(u64, u32)>,
    /// (slice, end offset in `rows`) for every slice that had rows of the group.
    ends: Vec<(usize, usize)>,
}

/// The write pass's plan, as the reduce step saved it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedPlan {
    groups: Vec<(String, Selection)>,
    stride: u32,
}

/// The write pass's state: the plan and the tie counters.
struct Apply {
    plan: SavedPlan,
    by_name: HashMap<String, usize>,
    /// Rows with the threshold key seen so far, per group.
    ties: Vec<u64>,
    /// The same, for the slice in progress (its delta).
    slice_ties: Vec<u64>,
}

struct CountedDecider<G> {
    grouping: Arc<G>,
    stage: &'static str,
    /// Group names in order of first appearance, and their index.
    names: Vec<String>,
    index: HashMap<String, u32>,
    /// Count pass: the slice in progress.
    slice_rows: Vec<Row>,
    slice_ungrouped: u64,
    /// Reduce step: every slice merged so far, per group.
    reduce: Vec<GroupRows>,
    reduce_slices: usize,
    ungrouped: u64,
    /// Write pass.
    plan: Option<Apply>,
}

impl<G: Grouping> CountedDecider<G> {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }

    fn decide_copies(&mut self, obs: &Observed) -> Result<Decision> {
        let apply = self.plan.as_mut().expect("checked");
        let n = obs.keys.len();
        let mut counts = Vec::with_capacity(n);
        let mut realised: Vec<(u64, u64)> = vec![(0, 0); apply.plan.groups.len()];
        for i in 0..n {
            let g = obs.groups[i]
                .and_then(|l| apply.by_name.get(&obs.names[l as usize]).copied())
                .ok_or_else(|| {
                    Error::Internal(format!(
                        "{}: a row's group was not seen in the count pass; the stages before \
                         this one are not deterministic",
                        self.stage
                    ))
                })?;
            let sel = &apply.plan.groups[g].1;
            let key = obs.keys[i];
            let c = select::copies(sel, key, apply.ties[g]);
            if key == sel.threshold {
                apply.ties[g] += 1;
                apply.slice_ties[g] += 1;
            }
            realised[g].0 += u64::from(c);
            realised[g].1 += u64::from(c) * u64::from(obs.tokens[i]);
            counts.push(c);
        }
        let groups = realised
            .iter()
            .zip(&apply.plan.groups)
            .filter(|(r, _)| r.0 > 0)
            .map(|(r, (name, _))| GroupCount { group: name.clone(), documents: r.0, tokens: r.1 })
            .collect();
        Ok(Decision {
            reasons: vec![None; n],
            copies: Some(Copies { counts, stride: apply.plan.stride }),
            groups,
            ..Default::default()
        })
    }
}

impl<G: Grouping> Decider for CountedDecider<G> {
    fn decide(&mut self, batch: &RecordBatch, prepared: Prepared) -> Result<Decision> {
        let obs = prepared
            .downcast::<Observed>()
            .map_err(|_| Error::Internal(format!("{}: wrong prepared type", self.stage)))?;
        if obs.keys.len() != batch.num_rows() {
            return Err(Error::Internal(format!("{}: prepared rows differ", self.stage)));
        }
        if self.plan.is_some() {
            return self.decide_copies(&obs);
        }
        let local: Vec<u32> = obs.names.iter().map(|n| self.intern(n)).collect();
        for i in 0..obs.keys.len() {
            match obs.groups[i] {
                Some(l) => self.slice_rows.push((local[l as usize], obs.keys[i], obs.tokens[i])),
                None => self.slice_ungrouped += 1,
            }
        }
        Ok(Decision { reasons: vec![None; batch.num_rows()], ..Default::default() })
    }

    fn state_bytes(&self) -> u64 {
        if let Some(a) = &self.plan {
            return (a.plan.groups.len() * 96) as u64;
        }
        let held = self.slice_rows.len() * size_of::<Row>()
            + self.reduce.iter().map(|g| g.rows.len() * 16 + g.ends.len() * 16).sum::<usize>();
        held as u64 + self.names.iter().map(|n| n.len() as u64 + 32).sum::<u64>()
    }

    fn state_entries(&self) -> u64 {
        if let Some(a) = &self.plan {
            return a.plan.groups.len() as u64;
        }
        (self.slice_rows.len() + self.reduce.iter().map(|g| g.rows.len()).sum::<usize>()) as u64
    }

    fn export(&mut self) -> Result<Vec<u8>> {
        if let Some(apply) = &mut self.plan {
            let delta = serde_json::to_vec(&apply.slice_ties).expect("ties serialize");
            apply.slice_ties.iter_mut().for_each(|t| *t = 0);
            return Ok(delta);
        }
        let rows = std::mem::take(&mut self.slice_rows);
        let ungrouped = std::mem::take(&mut self.slice_ungrouped);
        Ok(encode_observations(&self.names, ungrouped, &rows))
    }

    fn import(&mut self, delta: &[u8]) -> Result<()> {
        let apply = self
            .plan
            .as_mut()
            .ok_or_else(|| Error::Internal("import before the plan was loaded".into()))?;
        let ties: Vec<u64> = serde_json::from_slice(delta)
            .map_err(|e| Error::Internal(format!("a saved tie count is damaged: {e}")))?;
        if ties.len() != apply.ties.len() {
            return Err(Error::Internal("a saved tie count has the wrong groups".into()));
        }
        apply.ties.iter_mut().zip(ties).for_each(|(a, b)| *a += b);
        Ok(())
    }

    fn merge(&mut self, local: &[u8]) -> Result<Vec<u8>> {
        let (names, ungrouped, rows) = decode_observations(local)?;
        let slice = self.reduce_slices;
        self.reduce_slices += 1;
        self.ungrouped += ungrouped;
        let map: Vec<u32> = names.iter().map(|n| self.intern(n)).collect();
        self.reduce.resize_with(self.names.len(), GroupRows::default);
        for (g, key, tokens) in rows {
            let g = *map.get(g as usize).ok_or_else(|| {
                Error::Internal("a saved count names a group it does not list".into())
            })?;
            self.reduce[g as usize].rows.push((key, tokens));
        }
        for gr in &mut self.reduce {
            let end = gr.rows.len();
            if gr.ends.last().map_or(end > 0, |&(_, e)| e < end) {
                gr.ends.push((slice, end));
            }
        }
        Ok(Vec::new())
    }

    fn conclude(&mut self) -> Result<Option<Conclusion>> {
        if self.ungrouped > 0 {
            return Err(Error::Invalid(self.grouping.ungrouped(self.ungrouped)));
        }
        self.reduce.resize_with(self.names.len(), GroupRows::default);
        let totals: Vec<GroupTotals> = self
            .names
            .iter()
            .zip(&self.reduce)
            .map(|(name, g)| GroupTotals {
                name: name.clone(),
                documents: g.rows.len() as u64,
                tokens: g.rows.iter().map(|r| u64::from(r.1)).sum(),
            })
            .collect();
        let targets = self.grouping.targets(&totals)?;
        let mut groups = Vec::with_capacity(targets.len());
        for ((t, g), tot) in targets.iter().zip(&self.reduce).zip(&totals) {
            let sel = select::select(&g.rows, t.target).ok_or_else(|| {
                Error::Invalid(format!("group `{}`: too many copies per document", tot.name))
            })?;
            groups.push((tot.name.clone(), sel));
        }
        let stride = groups.iter().map(|(_, s)| s.epochs + 1).max().unwrap_or(1);
        let per_slice = (0..self.reduce_slices)
            .map(|s| {
                let ties: Vec<u64> = self
                    .reduce
                    .iter()
                    .zip(&groups)
                    .map(|(g, (_, sel))| {
                        let start = g.ends.iter().rev().find(|(sl, _)| *sl < s).map_or(0, |e| e.1);
                        let end = g.ends.iter().find(|(sl, _)| *sl == s).map_or(start, |e| e.1);
                        g.rows[start..end].iter().filter(|r| r.0 == sel.threshold).count() as u64
                    })
                    .collect();
                serde_json::to_vec(&ties).expect("ties serialize")
            })
            .collect();
        let report = report(self.grouping.unit(), &totals, &targets, &groups);
        let plan = SavedPlan { groups, stride };
        Ok(Some(Conclusion {
            plan: serde_json::to_vec(&plan).expect("plan serializes"),
            per_slice,
            report,
        }))
    }

    fn load_plan(&mut self, bytes: &[u8]) -> Result<()> {
        let plan: SavedPlan = serde_json::from_slice(bytes)
            .map_err(|e| Error::Internal(format!("the saved mixture plan is damaged: {e}")))?;
        let by_name = plan.groups.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)).collect();
        let k = plan.groups.len();
        self.plan = Some(Apply { plan, by_name, ties: vec![0; k], slice_ties: vec![0; k] });
        Ok(())
    }
}

/// The plan for people: per group the request, what the input had, and what is written.
fn report(
    unit: &str,
    totals: &[GroupTotals],
    targets: &[GroupTarget],
    groups: &[(String, Selection)],
) -> serde_json::Value {
    let docs: u64 = groups.iter().map(|g| g.1.documents).sum();
    let toks: u64 = groups.iter().map(|g| g.1.tokens).sum();
    let share = |part: u64, whole: u64| if whole == 0 { 0.0 } else { part as f64 / whole as f64 };
    let rows: Vec<serde_json::Value> = totals
        .iter()
        .zip(targets)
        .zip(groups)
        .map(|((tot, t), (_, s))| {
            serde_json::json!({
                "group": tot.name,
                "requested": t.requested,
                "requested_share": t.requested_share,
                "max_repeat": t.max_repeat,
                "capped": t.capped,
                "available_documents": tot.documents,
                "available_tokens": tot.tokens,
                "planned_documents": s.documents,
                "planned_tokens": s.tokens,
                "planned_share": if unit == "tokens" { share(s.tokens, toks) } else { share(s.documents, docs) },
                "repeat": share(s.documents, tot.documents),
            })
        })
        .collect();
    serde_json::json!({ "unit": unit, "documents": docs, "tokens": toks, "groups": rows })
}

/// A slice's observations: its group names, rows in no group, and rows.
fn encode_observations(names: &[String], ungrouped: u64, rows: &[Row]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + rows.len() * 16);
    out.extend_from_slice(&(names.len() as u64).to_le_bytes());
    for n in names {
        out.extend_from_slice(&(n.len() as u64).to_le_bytes());
        out.extend_from_slice(n.as_bytes());
    }
    out.extend_from_slice(&ungrouped.to_le_bytes());
    out.extend_from_slice(&(rows.len() as u64).to_le_bytes());
    for (g, k, t) in rows {
        out.extend_from_slice(&g.to_le_bytes());
        out.extend_from_slice(&k.to_le_bytes());
        out.extend_from_slice(&t.to_le_bytes());
    }
    out
}

type Observations = (Vec<String>, u64, Vec<Row>);

fn decode_observations(b: &[u8]) -> Result<Observations> {
    let bad = || Error::Internal("a saved count is damaged".into());
    let mut pos = 0usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let s = b.get(pos..pos + n).ok_or_else(bad)?;
        pos += n;
        Ok(s)
    };
    let u64_at = |s: &[u8]| u64::from_le_bytes(s.try_into().expect("8 bytes"));
    let k = u64_at(take(8)?) as usize;
    let mut names = Vec::with_capacity(k.min(1 << 16));
    for _ in 0..k {
        let len = u64_at(take(8)?) as usize;
        names.push(String::from_utf8(take(len)?.to_vec()).map_err(|_| bad())?);
    }
    let ungrouped = u64_at(take(8)?);
    let n = u64_at(take(8)?) as usize;
    let mut rows = Vec::with_capacity(n.min(b.len() / 16));
    for _ in 0..n {
        let s = take(16)?;
        rows.push((
            u32::from_le_bytes(s[0..4].try_into().expect("4 bytes")),
            u64_at(&s[4..12]),
            u32::from_le_bytes(s[12..16].try_into().expect("4 bytes")),
        ));
    }
    Ok((names, ungrouped, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_round_trip() {
        let rows = vec![(0, 7, 3), (1, u64::MAX, 0), (0, 0, u32::MAX)];
        let names = vec!["web".to_string(), "bücher".to_string()];
        let b = encode_observations(&names, 4, &rows);
        assert_eq!(decode_observations(&b).unwrap(), (names, 4, rows));
        assert!(decode_observations(&b[..b.len() - 1]).is_err());
    }
}
