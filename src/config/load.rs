//! Loading a pipeline file: YAML or TOML text → generic value → typed [`PipelineConfig`],
//! collecting every error at once, each named by section, stage id and (near) line.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::{OutputConfig, PipelineConfig, SourceConfig, StageSpec};
use crate::error::{Error, Result};

/// Reads and parses a pipeline file; every problem found is reported in one [`Error::Config`].
pub fn load(path: &Path) -> Result<PipelineConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        message: format!("cannot read the pipeline file: {e}"),
    })?;
    parse_str(&text, path)
}

/// Parses pipeline text; the format comes from the extension of `path` (`.toml`, else YAML).
pub fn parse_str(text: &str, path: &Path) -> Result<PipelineConfig> {
    let config_err = |message: String| Error::Config { path: path.to_path_buf(), message };
    let is_toml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let value: Value = if is_toml {
        toml::from_str(text).map_err(|e| config_err(format!("invalid TOML: {e}")))?
    } else {
        yaml_value(text).map_err(|e| config_err(format!("invalid YAML: {e}")))?
    };
    let doc = Doc { text, is_toml };
    let mut errors = Vec::new();
    let config = typed(&value, &doc, &mut errors);
    if let Some(config) = &config {
        for problem in super::check::check_config(config) {
            errors.push(problem);
        }
    }
    match config {
        Some(config) if errors.is_empty() => Ok(config),
        _ => Err(config_err(format!(
            "{} problem{} found:\n{}",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            errors.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n")
        ))),
    }
}

/// Reads YAML with the YAML 1.2 core schema: only `true`/`false` (any case) are booleans, so
/// `no` (Norwegian), `yes`, `on`, `off`, `y` and `n` are strings, as a language code, an id or
/// a column name must be.
pub fn yaml_value(text: &str) -> std::result::Result<Value, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options(text, serde_saphyr::options! { strict_booleans: true })
}

struct Doc<'a> {
    text: &'a str,
    is_toml: bool,
}

impl Doc<'_> {
    /// 1-based line of the first line at or after `from` that contains `needle`.
    fn line_of(&self, needle: &str, from: usize) -> Option<usize> {
        self.text
            .lines()
            .enumerate()
            .skip(from)
            .find(|(_, l)| l.contains(needle))
            .map(|(i, _)| i + 1)
    }

    /// Best-effort line of stage `index` (with optional `id`) in the file.
    fn stage_line(&self, index: usize, id: Option<&str>) -> Option<usize> {
        let start = if self.is_toml {
            self.line_of("[[stages]]", 0).unwrap_or(1) - 1
        } else {
            self.line_of("stages:", 0).unwrap_or(1) - 1
        };
        if let Some(id) = id {
            if let Some(l) = self.line_of(&format!("id = \"{id}\""), start) {
                return Some(l);
            }
            if let Some(l) = self
                .text
                .lines()
                .enumerate()
                .skip(start)
                .find(|(_, l)| {
                    l.contains("id:")
                        && (l.contains(&format!(" {id}")) || l.contains(&format!("\"{id}\"")))
                })
                .map(|(i, _)| i + 1)
            {
                return Some(l);
            }
        }
        let marker = if self.is_toml { "[[stages]]" } else { "- " };
        self.text
            .lines()
            .enumerate()
            .skip(start)
            .filter(|(_, l)| l.trim_start().starts_with(marker))
            .nth(index)
            .map(|(i, _)| i + 1)
    }

    fn key_line(&self, key: &str) -> Option<usize> {
        let pat = if self.is_toml { format!("[{key}") } else { format!("{key}:") };
        self.line_of(&pat, 0).or_else(|| self.line_of(&format!("{key} ="), 0))
    }
}

fn field<T: for<'de> Deserialize<'de>>(
    value: &Value,
    key: &str,
    doc: &Doc,
    errors: &mut Vec<String>,
) -> Option<T> {
    let v = value.get(key).cloned().unwrap_or(Value::Null);
    match T::deserialize(v) {
        Ok(t) => Some(t),
        Err(e) => {
            let at = doc.key_line(key).map(|l| format!(" (line {l})")).unwrap_or_default();
            errors.push(format!("`{key}`{at}: {}", hint(&e.to_string())));
            None
        }
    }
}

fn typed(value: &Value, doc: &Doc, errors: &mut Vec<String>) -> Option<PipelineConfig> {
    let Some(map) = value.as_object() else {
        errors.push(
            "the pipeline must be a mapping with `name`, `sources`, `stages` and `output`".into(),
        );
        return None;
    };
    const KEYS: &[&str] =
        &["name", "seed", "sources", "on_error", "state_memory_mb", "stages", "output"];
    for key in map.keys() {
        if !KEYS.contains(&key.as_str()) {
            let at = doc.key_line(key).map(|l| format!(" (line {l})")).unwrap_or_default();
            errors.push(format!(
                "unknown top-level key `{key}`{at}{}; expected one of {}",
                suggest(key, KEYS),
                list(KEYS)
            ));
        }
    }
    let name: Option<String> = field(value, "name", doc, errors);
    let seed: u64 = if map.contains_key("seed") { field(value, "seed", doc, errors)? } else { 0 };
    let on_error = if map.contains_key("on_error") {
        field(value, "on_error", doc, errors)
    } else {
        Some(Default::default())
    };
    let state_memory_mb: u64 = if map.contains_key("state_memory_mb") {
        field(value, "state_memory_mb", doc, errors)?
    } else {
        super::default_state_memory_mb()
    };
    let output: Option<OutputConfig> = field(value, "output", doc, errors);

    let mut sources = Vec::new();
    match map.get("sources") {
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match SourceConfig::deserialize(item.clone()) {
                    Ok(s) => sources.push(s),
                    Err(e) => {
                        let name = item.get("name").and_then(Value::as_str).unwrap_or("?");
                        errors.push(format!("sources[{i}] (`{name}`): {}", hint(&e.to_string())));
                    }
                }
            }
        }
        _ => errors.push("`sources` must be a list of sources (name, paths)".into()),
    }

    let mut stages = Vec::new();
    match map.get("stages") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let id = item.get("id").and_then(Value::as_str);
                match StageSpec::deserialize(item.clone()) {
                    Ok(s) => stages.push(s),
                    Err(e) => {
                        let ty = item.get("type").and_then(Value::as_str).unwrap_or("?");
                        let at = doc
                            .stage_line(i, id)
                            .map(|l| format!(", near line {l}"))
                            .unwrap_or_default();
                        let who = match id {
                            Some(id) => format!("stages[{i}] (id `{id}`, type `{ty}`{at})"),
                            None => format!("stages[{i}] (type `{ty}`{at})"),
                        };
                        errors.push(format!("{who}: {}", stage_hint(&e.to_string(), ty)));
                    }
                }
            }
        }
        Some(_) => errors.push("`stages` must be a list of stages".into()),
    }

    Some(PipelineConfig {
        name: name?,
        seed,
        sources,
        on_error: on_error?,
        state_memory_mb,
        stages,
        output: output?,
    })
}

fn list(items: &[&str]) -> String {
    items.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

/// Adds a "did you mean" to serde's unknown-variant / unknown-field messages.
fn hint(msg: &str) -> String {
    let lower = msg.to_ascii_lowercase();
    let yaml11 = ["yes", "no", "on", "off", "y", "n"]
        .iter()
        .any(|w| lower.contains(&format!("invalid type: string \"{w}\", expected a boolean")));
    let number_for_string = msg.contains("expected a string")
        && (msg.contains("invalid type: integer") || msg.contains("invalid type: floating point"));
    if yaml11 {
        format!("{msg} (pipeline files follow YAML 1.2: write `true` or `false`)")
    } else if number_for_string {
        format!("{msg} (quote it to make it a string, e.g. \"1.0\")")
    } else {
        msg.to_string()
    }
}

fn stage_hint(msg: &str, ty: &str) -> String {
    if msg.contains("unknown variant") {
        let names = crate::stage::registry::type_names();
        format!(
            "unknown stage type `{ty}`{}; valid types: {}. Run `sluice stages` for their documentation.",
            suggest(ty, &names),
            list(&names)
        )
    } else if msg.contains("missing field `type`") {
        "missing `type`; every stage needs one (run `sluice stages` for the list)".into()
    } else {
        format!("{} (run `sluice stages {ty}` for its options)", hint(msg))
    }
}

/// " (did you mean `x`?)" when a close match exists.
pub(crate) fn suggest(word: &str, choices: &[&str]) -> String {
    choices
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, ext: &str) -> Result<PipelineConfig> {
        parse_str(text, Path::new(&format!("p.{ext}")))
    }

    const GOOD: &str = "name: t\nsources:\n  - { name: web, paths: [a.jsonl] }\nstages:\n  - { id: len, type: length_filter, min_chars: 10 }\noutput: { dir: out }\n";

    #[test]
    fn yaml_and_toml_parse_to_the_same_config() {
        let y = parse(GOOD, "yaml").unwrap();
        let t = parse(
            "name = \"t\"\n[[sources]]\nname = \"web\"\npaths = [\"a.jsonl\"]\n[[stages]]\nid = \"len\"\ntype = \"length_filter\"\nmin_chars = 10\n[output]\ndir = \"out\"\n",
            "toml",
        )
        .unwrap();
        assert_eq!(serde_json::to_value(&y).unwrap(), serde_json::to_value(&t).unwrap());
    }

    #[test]
    fn misspelled_type_names_stage_and_lists_choices() {
        let e =
            parse(&GOOD.replace("length_filter", "lenght_filter"), "yaml").unwrap_err().to_string();
        assert!(e.contains("id `len`"), "{e}");
        assert!(e.contains("did you mean `length_filter`"), "{e}");
        assert!(e.contains("`sql_filter`"), "{e}");
        assert!(e.contains("line 5"), "{e}");
    }

    #[test]
    fn unknown_stage_key_is_rejected_with_stage_id() {
        let e = parse(&GOOD.replace("min_chars", "min_char"), "yaml").unwrap_err().to_string();
        assert!(e.contains("id `len`") && e.contains("unknown field `min_char`"), "{e}");
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let bad = GOOD.replace("min_chars", "min_char").replace("name: t\n", "name: t\nbogus: 1\n");
        let e = parse(&bad, "yaml").unwrap_err().to_string();
        assert!(e.contains("2 problems"), "{e}");
        assert!(e.contains("unknown top-level key `bogus`"), "{e}");
    }
}
