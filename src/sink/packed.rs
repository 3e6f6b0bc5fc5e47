//! The `packed` output layout: tokenized documents concatenated into rows of exactly `seq_len`
//! tokens, the usual input of LLM pre-training.
//!
//! Documents arrive in order (each already ending with the EOS token the tokenizer stage
//! appends) as the `input_ids` column of Arrow batches. The [`Packer`] appends their tokens to
//! the current row; a document longer than the room left in the row continues at the start of
//! the next row (and the next, ...). Each output row holds:
//!
//! - `input_ids`: exactly `seq_len` token ids;
//! - `seq_lengths`: the lengths of the document pieces in the row, in order (a piece is the
//!   part of one document that falls into the row; a row's first piece may continue the
//!   previous row's last document). They sum to the row's real token count;
//! - `num_tokens`: the real (non-padding) tokens in the row, `seq_len` for every full row.
//!
//! At the end the last, partial row is either dropped or padded with `pad_id` up to `seq_len`.
//! A document with no tokens contributes nothing (no zero-length piece).
//!
//! The packer appends straight into flat value and offset buffers that become the output
//! arrays without a copy; between calls it holds at most one partial row.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int32Array, ListArray, RecordBatch};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use super::{INPUT_IDS, NUM_TOKENS};
use crate::error::{Error, Result};
use crate::stage::tokenize::input_ids_field;

/// Name of the column with the lengths of the document pieces of a packed row.
pub const SEQ_LENGTHS: &str = "seq_lengths";

/// The element field of the `list<element: int32 not null>` columns.
fn element_field() -> FieldRef {
    Arc::new(Field::new("element", DataType::Int32, false))
}

/// Schema of packed rows: `input_ids` and `seq_lengths` (`list<element: int32 not null> not
/// null`) and `num_tokens` (`int32 not null`), in that order, with the schema metadata copied
/// from `meta` so the caller can attach its own metadata.
pub fn packed_schema(meta: HashMap<String, String>) -> SchemaRef {
    Arc::new(
        Schema::new(vec![
            input_ids_field(),
            Field::new(SEQ_LENGTHS, DataType::List(element_field()), false),
            Field::new(NUM_TOKENS, DataType::Int32, false),
        ])
        .with_metadata(meta),
    )
}

/// Totals of a packing run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PackStats {
    /// Rows written (full rows plus a padded last row, if kept).
    pub rows: u64,
    /// Documents packed (documents with at least one token).
    pub documents: u64,
    /// Documents whose tokens span more than one row.
    pub documents_split: u64,
    /// Real (non-padding) tokens in the rows written.
    pub real_tokens: u64,
    /// Padding tokens of the padded last row.
    pub padding_tokens: u64,
    /// Tokens of the last partial row when it is dropped.
    pub tokens_dropped: u64,
}

/// Packs documents into rows of exactly `seq_len` tokens; see the module documentation.
pub struct Packer {
    /// Tokens per row.
    seq_len: usize,
    /// Token id that pads the last row when it is kept.
    pad_id: i32,
    /// Whether the last partial row is dropped rather than padded.
    drop_last: bool,
    /// Schema of the output batches (see [`packed_schema`]).
    schema: SchemaRef,
    /// Element field of the output list columns.
    element: FieldRef,
    /// Tokens of the current partial row (fewer than `seq_len`).
    values: Vec<i32>,
    /// Piece lengths of the current partial row.
    pieces: Vec<i32>,
    /// Totals so far.
    stats: PackStats,
}

/// Converts a count to an `i32` offset, failing when it does not fit.
fn offset(n: usize) -> Result<i32> {
    i32::try_from(n).map_err(|_| {
        Error::Internal(format!("packed batch too large: {n} values exceed the i32 offsets"))
    })
}

impl Packer {
    /// A packer of rows of `seq_len` tokens; the last partial row is dropped when `drop_last`,
    /// otherwise padded with `pad_id`. Output batches carry `schema` (see [`packed_schema`]).
    pub fn new(seq_len: usize, pad_id: i32, drop_last: bool, schema: SchemaRef) -> Packer {
        Packer {
            seq_len,
            pad_id,
            drop_last,
            schema,
            element: element_field(),
            values: Vec::new(),
            pieces: Vec::new(),
            stats: PackStats::default(),
        }
    }

    /// Adds the documents of `batch` (reads its `input_ids` column); returns the full rows
    /// completed so far as one RecordBatch with the packer's schema (None if no row completed).
    pub fn push(&mut self, batch: &RecordBatch) -> Result<Option<RecordBatch>> {
        let seq_len = self.seq_len;
        if seq_len == 0 || i32::try_from(seq_len).is_err() {
            return Err(Error::Invalid(format!(
                "packed layout: seq_len must be between 1 and {}, got {seq_len}",
                i32::MAX
            )));
        }
        let docs = batch
            .column_by_name(INPUT_IDS)
            .ok_or_else(|| Error::Internal(format!("packing: column `{INPUT_IDS}` missing")))?;
        let docs = docs.as_any().downcast_ref::<ListArray>().ok_or_else(|| {
            Error::Internal(format!(
                "packing: column `{INPUT_IDS}` is {}, expected list<int32>",
                docs.data_type()
            ))
        })?;
        let tokens = docs.values().as_any().downcast_ref::<Int32Array>().ok_or_else(|| {
            Error::Internal(format!(
                "packing: column `{INPUT_IDS}` is {}, expected list<int32>",
                docs.data_type()
            ))
        })?;
        let tokens = tokens.values();
        let doc_offsets = docs.value_offsets();
        let first = doc_offsets.first().map_or(0, |o| *o as usize);
        let last = doc_offsets.last().map_or(0, |o| *o as usize);

        // The partial row is the start of the output buffers; rows are completed in place.
        let mut values = std::mem::take(&mut self.values);
        let mut pieces = std::mem::take(&mut self.pieces);
        let total = values.len() + (last - first);
        offset(total)?;
        values.reserve(last - first);
        let mut piece_offsets: Vec<i32> = Vec::with_capacity(total / seq_len + 1);
        piece_offsets.push(0);
        let mut fill = values.len();
        let mut rows = 0usize;
        for (i, w) in doc_offsets.windows(2).enumerate() {
            if docs.is_null(i) || w[0] >= w[1] {
                continue;
            }
            let mut rest = &tokens[w[0] as usize..w[1] as usize];
            self.stats.documents += 1;
            let mut spans = 0u32;
            while !rest.is_empty() {
                let take = rest.len().min(seq_len - fill);
                values.extend_from_slice(&rest[..take]);
                // `take` <= seq_len, which fits in an i32 (checked above)
                pieces.push(take as i32);
                rest = &rest[take..];
                fill += take;
                spans += 1;
                if fill == seq_len {
                    piece_offsets.push(offset(pieces.len())?);
                    rows += 1;
                    fill = 0;
                }
            }
            if spans > 1 {
                self.stats.documents_split += 1;
            }
        }

        if rows == 0 {
            // nothing completed: the buffers are the partial row itself
            self.values = values;
            self.pieces = pieces;
            return Ok(None);
        }
        // Keep the tail (the new partial row); the completed rows become the output.
        let full = rows * seq_len;
        let full_pieces = piece_offsets.last().map_or(0, |o| *o as usize);
        let mut rest_values = Vec::with_capacity(seq_len);
        rest_values.extend_from_slice(&values[full..]);
        let rest_pieces = pieces[full_pieces..].to_vec();
        self.values = rest_values;
        self.pieces = rest_pieces;
        values.truncate(full);
        pieces.truncate(full_pieces);
        self.stats.rows += rows as u64;
        self.stats.real_tokens += full as u64;
        let id_offsets: Vec<i32> = (0..=rows).map(|r| (r * seq_len) as i32).collect();
        let batch =
            self.rows(values, id_offsets, pieces, piece_offsets, vec![seq_len as i32; rows])?;
        Ok(Some(batch))
    }

    /// Flushes the last partial row per `drop_last`; returns it (None if nothing left or
    /// dropped) and the stats.
    pub fn finish(mut self) -> Result<(Option<RecordBatch>, PackStats)> {
        let real = self.values.len();
        if real == 0 {
            return Ok((None, self.stats));
        }
        if self.drop_last {
            self.stats.tokens_dropped += real as u64;
            return Ok((None, self.stats));
        }
        let mut values = std::mem::take(&mut self.values);
        let pieces = std::mem::take(&mut self.pieces);
        values.resize(self.seq_len, self.pad_id);
        self.stats.rows += 1;
        self.stats.real_tokens += real as u64;
        self.stats.padding_tokens += (self.seq_len - real) as u64;
        let piece_offsets = vec![0, offset(pieces.len())?];
        let batch = self.rows(
            values,
            vec![0, offset(self.seq_len)?],
            pieces,
            piece_offsets,
            vec![offset(real)?],
        )?;
        Ok((Some(batch), self.stats))
    }

    /// Builds a batch of rows from flat buffers.
    fn rows(
        &self,
        values: Vec<i32>,
        value_offsets: Vec<i32>,
        pieces: Vec<i32>,
        piece_offsets: Vec<i32>,
        num_tokens: Vec<i32>,
    ) -> Result<RecordBatch> {
        let list = |v: Vec<i32>, o: Vec<i32>| -> Result<ArrayRef> {
            Ok(Arc::new(ListArray::try_new(
                Arc::clone(&self.element),
                OffsetBuffer::new(ScalarBuffer::from(o)),
                Arc::new(Int32Array::from(v)),
                None,
            )?))
        };
        Ok(RecordBatch::try_new(
            Arc::clone(&self.schema),
            vec![
                list(values, value_offsets)?,
                list(pieces, piece_offsets)?,
                Arc::new(Int32Array::from(num_tokens)),
            ],
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// End-of-document token of the test documents (no other token has this id).
    const EOS: i32 = 0;
    /// Padding token of the tests.
    const PAD: i32 = -1;

    /// A tiny deterministic LCG.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            self.0 >> 33
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Random documents with lengths in 0..3*seq_len; each nonempty one ends with EOS.
    fn random_docs(rng: &mut Lcg, n: usize, seq_len: usize) -> Vec<Vec<i32>> {
        (0..n)
            .map(|_| {
                let len = rng.below(3 * seq_len);
                let mut d: Vec<i32> = (0..len).map(|_| 1 + rng.below(50_000) as i32).collect();
                if let Some(l) = d.last_mut() {
                    *l = EOS;
                }
                d
            })
            .collect()
    }

    fn batch(docs: &[Vec<i32>]) -> RecordBatch {
        let ids = ListArray::new(
            element_field(),
            OffsetBuffer::from_lengths(docs.iter().map(Vec::len)),
            Arc::new(Int32Array::from(docs.concat())),
            None,
        );
        let schema =
            Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, false), input_ids_field()]));
        let names: Vec<String> = (0..docs.len()).map(|i| format!("d{i}")).collect();
        RecordBatch::try_new(
            schema,
            vec![Arc::new(arrow::array::StringArray::from(names)), Arc::new(ids)],
        )
        .unwrap()
    }

    fn packer(seq_len: usize, drop_last: bool) -> Packer {
        let meta = HashMap::from([("sluice".to_string(), "{}".to_string())]);
        Packer::new(seq_len, PAD, drop_last, packed_schema(meta))
    }

    /// One output row: input_ids, seq_lengths, num_tokens.
    type Row = (Vec<i32>, Vec<i32>, i32);

    fn rows_of(b: &RecordBatch) -> Vec<Row> {
        assert_eq!(b.schema().field(0).name(), INPUT_IDS);
        assert_eq!(b.schema().field(1).name(), SEQ_LENGTHS);
        assert_eq!(b.schema().field(2).name(), NUM_TOKENS);
        let ids = b.column(0).as_any().downcast_ref::<ListArray>().unwrap();
        let lens = b.column(1).as_any().downcast_ref::<ListArray>().unwrap();
        let num = b.column(2).as_any().downcast_ref::<Int32Array>().unwrap();
        let vals = |a: &ListArray, i: usize| {
            a.value(i).as_any().downcast_ref::<Int32Array>().unwrap().values().to_vec()
        };
        (0..b.num_rows()).map(|i| (vals(ids, i), vals(lens, i), num.value(i))).collect()
    }

    /// Packs `batches`; returns all rows in order and the stats.
    fn pack(p: Packer, batches: &[RecordBatch]) -> (Vec<Row>, PackStats) {
        let mut p = p;
        let mut rows = Vec::new();
        for b in batches {
            if let Some(out) = p.push(b).unwrap() {
                assert!(out.num_rows() > 0);
                rows.extend(rows_of(&out));
            }
        }
        let (last, stats) = p.finish().unwrap();
        if let Some(out) = last {
            assert_eq!(out.num_rows(), 1);
            rows.extend(rows_of(&out));
        }
        (rows, stats)
    }

    /// Splits `docs` into batches of random sizes (including empty batches).
    fn random_batches(rng: &mut Lcg, docs: &[Vec<i32>]) -> Vec<RecordBatch> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < docs.len() {
            let n = rng.below(5);
            let end = (i + n).min(docs.len());
            out.push(batch(&docs[i..end]));
            i = end;
        }
        out
    }

    #[test]
    fn random_documents_round_trip() {
        for seq_len in [1usize, 7, 64] {
            let mut rng = Lcg(seq_len as u64 * 7919 + 1);
            let docs = random_docs(&mut rng, 300, seq_len);
            let batches = random_batches(&mut rng, &docs);
            let (rows, stats) = pack(packer(seq_len, false), &batches);
            let all: Vec<i32> = docs.concat();
            let expected_rows = all.len().div_ceil(seq_len);
            assert_eq!(rows.len(), expected_rows, "seq_len {seq_len}");
            let mut stream = Vec::new();
            let mut rebuilt: Vec<Vec<i32>> = Vec::new();
            let mut open = false; // the last reconstructed document has not ended
            for (r, (ids, lens, num)) in rows.iter().enumerate() {
                assert_eq!(ids.len(), seq_len);
                let sum: i32 = lens.iter().sum();
                assert_eq!(sum, *num);
                assert!(lens.iter().all(|l| *l > 0));
                if r + 1 < rows.len() {
                    assert_eq!(*num as usize, seq_len, "full row {r}");
                } else {
                    assert!(ids[*num as usize..].iter().all(|t| *t == PAD));
                }
                let real = &ids[..*num as usize];
                stream.extend_from_slice(real);
                let mut at = 0;
                for l in lens {
                    let piece = &real[at..at + *l as usize];
                    at += *l as usize;
                    if open {
                        rebuilt.last_mut().unwrap().extend_from_slice(piece);
                    } else {
                        rebuilt.push(piece.to_vec());
                    }
                    // a piece ends its document exactly when it ends with EOS
                    open = piece.last() != Some(&EOS);
                }
            }
            assert!(!open);
            assert_eq!(stream, all);
            let nonempty: Vec<Vec<i32>> = docs.iter().filter(|d| !d.is_empty()).cloned().collect();
            assert_eq!(rebuilt, nonempty);
            assert_eq!(stats.rows, rows.len() as u64);
            assert_eq!(stats.documents, nonempty.len() as u64);
            assert_eq!(stats.real_tokens, all.len() as u64);
            assert_eq!(stats.real_tokens + stats.padding_tokens, (rows.len() * seq_len) as u64);
            assert_eq!(stats.tokens_dropped, 0);
        }
    }

    #[test]
    fn drop_last_or_pad() {
        let docs = vec![vec![1, 2, 3, EOS], vec![4, 5, EOS], vec![6, EOS]];
        let (kept, s) = pack(packer(4, false), &[batch(&docs)]);
        assert_eq!(
            kept,
            vec![
                (vec![1, 2, 3, EOS], vec![4], 4),
                (vec![4, 5, EOS, 6], vec![3, 1], 4),
                (vec![EOS, PAD, PAD, PAD], vec![1], 1),
            ]
        );
        assert_eq!((s.rows, s.real_tokens, s.padding_tokens, s.tokens_dropped), (3, 9, 3, 0));
        let (dropped, s) = pack(packer(4, true), &[batch(&docs)]);
        assert_eq!(dropped, kept[..2].to_vec());
        assert_eq!((s.rows, s.real_tokens, s.padding_tokens, s.tokens_dropped), (2, 8, 0, 1));
        // nothing left over: no last row either way
        for drop_last in [false, true] {
            let (rows, s) = pack(packer(3, drop_last), &[batch(&docs)]);
            assert_eq!(rows.len(), 3);
            assert_eq!((s.padding_tokens, s.tokens_dropped), (0, 0));
        }
        let (rows, s) = pack(packer(4, false), &[]);
        assert!(rows.is_empty());
        assert_eq!(s.rows, 0);
    }

    #[test]
    fn stats_on_a_hand_example() {
        // lengths 3, 6, 0, 2, 1, 5 with seq_len 4:
        // [3 1] [4] [1 2 1] [4] [1]: documents 1 and 5 are split, 2 (empty) contributes nothing
        let lens = [3usize, 6, 0, 2, 1, 5];
        let mut next = 1;
        let docs: Vec<Vec<i32>> = lens
            .iter()
            .map(|&n| {
                (0..n)
                    .map(|_| {
                        next += 1;
                        next
                    })
                    .collect()
            })
            .collect();
        let (rows, s) = pack(packer(4, false), &[batch(&docs)]);
        let pieces: Vec<Vec<i32>> = rows.iter().map(|r| r.1.clone()).collect();
        assert_eq!(pieces, vec![vec![3, 1], vec![4], vec![1, 2, 1], vec![4], vec![1]]);
        assert_eq!(s.documents, 5);
        assert_eq!(s.documents_split, 2);
        assert_eq!((s.rows, s.real_tokens, s.padding_tokens, s.tokens_dropped), (5, 17, 3, 0));
        let (_, s) = pack(packer(4, true), &[batch(&docs)]);
        assert_eq!(s.documents_split, 2);
        assert_eq!((s.rows, s.real_tokens, s.padding_tokens, s.tokens_dropped), (4, 16, 0, 1));
        // a document filling exactly one row is not split
        let (_, s) = pack(packer(4, false), &[batch(&[vec![1, 2, 3, 4], vec![5, 6, 7, 8]])]);
        assert_eq!((s.documents, s.documents_split, s.rows), (2, 0, 2));
    }

    #[test]
    fn batch_splits_give_identical_rows() {
        for seq_len in [1usize, 7, 64] {
            let mut rng = Lcg(seq_len as u64 + 42);
            let docs = random_docs(&mut rng, 200, seq_len);
            for drop_last in [false, true] {
                let one = pack(packer(seq_len, drop_last), &[batch(&docs)]);
                let per_doc: Vec<RecordBatch> =
                    docs.iter().map(|d| batch(std::slice::from_ref(d))).collect();
                let many = pack(packer(seq_len, drop_last), &per_doc);
                let random = pack(packer(seq_len, drop_last), &random_batches(&mut rng, &docs));
                // sliced batches: list offsets that do not start at zero
                let whole = batch(&docs);
                let sliced: Vec<RecordBatch> = (0..docs.len())
                    .step_by(3)
                    .map(|i| whole.slice(i, 3.min(docs.len() - i)))
                    .collect();
                let sliced = pack(packer(seq_len, drop_last), &sliced);
                for other in [&many, &random, &sliced] {
                    assert_eq!(one.0, other.0);
                    assert_eq!(serde_json::to_string(&one.1).unwrap(), {
                        serde_json::to_string(&other.1).unwrap()
                    });
                }
            }
        }
    }

    #[test]
    fn output_schema_and_metadata() {
        let (mut rows, mut last) = (None, None);
        let mut p = packer(2, false);
        if let Some(b) = p.push(&batch(&[vec![1, 2, 3]])).unwrap() {
            rows = Some(b);
        }
        if let (Some(b), _) = p.finish().unwrap() {
            last = Some(b);
        }
        for b in [rows.unwrap(), last.unwrap()] {
            assert_eq!(b.schema().metadata().get("sluice").map(String::as_str), Some("{}"));
            assert_eq!(b.schema().field(0), &input_ids_field());
            assert!(!b.schema().field(1).is_nullable());
            assert_eq!(b.schema().field(2).data_type(), &DataType::Int32);
        }
    }

    #[test]
    fn missing_or_mistyped_column_is_internal() {
        let mut p = packer(4, false);
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int32, false)]));
        let b = RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(vec![1]))]).unwrap();
        assert!(matches!(p.push(&b), Err(Error::Internal(_))));
        let schema = Arc::new(Schema::new(vec![Field::new(INPUT_IDS, DataType::Int32, false)]));
        let b = RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(vec![1]))]).unwrap();
        assert!(matches!(p.push(&b), Err(Error::Internal(_))));
        let mut zero = packer(0, false);
        assert!(matches!(zero.push(&batch(&[vec![1]])), Err(Error::Invalid(_))));
    }
}
