//! Text fidelity on the way in: every Unicode scalar value (all 1,112,064), escaped as `\uXXXX`
//! or a surrogate pair and raw, through JSONL, `.jsonl.gz`, `.jsonl.zst` and Parquet, comes
//! out of a pipeline byte-identical: in the shards, in `dropped/`, in `inspect` and as the
//! tokenizer's input. Plus the JSON corner cases (BOM, CRLF, duplicate keys, numeric ids, deep
//! nesting, very long strings). Lone surrogates are in `bad_input.rs`; the Python `json`
//! cross-check is `python_json_escapes_round_trip`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::util::*;

/// Writes pipeline `name` with `text` in `dir` and runs it there; it must succeed.
fn run_ok(dir: &Path, name: &str, text: &str) {
    let p = pipeline(dir, name, text);
    ok(&sluice_in(dir, &["run", p.to_str().unwrap(), "--quiet"]));
}

/// Code points per document.
const PER_DOC: usize = 4096;

/// Every Unicode scalar value, in order, cut into documents of `PER_DOC` characters.
fn all_scalars() -> Vec<String> {
    let chars: Vec<char> = (0..=0x10FFFF).filter_map(char::from_u32).collect();
    assert_eq!(chars.len(), 1_112_064);
    chars.chunks(PER_DOC).map(|c| c.iter().collect()).collect()
}

/// A JSON string literal with every character escaped (`\uXXXX`, surrogate pairs above the
/// BMP); `upper` picks the case of the hex digits.
fn escape_all(s: &str, upper: bool) -> String {
    let mut out = String::from("\"");
    let mut units = [0u16; 2];
    for c in s.chars() {
        for u in c.encode_utf16(&mut units) {
            if upper {
                out.push_str(&format!("\\u{u:04X}"));
            } else {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out.push('"');
    out
}

/// A JSON string literal written raw: only `"`, `\` and control characters are escaped, the
/// short forms where JSON has them.
fn escape_min(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn jsonl(docs: &[String], escape: impl Fn(usize, &str) -> String) -> Vec<u8> {
    let mut out = String::new();
    for (i, d) in docs.iter().enumerate() {
        out.push_str(&format!("{{\"id\":\"d{i}\",\"text\":{}}}\n", escape(i, d)));
    }
    out.into_bytes()
}

fn parquet_file(path: &Path, docs: &[String]) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, false),
    ]));
    let ids: Vec<String> = (0..docs.len()).map(|i| format!("d{i}")).collect();
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![Arc::new(StringArray::from(ids)), Arc::new(StringArray::from(docs.to_vec()))],
    )
    .unwrap();
    let f = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// Writes the seven inputs (escaped and raw JSONL, each plain, gzip and zstd; Parquet) and
/// returns the `sources:` block naming them.
fn inputs(dir: &Path, docs: &[String]) -> String {
    let escaped = jsonl(docs, |i, d| escape_all(d, i % 2 == 1));
    let raw = jsonl(docs, |_, d| escape_min(d));
    write(&dir.join("esc.jsonl"), &escaped);
    write(&dir.join("esc_gz.jsonl.gz"), &gzip(&escaped));
    write(&dir.join("esc_zst.jsonl.zst"), &zstd(&escaped));
    write(&dir.join("raw.jsonl"), &raw);
    write(&dir.join("raw_gz.jsonl.gz"), &gzip(&raw));
    write(&dir.join("raw_zst.jsonl.zst"), &zstd(&raw));
    parquet_file(&dir.join("pq.parquet"), docs);
    ["esc.jsonl", "esc_gz.jsonl.gz", "esc_zst.jsonl.zst", "raw.jsonl", "raw_gz.jsonl.gz"]
        .iter()
        .chain(&["raw_zst.jsonl.zst", "pq.parquet"])
        .map(|f| format!("  - {{ name: {}, paths: [\"{f}\"] }}\n", f.split('.').next().unwrap()))
        .collect()
}

const SOURCES: &[&str] = &["esc", "esc_gz", "esc_zst", "raw", "raw_gz", "raw_zst", "pq"];

/// (source, id) → text of every row of `batches`; `id` names the id column.
fn texts_by_doc(batches: &[RecordBatch], id: &str) -> HashMap<(String, String), String> {
    let mut out = HashMap::new();
    for b in batches {
        for ((s, id), t) in
            strings(b, "source").into_iter().zip(strings(b, id)).zip(strings(b, "text"))
        {
            assert!(out.insert((s, id), t).is_none(), "a document came out twice");
        }
    }
    out
}

fn assert_every_doc(got: &HashMap<(String, String), String>, docs: &[String], sources: &[&str]) {
    assert_eq!(got.len(), docs.len() * sources.len());
    for s in sources {
        for (i, want) in docs.iter().enumerate() {
            let text = &got[&(s.to_string(), format!("d{i}"))];
            if text != want {
                let at = text.chars().zip(want.chars()).position(|(a, b)| a != b);
                panic!(
                    "source {s}, document d{i}: the text differs at character {at:?} \
                     (got {:?}, want {:?})",
                    at.and_then(|k| text.chars().nth(k)),
                    at.and_then(|k| want.chars().nth(k))
                );
            }
        }
    }
}

#[test]
fn every_scalar_value_round_trips_through_every_reader_and_writer() {
    let docs = all_scalars();
    let d = tempdir();
    let sources = inputs(d.path(), &docs);
    // Shards, and `dropped/` (a second output where a filter drops every document).
    run_ok(
        d.path(),
        "p.yaml",
        &format!("name: fidelity\nsources:\n{sources}output: {{ dir: out }}\n"),
    );
    let stats = json(&d.path().join("out/stats.json"));
    assert_eq!(stats["input"]["documents"], docs.len() * SOURCES.len(), "{stats:#}");
    let shards = read_split(&d.path().join("out"), "train");
    assert_every_doc(&texts_by_doc(&shards, "id"), &docs, SOURCES);

    run_ok(
        d.path(),
        "drop.yaml",
        &format!(
            "name: fidelity\nsources:\n{sources}stages:\n  - {{ type: sql_filter, predicate: \"length(text) < 0\" }}\noutput: {{ dir: dropped_out, write_dropped: true }}\n"
        ),
    );
    let dropped = read_split(&d.path().join("dropped_out"), "dropped");
    assert_every_doc(&texts_by_doc(&dropped, "doc_id"), &docs, SOURCES);

    // `inspect` shows the first characters of a document above U+20000 as they are.
    let shard = d.path().join("out/train/train-00000-of-00001.parquet");
    let o = sluice(&["inspect", shard.to_str().unwrap(), "--rows", "40"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let shown = stdout(&o);
    // Document 32 of the first source starts at U+20800 (CJK Extension B).
    assert!(docs[32].starts_with('\u{20800}'));
    let head: String = docs[32].chars().take(20).collect();
    assert!(shown.contains(&head), "inspect does not show {head:?}:\n{shown}");
}

#[test]
fn the_quarantine_keeps_every_scalar_value_as_written() {
    // Every line lacks its text field: each is a bad record, quarantined as written.
    let docs = all_scalars();
    let d = tempdir();
    let escaped = jsonl(&docs, |i, d| escape_all(d, i % 2 == 0));
    let raw = jsonl(&docs, |_, d| escape_min(d));
    let body = [escaped, raw].concat();
    let body = String::from_utf8(body).unwrap().replace("\"text\":", "\"body\":");
    write(&d.path().join("in.jsonl"), body.as_bytes());
    run_ok(
        d.path(),
        "p.yaml",
        "name: q\non_error: skip\nsources:\n  - { name: s, paths: [\"in.jsonl\"] }\noutput: { dir: out }\n",
    );
    let q = std::fs::read_to_string(d.path().join("out/quarantine/bad_records.jsonl")).unwrap();
    let records: Vec<String> = q
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["record"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(records.len(), lines.len());
    for (i, (r, l)) in records.iter().zip(&lines).enumerate() {
        assert!(r == l, "quarantined line {} differs", i + 1);
    }
}

#[test]
fn escaped_and_raw_text_tokenize_alike_and_as_the_reference() {
    let docs: Vec<String> = all_scalars().into_iter().step_by(3).collect();
    let d = tempdir();
    let sources = inputs(d.path(), &docs);
    let tok = shared("tokenizers/gpt2/tokenizer.json");
    run_ok(
        d.path(),
        "p.yaml",
        &format!(
            "name: fidelity\nsources:\n{sources}stages:\n  - {{ type: tokenize, tokenizer: \"{}\", add_eos: false }}\noutput: {{ dir: out }}\n",
            tok.display()
        ),
    );
    let mut got: HashMap<(String, String), Vec<i32>> = HashMap::new();
    for b in read_split(&d.path().join("out"), "train") {
        let keys = strings(&b, "source").into_iter().zip(strings(&b, "doc_id"));
        for (k, ids) in keys.zip(token_lists(&b)) {
            got.insert(k, ids);
        }
    }
    let mut reference = tokenizers::Tokenizer::from_file(&tok).unwrap();
    reference.with_truncation(None).unwrap().with_padding(None);
    for (i, doc) in docs.iter().enumerate() {
        let want: Vec<i32> = reference
            .encode(doc.as_str(), false)
            .unwrap()
            .get_ids()
            .iter()
            .map(|&t| t as i32)
            .collect();
        for s in SOURCES {
            let ids = &got[&(s.to_string(), format!("d{i}"))];
            if ids != &want {
                let at = ids.iter().zip(&want).position(|(a, b)| a != b);
                panic!(
                    "source {s}, document d{i}: {} ids, want {}; first difference at {at:?}",
                    ids.len(),
                    want.len()
                );
            }
        }
    }
}

/// Runs a one-source pipeline (`on_error: skip`) over `file` with content `bytes` and returns
/// the shards' batches, the stats and the quarantine file.
fn run_lines(file: &str, bytes: &[u8]) -> (Vec<RecordBatch>, serde_json::Value, String) {
    let d = tempdir();
    write(&d.path().join(file), bytes);
    run_ok(
        d.path(),
        "p.yaml",
        &format!(
            "name: corner\non_error: skip\nsources:\n  - {{ name: s, paths: [\"{file}\"] }}\noutput: {{ dir: out }}\n"
        ),
    );
    let q = std::fs::read_to_string(d.path().join("out/quarantine/bad_records.jsonl"));
    (
        read_split(&d.path().join("out"), "train"),
        json(&d.path().join("out/stats.json")),
        q.unwrap_or_default(),
    )
}

#[test]
fn byte_order_mark_and_crlf_line_ends() {
    let body = "\u{feff}{\"id\":\"a\",\"text\":\"first\"}\r\n{\"id\":\"b\",\"text\":\"two\\r\\nlines\"}\r\n\r\n{\"id\":\"c\",\"text\":\"\u{feff}kept inside\"}\r\n";
    for (file, bytes) in [
        ("in.jsonl", body.as_bytes().to_vec()),
        ("in.jsonl.gz", gzip(body.as_bytes())),
        ("in.jsonl.zst", zstd(body.as_bytes())),
    ] {
        let (b, stats, _) = run_lines(file, &bytes);
        assert_eq!(stats["input"]["bad_records"], serde_json::json!({}), "{file}: {stats:#}");
        let b = &b[0];
        assert_eq!(strings(b, "id"), ["a", "b", "c"], "{file}");
        assert_eq!(strings(b, "text"), ["first", "two\r\nlines", "\u{feff}kept inside"]);
    }
}

#[test]
fn duplicate_keys_the_last_one_wins() {
    // As in Python's `json` and serde_json: the last value of a repeated key is the value.
    let body = b"{\"id\":\"a\",\"text\":\"first\",\"text\":\"second\",\"id\":\"z\"}\n";
    let (b, _, _) = run_lines("in.jsonl", body);
    assert_eq!(strings(&b[0], "text"), ["second"]);
    assert_eq!(strings(&b[0], "id"), ["z"]);
    // ... also when the last one is not a string: the record has the wrong type.
    let body = b"{\"id\":\"a\",\"text\":\"first\",\"text\":7}\n{\"id\":\"b\",\"text\":\"ok\"}\n";
    let (b, stats, _) = run_lines("in.jsonl", body);
    assert_eq!(strings(&b[0], "id"), ["b"]);
    assert_eq!(stats["input"]["bad_records"]["wrong_type"], 1, "{stats:#}");
}

#[test]
fn ids_written_as_numbers_read_as_written() {
    // The first ids are strings, later ones numbers (and the reverse): every line is read,
    // numbers as their JSON text.
    let body = b"{\"id\":\"x1\",\"text\":\"a\"}\n{\"id\":7,\"text\":\"b\"}\n{\"id\":1.50,\"text\":\"c\"}\n{\"id\":-3e2,\"text\":\"d\"}\n{\"id\":18446744073709551616,\"text\":\"e\"}\n";
    let (b, stats, _) = run_lines("in.jsonl", body);
    assert_eq!(stats["input"]["bad_records"], serde_json::json!({}), "{stats:#}");
    assert_eq!(strings(&b[0], "id"), ["x1", "7", "1.50", "-3e2", "18446744073709551616"]);
    let body = b"{\"id\":1,\"text\":\"a\"}\n{\"id\":2,\"text\":\"b\"}\n{\"id\":\"three\",\"text\":\"c\"}\n";
    let (b, _, _) = run_lines("in.jsonl", body);
    assert_eq!(strings(&b[0], "id"), ["1", "2", "three"]);
    // An id that is not a scalar is a bad record, not a silent drop.
    let body = b"{\"id\":\"a\",\"text\":\"a\"}\n{\"id\":[1],\"text\":\"b\"}\n";
    let (b, stats, _) = run_lines("in.jsonl", body);
    assert_eq!(strings(&b[0], "id"), ["a"]);
    assert_eq!(stats["input"]["bad_records"]["wrong_type"], 1, "{stats:#}");
}

#[test]
fn escaped_keys_slashes_and_nul() {
    let body = br#"{"i\u0064":"a","te\u0078t":"nul\u0000 slash\/ tab\t \ud83d\ude00 \ud840\udc00"}
"#;
    let (b, _, _) = run_lines("in.jsonl", body);
    assert_eq!(strings(&b[0], "id"), ["a"]);
    assert_eq!(strings(&b[0], "text"), ["nul\u{0} slash/ tab\t \u{1F600} \u{20000}"]);
}

#[test]
fn deep_nesting_and_very_long_strings() {
    let nest = |depth: usize| format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    // 40 levels of metadata are carried; a record whose `meta` nests 1,000 levels (deeper than
    // the schema inferred from the first line) is a bad record with that reason, not a crash;
    // a key the schema lacks is counted. A 25 M-character string (150 MB of escapes) reads
    // back whole.
    let long: String = "ab\u{20000}\u{e9}".repeat(6 << 20);
    let body = format!(
        "{{\"id\":\"deep\",\"text\":\"x\",\"meta\":{}}}\n{{\"id\":\"long\",\"text\":{}}}\n{{\"id\":\"deeper\",\"text\":\"y\",\"meta\":{}}}\n{{\"id\":\"other\",\"text\":\"z\",\"other\":{}}}\n",
        nest(40),
        escape_all(&long, false),
        nest(1000),
        nest(1000)
    );
    let (b, stats, q) = run_lines("in.jsonl", body.as_bytes());
    let ids: Vec<String> = b.iter().flat_map(|b| strings(b, "id")).collect();
    assert_eq!(ids, ["deep", "long", "other"]);
    let texts: Vec<String> = b.iter().flat_map(|b| strings(b, "text")).collect();
    assert!(texts[1] == long, "the 25 M-character string changed");
    assert_eq!(stats["input"]["bad_records"]["wrong_type"], 1, "{stats:#}");
    assert!(q.contains("whilst decoding field 'meta'") && q.len() < 80 << 10, "{q:.2000}");
    assert_eq!(stats["input"]["unknown_fields"]["other"], 1, "{stats:#}");

    // 100 levels parse, but Arrow readers refuse such a schema: the plan stops and says so.
    let d = tempdir();
    let body = format!("{{\"id\":\"a\",\"text\":\"x\",\"meta\":{}}}\n", nest(100));
    write(&d.path().join("in.jsonl"), body.as_bytes());
    let p = pipeline(
        d.path(),
        "p.yaml",
        "name: deep\nsources:\n  - { name: s, paths: [\"in.jsonl\"] }\noutput: { dir: out }\n",
    );
    let o = sluice_in(d.path(), &["run", p.to_str().unwrap(), "--quiet"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("`meta`") && err.contains("100 levels"), "{err}");
}

#[test]
fn python_json_escapes_round_trip() {
    // Python writes the corpus with `json.dumps` (ASCII-escaped) and reads sluice's shard with
    // pyarrow; both sides compare with Python's own strings.
    let d = tempdir();
    let script = python_script("escape_roundtrip.py");
    let dir = d.path().to_str().unwrap();
    if python(&[&script, "write", dir], &[], "python3 is needed").is_none() {
        return;
    }
    run_ok(
        d.path(),
        "p.yaml",
        "name: py\nsources:\n  - { name: py, paths: [\"py.jsonl\"] }\noutput: { dir: out }\n",
    );
    if let Some(text) = python(&[&script, "check", dir], &[], "pip install pyarrow") {
        eprintln!("{text}");
    }
}
