//! Accuracy and speed of the `language` stage's identifier (whatlang) on labelled text: a JSONL
//! file (optionally `.zst`) with `text` and an ISO 639-1 label in `meta.lang`. Prints, as
//! Markdown, per-language accuracy, a `min_score` sweep and single-thread throughput.
//!
//! `cargo run --example language_accuracy -- CORPUS.jsonl.zst [MIN_SCORE] [PREFIX_BYTES] [GROUP]`
//!
//! `GROUP` > 1 joins runs of that many consecutive same-language lines into one document
//! (newline-separated), to see how accuracy grows with length. Throughput is only meaningful
//! with `--release`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::time::Instant;

use sluice::stage::language::{identify, supported_codes};

fn load(path: &str, group: usize) -> Vec<(String, String)> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let reader: Box<dyn Read> =
        if path.ends_with(".zst") { Box::new(zstd::Decoder::new(f).unwrap()) } else { Box::new(f) };
    let mut docs: Vec<(String, String, usize)> = Vec::new();
    for line in BufReader::new(reader).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        let lang = v["meta"]["lang"].as_str().unwrap_or("").to_string();
        let text = v["text"].as_str().unwrap_or("");
        match docs.last_mut() {
            Some((l, t, n)) if *l == lang && *n < group => {
                t.push('\n');
                t.push_str(text);
                *n += 1;
            }
            _ => docs.push((lang, text.to_string(), 1)),
        }
    }
    docs.into_iter().map(|(l, t, _)| (l, t)).collect()
}

#[derive(Default)]
struct Row {
    n: usize,
    correct: usize,
    kept: usize,
    confusions: BTreeMap<String, usize>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("usage: language_accuracy CORPUS [MIN_SCORE] [PREFIX] [GROUP]");
    let min_score: f64 = args.get(2).map_or(0.5, |s| s.parse().unwrap());
    let prefix: usize = args.get(3).map_or(8192, |s| s.parse().unwrap());
    let group: usize = args.get(4).map_or(1, |s| s.parse().unwrap());
    let docs = load(path, group.max(1));
    let supported = supported_codes();

    let t0 = Instant::now();
    let results: Vec<Option<(&str, f64)>> = docs.iter().map(|(_, t)| identify(t, prefix)).collect();
    let secs = t0.elapsed().as_secs_f64();
    let bytes: usize = docs.iter().map(|(_, t)| t.len()).sum();

    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    // (is correct, score) for documents in a language whatlang supports.
    let mut scored: Vec<(bool, f64)> = Vec::new();
    for ((lang, _), found) in docs.iter().zip(&results) {
        let row = rows.entry(lang.as_str()).or_default();
        row.n += 1;
        let got = found.map_or("-", |(code, _)| code);
        let ok = got == lang;
        row.correct += usize::from(ok);
        row.kept += usize::from(ok && found.is_some_and(|(_, s)| s >= min_score));
        if !ok {
            *row.confusions.entry(got.to_string()).or_default() += 1;
        }
        if supported.contains(&lang.as_str()) {
            scored.push((ok, found.map_or(-1.0, |(_, s)| s)));
        }
    }

    println!("Corpus: {path}; {} documents (group {group}), prefix_bytes {prefix}.\n", docs.len());
    println!(
        "| lang | docs | whatlang | accuracy | kept at min_score {min_score} | top confusions |"
    );
    println!("|---|---:|:---:|---:|---:|---|");
    for (lang, r) in &rows {
        let sup = supported.contains(lang);
        let mut conf: Vec<(&String, &usize)> = r.confusions.iter().collect();
        conf.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let conf: Vec<String> = conf.iter().take(3).map(|(l, n)| format!("{l} {n}")).collect();
        println!(
            "| {lang} | {} | {} | {:.1} % | {:.1} % | {} |",
            r.n,
            if sup { "yes" } else { "no" },
            100.0 * r.correct as f64 / r.n as f64,
            100.0 * r.kept as f64 / r.n as f64,
            conf.join(", ")
        );
    }
    // Documents in languages whatlang lacks get a supported label; how many pass min_score?
    let (mut unsup, mut unsup_passing) = (0, 0);
    for ((lang, _), found) in docs.iter().zip(&results) {
        if !supported.contains(&lang.as_str()) {
            unsup += 1;
            unsup_passing += usize::from(found.is_some_and(|(_, s)| s >= min_score));
        }
    }
    let n_sup = rows.keys().filter(|l| supported.contains(l)).count();
    let correct = scored.iter().filter(|s| s.0).count();
    println!(
        "\nLanguages in the corpus: {}; supported by whatlang: {n_sup}. Overall accuracy on \
         supported languages: {:.2} % ({correct} of {}).\n",
        rows.len(),
        100.0 * correct as f64 / scored.len() as f64,
        scored.len()
    );

    println!(
        "Documents in unsupported languages labelled with a score >= {min_score}: {:.1} % \
         ({unsup_passing} of {unsup}).\n",
        100.0 * unsup_passing as f64 / unsup.max(1) as f64
    );
    println!("| min_score | kept | accuracy of kept | correct and kept |");
    println!("|---:|---:|---:|---:|");
    for t in [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0] {
        let kept: Vec<&(bool, f64)> = scored.iter().filter(|s| s.1 >= t).collect();
        let ok = kept.iter().filter(|s| s.0).count();
        println!(
            "| {t:.1} | {:.1} % | {:.2} % | {:.1} % |",
            100.0 * kept.len() as f64 / scored.len() as f64,
            100.0 * ok as f64 / kept.len().max(1) as f64,
            100.0 * ok as f64 / scored.len() as f64
        );
    }
    println!(
        "\nThroughput (one thread, {} build): {:.2} MB/s, {:.0} documents/s ({:.1} MB in \
         {secs:.2} s).",
        if cfg!(debug_assertions) { "DEBUG" } else { "release" },
        bytes as f64 / 1e6 / secs,
        docs.len() as f64 / secs,
        bytes as f64 / 1e6
    );
}
