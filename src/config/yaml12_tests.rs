//! Every free-text string field of a pipeline file (found by walking the JSON Schema, stage
//! types included) reads the YAML 1.1 boolean words `no`, `yes`, `on`, `off`, `y`, `n` as the
//! strings they are, as plain scalars in block and flow style.

use serde_json::{Value, json};

use super::PipelineConfig;
use super::load::yaml_value;
use crate::stage::registry::stage_types;

const MARK: &str = "sluicemark";
const WORDS: &[&str] = &["no", "yes", "on", "off", "y", "n", "No", "YES", "Off", "N"];

fn resolve<'a>(defs: &'a Value, mut s: &'a Value) -> &'a Value {
    while let Some(r) = s.get("$ref").and_then(Value::as_str) {
        s = &defs[r.rsplit('/').next().unwrap()];
    }
    s
}

/// A free string: type `string` (or string-or-null) without a closed set of values.
fn is_free_string(s: &Value) -> bool {
    if s.get("const").is_some() || s.get("enum").is_some() {
        return false;
    }
    match &s["type"] {
        Value::String(t) => t == "string",
        Value::Array(ts) => ts.iter().any(|t| t == "string"),
        _ => false,
    }
}

fn is_array(s: &Value) -> bool {
    match &s["type"] {
        Value::String(t) => t == "array",
        Value::Array(ts) => ts.iter().any(|t| t == "array"),
        _ => false,
    }
}

/// Paths (keys, `[]` for "first element") of every free string field under `s`.
fn string_paths(defs: &Value, s: &Value, path: Vec<String>, out: &mut Vec<Vec<String>>) {
    let s = resolve(defs, s);
    let Some(props) = s.get("properties").and_then(Value::as_object) else { return };
    for (k, v) in props {
        let v = resolve(defs, v);
        let mut p = path.clone();
        p.push(k.clone());
        if is_free_string(v) {
            out.push(p);
        } else if is_array(v) {
            p.push("[]".into());
            let items = resolve(defs, &v["items"]);
            if is_free_string(items) {
                out.push(p);
            } else {
                string_paths(defs, items, p, out);
            }
        } else {
            string_paths(defs, v, p, out);
        }
    }
}

/// Sets `path` in `v` to `to`, creating objects and one-element arrays on the way.
fn set(v: &mut Value, path: &[String], to: Value) {
    let Some((head, rest)) = path.split_first() else {
        *v = to;
        return;
    };
    if head == "[]" {
        if v.as_array().is_none_or(|a| a.is_empty()) {
            *v = json!([if rest.is_empty() { Value::Null } else { json!({}) }]);
        }
        set(&mut v.as_array_mut().unwrap()[0], rest, to);
    } else {
        if !v.is_object() {
            *v = json!({});
        }
        set(v.as_object_mut().unwrap().entry(head.clone()).or_insert(Value::Null), rest, to);
    }
}

fn get<'a>(v: &'a Value, path: &[String]) -> &'a Value {
    path.iter().fold(v, |v, k| if k == "[]" { &v[0] } else { &v[k.as_str()] })
}

fn base() -> Value {
    json!({
        "name": "p",
        "sources": [{"name": "s", "paths": ["in.jsonl"]}],
        "stages": [],
        "output": {"dir": "out"},
    })
}

/// Writes `doc` as YAML with the marker as a plain scalar, swaps in `word` and reads it back.
fn round_trip(doc: &Value, path: &[String], word: &str, flow: bool) {
    let text = if flow {
        // One line per top-level key, every value in flow style.
        doc.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", flow_yaml(v)))
            .collect::<String>()
    } else {
        serde_saphyr::to_string(doc).unwrap()
    };
    assert!(text.contains(MARK) && !text.contains(&format!("\"{MARK}")), "{text}");
    let text = text.replace(MARK, word);
    let value = yaml_value(&text).unwrap_or_else(|e| panic!("{text}\n{e}"));
    let config: PipelineConfig = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{path:?} = {word}:\n{text}\n{e}"));
    let back = serde_json::to_value(config).unwrap();
    assert_eq!(get(&back, path), &json!(word), "{path:?} in:\n{text}");
}

/// Flow-style YAML with unquoted keys and strings (enough for these documents).
fn flow_yaml(v: &Value) -> String {
    match v {
        Value::Object(m) => format!(
            "{{ {} }}",
            m.iter().map(|(k, v)| format!("{k}: {}", flow_yaml(v))).collect::<Vec<_>>().join(", ")
        ),
        Value::Array(a) => {
            format!("[{}]", a.iter().map(flow_yaml).collect::<Vec<_>>().join(", "))
        }
        Value::String(s) if s == MARK => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn yaml_1_1_boolean_words_are_strings_in_every_string_field() {
    let schema = serde_json::to_value(schemars::schema_for!(PipelineConfig)).unwrap();
    let defs = &schema["$defs"];
    let mut top = Vec::new();
    string_paths(defs, &schema, Vec::new(), &mut top);
    let mut cases: Vec<(Value, Vec<String>)> = Vec::new();
    for p in top {
        let mut doc = base();
        if p[0] == "stages" {
            doc["stages"] = json!([stage_types()[0].example.clone()]);
        }
        set(&mut doc, &p, json!(MARK));
        cases.push((doc, p));
    }
    for t in stage_types() {
        let mut fields = Vec::new();
        string_paths(defs, &t.schema, Vec::new(), &mut fields);
        for p in fields {
            let mut doc = base();
            let mut stage = t.example.clone();
            set(&mut stage, &p, json!(MARK));
            doc["stages"] = json!([stage]);
            let mut full = vec!["stages".to_string(), "[]".to_string()];
            full.extend(p);
            cases.push((doc, full));
        }
    }
    // The walk must find the fields the issue names, and many more.
    let names: Vec<String> = cases.iter().map(|(_, p)| p.join(".")).collect();
    for must in
        ["stages.[].languages.[]", "stages.[].id", "sources.[].name", "sources.[].text_field"]
    {
        assert!(names.iter().any(|n| n == must), "{must} not found in {names:?}");
    }
    assert!(cases.len() >= 40, "only {} string fields found: {names:?}", cases.len());
    for (doc, path) in &cases {
        for word in WORDS {
            round_trip(doc, path, word, false);
            round_trip(doc, path, word, true);
        }
    }
}

#[test]
fn only_true_and_false_are_booleans() {
    let text = "name: p\nsources: [{ name: s, paths: [a.jsonl] }]\noutput: { dir: out, write_dropped: True }\n";
    let v = yaml_value(text).unwrap();
    assert_eq!(v["output"]["write_dropped"], json!(true));
    let v = yaml_value(&text.replace("True", "yes")).unwrap();
    assert_eq!(v["output"]["write_dropped"], json!("yes"));
    let err = super::parse_str(&text.replace("True", "yes"), "p.yaml".as_ref()).unwrap_err();
    assert!(err.to_string().contains("write `true` or `false`"), "{err}");
}

#[test]
fn a_number_where_a_string_is_expected_says_to_quote_it() {
    let text = "name: p\nsources: [{ name: s, paths: [a.jsonl] }]\nstages: [{ id: 1.0, type: length_filter }]\noutput: { dir: out }\n";
    let err = super::parse_str(text, "p.yaml".as_ref()).unwrap_err().to_string();
    assert!(err.contains("quote it"), "{err}");
}
