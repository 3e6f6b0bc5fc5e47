//! Token encoders behind the `tokenize` stage. Every tokenizer loads into the reference engine
//! (Hugging Face `tokenizers`); a byte-level BPE tokenizer whose every part sluice reproduces
//! (no normalizer, the GPT-2 or Llama-3 split pattern, a plain BPE model, added tokens without
//! strip or single-word rules) is served by sluice's own encoder instead, chosen once at plan
//! time. Both give `encode(text, add_special_tokens=False)` ids; the id gate test holds the
//! fast path to the Python binding's ids on every shared corpus.

mod bpe;
pub mod classes;
mod pretok;

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};
use serde_json::Value;
use tokenizers::Tokenizer;

pub use pretok::{GPT2_REGEX, LLAMA3_REGEX, Pattern};

use crate::error::{Error, Result};

/// Which engine encodes: the chosen one is reported by `sluice explain` and in the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineChoice {
    /// sluice's byte-level BPE with the named split pattern.
    Fast(Pattern),
    /// Hugging Face `tokenizers`, with the reason the fast path does not serve this file.
    Reference(String),
}

impl EngineChoice {
    /// One line for reports, e.g. `sluice-bpe (gpt2 split)`.
    pub fn describe(&self) -> String {
        match self {
            EngineChoice::Fast(p) => format!("sluice-bpe ({} split)", p.name()),
            EngineChoice::Reference(why) => format!("tokenizers 0.23 (reference: {why})"),
        }
    }
}

/// Added tokens split out before pretokenization, as `tokenizers` does: first those matched on
/// the raw text, then (in the gaps) those matched on normalized text (the same text here, since
/// the fast path has no normalizer). Each pass is leftmost-longest.
struct AddedTokens {
    passes: Vec<(AhoCorasick, Vec<u32>)>,
}

impl AddedTokens {
    fn split(&self, text: &str, pass: usize, f: &mut impl FnMut(Result<&str, u32>)) {
        let Some((ac, ids)) = self.passes.get(pass) else {
            return f(Ok(text));
        };
        let mut last = 0;
        for m in ac.find_iter(text) {
            if m.start() > last {
                self.split(&text[last..m.start()], pass + 1, f);
            }
            f(Err(ids[m.pattern().as_usize()]));
            last = m.end();
        }
        if last < text.len() {
            self.split(&text[last..], pass + 1, f);
        }
    }
}

/// sluice's byte-level BPE encoder.
struct Fast {
    pattern: Pattern,
    bpe: bpe::ByteBpe,
    added: AddedTokens,
}

impl Fast {
    fn encode(&self, text: &str, out: &mut Vec<u32>) {
        let mut cache = self.bpe.cache();
        self.added.split(text, 0, &mut |seg| match seg {
            Ok(s) => self.pattern.split(s, |p| self.bpe.encode_piece(p, &mut cache, out)),
            Err(id) => out.push(id),
        });
    }
}

/// An encoder: the reference tokenizer plus, where it qualifies, the fast path.
pub struct Encoder {
    reference: Tokenizer,
    fast: Option<Fast>,
    choice: EngineChoice,
}

/// `tokenize.engine`: which encoder a pipeline asks for.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Want {
    /// sluice's encoder where it reproduces the file exactly, else the reference.
    #[default]
    Auto,
    /// Hugging Face `tokenizers` for every document.
    Reference,
}

impl Encoder {
    /// Wraps a loaded tokenizer (truncation and padding already off).
    pub fn new(reference: Tokenizer, want: Want) -> Result<Encoder> {
        let (fast, choice) = match want {
            Want::Reference => (None, EngineChoice::Reference("asked for in the pipeline".into())),
            Want::Auto => match fast_path(&reference)? {
                Ok(f) => {
                    let p = f.pattern;
                    (Some(f), EngineChoice::Fast(p))
                }
                Err(why) => (None, EngineChoice::Reference(why)),
            },
        };
        Ok(Encoder { reference, fast, choice })
    }

    /// The engine in use.
    pub fn choice(&self) -> &EngineChoice {
        &self.choice
    }

    /// The reference tokenizer (vocabulary lookups).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.reference
    }

    /// Appends the ids of `text` (no special tokens) to `out`.
    pub fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> Result<()> {
        match &self.fast {
            Some(f) => f.encode(text, out),
            None => {
                let enc = self
                    .reference
                    .encode_fast(text, false)
                    .map_err(|e| Error::Tokenizer(e.to_string()))?;
                out.extend_from_slice(enc.get_ids());
            }
        }
        Ok(())
    }
}

/// The fast path for `tok`, or why it does not qualify. It reads the tokenizer as `tokenizers`
/// re-serializes it, not the file: legacy merge formats and duplicate merges then arrive
/// already resolved the way `tokenizers` resolved them. The vocabulary and merges are read
/// straight into typed maps (no JSON tree of a 128 k-token vocabulary: that tree alone raised
/// the peak memory of a Llama-3 run by about 100 MB).
fn fast_path(tok: &Tokenizer) -> Result<std::result::Result<Fast, String>> {
    let text = tok.to_string(false).map_err(|e| Error::Tokenizer(e.to_string()))?;
    let bad = |e: serde_json::Error| Error::Tokenizer(format!("re-serialized tokenizer: {e}"));
    let file: FileJson = serde_json::from_str(&text).map_err(bad)?;
    let head: ModelHead = serde_json::from_str(file.model.get()).map_err(bad)?;
    Ok(qualify(tok, &file, &head))
}

/// The parts of a serialized tokenizer the fast path looks at; the model stays unparsed until
/// its type is known.
#[derive(serde::Deserialize)]
struct FileJson<'a> {
    #[serde(default)]
    normalizer: Value,
    #[serde(default)]
    pre_tokenizer: Value,
    #[serde(borrow)]
    model: &'a serde_json::value::RawValue,
}

/// A model's settings, without its vocabulary.
#[derive(serde::Deserialize)]
struct ModelHead {
    #[serde(rename = "type", default)]
    kind: Value,
    #[serde(default)]
    dropout: Value,
    #[serde(default)]
    continuing_subword_prefix: Value,
    #[serde(default)]
    end_of_word_suffix: Value,
    #[serde(default)]
    byte_fallback: Value,
    #[serde(default)]
    ignore_merges: Value,
}

/// A BPE model's vocabulary and merges.
#[derive(serde::Deserialize)]
struct BpeBody {
    vocab: HashMap<String, u32>,
    merges: Vec<MergeJson>,
}

/// One merge, in either serialization `tokenizers` has used.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum MergeJson {
    /// `"a b"`
    Joined(String),
    /// `["a", "b"]`
    Pair(String, String),
}

impl MergeJson {
    fn into_pair(self) -> Option<(String, String)> {
        match self {
            MergeJson::Joined(s) => {
                let (a, b) = s.split_once(' ')?;
                Some((a.to_string(), b.to_string()))
            }
            MergeJson::Pair(a, b) => Some((a, b)),
        }
    }
}

fn is_null_or(v: &Value, ok: impl Fn(&Value) -> bool) -> bool {
    v.is_null() || ok(v)
}

/// The split pattern of a byte-level pretokenizer sluice reproduces.
fn pattern_of(pre: &Value) -> std::result::Result<Pattern, String> {
    let byte_level = |v: &Value, regex: bool| {
        v["type"] == "ByteLevel"
            && v["add_prefix_space"] == false
            && v["use_regex"] == Value::Bool(regex)
    };
    if byte_level(pre, true) {
        return Ok(Pattern::Gpt2);
    }
    if pre["type"] == "Sequence"
        && let [split, bl] = pre["pretokenizers"].as_array().map(Vec::as_slice).unwrap_or(&[])
        && split["type"] == "Split"
        && split["behavior"] == "Isolated"
        && split["invert"] == false
        && byte_level(bl, false)
    {
        return split["pattern"]["Regex"]
            .as_str()
            .and_then(Pattern::from_regex)
            .ok_or_else(|| "a split pattern sluice has no scanner for".into());
    }
    Err(format!("pretokenizer {} is not byte-level GPT-2/Llama-3", pre["type"]))
}

fn qualify(tok: &Tokenizer, file: &FileJson, m: &ModelHead) -> std::result::Result<Fast, String> {
    if !file.normalizer.is_null() {
        return Err(format!("normalizer {}", file.normalizer["type"]));
    }
    let pattern = pattern_of(&file.pre_tokenizer)?;
    if m.kind != "BPE" {
        return Err(format!("model {}", m.kind));
    }
    let empty = |v: &Value| v == "";
    if !is_null_or(&m.dropout, |v| v.as_f64() == Some(0.0))
        || !is_null_or(&m.continuing_subword_prefix, empty)
        || !is_null_or(&m.end_of_word_suffix, empty)
        || m.byte_fallback == true
    {
        return Err("BPE with dropout, subword affixes or byte fallback".into());
    }
    let body: BpeBody = serde_json::from_str(file.model.get())
        .map_err(|e| format!("unreadable vocabulary or merges: {e}"))?;
    let count = body.merges.len();
    let merges: Vec<(String, String)> =
        body.merges.into_iter().filter_map(MergeJson::into_pair).collect();
    if merges.len() != count {
        return Err("unreadable merges".into());
    }
    let bpe = bpe::ByteBpe::new(&body.vocab, &merges, m.ignore_merges == true)
        .ok_or("a byte or merge result missing from the vocabulary")?;
    drop((body.vocab, merges));
    let mut raw = (Vec::new(), Vec::new());
    let mut normalized = (Vec::new(), Vec::new());
    let mut added: Vec<_> = tok.get_added_tokens_decoder().into_iter().collect();
    added.sort_by_key(|(id, _)| *id);
    for (id, t) in added {
        if t.lstrip || t.rstrip || t.single_word {
            return Err(format!("added token {:?} strips spaces or is single-word", t.content));
        }
        if t.content.is_empty() {
            continue;
        }
        let pass = if t.normalized { &mut normalized } else { &mut raw };
        pass.0.push(t.content.clone());
        pass.1.push(id);
    }
    let mut passes = Vec::new();
    for (pats, ids) in [raw, normalized] {
        if !pats.is_empty() {
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&pats)
                .map_err(|e| format!("added tokens: {e}"))?;
            passes.push((ac, ids));
        }
    }
    Ok(Fast { pattern, bpe, added: AddedTokens { passes } })
}
