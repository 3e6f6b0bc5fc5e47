//! Precision and recall of `pii_redact`'s detectors on the labelled set
//! `tests/data/pii/eval.jsonl` (one `{"text", "spans": [{"type", "start", "end"}], "source"}`
//! per line; offsets are UTF-8 byte offsets), and the stage's single-thread throughput on
//! `../shared/data/corpora/web_c4_en_sample.jsonl.zst`. Prints Markdown.
//!
//! `cargo run --release --example pii_eval -- [EVAL.jsonl] [--errors]`
//! `cargo run --release --example pii_eval -- --matches CORPUS.jsonl.zst` lists every match in
//! a corpus with its context (to judge precision on text nobody labelled).
//!
//! A detected span counts as a true positive only when its type, start and end all equal a
//! labelled span's; a span with the right type and other bounds is one false positive and one
//! false negative. `--errors` lists every false positive and false negative.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use sluice::stage::registry::StageConfig;
use sluice::stage::{BatchContext, BuildContext, BuiltStage};
use sluice::text::pii::{Detector, PiiKind};

const C4: &str = "../shared/data/corpora/web_c4_en_sample.jsonl.zst";

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let errors = args.iter().any(|a| a == "--errors");
    if let Some(i) = args.iter().position(|a| a == "--matches") {
        return matches(&args[i + 1]);
    }
    let path = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "tests/data/pii/eval.jsonl".into());
    let det = Detector::new(&PiiKind::ALL);
    // All examples, and the real-text ones alone (the planted ones were written by the
    // detectors' author).
    let mut counts: BTreeMap<PiiKind, Counts> = BTreeMap::new();
    let mut real: BTreeMap<PiiKind, Counts> = BTreeMap::new();
    let (mut docs, mut negatives) = (0, 0);
    let f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for line in std::io::BufReader::new(f).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        let text = v["text"].as_str().unwrap();
        let is_real = v["source"].as_str() != Some("planted");
        let gold: Vec<(PiiKind, usize, usize)> = v["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let k = PiiKind::from_name(s["type"].as_str().unwrap()).expect("known type");
                (k, s["start"].as_u64().unwrap() as usize, s["end"].as_u64().unwrap() as usize)
            })
            .collect();
        docs += 1;
        negatives += usize::from(gold.is_empty());
        let got: Vec<(PiiKind, usize, usize)> =
            det.find(text).into_iter().map(|m| (m.kind, m.range.start, m.range.end)).collect();
        for g in &got {
            let hit = gold.contains(g);
            for (m, on) in [(&mut counts, true), (&mut real, is_real)] {
                if on {
                    let c = m.entry(g.0).or_default();
                    if hit { c.tp += 1 } else { c.fp += 1 }
                }
            }
            if !hit && errors {
                println!("FP {:<11} {:?} in {text:?}", g.0.name(), &text[g.1..g.2]);
            }
        }
        for g in gold.iter().filter(|g| !got.contains(g)) {
            counts.entry(g.0).or_default().fn_ += 1;
            if is_real {
                real.entry(g.0).or_default().fn_ += 1;
            }
            if errors {
                println!("FN {:<11} {:?} in {text:?}", g.0.name(), &text[g.1..g.2]);
            }
        }
    }
    println!("{docs} examples ({negatives} without any PII), exact-span matching\n");
    table(&counts);
    println!("\nreal text only (no planted examples):\n");
    table(&real);
    throughput();
}

fn table(counts: &BTreeMap<PiiKind, Counts>) {
    println!("| type | labelled | TP | FP | FN | precision | recall |");
    println!("|---|---|---|---|---|---|---|");
    for k in PiiKind::ALL {
        let c = counts.get(&k).copied().unwrap_or_default();
        if c.tp + c.fp + c.fn_ == 0 {
            println!("| `{}` | 0 | – | – | – | – | – |", k.name());
            continue;
        }
        let p = c.tp as f64 / (c.tp + c.fp).max(1) as f64;
        let r = c.tp as f64 / (c.tp + c.fn_).max(1) as f64;
        println!(
            "| `{}` | {} | {} | {} | {} | {:.3} | {:.3} |",
            k.name(),
            c.tp + c.fn_,
            c.tp,
            c.fp,
            c.fn_,
            p,
            r
        );
    }
}

/// Every match in a corpus, with 40 bytes of context on each side.
fn matches(path: &str) {
    let det = Detector::new(&PiiKind::ALL);
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for line in std::io::BufReader::new(zstd::Decoder::new(f).unwrap()).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        let t = v["text"].as_str().unwrap_or("");
        for m in det.find(t) {
            let mut a = m.range.start.saturating_sub(40);
            while !t.is_char_boundary(a) {
                a -= 1;
            }
            let mut b = (m.range.end + 40).min(t.len());
            while !t.is_char_boundary(b) {
                b += 1;
            }
            println!(
                "{:<11} {:?} | {:?}",
                m.kind.name(),
                &t[m.range.clone()],
                t[a..b].replace('\n', " ")
            );
        }
    }
}

/// The stage (all types, typed placeholders) over every C4 document, one thread.
fn throughput() {
    let Ok(f) = std::fs::File::open(C4) else {
        println!("\n(throughput skipped: {C4} not found)");
        return;
    };
    let texts: Vec<String> = std::io::BufReader::new(zstd::Decoder::new(f).unwrap())
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(&l.unwrap()).unwrap();
            v["text"].as_str().unwrap_or("").to_string()
        })
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let schema = Arc::new(Schema::new(vec![Field::new("text", DataType::Utf8, false)]));
    let batches: Vec<RecordBatch> = texts
        .chunks(256)
        .map(|c| {
            let a: StringArray = c.iter().map(|t| Some(t.as_str())).collect();
            RecordBatch::try_new(schema.clone(), vec![Arc::new(a)]).unwrap()
        })
        .collect();
    let cfg: StageConfig = serde_saphyr::from_str("type: pii_redact").unwrap();
    let (stage, _) = cfg
        .build(&BuildContext {
            stage_id: "pii",
            input_schema: schema,
            seed: 0,
            sources: Vec::new(),
            token_count: None,
        })
        .unwrap();
    let BuiltStage::Transform(t) = stage else { panic!("pii_redact is a transform") };
    let ctx = BatchContext { seq: 0, seed: 0, counting: false };
    let mut changes = BTreeMap::new();
    let rounds = 5;
    let start = Instant::now();
    for _ in 0..rounds {
        for b in &batches {
            t.apply_counted(b.clone(), &ctx, &mut changes).unwrap();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let per_round: BTreeMap<&String, u64> =
        changes.iter().map(|(k, v)| (k, v / rounds as u64)).collect();
    println!(
        "\nthroughput on web_c4_en_sample ({} docs, {:.2} MB), one thread: {:.0} MB/s; matches: {:?}",
        texts.len(),
        bytes as f64 / 1e6,
        bytes as f64 * rounds as f64 / secs / 1e6,
        per_round
    );
}
