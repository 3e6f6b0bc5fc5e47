//! Stage documentation rendered from the config types themselves: the doc comments (through
//! their JSON Schema), the serde defaults and each type's typed example. `sluice stages`
//! prints it, so the documentation cannot drift from the code.

use serde_json::Value;

use super::registry::{StageType, stage_types};

fn resolve<'a>(root: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or("");
            root.get("$defs").and_then(|d| d.get(name)).unwrap_or(v)
        }
        None => v,
    }
}

fn type_of(root: &Value, v: &Value) -> String {
    let v = resolve(root, v);
    if let Some(choices) = v.get("oneOf").or_else(|| v.get("anyOf")).and_then(Value::as_array) {
        let names: Vec<String> = choices
            .iter()
            .map(|c| {
                let c = resolve(root, c);
                c.get("const")
                    .or_else(|| c.get("enum").and_then(|e| e.get(0)))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| type_of(root, c))
            })
            .filter(|n| n != "null")
            .collect();
        return names.join(" | ");
    }
    if let Some(e) = v.get("enum").and_then(Value::as_array) {
        return e.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | ");
    }
    match v.get("type") {
        Some(Value::String(t)) if t == "array" => {
            format!("list of {}", v.get("items").map(|i| type_of(root, i)).unwrap_or_default())
        }
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "value".into(),
    }
}

fn choice_docs(root: &Value, v: &Value) -> Vec<String> {
    let v = resolve(root, v);
    v.get("oneOf")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| {
                    let name = c
                        .get("const")
                        .or_else(|| c.get("enum").and_then(|e| e.get(0)))?
                        .as_str()?;
                    let d = c.get("description").and_then(Value::as_str).unwrap_or("");
                    Some(format!("`{name}`: {}", d.replace('\n', " ")))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > width {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Full documentation of one stage type.
pub fn render(t: &StageType) -> String {
    let root = &t.schema;
    let mut out = format!("{}\n{}\n", t.name, "=".repeat(t.name.len()));
    if let Some(d) = root.get("description").and_then(Value::as_str) {
        out.push_str(&wrap(d, "", 96));
    }
    out.push_str(&format!("\nKind: {}.\n", t.kind));
    out.push_str(&wrap(kind_contract(t.kind), "  ", 96));
    out.push_str("\nOptions:\n");
    let required: Vec<&str> = root
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(props) = root.get("properties").and_then(Value::as_object) {
        for (name, p) in props {
            let ty = type_of(root, p);
            let default = match p.get("default") {
                Some(d) => format!(", default {d}"),
                None if required.contains(&name.as_str()) => ", required".into(),
                None => ", optional".into(),
            };
            out.push_str(&format!("  {name} ({ty}{default})\n"));
            if let Some(d) = p.get("description").and_then(Value::as_str) {
                out.push_str(&wrap(d, "      ", 96));
            }
            for c in choice_docs(root, p) {
                out.push_str(&wrap(&c, "        - ", 96));
            }
        }
    }
    let mut example = serde_json::Map::new();
    example.insert("id".into(), Value::String(format!("my_{}", t.name)));
    if let Value::Object(m) = &t.example {
        example.extend(m.clone());
    }
    let yaml = serde_saphyr::to_string(&vec![Value::Object(example)]).unwrap_or_default();
    out.push_str("\nExample (YAML, under `stages:`):\n");
    for line in yaml.lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// What a stage of each kind may do and where it runs (the traits in `stage/mod.rs`).
pub fn kind_contract(kind: &str) -> &'static str {
    match kind {
        "transform" => {
            "Stateless: runs on the worker threads, batch by batch in any order; \
                        rewrites or adds columns and keeps every row."
        }
        "filter" => {
            "Stateless: runs on the worker threads; keeps or rejects each document with a \
                     reason (`mode: drop` removes it, `mode: annotate` adds `<id>_reason`)."
        }
        "row-changing" => {
            "Runs on the worker threads; one input row gives 0..N output rows, each \
                           carrying `origin_id` and `copy_index` (copies get the id \
                           `<origin>#<copy>`); the train/validation split follows the origin."
        }
        "ordered" => {
            "Compute in parallel, decide in order: hashing runs on the worker threads, \
                      the decision on one thread in input order with state kept across batches \
                      (counted against `state_memory_mb`, reported in stats.json); identical \
                      at any thread count and task split."
        }
        "counted" => {
            "Decide on the whole input: a count pass runs the stages before it over every \
                      slice first; the plan (exact copies per group) is fixed before any shard \
                      is written, then every document gets its copies (`origin_id`, \
                      `copy_index` as for row-changing stages). See docs/mixing.md."
        }
        _ => "",
    }
}

/// One line per stage type, grouped by kind.
pub fn summary() -> String {
    let types = stage_types();
    let width = types.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let mut out =
        String::from("Stage types (run `sluice stages TYPE` for options and an example):\n");
    for kind in ["transform", "filter", "row-changing", "ordered", "counted"] {
        out.push_str(&format!("\n{kind} stages\n"));
        out.push_str(&wrap(kind_contract(kind), "  ", 96));
        for t in types.iter().filter(|t| t.kind == kind) {
            let d = t.schema.get("description").and_then(Value::as_str).unwrap_or("");
            let first = d.split(". ").next().unwrap_or("").trim_end_matches('.').replace('\n', " ");
            out.push_str(&format!("    {:width$}  {first}.\n", t.name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_documents_every_field() {
        for t in stage_types() {
            let props = t.schema["properties"].as_object().unwrap();
            for (name, p) in props {
                assert!(p.get("description").is_some(), "{}.{name} has no doc comment", t.name);
            }
            let text = render(&t);
            assert!(text.contains("Example"), "{text}");
        }
    }
}
