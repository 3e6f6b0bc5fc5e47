//! `pii_redact`: a `sluice run` over the C4 sample plus planted documents (exact output,
//! per-type counts in stats.json, nothing left for a second pass to find), and the detectors'
//! precision and recall on the labelled set `tests/data/pii/eval.jsonl`, which must not fall
//! below the numbers `docs/pii.md` reports.

use std::collections::BTreeMap;

use sluice::text::pii::{Detector, PiiKind};

use crate::util::{json, ok, pipeline, read_split, shared, sluice_in, strings, tempdir, write};

const PLANTED: &[(&str, &str)] = &[
    ("p1", "Write to jane.roe@example.org or call +44 20 7946 0958; the NAS is at 192.168.1.20."),
    (
        "p2",
        "Card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, host 2001:db8::ff00:42:8329.",
    ),
    (
        "p3",
        "Version 1.2.3.4.5 released at 12:30:45 on 2019-04-23 for $1,299.99 (ISBN 978-0-300-07223-5).",
    ),
];

#[test]
fn pii_redact_through_sluice_run_counts_per_type_and_leaves_nothing_behind() {
    let dir = tempdir();
    let d = dir.path();
    let rows: String = PLANTED
        .iter()
        .map(|(id, t)| serde_json::json!({"id": id, "text": t}).to_string() + "\n")
        .collect();
    write(&d.join("planted.jsonl"), rows.as_bytes());
    let c4 = shared("corpora/web_c4_en_sample.jsonl.zst");
    let p = pipeline(
        d,
        "p.yaml",
        &format!(
            r#"name: pii
sources:
  - {{ name: planted, paths: ["planted.jsonl"] }}
  - {{ name: c4, paths: ["{}"] }}
stages:
  - {{ id: pii, type: pii_redact }}
output: {{ dir: out }}
"#,
            c4.display()
        ),
    );
    ok(&sluice_in(d, &["run", p.to_str().unwrap(), "--quiet"]));
    let batches = read_split(&d.join("out"), "train");
    let ids: Vec<String> = batches.iter().flat_map(|b| strings(b, "id")).collect();
    let texts: Vec<String> = batches.iter().flat_map(|b| strings(b, "text")).collect();
    assert_eq!(ids.len(), 1010 + PLANTED.len());
    let by_id: BTreeMap<&str, &str> =
        ids.iter().map(String::as_str).zip(texts.iter().map(String::as_str)).collect();
    assert_eq!(by_id["p1"], "Write to <EMAIL> or call <PHONE>; the NAS is at <IPV4>.");
    assert_eq!(by_id["p2"], "Card <CREDIT_CARD>, IBAN <IBAN>, host <IPV6>.");
    assert_eq!(by_id["p3"], PLANTED[2].1);

    // The counts in stats.json are the matches the stage replaced: the placeholders in the
    // output, type by type (the C4 documents have e-mails and phones of their own).
    let stats = json(&d.join("out/stats.json"));
    let changes = &stats["stages"][0]["changes"];
    let all = Detector::new(&PiiKind::ALL);
    for k in PiiKind::ALL {
        let placed: usize = texts.iter().map(|t| t.matches(k.placeholder()).count()).sum();
        assert_eq!(changes[k.name()].as_u64().unwrap_or(0), placed as u64, "{}", k.name());
    }
    for k in ["email", "phone", "ipv4"] {
        assert!(changes[k].as_u64().unwrap() >= 2, "{k}: {changes}");
    }
    // Redacted text has nothing left to find.
    for t in &texts {
        assert!(all.find(t).is_empty(), "{t}");
    }
}

/// The floors `docs/pii.md` reports (precision, recall), exact-span matching.
const FLOORS: &[(PiiKind, f64, f64)] = &[
    (PiiKind::Email, 1.0, 1.0),
    (PiiKind::Ipv4, 0.953, 1.0),
    (PiiKind::Ipv6, 1.0, 1.0),
    (PiiKind::Phone, 1.0, 0.866),
    (PiiKind::CreditCard, 1.0, 1.0),
    (PiiKind::Iban, 1.0, 1.0),
];

#[test]
fn pii_precision_and_recall_stay_at_the_reported_numbers() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pii/eval.jsonl"))
            .unwrap();
    let det = Detector::new(&PiiKind::ALL);
    let mut c: BTreeMap<PiiKind, (usize, usize, usize)> = BTreeMap::new();
    let mut negatives = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let t = v["text"].as_str().unwrap();
        let gold: Vec<(PiiKind, usize, usize)> = v["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let k = PiiKind::from_name(s["type"].as_str().unwrap()).unwrap();
                let (a, b) =
                    (s["start"].as_u64().unwrap() as usize, s["end"].as_u64().unwrap() as usize);
                assert!(t.is_char_boundary(a) && t.is_char_boundary(b) && a < b, "{t}");
                (k, a, b)
            })
            .collect();
        negatives += usize::from(gold.is_empty());
        let got: Vec<(PiiKind, usize, usize)> =
            det.find(t).into_iter().map(|m| (m.kind, m.range.start, m.range.end)).collect();
        for g in &got {
            let e = c.entry(g.0).or_default();
            if gold.contains(g) { e.0 += 1 } else { e.1 += 1 }
        }
        for g in gold.iter().filter(|g| !got.contains(g)) {
            c.entry(g.0).or_default().2 += 1;
        }
    }
    assert!(negatives >= 150, "{negatives}");
    for &(k, min_p, min_r) in FLOORS {
        let (tp, fp, fn_) = c.get(&k).copied().unwrap_or_default();
        assert!(tp + fn_ >= 38, "{}: only {} labelled", k.name(), tp + fn_);
        let p = tp as f64 / (tp + fp).max(1) as f64;
        let r = tp as f64 / (tp + fn_).max(1) as f64;
        assert!(p >= min_p && r >= min_r, "{}: precision {p:.3}, recall {r:.3}", k.name());
    }
}
