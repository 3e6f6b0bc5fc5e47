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
use crate::source::slices;
use crate::source::units::{self, CutOptions, Piece, Unit};

/// End-of-text token added to every trained vocabulary.
pub const EOS: &str = "<|endoftext|>";

/// Collects the texts of every document of the plan's sources, in input order, read the way a
/// run reads them (slices, units, the readers); bad records follow the pipeline's `on_error`
/// (skipped under `skip`, the first one is an error under `fail`).
pub fn source_texts(plan: &Plan) -> Result<Vec<String>> {
    let slices = slices::plan(&plan.sources, u64::MAX)?;
    let opts = CutOptions { chunk_bytes: 1 << 20, chunk_lines: 2048 };
    let mut texts = Vec::new();
    let mut failed = None;
    units::cut(&plan.sources, &slices, opts, |piece| match piece {
        Piece::Unit(unit) => match unit_texts(unit, plan, &mut texts) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        },
        Piece::SliceEnd(_) => true,
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(texts),
    }
}

/// Reads one unit and appends the texts of its good documents to `texts`.
fn unit_texts(unit: Unit, plan: &Plan, texts: &mut Vec<String>) -> Result<()> {
    let read = units::read(unit, &plan.sources, &plan.doc_schema)?;
    let out = crate::source::apply_policy(read, plan.config.on_error)?;
    if let Some(b) = out.batch {
        let col = crate::stage::text_column(&b)?;
        texts.extend(col.iter().flatten().map(str::to_string));
    }
    Ok(())
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
