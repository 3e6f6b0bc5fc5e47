//! Planning: from a typed [`PipelineConfig`] to a runnable [`Plan`]: sources resolved and
//! their schemas inferred, stages built in order with the schema after each one. `validate`
//! and `explain` stop here; `run` executes the plan.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, SchemaRef};

use crate::config::PipelineConfig;
use crate::error::{Error, Result};
use crate::source::{self, PlannedSource};
use crate::stage::TokenColumns;
use crate::stage::tokenize::TokenizerInfo;
use crate::stage::{
    BuildContext, BuiltStage, COPY_INDEX, FilterMode, ORIGIN_ID, SideOutput, stage_seed, with_field,
};

/// A built stage with its id and schemas.
pub struct PlannedStage {
    /// Stage id.
    pub id: String,
    /// Registry name.
    pub type_name: &'static str,
    /// The runnable stage.
    pub stage: BuiltStage,
    /// Schema after this stage.
    pub output_schema: SchemaRef,
    /// The stage's seed ([`stage_seed`] of the pipeline seed and the stage id).
    pub seed: u64,
    /// The column whose values count as tokens this stage produced (the tokenizing stage).
    pub counts_tokens: Option<String>,
}

impl PlannedStage {
    /// Name of the reason column a filter adds in annotate mode.
    pub fn reason_column(&self) -> String {
        format!("{}_reason", self.id)
    }
}

/// A runnable pipeline.
pub struct Plan {
    /// The configuration it came from.
    pub config: PipelineConfig,
    /// Sources with their files.
    pub sources: Vec<PlannedSource>,
    /// Schema of documents as read.
    pub doc_schema: SchemaRef,
    /// Stages in order.
    pub stages: Vec<PlannedStage>,
    /// The tokenizer, when a stage tokenizes.
    pub tokenizer: Option<TokenizerInfo>,
    /// The token id and count columns, when a stage tokenizes.
    pub tokens: Option<TokenColumns>,
    /// Side outputs the stages declared (besides `dropped/` and `quarantine/`).
    pub side_outputs: Vec<SideOutput>,
}

/// Schema after a filter: annotation columns, plus the reason column in annotate mode.
fn filter_schema(input: &SchemaRef, stage: &BuiltStage, reason_column: &str) -> SchemaRef {
    let mut s = Arc::clone(input);
    let mode = match stage {
        BuiltStage::Filter(f, mode) => {
            for field in f.annotation_fields() {
                s = with_field(&s, field.as_ref().clone());
            }
            mode
        }
        BuiltStage::Ordered(_, mode) => mode,
        _ => return s,
    };
    if *mode == FilterMode::Annotate {
        s = with_field(&s, Field::new(reason_column, DataType::Utf8, true));
    }
    s
}

/// Schema after a row-changing stage: `origin_id` and `copy_index` are added if the input has
/// none yet.
fn origin_schema(schema: &SchemaRef) -> SchemaRef {
    let mut s = Arc::clone(schema);
    if s.field_with_name(ORIGIN_ID).is_err() {
        s = with_field(&s, Field::new(ORIGIN_ID, DataType::Utf8, false));
    }
    if s.field_with_name(COPY_INDEX).is_err() {
        s = with_field(&s, Field::new(COPY_INDEX, DataType::UInt32, false));
    }
    s
}

impl Plan {
    /// Plans `config`; with `all_errors`, keeps going after a failing source or stage and
    /// reports every problem at once.
    pub fn build(config: PipelineConfig) -> Result<Plan> {
        Self::build_with(config, true)
    }

    /// Plans only the sources (no stage is built): what `train-tokenizer` needs.
    pub fn sources_only(config: PipelineConfig) -> Result<Plan> {
        Self::build_with(config, false)
    }

    fn build_with(config: PipelineConfig, with_stages: bool) -> Result<Plan> {
        let mut errors = Vec::new();
        let mut sources = Vec::new();
        for (i, s) in config.sources.iter().enumerate() {
            match source::plan_source(i, s) {
                Ok(p) => sources.push(p),
                Err(e) => errors.push(format!("sources[{i}] (`{}`): {e}", s.name)),
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors.join("\n")));
        }
        let doc_schema = source::union_schema(&sources)?;
        let mut schema = Arc::clone(&doc_schema);
        let mut stages = Vec::new();
        let mut tokenizer = None;
        let mut tokens: Option<TokenColumns> = None;
        let mut side_outputs = Vec::new();
        let specs = if with_stages { config.stages.as_slice() } else { &[] };
        for (i, (spec, id)) in specs.iter().zip(config.stage_ids()).enumerate() {
            let cx = BuildContext {
                stage_id: &id,
                input_schema: Arc::clone(&schema),
                seed: config.seed,
                sources: config.sources.iter().map(|s| (s.name.clone(), s.weight)).collect(),
                token_count: tokens.as_ref().map(|t| t.count.clone()),
            };
            let built = spec.config.build(&cx).and_then(|(stage, facts)| {
                let out = match &stage {
                    BuiltStage::Transform(t) => t.output_schema(&schema)?,
                    BuiltStage::Filter(..) => {
                        filter_schema(&schema, &stage, &format!("{id}_reason"))
                    }
                    BuiltStage::Expand(e) => e.output_schema(&origin_schema(&schema))?,
                    BuiltStage::Ordered(o, _) if o.makes_copies() => {
                        origin_schema(&filter_schema(&schema, &stage, &format!("{id}_reason")))
                    }
                    BuiltStage::Ordered(..) => {
                        filter_schema(&schema, &stage, &format!("{id}_reason"))
                    }
                };
                Ok((stage, facts, out))
            });
            match built {
                Ok((stage, facts, out)) => {
                    if let Some(t) = facts.tokenizer {
                        if tokenizer.is_some() {
                            errors.push(format!(
                                "stages[{i}] (id `{id}`): a pipeline tokenizes once; remove \
                                 the second `tokenize`"
                            ));
                        }
                        tokenizer = Some(t);
                    }
                    let counts_tokens = facts.tokens.as_ref().map(|t| t.count.clone());
                    if facts.tokens.is_some() {
                        tokens = facts.tokens;
                    }
                    if let BuiltStage::Ordered(o, _) = &stage {
                        side_outputs.extend(o.side_output());
                    }
                    schema = Arc::clone(&out);
                    stages.push(PlannedStage {
                        id: id.clone(),
                        type_name: spec.config.type_name(),
                        stage,
                        output_schema: out,
                        seed: stage_seed(config.seed, &id),
                        counts_tokens,
                    });
                }
                Err(e) => errors.push(format!(
                    "stages[{i}] (id `{id}`, type `{}`): {e}",
                    spec.config.type_name()
                )),
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors.join("\n")));
        }
        Ok(Plan { config, sources, doc_schema, stages, tokenizer, tokens, side_outputs })
    }

    /// Schema of the documents after the last stage.
    pub fn final_schema(&self) -> SchemaRef {
        self.stages
            .last()
            .map(|s| Arc::clone(&s.output_schema))
            .unwrap_or_else(|| Arc::clone(&self.doc_schema))
    }

    /// The tokenizer facts, when the pipeline tokenizes.
    pub fn tokenizer_info(&self) -> Option<&TokenizerInfo> {
        self.tokenizer.as_ref()
    }

    /// True when a stage tokenizes.
    pub fn tokenized(&self) -> bool {
        self.tokenizer.is_some()
    }

    /// The stages cut at every ordered stage: each segment runs on the workers, and the
    /// ordered stage after it (if any) decides on the coordinating thread in input order.
    pub fn segments(&self) -> Vec<Segment> {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, s) in self.stages.iter().enumerate() {
            if matches!(s.stage, BuiltStage::Ordered(..)) {
                out.push(Segment { stages: start..i, ordered: Some(i) });
                start = i + 1;
            }
        }
        out.push(Segment { stages: start..self.stages.len(), ordered: None });
        out
    }
}

/// A run of stages the workers apply to a batch, and the ordered stage that follows it.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Indices of the stages run on the workers.
    pub stages: std::ops::Range<usize>,
    /// The ordered stage after them (its `prepare` runs on the worker too).
    pub ordered: Option<usize>,
}
