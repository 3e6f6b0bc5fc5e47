//! Bad input: every case gives a message with the file and line (or row) under
//! `on_error: fail` (exit 1, no manifest), and is skipped, counted and quarantined under
//! `on_error: skip`.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::util::*;

const GOOD: &str = r#"{"id": "a", "text": "first good document"}"#;
const GOOD2: &str = r#"{"id": "c", "text": "second good document"}"#;

fn pipe(dir: &Path, input: &str, policy: &str) -> std::path::PathBuf {
    pipeline(
        dir,
        "p.yaml",
        &format!(
            "name: bad\non_error: {policy}\nsources:\n  - {{ name: s, paths: [\"{input}\"] }}\noutput: {{ dir: out }}\n"
        ),
    )
}

/// Runs with `fail` (expects exit 1 and every `needles` in stderr) and with `skip`
/// (expects success, `kind` counted `count` times, and a quarantine file).
fn case(dir: &Path, input: &str, needles: &[&str], kind: &str, count: u64) {
    let p = pipe(dir, input, "fail");
    let o = sluice_in(dir, &["run", p.to_str().unwrap(), "--quiet"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for n in needles {
        assert!(err.contains(n), "expected `{n}` in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(!dir.join("out/manifest.json").exists(), "a failed run must not write a manifest");
    let leftovers: Vec<_> = tree_if_exists(&dir.join("out"));
    assert!(leftovers.iter().all(|p| !p.ends_with(".tmp")), "temporary files left: {leftovers:?}");

    let p = pipe(dir, input, "skip");
    let o = sluice_in(dir, &["run", p.to_str().unwrap(), "--quiet"]);
    ok(&o);
    let stats = json(&dir.join("out/stats.json"));
    assert_eq!(stats["input"]["bad_records"][kind].as_u64(), Some(count), "{stats:#}");
    let q = std::fs::read_to_string(dir.join("out/quarantine/bad_records.jsonl")).unwrap();
    assert!(q.contains(kind), "{q}");
    assert!(dir.join("out/manifest.json").exists());
}

fn tree_if_exists(d: &Path) -> Vec<String> {
    if d.exists() { tree(d).into_iter().map(|(p, _)| p).collect() } else { Vec::new() }
}

#[test]
fn malformed_json_line() {
    let d = tempdir();
    write(
        &d.path().join("in.jsonl"),
        format!("{GOOD}\n{{\"id\": \"b\", \"text\": \"oops\"\n{GOOD2}\n").as_bytes(),
    );
    case(d.path(), "in.jsonl", &["in.jsonl:2", "malformed JSON"], "invalid_json", 1);
    let stats = json(&d.path().join("out/stats.json"));
    assert_eq!(stats["input"]["documents"], 2);
}

#[test]
fn invalid_utf8() {
    let d = tempdir();
    let mut bytes = format!("{GOOD}\n").into_bytes();
    bytes.extend_from_slice(b"{\"id\": \"b\", \"text\": \"bad \xff\xfe bytes\"}\n");
    bytes.extend_from_slice(format!("{GOOD2}\n").as_bytes());
    write(&d.path().join("in.jsonl"), &bytes);
    case(d.path(), "in.jsonl", &["in.jsonl:2", "invalid UTF-8"], "invalid_utf8", 1);
}

#[test]
fn missing_and_null_text() {
    let d = tempdir();
    let text = format!(
        "{GOOD}\n{{\"id\": \"b\", \"body\": \"no text\"}}\n{{\"id\": \"n\", \"text\": null}}\n{GOOD2}\n"
    );
    write(&d.path().join("in.jsonl"), text.as_bytes());
    case(d.path(), "in.jsonl", &["in.jsonl:2", "missing or null"], "missing_text", 2);
}

#[test]
fn wrong_json_type() {
    let d = tempdir();
    write(
        &d.path().join("in.jsonl"),
        format!("{GOOD}\n{{\"id\": \"b\", \"text\": 42}}\n{GOOD2}\n").as_bytes(),
    );
    case(d.path(), "in.jsonl", &["in.jsonl:2", "wrong type"], "wrong_type", 1);
}

#[test]
fn wrong_parquet_column_type() {
    let d = tempdir();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("text", DataType::Int64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(StringArray::from(vec!["a"])), Arc::new(Int64Array::from(vec![1]))],
    )
    .unwrap();
    let f = std::fs::File::create(d.path().join("in.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let p = pipe(d.path(), "in.parquet", "fail");
    let o = sluice_in(d.path(), &["run", p.to_str().unwrap(), "--quiet"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("in.parquet") && err.contains("Int64") && err.contains("not a string"),
        "{err}"
    );
}

#[test]
fn truncated_gzip() {
    let d = tempdir();
    let body: String = (0..2000)
        .map(|i| {
            format!("{{\"id\": \"{i}\", \"text\": \"document number {i} with some words\"}}\n")
        })
        .collect();
    let gz = gzip(body.as_bytes());
    write(&d.path().join("in.jsonl.gz"), &gz[..gz.len() / 2]);
    case(d.path(), "in.jsonl.gz", &["in.jsonl.gz:", "truncated or corrupt"], "truncated_file", 1);
}

#[test]
fn truncated_zstd() {
    let d = tempdir();
    let body: String = (0..5000)
        .map(|i| {
            format!("{{\"id\": \"{i}\", \"text\": \"document number {i} with some words\"}}\n")
        })
        .collect();
    let z = zstd(body.as_bytes());
    write(&d.path().join("in.jsonl.zst"), &z[..z.len() * 2 / 3]);
    case(d.path(), "in.jsonl.zst", &["in.jsonl.zst:", "truncated or corrupt"], "truncated_file", 1);
    let stats = json(&d.path().join("out/stats.json"));
    assert!(
        stats["input"]["documents"].as_u64().unwrap() > 100,
        "the good prefix is kept: {stats:#}"
    );
}

#[test]
fn corrupt_parquet() {
    let d = tempdir();
    write(&d.path().join("ok.jsonl"), format!("{GOOD}\n").as_bytes());
    write(&d.path().join("bad.parquet"), b"PAR1 this is not really a parquet file PAR1");
    let p = pipeline(
        d.path(),
        "p.yaml",
        "name: bad\non_error: skip\nsources:\n  - { name: a, paths: [ok.jsonl] }\n  - { name: b, paths: [bad.parquet] }\noutput: { dir: out }\n",
    );
    let o = sluice_in(d.path(), &["run", p.to_str().unwrap(), "--quiet"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "a corrupt footer is found while planning: {err}");
    assert!(err.contains("bad.parquet") && err.contains("Parquet"), "{err}");
}

#[test]
fn empty_file() {
    let d = tempdir();
    write(&d.path().join("a.jsonl"), format!("{GOOD}\n").as_bytes());
    write(&d.path().join("b.jsonl"), b"");
    case(d.path(), "*.jsonl", &["b.jsonl", "no records"], "empty_file", 1);
}

#[test]
fn unreadable_path() {
    let d = tempdir();
    let p = pipe(d.path(), "does/not/exist.jsonl", "skip");
    let o = sluice_in(d.path(), &["run", p.to_str().unwrap(), "--quiet"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("does/not/exist.jsonl") && err.contains("matches no file"), "{err}");
}

#[test]
fn empty_texts_are_counted_not_errors() {
    let d = tempdir();
    write(
        &d.path().join("in.jsonl"),
        format!("{GOOD}\n{{\"id\": \"e\", \"text\": \"\"}}\n").as_bytes(),
    );
    let p = pipe(d.path(), "in.jsonl", "fail");
    ok(&sluice_in(d.path(), &["run", p.to_str().unwrap(), "--quiet"]));
    let stats = json(&d.path().join("out/stats.json"));
    assert_eq!(stats["input"]["empty_text"], 1);
    assert_eq!(stats["input"]["documents"], 1);
}

#[test]
fn lone_and_reversed_surrogate_escapes() {
    // A surrogate escape that is not half of a pair names no character: a bad record with the
    // escape and its byte offset, never a replacement character. Wherever it is: the text,
    // another field, a nested value or a key.
    let lines = [
        r#"{"id": "b", "text": "\udc00\ud800 reversed"}"#,
        r#"{"id": "c", "text": "ends with a high half \ud800"}"#,
        r#"{"id": "d", "text": "two highs \ud800\udbff\udc00"}"#,
        r#"{"id": "e", "text": "fine \ud83d\ude00", "meta": {"t": "\uDFFF"}}"#,
        r#"{"id": "f", "text": "fine", "k\ud800": 1}"#,
    ];
    let d = tempdir();
    let body = format!("{GOOD}\n{}\n{GOOD2}\n", lines.join("\n"));
    write(&d.path().join("in.jsonl"), body.as_bytes());
    case(
        d.path(),
        "in.jsonl",
        &["in.jsonl:2", "\\udc00", "low surrogate without a high one"],
        "lone_surrogate",
        lines.len() as u64,
    );
    let q = std::fs::read_to_string(d.path().join("out/quarantine/bad_records.jsonl")).unwrap();
    let records: Vec<serde_json::Value> =
        q.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for (r, line) in records.iter().zip(lines) {
        assert_eq!(r["record"], line, "the quarantine keeps the line as written");
    }
    let stats = json(&d.path().join("out/stats.json"));
    assert_eq!(stats["input"]["documents"], 2);
}
