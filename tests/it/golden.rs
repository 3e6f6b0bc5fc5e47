//! Golden pipeline cases: `tests/golden/<case>/{pipeline.yaml, input.jsonl}` run as
//! curation-only pipelines; the output rows (as JSON lines) must equal `expected.jsonl` and
//! the per-stage reasons `expected_reasons.json`, at 1 and 4 threads.
//! `UPDATE_GOLDEN=1 cargo test --release golden` rewrites the expected files (review the diff).

use std::path::Path;

use crate::util::*;

fn rows_as_json(out: &Path) -> String {
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
        for b in read_split(out, "train") {
            w.write(&b).unwrap();
        }
        w.finish().unwrap();
    }
    String::from_utf8(buf).unwrap()
}

fn reasons(out: &Path) -> String {
    let stats = json(&out.join("stats.json"));
    let mut m = serde_json::Map::new();
    for s in stats["stages"].as_array().unwrap() {
        m.insert(s["id"].as_str().unwrap().to_string(), s["reasons"].clone());
    }
    serde_json::to_string_pretty(&m).unwrap() + "\n"
}

#[test]
fn golden_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("pipeline.yaml").exists())
        .collect();
    cases.sort();
    assert!(cases.len() >= 4);
    let update = std::env::var("UPDATE_GOLDEN").is_ok();
    for case in cases {
        let tmp = tempdir();
        let mut outputs = Vec::new();
        for threads in ["1", "4"] {
            let out = tmp.path().join(threads);
            ok(&sluice_in(
                &case,
                &[
                    "run",
                    "pipeline.yaml",
                    "--quiet",
                    "--threads",
                    threads,
                    "--out",
                    out.to_str().unwrap(),
                ],
            ));
            outputs.push((rows_as_json(&out), reasons(&out)));
        }
        assert_eq!(
            outputs[0],
            outputs[1],
            "{}: output depends on the thread count",
            case.display()
        );
        let (rows, why) = &outputs[0];
        if update {
            std::fs::write(case.join("expected.jsonl"), rows).unwrap();
            std::fs::write(case.join("expected_reasons.json"), why).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(case.join("expected.jsonl")).unwrap();
        assert_eq!(rows, &want, "{}: rows differ (UPDATE_GOLDEN=1 to accept)", case.display());
        let want = std::fs::read_to_string(case.join("expected_reasons.json")).unwrap();
        assert_eq!(why, &want, "{}: reasons differ", case.display());
    }
}
