//! Agreement with the reference (datatrove 0.10.1): the four named filters of
//! `pipelines/fineweb-en.yaml`, run by sluice over every corpus that has golden decisions,
//! must keep or drop each document as the reference did, for the same reason, and keep the
//! same final text (sha256 after C4's rewrite).

use std::collections::HashMap;
use std::io::BufRead;

use sha2::{Digest, Sha256};

use crate::util::*;

const CORPORA: &[&str] = &[
    "web_dolma_ccmain2019_sample",
    "web_dolma_ccnet_head",
    "web_c4_en_sample",
    "web_nltk_webtext",
    "sms_spam_collection",
    "encyclopedic_wikitext2_valid_test",
    "news_speeches_reviews_nltk",
    "multilingual_opensubtitles_en_ru_zh",
    "books_gutenberg_top100",
];

fn filter_name(stage: &str) -> &'static str {
    match stage {
        "gopher_repetition" => "GopherRepetitionFilter",
        "gopher_quality" => "GopherQualityFilter",
        "c4_quality" => "C4QualityFilter",
        "fineweb_quality" => "FineWebQualityFilter",
        other => panic!("unexpected stage {other}"),
    }
}

/// (id → (kept, dropped_by, reason, out_sha256)) as sluice decided.
fn run_sluice(corpus: &str) -> HashMap<String, (bool, String, String, String)> {
    let dir = tempdir();
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/fineweb-en.yaml"))
            .unwrap();
    let mut cfg: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    cfg["sources"][0]["paths"] =
        serde_json::json!([shared(&format!("corpora/{corpus}.jsonl.zst"))]);
    cfg["output"]["dir"] = serde_json::json!(dir.path().join("out"));
    let p = pipeline(dir.path(), "p.yaml", &cfg.to_string());
    ok(&sluice_in(dir.path(), &["run", p.to_str().unwrap(), "--quiet"]));
    let out = dir.path().join("out");
    let mut got = HashMap::new();
    for b in read_split(&out, "train") {
        for (id, text) in strings(&b, "id").into_iter().zip(strings(&b, "text")) {
            let sha: String =
                Sha256::digest(text.as_bytes()).iter().map(|x| format!("{x:02x}")).collect();
            got.insert(id, (true, String::new(), String::new(), sha));
        }
    }
    let f = std::fs::File::open(out.join("dropped/dropped.parquet")).unwrap();
    for b in parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
    {
        let b = b.unwrap();
        for ((id, stage), reason) in
            strings(&b, "doc_id").into_iter().zip(strings(&b, "stage")).zip(strings(&b, "reason"))
        {
            got.insert(id, (false, filter_name(&stage).to_string(), reason, String::new()));
        }
    }
    got
}

#[test]
fn named_filters_agree_with_datatrove_on_every_document() {
    let mut table = String::from(
        "corpus                                docs  agree  kept(ref)  kept(sluice)\n",
    );
    let mut failures = Vec::new();
    for corpus in CORPORA {
        let got = run_sluice(corpus);
        let f = std::fs::File::open(shared(&format!(
            "golden/datatrove-0.10.1/{corpus}.decisions.jsonl.zst"
        )))
        .unwrap();
        let (mut docs, mut agree, mut kept_ref, mut kept_got) = (0, 0, 0, 0);
        for line in std::io::BufReader::new(zstd::Decoder::new(f).unwrap()).lines() {
            let g: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            if g["dropped_by"] == "JsonlReader" {
                continue;
            }
            docs += 1;
            let id = g["id"].as_str().unwrap();
            let want_kept = g["kept"].as_bool().unwrap();
            kept_ref += usize::from(want_kept);
            let Some((kept, by, reason, sha)) = got.get(id) else {
                failures.push(format!("{corpus}/{id}: missing from sluice's output"));
                continue;
            };
            kept_got += usize::from(*kept);
            let same = if want_kept {
                *kept && sha == g["out_sha256"].as_str().unwrap()
            } else {
                !kept
                    && by == g["dropped_by"].as_str().unwrap()
                    && reason == g["reason"].as_str().unwrap()
            };
            if same {
                agree += 1;
            } else {
                failures.push(format!(
                    "{corpus}/{id}: reference {}:{} / sluice {}:{}",
                    g["dropped_by"],
                    g["reason"],
                    if *kept { "kept" } else { by },
                    reason
                ));
            }
        }
        table.push_str(&format!(
            "{corpus:<36} {docs:>6} {:>6.2}% {kept_ref:>10} {kept_got:>13}\n",
            100.0 * agree as f64 / docs as f64
        ));
    }
    eprintln!("{table}");
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}
