//! `normalize` against the Unicode 15.0 normalization conformance file
//! (`../shared/data/unicode/unicode_15.0_ucd_tests/NormalizationTest.txt.zst`): every line of
//! every part, for all four forms, through the stage as a pipeline builds it, plus Part 1's
//! rule that every code point the file does not list is left unchanged by each form.
//!
//! `unicode-normalization` 0.1.26 implements Unicode 18.0.0. Decompositions of assigned
//! characters never change (Unicode's stability policy), so the only code points where 18.0
//! and the 15.0 file can disagree are those assigned after 15.0 with a decomposition: 15.0's
//! Part 1 rule says "unchanged" for them, 18.0 decomposes them. They are listed in
//! [`ASSIGNED_AFTER_15`], and the test checks that exactly these differ.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use sluice::stage::registry::StageConfig;
use sluice::stage::{BatchContext, BuildContext, BuiltStage};

use crate::util::shared;

/// One test line: its number in the file and its five columns.
struct Case {
    line: usize,
    c: [String; 5],
}

fn cases() -> (Vec<Case>, HashSet<u32>) {
    let raw = std::fs::read(shared("unicode/unicode_15.0_ucd_tests/NormalizationTest.txt.zst"))
        .expect("the Unicode conformance file");
    let text = String::from_utf8(zstd::decode_all(raw.as_slice()).unwrap()).unwrap();
    let (mut out, mut part1, mut part) = (Vec::new(), HashSet::new(), String::new());
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        if let Some(p) = line.strip_prefix('@') {
            part = p.trim().to_string();
            continue;
        }
        let cols: Vec<String> = line
            .split(';')
            .take(5)
            .map(|f| {
                f.split_whitespace()
                    .map(|h| char::from_u32(u32::from_str_radix(h, 16).unwrap()).unwrap())
                    .collect()
            })
            .collect();
        if part == "Part1" {
            part1.insert(cols[0].chars().next().unwrap() as u32);
        }
        out.push(Case { line: i + 1, c: cols.try_into().unwrap() });
    }
    (out, part1)
}

/// The `normalize` stage with `unicode: <form>`, applied to every string at once.
fn normalize(form: &str, texts: &[&str]) -> Vec<String> {
    let schema = Arc::new(Schema::new(vec![Field::new("text", DataType::Utf8, false)]));
    let cfg: StageConfig =
        serde_saphyr::from_str(&format!("type: normalize\nunicode: {form}")).unwrap();
    let (stage, _) = cfg
        .build(&BuildContext {
            stage_id: "norm",
            input_schema: schema.clone(),
            seed: 0,
            sources: Vec::new(),
            token_count: None,
        })
        .unwrap();
    let BuiltStage::Transform(t) = stage else { panic!("normalize is a transform") };
    let batch =
        RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(texts.to_vec()))]).unwrap();
    let ctx = BatchContext { seq: 0, seed: 0, counting: false };
    let out = t.apply(batch, &ctx).unwrap();
    let col = out.column(0).as_any().downcast_ref::<StringArray>().unwrap();
    (0..col.len()).map(|i| col.value(i).to_string()).collect()
}

/// Code points unassigned in Unicode 15.0 that later versions gave a decomposition: letters
/// with a canonical decomposition in scripts added since (Todhri U+105C0.., Tulu-Tigalari
/// U+11380.., Gurung Khema U+16100.., Kirat Rai U+16D40..) and compatibility characters such
/// as the outlined digits U+1CCD6..U+1CCF9. Found by this test; by the stability policy no
/// character assigned in 15.0 can be among them.
const ASSIGNED_AFTER_15: &[(u32, u32)] = &[
    (0x0558, 0x0558),
    (0x058B, 0x058C),
    (0x209D, 0x209F),
    (0xA7F1, 0xA7F1),
    (0x105C9, 0x105C9),
    (0x105E4, 0x105E4),
    (0x107BB, 0x107BF),
    (0x11383, 0x11383),
    (0x11385, 0x11385),
    (0x1138E, 0x1138E),
    (0x11391, 0x11391),
    (0x113C5, 0x113C5),
    (0x113C7, 0x113C8),
    (0x16121, 0x16128),
    (0x16D68, 0x16D6A),
    (0x1B123, 0x1B126),
    (0x1CCD6, 0x1CCF9),
    (0x1D6A6, 0x1D6A6),
    (0x1DF95, 0x1DF95),
    (0x1DFCD, 0x1DFFF),
];

fn hex(s: &str) -> String {
    s.chars().map(|c| format!("{:04X}", c as u32)).collect::<Vec<_>>().join(" ")
}

#[test]
fn normalize_passes_the_unicode_conformance_file_in_all_four_forms() {
    let (cases, part1) = cases();
    assert!(cases.len() > 19_000, "{} lines", cases.len());
    let inputs: Vec<&str> = cases.iter().flat_map(|c| c.c.iter().map(String::as_str)).collect();
    // per form: for each of the five columns, which column it must give (NormalizationTest.txt's
    // header: NFC c2 c2 c2 c4 c4, NFD c3 c3 c3 c5 c5, NFKC c4 ×5, NFKD c5 ×5)
    let forms = [
        ("nfc", [1, 1, 1, 3, 3]),
        ("nfd", [2, 2, 2, 4, 4]),
        ("nfkc", [3, 3, 3, 3, 3]),
        ("nfkd", [4, 4, 4, 4, 4]),
    ];
    let mut failures = Vec::new();
    for (form, want) in forms {
        let got = normalize(form, &inputs);
        for (k, case) in cases.iter().enumerate() {
            for col in 0..5 {
                let (g, w) = (&got[k * 5 + col], &case.c[want[col]]);
                if g != w {
                    failures.push(format!(
                        "line {} {form}(c{}) = [{}], expected [{}]",
                        case.line,
                        col + 1,
                        hex(g),
                        hex(w)
                    ));
                }
            }
        }
    }
    // Part 1: a code point the file does not list is unchanged by every form, except the ones
    // assigned after 15.0
    assert_eq!(unicode_normalization::UNICODE_VERSION, (18, 0, 0), "recheck ASSIGNED_AFTER_15");
    let later = |c: u32| ASSIGNED_AFTER_15.iter().any(|&(a, b)| (a..=b).contains(&c));
    let others: Vec<String> = (0..=0x10FFFFu32)
        .filter(|c| !part1.contains(c))
        .filter_map(char::from_u32)
        .map(String::from)
        .collect();
    let others: Vec<&str> = others.iter().map(String::as_str).collect();
    let mut changed_later = HashSet::new();
    for (form, _) in forms {
        for (x, y) in others.iter().zip(normalize(form, &others)) {
            let c = x.chars().next().unwrap() as u32;
            if *x != y && later(c) {
                changed_later.insert(c);
            } else if *x != y {
                failures.push(format!("{form}([{}]) = [{}], expected unchanged", hex(x), hex(&y)));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures, the first 20:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
    // every listed code point does change (the list is exact, not a blanket exception)
    let listed: usize = ASSIGNED_AFTER_15.iter().map(|&(a, b)| (b - a + 1) as usize).sum();
    assert_eq!(changed_later.len(), listed);
}
