//! `clean` on third-party text: the big list of naughty strings (`unicode/blns/blns.json`) and
//! the multilingual corpora (UDHR in 388 languages, lingua sentences in 75, OpenSubtitles en/ru/
//! zh). No option may split a grapheme cluster, and removing bidi controls must leave the
//! zero-width (non-)joiners of Indic and Persian text alone. Also runs the stage from a
//! pipeline file and reads its counts from `stats.json`.

use sluice::stage::clean::{CleanConfig, Cleaner, Counts};
use unicode_segmentation::UnicodeSegmentation;

use crate::util::{
    corpus_lines, json, ok, pipeline, read_split, shared, sluice_in, strings, tempdir,
};

/// Every document of the test sets, by set name.
fn texts() -> Vec<(&'static str, Vec<String>)> {
    let blns: Vec<String> = serde_json::from_str(
        &std::fs::read_to_string(shared("unicode/blns/blns.json")).expect("blns.json"),
    )
    .unwrap();
    let mut out = vec![("blns", blns)];
    for (name, file) in [
        ("udhr", "multilingual_udhr2_unicode.jsonl.zst"),
        ("lingua", "multilingual_lingua_sentences_75lang.jsonl.zst"),
        ("subtitles", "multilingual_opensubtitles_en_ru_zh.jsonl.zst"),
    ] {
        let docs = corpus_lines(file)
            .iter()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        out.push((name, docs));
    }
    out
}

fn cleaner(f: impl FnOnce(&mut CleanConfig)) -> Cleaner {
    let mut c = CleanConfig { column: "text".into(), ..Default::default() };
    f(&mut c);
    Cleaner::new(&c).unwrap()
}

fn run(c: &Cleaner, text: &str, counts: &mut Counts) -> String {
    let mut out = String::new();
    c.clean_into(text, &mut out, counts);
    out
}

fn joiners(s: &str) -> usize {
    s.chars().filter(|&c| c == '\u{200C}' || c == '\u{200D}').count()
}

#[test]
fn removing_bidi_controls_keeps_joiners_and_everything_else() {
    let c = cleaner(|c| c.bidi = true);
    let bidi = |ch: char| matches!(ch, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    let (mut total_joiners, mut removed) = (0, 0);
    for (set, docs) in texts() {
        for d in &docs {
            let mut n = Counts::default();
            let out = run(&c, d, &mut n);
            assert_eq!(out, d.chars().filter(|&ch| !bidi(ch)).collect::<String>(), "{set}: {d:?}");
            assert_eq!(joiners(&out), joiners(d), "{set}");
            total_joiners += joiners(d);
            removed += n.removed_chars;
        }
    }
    eprintln!("bidi: {total_joiners} joiners kept, {removed} bidi controls removed");
    // The data holds both: the test would prove nothing otherwise.
    assert!(total_joiners > 100, "{total_joiners} joiners");
    assert!(removed > 0, "no bidi control in the test data");
}

#[test]
fn no_option_splits_a_grapheme_cluster() {
    let c = cleaner(|c| {
        c.control = true;
        c.zero_width = true;
        c.bidi = true;
        c.soft_hyphens = true;
        c.spaces = true;
        c.remove_categories = vec!["So".into(), "Co".into(), "Cn".into(), "Sk".into()];
        c.remove_chars = "•·".into();
    });
    let mut counts = Counts::default();
    let mut changed = 0;
    for (set, docs) in texts() {
        for d in &docs {
            let whole = run(&c, d, &mut counts);
            changed += usize::from(whole != *d);
            // Cleaning cluster by cluster gives the same text, and each cluster becomes
            // nothing or exactly one cluster.
            let mut pieces = String::new();
            for g in d.graphemes(true) {
                let out = run(&c, g, &mut Counts::default());
                assert!(out.graphemes(true).count() <= 1, "{set}: {g:?} became {out:?}");
                pieces.push_str(&out);
            }
            assert_eq!(whole, pieces, "{set}: {d:?}");
        }
    }
    eprintln!("all character options and categories: {changed} documents changed, {counts:?}");
    assert!(changed > 20, "only {changed} documents changed");
    assert!(counts.removed_clusters > 0 && counts.removed_chars > 0 && counts.replaced_chars > 0);
}

#[test]
fn clean_runs_from_a_pipeline_and_counts_its_changes() {
    let dir = tempdir();
    let d = dir.path();
    let src = shared("corpora/web_c4_en_sample.jsonl.zst");
    let p = pipeline(
        d,
        "p.yaml",
        &format!(
            "name: c\nsources:\n  - {{ name: web, paths: [\"{}\"] }}\nstages:\n  - id: clean\n    type: clean\n    control: true\n    spaces: true\n    urls: true\n    url_replacement: \"<URL>\"\n    drop_lines: [\"(?i)cookies\"]\noutput: {{ dir: out }}\n",
            src.display()
        ),
    );
    ok(&sluice_in(d, &["run", p.to_str().unwrap(), "--quiet"]));
    let stats = json(&d.join("out/stats.json"));
    let changes = &stats["stages"][0]["changes"];
    let texts: Vec<String> =
        read_split(&d.join("out"), "train").iter().flat_map(|b| strings(b, "text")).collect();
    let urls = texts.iter().map(|t| t.matches("<URL>").count() as u64).sum::<u64>();
    assert!(urls > 0, "{changes:#}");
    // A URL on a dropped line is counted but not in the output.
    assert!(changes["urls"].as_u64().unwrap_or(0) >= urls, "{changes:#}");
    assert!(changes["dropped_lines"].as_u64().unwrap_or(0) > 0, "{changes:#}");
    assert!(texts.iter().all(|t| !t.to_lowercase().contains("cookies")));
    assert!(texts.iter().all(|t| !t.contains("http://") && !t.contains("https://")));
}
