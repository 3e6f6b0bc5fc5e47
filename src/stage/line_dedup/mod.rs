//! `line_dedup` (counted): removes the lines or paragraphs that recur in more than
//! `max_documents` documents across the whole input (navigation, licence headers, the Project
//! Gutenberg header and footer). The count pass hashes every document's units on the workers
//! ([`units`]); the reduce step counts the documents per unit within a memory budget,
//! spilling sorted runs ([`counts`]); the write pass cuts the repeated units out of every
//! document on the workers and lists each removed unit once in
//! `OUT/duplicates/<stage id>.parquet` ([`decider`]). See `docs/dedup.md`.

pub mod counts;
mod decider;
pub mod units;

use std::sync::{Arc, RwLock};

use arrow::array::{Array, ArrayRef, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    BatchContext, BuildContext, BuiltStage, Decider, FilterMode, Ordered, Prepared, SideOutput,
    StageBuilder, string_column,
};
use crate::error::{Error, Result};
use units::{Cutter, Span};

/// What `line_dedup` counts and removes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Lines (ended by `\n`).
    #[default]
    Line,
    /// Paragraphs: runs of non-blank lines, with the blank lines after them.
    Paragraph,
}

/// Removes the lines (or paragraphs) found in more than `max_documents` documents of the whole
/// input, from every document that holds them. A unit is compared without its leading and
/// trailing whitespace; blank units and units shorter than `min_chars` characters are never
/// removed. Each removed unit is listed once in `OUT/duplicates/<stage id>.parquet` (its text
/// in the first document that held it, the number of documents, that document's id). A
/// document left blank is dropped (reason `only_repeated_lines`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineDedupConfig {
    /// Column that holds the text (a string column); it is rewritten.
    #[serde(default = "super::normalize::default_column")]
    pub column: String,
    /// `line` or `paragraph`.
    #[serde(default)]
    pub unit: Unit,
    /// A unit found in more than this many documents is removed from all of them.
    pub max_documents: u64,
    /// Units shorter than this many characters (without outer whitespace) are kept whatever
    /// their count (`1`: every non-blank unit counts).
    #[serde(default = "default_min_chars")]
    pub min_chars: usize,
    /// Compare units case-insensitively.
    #[serde(default)]
    pub lowercase: bool,
    /// Memory, in MiB, for the reduce step's counts before it spills sorted runs to the work
    /// area (about 56 bytes per distinct unit). Counts against `state_memory_mb`.
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u64,
    /// `drop` removes documents left blank; `annotate` keeps them and adds `<id>_reason`.
    #[serde(default)]
    pub mode: FilterMode,
}

fn default_min_chars() -> usize {
    1
}
fn default_memory_mb() -> u64 {
    512
}

/// The stage type's name in pipeline files.
pub const NAME: &str = "line_dedup";

impl StageBuilder for LineDedupConfig {
    const NAME: &'static str = NAME;

    fn example() -> Self {
        LineDedupConfig {
            column: super::normalize::default_column(),
            unit: Unit::Line,
            max_documents: 10,
            min_chars: 1,
            lowercase: false,
            memory_mb: default_memory_mb(),
            mode: FilterMode::Drop,
        }
    }

    fn check(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if self.max_documents == 0 {
            errors
                .push("`max_documents` must be at least 1 (a unit in more documents goes)".into());
        }
        if self.memory_mb == 0 {
            errors.push("`memory_mb` must be positive".into());
        }
        errors
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        super::require_string(&cx.input_schema, &self.column)?;
        let stage = LineDedup {
            column: self.column.clone(),
            cutter: Cutter {
                unit: self.unit,
                min_chars: self.min_chars,
                lowercase: self.lowercase,
            },
            max_documents: self.max_documents,
            memory_bytes: self.memory_mb.saturating_mul(1 << 20),
            removed: Arc::new(RwLock::new(None)),
            side: SideOutput {
                name: cx.stage_id.to_string(),
                kind: "duplicates",
                schema: removed_units_schema(),
            },
        };
        Ok(BuiltStage::Ordered(Box::new(stage), self.mode))
    }
}

/// Rows of `OUT/duplicates/<line_dedup id>.parquet`: one per removed unit.
pub fn removed_units_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("unit_text", DataType::Utf8, false),
        Field::new("documents", DataType::UInt64, false),
        Field::new("first_doc_id", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
    ]))
}

/// The write pass's plan: per removed unit hash, its documents and first ordinal. The decider
/// loads it; the workers read it through the stage.
pub(crate) type Removed = super::exact_dedup::HashKeyed<(u64, u64)>;
type SharedPlan = Arc<RwLock<Option<Arc<Removed>>>>;

struct LineDedup {
    column: String,
    cutter: Cutter,
    max_documents: u64,
    memory_bytes: u64,
    removed: SharedPlan,
    side: SideOutput,
}

/// The parallel half of a batch.
pub(crate) enum Cut {
    /// Count pass: per row, its distinct unit hashes.
    Count(Vec<Vec<u128>>),
    /// Write pass, built on the workers: the text column without the removed units (`None`:
    /// no row changed), the rows left blank, and every removed unit as `(row, hash, byte
    /// range in the original text)`.
    Write { column: Option<ArrayRef>, blank: Vec<u32>, removed: Vec<(u32, u128, Span)> },
}

impl Ordered for LineDedup {
    fn prepare(&self, batch: &RecordBatch, ctx: &BatchContext) -> Result<Prepared> {
        let text = string_column(batch, &self.column)?;
        if ctx.counting {
            let hashes = text
                .iter()
                .map(|t| t.map(|t| units::distinct(&self.cutter.spans(t))).unwrap_or_default())
                .collect();
            return Ok(Box::new(Cut::Count(hashes)));
        }
        let plan = self
            .removed
            .read()
            .map_err(|_| Error::Internal("line_dedup: the plan lock is poisoned".into()))?
            .clone()
            .ok_or_else(|| Error::Internal("line_dedup: the write pass has no plan".into()))?;
        let (mut removed, mut blank, mut cut) = (Vec::new(), Vec::new(), Vec::new());
        for (row, t) in text.iter().enumerate() {
            let Some(t) = t else { continue };
            let spans = self.cutter.spans(t);
            if !spans.iter().any(|s| s.hash.is_some_and(|h| plan.contains_key(&h))) {
                continue;
            }
            let mut kept = String::with_capacity(t.len());
            for s in spans {
                match s.hash {
                    Some(h) if plan.contains_key(&h) => removed.push((row as u32, h, s)),
                    _ => kept.push_str(&t[s.start..s.end]),
                }
            }
            if kept.trim().is_empty() {
                blank.push(row as u32);
            }
            cut.push((row, kept));
        }
        // the rewritten column, only when a row changed
        let column = (!cut.is_empty()).then(|| {
            let mut out = StringBuilder::with_capacity(text.len(), text.values().len());
            let mut cut = cut.iter().peekable();
            for (row, t) in text.iter().enumerate() {
                match (cut.next_if(|(r, _)| *r == row), t) {
                    (Some((_, kept)), _) => out.append_value(kept),
                    (None, Some(t)) => out.append_value(t),
                    (None, None) => out.append_null(),
                }
            }
            Arc::new(out.finish()) as ArrayRef
        });
        Ok(Box::new(Cut::Write { column, blank, removed }))
    }

    fn decider(&self) -> Box<dyn Decider> {
        Box::new(decider::LineDecider::new(
            self.column.clone(),
            self.max_documents,
            self.memory_bytes,
            self.removed.clone(),
        ))
    }

    fn side_output(&self) -> Option<SideOutput> {
        Some(self.side.clone())
    }

    fn counted(&self) -> bool {
        true
    }
}
