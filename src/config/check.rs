//! Phase-2 checks of a pipeline file: everything that needs no I/O (names, ranges, the output
//! section). Each problem is one message, prefixed with its place.

use super::{Layout, PipelineConfig};
use crate::stage::registry::StageConfig;

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
        ("slice_bytes", o.slice_bytes),
    ] {
        if v == 0 {
            errors.push(format!("output: `{name}` must be positive"));
        }
    }
    if o.dir.is_empty() {
        errors.push("output: `dir` is empty".into());
    }
    if o.layout == Layout::Packed {
        match o.seq_len {
            None | Some(0) => errors.push(
                "output: `layout: packed` needs `seq_len` (tokens per row, e.g. 2048)".into(),
            ),
            Some(n) if n > i32::MAX as u64 => {
                errors.push(format!("output: `seq_len` {n} is too large"))
            }
            Some(_) => {}
        }
        match config.stages.iter().find_map(|s| match &s.config {
            StageConfig::Tokenize(t) => Some(t),
            _ => None,
        }) {
            None => errors.push("output: `layout: packed` needs a `tokenize` stage".into()),
            Some(t) if !t.add_eos && !t.add_bos => errors.push(
                "output: `layout: packed` concatenates documents, so they need a separator: \
                 set `add_eos: true` (or `add_bos: true`) on the `tokenize` stage"
                    .into(),
            ),
            Some(_) => {}
        }
    } else if o.seq_len.is_some() {
        errors.push("output: `seq_len` applies to `layout: packed` only".into());
    }
    match (o.shuffle, o.shuffle_memory_mb) {
        (false, Some(_)) => errors.push(
            "output: `shuffle_memory_mb` applies to `shuffle: true` only (set `shuffle: true`, \
             or remove it)"
                .into(),
        ),
        (true, Some(0)) => errors.push("output: `shuffle_memory_mb` must be positive".into()),
        _ => {}
    }
    if config.state_memory_mb == 0 {
        errors.push("`state_memory_mb` must be positive".into());
    }
    errors
}
