//! `sluice train-tokenizer`: trains a byte-level BPE `tokenizer.json` on the documents of a
//! pipeline's sources, reproducibly (same documents and settings give the same file).

use std::path::Path;

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::normalizers::unicode::NFC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::processors::byte_level::ByteLevel as ByteLevelProcessor;
use tokenizers::{AddedToken, TokenizerBuilder};

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::source::{ReadOutput, jsonl, parquet};

/// End-of-text token added to every trained vocabulary.
pub const EOS: &str = "<|endoftext|>";

/// Collects the texts of every document of the plan's sources (bad records are skipped).
pub fn source_texts(plan: &Plan) -> Result<Vec<String>> {
    let mut texts = Vec::new();
    for s in &plan.sources {
        for file in &s.files {
            let outputs: Vec<ReadOutput> = match file.format {
                crate::config::SourceFormat::Jsonl => {
                    let reader = jsonl::open(file, Default::default())?;
                    jsonl::Chunker::new(reader, 1 << 22, 1 << 16)
                        .filter_map(|c| match c {
                            jsonl::Cut::Chunk(c) => {
                                Some(jsonl::parse_chunk(&c, file, s, &plan.doc_schema))
                            }
                            _ => None,
                        })
                        .collect::<Result<_>>()?
                }
                crate::config::SourceFormat::Parquet => {
                    let mut first = 0;
                    let mut outs = Vec::new();
                    for (i, rows) in parquet::row_groups(file)?.into_iter().enumerate() {
                        outs.push(parquet::read_row_group(
                            file,
                            i,
                            first,
                            rows,
                            s,
                            &plan.doc_schema,
                        )?);
                        first += rows;
                    }
                    outs
                }
            };
            for o in outputs {
                if let Some(b) = o.batch {
                    let col = crate::stage::text_column(&b)?;
                    texts.extend(col.iter().flatten().map(str::to_string));
                }
            }
        }
    }
    Ok(texts)
}

/// Trains a byte-level BPE with `vocab_size` entries and writes it to `out`.
pub fn train_bpe(
    texts: &[String],
    vocab_size: usize,
    min_frequency: u64,
    out: &Path,
) -> Result<()> {
    let mut trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(min_frequency)
        .show_progress(false)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .special_tokens(vec![AddedToken::from(EOS, true)])
        .build();
    let mut tokenizer = TokenizerBuilder::new()
        .with_model(BPE::default())
        .with_normalizer(Some(NFC))
        .with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false)))
        .with_post_processor(Some(ByteLevelProcessor::default()))
        .with_decoder(Some(ByteLevelDecoder::default()))
        .build()
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
    tokenizer
        .train(&mut trainer, texts.iter())
        .map_err(|e| Error::Tokenizer(format!("training failed: {e}")))?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    tokenizer
        .save(out, false)
        .map_err(|e| Error::Tokenizer(format!("cannot save {}: {e}", out.display())))?;
    Ok(())
}
