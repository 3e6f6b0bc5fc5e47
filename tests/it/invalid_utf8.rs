//! A source's `invalid_utf8` policy on the lines of `../shared/data/unicode/edge_files/`
//! (Markus Kuhn's UTF-8 stress test (valid UTF-8 in this copy), truncated sequences, a lone
//! 0xFF, Latin-2 and GB2312 text), written into JSONL strings byte for byte: `replace` reads every line with U+FFFD
//! where Python's `bytes.decode("utf-8", "replace")` puts them, `skip` counts the invalid lines
//! even under `on_error: fail`, `fail` stops at the first one even under `on_error: skip`.

use std::path::Path;

use crate::util::*;

const FILES: [&str; 6] = [
    "kuhn_UTF-8-test.txt",
    "rebar_lines-with-invalid-utf8.txt",
    "rebar_one-byte-xFF.txt",
    "rebar_pile-of-poo-prefix.txt",
    "nltk_unicode_samples_polish-lat2.txt",
    "nltk_unicode_samples_sinorama-gb.xml",
];

/// One JSONL line per non-blank line of the edge files, the text's bytes as they are (JSON's
/// own specials escaped); returns (lines, how many are not valid UTF-8).
fn jsonl(d: &Path) -> (usize, usize) {
    let (mut out, mut n, mut invalid) = (Vec::new(), 0, 0);
    for f in FILES {
        let bytes = std::fs::read(shared(&format!("unicode/edge_files/{f}"))).unwrap();
        for (k, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            out.extend_from_slice(format!("{{\"id\": \"{f}:{}\", \"text\": \"", k + 1).as_bytes());
            for &b in line {
                match b {
                    b'"' => out.extend_from_slice(b"\\\""),
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
                    _ => out.push(b),
                }
            }
            out.extend_from_slice(b"\"}\n");
            n += 1;
            invalid += usize::from(std::str::from_utf8(line).is_err());
        }
    }
    write(&d.join("edge.jsonl"), &out);
    (n, invalid)
}

fn pipeline_with(d: &Path, name: &str, policy: &str, on_error: &str) -> String {
    pipeline(
        d,
        name,
        &format!(
            "name: u\non_error: {on_error}\nsources:\n  - {{ name: e, paths: [edge.jsonl]{policy} \
             }}\nstages: []\noutput: {{ dir: out }}\n"
        ),
    )
    .display()
    .to_string()
}

#[test]
fn invalid_utf8_is_replaced_skipped_or_fatal_as_the_source_says() {
    let dir = tempdir();
    let d = dir.path();
    let (lines, invalid) = jsonl(d);
    assert!(invalid >= 5 && lines > invalid * 2, "{lines} lines, {invalid} invalid");

    // replace: every line is a document, decoded as Python decodes it
    let p = pipeline_with(d, "r.yaml", ", invalid_utf8: replace", "fail");
    ok(&sluice_in(d, &["run", &p, "--quiet", "--out", "r"]));
    let stats = json(&d.join("r/stats.json"));
    assert_eq!(stats["input"]["replaced_invalid_utf8"], invalid, "{:#}", stats["input"]);
    let got: Vec<String> =
        read_split(&d.join("r"), "train").iter().flat_map(|b| strings(b, "text")).collect();
    assert_eq!(got.len(), lines);
    let script = "import json, sys\n\
                  rows = [json.loads(l.decode('utf-8', 'replace'))['text'] \
                  for l in open(sys.argv[1], 'rb')]\n\
                  print(json.dumps(rows))";
    let edge = d.join("edge.jsonl").display().to_string();
    if let Some(out) = python(&["-c", script, &edge], &[], "python3 is needed") {
        let want: Vec<String> = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(got.len(), want.len());
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "line {k}: sluice and Python replace differently");
        }
    }
    assert!(got.iter().any(|t| t.contains('\u{FFFD}')));

    // skip: the invalid lines are counted and left out, even under on_error: fail
    let p = pipeline_with(d, "s.yaml", ", invalid_utf8: skip", "fail");
    ok(&sluice_in(d, &["run", &p, "--quiet", "--out", "s"]));
    let stats = json(&d.join("s/stats.json"));
    assert_eq!(stats["input"]["bad_records"]["invalid_utf8"], invalid, "{:#}", stats["input"]);
    assert_eq!(stats["input"]["documents"], lines - invalid);

    // fail: the first invalid line stops the run, even under on_error: skip
    let p = pipeline_with(d, "f.yaml", ", invalid_utf8: fail", "skip");
    let o = sluice_in(d, &["run", &p, "--out", "f"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("edge.jsonl:") && stderr(&o).contains("invalid UTF-8"),
        "{}",
        stderr(&o)
    );

    // unset: the pipeline's on_error decides, as before
    let p = pipeline_with(d, "u.yaml", "", "skip");
    ok(&sluice_in(d, &["run", &p, "--quiet", "--out", "u"]));
    assert_eq!(json(&d.join("u/stats.json"))["input"]["bad_records"]["invalid_utf8"], invalid);
}
