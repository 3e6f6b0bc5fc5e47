//! The id gate: for every shared tokenizer the fast path serves, over every shared corpus plus an
//! adversarial corpus, sluice's ids equal the Python `tokenizers` binding's for 100% of
//! documents. `tests/python/reference_ids.py` produces the reference (and the adversarial
//! corpus); `tests/python/onig_classes.py --check` proves the pretokenizer's character tables
//! are the ones Oniguruma uses. `.ci/run` installs the pinned package; elsewhere a missing
//! package skips with a printed reason.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use rayon::prelude::*;
use sha2::{Digest, Sha256};
use sluice::tokenize::{Encoder, EngineChoice, Want};

use crate::util::*;

const SERVED: &[(&str, &str)] = &[
    ("gpt2", "tokenizers/gpt2/tokenizer.json"),
    ("llama3", "tokenizers/llama3/tokenizer.json.zst"),
];
const NOT_SERVED: &[&str] = &[
    "tokenizers/gpt-neox-20b_olmo_dolma-test/tokenizer.json",
    "tokenizers/llama2_dolma-test/tokenizer.json",
    "tokenizers/mistral-7b-v0.1/tokenizer.json",
    "tokenizers/bert-base-uncased_all-MiniLM-L6-v2/tokenizer.json",
    "tokenizers/rut5-base_unigram/tokenizer.json.zst",
];

/// What a missing package needs.
const INSTALL: &str = "pip install tokenizers==0.23.3 to run the id gate";

fn sha(ids: &[u32]) -> String {
    let bytes: Vec<u8> = ids.iter().flat_map(|i| i.to_le_bytes()).collect();
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn docs(path: &Path) -> Vec<(String, String)> {
    let f = std::fs::File::open(path).unwrap();
    let r: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "zst") {
        Box::new(std::io::BufReader::new(zstd::Decoder::new(f).unwrap()))
    } else {
        Box::new(std::io::BufReader::new(f))
    };
    r.lines()
        .map(|l| l.unwrap())
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(&l).unwrap();
            (v["id"].as_str().unwrap().to_string(), v["text"].as_str().unwrap_or("").to_string())
        })
        .collect()
}

fn encoder(rel: &str, want: Want) -> Encoder {
    let (tok, _) = sluice::stage::tokenize::load_tokenizer(shared(rel).to_str().unwrap()).unwrap();
    Encoder::new(tok, want).unwrap()
}

#[test]
fn fast_path_ids_equal_the_python_reference_on_every_corpus() {
    if python(&[&python_script("onig_classes.py"), "--check"], &[], INSTALL).is_none() {
        return;
    }
    let tmp = tempdir();
    // SLUICE_REFIDS=DIR reuses a reference made earlier by reference_ids.py (a faster edit loop).
    let reuse = std::env::var_os("SLUICE_REFIDS").map(std::path::PathBuf::from);
    let dir = reuse.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let mut corpora: Vec<String> = std::fs::read_dir(shared("corpora"))
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".jsonl.zst"))
        .collect();
    corpora.sort();
    let mut args = vec![python_script("reference_ids.py"), dir.to_string_lossy().into_owned()];
    for (name, rel) in SERVED {
        args.push(format!("{name}={}", shared(rel).display()));
    }
    args.push("--".into());
    args.extend(corpora.iter().cloned());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    if reuse.is_none() && python(&refs, &[], INSTALL).is_none() {
        return;
    }
    let mut sets = vec![("adversarial".to_string(), docs(&dir.join("adversarial.jsonl")))];
    for c in &corpora {
        let name = Path::new(c).file_name().unwrap().to_string_lossy();
        sets.push((name.split('.').next().unwrap().to_string(), docs(Path::new(c))));
    }
    let mut failures = Vec::new();
    for (name, rel) in SERVED {
        let enc = encoder(rel, Want::Auto);
        assert!(matches!(enc.choice(), EngineChoice::Fast(_)), "{name}: {:?}", enc.choice());
        for (corpus, docs) in &sets {
            let want: HashMap<String, (u64, String)> =
                std::fs::read_to_string(dir.join(name).join(format!("{corpus}.jsonl")))
                    .unwrap()
                    .lines()
                    .map(|l| {
                        let v: serde_json::Value = serde_json::from_str(l).unwrap();
                        let id = v["id"].as_str().unwrap().to_string();
                        (id, (v["n"].as_u64().unwrap(), v["sha256"].as_str().unwrap().into()))
                    })
                    .collect();
            assert_eq!(want.len(), docs.len(), "{name}/{corpus}: reference is incomplete");
            let bad: Vec<String> = docs
                .par_iter()
                .filter_map(|(id, text)| {
                    let mut ids = Vec::new();
                    enc.encode_into(text, &mut ids).unwrap();
                    let (n, h) = &want[id];
                    (ids.len() as u64 != *n || sha(&ids) != *h).then(|| id.clone())
                })
                .collect();
            eprintln!("{name} {corpus}: {} docs, {} differ", docs.len(), bad.len());
            if !bad.is_empty() {
                failures.push(format!(
                    "{name}/{corpus}: {} differ, e.g. {:?}",
                    bad.len(),
                    &bad[..bad.len().min(5)]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "ids differ from tokenizers 0.23.3:\n{}", failures.join("\n"));
}

#[test]
fn tokenizers_the_fast_path_cannot_guarantee_use_the_reference() {
    for rel in NOT_SERVED {
        let enc = encoder(rel, Want::Auto);
        assert!(matches!(enc.choice(), EngineChoice::Reference(_)), "{rel}: {:?}", enc.choice());
    }
    let enc = encoder(SERVED[0].1, Want::Reference);
    assert!(matches!(enc.choice(), EngineChoice::Reference(_)));
}

#[test]
fn fast_and_reference_engines_agree_on_the_golden_corpus() {
    // Without Python: both engines inside sluice give the same ids on the golden C4 sample.
    let texts = docs(&shared("corpora/web_c4_en_sample.jsonl.zst"));
    for (_, rel) in SERVED {
        let (fast, reference) = (encoder(rel, Want::Auto), encoder(rel, Want::Reference));
        for (_, t) in &texts {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            fast.encode_into(t, &mut a).unwrap();
            reference.encode_into(t, &mut b).unwrap();
            assert_eq!(a, b, "{rel}: {t:.80}");
        }
    }
}
