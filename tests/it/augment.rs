//! `augment` through the binary on the real SMS spam corpus: every document stays, each spam
//! message gets exactly `copies` augmented copies that name their origin, copies share their
//! origin's split, protected spans survive, and the output is byte-identical at 1 and 2
//! threads.

use std::collections::HashMap;
use std::path::Path;

use arrow::array::{Array, UInt32Array};

use crate::util::*;

const COPIES: u32 = 2;

fn write_pipeline(d: &Path) -> String {
    write(
        &d.join("syn.tsv"),
        b"# word\tsynonyms\nfree\tcomplimentary\tgratis\nwin\tgain\nprize\taward\treward\n\
          call\tring\tphone\ntxt\ttext\nurgent\tpressing\n",
    );
    let p = pipeline(
        d,
        "p.yaml",
        &format!(
            r#"name: augment
seed: 11
sources:
  - {{ name: sms, paths: ["{corpus}"] }}
stages:
  - id: aug
    type: augment
    when: "meta.label = 'spam'"
    copies: {COPIES}
    protect: '\d{{5,}}'
    synonyms: syn.tsv
    synonym: 0.3
    word_swap: 0.1
    word_delete: 0.05
    word_insert: 0.05
    sentence_shuffle: 0.3
    char_noise: {{ keyboard: 0.02, drop: 0.01, swap: 0.01, duplicate: 0.01 }}
output: {{ dir: out, validation_fraction: 0.2 }}
"#,
            corpus = shared("corpora/sms_spam_collection.jsonl.zst").display()
        ),
    );
    p.to_str().unwrap().to_string()
}

/// One output row: (split, id, origin_id, copy_index, text, augmented_from, augment_ops).
type Row = (&'static str, String, String, u32, String, String, String);

fn rows(out: &Path) -> Vec<Row> {
    let mut all = Vec::new();
    for split in ["train", "validation"] {
        for b in read_split(out, split) {
            let copy = b.column_by_name("copy_index").unwrap();
            let copy = copy.as_any().downcast_ref::<UInt32Array>().unwrap();
            let [ids, origins, texts, from, ops] =
                ["id", "origin_id", "text", "augmented_from", "augment_ops"]
                    .map(|c| strings(&b, c));
            let rows = ids.into_iter().zip(origins).zip(texts).zip(from).zip(ops);
            for (i, ((((id, origin), text), from), ops)) in rows.enumerate() {
                all.push((split, id, origin, copy.value(i), text, from, ops));
            }
        }
    }
    all
}

#[test]
fn augment_copies_selected_documents_deterministically_and_keeps_splits() {
    let dir = tempdir();
    let d = dir.path();
    let p = write_pipeline(d);
    ok(&sluice_in(d, &["run", &p, "--quiet", "-j", "1", "--out", "one"]));
    ok(&sluice_in(d, &["run", &p, "--quiet", "-j", "2", "--window", "3", "--out", "two"]));

    // byte-identical output at 1 and 2 threads (stats.json holds timings)
    let strip =
        |t: Vec<(String, Vec<u8>)>| t.into_iter().filter(|(n, _)| n != "stats.json").collect();
    let (one, two): (Vec<_>, Vec<_>) = (strip(tree(&d.join("one"))), strip(tree(&d.join("two"))));
    assert_eq!(one.len(), two.len());
    for ((n, a), (m, b)) in one.iter().zip(&two) {
        assert_eq!(n, m);
        assert!(a == b, "{n} differs between 1 and 2 threads");
    }

    let docs: HashMap<String, (String, bool)> = corpus_lines("sms_spam_collection.jsonl.zst")
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let spam = v["meta"]["label"] == "spam";
            (v["id"].as_str().unwrap().to_string(), (v["text"].as_str().unwrap().into(), spam))
        })
        .collect();
    let spam = docs.values().filter(|(_, s)| *s).count();
    assert!(spam > 700, "the corpus has its 747 spam messages ({spam})");

    let out = rows(&d.join("one"));
    assert_eq!(out.len(), docs.len() + COPIES as usize * spam, "originals + copies of spam");
    let stats = json(&d.join("one/stats.json"));
    assert_eq!(stats["stages"][0]["docs_out"], out.len());

    let protect = regex::Regex::new(r"\d{5,}").unwrap();
    let mut split_of: HashMap<&str, &str> = HashMap::new();
    let mut copies_of: HashMap<&str, Vec<u32>> = HashMap::new();
    let (mut changed, mut copies) = (0, 0);
    let mut ops_seen: HashMap<String, u32> = HashMap::new();
    for (split, id, origin, copy, text, from, ops) in &out {
        let prev = split_of.insert(origin, split);
        assert!(prev.is_none() || prev == Some(split), "{origin} is in both splits");
        let (orig_text, is_spam) = &docs[origin];
        if *copy == 0 {
            assert_eq!(
                (id, text, from, ops),
                (origin, orig_text, &"<null>".into(), &"<null>".into())
            );
            continue;
        }
        assert!(is_spam, "{id}: only spam is augmented");
        assert_eq!((id, from), (&format!("{origin}#{copy}"), origin));
        copies_of.entry(origin).or_default().push(*copy);
        copies += 1;
        changed += usize::from(text != orig_text);
        assert!(!text.trim().is_empty());
        for m in protect.find_iter(orig_text) {
            assert!(
                text.contains(m.as_str()),
                "{id} lost the protected {:?}: {text:?}",
                m.as_str()
            );
        }
        for op in ops.split(',').filter(|o| !o.is_empty()) {
            let (name, n) = op.split_once(':').unwrap();
            *ops_seen.entry(name.to_string()).or_default() += n.parse::<u32>().unwrap();
        }
    }
    assert_eq!(copies_of.len(), spam);
    assert!(copies_of.values().all(|c| c == &[1, 2]), "every spam message has copies 1 and 2");
    assert!(changed as f64 > 0.9 * copies as f64, "{changed} of {copies} copies changed");
    for op in ["sentence_shuffle", "synonym", "word_swap", "word_delete", "word_insert"] {
        assert!(ops_seen.get(op).is_some_and(|&n| n > 0), "{op} never ran: {ops_seen:?}");
    }
    for op in ["char_swap", "char_drop", "char_duplicate", "char_keyboard"] {
        assert!(ops_seen.get(op).is_some_and(|&n| n > 0), "{op} never ran: {ops_seen:?}");
    }
    let validation = split_of.values().filter(|s| **s == "validation").count();
    assert!((700..1500).contains(&validation), "about 20% of documents in validation");
}

#[test]
fn augment_config_errors_name_the_problem() {
    let dir = tempdir();
    let d = dir.path();
    write(&d.join("a.jsonl"), b"{\"id\": \"a\", \"text\": \"hello world\"}\n");
    write(&d.join("bad.tsv"), b"ok\tfine\nlonely\n");
    for (stage, want) in [
        ("{ id: aug, type: augment, synonym: 0.2 }", "synonym needs a `synonyms` file"),
        ("{ id: aug, type: augment, copies: 20, word_swap: 0.1 }", "copies must be between"),
        ("{ id: aug, type: augment, synonym: 0.2, synonyms: bad.tsv }", "bad.tsv:2:"),
        ("{ id: aug, type: augment, word_swap: 0.1, protect: '(' }", "protect: invalid regex"),
    ] {
        let p = pipeline(
            d,
            "p.yaml",
            &format!(
                "name: e\nsources:\n  - {{ name: a, paths: [a.jsonl] }}\nstages:\n  - {stage}\n\
                 output: {{ dir: out }}\n"
            ),
        );
        let o = sluice_in(d, &["validate", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{stage}: {}", stderr(&o));
        assert!(format!("{}{}", stdout(&o), stderr(&o)).contains(want), "{stage}: {}", stderr(&o));
    }
}
