//! MinHash signatures against datatrove 0.10.1 itself: for every document of five shared
//! corpora (web, SMS, multilingual), sluice's `simplify_text`, word tokens and 112-value
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
fn signatures_equal_datatroves_on_five_corpora() {
    let signer = Signer::new(SignatureConfig::default());
    let words = EnTokenizer::new();
    for name in [
        "web_c4_en_sample",
        "web_dolma_ccmain2019_sample",
        "sms_spam_collection",
        "multilingual_udhr2_unicode",
        "multilingual_opensubtitles_en_ru_zh",
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
