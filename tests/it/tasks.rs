//! Tasks, finalize and resume on real data: `--task I/N` for N = 1, 3 and 7 plus `finalize`
//! gives the single run's bytes (documents and packed layouts, with `exact_dedup` and
//! `resample`, over several files and sources cut into many slices), and a run killed with
//! SIGKILL at 20 points and resumed gives them too.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::util::*;

/// Three sources over four files: a plain JSONL file (cut into byte ranges), a Parquet file of
/// many row groups (cut into row-group ranges), a zstd JSONL file (never cut) and a file of
/// planted duplicates.
fn inputs(d: &Path) {
    let c4 = corpus_lines("web_c4_en_sample.jsonl.zst");
    // without ids: a document's id is `<source>/<file>:<line>`, so line numbers must be true
    // in every byte range, whichever task reads it
    let no_ids: Vec<String> = c4[..350]
        .iter()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("id");
            v.to_string()
        })
        .collect();
    write(&d.join("web/c4.jsonl"), (no_ids.join("\n") + "\n").as_bytes());
    let wt = corpus_lines("web_nltk_webtext.jsonl.zst");
    write(&d.join("web/wt.jsonl.zst"), &zstd((wt[..1200].join("\n") + "\n").as_bytes()));
    // the Parquet source: C4 documents 350.., 40 rows per row group
    let docs: Vec<serde_json::Value> =
        c4[350..650].iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ids: StringArray = docs.iter().map(|v| v["id"].as_str().map(str::to_string)).collect();
    let texts: StringArray = docs.iter().map(|v| v["text"].as_str().map(str::to_string)).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, false),
    ]));
    let batch =
        RecordBatch::try_new(schema.clone(), vec![Arc::new(ids) as ArrayRef, Arc::new(texts)])
            .unwrap();
    std::fs::create_dir_all(d.join("pq")).unwrap();
    let f = std::fs::File::create(d.join("pq/c4.parquet")).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(40))
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    // planted duplicates of documents from every file, under new ids
    let mut dups = Vec::new();
    for (k, l) in c4[..650].iter().step_by(9).chain(wt[..1200].iter().step_by(31)).enumerate() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        dups.push(serde_json::json!({"id": format!("dup-{k}"), "text": v["text"]}).to_string());
    }
    write(&d.join("dups/dups.jsonl"), (dups.join("\n") + "\n").as_bytes());
}

fn pipeline_text(d: &Path, layout: &str) -> PathBuf {
    pipeline(
        d,
        &format!("p-{}.yaml", layout.split(',').next().unwrap().trim()),
        &format!(
            r#"name: tasks
seed: 17
sources:
  - {{ name: web, paths: ["web/*"] }}
  - {{ name: wiki, paths: ["pq/*.parquet"], weight: 2.0 }}
  - {{ name: dups, paths: ["dups/*.jsonl"], weight: 0.5 }}
stages:
  - {{ id: dd, type: exact_dedup, fold_whitespace: true }}
  - {{ id: mix, type: resample }}
  - {{ id: tok, type: tokenize, tokenizer: "{tok}" }}
  - {{ id: min, type: sql_filter, predicate: "num_tokens >= 8" }}
output: {{ dir: out, validation_fraction: 0.1, slice_bytes: 120000, shard_tokens: 40000, row_group_tokens: 10000, write_dropped: true, {layout} }}
"#,
            tok = shared("tokenizers/gpt2/tokenizer.json").display()
        ),
    )
}

#[test]
fn tasks_1_3_and_7_plus_finalize_give_the_single_runs_bytes() {
    let dir = tempdir();
    let d = dir.path();
    inputs(d);
    for layout in ["layout: documents", "layout: packed, seq_len: 512"] {
        let p = pipeline_text(d, layout);
        let p = p.to_str().unwrap();
        ok(&sluice_in(d, &["run", p, "--quiet", "--out", "single"]));
        let single = visible(&d.join("single"));
        let m = json(&d.join("single/manifest.json"));
        assert!(m["splits"]["train"]["shards"].as_array().unwrap().len() >= 8, "{m:#}");
        assert!(single.iter().any(|(n, _)| n.starts_with("duplicates/dd")));
        // ids from line numbers are the true lines of the file
        let ids: Vec<String> = if layout.contains("packed") {
            Vec::new()
        } else {
            read_split(&d.join("single"), "train")
                .iter()
                .flat_map(|b| strings(b, "doc_id"))
                .collect()
        };
        let line_ids: Vec<u64> = ids
            .iter()
            .filter_map(|i| i.strip_prefix("web/web/c4.jsonl:"))
            .filter(|l| !l.contains('#'))
            .map(|l| l.parse().unwrap())
            .collect();
        if !ids.is_empty() {
            assert!(line_ids.len() > 250, "{} {:?}", line_ids.len(), &ids[..5]);
            assert!(line_ids.windows(2).all(|w| w[0] < w[1]) && line_ids.last() <= Some(&350));
        }
        for n in [1usize, 3, 7] {
            let out = format!("t{n}");
            for i in 0..n {
                let t = format!("{i}/{n}");
                ok(&sluice_in(
                    d,
                    &["run", p, "--quiet", "--out", &out, "--task", &t, "--phase", "map"],
                ));
            }
            for i in (0..n).rev() {
                let t = format!("{i}/{n}");
                ok(&sluice_in(d, &["run", p, "--quiet", "--out", &out, "--task", &t]));
            }
            assert!(!d.join(&out).join("manifest.json").exists(), "no manifest before finalize");
            ok(&sluice_in(d, &["finalize", &out, "--quiet"]));
            assert_same(&single, &visible(&d.join(&out)), &format!("{layout}, {n} tasks"));
            let s1 = json(&d.join("single/stats.json"));
            let sn = json(&d.join(&out).join("stats.json"));
            assert_eq!(s1["output"], sn["output"], "{n} tasks: counters");
            assert_eq!(s1["stages"][0]["docs_out"], sn["stages"][0]["docs_out"]);
        }
        for o in ["single", "t1", "t3", "t7"] {
            std::fs::remove_dir_all(d.join(o)).unwrap();
        }
    }
}

#[test]
fn finalize_and_apply_name_what_is_missing() {
    let dir = tempdir();
    let d = dir.path();
    inputs(d);
    let p = pipeline_text(d, "layout: documents");
    let p = p.to_str().unwrap();
    // apply before every map phase: refused, naming the tasks
    ok(&sluice_in(d, &["run", p, "--quiet", "--task", "0/3", "--phase", "map"]));
    let o = sluice_in(d, &["run", p, "--quiet", "--task", "1/3"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("tasks 1-2") && stderr(&o).contains("--phase"), "{}", stderr(&o));
    for i in 1..3 {
        ok(&sluice_in(d, &["run", p, "--quiet", "--task", &format!("{i}/3"), "--phase", "map"]));
    }
    ok(&sluice_in(d, &["run", p, "--quiet", "--task", "0/3"]));
    // finalize with tasks 1 and 2 missing names the slices
    let o = sluice_in(d, &["finalize", "out"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("have not committed (slices"), "{}", stderr(&o));
    assert!(!d.join("out/manifest.json").exists());
    // a changed pipeline is another run: refused
    let changed = std::fs::read_to_string(p).unwrap().replace("seed: 17", "seed: 18");
    let p2 = pipeline(d, "changed.yaml", &changed);
    let o = sluice_in(d, &["run", p2.to_str().unwrap(), "--quiet", "--task", "1/3"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("holds another run"), "{}", stderr(&o));
}

#[test]
fn a_run_killed_at_20_points_and_resumed_gives_the_uninterrupted_bytes() {
    let dir = tempdir();
    let d = dir.path();
    inputs(d);
    let p = pipeline_text(d, "layout: packed, seq_len: 1024");
    let p = p.to_str().unwrap();
    kill_and_resume(d, p, 20, 5);
}
