//! The global shuffle (`output.shuffle`) on real web text: the output is the input sorted by
//! the documented seeded key, whatever the order of lines inside files and the way the input is
//! cut into files and slices; byte-identical at 1 and 4 threads and for 3 tasks plus
//! `finalize`; packing runs after the shuffle; copies of a document are spread; buckets larger
//! than the budget are split again; a run killed and resumed (finalize included) gives the same
//! bytes; and a budget that cannot hold one key is a clear error.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::{Array, RecordBatch, UInt32Array};

use crate::util::*;

/// The shared C4 sample as JSONL lines of `id` and `text` (1010 documents; the metadata is
/// left out, since which of its optional fields a file's schema lists depends on the lines
/// sampled, not on the shuffle).
fn c4() -> Vec<String> {
    corpus_lines("web_c4_en_sample.jsonl.zst")
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            serde_json::json!({"id": v["id"], "text": v["text"]}).to_string()
        })
        .collect()
}

/// The documented sort key of a row: (k1, k2).
fn sort_key(seed: u64, source: &str, origin: &str, copy: u32, text: &str) -> (u64, u64) {
    let mut b = seed.to_le_bytes().to_vec();
    b.extend_from_slice(source.as_bytes());
    b.push(0);
    b.extend_from_slice(origin.as_bytes());
    b.extend_from_slice(&copy.to_le_bytes());
    let k1 = xxhash_rust::xxh3::xxh3_64(&b);
    (k1, xxhash_rust::xxh3::xxh3_64_with_seed(text.as_bytes(), seed))
}

fn copies(b: &RecordBatch) -> Vec<u32> {
    match b.column_by_name("copy_index") {
        Some(c) => c.as_any().downcast_ref::<UInt32Array>().unwrap().values().to_vec(),
        None => vec![0; b.num_rows()],
    }
}

/// (key, id, text) of every row of a split, in output order.
fn keyed_rows(out: &Path, split: &str, seed: u64) -> Vec<((u64, u64), String, String)> {
    let mut rows = Vec::new();
    for b in read_split(out, split) {
        let (ids, src, text, cp) =
            (strings(&b, "id"), strings(&b, "source"), strings(&b, "text"), copies(&b));
        let origin = if b.column_by_name("origin_id").is_some() {
            strings(&b, "origin_id")
        } else {
            ids.clone()
        };
        for i in 0..b.num_rows() {
            let k = sort_key(seed, &src[i], &origin[i], cp[i], &text[i]);
            rows.push((k, ids[i].clone(), text[i].clone()));
        }
    }
    rows
}

fn shards_of(out: &Path) -> Vec<(String, Vec<u8>)> {
    visible(out)
        .into_iter()
        .filter(|(n, _)| n.starts_with("train/") || n.starts_with("validation/"))
        .collect()
}

const CURATE: &str = r#"
name: shuffle-test
seed: 7
sources:
  - { name: web, paths: [SOURCES] }
stages:
  - { id: length, type: length_filter, min_words: 20 }
  - { id: copies, type: resample, weights: { web: 3 } }
output:
  dir: out
  validation_fraction: 0.1
  slice_bytes: 300000
  SHUFFLE
"#;

fn curate(d: &Path, name: &str, sources: &str, shuffle: &str) -> String {
    let text = CURATE.replace("SOURCES", sources).replace("SHUFFLE", shuffle);
    pipeline(d, name, &text);
    name.to_string()
}

#[test]
fn shuffle_sorts_by_the_seeded_key_whatever_the_line_order_and_files() {
    let dir = tempdir();
    let d = dir.path();
    let lines = c4();
    write(&d.join("a/all.jsonl"), (lines.join("\n") + "\n").as_bytes());
    // the same documents, lines reversed and cut into three files of another size
    let mut rev = lines.clone();
    rev.reverse();
    for (i, part) in rev.chunks(400).enumerate() {
        write(&d.join(format!("b/part-{i}.jsonl")), (part.join("\n") + "\n").as_bytes());
    }
    let shuffle = "shuffle: true\n  shuffle_memory_mb: 1";
    let pa = curate(d, "a.yaml", "\"a/*.jsonl\"", shuffle);
    let pb = curate(d, "b.yaml", "\"b/*.jsonl\"", shuffle);
    let plain = curate(d, "plain.yaml", "\"a/*.jsonl\"", "");
    for (p, out) in [(&pa, "sa"), (&pb, "sb"), (&plain, "plain")] {
        ok(&sluice_in(d, &["run", p, "--quiet", "--out", out]));
    }
    assert_same(&shards_of(&d.join("sa")), &shards_of(&d.join("sb")), "reordered input");

    let m = json(&d.join("sa/manifest.json"));
    assert_eq!(m["order"], "shuffled");
    let seed = m["shuffle"]["seed"].as_u64().unwrap();
    let train = &m["shuffle"]["splits"]["train"];
    // three copies of 2.4 MB of text in 1 MiB: the plan sized the buckets for the input, so
    // the gather splits some of them again on disk
    assert!(train["spill_files"].as_u64().unwrap() > 3, "{train}");
    assert!(train["buckets_resplit"].as_u64().unwrap() >= 1, "{train}");
    assert!(train["largest_sort_bytes"].as_u64().unwrap() <= 512 << 10, "{train}");
    for split in ["train", "validation"] {
        let got = keyed_rows(&d.join("sa"), split, seed);
        let mut want = keyed_rows(&d.join("plain"), split, seed);
        assert!(got.len() > 50, "{split}: {} rows", got.len());
        assert!(got.windows(2).all(|w| w[0].0 <= w[1].0), "{split}: not in key order");
        want.sort_by_key(|a| a.0);
        assert_eq!(got, want, "{split}: not the input sorted by key");
        // and not the input order
        let input: Vec<String> =
            keyed_rows(&d.join("plain"), split, seed).into_iter().map(|r| r.1).collect();
        assert_ne!(got.iter().map(|r| r.1.clone()).collect::<Vec<_>>(), input);
    }
    let a = json(&d.join("sa/stats.json"));
    let p = json(&d.join("plain/stats.json"));
    assert_eq!(a["output"]["train"]["documents"], p["output"]["train"]["documents"]);
    assert_eq!(a["output"]["train"]["rows"], p["output"]["train"]["rows"]);
}

const PACKED: &str = r#"
name: shuffle-packed
seed: 11
sources:
  - { name: web, paths: ["in/*.jsonl"] }
stages:
  - { id: more, type: resample, weights: { web: 2.5 } }
  - { id: tok, type: tokenize, tokenizer: TOKENIZER, add_eos: true }
output:
  dir: out
  validation_fraction: 0.05
  slice_bytes: 250000
  shuffle: true
  shuffle_memory_mb: 2
  LAYOUT
"#;

fn packed_pipeline(d: &Path, name: &str, layout: &str) -> String {
    let tok = shared("tokenizers/gpt2/tokenizer.json");
    let text = PACKED.replace("TOKENIZER", tok.to_str().unwrap()).replace("LAYOUT", layout);
    pipeline(d, name, &text);
    name.to_string()
}

#[test]
fn shuffled_packing_is_identical_across_threads_and_tasks_and_packs_the_shuffled_order() {
    let dir = tempdir();
    let d = dir.path();
    let lines = c4();
    for (i, part) in lines.chunks(300).enumerate() {
        write(&d.join(format!("in/{i}.jsonl")), (part.join("\n") + "\n").as_bytes());
    }
    let p = packed_pipeline(d, "p.yaml", "layout: packed\n  seq_len: 512");
    let docs = packed_pipeline(d, "docs.yaml", "keep_columns: [origin_id, copy_index]");
    ok(&sluice_in(d, &["run", &p, "--quiet", "--out", "j1", "-j", "1"]));
    ok(&sluice_in(d, &["run", &p, "--quiet", "--out", "j4", "-j", "4", "--window", "3"]));
    let one = visible(&d.join("j1"));
    assert_same(&one, &visible(&d.join("j4")), "4 threads");
    for t in 0..3 {
        let t = format!("{t}/3");
        ok(&sluice_in(d, &["run", &p, "--quiet", "--out", "t3", "--task", &t]));
    }
    ok(&sluice_in(d, &["finalize", "t3", "--quiet"]));
    assert_same(&one, &visible(&d.join("t3")), "3 tasks");

    // packing runs after the shuffle: the packed tokens are the shuffled documents' tokens
    ok(&sluice_in(d, &["run", &docs, "--quiet", "--out", "docs"]));
    for split in ["train", "validation"] {
        let want: Vec<i32> =
            read_split(&d.join("docs"), split).iter().flat_map(token_lists).flatten().collect();
        let mut got = Vec::new();
        for b in read_split(&d.join("j1"), split) {
            for (ids, lens) in token_lists(&b).into_iter().zip(int_lists(&b, "seq_lengths")) {
                let real: i32 = lens.iter().sum();
                got.extend_from_slice(&ids[..real as usize]);
            }
        }
        assert!(!want.is_empty());
        assert_eq!(got, want, "{split}: packed rows are not the shuffled documents");
    }
    // copies of a document are spread out, not adjacent
    let mut pos: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut n = 0;
    for b in read_split(&d.join("docs"), "train") {
        for o in strings(&b, "origin_id") {
            pos.entry(o).or_default().push(n);
            n += 1;
        }
    }
    let adjacent = pos.values().filter(|v| v.windows(2).any(|w| w[1] == w[0] + 1)).count();
    let multi = pos.values().filter(|v| v.len() > 1).count();
    assert!(multi > 500, "{multi} documents with copies");
    assert!(adjacent * 50 < multi, "{adjacent} of {multi} documents have adjacent copies");
    let m = json(&d.join("j1/manifest.json"));
    assert_eq!(m["order"], "shuffled");
    assert!(m["splits"]["train"]["packing"]["fill_rate"].as_f64().unwrap() > 0.99);
}

#[test]
fn shuffled_run_killed_anywhere_resumes_to_the_same_bytes() {
    let dir = tempdir();
    let d = dir.path();
    let lines = c4();
    for (i, part) in lines.chunks(200).enumerate() {
        write(&d.join(format!("in/{i}.jsonl")), (part.join("\n") + "\n").as_bytes());
    }
    let p = packed_pipeline(d, "p.yaml", "layout: packed\n  seq_len: 256");
    kill_and_resume(d, &p, 6, 2);
}

#[test]
fn a_key_larger_than_the_budget_is_an_error_not_a_memory_blowup() {
    let dir = tempdir();
    let d = dir.path();
    // 900 copies of one document, same id and text: one sort key, 0.9 MB > half of 1 MiB
    let text = "word ".repeat(200);
    let line = serde_json::json!({"id": "same", "text": text}).to_string();
    write(&d.join("in/x.jsonl"), (vec![line; 900].join("\n") + "\n").as_bytes());
    let p = curate(d, "p.yaml", "\"in/*.jsonl\"", "shuffle: true\n  shuffle_memory_mb: 1");
    let o = sluice_in(d, &["run", &p, "--quiet", "--out", "out"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("share one sort key") && e.contains("shuffle_memory_mb"), "{e}");
    assert!(!d.join("out/manifest.json").exists());
    // shuffle_memory_mb without shuffle is a config error
    let p = curate(d, "q.yaml", "\"in/*.jsonl\"", "shuffle_memory_mb: 64");
    let o = sluice_in(d, &["validate", &p]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let all = stdout(&o) + &stderr(&o);
    assert!(all.contains("applies to `shuffle: true` only"), "{all}");
}
