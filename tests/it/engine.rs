//! Engine v2 on real data: the ordered stage (`exact_dedup`), the row-changing stage
//! (`resample`), stages after `tokenize`, the `packed` layout, the output lock and the ledger.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, Int32Array, RecordBatch};

use crate::util::*;

/// The first `n` documents of a shared `.jsonl.zst` corpus, parsed.
fn corpus_docs(name: &str, n: usize) -> Vec<serde_json::Value> {
    corpus_lines(name).iter().take(n).map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn jsonl(rows: &[serde_json::Value]) -> Vec<u8> {
    rows.iter().map(|r| r.to_string() + "\n").collect::<String>().into_bytes()
}

fn col_i32(b: &RecordBatch, name: &str) -> Vec<i32> {
    b.column_by_name(name).unwrap().as_any().downcast_ref::<Int32Array>().unwrap().values().to_vec()
}

/// Two sources over three files with planted duplicates: `a` holds 300 C4 documents; `b`
/// holds 40 of them again under new ids (half with extra whitespace) plus 100 webtext lines,
/// and a file with 20 more copies of C4 documents.
fn planted(dir: &Path) -> (PathBuf, Vec<serde_json::Value>) {
    let c4 = corpus_docs("web_c4_en_sample.jsonl.zst", 300);
    write(&dir.join("a/c4.jsonl"), &jsonl(&c4));
    let mut b = Vec::new();
    for (k, d) in c4.iter().skip(10).step_by(7).take(40).enumerate() {
        let mut text = d["text"].as_str().unwrap().to_string();
        if k % 2 == 1 {
            text = text.replace(' ', "  ").replace('\n', " \n ");
        }
        b.push(serde_json::json!({"id": format!("copy-{k}"), "text": text}));
    }
    b.extend(corpus_docs("web_nltk_webtext.jsonl.zst", 100).into_iter().map(|mut v| {
        v.as_object_mut().unwrap().remove("meta");
        v.as_object_mut().unwrap().remove("source");
        v
    }));
    write(&dir.join("b/1.jsonl.zst"), &zstd(&jsonl(&b)));
    let more: Vec<serde_json::Value> = c4
        .iter()
        .rev()
        .take(20)
        .enumerate()
        .map(|(k, d)| serde_json::json!({"id": format!("late-{k}"), "text": d["text"]}))
        .collect();
    write(&dir.join("b/2.jsonl.gz"), &gzip(&jsonl(&more)));
    let mut all = c4;
    all.extend(b);
    all.extend(more);
    (dir.to_path_buf(), all)
}

#[test]
fn exact_dedup_keeps_first_occurrences_across_files_and_sources() {
    let dir = tempdir();
    let (d, all) = planted(dir.path());
    let p = pipeline(
        &d,
        "p.yaml",
        r#"name: dedup
sources:
  - { name: a, paths: ["a/*.jsonl"] }
  - { name: b, paths: ["b/*"] }
stages:
  - { id: dd, type: exact_dedup, fold_whitespace: true }
output: { dir: out }
"#,
    );
    ok(&sluice_in(&d, &["run", p.to_str().unwrap(), "--quiet"]));
    // expected: first occurrence in input order of each whitespace-folded text
    let fold = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut first: HashMap<String, String> = HashMap::new();
    let mut want_kept = Vec::new();
    let mut want_dups = Vec::new();
    for r in &all {
        let (id, text) = (r["id"].as_str().unwrap(), fold(r["text"].as_str().unwrap()));
        match first.get(&text) {
            Some(s) => want_dups.push((id.to_string(), s.clone())),
            None => {
                first.insert(text, id.to_string());
                want_kept.push(id.to_string());
            }
        }
    }
    assert!(want_dups.len() >= 60, "the planted duplicates: {}", want_dups.len());
    let kept: Vec<String> =
        read_split(&d.join("out"), "train").iter().flat_map(|b| strings(b, "id")).collect();
    assert_eq!(kept, want_kept);
    let dups: Vec<(String, String)> = read_parquet(&d.join("out/duplicates/dd.parquet"))
        .iter()
        .flat_map(|b| strings(b, "doc_id").into_iter().zip(strings(b, "duplicate_of")))
        .collect();
    assert_eq!(dups, want_dups);
    let stats = json(&d.join("out/stats.json"));
    let st = &stats["state"][0];
    assert_eq!(st["entries"].as_u64().unwrap(), want_kept.len() as u64);
    assert!(st["bytes_per_entry"].as_f64().unwrap() > 16.0, "{st}");
    assert_eq!(stats["stages"][0]["reasons"]["duplicate"], want_dups.len() as u64);
    // a tiny state budget stops the run with a message naming the stage
    let p2 = pipeline(
        &d,
        "p2.yaml",
        &std::fs::read_to_string(&p)
            .unwrap()
            .replace("name: dedup", "name: dedup\nstate_memory_mb: 1")
            .replace(
                "- { name: a, paths: [\"a/*.jsonl\"] }",
                "- { name: a, paths: [\"a/*.jsonl\"] }\n  - { name: big, paths: [\"BIG\"] }",
            )
            .replace(
                "BIG",
                &shared("corpora/multilingual_lingua_sentences_75lang.jsonl.zst")
                    .display()
                    .to_string(),
            ),
    );
    let o = sluice_in(&d, &["run", p2.to_str().unwrap(), "--quiet", "--out", "small"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("stage `dd`") && stderr(&o).contains("state_memory_mb"),
        "{}",
        stderr(&o)
    );
    assert!(!d.join("small/manifest.json").exists());
}

#[test]
fn resample_copies_documents_and_keeps_copies_in_one_split() {
    let dir = tempdir();
    let d = dir.path();
    let c4 = corpus_docs("web_c4_en_sample.jsonl.zst", 400);
    write(&d.join("c4.jsonl"), &jsonl(&c4[..200]));
    write(&d.join("more.jsonl"), &jsonl(&c4[200..]));
    let p = pipeline(
        d,
        "p.yaml",
        &format!(
            r#"name: resample
seed: 5
sources:
  - {{ name: twice, paths: ["c4.jsonl"], weight: 2.0 }}
  - {{ name: some, paths: ["more.jsonl"] }}
stages:
  - {{ id: mix, type: resample, weights: {{ some: 0.4 }}, rules: [{{ when: "length(text) > 6000", weight: 3.5 }}] }}
  - {{ id: tok, type: tokenize, tokenizer: "{tok}" }}
  - {{ id: short, type: length_filter, column: text, min_chars: 1 }}
  - {{ id: min_tokens, type: sql_filter, predicate: "num_tokens >= 40" }}
output: {{ dir: out, validation_fraction: 0.2, keep_columns: [origin_id, copy_index, text] }}
"#,
            tok = shared("tokenizers/gpt2/tokenizer.json").display()
        ),
    );
    ok(&sluice_in(d, &["run", p.to_str().unwrap(), "--quiet"]));
    let out = d.join("out");
    let mut split_of: HashMap<String, &str> = HashMap::new();
    let mut copies: HashMap<String, Vec<(String, u32)>> = HashMap::new();
    let mut total_tokens = 0u64;
    for split in ["train", "validation"] {
        for b in read_split(&out, split) {
            let n = col_i32(&b, "num_tokens");
            assert!(n.iter().all(|&t| t >= 40), "a filter after tokenize ran");
            total_tokens += n.iter().map(|&t| t as u64).sum::<u64>();
            let cp = b.column_by_name("copy_index").unwrap();
            let cp = cp.as_any().downcast_ref::<arrow::array::UInt32Array>().unwrap();
            for (i, (id, origin)) in
                strings(&b, "doc_id").into_iter().zip(strings(&b, "origin_id")).enumerate()
            {
                let prev = split_of.insert(origin.clone(), split);
                assert!(prev.is_none() || prev == Some(split), "{origin} is in both splits");
                copies.entry(origin).or_default().push((id, cp.value(i)));
            }
        }
    }
    let long = |d: &serde_json::Value| d["text"].as_str().unwrap().chars().count() > 6000;
    let mut kept_some = 0;
    for (k, doc) in c4.iter().enumerate() {
        let id = doc["id"].as_str().unwrap();
        let Some(c) = copies.get(id) else {
            // sampled out (weight 0.4), or under 40 tokens (the filter after tokenize)
            let chars = doc["text"].as_str().unwrap().chars().count();
            assert!((k >= 200 && !long(doc)) || chars < 400, "{id} lost ({chars} chars)");
            continue;
        };
        let ids: Vec<&str> = c.iter().map(|(i, _)| i.as_str()).collect();
        let mut want: Vec<String> = vec![id.to_string()];
        for j in 1..c.len() {
            want.push(format!("{id}#{j}"));
        }
        // a short copy can be filtered after tokenize only together with the others
        assert_eq!(ids, want, "copies of {id}");
        if long(doc) {
            assert!(c.len() == 3 || c.len() == 4, "{id}: weight 3.5 gave {}", c.len());
        } else if k < 200 {
            assert_eq!(c.len(), 2, "{id}: weight 2");
        } else {
            assert_eq!(c.len(), 1);
            kept_some += 1;
        }
    }
    let frac = kept_some as f64 / 200.0;
    assert!((0.25..0.55).contains(&frac), "weight 0.4 kept {frac}");
    let stats = json(&out.join("stats.json"));
    let out_tokens: u64 = ["train", "validation"]
        .iter()
        .map(|s| stats["output"][s]["tokens"].as_u64().unwrap())
        .sum();
    assert_eq!(out_tokens, total_tokens);
    assert!(stats["stages"][0]["reasons"]["sampled_out"].as_u64().unwrap() > 50);
    assert!(stats["stages"][3]["reasons"]["sql_predicate_false"].as_u64().unwrap() > 0);
}

/// Runs `text` (a pipeline with `{tok}` and `{out}` holes) and returns the output dir.
fn run_layout(d: &Path, name: &str, layout: &str) -> PathBuf {
    let p = pipeline(
        d,
        &format!("{name}.yaml"),
        &format!(
            r#"name: packing
seed: 11
sources:
  - {{ name: c4, paths: ["{c4}"] }}
  - {{ name: books, paths: ["books.jsonl"] }}
stages:
  - {{ id: tok, type: tokenize, tokenizer: "{tok}" }}
output: {{ dir: {name}, validation_fraction: 0.05, shard_tokens: 300000, row_group_tokens: 50000, {layout} }}
"#,
            c4 = shared("corpora/web_c4_en_sample.jsonl.zst").display(),
            tok = shared("tokenizers/gpt2/tokenizer.json").display(),
        ),
    );
    ok(&sluice_in(d, &["run", p.to_str().unwrap(), "--quiet"]));
    d.join(name)
}

#[test]
fn packed_rows_give_back_the_documents_token_streams() {
    let dir = tempdir();
    let d = dir.path();
    // two books: documents much longer than a row
    let books = corpus_docs("books_gutenberg_top100.jsonl.zst", 2);
    write(&d.join("books.jsonl"), &jsonl(&books));
    let docs = run_layout(d, "docs", "layout: documents");
    for (name, seq_len, drop_last) in [("p512", 512usize, false), ("p2048", 2048, true)] {
        let out = run_layout(
            d,
            name,
            &format!("layout: packed, seq_len: {seq_len}, drop_last: {drop_last}"),
        );
        for split in ["train", "validation"] {
            let want: Vec<i32> = read_split(&docs, split)
                .iter()
                .flat_map(|b| int_lists(b, "input_ids"))
                .flatten()
                .collect();
            let batches = read_split(&out, split);
            let rows: Vec<(Vec<i32>, Vec<i32>, i32)> = batches
                .iter()
                .flat_map(|b| {
                    let ids = int_lists(b, "input_ids");
                    let lens = int_lists(b, "seq_lengths");
                    let n = col_i32(b, "num_tokens");
                    ids.into_iter().zip(lens).zip(n).map(|((a, b), c)| (a, b, c))
                })
                .collect();
            assert!(rows.len() > 10, "{name}/{split}: {} rows", rows.len());
            let mut got = Vec::new();
            for (k, (ids, lens, n)) in rows.iter().enumerate() {
                assert_eq!(ids.len(), seq_len, "{name}/{split}: row {k} has {} tokens", ids.len());
                assert_eq!(lens.iter().sum::<i32>(), *n, "{name}/{split}: seq_lengths of row {k}");
                if k + 1 < rows.len() {
                    assert_eq!(*n as usize, seq_len);
                }
                got.extend_from_slice(&ids[..*n as usize]);
            }
            if drop_last {
                assert!(got.len() <= want.len() && want.len() - got.len() < seq_len);
                assert_eq!(got[..], want[..got.len()], "{name}/{split}");
            } else {
                assert_eq!(got, want, "{name}/{split}: rows in order give back the token streams");
            }
            // document boundaries: every EOS ends a piece
            let eos = 50256;
            let mut pieces_end_at_eos = 0;
            for (ids, lens, _) in &rows {
                let mut at = 0;
                for l in lens {
                    at += *l as usize;
                    if ids[at - 1] == eos {
                        pieces_end_at_eos += 1;
                    }
                }
            }
            let docs_n: usize = read_split(&docs, split).iter().map(|b| b.num_rows()).sum();
            if !drop_last {
                assert!(pieces_end_at_eos >= docs_n, "{pieces_end_at_eos} vs {docs_n}");
            }
        }
        let m = json(&out.join("manifest.json"));
        assert_eq!(m["layout"], "packed");
        assert_eq!(m["packing"]["seq_len"], seq_len);
        let fill = m["splits"]["train"]["packing"]["fill_rate"].as_f64().unwrap();
        assert!(fill > 0.99, "{fill}");
        assert!(m["splits"]["train"]["packing"]["documents_split"].as_u64().unwrap() > 0);
    }
}

#[test]
fn a_second_run_into_a_locked_directory_is_refused_and_a_stale_lock_is_taken_over() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::create_dir_all(d.join("out")).unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    // a live holder: this test process
    let me = std::process::id();
    let start = std::fs::read_to_string(format!("/proc/{me}/stat")).ok().and_then(|s| {
        s.rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().nth(19))
            .and_then(|v| v.parse::<u64>().ok())
    });
    let holder = |pid: u32, proc_start: Option<u64>| {
        serde_json::json!({"pid": pid, "host": host, "started_unix": 1_790_000_000u64,
            "started": "2026-09-21T12:53:20Z", "purpose": "run", "token": "t", "proc_start": proc_start})
        .to_string()
    };
    write(&d.join("out/.sluice.lock"), holder(me, start).as_bytes());
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/quickstart.yaml");
    let o = sluice_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["run", p.to_str().unwrap(), "--quiet", "--out", d.join("out").to_str().unwrap()],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("pid {me}")) && err.contains(&host), "{err}");
    assert!(err.contains("2026-09-21T12:53:20Z"), "{err}");
    assert!(d.join("out/.sluice.lock").exists(), "the holder's lock stays");
    // a live task of a job array writing into the directory: a plain run does not start over
    std::fs::remove_file(d.join("out/.sluice.lock")).unwrap();
    write(&d.join("out/.sluice/locks/task-0-of-2/.sluice.lock"), holder(me, start).as_bytes());
    let o = sluice_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["run", p.to_str().unwrap(), "--quiet", "--out", d.join("out").to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("tasks of a job array"), "{}", stderr(&o));
    std::fs::remove_dir_all(d.join("out/.sluice")).unwrap();
    // a dead holder on this host: taken over, reported
    write(&d.join("out/.sluice.lock"), holder(3_999_999, None).as_bytes());
    let o = sluice_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["run", p.to_str().unwrap(), "--quiet", "--out", d.join("out").to_str().unwrap()],
    );
    ok(&o);
    assert!(stderr(&o).contains("3999999"), "the stale lock is reported: {}", stderr(&o));
    assert!(d.join("out/manifest.json").exists());
    assert!(!d.join("out/.sluice.lock").exists(), "the lock is released");
    // a file the run did not write is never deleted: the run refuses instead
    write(&d.join("out/train/mine.parquet"), b"not sluice's");
    let o = sluice_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["run", p.to_str().unwrap(), "--quiet", "--out", d.join("out").to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("mine.parquet"), "{}", stderr(&o));
    assert!(d.join("out/train/mine.parquet").exists());
}

#[test]
fn ordered_and_row_changing_stages_give_identical_bytes_at_1_and_4_threads() {
    let dir = tempdir();
    let (d, _) = planted(dir.path());
    let p = pipeline(
        &d,
        "p.yaml",
        &format!(
            r#"name: det2
seed: 9
sources:
  - {{ name: a, paths: ["a/*.jsonl"], weight: 1.5 }}
  - {{ name: b, paths: ["b/*"] }}
stages:
  - {{ id: dd, type: exact_dedup, lowercase: true, fold_whitespace: true }}
  - {{ id: mix, type: resample }}
  - {{ id: tok, type: tokenize, tokenizer: "{tok}" }}
output: {{ dir: out, validation_fraction: 0.1, layout: packed, seq_len: 256, write_dropped: true }}
"#,
            tok = shared("tokenizers/gpt2/tokenizer.json").display()
        ),
    );
    let p = p.to_str().unwrap();
    ok(&sluice_in(&d, &["run", p, "--quiet", "-j", "1", "--out", "one"]));
    ok(&sluice_in(&d, &["run", p, "--quiet", "-j", "4", "--window", "3", "--out", "four"]));
    let strip = |t: Vec<(String, Vec<u8>)>| {
        t.into_iter().filter(|(n, _)| n != "stats.json").collect::<Vec<_>>()
    };
    let one = strip(tree(&d.join("one")));
    let four = strip(tree(&d.join("four")));
    assert!(one.iter().any(|(n, _)| n.starts_with("duplicates/")));
    assert_eq!(one.len(), four.len());
    for ((n, a), (m, b)) in one.iter().zip(&four) {
        assert_eq!(n, m);
        assert!(a == b, "{n} differs between 1 and 4 threads");
    }
}
