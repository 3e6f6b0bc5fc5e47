//! Counted stages on real data: `balance` on the SMS spam corpus and `mix` on four corpora
//! (the shipped example pipelines), exact realised counts (duplicate origin keys included),
//! byte-identical output at 1 and 4 threads and for 3 tasks plus `finalize`, and the
//! short-group error before any shard; and a run killed with SIGKILL and resumed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use arrow::array::{Array, Int32Array};

use crate::util::*;

fn num_tokens(b: &arrow::array::RecordBatch) -> Vec<i32> {
    let c = b.column_by_name("num_tokens").unwrap();
    c.as_any().downcast_ref::<Int32Array>().unwrap().values().to_vec()
}

#[test]
fn balance_sms_oversamples_spam_to_uniform_exactly() {
    let dir = tempdir();
    let out = dir.path().join("out");
    ok(&sluice(&["run", "pipelines/balance-sms.yaml", "--quiet", "--out", out.to_str().unwrap()]));
    let mut labels: HashMap<String, String> = HashMap::new();
    for l in corpus_lines("sms_spam_collection.jsonl.zst") {
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        labels
            .insert(v["id"].as_str().unwrap().into(), v["meta"]["label"].as_str().unwrap().into());
    }
    // origin -> (copies, splits)
    let mut seen: BTreeMap<String, (u32, HashSet<&str>)> = BTreeMap::new();
    let mut per_class: BTreeMap<String, u64> = BTreeMap::new();
    for split in ["train", "validation"] {
        for b in read_split(&out, split) {
            for o in strings(&b, "origin_id") {
                *per_class.entry(labels[&o].clone()).or_default() += 1;
                let e = seen.entry(o).or_default();
                e.0 += 1;
                e.1.insert(split);
            }
        }
    }
    assert_eq!(per_class, [("ham".to_string(), 4826), ("spam".to_string(), 4826)].into());
    assert!(seen.values().all(|(_, s)| s.len() == 1), "a document's copies span two splits");
    let spam: Vec<u32> =
        seen.iter().filter(|(o, _)| labels[*o] == "spam").map(|(_, (n, _))| *n).collect();
    assert_eq!(spam.len(), 747);
    // 4826 = 6 × 747 + 344: six whole epochs, and a partial one of exactly 344 messages
    assert_eq!(spam.iter().filter(|&&n| n == 7).count(), 344);
    assert!(spam.iter().all(|&n| n == 6 || n == 7));
    let m = json(&out.join("manifest.json"));
    let g = &m["mixture"]["balance"]["groups"];
    assert_eq!(g[1]["group"], "spam");
    assert_eq!(g[1]["planned_documents"], 4826);
    assert_eq!(g[1]["realised_documents"], 4826);
    assert_eq!(g[1]["realised_share"], 0.5);
}

#[test]
fn mixture_pipeline_meets_its_token_shares() {
    let dir = tempdir();
    let out = dir.path().join("out");
    let o = ok(&sluice(&["run", "pipelines/mixture.yaml", "--out", out.to_str().unwrap()]));
    assert!(o.contains("mixture of `mixture` (shares of tokens)"), "{o}");
    let mut tokens: BTreeMap<String, u64> = BTreeMap::new();
    for split in ["train", "validation"] {
        for b in read_split(&out, split) {
            for (s, n) in strings(&b, "source").into_iter().zip(num_tokens(&b)) {
                *tokens.entry(s).or_default() += n as u64;
            }
        }
    }
    let m = json(&out.join("manifest.json"));
    let groups = m["mixture"]["mixture"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 4);
    let total: u64 = tokens.values().sum();
    assert_eq!(m["mixture"]["mixture"]["tokens"], total);
    // 8M tokens planned: every group within one document of its quota
    assert!(total.abs_diff(8_000_000) < 200_000, "{total}");
    for g in groups {
        let name = g["group"].as_str().unwrap();
        assert_eq!(g["planned_tokens"], tokens[name], "{name}");
        assert_eq!(g["realised_tokens"], tokens[name], "{name}");
        let share = tokens[name] as f64 / total as f64;
        let want = g["requested_share"].as_f64().unwrap();
        assert!((share - want).abs() < 0.005, "{name}: {share} vs {want}");
    }
    assert!(groups[0]["repeat"].as_f64().unwrap() > 1.5, "web is oversampled: {groups:?}");
    // the pipeline shuffles: every source is spread over the whole split (in input order each
    // would sit in its own stretch, and the mean positions would be far apart)
    assert_eq!(m["order"], "shuffled");
    let order: Vec<String> =
        read_split(&out, "train").iter().flat_map(|b| strings(b, "source")).collect();
    for name in tokens.keys() {
        let at: Vec<usize> = (0..order.len()).filter(|&i| &order[i] == name).collect();
        let mean = at.iter().sum::<usize>() as f64 / at.len() as f64 / order.len() as f64;
        assert!((0.35..0.65).contains(&mean), "{name}: mean position {mean:.3}");
    }
}

/// Web documents, chat lines and a file whose ids repeat (origin-key ties), in small slices.
fn inputs(d: &Path) {
    let c4 = corpus_lines("web_c4_en_sample.jsonl.zst");
    write(&d.join("web/c4.jsonl"), (c4[..500].join("\n") + "\n").as_bytes());
    let wt = corpus_lines("web_nltk_webtext.jsonl.zst");
    write(&d.join("talk/wt.jsonl.zst"), &zstd((wt[..1000].join("\n") + "\n").as_bytes()));
    let dups: Vec<String> = c4[500..700]
        .iter()
        .enumerate()
        .map(|(k, l)| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            serde_json::json!({"id": format!("same-{}", k % 20), "text": v["text"]}).to_string()
        })
        .collect();
    write(&d.join("dups/d.jsonl"), (dups.join("\n") + "\n").as_bytes());
}

fn mix_pipeline(d: &Path, groups: &str) -> PathBuf {
    pipeline(
        d,
        "mix.yaml",
        &format!(
            r#"name: mixing
seed: 5
sources:
  - {{ name: web, paths: ["web/*"] }}
  - {{ name: talk, paths: ["talk/*"] }}
  - {{ name: dups, paths: ["dups/*"] }}
stages:
  - {{ id: tok, type: tokenize, tokenizer: "{tok}", add_eos: true }}
  - id: m
    type: mix
    groups:
{groups}
output: {{ dir: out, validation_fraction: 0.1, slice_bytes: 120000, shard_tokens: 40000, write_dropped: true }}
"#,
            tok = shared("tokenizers/gpt2/tokenizer.json").display()
        ),
    )
}

const GROUPS: &str = r#"      - { name: long, when: "num_tokens > 400", repeat: 2.37 }
      - { source: web, repeat: 0.5 }
      - { source: talk, count: 1500, max_repeat: 2 }
      - { source: dups, repeat: 1.5 }"#;

#[test]
fn mix_counts_are_exact_and_identical_across_threads_and_tasks() {
    let dir = tempdir();
    let d = dir.path();
    inputs(d);
    let p = mix_pipeline(d, GROUPS);
    let p = p.to_str().unwrap();
    ok(&sluice_in(d, &["run", p, "--quiet", "--out", "one", "--threads", "1"]));
    let single = visible(&d.join("one"));
    // exact counts: the plan, the stats and the shards agree
    let stats = json(&d.join("one/stats.json"));
    let groups = stats["mixture"]["m"]["groups"].as_array().unwrap().clone();
    let by: BTreeMap<&str, &serde_json::Value> =
        groups.iter().map(|g| (g["group"].as_str().unwrap(), g)).collect();
    let avail = |g: &str| by[g]["available_documents"].as_u64().unwrap();
    let planned = |g: &str| by[g]["planned_documents"].as_u64().unwrap();
    assert_eq!(planned("long"), (2.37 * avail("long") as f64).round() as u64);
    assert_eq!(planned("web"), (0.5 * avail("web") as f64).round() as u64);
    assert_eq!(planned("talk"), 1500);
    // dups: 20 distinct ids over its documents, so the partial epoch splits ties
    assert!(avail("dups") > 100, "{}", avail("dups"));
    assert_eq!(planned("dups"), (1.5 * avail("dups") as f64).round() as u64);
    for g in &groups {
        assert_eq!(g["planned_documents"], g["realised_documents"], "{g}");
        assert_eq!(g["planned_tokens"], g["realised_tokens"], "{g}");
    }
    let mut rows: BTreeMap<String, u64> = BTreeMap::new();
    for split in ["train", "validation"] {
        for b in read_split(&d.join("one"), split) {
            for (s, n) in strings(&b, "source").into_iter().zip(num_tokens(&b)) {
                let g = if n > 400 { "long".to_string() } else { s };
                *rows.entry(g).or_default() += 1;
            }
        }
    }
    for (g, n) in &rows {
        assert_eq!(*n, planned(g), "{g}");
    }
    // dropped/ holds the documents no copy was written of
    assert!(single.iter().any(|(n, _)| n.starts_with("dropped/")));

    ok(&sluice_in(d, &["run", p, "--quiet", "--out", "four", "--threads", "4", "--window", "3"]));
    assert_same(&single, &visible(&d.join("four")), "4 threads");
    for i in 0..3 {
        let t = format!("{i}/3");
        ok(&sluice_in(d, &["run", p, "--quiet", "--out", "t3", "--task", &t, "--phase", "map"]));
    }
    for i in (0..3).rev() {
        let t = format!("{i}/3");
        ok(&sluice_in(d, &["run", p, "--quiet", "--out", "t3", "--task", &t]));
    }
    ok(&sluice_in(d, &["finalize", "t3", "--quiet"]));
    assert_same(&single, &visible(&d.join("t3")), "3 tasks");
    // one task runs its own count pass
    ok(&sluice_in(d, &["run", p, "--quiet", "--out", "t1", "--task", "0/1"]));
    ok(&sluice_in(d, &["finalize", "t1", "--quiet"]));
    assert_same(&single, &visible(&d.join("t1")), "1 task");
}

#[test]
fn a_group_short_of_its_share_stops_the_run_before_any_shard() {
    let dir = tempdir();
    let d = dir.path();
    inputs(d);
    let groups = r#"      - { source: web, share_of_tokens: 0.2 }
      - { source: talk, share_of_tokens: 0.5, max_repeat: 1.5 }
      - { source: dups, share_of_tokens: 0.3 }"#;
    let p = mix_pipeline(d, groups);
    let text = std::fs::read_to_string(&p).unwrap();
    let p = pipeline(
        d,
        "short.yaml",
        &text.replace("    groups:", "    total_tokens: 600000\n    groups:"),
    );
    let o = sluice_in(d, &["run", p.to_str().unwrap(), "--quiet", "--out", "short"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    // every short group is named, with the cap that binds
    assert!(err.contains("group `talk` cannot meet its target"), "{err}");
    assert!(err.contains("with max_repeat 1.5 it can give at most"), "{err}");
    assert!(err.contains("group `dups` cannot meet its target"), "{err}");
    assert!(err.contains("with max_repeat 1 (the default) it can give at most"), "{err}");
    assert!(!err.contains("group `web`"), "{err}");
    assert!(err.contains("short by"), "{err}");
    assert!(!err.contains("--resume"), "a plan error needs a fix, not a resume: {err}");
    assert!(!d.join("short/manifest.json").exists());
    assert!(read_split(&d.join("short"), "train").is_empty());
}

#[test]
fn a_mix_killed_at_8_points_and_resumed_gives_the_uninterrupted_bytes() {
    // kills land in the count pass, the reduce and the write pass
    let dir = tempdir();
    let d = dir.path();
    inputs(d);
    let p = mix_pipeline(d, GROUPS);
    kill_and_resume(d, p.to_str().unwrap(), 8, 3);
}
