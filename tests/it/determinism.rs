//! Same input, same pipeline, same seed: byte-identical shards and manifest whatever the
//! thread count or window size.

use crate::util::*;

#[test]
fn threads_1_and_4_give_identical_bytes() {
    let dir = tempdir();
    let p = pipeline(
        dir.path(),
        "p.yaml",
        &format!(
            r#"name: determinism
seed: 7
on_error: skip
sources:
  - {{ name: c4, paths: ["{c4}"] }}
  - {{ name: subs, paths: ["{subs}"] }}
  - {{ name: wiki, paths: ["{wiki}"] }}
stages:
  - {{ id: norm, type: normalize, unicode: nfkc, collapse_whitespace: true, strip_control: true }}
  - {{ id: len, type: length_filter, min_words: 20 }}
  - {{ id: sql, type: sql_filter, predicate: "length(text) < 20000", mode: annotate }}
  - {{ id: tok, type: tokenize, tokenizer: "{tok}" }}
output:
  dir: out
  validation_fraction: 0.1
  shard_tokens: 200000
  row_group_tokens: 30000
  write_dropped: true
  keep_columns: [sql_reason]
"#,
            c4 = shared("corpora/web_c4_en_sample.jsonl.zst").display(),
            subs = shared("corpora/multilingual_opensubtitles_en_ru_zh.jsonl.zst").display(),
            wiki = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("sample_data/wiki/*.parquet")
                .display(),
            tok = shared("tokenizers/gpt2/tokenizer.json").display(),
        ),
    );
    let p = p.to_str().unwrap();
    ok(&sluice_in(dir.path(), &["run", p, "--quiet", "--threads", "1", "--out", "one"]));
    ok(&sluice_in(
        dir.path(),
        &["run", p, "--quiet", "--threads", "4", "--out", "four", "--window", "3"],
    ));
    let strip = |t: Vec<(String, Vec<u8>)>| {
        t.into_iter().filter(|(n, _)| n != "stats.json").collect::<Vec<_>>()
    };
    let one = strip(tree(&dir.path().join("one")));
    let four = strip(tree(&dir.path().join("four")));
    let names: Vec<&String> = one.iter().map(|(n, _)| n).collect();
    assert!(
        names.iter().filter(|n| n.starts_with("train/")).count() >= 3,
        "expected several shards: {names:?}"
    );
    assert!(names.iter().any(|n| n.starts_with("validation/")), "{names:?}");
    assert_eq!(names, four.iter().map(|(n, _)| n).collect::<Vec<_>>());
    for ((n, a), (_, b)) in one.iter().zip(&four) {
        assert!(a == b, "{n} differs between --threads 1 and --threads 4");
    }
    let m = json(&dir.path().join("one/manifest.json"));
    let shards = m["splits"]["train"]["shards"].as_array().unwrap();
    assert!(shards[0]["row_groups"].as_array().unwrap().len() > 1, "{m:#}");
    assert!(
        shards[0]["path"].as_str().unwrap().ends_with(&format!("-of-{:05}.parquet", shards.len()))
    );
}
