//! `tokenize`: encodes the text with a Hugging Face `tokenizer.json` and adds the columns
//! `input_ids` (`list<int32>`) and `num_tokens` (`int32`). Truncation and padding saved in the
//! file are switched off (real files carry them), and special tokens come only from
//! `add_bos`/`add_eos`, so ids equal `tokenizers`' `encode(text, add_special_tokens=False)`
//! plus the requested BOS/EOS.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int32Array, ListArray, RecordBatch};
use arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, SchemaRef};
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokenizers::Tokenizer;

use crate::tokenize::{Encoder, Want};

use super::{BatchContext, BuildContext, BuiltStage, StageBuilder, Transform, string_column};
use crate::error::{Error, Result};

/// Text per parallel chunk inside one batch.
const CHUNK_BYTES: usize = 1 << 20;

/// Column holding the token ids.
pub const INPUT_IDS: &str = "input_ids";
/// Column holding the number of tokens.
pub const NUM_TOKENS: &str = "num_tokens";

/// Tokenizes a text column. Stages may follow it (a filter on `num_tokens`, resampling).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenizeConfig {
    /// Path to a Hugging Face `tokenizer.json` (BPE, WordPiece, Unigram, ...); a
    /// zstd-compressed `tokenizer.json.zst` also works.
    pub tokenizer: String,
    /// Column to tokenize.
    #[serde(default = "super::normalize::default_column")]
    pub column: String,
    /// Prepend the BOS token to every document.
    #[serde(default)]
    pub add_bos: bool,
    /// Append the EOS token to every document (the usual document separator for packing).
    #[serde(default = "yes")]
    pub add_eos: bool,
    /// BOS token; by default the first of `<|begin_of_text|>`, `<s>`, `<bos>`,
    /// `<|startoftext|>`, `[CLS]` found in the vocabulary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bos_token: Option<String>,
    /// EOS token; by default the first of `<|endoftext|>`, `<|end_of_text|>`, `</s>`, `<eos>`,
    /// `[SEP]` found in the vocabulary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eos_token: Option<String>,
    /// Encoder: `auto` uses sluice's byte-level BPE where it reproduces the file exactly
    /// (GPT-2 and Llama-3 style tokenizers) and Hugging Face `tokenizers` otherwise;
    /// `reference` always uses `tokenizers`. `sluice explain` and the manifest name the choice.
    #[serde(default)]
    pub engine: Want,
}

fn yes() -> bool {
    true
}

const BOS_NAMES: &[&str] = &["<|begin_of_text|>", "<s>", "<bos>", "<|startoftext|>", "[CLS]"];
const EOS_NAMES: &[&str] = &["<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "[SEP]"];

impl StageBuilder for TokenizeConfig {
    const NAME: &'static str = "tokenize";

    fn example() -> Self {
        TokenizeConfig {
            tokenizer: "sample_data/tokenizer.json".into(),
            column: "text".into(),
            add_bos: false,
            add_eos: true,
            bos_token: None,
            eos_token: None,
            engine: Want::Auto,
        }
    }

    fn check(&self) -> Vec<String> {
        if self.tokenizer.is_empty() { vec!["`tokenizer` is empty".into()] } else { Vec::new() }
    }

    fn build(&self, cx: &BuildContext) -> Result<BuiltStage> {
        Ok(self.build_with_facts(cx)?.0)
    }

    fn build_with_facts(&self, cx: &BuildContext) -> Result<(BuiltStage, super::StageFacts)> {
        super::require_string(&cx.input_schema, &self.column)?;
        let t = Tokenize::load(self)?;
        let facts = super::StageFacts {
            tokenizer: Some(t.info().clone()),
            tokens: Some(super::TokenColumns { ids: INPUT_IDS.into(), count: NUM_TOKENS.into() }),
        };
        Ok((BuiltStage::Transform(Box::new(t)), facts))
    }
}

/// Facts about the tokenizer recorded in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenizerInfo {
    /// The path as given in the pipeline file.
    pub name: String,
    /// sha256 of the (uncompressed) tokenizer.json.
    pub tokenizer_json_sha256: String,
    /// Vocabulary size, added tokens included.
    pub vocab_size: u32,
    /// Largest id the tokenizer can produce.
    pub max_token_id: u32,
    /// BOS id, if the tokenizer has one.
    pub bos_id: Option<u32>,
    /// EOS id, if the tokenizer has one.
    pub eos_id: Option<u32>,
    /// Whether BOS is prepended.
    pub add_bos: bool,
    /// Whether EOS is appended.
    pub add_eos: bool,
    /// The encoder serving this tokenizer: sluice's byte-level BPE or `tokenizers` (and why).
    #[serde(default)]
    pub engine: String,
}

/// A loaded tokenizer plus the special-token policy.
pub struct Tokenize {
    encoder: Encoder,
    column: String,
    bos: Option<u32>,
    eos: Option<u32>,
    info: TokenizerInfo,
}

/// Reads a tokenizer.json (or .json.zst) and disables its truncation and padding.
pub fn load_tokenizer(path: &str) -> Result<(Tokenizer, Vec<u8>)> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = if path.ends_with(".zst") {
        zstd::decode_all(raw.as_slice()).map_err(|e| Error::io(path, e))?
    } else {
        raw
    };
    let mut tok = Tokenizer::from_bytes(&bytes)
        .map_err(|e| Error::Tokenizer(format!("{path}: not a valid tokenizer.json: {e}")))?;
    tok.with_truncation(None).map_err(|e| Error::Tokenizer(e.to_string()))?;
    tok.with_padding(None);
    Ok((tok, bytes))
}

fn resolve(
    tok: &Tokenizer,
    wanted: bool,
    explicit: &Option<String>,
    names: &[&str],
    what: &str,
) -> Result<Option<u32>> {
    if let Some(name) = explicit {
        return tok.token_to_id(name).map(Some).ok_or_else(|| {
            Error::Invalid(format!("{what}_token `{name}` is not in the tokenizer's vocabulary"))
        });
    }
    let found = names.iter().find_map(|n| tok.token_to_id(n));
    if wanted && found.is_none() {
        return Err(Error::Invalid(format!(
            "add_{what} is set but none of {} is in the vocabulary; set `{what}_token`",
            names.join(", ")
        )));
    }
    Ok(found)
}

impl Tokenize {
    /// Loads the tokenizer named in `cfg`.
    pub fn load(cfg: &TokenizeConfig) -> Result<Self> {
        let (tokenizer, bytes) = load_tokenizer(&cfg.tokenizer)?;
        let encoder = Encoder::new(tokenizer, cfg.engine)?;
        let tokenizer = encoder.tokenizer();
        let bos = resolve(tokenizer, cfg.add_bos, &cfg.bos_token, BOS_NAMES, "bos")?;
        let eos = resolve(tokenizer, cfg.add_eos, &cfg.eos_token, EOS_NAMES, "eos")?;
        let vocab_size = tokenizer.get_vocab_size(true) as u32;
        let max_token_id = tokenizer.get_vocab(true).values().copied().max().unwrap_or(0);
        let info = TokenizerInfo {
            name: cfg.tokenizer.clone(),
            tokenizer_json_sha256: hex(&Sha256::digest(&bytes)),
            vocab_size,
            max_token_id,
            bos_id: bos,
            eos_id: eos,
            add_bos: cfg.add_bos,
            add_eos: cfg.add_eos,
            engine: encoder.choice().describe(),
        };
        Ok(Tokenize {
            encoder,
            column: cfg.column.clone(),
            bos: if cfg.add_bos { bos } else { None },
            eos: if cfg.add_eos { eos } else { None },
            info,
        })
    }

    /// Token ids of one text, without special tokens.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = Vec::new();
        self.encoder.encode_into(text, &mut ids)?;
        Ok(ids)
    }

    /// Manifest facts.
    pub fn info(&self) -> &TokenizerInfo {
        &self.info
    }
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `input_ids` field: `list<element: int32 not null> not null`.
pub fn input_ids_field() -> Field {
    Field::new(
        INPUT_IDS,
        DataType::List(Arc::new(Field::new("element", DataType::Int32, false))),
        false,
    )
}

impl Transform for Tokenize {
    fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef> {
        let s = super::with_field(input, input_ids_field());
        Ok(super::with_field(&s, Field::new(NUM_TOKENS, DataType::Int32, false)))
    }

    fn apply(&self, batch: RecordBatch, _: &BatchContext) -> Result<RecordBatch> {
        let col = string_column(&batch, &self.column)?;
        // Documents are encoded in chunks of about CHUNK_BYTES of text, in parallel, so that a
        // batch of a few very long documents (books) still uses every thread; the chunks are
        // joined in order.
        let mut bounds = vec![0usize];
        let mut bytes = 0usize;
        for i in 0..col.len() {
            bytes += col.value(i).len();
            if bytes >= CHUNK_BYTES && i + 1 < col.len() {
                bounds.push(i + 1);
                bytes = 0;
            }
        }
        bounds.push(col.len());
        let chunks: Vec<(Vec<u32>, Vec<usize>)> = bounds
            .par_windows(2)
            .map(|w| {
                let mut ids = Vec::new();
                let mut lens = Vec::with_capacity(w[1] - w[0]);
                for i in w[0]..w[1] {
                    let start = ids.len();
                    ids.extend(self.bos);
                    let text = if col.is_null(i) { "" } else { col.value(i) };
                    self.encoder.encode_into(text, &mut ids)?;
                    ids.extend(self.eos);
                    lens.push(ids.len() - start);
                }
                Ok((ids, lens))
            })
            .collect::<Result<_>>()?;
        let total: usize = chunks.iter().map(|c| c.0.len()).sum();
        if i32::try_from(total).is_err() {
            return Err(Error::Tokenizer(
                "more than 2^31 tokens in one batch; lower `batch_size`".into(),
            ));
        }
        let mut offsets = Vec::with_capacity(col.len() + 1);
        offsets.push(0i32);
        let mut counts = Vec::with_capacity(col.len());
        // One chunk (the usual batch of short documents) hands its buffer over without a copy.
        let mut all: Vec<u32> = Vec::new();
        for (ids, lens) in chunks {
            if all.is_empty() {
                all = ids;
                all.reserve(total - all.len());
            } else {
                all.extend_from_slice(&ids);
            }
            for len in lens {
                counts.push(len as i32);
                offsets.push(offsets[offsets.len() - 1] + len as i32);
            }
        }
        let n = all.len();
        let values = Int32Array::new(ScalarBuffer::new(Buffer::from_vec(all), 0, n), None);
        let element = Arc::new(Field::new("element", DataType::Int32, false));
        let ids = ListArray::try_new(
            element,
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            Arc::new(values),
            None,
        )
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let ids: ArrayRef = Arc::new(ids);
        let batch = super::with_column(&batch, input_ids_field(), ids)?;
        super::with_column(
            &batch,
            Field::new(NUM_TOKENS, DataType::Int32, false),
            Arc::new(Int32Array::from(counts)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GPT2: &str = "../shared/data/tokenizers/gpt2/tokenizer.json";

    #[test]
    fn gpt2_truncation_is_disabled_and_eos_appended() {
        let cfg = TokenizeConfig { tokenizer: GPT2.into(), ..TokenizeConfig::example() };
        let t = Tokenize::load(&cfg).unwrap();
        let long = "word ".repeat(200).trim_end().to_string();
        assert_eq!(t.encode(&long).unwrap().len(), 200);
        assert_eq!(t.info().eos_id, Some(50256));
        let b = crate::stage::test_util::batch(&["Hello world"]);
        let out = t.apply(b, &crate::stage::test_util::ctx()).unwrap();
        let n =
            out.column_by_name(NUM_TOKENS).unwrap().as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(n.value(0), 3);
    }

    #[test]
    fn missing_eos_token_is_a_clear_error() {
        let cfg = TokenizeConfig {
            tokenizer: GPT2.into(),
            eos_token: Some("<nope>".into()),
            ..TokenizeConfig::example()
        };
        let err = Tokenize::load(&cfg).err().unwrap().to_string();
        assert!(err.contains("<nope>"), "{err}");
    }
}
