//! Token ids equal Hugging Face `tokenizers` for the same tokenizer.json (the goldens in
//! ../shared/data/golden/tokens, made with the Python binding), through the whole pipeline.

use std::collections::HashMap;
use std::io::BufRead;

use sha2::{Digest, Sha256};

use crate::util::*;

fn check(tokenizer: &str, corpus: &str, golden: &str) {
    let dir = tempdir();
    let p = pipeline(
        dir.path(),
        "p.yaml",
        &format!(
            "name: golden\nsources:\n  - {{ name: c, paths: [\"{}\"] }}\nstages:\n  - {{ type: tokenize, tokenizer: \"{}\", add_eos: false }}\noutput: {{ dir: out }}\n",
            shared(corpus).display(),
            shared(tokenizer).display()
        ),
    );
    ok(&sluice_in(dir.path(), &["run", p.to_str().unwrap(), "--quiet"]));
    let mut got: HashMap<String, Vec<i32>> = HashMap::new();
    for b in read_split(&dir.path().join("out"), "train") {
        for (id, ids) in strings(&b, "doc_id").into_iter().zip(token_lists(&b)) {
            got.insert(id, ids);
        }
    }
    let f = std::fs::File::open(shared(golden)).unwrap();
    let reader = std::io::BufReader::new(zstd::Decoder::new(f).unwrap());
    let (mut checked, mut mismatched) = (0, Vec::new());
    for line in reader.lines() {
        let g: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        let id = g["id"].as_str().unwrap();
        let n = g["n"].as_u64().unwrap() as usize;
        let Some(ids) = got.get(id) else {
            assert_eq!(n, 0, "{id} missing from output");
            continue;
        };
        let bytes: Vec<u8> = ids.iter().flat_map(|i| (*i as u32).to_le_bytes()).collect();
        let sha = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect::<String>();
        if ids.len() != n || sha != g["sha256"].as_str().unwrap() {
            mismatched.push(id.to_string());
        }
        if let Some(full) = g.get("ids").and_then(|v| v.as_array()) {
            let want: Vec<i32> = full.iter().map(|v| v.as_i64().unwrap() as i32).collect();
            assert_eq!(ids, &want, "{id}");
        }
        checked += 1;
    }
    assert!(checked > 800, "only {checked} documents checked");
    assert!(
        mismatched.is_empty(),
        "{} of {checked} documents differ: {:?}",
        mismatched.len(),
        &mismatched[..mismatched.len().min(10)]
    );
}

#[test]
fn gpt2_matches_hf_on_c4() {
    check(
        "tokenizers/gpt2/tokenizer.json",
        "corpora/web_c4_en_sample.jsonl.zst",
        "golden/tokens/gpt2/web_c4_en_sample.ids.jsonl.zst",
    );
}

#[test]
fn gpt2_matches_hf_on_multilingual_subtitles() {
    check(
        "tokenizers/gpt2/tokenizer.json",
        "corpora/multilingual_opensubtitles_en_ru_zh.jsonl.zst",
        "golden/tokens/gpt2/multilingual_opensubtitles_en_ru_zh.ids.jsonl.zst",
    );
}

#[test]
fn llama3_matches_hf_on_c4_and_subtitles() {
    check(
        "tokenizers/llama3/tokenizer.json.zst",
        "corpora/web_c4_en_sample.jsonl.zst",
        "golden/tokens/llama3/web_c4_en_sample.ids.jsonl.zst",
    );
    check(
        "tokenizers/llama3/tokenizer.json.zst",
        "corpora/multilingual_opensubtitles_en_ru_zh.jsonl.zst",
        "golden/tokens/llama3/multilingual_opensubtitles_en_ru_zh.ids.jsonl.zst",
    );
}
