//! The command line: help, validate, explain, stages, inspect, exit codes.

use crate::util::*;

#[test]
fn help_teaches() {
    let o = sluice(&["--help"]);
    let out = stdout(&o);
    for needle in ["run", "validate", "explain", "stages", "inspect", "Exit codes", "Examples"] {
        assert!(out.contains(needle), "{needle} missing from --help:\n{out}");
    }
    let o = sluice(&["run", "--help"]);
    assert!(stdout(&o).contains("--threads"));
}

#[test]
fn validate_reports_every_error_with_stage_ids_and_exits_2() {
    let d = tempdir();
    write(&d.path().join("a.jsonl"), b"{\"text\": \"hello\"}\n");
    let p = pipeline(
        d.path(),
        "bad.yaml",
        "name: x\nsources:\n  - { name: s, paths: [a.jsonl] }\nstages:\n  - { id: one, type: lenght_filter, min_chars: 3 }\n  - { id: two, type: normalize, unicode: nfkc, bogus: 1 }\n  - { id: three, type: regex_filter, pattern: \"(\" }\noutput: { dir: out }\n",
    );
    let o = sluice_in(d.path(), &["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let out = stdout(&o);
    assert!(out.contains("3 problems"), "{out}");
    assert!(out.contains("id `one`") && out.contains("did you mean `length_filter`"), "{out}");
    assert!(out.contains("id `two`") && out.contains("unknown field `bogus`"), "{out}");
    assert!(out.contains("id `three`") && out.contains("invalid regular expression"), "{out}");
    assert!(out.contains("bad.yaml"), "{out}");
}

#[test]
fn validate_checks_schemas_against_the_data() {
    let d = tempdir();
    write(&d.path().join("a.jsonl"), b"{\"text\": \"hello\"}\n");
    let p = pipeline(
        d.path(),
        "p.toml",
        "name = \"x\"\n[[sources]]\nname = \"s\"\npaths = [\"a.jsonl\"]\n[[stages]]\nid = \"q\"\ntype = \"sql_filter\"\npredicate = \"length(body) > 3\"\n[output]\ndir = \"out\"\n",
    );
    let o = sluice_in(d.path(), &["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("id `q`") && stdout(&o).contains("body"), "{}", stdout(&o));
}

#[test]
fn explain_prints_schema_after_each_stage() {
    let o = sluice(&["explain", "pipelines/quickstart.yaml"]);
    let out = ok(&o);
    let out = stdout(&o) + &out;
    assert!(out.contains("input_ids: List"), "{out}");
    assert!(out.contains("documents as read"), "{out}");
    assert!(out.contains("[1]"), "{out}");
}

#[test]
fn stages_lists_types_and_documents_one() {
    let out = stdout(&sluice(&["stages"]));
    for t in
        ["sql_filter", "length_filter", "normalize", "regex_filter", "regex_replace", "tokenize"]
    {
        assert!(out.contains(t), "{t}: {out}");
    }
    let one = stdout(&sluice(&["stages", "normalize"]));
    assert!(
        one.contains("collapse_whitespace") && one.contains("Example") && one.contains("nfkc"),
        "{one}"
    );
    let o = sluice(&["stages", "nope"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn quickstart_runs_and_inspect_summarizes() {
    let d = tempdir();
    let out = d.path().join("qs");
    let o = sluice(&[
        "run",
        "pipelines/quickstart.yaml",
        "--out",
        out.to_str().unwrap(),
        "--threads",
        "2",
    ]);
    let table = ok(&o);
    assert!(table.contains("docs in") && table.contains("MB/s"), "{table}");
    assert!(out.join("manifest.json").exists() && out.join("stats.json").exists());
    let m = json(&out.join("manifest.json"));
    assert!(m["splits"]["train"]["num_tokens"].as_u64().unwrap() > 10_000, "{m:#}");
    assert!(m["splits"]["validation"]["num_documents"].as_u64().unwrap() > 0, "{m:#}");
    assert!(out.join("dropped/dropped.parquet").exists());
    let i = stdout(&sluice(&["inspect", out.to_str().unwrap()]));
    assert!(i.contains("train:") && i.contains("tokens"), "{i}");
    let shard = out.join(m["splits"]["train"]["shards"][0]["path"].as_str().unwrap());
    let i = stdout(&sluice(&["inspect", shard.to_str().unwrap()]));
    assert!(i.contains("input_ids") && i.contains("row groups"), "{i}");
}

#[test]
fn stats_json_to_stdout() {
    let d = tempdir();
    let o = sluice(&[
        "run",
        "pipelines/quickstart.yaml",
        "--out",
        d.path().join("o").to_str().unwrap(),
        "--quiet",
        "--stats-json",
        "-",
    ]);
    ok(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["stages"].as_array().unwrap().len() >= 3);
}
