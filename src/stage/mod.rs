//! Stages: the units of a pipeline, in four kinds (see `docs/architecture.md`):
//! - [`Transform`]: stateless, rewrites or adds columns, keeps every row;
//! - [`Filter`]: stateless, decides per document whether to keep it and why not;
//! - [`Expand`]: row-changing, one input row gives 0..N output rows, each carrying the
//!   input's `origin_id` and a copy index;
//! - [`Ordered`]: "compute in parallel, decide in order": [`Ordered::prepare`] runs on the
//!   workers, a [`Decider`] (one per run, `&mut self`) sees every batch in input order, may
//!   drop rows, keep state across batches and flush at the end of the input.
//!
//! The first three are shared across worker threads (`&self`); the executor applies filters'
//! decisions (drop or annotate), counts drop reasons and keeps batch order.

pub mod augment;
pub mod clean;
pub mod docs;
pub mod exact_dedup;
pub mod language;
pub mod length_filter;
pub mod line_dedup;
pub mod lists;
pub mod minhash;
pub mod mixing;
pub mod normalize;
pub mod pii_redact;
pub mod quality;
pub mod regex_filter;
pub mod regex_replace;
pub mod registry;
pub mod resample;
pub mod spill;
pub mod sql_filter;
pub mod tokenize;

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Name of the text column every batch carries (always `Utf8`).
pub const TEXT: &str = "text";
/// Name of the document id column (always `Utf8`, never null).
pub const ID: &str = "id";
/// Name of the source column (the pipeline's source name).
pub const SOURCE: &str = "source";
/// Name of the column that holds the input document's id on every row a row-changing stage
/// made (added by the first [`Expand`] stage; the train/validation split is decided on it).
pub const ORIGIN_ID: &str = "origin_id";
/// Name of the copy-index column (`uint32`): 0 for the first copy of a document.
pub const COPY_INDEX: &str = "copy_index";

/// What a filter does with a document it rejects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FilterMode {
    /// Remove the document; the reason is counted in the stats.
    #[default]
    Drop,
    /// Keep the document and add a column `<stage id>_reason` with the reason (null when the
    /// document passes), so thresholds can be chosen later.
    Annotate,
}

/// What a stage sees besides the batch.
#[derive(Debug, Clone, Copy)]
pub struct BatchContext {
    /// Position of the batch in the input (stable across thread counts).
    pub seq: u64,
    /// The stage's seed, derived from the pipeline seed and the stage id ([`stage_seed`]).
    /// Per-row randomness comes from [`row_seed`] of it, the origin key and the copy index.
    pub seed: u64,
    /// True in the count pass (map phase) that runs before a counted stage's write pass: a
    /// counted stage prepares what it observes then (`minhash_dedup`'s signatures), and only
    /// what its plan needs in the write pass.
    pub counting: bool,
}

/// The seed of a stage: a hash of the pipeline seed and the stage id (not its position, so
/// inserting a stage does not reseed the others).
pub fn stage_seed(pipeline_seed: u64, stage_id: &str) -> u64 {
    let mut key = pipeline_seed.to_le_bytes().to_vec();
    key.extend_from_slice(stage_id.as_bytes());
    xxhash_rust::xxh3::xxh3_64(&key)
}

/// The one rule for randomness in every stage: a 64-bit value derived from the stage seed,
/// the document's origin key and its copy index. Never from time or thread scheduling.
pub fn row_seed(stage_seed: u64, origin: &str, copy: u32) -> u64 {
    let mut key = Vec::with_capacity(origin.len() + 12);
    key.extend_from_slice(&stage_seed.to_le_bytes());
    key.extend_from_slice(&copy.to_le_bytes());
    key.extend_from_slice(origin.as_bytes());
    xxhash_rust::xxh3::xxh3_64(&key)
}

/// A uniform number in `[0, 1)` from a [`row_seed`] value (53 bits).
pub fn unit_interval(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// What a stage needs at build time.
pub struct BuildContext<'a> {
    /// The stage id from the pipeline file.
    pub stage_id: &'a str,
    /// Schema of the batches the stage will receive.
    pub input_schema: SchemaRef,
    /// Pipeline seed.
    pub seed: u64,
    /// The pipeline's sources: (name, `weight`), in order.
    pub sources: Vec<(String, f64)>,
    /// The token count column, when a stage before this one tokenizes.
    pub token_count: Option<String>,
}

/// A stage that rewrites or adds columns and keeps every row.
pub trait Transform: Send + Sync {
    /// Schema of the output for a given input schema.
    fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef> {
        Ok(Arc::clone(input))
    }
    /// Processes one batch. Must be deterministic given `(batch, ctx)`.
    fn apply(&self, batch: RecordBatch, ctx: &BatchContext) -> Result<RecordBatch>;
    /// [`Self::apply`], also adding to `changes` how many of each kind of change it made
    /// (`pii_redact`'s matches per type, `clean`'s removals); they appear as the stage's
    /// `changes` in the stats. The default makes no counts.
    fn apply_counted(
        &self,
        batch: RecordBatch,
        ctx: &BatchContext,
        changes: &mut BTreeMap<String, u64>,
    ) -> Result<RecordBatch> {
        let _ = changes;
        self.apply(batch, ctx)
    }
}

/// Facts a stage hands to the plan at build time (for the layout and the manifest).
#[derive(Debug, Clone, Default)]
pub struct StageFacts {
    /// The tokenizer, for the stage that tokenizes.
    pub tokenizer: Option<tokenize::TokenizerInfo>,
    /// The columns the stage writes token ids and counts to, for the stage that tokenizes;
    /// the executor and the sink take the names from here.
    pub tokens: Option<TokenColumns>,
}

/// Where a tokenizing stage puts its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenColumns {
    /// `list<int32>` column of token ids.
    pub ids: String,
    /// `int32` column of token counts.
    pub count: String,
}

/// A filter's decision for every row of a batch.
pub struct Verdict {
    /// `None` keeps the row; `Some(reason)` rejects it.
    pub reasons: Vec<Option<&'static str>>,
    /// A rewritten text column, for filters that also edit the text they keep.
    pub new_text: Option<ArrayRef>,
    /// Extra columns (one per [`Filter::annotation_fields`]), added in both modes.
    pub annotations: Vec<ArrayRef>,
}

impl Verdict {
    /// A verdict that only says keep or reject.
    pub fn reasons(reasons: Vec<Option<&'static str>>) -> Self {
        Verdict { reasons, new_text: None, annotations: Vec::new() }
    }
}

/// A stage that keeps or rejects documents.
pub trait Filter: Send + Sync {
    /// Columns the filter adds (scores, labels); empty for most filters.
    fn annotation_fields(&self) -> Vec<FieldRef> {
        Vec::new()
    }
    /// The only columns [`Filter::evaluate`] reads, when it names them: the executor then
    /// hands it just those columns of the live rows and cuts the others once, later (see
    /// `exec::lazy`). `None`: it gets the whole batch.
    fn reads(&self) -> Option<Vec<&str>> {
        None
    }
    /// Decides every row of the batch.
    fn evaluate(&self, batch: &RecordBatch, ctx: &BatchContext) -> Result<Verdict>;
}

/// What a row-changing stage made of one batch.
pub struct Expansion {
    /// The output rows, with the stage's output schema.
    pub batch: RecordBatch,
    /// For every output row, the input row it came from; non-decreasing, so the output keeps
    /// the input order.
    pub parents: Vec<u32>,
}

/// A row-changing stage: each input row gives 0..N output rows (resampling, augmentation).
/// The executor fills `origin_id` (the input document's key, kept through every copy),
/// `copy_index` and the `id` of copies (`<origin>#<copy>`), so the stage only says which
/// input row each output row comes from.
pub trait Expand: Send + Sync {
    /// Schema of the output for a given input schema (before the executor's origin columns).
    fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef> {
        Ok(Arc::clone(input))
    }
    /// The most output rows one input row can give; the stride of the copy index (a row with
    /// copy index `c` gives copies `c * max_copies + j`).
    fn max_copies(&self) -> u32;
    /// Expands one batch. Must be deterministic given `(batch, ctx)`; randomness only from
    /// [`row_seed`] of `ctx.seed`, the row's `origin_id` and `copy_index` columns.
    fn expand(&self, batch: &RecordBatch, ctx: &BatchContext) -> Result<Expansion>;
}

/// The parallel part of an ordered stage's work on one batch (hashes, signatures), handed to
/// the [`Decider`] with the batch.
pub type Prepared = Box<dyn std::any::Any + Send>;

/// An ordered stage's decision on one batch.
#[derive(Default)]
pub struct Decision {
    /// `None` keeps the row; `Some(reason)` drops it.
    pub reasons: Vec<Option<&'static str>>,
    /// Rows for the stage's side output (see [`Ordered::side_output`]).
    pub side: Option<RecordBatch>,
    /// Counted stages: how many times each kept row is written (0 drops it as
    /// `sampled_out`); the executor numbers the copies as it does a row-changing stage's.
    pub copies: Option<Copies>,
    /// Counted stages: documents and tokens written per group (the realised mixture).
    pub groups: Vec<GroupCount>,
    /// The batch with rewritten columns (the same rows, in the same order), when the stage
    /// changes the text it keeps (`line_dedup`); the reasons then apply to it.
    pub rewritten: Option<RecordBatch>,
}

/// Copies per row from a counted stage's decision.
pub struct Copies {
    /// Output rows per input row.
    pub counts: Vec<u32>,
    /// The most copies any row can get in this run (the copy-index stride).
    pub stride: u32,
}

/// Documents and tokens of one group (a mixture component, a class).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCount {
    /// Group name.
    pub group: String,
    /// Documents.
    pub documents: u64,
    /// Tokens (0 when nothing was tokenized before the stage).
    pub tokens: u64,
}

/// What a counted stage's reduce step concludes from the whole input's counts.
pub struct Conclusion {
    /// The plan every decider of the write pass loads ([`Decider::load_plan`]).
    pub plan: Vec<u8>,
    /// Per slice, the state delta a decider imports to start after that slice.
    pub per_slice: Vec<Vec<u8>>,
    /// The plan for people: `stats.json` and the manifest show it with the realised counts.
    pub report: serde_json::Value,
}

/// A side output a stage declares at plan time (for example `duplicates`).
#[derive(Debug, Clone)]
pub struct SideOutput {
    /// File stem under `OUT/<kind>/`: the stage id.
    pub name: String,
    /// Directory under the output: `duplicates`, ...
    pub kind: &'static str,
    /// Schema of its rows.
    pub schema: SchemaRef,
}

/// "Compute in parallel, decide in order": [`Ordered::prepare`] runs on the workers with
/// `&self`; the decision runs on one thread in input order, in a [`Decider`] made fresh for
/// every run, which may drop rows and hold state across batches. The state it holds counts
/// against the pipeline's `state_memory_mb` and is reported in `stats.json`.
pub trait Ordered: Send + Sync {
    /// Parallel per-batch work; must be deterministic given `(batch, ctx)`.
    fn prepare(&self, batch: &RecordBatch, ctx: &BatchContext) -> Result<Prepared>;
    /// A decider with empty state, for one run.
    fn decider(&self) -> Box<dyn Decider>;
    /// The side output the stage writes to, if any.
    fn side_output(&self) -> Option<SideOutput> {
        None
    }
    /// A counted stage decides on the whole input (`mix`, `balance`): a count pass runs the
    /// stages before it over every slice first, the reduce step turns the counts into a plan
    /// ([`Decider::conclude`]), and the write pass gives each row its number of copies.
    fn counted(&self) -> bool {
        false
    }
    /// A counted stage that writes copies (`mix`, `balance`: the output gains `origin_id` and
    /// `copy_index`); `minhash_dedup` only drops rows.
    fn makes_copies(&self) -> bool {
        false
    }
}

/// The serial, stateful half of an [`Ordered`] stage.
pub trait Decider: Send {
    /// Decides one batch; batches come in input order.
    fn decide(&mut self, batch: &RecordBatch, prepared: Prepared) -> Result<Decision>;
    /// End of input: rows held back, if any (they continue through the later stages).
    fn finish(&mut self) -> Result<Option<RecordBatch>> {
        Ok(None)
    }
    /// Bytes of state held now (what counts against the budget).
    fn state_bytes(&self) -> u64;
    /// Entries of state held now (keys, signatures), for bytes-per-entry in the stats.
    fn state_entries(&self) -> u64;
    /// The state added since the last call (what the slice just decided added). It is saved
    /// with the slice's commit, so a resumed run, or a task that starts later in the input,
    /// can rebuild the state with [`Decider::import`].
    fn export(&mut self) -> Result<Vec<u8>>;
    /// Adds a delta that [`Decider::export`] or [`Decider::merge`] made.
    fn import(&mut self, delta: &[u8]) -> Result<()>;
    /// The reduce step of a task split: `local` is a delta a task made without seeing the
    /// slices before its own; returns (and adds) the part of it that is new to this state, which
    /// is the delta the slice would have had in one run over the whole input.
    fn merge(&mut self, local: &[u8]) -> Result<Vec<u8>>;
    /// Counted stages, before the reduce step's first [`Decider::merge`]: an empty directory
    /// for the files the reduce step spills to stay within its memory (removed after
    /// [`Decider::conclude`]). Most stages ignore it.
    fn use_scratch(&mut self, _dir: &std::path::Path) -> Result<()> {
        Ok(())
    }
    /// Counted stages, after every slice's count went through [`Decider::merge`] in slice
    /// order: the plan, or an error when it cannot be met (before any shard is written).
    fn conclude(&mut self) -> Result<Option<Conclusion>> {
        Ok(None)
    }
    /// Counted stages: loads the plan [`Decider::conclude`] made, before the write pass.
    fn load_plan(&mut self, _plan: &[u8]) -> Result<()> {
        Err(Error::Internal("this stage has no plan to load".into()))
    }
}

/// A built stage, ready to run.
pub enum BuiltStage {
    /// See [`Transform`].
    Transform(Box<dyn Transform>),
    /// See [`Filter`].
    Filter(Box<dyn Filter>, FilterMode),
    /// See [`Expand`].
    Expand(Box<dyn Expand>),
    /// See [`Ordered`]; `annotate` keeps the rows it would drop and adds `<id>_reason`.
    Ordered(Box<dyn Ordered>, FilterMode),
}

impl BuiltStage {
    /// The kind's name, as `sluice explain`, `sluice stages` and `stats.json` show it.
    pub fn kind(&self) -> &'static str {
        match self {
            BuiltStage::Transform(_) => "transform",
            BuiltStage::Filter(..) => "filter",
            BuiltStage::Expand(_) => "row-changing",
            BuiltStage::Ordered(o, _) if o.counted() => "counted",
            BuiltStage::Ordered(..) => "ordered",
        }
    }
}

/// Implemented by each stage's config type; ties it to its registry name and builder.
pub trait StageBuilder: Serialize + JsonSchema {
    /// Registry name; equals the `type:` tag.
    const NAME: &'static str;
    /// A typical configuration, shown by `sluice stages` and checked by tests.
    fn example() -> Self;
    /// Range and consistency checks that need no I/O; one message per problem.
    fn check(&self) -> Vec<String> {
        Vec::new()
    }
    /// Builds the stage (compiles regexes, loads files).
    fn build(&self, cx: &BuildContext) -> Result<BuiltStage>;
    /// Builds the stage and reports the facts the plan needs from it (the tokenizer).
    fn build_with_facts(&self, cx: &BuildContext) -> Result<(BuiltStage, StageFacts)> {
        Ok((self.build(cx)?, StageFacts::default()))
    }
}

/// The `text` column of a batch as a string array.
pub fn text_column(batch: &RecordBatch) -> Result<&StringArray> {
    string_column(batch, TEXT)
}

/// A named `Utf8` column of a batch.
pub fn string_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a StringArray> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| Error::Invalid(format!("the batch has no column `{name}`")))?;
    col.as_any().downcast_ref::<StringArray>().ok_or_else(|| {
        Error::Invalid(format!("column `{name}` must be a string, found {}", col.data_type()))
    })
}

/// Checks that `schema` has a `Utf8` column `name` (plan-time check for text stages).
pub fn require_string(schema: &SchemaRef, name: &str) -> Result<()> {
    match schema.field_with_name(name) {
        Ok(f) if f.data_type() == &DataType::Utf8 => Ok(()),
        Ok(f) => Err(Error::Invalid(format!(
            "column `{name}` must be a string, but it is {}",
            f.data_type()
        ))),
        Err(_) => Err(Error::Invalid(format!(
            "no column `{name}`; available: {}",
            schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Replaces (or appends) column `name` in `batch`.
pub fn with_column(batch: &RecordBatch, field: Field, array: ArrayRef) -> Result<RecordBatch> {
    let schema = batch.schema();
    let mut fields: Vec<FieldRef> = schema.fields().iter().cloned().collect();
    let mut columns = batch.columns().to_vec();
    match schema.index_of(field.name()) {
        Ok(i) => {
            fields[i] = Arc::new(field);
            columns[i] = array;
        }
        Err(_) => {
            fields.push(Arc::new(field));
            columns.push(array);
        }
    }
    let schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// Schema with `field` replaced or appended (the plan-time twin of [`with_column`]).
pub fn with_field(schema: &SchemaRef, field: Field) -> SchemaRef {
    let mut fields: Vec<FieldRef> = schema.fields().iter().cloned().collect();
    match schema.index_of(field.name()) {
        Ok(i) => fields[i] = Arc::new(field),
        Err(_) => fields.push(Arc::new(field)),
    }
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `batch` with its string column `column` rewritten value by value (`f` writes the new value
/// into a cleared buffer), nulls and the column's nullability kept: the body of every
/// text-rewriting transform.
pub fn rewrite_strings(
    batch: &RecordBatch,
    column: &str,
    f: impl FnMut(&str, &mut String),
) -> Result<RecordBatch> {
    let out = map_strings(string_column(batch, column)?, f);
    let nullable = batch.schema().field_with_name(column)?.is_nullable();
    with_column(batch, Field::new(column, DataType::Utf8, nullable), Arc::new(out))
}

/// Adds the non-zero `counts` to a transform's `changes`, by name.
pub fn add_changes<'a>(
    changes: &mut BTreeMap<String, u64>,
    counts: impl IntoIterator<Item = (&'a str, u64)>,
) {
    for (k, v) in counts {
        if v > 0 {
            *changes.entry(k.to_string()).or_insert(0) += v;
        }
    }
}

/// Maps every value of a string column, keeping nulls.
fn map_strings(array: &StringArray, mut f: impl FnMut(&str, &mut String)) -> StringArray {
    let mut out = arrow::array::StringBuilder::with_capacity(array.len(), array.value_data().len());
    let mut buf = String::new();
    for v in array.iter() {
        match v {
            Some(s) => {
                buf.clear();
                f(s, &mut buf);
                out.append_value(&buf);
            }
            None => out.append_null(),
        }
    }
    out.finish()
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::*;

    /// A batch with `id`, `source` and `text` columns.
    pub fn batch(texts: &[&str]) -> RecordBatch {
        let n = texts.len();
        let ids: StringArray = (0..n).map(|i| Some(format!("d{i}"))).collect();
        let src: StringArray = (0..n).map(|_| Some("test")).collect();
        let text: StringArray = texts.iter().map(|t| Some(*t)).collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new(ID, DataType::Utf8, false),
                Field::new(SOURCE, DataType::Utf8, false),
                Field::new(TEXT, DataType::Utf8, true),
            ])),
            vec![Arc::new(ids), Arc::new(src), Arc::new(text)],
        )
        .unwrap()
    }

    pub fn ctx() -> BatchContext {
        BatchContext { seq: 0, seed: 0, counting: false }
    }

    pub fn build_cx(schema: SchemaRef) -> BuildContext<'static> {
        BuildContext {
            stage_id: "s",
            input_schema: schema,
            seed: 0,
            sources: vec![("test".into(), 1.0)],
            token_count: None,
        }
    }

    pub fn texts(batch: &RecordBatch) -> Vec<String> {
        text_column(batch).unwrap().iter().map(|v| v.unwrap_or("<null>").to_string()).collect()
    }

    /// Builds `config` against a test batch schema and evaluates the filter.
    pub fn filter_reasons<B: StageBuilder>(
        config: &B,
        texts: &[&str],
    ) -> Vec<Option<&'static str>> {
        let b = batch(texts);
        match config.build(&build_cx(b.schema())).unwrap() {
            BuiltStage::Filter(f, _) => f.evaluate(&b, &ctx()).unwrap().reasons,
            _ => panic!("not a filter"),
        }
    }

    /// Builds `config` and applies the transform to `texts`.
    pub fn transform<B: StageBuilder>(config: &B, inputs: &[&str]) -> Vec<String> {
        let b = batch(inputs);
        match config.build(&build_cx(b.schema())).unwrap() {
            BuiltStage::Transform(t) => texts(&t.apply(b, &ctx()).unwrap()),
            _ => panic!("not a transform"),
        }
    }
}
