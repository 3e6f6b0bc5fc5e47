//! Units of work: every input file cut, in order, into units (a chunk of JSONL lines, a
//! Parquet row group, or a file that failed as a whole), and a unit read into a record batch.
//! The executor only sees [`Unit`]s and [`ReadOutput`]s, never a file format; cutting runs on
//! one producer thread (decompression is sequential), reading on the workers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::datatypes::SchemaRef;

use super::{BadRecord, InputFile, PlannedSource, ReadOutput, jsonl, parquet};
use crate::config::SourceFormat;
use crate::error::Result;

/// What a unit holds.
pub enum UnitKind {
    /// A chunk of whole JSONL lines.
    Lines(jsonl::Chunk),
    /// One Parquet row group.
    RowGroup {
        /// Row group index in the file.
        index: usize,
        /// Index of its first row in the file.
        first_row: u64,
        /// Rows in it.
        rows: u64,
    },
    /// A file (or its rest) that could not be read.
    Failed(BadRecord),
}

/// One unit of input, in the order the files are read.
pub struct Unit {
    /// Input file.
    pub file: Arc<InputFile>,
    /// What to read.
    pub kind: UnitKind,
    /// Bytes of the file this unit accounts for (progress).
    pub input_bytes: u64,
}

/// Cutting sizes for JSONL.
#[derive(Debug, Clone, Copy)]
pub struct CutOptions {
    /// Largest JSONL chunk in bytes.
    pub chunk_bytes: usize,
    /// Largest JSONL chunk in lines.
    pub chunk_lines: usize,
}

fn failure(file: &InputFile, kind: &'static str, line: Option<u64>, message: String) -> UnitKind {
    UnitKind::Failed(BadRecord {
        kind,
        file: file.display(),
        line,
        message,
        record: None,
        records: 1,
    })
}

/// Cuts the files of `sources` into units, in order, handing each to `send`; stops early when
/// `send` returns false.
pub fn cut(sources: &[PlannedSource], opts: CutOptions, mut send: impl FnMut(Unit) -> bool) {
    let mut send = |file: &Arc<InputFile>, kind: UnitKind, input_bytes: u64| -> bool {
        send(Unit { file: Arc::clone(file), kind, input_bytes })
    };
    for s in sources {
        for file in &s.files {
            match file.format {
                SourceFormat::Jsonl => {
                    let count = Arc::new(AtomicU64::new(0));
                    let reader = match jsonl::open(file, Arc::clone(&count)) {
                        Ok(r) => r,
                        Err(e) => {
                            let k =
                                failure(file, "unreadable_file", None, format!("cannot open: {e}"));
                            if !send(file, k, file.bytes) {
                                return;
                            }
                            continue;
                        }
                    };
                    let mut last = 0;
                    for c in jsonl::Chunker::new(reader, opts.chunk_bytes, opts.chunk_lines) {
                        let now = count.load(Ordering::Relaxed).min(file.bytes);
                        let bytes = now - last;
                        last = now;
                        let kind = match c {
                            jsonl::Cut::Chunk(c) => UnitKind::Lines(c),
                            jsonl::Cut::Failed { line, message } => {
                                failure(file, "truncated_file", Some(line), message)
                            }
                            jsonl::Cut::Empty => failure(
                                file,
                                "empty_file",
                                None,
                                "the file holds no records".into(),
                            ),
                        };
                        if !send(file, kind, bytes) {
                            return;
                        }
                    }
                    // Compressed bytes read after the last chunk (trailers, buffering) still
                    // count towards the progress bar: an empty unit carries them.
                    let rest = file.bytes.saturating_sub(last);
                    let empty = jsonl::Chunk { data: Vec::new(), first_line: 0 };
                    if rest > 0 && !send(file, UnitKind::Lines(empty), rest) {
                        return;
                    }
                }
                SourceFormat::Parquet => match parquet::row_groups(file) {
                    Ok(groups) if groups.is_empty() || groups.iter().all(|&n| n == 0) => {
                        let k = failure(
                            file,
                            "empty_file",
                            None,
                            "the Parquet file holds no rows".into(),
                        );
                        if !send(file, k, file.bytes) {
                            return;
                        }
                    }
                    Ok(groups) => {
                        let mut first_row = 0;
                        let per = file.bytes / groups.len() as u64;
                        for (index, rows) in groups.iter().enumerate() {
                            let kind = UnitKind::RowGroup { index, first_row, rows: *rows };
                            if !send(file, kind, per) {
                                return;
                            }
                            first_row += rows;
                        }
                    }
                    Err(e) => {
                        let k = failure(file, "corrupt_file", None, e.to_string());
                        if !send(file, k, file.bytes) {
                            return;
                        }
                    }
                },
            }
        }
    }
}

/// Reads one unit into documents of `doc_schema` (bad records reported, not applied: see
/// [`super::apply_policy`]).
pub fn read(unit: Unit, sources: &[PlannedSource], doc_schema: &SchemaRef) -> Result<ReadOutput> {
    let source = &sources[unit.file.source];
    match unit.kind {
        UnitKind::Lines(chunk) => jsonl::parse_chunk(&chunk, &unit.file, source, doc_schema),
        UnitKind::RowGroup { index, first_row, rows } => {
            parquet::read_row_group(&unit.file, index, first_row, rows, source, doc_schema)
        }
        UnitKind::Failed(bad) => Ok(ReadOutput { bad: vec![bad], ..Default::default() }),
    }
}
