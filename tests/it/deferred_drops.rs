//! Filters see only the columns they read and the other columns are cut later (see
//! `src/exec/lazy.rs`): every column must still belong to its own row, dropped rows keep the
//! text they had when they were dropped, and each rewrite and annotation lands on its row.
//! The URL filter reads a nested path (`meta.url`), so it gets the `meta` struct.

use std::collections::HashMap;

use arrow::array::{Array, StructArray};

use crate::util::*;

#[test]
fn nested_columns_stay_with_their_rows_through_drops_rewrites_and_annotations() {
    let dir = tempdir();
    let corpus = shared("corpora/web_dolma_ccmain2019_sample.jsonl.zst");
    let p = pipeline(
        dir.path(),
        "p.yaml",
        &format!(
            r#"name: deferred
seed: 1
on_error: skip
sources:
  - {{ name: web, paths: ["{corpus}"] }}
stages:
  - {{ id: rep, type: gopher_repetition }}
  - id: url
    type: url_filter
    url_field: meta.url
    banned_words: ["{assets}/banned_words.txt"]
    banned_subwords: ["{assets}/banned_subwords.txt"]
    soft_banned_words: ["{assets}/soft_banned_words.txt"]
  - {{ id: sql, type: sql_filter, predicate: "length(text) > 800" }}
  - {{ id: c4, type: c4_quality }}
  - {{ id: lang, type: language, languages: [en], min_score: 0.5, mode: annotate }}
  - {{ id: len, type: length_filter, min_words: 120 }}
output:
  dir: out
  write_dropped: true
"#,
            corpus = corpus.display(),
            assets = shared("filters/datatrove_assets").display(),
        ),
    );
    ok(&sluice_in(dir.path(), &["run", p.to_str().unwrap(), "--quiet", "--threads", "2"]));

    // the input's url (inside the nested `meta` struct) and text per id
    let raw = zstd::decode_all(std::fs::File::open(&corpus).unwrap()).unwrap();
    let mut input: HashMap<String, (String, String)> = HashMap::new();
    for line in String::from_utf8(raw).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let url = v["meta"]["url"].as_str().unwrap().to_string();
        input.insert(v["id"].as_str().unwrap().into(), (url, v["text"].as_str().unwrap().into()));
    }

    let out = dir.path().join("out");
    let kept = read_split(&out, "train");
    let mut rewritten = 0;
    let mut rows = 0;
    for b in &kept {
        let meta = b.column_by_name("meta").unwrap();
        let meta = meta.as_any().downcast_ref::<StructArray>().unwrap();
        let urls = meta.column_by_name("url").unwrap();
        let urls = urls.as_any().downcast_ref::<arrow::array::StringArray>().unwrap();
        let (ids, texts) = (strings(b, "id"), strings(b, "text"));
        let (langs, reasons) = (strings(b, "lang"), strings(b, "lang_reason"));
        for i in 0..b.num_rows() {
            let (url, text) = &input[&ids[i]];
            assert_eq!(urls.value(i), url, "meta of row {} belongs to another row", ids[i]);
            assert!(texts[i].split_whitespace().count() >= 120, "{}", ids[i]);
            rewritten += usize::from(&texts[i] != text);
            // the annotation and its reason agree, row by row
            assert_eq!(
                reasons[i] == "<null>",
                langs[i] == "en",
                "{}: {} {}",
                ids[i],
                langs[i],
                reasons[i]
            );
        }
        rows += b.num_rows();
    }
    assert!(rows > 20, "{rows} rows kept");
    assert!(rewritten > 0, "c4_quality rewrote no kept text");

    let stats = json(&out.join("stats.json"));
    let dropped = read_split(&out, "dropped");
    let mut per_stage: HashMap<String, u64> = HashMap::new();
    let mut rewritten_dropped = 0;
    for b in &dropped {
        let (ids, texts, stages) = (strings(b, "doc_id"), strings(b, "text"), strings(b, "stage"));
        for i in 0..b.num_rows() {
            *per_stage.entry(stages[i].clone()).or_default() += 1;
            let original = &input[&ids[i]].1;
            if stages[i] == "len" {
                // dropped after the rewrite, with the text it had then
                assert!(texts[i].split_whitespace().count() < 120, "{}", ids[i]);
                rewritten_dropped += usize::from(&texts[i] != original);
            } else {
                assert_eq!(&texts[i], original, "{} dropped by {}", ids[i], stages[i]);
            }
        }
    }
    assert!(rewritten_dropped > 0, "no rewritten text among the rows dropped after c4_quality");
    for s in stats["stages"].as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        if id != "lang" {
            let n = s["docs_in"].as_u64().unwrap() - s["docs_out"].as_u64().unwrap();
            assert_eq!(per_stage.get(id).copied().unwrap_or(0), n, "dropped rows of {id}");
            // (the URL filter reads the nested `meta.url`; it need not drop anything here)
            assert!(
                n > 0 || id == "url",
                "stage {id} dropped nothing: the test would not exercise it"
            );
        }
    }
}
