//! Tests of `augment`: each operation on small inputs, the protect and no-empty rules,
//! determinism, the stage's rows and columns, config errors, and the measured rate of every
//! operation over 100k generated documents.

use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use super::text::{CharProbs, Ops, Rng, copy_seed};
use super::*;
use crate::stage::test_util::{batch, build_cx, ctx, texts};

fn ops() -> Ops {
    Ops::default()
}

fn run(o: &Ops, text: &str, seed: u64) -> (String, [u32; 9]) {
    let mut out = String::new();
    let counts = o.apply(text, seed, &mut out);
    (out, counts)
}

fn synonyms(tsv: &str) -> Synonyms {
    Synonyms::parse(tsv, "test.tsv").unwrap()
}

#[test]
fn each_word_operation_does_what_it_says() {
    let o = Ops { word_swap: 1.0, ..ops() };
    assert_eq!(run(&o, "a b  c\nd e", 1).0, "b a  d\nc e");
    let o = Ops { word_delete: 1.0, ..ops() };
    assert_eq!(run(&o, "  a b c ", 1), ("  a ".into(), [0, 0, 0, 2, 0, 0, 0, 0, 0]));
    assert_eq!(run(&o, "a b.\n\nc", 1).0, "a\n\n", "the separator with more line breaks stays");
    let o = Ops { word_insert: 1.0, ..ops() };
    let (out, counts) = run(&o, "x, (y)\n", 3);
    let w: Vec<&str> = out.split(' ').collect();
    assert_eq!(counts[4], 2);
    assert_eq!((w.len(), w[0], w[2].trim_end()), (4, "x,", "(y)"), "{out:?}");
    assert!(["x", "y"].contains(&w[1]) && ["x\n", "y\n"].contains(&w[3]), "{out:?}");
    let o = Ops { synonym: 1.0, synonyms: Some(synonyms("happy\tglad\n")), ..ops() };
    assert_eq!(run(&o, "Happy dogs, (HAPPY) happy.", 1).0, "Glad dogs, (GLAD) glad.");
}

#[test]
fn sentence_shuffle_moves_sentences_and_keeps_the_whitespace_between_them() {
    let o = Ops { sentence_shuffle: 1.0, ..ops() };
    assert_eq!(run(&o, "One one. Two!", 1), ("Two! One one.".into(), [1, 0, 0, 0, 0, 0, 0, 0, 0]));
    // the gaps between sentences ("\n\n", " ", "\n") stay in place; sentences move whole
    let s = ["A a.", "B b?", "C c", "D."];
    let mut seen = std::collections::HashSet::new();
    for seed in 0..200 {
        let (out, _) = run(&o, "A a.\n\nB b? C c\nD.", seed);
        let order = (0..4usize.pow(4))
            .map(|k| [k % 4, k / 4 % 4, k / 16 % 4, k / 64])
            .find(|p| out == format!("{}\n\n{} {}\n{}", s[p[0]], s[p[1]], s[p[2]], s[p[3]]));
        let order = order.unwrap_or_else(|| panic!("not a reordering: {out:?}"));
        let mut sorted = order;
        sorted.sort();
        assert_eq!(sorted, [0, 1, 2, 3], "{out:?}");
        assert_ne!(order, [0, 1, 2, 3], "a shuffle never gives the same order");
        seen.insert(order);
    }
    assert_eq!(seen.len(), 23, "every other order of 4 sentences turns up");
    // a sentence holding a protected span keeps its place
    let keep = Ops { protect: Some(regex::Regex::new(r"\{\{x\}\}").unwrap()), ..o };
    assert_eq!(run(&keep, "Keep {{x}}. A. B.", 1).0, "Keep {{x}}. B. A.");
    // one sentence: nothing to shuffle, and it is not counted
    assert_eq!(run(&keep, "Only one sentence here", 1).1[0], 0);
}

#[test]
fn each_char_operation_does_what_it_says() {
    let with = |chars: CharProbs| Ops { chars, ..ops() };
    let swap = with(CharProbs { swap: 1.0, ..Default::default() });
    assert_eq!(run(&swap, "abcd abc", 1).0, "badc bac");
    let drop = with(CharProbs { drop: 1.0, ..Default::default() });
    assert_eq!(run(&drop, "abc d 日本語", 1).0, "c d 語", "the last character of a word stays");
    let dup = with(CharProbs { duplicate: 1.0, ..Default::default() });
    assert_eq!(run(&dup, "ab é", 1).0, "aabb éé");
    let key = with(CharProbs { keyboard: 1.0, ..Default::default() });
    let (out, counts) = run(&key, "aZ é. 1", 9);
    let c: Vec<char> = out.chars().collect();
    assert_eq!(c.len(), 7);
    assert!(keyboard_neighbours('a').contains(&c[0]) && keyboard_neighbours('Z').contains(&c[1]));
    assert_eq!(&out[2..7], " é. ", "no neighbours for é and `.`: left alone");
    assert!(keyboard_neighbours('1').contains(&c[6]));
    assert_eq!(counts[8], 3);
}

#[test]
fn protected_spans_are_never_touched() {
    let re = r"https?://\S+|\{\{[^}]*\}\}";
    let o = Ops {
        word_swap: 0.5,
        word_delete: 0.5,
        word_insert: 0.5,
        sentence_shuffle: 1.0,
        synonym: 1.0,
        synonyms: Some(synonyms("see\tlook\nhttp\tweb\n")),
        chars: CharProbs { swap: 0.2, drop: 0.2, duplicate: 0.2, keyboard: 0.2 },
        protect: Some(regex::Regex::new(re).unwrap()),
    };
    let text = "Please see http://x.io/a?b=c now. Dear {{first name}}, see you.\nBye see bye.";
    let spans = ["http://x.io/a?b=c", "{{first name}}"];
    let mut changed = 0;
    for seed in 0..500 {
        let (out, _) = run(&o, text, seed);
        changed += usize::from(out != text);
        for s in spans {
            assert_eq!(out.matches(s).count(), 1, "{s} in {out:?}");
        }
        // the punctuation glued to a span is part of its word; sentences holding a span keep
        // their places
        assert_eq!(out.matches("{{first name}},").count(), 1, "{out:?}");
        assert!(out.find(spans[0]) < out.find(spans[1]), "{out:?}");
    }
    assert!(changed > 450, "the operations ran ({changed} of 500 changed)");
}

#[test]
fn a_copy_of_a_non_empty_document_is_never_empty() {
    let o = Ops { word_delete: 1.0, chars: CharProbs { drop: 1.0, ..Default::default() }, ..ops() };
    for (seed, text) in ["a", "ab cd", " x ", "日本 語", "...", "a\n\nb"].iter().enumerate() {
        let (out, _) = run(&o, text, seed as u64);
        assert!(!out.trim().is_empty(), "{text:?} became {out:?}");
    }
    // whitespace-only and empty documents stay as they are
    assert_eq!(run(&o, "  \n", 1).0, "  \n");
    assert_eq!(run(&o, "", 1).0, "");
}

#[test]
fn same_seed_same_copy_other_rank_or_seed_other_copy() {
    let o =
        Ops { word_swap: 0.3, chars: CharProbs { keyboard: 0.1, ..Default::default() }, ..ops() };
    let text = "the quick brown fox jumps over the lazy dog and runs far away from here";
    let row = row_seed(42, "doc-1", 0);
    let a = run(&o, text, copy_seed(row, 1)).0;
    assert_eq!(a, run(&o, text, copy_seed(row, 1)).0);
    assert_ne!(a, run(&o, text, copy_seed(row, 2)).0);
    assert_ne!(a, run(&o, text, copy_seed(row_seed(43, "doc-1", 0), 1)).0);
}

fn built(cfg: &AugmentConfig, b: &RecordBatch) -> Box<dyn Expand> {
    match cfg.build(&build_cx(b.schema())).unwrap() {
        BuiltStage::Expand(e) => e,
        _ => panic!("not a row-changing stage"),
    }
}

fn strs(b: &RecordBatch, col: &str) -> Vec<Option<String>> {
    let a = b.column_by_name(col).unwrap().as_any().downcast_ref::<StringArray>().unwrap();
    a.iter().map(|v| v.map(str::to_string)).collect()
}

#[test]
fn the_stage_keeps_originals_and_adds_copies_of_selected_rows() {
    let cfg = AugmentConfig {
        when: Some("length(text) > 3".into()),
        copies: 3,
        word_swap: 1.0,
        ..Default::default()
    };
    let b = batch(&["one two", "abc", "x y z w"]);
    let e = built(&cfg, &b);
    assert_eq!(e.max_copies(), 4);
    let x = e.expand(&b, &ctx()).unwrap();
    assert_eq!(x.parents, [0, 0, 0, 0, 1, 2, 2, 2, 2]);
    let t = texts(&x.batch);
    assert_eq!(t[..5], ["one two", "two one", "two one", "two one", "abc"]);
    assert_eq!(t[5..], ["x y z w", "y x w z", "y x w z", "y x w z"]);
    let from = strs(&x.batch, AUGMENTED_FROM);
    assert_eq!(from[0], None);
    assert_eq!(from[1].as_deref(), Some("d0"));
    assert_eq!(from[8].as_deref(), Some("d2"));
    let ops = strs(&x.batch, AUGMENT_OPS);
    assert_eq!((ops[4].as_deref(), ops[6].as_deref()), (None, Some("word_swap:2")));
    let schema = e.output_schema(&b.schema()).unwrap();
    assert_eq!(x.batch.schema().fields(), schema.fields());
    // a copy of a copy records the id it was made from, and rank-0 rows pass values on
    let again = e.expand(&x.batch, &ctx()).unwrap();
    let from = strs(&again.batch, AUGMENTED_FROM);
    assert_eq!(again.batch.num_rows(), 9 + 8 * 3);
    assert_eq!(from[4].as_deref(), Some("d0"), "rank 0 of a copy keeps its augmented_from");
}

#[test]
fn null_text_and_null_predicates_give_only_the_original() {
    let schema = Arc::new(Schema::new(vec![
        Field::new(ID, DataType::Utf8, false),
        Field::new(crate::stage::SOURCE, DataType::Utf8, false),
        Field::new(TEXT, DataType::Utf8, true),
        Field::new("label", DataType::Utf8, true),
    ]));
    let b = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec!["a", "b", "c"])),
            Arc::new(StringArray::from(vec!["s", "s", "s"])),
            Arc::new(StringArray::from(vec![Some("x y"), None, Some("p q")])),
            Arc::new(StringArray::from(vec![Some("spam"), Some("spam"), None])),
        ],
    )
    .unwrap();
    let cfg = AugmentConfig {
        when: Some("label = 'spam'".into()),
        copies: 2,
        word_delete: 0.5,
        ..Default::default()
    };
    let x = built(&cfg, &b).expand(&b, &ctx()).unwrap();
    assert_eq!(x.parents, [0, 0, 0, 1, 2]);
    assert_eq!(strs(&x.batch, TEXT)[3], None);
}

#[test]
fn config_checks_name_every_problem() {
    let ok = AugmentConfig { word_delete: 0.1, ..Default::default() };
    assert!(ok.check().is_empty(), "{:?}", ok.check());
    let cases: Vec<(AugmentConfig, &str)> = vec![
        (AugmentConfig { copies: 0, word_delete: 0.1, ..Default::default() }, "got 0"),
        (AugmentConfig { copies: 17, word_delete: 0.1, ..Default::default() }, "got 17"),
        (AugmentConfig { ..Default::default() }, "no operation"),
        (AugmentConfig { word_swap: 1.5, ..Default::default() }, "word_swap: a prob"),
        (AugmentConfig { sentence_shuffle: f64::NAN, ..Default::default() }, "sentence_shuffle"),
        (AugmentConfig { synonym: 0.2, ..Default::default() }, "needs a `synonyms`"),
        (
            AugmentConfig { word_swap: 0.1, synonyms: Some("s.tsv".into()), ..Default::default() },
            "`synonym` is 0",
        ),
        (
            AugmentConfig {
                char_noise: CharNoise { swap: 0.6, drop: 0.6, ..Default::default() },
                ..Default::default()
            },
            "add up to 1.2",
        ),
        (
            AugmentConfig { word_swap: 0.1, when: Some(" ".into()), ..Default::default() },
            "`when` is empty",
        ),
    ];
    for (cfg, want) in cases {
        let got = cfg.check().join("\n");
        assert!(got.contains(want), "want {want:?}, got {got:?}");
    }
}

#[test]
fn build_errors_name_the_cause() {
    let b = batch(&["a"]);
    let err = |cfg: AugmentConfig| cfg.build(&build_cx(b.schema())).err().unwrap().to_string();
    let base = AugmentConfig { word_swap: 0.1, ..Default::default() };
    let e = err(AugmentConfig { protect: Some("(unclosed".into()), ..base.clone() });
    assert!(e.contains("protect: invalid regex"), "{e}");
    let e = err(AugmentConfig {
        synonym: 0.1,
        synonyms: Some("/nonexistent/syn.tsv".into()),
        ..base.clone()
    });
    assert!(e.contains("/nonexistent/syn.tsv"), "{e}");
    let e = err(AugmentConfig { when: Some("length(text)".into()), ..base.clone() });
    assert!(e.contains("must be a boolean"), "{e}");
    let mut after_tokenize = build_cx(b.schema());
    after_tokenize.token_count = Some("num_tokens".into());
    let e = base.build(&after_tokenize).err().unwrap().to_string();
    assert!(e.contains("before `tokenize`"), "{e}");
}

/// Generated test documents: uniform draws from a fixed-seed [`Rng`].
struct Gen(Rng);

impl Gen {
    fn new() -> Gen {
        Gen(Rng::for_op(0x5eed, 0))
    }
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.0.below(hi - lo + 1)
    }
    /// A word of `3..=8` distinct lower-case letters (so every character change is visible).
    fn letters(&mut self) -> String {
        let mut pool: Vec<char> = ('a'..='z').collect();
        let n = self.range(3, 8);
        (0..n).map(|_| pool.remove(self.0.below(pool.len()))).collect()
    }
}

/// Asserts that `hits` out of `trials` is within 5 standard deviations of `p`.
fn assert_rate(what: &str, hits: u64, trials: u64, p: f64) {
    let rate = hits as f64 / trials as f64;
    let sigma = (p * (1.0 - p) / trials as f64).sqrt();
    assert!(
        (rate - p).abs() <= 5.0 * sigma,
        "{what}: measured {rate:.5} over {trials} trials, configured {p} (5 sigma = {:.5})",
        5.0 * sigma
    );
}

const DOCS: u64 = 100_000;

/// Runs `o` on `DOCS` generated documents (one copy each, seeds as the stage derives them) and
/// hands each (input, output, counts) to `f`.
fn over_docs(
    o: &Ops,
    mut doc: impl FnMut(&mut Gen, u64) -> String,
    mut f: impl FnMut(&str, &str, &[u32; 9]),
) {
    let mut g = Gen::new();
    let mut out = String::new();
    for i in 0..DOCS {
        let text = doc(&mut g, i);
        let seed = copy_seed(row_seed(7, &format!("doc{i}"), 0), 1);
        let counts = o.apply(&text, seed, &mut out);
        f(&text, &out, &counts);
    }
}

fn numbered_words(g: &mut Gen, _: u64) -> String {
    (0..g.range(10, 30)).map(|j| format!("w{j}")).collect::<Vec<_>>().join(" ")
}

#[test]
fn word_operation_rates_match_the_configured_probabilities() {
    // deletion: per word
    let (mut hits, mut trials, mut logged) = (0u64, 0u64, 0u64);
    over_docs(&Ops { word_delete: 0.1, ..ops() }, numbered_words, |a, b, c| {
        let (n, m) = (a.split(' ').count() as u64, b.split(' ').count() as u64);
        hits += n - m;
        trials += n;
        logged += u64::from(c[3]);
    });
    assert_eq!(hits, logged, "augment_ops counts the deletions");
    assert_rate("word_delete", hits, trials, 0.1);

    // insertion: per word; every inserted word comes from the document
    let (mut hits, mut trials, mut logged) = (0u64, 0u64, 0u64);
    over_docs(&Ops { word_insert: 0.07, ..ops() }, numbered_words, |a, b, c| {
        let orig: Vec<&str> = a.split(' ').collect();
        let out: Vec<&str> = b.split(' ').collect();
        assert!(out.iter().all(|w| orig.contains(w)));
        hits += (out.len() - orig.len()) as u64;
        trials += orig.len() as u64;
        logged += u64::from(c[4]);
    });
    assert_eq!(hits, logged);
    assert_rate("word_insert", hits, trials, 0.07);

    // swap: per pair drawn (a swapped pair's second word is not drawn again)
    let (mut hits, mut trials, mut logged) = (0u64, 0u64, 0u64);
    over_docs(&Ops { word_swap: 0.15, ..ops() }, numbered_words, |a, b, c| {
        let x: Vec<&str> = a.split(' ').collect();
        let y: Vec<&str> = b.split(' ').collect();
        let mut i = 0;
        while i + 1 < x.len() {
            trials += 1;
            if y[i] != x[i] {
                assert_eq!((y[i], y[i + 1]), (x[i + 1], x[i]), "{a} -> {b}");
                hits += 1;
                i += 2;
            } else {
                i += 1;
            }
        }
        logged += u64::from(c[2]);
    });
    assert_eq!(hits, logged);
    assert_rate("word_swap", hits, trials, 0.15);

    // synonym: per word that has synonyms (k0..k9 do, w* do not)
    let table: String = (0..10).map(|k| format!("k{k}\tsyn{k}a\tsyn{k}b\n")).collect();
    let o = Ops { synonym: 0.3, synonyms: Some(synonyms(&table)), ..ops() };
    let mixed = |g: &mut Gen, _: u64| {
        let n = g.range(10, 30);
        let words: Vec<String> = (0..n)
            .map(|j| if g.0.unit() < 0.5 { format!("k{}", g.range(0, 9)) } else { format!("w{j}") })
            .collect();
        words.join(" ")
    };
    let (mut hits, mut trials, mut logged) = (0u64, 0u64, 0u64);
    over_docs(&o, mixed, |a, b, c| {
        for (x, y) in a.split(' ').zip(b.split(' ')) {
            if let Some(k) = x.strip_prefix('k') {
                trials += 1;
                if x != y {
                    assert!(y == format!("syn{k}a") || y == format!("syn{k}b"), "{x} -> {y}");
                    hits += 1;
                }
            } else {
                assert_eq!(x, y);
            }
        }
        logged += u64::from(c[1]);
    });
    assert_eq!(hits, logged);
    assert_rate("synonym", hits, trials, 0.3);

    // sentence shuffle: per document (every generated document has 2 to 6 sentences)
    let sentences = |g: &mut Gen, _: u64| {
        let mut w = 0;
        let mut out = Vec::new();
        for _ in 0..g.range(2, 6) {
            let len = g.range(1, 5);
            let s: Vec<String> = (w..w + len).map(|k| format!("w{k}")).collect();
            w += len;
            out.push(s.join(" ") + ".");
        }
        out.join(" ")
    };
    let (mut hits, mut logged) = (0u64, 0u64);
    over_docs(&Ops { sentence_shuffle: 0.25, ..ops() }, sentences, |a, b, c| {
        let mut x: Vec<&str> = a.split(' ').collect();
        let mut y: Vec<&str> = b.split(' ').collect();
        hits += u64::from(x != y);
        x.sort();
        y.sort();
        assert_eq!(x, y, "a shuffle only reorders");
        logged += u64::from(c[0]);
    });
    assert_eq!(hits, logged);
    assert_rate("sentence_shuffle", hits, DOCS, 0.25);
}

fn letter_words(g: &mut Gen, _: u64) -> String {
    (0..g.range(5, 15)).map(|_| g.letters()).collect::<Vec<_>>().join(" ")
}

/// Runs one kind of character noise and measures it per word pair with `measure`, which
/// returns (hits, trials) for one (input word, output word).
fn char_rate(
    what: &str,
    slot: usize,
    p: f64,
    probs: CharProbs,
    measure: impl Fn(&[char], &[char]) -> (u64, u64),
) {
    let (mut hits, mut trials, mut logged) = (0u64, 0u64, 0u64);
    over_docs(&Ops { chars: probs, ..ops() }, letter_words, |a, b, c| {
        for (x, y) in a.split(' ').zip(b.split(' ')) {
            let x: Vec<char> = x.chars().collect();
            let y: Vec<char> = y.chars().collect();
            let (h, t) = measure(&x, &y);
            hits += h;
            trials += t;
        }
        assert_eq!(a.split(' ').count(), b.split(' ').count());
        logged += u64::from(c[slot]);
    });
    assert_eq!(hits, logged, "{what}: augment_ops counts every change");
    assert_rate(what, hits, trials, p);
}

#[test]
fn char_noise_rates_match_the_configured_probabilities() {
    let none = CharProbs::default();
    // drop: every character draws, but the last one left in a word is never dropped
    char_rate("char_drop", 6, 0.05, CharProbs { drop: 0.05, ..none }, |x, y| {
        let kept_last_only = y.len() == 1 && y[0] == x[x.len() - 1];
        ((x.len() - y.len()) as u64, x.len() as u64 - u64::from(kept_last_only))
    });
    char_rate("char_duplicate", 7, 0.04, CharProbs { duplicate: 0.04, ..none }, |x, y| {
        ((y.len() - x.len()) as u64, x.len() as u64)
    });
    // keyboard: every a-z letter has neighbours, and a neighbour is never the letter itself
    char_rate("char_keyboard", 8, 0.06, CharProbs { keyboard: 0.06, ..none }, |x, y| {
        assert_eq!(x.len(), y.len());
        let mut hits = 0;
        for (a, b) in x.iter().zip(y) {
            if a != b {
                assert!(keyboard_neighbours(*a).contains(b));
                hits += 1;
            }
        }
        (hits, x.len() as u64)
    });
    // swap: a character with a next one in its word draws; after a swap, the next is skipped
    char_rate("char_swap", 5, 0.05, CharProbs { swap: 0.05, ..none }, |x, y| {
        let (mut i, mut hits, mut trials) = (0, 0, 0);
        while i < x.len() {
            if i + 1 < x.len() {
                trials += 1;
                if y[i] != x[i] {
                    assert_eq!((y[i], y[i + 1]), (x[i + 1], x[i]));
                    hits += 1;
                    i += 2;
                    continue;
                }
            }
            i += 1;
        }
        (hits, trials)
    });
}
