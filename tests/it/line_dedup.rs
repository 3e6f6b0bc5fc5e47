//! `line_dedup` on real data: on web and book corpora its output equals a direct count of
//! documents per line (a plain map from the trimmed line to the documents holding it), and the
//! output is the same at any thread count, task split and memory budget.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::util::*;

/// `(id, text)` of the documents the source keeps (non-empty text), in input order.
fn docs(corpus: &str) -> Vec<(String, String)> {
    corpus_lines(&format!("{corpus}.jsonl.zst"))
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["text"].as_str().is_some_and(|t| !t.is_empty()))
        .map(|v| (v["id"].as_str().unwrap().to_string(), v["text"].as_str().unwrap().to_string()))
        .collect()
}

/// The texts a direct count gives: lines in more than `max` documents removed.
fn by_hand(docs: &[(String, String)], max: usize) -> (Vec<(String, String)>, usize) {
    let mut holders: HashMap<&str, HashSet<usize>> = HashMap::new();
    for (i, (_, t)) in docs.iter().enumerate() {
        for line in t.split('\n') {
            let k = line.trim();
            if !k.is_empty() {
                holders.entry(k).or_default().insert(i);
            }
        }
    }
    let removed: HashSet<&str> =
        holders.iter().filter(|(_, d)| d.len() > max).map(|(k, _)| *k).collect();
    let out = docs
        .iter()
        .map(|(id, t)| {
            let kept: String =
                t.split_inclusive('\n').filter(|l| !removed.contains(l.trim())).collect();
            (id.clone(), kept)
        })
        .filter(|(_, t)| !t.trim().is_empty())
        .collect();
    (out, removed.len())
}

/// Runs `line_dedup` over `source` (a shared corpus name, or a path) into `d/out`.
fn run(d: &Path, source: &str, extra: &str, out: &str, args: &[&str]) -> String {
    let path = if source.contains('/') {
        source.to_string()
    } else {
        shared(&format!("corpora/{source}.jsonl.zst")).display().to_string()
    };
    let p = pipeline(
        d,
        &format!("p{}.yaml", extra.replace(|c: char| !c.is_ascii_alphanumeric(), "")),
        &format!(
            "name: ld\nsources:\n  - {{ name: s, paths: [\"{path}\"] }}\nstages:\n  - {{ id: lines, \
             type: line_dedup{extra} }}\noutput: {{ dir: out, slice_bytes: 4000000 }}\n",
        ),
    );
    let mut a = vec!["run", p.to_str().unwrap(), "--out", out];
    a.extend_from_slice(args);
    ok(&sluice_in(d, &a))
}

fn written(out: &Path) -> Vec<(String, String)> {
    read_split(out, "train")
        .iter()
        .flat_map(|b| strings(b, "id").into_iter().zip(strings(b, "text")))
        .collect()
}

#[test]
fn removes_exactly_the_lines_a_direct_count_finds_on_web_and_books() {
    let dir = tempdir();
    let d = dir.path();
    for (corpus, max) in [
        ("web_dolma_ccmain2019_sample", 5),
        ("books_gutenberg_top100", 10),
        ("web_nltk_webtext", 3),
    ] {
        let all = docs(corpus);
        let (want, removed) = by_hand(&all, max);
        assert!(removed > 0, "{corpus}: the corpus has repeated lines");
        run(d, corpus, &format!(", max_documents: {max}"), corpus, &["--quiet"]);
        let got = written(&d.join(corpus));
        assert_eq!(got.len(), want.len(), "{corpus}: documents kept");
        for ((gi, gt), (wi, wt)) in got.iter().zip(&want) {
            assert_eq!(gi, wi, "{corpus}");
            assert!(gt == wt, "{corpus}: {gi} differs from the direct count's text");
        }
        let stats = json(&d.join(corpus).join("stats.json"));
        let rep = &stats["dedup"]["lines"];
        assert_eq!(rep["removed_units"], removed, "{corpus}: {rep:#}");
        assert_eq!(
            stats["stages"][0]["reasons"]["only_repeated_lines"].as_u64().unwrap_or(0) as usize,
            all.len() - want.len(),
            "{corpus}"
        );
        // one row per removed line, with its document count
        let side = read_parquet(&d.join(corpus).join("duplicates/lines.parquet"));
        assert_eq!(side.iter().map(|b| b.num_rows()).sum::<usize>(), removed, "{corpus}");
    }
    // the Project Gutenberg licence is gone from every book
    let books = written(&d.join("books_gutenberg_top100"));
    let licence = "This ebook is for the use of anyone anywhere in the United States";
    assert!(
        docs("books_gutenberg_top100").iter().filter(|(_, t)| t.contains(licence)).count() > 50
    );
    assert!(books.iter().all(|(_, t)| !t.contains(licence)));
}

#[test]
fn output_is_the_same_at_any_thread_count_task_split_and_memory_budget() {
    let dir = tempdir();
    let d = dir.path();
    // plain JSONL, so that the run is cut into slices (a zstd file is one slice)
    let books = corpus_lines("books_gutenberg_top100.jsonl.zst");
    write(&d.join("books.jsonl"), (books.join("\n") + "\n").as_bytes());
    let path = d.join("books.jsonl").display().to_string();
    let c = path.as_str();
    for unit in ["line", "paragraph"] {
        let cfg = format!(", max_documents: 8, unit: {unit}");
        run(d, c, &cfg, "one", &["--quiet", "--threads", "1"]);
        let one = visible(&d.join("one"));
        let slices = json(&d.join("one/stats.json"))["dedup"]["lines"]["documents"].clone();
        assert_eq!(slices, 99, "every book counted");
        run(d, c, &cfg, "two", &["--quiet", "--threads", "2"]);
        assert_same(&one, &visible(&d.join("two")), &format!("{unit}: 1 vs 2 threads"));
        for i in 0..3 {
            let t = format!("{i}/3");
            run(d, c, &cfg, "t3", &["--quiet", "--task", &t, "--phase", "map"]);
        }
        for i in 0..3 {
            let t = format!("{i}/3");
            run(d, c, &cfg, "t3", &["--quiet", "--task", &t]);
        }
        ok(&sluice_in(d, &["finalize", "t3", "--quiet"]));
        assert_same(&one, &visible(&d.join("t3")), &format!("{unit}: 3 tasks"));
        // a 1 MiB budget for the counts spills sorted runs; the output stays the same
        run(d, c, &format!("{cfg}, memory_mb: 1"), "small", &["--quiet"]);
        let stats = json(&d.join("small/stats.json"));
        let reduce = &stats["dedup"]["lines"]["reduce"];
        assert!(reduce["runs_spilled"].as_u64().unwrap() >= 5, "{reduce:#}");
        let data = |o: &str| {
            visible(&d.join(o))
                .into_iter()
                .filter(|(n, _)| n.starts_with("train/") || n.starts_with("duplicates/"))
                .collect::<Vec<_>>()
        };
        assert_same(&data("one"), &data("small"), &format!("{unit}: spilled vs in memory"));
        for o in ["one", "two", "t3", "small"] {
            std::fs::remove_dir_all(d.join(o)).unwrap();
        }
    }
}

#[test]
fn line_then_near_dedup_in_one_pipeline_equals_two_pipelines_in_a_row() {
    let dir = tempdir();
    let d = dir.path();
    let inputs = format!(
        "[\"{}\", \"{}\"]",
        shared("corpora/web_dolma_ccmain2019_sample.jsonl.zst").display(),
        shared("corpora/sms_spam_collection.jsonl.zst").display()
    );
    let both = pipeline(
        d,
        "both.yaml",
        &format!(
            "name: both\nsources:\n  - {{ name: web, paths: {inputs} }}\nstages:\n  - {{ id: \
             lines, type: line_dedup, max_documents: 5 }}\n  - {{ id: near, type: minhash_dedup \
             }}\noutput: {{ dir: both }}\n"
        ),
    );
    let first = pipeline(
        d,
        "first.yaml",
        &format!(
            "name: first\nsources:\n  - {{ name: web, paths: {inputs} }}\nstages:\n  - {{ id: \
             lines, type: line_dedup, max_documents: 5 }}\noutput: {{ dir: first }}\n"
        ),
    );
    let second = pipeline(
        d,
        "second.yaml",
        "name: second\nsources:\n  - { name: web, paths: [\"first/train/*.parquet\"] }\nstages:\n  \
         - { id: near, type: minhash_dedup }\noutput: { dir: second }\n",
    );
    let o = ok(&sluice_in(d, &["run", both.to_str().unwrap()]));
    assert!(
        o.contains("repeated units of `lines`") && o.contains("near-duplicates of `near`"),
        "{o}"
    );
    ok(&sluice_in(d, &["run", first.to_str().unwrap(), "--quiet"]));
    ok(&sluice_in(d, &["run", second.to_str().unwrap(), "--quiet"]));
    let near = |o: &str| std::fs::read(d.join(o).join("duplicates/near.parquet")).unwrap();
    assert!(near("both") == near("second"), "the same near-duplicates and survivors");
    assert!(
        std::fs::read(d.join("both/duplicates/lines.parquet")).unwrap()
            == std::fs::read(d.join("first/duplicates/lines.parquet")).unwrap()
    );
    let texts = |o: &str| {
        read_split(&d.join(o), "train").iter().flat_map(|b| strings(b, "text")).collect::<Vec<_>>()
    };
    assert_eq!(texts("both"), texts("second"));
    let stats = json(&d.join("both/stats.json"));
    assert!(stats["dedup"]["near"]["removed"].as_u64().unwrap() > 400, "{:#}", stats["dedup"]);
    // one task (a job array of one) does both count passes itself
    ok(&sluice_in(d, &["run", both.to_str().unwrap(), "--quiet", "--task", "0/1", "--out", "t1"]));
    ok(&sluice_in(d, &["finalize", "t1", "--quiet"]));
    assert_same(&visible(&d.join("both")), &visible(&d.join("t1")), "one task");
    // the same with its map phase run first (both count passes and reduce steps)
    let b = both.to_str().unwrap();
    ok(&sluice_in(d, &["run", b, "--quiet", "--task", "0/1", "--phase", "map", "--out", "t1m"]));
    ok(&sluice_in(d, &["run", b, "--quiet", "--task", "0/1", "--out", "t1m"]));
    ok(&sluice_in(d, &["finalize", "t1m", "--quiet"]));
    assert_same(&visible(&d.join("both")), &visible(&d.join("t1m")), "one task, map first");
    // several tasks need one ordered stage per pipeline for now, and say so
    let o = sluice_in(d, &["run", both.to_str().unwrap(), "--task", "0/2", "--out", "t2"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("may hold one ordered stage"), "{}", stderr(&o));
}
