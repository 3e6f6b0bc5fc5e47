//! Seeded random-input properties (a hand-rolled generator, no extra crate): every
//! `normalize` and `clean` option is idempotent and the character-stripping options never grow
//! the text,
//! on text mixing ASCII, combining marks, Hangul, joiners, bidi and control characters,
//! emoji and arbitrary code points; and no stage whose example builds without files panics
//! on such text.

use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use sluice::stage::registry::{StageConfig, stage_types};
use sluice::stage::{BatchContext, BuildContext, BuiltStage};

/// xorshift64*: a fixed sequence, so a failure names a case that reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Pools the generator draws characters from.
const POOLS: &[&[(u32, u32)]] = &[
    &[(0x20, 0x7E)],                                         // ASCII
    &[(0x0300, 0x036F), (0x1AB0, 0x1AFF)],                   // combining marks
    &[(0x1100, 0x1112), (0x1161, 0x1175), (0xAC00, 0xD7A3)], // Hangul jamo and syllables
    &[(0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064), (0xFEFF, 0xFEFF), (0xAD, 0xAD)],
    &[(0x00, 0x1F), (0x7F, 0x9F), (0x2028, 0x2029), (0x85, 0x85)], // controls, separators
    &[(0x1F300, 0x1F6FF), (0x1F3FB, 0x1F3FF), (0xFE0F, 0xFE0F)],   // emoji, modifiers, VS16
    &[(0xFB00, 0xFB4F), (0xFF00, 0xFFEF), (0x2460, 0x24FF), (0x3300, 0x33FF)], // compatibility
    &[(0x0900, 0x097F), (0x0600, 0x06FF), (0x0E00, 0x0E7F)],       // Devanagari, Arabic, Thai
    &[(0x09, 0x0A), (0x0D, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x3000, 0x3000)], // whitespace
    &[(0x00, 0x10FFFF)],                                           // anything
];

fn text(rng: &mut Rng) -> String {
    let len = rng.below(40) as usize;
    let mut s = String::new();
    while s.chars().count() < len {
        let pool = POOLS[rng.below(POOLS.len() as u64) as usize];
        let (a, b) = pool[rng.below(pool.len() as u64) as usize];
        if let Some(c) = char::from_u32(a + rng.below((b - a + 1) as u64) as u32) {
            s.push(c);
        }
    }
    s
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
            Arc::new(StringArray::from(vec!["s"; n])),
            Arc::new(texts.iter().map(|t| Some(t.as_str())).collect::<StringArray>()),
        ],
    )
    .unwrap()
}

fn build(yaml: &str, b: &RecordBatch) -> Option<BuiltStage> {
    let cfg: StageConfig = serde_saphyr::from_str(yaml).ok()?;
    let ctx = BuildContext {
        stage_id: "p",
        input_schema: b.schema(),
        seed: 7,
        sources: vec![("s".into(), 1.0)],
        token_count: None,
    };
    cfg.build(&ctx).ok().map(|(s, _)| s)
}

fn texts_of(b: &RecordBatch) -> Vec<String> {
    let c = b.column_by_name("text").unwrap().as_any().downcast_ref::<StringArray>().unwrap();
    (0..c.len()).map(|i| c.value(i).to_string()).collect()
}

const CTX: BatchContext = BatchContext { seq: 0, seed: 7, counting: false };

#[test]
fn normalize_options_are_idempotent_and_stripping_never_grows_text() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let texts: Vec<String> = (0..3000).map(|_| text(&mut rng)).collect();
    let b = batch(&texts);
    let options = [
        ("unicode: nfc", false),
        ("unicode: nfd", false),
        ("unicode: nfkc", false),
        ("unicode: nfkd", false),
        ("lowercase: true", false),
        ("collapse_whitespace: true", true),
        ("strip_control: true", true),
        ("strip_zero_width: true", true),
        ("strip_zero_width: true\nstrip_joiners: true", true),
    ];
    for (opt, shrinks) in options {
        let Some(BuiltStage::Transform(t)) = build(&format!("type: normalize\n{opt}"), &b) else {
            panic!("normalize {opt} builds")
        };
        let once = t.apply(b.clone(), &CTX).unwrap();
        let twice = t.apply(once.clone(), &CTX).unwrap();
        let (a, c) = (texts_of(&once), texts_of(&twice));
        for (k, (x, y)) in a.iter().zip(&c).enumerate() {
            assert_eq!(x, y, "normalize {opt} is not idempotent on case {k}: {:?}", texts[k]);
            if shrinks {
                assert!(x.len() <= texts[k].len(), "normalize {opt} grew case {k}: {:?}", texts[k]);
            }
        }
    }
}

#[test]
fn clean_options_are_idempotent_and_never_grow_text() {
    let mut rng = Rng(0x5eed_1234_abcd_0002);
    let mut texts: Vec<String> = (0..3000).map(|_| text(&mut rng)).collect();
    // URLs and boilerplate lines among the random text
    for (k, t) in texts.iter_mut().enumerate().step_by(7) {
        t.insert_str(
            0,
            ["see https://x.org/a(b)c. ", "www.Example.com\n", "Accept cookies\n"][k % 3],
        );
    }
    let b = batch(&texts);
    let options = [
        "control: true",
        "zero_width: true",
        "bidi: true",
        "soft_hyphens: true",
        "spaces: true",
        "remove_categories: [So, Cn, Co, Mn]",
        "remove_chars: \"a\\u0301•\"",
        "urls: true",
        "drop_lines: [\"(?i)cookies\", \"^\\\\d\"]",
        "control: true\nzero_width: true\nbidi: true\nsoft_hyphens: true\nspaces: true\nurls: true\nremove_categories: [S]",
    ];
    for opt in options {
        let Some(BuiltStage::Transform(t)) = build(&format!("type: clean\n{opt}"), &b) else {
            panic!("clean {opt} builds")
        };
        let once = t.apply(b.clone(), &CTX).unwrap();
        let twice = t.apply(once.clone(), &CTX).unwrap();
        let (a, c) = (texts_of(&once), texts_of(&twice));
        let changed = a.iter().zip(&texts).filter(|(x, y)| x != y).count();
        assert!(changed > 0, "clean {opt} changed nothing");
        for (k, (x, y)) in a.iter().zip(&c).enumerate() {
            assert_eq!(x, y, "clean {opt} is not idempotent on case {k}: {:?}", texts[k]);
            assert!(x.len() <= texts[k].len(), "clean {opt} grew case {k}: {:?}", texts[k]);
        }
    }
}

#[test]
fn no_stage_panics_on_arbitrary_text() {
    let mut rng = Rng(0x0dd_ba11_cafe_f00d);
    let texts: Vec<String> = (0..2000).map(|_| text(&mut rng)).collect();
    let b = batch(&texts);
    let mut ran = Vec::new();
    for t in stage_types() {
        let yaml = serde_saphyr::to_string(&t.example).unwrap();
        // stages whose example needs files or a column this batch lacks do not build here
        let Some(stage) = build(&yaml, &b) else { continue };
        let rows = match &stage {
            BuiltStage::Transform(s) => s.apply(b.clone(), &CTX).map(|o| o.num_rows()),
            BuiltStage::Filter(f, _) => f.evaluate(&b, &CTX).map(|v| v.reasons.len()),
            BuiltStage::Expand(e) => e.expand(&b, &CTX).map(|x| x.parents.len()),
            BuiltStage::Ordered(o, _) => {
                // a counted stage's count pass too (its write pass needs a plan)
                let counting = BatchContext { counting: true, ..CTX };
                let _ = o.prepare(&b, &counting).and_then(|p| o.decider().decide(&b, p));
                o.prepare(&b, &CTX).and_then(|p| o.decider().decide(&b, p)).map(|d| d.reasons.len())
            }
        };
        // an error is an answer; a panic would have failed the test already
        if let Ok(n) = rows {
            assert!(n <= b.num_rows() * 64, "{}: {n} rows", t.name);
        }
        ran.push(t.name);
    }
    assert!(ran.len() >= 12, "only {ran:?} ran");
}
