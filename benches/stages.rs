//! Criterion benches: one group per stage (and the JSONL reader's per-line checks), throughput
//! in bytes of text, on real documents from ../shared/data/corpora/web_c4_en_sample.
//!
//! `cargo bench --bench stages` (add `-- normalize` to run one group).

use std::io::BufRead;
use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sluice::stage::registry::StageConfig;
use sluice::stage::{BatchContext, BuildContext, BuiltStage};

const CORPUS: &str = "../shared/data/corpora/web_c4_en_sample.jsonl.zst";
/// Web text in many languages (a fifth of its words are not ASCII).
const DOLMA: &str = "../shared/data/corpora/web_dolma_ccmain2019_sample.jsonl.zst";

fn texts() -> Vec<String> {
    texts_of(CORPUS)
}

fn texts_of(path: &str) -> Vec<String> {
    let f = std::fs::File::open(path).expect("run from the crate root with ../shared present");
    std::io::BufReader::new(zstd::Decoder::new(f).unwrap())
        .lines()
        .take(512)
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(&l.unwrap()).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn batch(texts: &[String]) -> RecordBatch {
    let n = texts.len();
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("source", DataType::Utf8, false),
            Field::new("text", DataType::Utf8, false),
        ])),
        vec![
            Arc::new((0..n).map(|i| Some(format!("d{i}"))).collect::<StringArray>()),
            Arc::new(StringArray::from(vec!["web"; n])),
            Arc::new(texts.iter().map(|t| Some(t.as_str())).collect::<StringArray>()),
        ],
    )
    .unwrap()
}

fn stage(yaml: &str, schema: Arc<Schema>) -> BuiltStage {
    let cfg: StageConfig = serde_saphyr::from_str(yaml).unwrap();
    cfg.build(&BuildContext {
        stage_id: "bench",
        input_schema: schema,
        seed: 0,
        sources: Vec::new(),
        token_count: None,
    })
    .unwrap()
    .0
}

fn run(s: &BuiltStage, b: &RecordBatch) -> usize {
    let ctx = BatchContext { seq: 0, seed: 0, counting: false };
    match s {
        BuiltStage::Transform(t) => t.apply(b.clone(), &ctx).unwrap().num_rows(),
        BuiltStage::Filter(f, _) => f.evaluate(b, &ctx).unwrap().reasons.len(),
        BuiltStage::Expand(e) => e.expand(b, &ctx).unwrap().parents.len(),
        // hashing on the workers plus the in-order decision, from an empty state each time
        BuiltStage::Ordered(o, _) => {
            let prepared = o.prepare(b, &ctx).unwrap();
            o.decider().decide(b, prepared).unwrap().reasons.len()
        }
    }
}

fn benches(c: &mut Criterion) {
    let texts = texts();
    let b = batch(&texts);
    let bytes: usize = texts.iter().map(String::len).sum();
    let cases = [
        ("exact_dedup", "type: exact_dedup\nlowercase: true\nfold_whitespace: true"),
        (
            "normalize",
            "type: normalize\nunicode: nfkc\ncollapse_whitespace: true\nstrip_control: true\nstrip_zero_width: true",
        ),
        ("length_filter", "type: length_filter\nmin_words: 50\nmax_chars: 100000"),
        ("regex_filter", "type: regex_filter\npattern: '(?i)lorem ipsum|click here'"),
        (
            "regex_replace",
            "type: regex_replace\npattern: '[\\w.+-]+@[\\w-]+\\.[\\w.-]+'\nreplacement: '<EMAIL>'",
        ),
        ("pii_redact", "type: pii_redact"),
        ("sql_filter", "type: sql_filter\npredicate: \"length(text) >= 200 AND source = 'web'\""),
        ("gopher_repetition", "type: gopher_repetition"),
        ("gopher_quality", "type: gopher_quality"),
        ("c4_quality", "type: c4_quality"),
        ("fineweb_quality", "type: fineweb_quality"),
        (
            "tokenize_gpt2",
            "type: tokenize\ntokenizer: ../shared/data/tokenizers/gpt2/tokenizer.json",
        ),
        (
            "tokenize_gpt2_reference",
            "type: tokenize\ntokenizer: ../shared/data/tokenizers/gpt2/tokenizer.json\nengine: reference",
        ),
        (
            "tokenize_llama3",
            "type: tokenize\ntokenizer: ../shared/data/tokenizers/llama3/tokenizer.json.zst",
        ),
        (
            "tokenize_llama3_reference",
            "type: tokenize\ntokenizer: ../shared/data/tokenizers/llama3/tokenizer.json.zst\nengine: reference",
        ),
        (
            // NFC normalizer: served by the reference engine.
            "tokenize_neox",
            "type: tokenize\ntokenizer: ../shared/data/tokenizers/gpt-neox-20b_olmo_dolma-test/tokenizer.json",
        ),
    ];
    for (name, yaml) in cases {
        let s = stage(yaml, b.schema());
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(bytes as u64));
        g.sample_size(10);
        g.bench_function("c4_512_docs", |bench| bench.iter(|| run(&s, &b)));
        g.finish();
    }
}

/// The spaCy-compatible English tokenizer alone (the quality filters cache its output per
/// text, so their groups above mostly measure the rest of their work).
fn tokenizer(c: &mut Criterion) {
    let t = sluice::text::EnTokenizer::new();
    let mut g = c.benchmark_group("spacy_en_tokenizer");
    g.sample_size(10);
    for (name, path) in [("c4_512_docs", CORPUS), ("dolma_512_docs", DOLMA)] {
        let texts = texts_of(path);
        g.throughput(Throughput::Bytes(texts.iter().map(String::len).sum::<usize>() as u64));
        g.bench_function(name, |bench| {
            bench.iter(|| texts.iter().map(|x| t.words(x).len()).sum::<usize>())
        });
    }
    g.finish();
}

/// Each `normalize` option alone, on C4 (mostly ASCII: the quick checks) and on the Dolma web
/// sample (a fifth of its words are not ASCII).
fn normalize_ops(c: &mut Criterion) {
    let ops = [
        ("nfc", "unicode: nfc"),
        ("nfkc", "unicode: nfkc"),
        ("nfd", "unicode: nfd"),
        ("lowercase", "lowercase: true"),
        ("collapse_whitespace", "collapse_whitespace: true"),
        ("strip_control", "strip_control: true"),
        ("strip_zero_width", "strip_zero_width: true"),
    ];
    op_groups(c, "normalize", &ops);
}

/// Each `clean` option (or family of options) alone, and all together, on C4 and Dolma.
fn clean_ops(c: &mut Criterion) {
    let chars = "control: true\nzero_width: true\nbidi: true\nsoft_hyphens: true\nspaces: true";
    let lines = r"drop_lines: ['(?i)^\s*(accept|manage) (all )?cookies', '(?i)all rights reserved', '^\d+ comments?$']";
    let all = format!("{chars}\nremove_categories: [So, Co]\nurls: true\n{lines}");
    let ops = [
        ("characters", chars),
        ("categories", "remove_categories: [So, Co]"),
        ("urls", "urls: true"),
        ("drop_lines", lines),
        ("all", all.as_str()),
    ];
    op_groups(c, "clean", &ops);
}

/// One criterion group per corpus (`{stage}_op_{corpus}`) timing `stage` with each option set.
fn op_groups(c: &mut Criterion, stage_type: &str, ops: &[(&str, &str)]) {
    for (corpus, path) in [("c4", CORPUS), ("dolma", DOLMA)] {
        let texts = texts_of(path);
        let b = batch(&texts);
        let mut g = c.benchmark_group(format!("{stage_type}_op_{corpus}"));
        g.throughput(Throughput::Bytes(texts.iter().map(String::len).sum::<usize>() as u64));
        g.sample_size(10);
        for (name, opt) in ops {
            let s = stage(&format!("type: {stage_type}\n{opt}"), b.schema());
            g.bench_function(*name, |bench| bench.iter(|| run(&s, &b)));
        }
        g.finish();
    }
}

/// `minhash_dedup`'s count-pass work alone: datatrove's simplified text, word 5-grams, XXH64
/// and 112 permutation minima per document (`Signer::signature`).
fn minhash(c: &mut Criterion) {
    let signer = sluice::stage::minhash::signature::Signer::new(Default::default());
    let mut g = c.benchmark_group("minhash_signature");
    g.sample_size(10);
    for (name, path) in [("c4_512_docs", CORPUS), ("dolma_512_docs", DOLMA)] {
        let texts = texts_of(path);
        g.throughput(Throughput::Bytes(texts.iter().map(String::len).sum::<usize>() as u64));
        g.bench_function(name, |bench| {
            bench.iter(|| texts.iter().filter_map(|x| signer.signature(x)).count())
        });
    }
    g.finish();
}

/// Pathological documents through the four quality filters: a 50 MB single line and a
/// million repeated tokens. Cost must stay linear (compare MB/s with the c4 groups).
fn pathological(c: &mut Criterion) {
    let words = ["river", "stone", "harbor", "lantern", "meadow", "copper", "willow", "ember"];
    let mut line = String::with_capacity(50 << 20);
    let mut i = 0usize;
    while line.len() < 50 << 20 {
        line.push_str(words[(i * 7 + i / 3) % words.len()]);
        line.push_str(if i % 11 == 10 { ". " } else { " " });
        i += 1;
    }
    let repeated = "the ".repeat(1_000_000);
    for (name, text) in [("single_line_50mb", line), ("million_repeated_tokens", repeated)] {
        let b = batch(std::slice::from_ref(&text));
        let stages: Vec<BuiltStage> =
            ["gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality"]
                .iter()
                .map(|t| stage(&format!("type: {t}\nmode: annotate"), b.schema()))
                .collect();
        let mut g = c.benchmark_group(format!("pathological_{name}"));
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.sample_size(10);
        g.bench_function("quality_chain", |bench| {
            bench.iter(|| stages.iter().map(|s| run(s, &b)).sum::<usize>())
        });
        g.finish();
    }
}

/// `augment` with one copy per document, on the same 512 C4 documents: every operation on (a
/// small synonym table of common words), and character noise alone. Throughput is input text
/// per second; the work grows with `copies`.
fn augment(c: &mut Criterion) {
    let texts = texts();
    let b = batch(&texts);
    let bytes: usize = texts.iter().map(String::len).sum();
    let syn =
        std::env::temp_dir().join(format!("sluice-bench-synonyms-{}.tsv", std::process::id()));
    std::fs::write(
        &syn,
        "good\tfine\tgreat\nnew\tfresh\tnovel\nuse\temploy\nmake\tcreate\tbuild\n\
         help\tassist\taid\nbig\tlarge\thuge\nsmall\tlittle\ttiny\nfast\tquick\trapid\n\
         home\thouse\nbuy\tpurchase\nget\tobtain\nshow\tdisplay\nstart\tbegin\n",
    )
    .unwrap();
    let all = format!(
        "type: augment\ncopies: 1\nprotect: 'https?://\\S+'\nsynonyms: '{}'\nsynonym: 0.2\n\
         word_swap: 0.05\nword_delete: 0.05\nword_insert: 0.05\nsentence_shuffle: 0.2\n\
         char_noise: {{ swap: 0.01, drop: 0.01, duplicate: 0.01, keyboard: 0.01 }}",
        syn.display()
    );
    let chars = "type: augment\ncopies: 1\nchar_noise: { swap: 0.01, drop: 0.01, duplicate: 0.01, keyboard: 0.01 }";
    let mut g = c.benchmark_group("augment");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(10);
    for (name, yaml) in [("all_ops", all.as_str()), ("char_noise_only", chars)] {
        let s = stage(yaml, b.schema());
        g.bench_function(name, |bench| bench.iter(|| run(&s, &b)));
    }
    g.finish();
    let _ = std::fs::remove_file(syn);
}

criterion_group!(
    stages,
    benches,
    augment,
    tokenizer,
    minhash,
    normalize_ops,
    clean_ops,
    pathological,
    jsonl_line_checks
);
criterion_main!(stages);

/// A JSON line as Python's `json.dumps` writes it: every non-ASCII character escaped.
fn ascii_escaped(line: &str) -> String {
    let mut out = String::with_capacity(line.len() * 2);
    let mut units = [0u16; 2];
    for c in line.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// The per-line checks of the JSONL reader before the columnar decoder (`source::escapes`,
/// `source::linecheck`), on multilingual web lines as written and ASCII-escaped.
fn jsonl_line_checks(c: &mut Criterion) {
    use sluice::source::{escapes, linecheck};
    let f = std::fs::File::open(DOLMA).expect("run from the crate root with ../shared present");
    let raw: Vec<String> = std::io::BufReader::new(zstd::Decoder::new(f).unwrap())
        .lines()
        .take(512)
        .map(|l| l.unwrap())
        .collect();
    let escaped: Vec<String> = raw.iter().map(|l| ascii_escaped(l)).collect();
    for (name, lines) in [("as_written", &raw), ("ascii_escaped", &escaped)] {
        let mut g = c.benchmark_group("jsonl_line_checks");
        g.throughput(Throughput::Bytes(lines.iter().map(|l| l.len() as u64).sum()));
        g.bench_function(name, |bench| {
            bench.iter(|| {
                let mut n = 0;
                for l in lines.iter() {
                    let p = escapes::prepare(l.as_bytes()).unwrap();
                    n += linecheck::check(&p, "text", &["id"]).unwrap().unknown.len();
                }
                n
            })
        });
    }
}
