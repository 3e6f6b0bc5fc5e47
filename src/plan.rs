//! Planning: from a typed [`PipelineConfig`] to a runnable [`Plan`]: sources resolved and
//! their schemas inferred, stages built in order with the schema after each one. `validate`
//! and `explain` stop here; `run` executes the plan.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, SchemaRef};

use crate::config::PipelineConfig;
use crate::error::{Error, Result};
use crate::source::{self, PlannedSource};
use crate::stage::registry::StageConfig;
use crate::stage::{BuildContext, BuiltStage, FilterMode, with_field};

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
}

/// Phase-2 checks that need no I/O; one message per problem, prefixed with its place.
pub fn check_config(config: &PipelineConfig) -> Vec<String> {
    let mut errors = Vec::new();
    if config.sources.is_empty() {
        errors.push("`sources` is empty; name at least one source".into());
    }
    let mut names = std::collections::HashSet::new();
    for (i, s) in config.sources.iter().enumerate() {
        if s.name.is_empty() {
            errors.push(format!("sources[{i}]: `name` is empty"));
        }
        if !names.insert(&s.name) {
            errors.push(format!("sources[{i}]: the name `{}` is used twice", s.name));
        }
        if s.paths.is_empty() {
            errors.push(format!("sources[{i}] (`{}`): `paths` is empty", s.name));
        }
        if !(s.weight.is_finite() && s.weight > 0.0) {
            errors.push(format!("sources[{i}] (`{}`): `weight` must be positive", s.name));
        }
    }
    let ids = config.stage_ids();
    let mut seen = std::collections::HashSet::new();
    for (i, (spec, id)) in config.stages.iter().zip(&ids).enumerate() {
        let who = format!("stages[{i}] (id `{id}`, type `{}`)", spec.config.type_name());
        if !seen.insert(id) {
            errors.push(format!("{who}: the id `{id}` is used twice; ids must be unique"));
        }
        if id.is_empty() {
            errors.push(format!("{who}: `id` is empty"));
        }
        for problem in spec.config.check() {
            errors.push(format!("{who}: {problem}"));
        }
        if matches!(spec.config, StageConfig::Tokenize(_)) && i + 1 != config.stages.len() {
            errors.push(format!("{who}: `tokenize` must be the last stage"));
        }
    }
    let o = &config.output;
    if !(0.0..=1.0).contains(&o.validation_fraction) {
        errors.push(format!(
            "output: `validation_fraction` must be between 0 and 1, got {}",
            o.validation_fraction
        ));
    }
    for (name, v) in [
        ("shard_tokens", o.shard_tokens),
        ("row_group_tokens", o.row_group_tokens),
        ("shard_text_bytes", o.shard_text_bytes),
        ("row_group_text_bytes", o.row_group_text_bytes),
    ] {
        if v == 0 {
            errors.push(format!("output: `{name}` must be positive"));
        }
    }
    if o.dir.is_empty() {
        errors.push("output: `dir` is empty".into());
    }
    errors
}

/// Schema after a filter: annotation columns, plus the reason column in annotate mode.
fn filter_schema(input: &SchemaRef, stage: &BuiltStage, reason_column: &str) -> SchemaRef {
    let BuiltStage::Filter(f, mode) = stage else { return Arc::clone(input) };
    let mut s = Arc::clone(input);
    for field in f.annotation_fields() {
        s = with_field(&s, field.as_ref().clone());
    }
    if *mode == FilterMode::Annotate {
        s = with_field(&s, Field::new(reason_column, DataType::Utf8, true));
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
        let specs = if with_stages { config.stages.as_slice() } else { &[] };
        for (i, (spec, id)) in specs.iter().zip(config.stage_ids()).enumerate() {
            let cx = BuildContext {
                stage_id: &id,
                input_schema: Arc::clone(&schema),
                seed: config.seed,
            };
            let built = spec.config.build(&cx).and_then(|stage| {
                let out = match &stage {
                    BuiltStage::Transform(t) => t.output_schema(&schema)?,
                    BuiltStage::Filter(..) => {
                        filter_schema(&schema, &stage, &format!("{id}_reason"))
                    }
                };
                Ok((stage, out))
            });
            match built {
                Ok((stage, out)) => {
                    schema = Arc::clone(&out);
                    stages.push(PlannedStage {
                        id: id.clone(),
                        type_name: spec.config.type_name(),
                        stage,
                        output_schema: out,
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
        Ok(Plan { config, sources, doc_schema, stages })
    }

    /// Schema of the documents after the last stage.
    pub fn final_schema(&self) -> SchemaRef {
        self.stages
            .last()
            .map(|s| Arc::clone(&s.output_schema))
            .unwrap_or_else(|| Arc::clone(&self.doc_schema))
    }

    /// The tokenizer facts, when the pipeline tokenizes.
    pub fn tokenizer_info(&self) -> Option<&crate::stage::tokenize::TokenizerInfo> {
        self.stages.iter().find_map(|s| match &s.stage {
            BuiltStage::Transform(t) => t.tokenizer_info(),
            BuiltStage::Filter(..) => None,
        })
    }

    /// True when the pipeline ends with `tokenize`.
    pub fn tokenized(&self) -> bool {
        self.tokenizer_info().is_some()
    }
}
