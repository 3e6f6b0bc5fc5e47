//! MinHash signatures against datatrove 0.10.1 itself: for every document of seven shared
//! corpora (web, SMS, multilingual, books, news), sluice's `simplify_text`, word tokens and 112-value
//! signature equal the reference's, compared through the hashes that
//! `tests/data/minhash/make_golden.py` wrote from datatrove.

use sha2::{Digest, Sha256};
use sluice::stage::minhash::signature::{SignatureConfig, Signer};
use sluice::text::EnTokenizer;
use sluice::text::simplify::simplify_text;

use crate::util::*;

fn h(b: &[u8]) -> String {
    Sha256::digest(b).iter().take(8).map(|x| format!("{x:02x}")).collect()
}

#[test]
fn signatures_equal_datatroves_on_seven_corpora() {
    let signer = Signer::new(SignatureConfig::default());
    let words = EnTokenizer::new();
    for name in [
        "web_c4_en_sample",
        "web_dolma_ccmain2019_sample",
        "sms_spam_collection",
        "multilingual_udhr2_unicode",
        "multilingual_opensubtitles_en_ru_zh",
        "books_gutenberg_top100",
        "news_speeches_reviews_nltk",
    ] {
        let golden = std::fs::read_to_string(format!("tests/data/minhash/{name}.jsonl")).unwrap();
        let golden: Vec<serde_json::Value> =
            golden.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let docs = reader_docs(name);
        assert_eq!(docs.len(), golden.len(), "{name}: documents");
        let (mut bad_simple, mut bad_words, mut bad_sig) = (Vec::new(), Vec::new(), Vec::new());
        let mut signed = 0;
        for (i, (text, g)) in docs.iter().zip(&golden).enumerate() {
            let simple = simplify_text(text);
            if h(simple.as_bytes()) != g["simplified"] {
                bad_simple.push(i);
                continue;
            }
            if h(words.words(&simple).join("\0").as_bytes()) != g["words"] {
                bad_words.push(i);
                continue;
            }
            let sig = signer.signature(text).map_or(String::new(), |s| {
                h(&s.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>())
            });
            signed += usize::from(!sig.is_empty());
            if sig != g["signature"] {
                bad_sig.push(i);
            }
        }
        assert!(
            bad_simple.is_empty() && bad_words.is_empty() && bad_sig.is_empty(),
            "{name}: {} documents; simplify_text differs on {:?}, the words on {:?}, the \
             signature on {:?} (first 10 of each)",
            docs.len(),
            &bad_simple[..bad_simple.len().min(10)],
            &bad_words[..bad_words.len().min(10)],
            &bad_sig[..bad_sig.len().min(10)],
        );
        // most documents have 5 words or more (the comparison is not of empty signatures)
        assert!(signed * 3 > docs.len(), "{name}: {signed} of {} signed", docs.len());
    }
}

/// The documents datatrove's JsonlReader yields from a shared corpus: JSON objects with a
/// non-empty `text`, in file order.
fn reader_docs(name: &str) -> Vec<String> {
    corpus_lines(&format!("{name}.jsonl.zst"))
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().filter(|t| !t.is_empty()).map(str::to_string))
        .collect()
}

#[test]
fn removals_and_survivors_equal_datatroves_on_three_corpora() {
    use sluice::stage::minhash::cluster::Signatures;
    let signer = Signer::new(SignatureConfig::default());
    let c = signer.config();
    for (name, removed) in
        [("sms_spam_collection", 512), ("web_dolma_ccmain2019_sample", 6), ("web_nltk_webtext", 34)]
    {
        let golden =
            json(std::path::Path::new(&format!("tests/data/minhash/{name}.decisions.json")));
        let docs = reader_docs(name);
        assert_eq!(golden["documents"], docs.len(), "{name}");
        let mut sigs = Signatures::new(c.buckets, c.hashes_per_bucket);
        for (i, text) in docs.iter().enumerate() {
            if let Some(s) = signer.signature(text) {
                sigs.push(i as u32, &s);
            }
        }
        let got: Vec<serde_json::Value> =
            sigs.removals().into_iter().map(|(d, root)| serde_json::json!([d, root])).collect();
        assert_eq!(got.len(), removed, "{name}: removed documents");
        assert_eq!(serde_json::Value::from(got), golden["removed"], "{name}: (removed, survivor)");
    }
}

/// The ids of the documents datatrove's JsonlReader yields (see [`reader_docs`]).
fn reader_ids(name: &str) -> Vec<String> {
    corpus_lines(&format!("{name}.jsonl.zst"))
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["text"].as_str().is_some_and(|t| !t.is_empty()))
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

/// `(doc_id, duplicate_of)` of `OUT/duplicates/<stage>*.parquet`, in file order.
fn duplicates(out: &std::path::Path, stage: &str) -> Vec<(String, String)> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(out.join("duplicates"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(stage))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|p| read_parquet(p))
        .flat_map(|b| strings(&b, "doc_id").into_iter().zip(strings(&b, "duplicate_of")))
        .collect()
}

#[test]
fn the_stage_removes_what_datatroves_pipeline_removes_with_the_same_survivors() {
    let dir = tempdir();
    let d = dir.path();
    for (name, removed) in
        [("sms_spam_collection", 512), ("web_dolma_ccmain2019_sample", 6), ("web_nltk_webtext", 34)]
    {
        let p = pipeline(
            d,
            &format!("{name}.yaml"),
            &format!(
                "name: mh\nsources:\n  - {{ name: s, paths: [\"{}\"] }}\nstages:\n  - {{ id: \
                 near, type: minhash_dedup }}\noutput: {{ dir: {name} }}\n",
                shared(&format!("corpora/{name}.jsonl.zst")).display()
            ),
        );
        let o = ok(&sluice_in(d, &["run", p.to_str().unwrap()]));
        assert!(o.contains(&format!("{removed} removed")), "{o}");
        let out = d.join(name);
        let golden =
            json(std::path::Path::new(&format!("tests/data/minhash/{name}.decisions.json")));
        let ids = reader_ids(name);
        let want: Vec<(String, String)> = golden["removed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let (r, s) = (p[0].as_u64().unwrap() as usize, p[1].as_u64().unwrap() as usize);
                (ids[r].clone(), ids[s].clone())
            })
            .collect();
        assert_eq!(duplicates(&out, "near"), want, "{name}: (removed, survivor)");
        // the shards hold every other document, in input order
        let kept: Vec<String> =
            read_split(&out, "train").iter().flat_map(|b| strings(b, "id")).collect();
        let gone: std::collections::HashSet<&String> = want.iter().map(|(r, _)| r).collect();
        // (the source drops empty texts as `empty_text`, as datatrove's reader skips them)
        let all_ids: Vec<String> = ids.iter().filter(|i| !gone.contains(i)).cloned().collect();
        let first_diff = kept.iter().zip(&all_ids).position(|(a, b)| a != b);
        assert!(
            kept.len() == all_ids.len() && first_diff.is_none(),
            "{name}: {} kept, {} expected, first difference at {first_diff:?}",
            kept.len(),
            all_ids.len()
        );
        let stats = json(&out.join("stats.json"));
        let st = &stats["dedup"]["near"];
        assert_eq!(st["removed"], removed, "{st:#}");
        assert_eq!(st["removed_by_source"]["s"], removed);
        assert_eq!(stats["stages"][0]["reasons"]["near_duplicate"], removed);
        let sizes: u64 = st["cluster_sizes"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| k.parse::<u64>().unwrap() * v.as_u64().unwrap())
            .sum();
        assert_eq!(sizes, st["documents_in_clusters"].as_u64().unwrap());
        let m = json(&out.join("manifest.json"));
        assert_eq!(m["dedup"]["near"]["removed"], removed);
        assert!(m["dedup"]["near"].get("reduce").is_none(), "the manifest holds no timings");
    }
}

/// C4 documents with planted near-duplicates (one word changed, in a second source, with a
/// `score` of 1 that the others lack) and 5000 short web texts (a third source), in small
/// slices, for the determinism checks.
fn planted(d: &std::path::Path) -> usize {
    let c4 = corpus_lines("web_c4_en_sample.jsonl.zst");
    write(&d.join("web/c4.jsonl"), (c4[..600].join("\n") + "\n").as_bytes());
    let mut near = Vec::new();
    for (k, l) in c4[..600].iter().enumerate().step_by(5) {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let text = v["text"].as_str().unwrap();
        let mut words: Vec<&str> = text.split(' ').collect();
        if words.len() < 150 {
            continue;
        }
        let mid = words.len() / 2;
        words[mid] = "zyzzyva";
        near.push(
            serde_json::json!({"id": format!("near-{k}"), "text": words.join(" "), "score": 1})
                .to_string(),
        );
    }
    write(&d.join("near/near.jsonl.zst"), &zstd((near.join("\n") + "\n").as_bytes()));
    let wt = corpus_lines("web_nltk_webtext.jsonl.zst");
    write(&d.join("lines/wt.jsonl"), (wt[..5000].join("\n") + "\n").as_bytes());
    near.len()
}

fn planted_pipeline(d: &std::path::Path, file: &str, extra: &str) -> String {
    pipeline(
        d,
        file,
        &format!(
            "name: mh\nsources:\n  - {{ name: web, paths: [\"web/*\"] }}\n  - {{ name: near, \
             paths: [\"near/*\"] }}\n  - {{ name: lines, paths: [\"lines/*\"] }}\nstages:\n  - {{ id: near, type: minhash_dedup{extra} }}\n\
             output: {{ dir: out, slice_bytes: 60000 }}\n"
        ),
    )
    .to_str()
    .unwrap()
    .to_string()
}

#[test]
fn survivors_are_the_same_at_any_thread_count_task_split_and_memory_budget() {
    let dir = tempdir();
    let d = dir.path();
    let planted_docs = planted(d);
    assert!(planted_docs > 30, "{planted_docs}");
    let p = planted_pipeline(d, "p.yaml", "");
    ok(&sluice_in(d, &["run", &p, "--quiet", "--threads", "1", "--out", "one"]));
    let one = visible(&d.join("one"));
    let dups = duplicates(&d.join("one"), "near");
    let found =
        dups.iter().filter(|(r, s)| r.starts_with("near-") && !s.starts_with("near-")).count();
    assert!(found * 10 >= planted_docs * 9, "{found} of {planted_docs} planted near-duplicates");
    ok(&sluice_in(d, &["run", &p, "--quiet", "--threads", "2", "--out", "two"]));
    assert_same(&one, &visible(&d.join("two")), "1 vs 2 threads");
    for i in 0..3 {
        let t = format!("{i}/3");
        ok(&sluice_in(d, &["run", &p, "--quiet", "--out", "t3", "--task", &t, "--phase", "map"]));
    }
    for i in 0..3 {
        let t = format!("{i}/3");
        ok(&sluice_in(d, &["run", &p, "--quiet", "--out", "t3", "--task", &t]));
    }
    ok(&sluice_in(d, &["finalize", "t3", "--quiet"]));
    assert_same(&one, &visible(&d.join("t3")), "3 tasks");
    // a 1 MiB budget for band values spills sorted runs; the decisions stay the same
    let small = planted_pipeline(d, "small.yaml", ", memory_mb: 1");
    ok(&sluice_in(d, &["run", &small, "--quiet", "--out", "small"]));
    let stats = json(&d.join("small/stats.json"));
    let reduce = &stats["dedup"]["near"]["reduce"];
    assert!(reduce["runs_spilled"].as_u64().unwrap() >= 3, "{reduce:#}");
    assert!(reduce["band_bytes_peak"].as_u64().unwrap() <= 1 << 20, "{reduce:#}");
    assert_eq!(duplicates(&d.join("small"), "near"), dups, "spilled vs in memory");
    let shards = |o: &str| {
        visible(&d.join(o)).into_iter().filter(|(n, _)| n.starts_with("train/")).collect::<Vec<_>>()
    };
    assert_same(&shards("one"), &shards("small"), "spilled vs in memory: shards");
}

#[test]
fn survivor_first_keeps_the_earliest_document_of_each_cluster() {
    let dir = tempdir();
    let d = dir.path();
    planted(d);
    let reference = planted_pipeline(d, "r.yaml", "");
    let first = planted_pipeline(d, "f.yaml", ", survivor: first");
    ok(&sluice_in(d, &["run", &reference, "--quiet", "--out", "r"]));
    ok(&sluice_in(d, &["run", &first, "--quiet", "--out", "f"]));
    // input order: the web file line by line, then the planted file
    let mut ids: Vec<String> = corpus_lines("web_c4_en_sample.jsonl.zst")[..600]
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let near = String::from_utf8(
        zstd::decode_all(std::fs::File::open(d.join("near/near.jsonl.zst")).unwrap()).unwrap(),
    )
    .unwrap();
    let wt = corpus_lines("web_nltk_webtext.jsonl.zst");
    ids.extend(near.lines().chain(wt[..5000].iter().map(String::as_str)).map(|l| {
        serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string()
    }));
    let pos: std::collections::HashMap<&String, usize> =
        ids.iter().enumerate().map(|(i, id)| (id, i)).collect();
    let (r, f) = (duplicates(&d.join("r"), "near"), duplicates(&d.join("f"), "near"));
    assert_eq!(r.len(), f.len(), "the same clusters, so as many removed");
    let removed = |v: &[(String, String)]| {
        let mut s: Vec<String> = v.iter().map(|(r, _)| r.clone()).collect();
        s.sort();
        s
    };
    assert_ne!(removed(&r), Vec::<String>::new());
    let survivors: std::collections::HashSet<&String> = f.iter().map(|(_, s)| s).collect();
    assert!(f.iter().all(|(rm, _)| !survivors.contains(rm)), "a survivor is never removed");
    for (rm, s) in &f {
        assert!(pos[s] < pos[rm], "{rm} kept {s}, which comes later");
    }
    // the removed rows are listed in input order
    assert!(f.windows(2).all(|w| pos[&w[0].0] < pos[&w[1].0]));
}

#[test]
fn survivor_highest_keeps_the_best_scored_document_of_each_cluster() {
    let dir = tempdir();
    let d = dir.path();
    let planted_docs = planted(d);
    let p = planted_pipeline(d, "h.yaml", ", survivor: highest, priority: score");
    ok(&sluice_in(d, &["run", &p, "--quiet", "--out", "h"]));
    let dups = duplicates(&d.join("h"), "near");
    // every planted document (score 1; the rest have none) survives its cluster
    assert!(dups.iter().all(|(rm, _)| !rm.starts_with("near-")), "{dups:?}");
    let kept_planted = dups.iter().filter(|(_, s)| s.starts_with("near-")).count();
    assert!(kept_planted * 10 >= planted_docs * 9, "{kept_planted} of {planted_docs}");
    let m = json(&d.join("h/manifest.json"));
    assert_eq!(m["dedup"]["near"]["survivor"], "highest");
    // the same clusters as the reference rule
    let r = planted_pipeline(d, "r.yaml", "");
    ok(&sluice_in(d, &["run", &r, "--quiet", "--out", "r"]));
    assert_eq!(duplicates(&d.join("r"), "near").len(), dups.len());
    // a priority that is not a numeric column is refused before the run
    let bad = planted_pipeline(d, "bad.yaml", ", survivor: highest, priority: text");
    let o = sluice_in(d, &["run", &bad, "--out", "bad"]);
    assert!(
        !o.status.success() && stderr(&o).contains("must name a numeric column"),
        "{}",
        stderr(&o)
    );
    let half = planted_pipeline(d, "half.yaml", ", survivor: highest");
    let o = sluice_in(d, &["run", &half, "--out", "half"]);
    assert!(!o.status.success() && stderr(&o).contains("needs `priority"), "{}", stderr(&o));
}
