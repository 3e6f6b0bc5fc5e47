//! Units of work: every input file cut, in order, into units (a chunk of JSONL lines, a
//! Parquet row group, or a file that failed as a whole), and a unit read into a record batch.
//! The executor only sees [`Unit`]s and [`ReadOutput`]s, never a file format; cutting runs on
//! one producer thread (decompression is sequential), reading on the workers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::datatypes::SchemaRef;

use super::slices::{self, Range, Slice};
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
    /// The slice it belongs to.
    pub slice: usize,
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
        policy: None,
    })
}

/// What the producer hands the executor: units, and after each slice's units, its end.
pub enum Piece {
    /// A unit to read.
    Unit(Unit),
    /// Every unit of this slice was handed out.
    SliceEnd(usize),
}

/// Cuts the parts of `slices` into units, in order, handing each to `send` and a
/// [`Piece::SliceEnd`] after each slice; stops early when `send` returns false.
pub fn cut(
    sources: &[PlannedSource],
    slices: &[Slice],
    opts: CutOptions,
    mut send: impl FnMut(Piece) -> bool,
) {
    // where the last byte range of a file ended (position, next line number), so the next
    // range of the same file goes on from there instead of counting lines from the start
    let mut carry: Option<Carry> = None;
    for slice in slices {
        for part in &slice.parts {
            let file = &sources[part.source].files[part.file];
            let from = carry.take().filter(|c| c.file == (part.source, part.file));
            let Some(next) = cut_part(slice.index, file, part, from, opts, &mut send) else {
                return;
            };
            carry = next;
        }
        if !send(Piece::SliceEnd(slice.index)) {
            return;
        }
    }
}

/// Where a byte range of a file ended.
struct Carry {
    file: (usize, usize),
    pos: u64,
    line: u64,
}

/// Cuts one part; returns None when `send` said stop, else where a byte range ended.
fn cut_part(
    slice: usize,
    file: &Arc<InputFile>,
    part: &slices::Part,
    from: Option<Carry>,
    opts: CutOptions,
    send: &mut impl FnMut(Piece) -> bool,
) -> Option<Option<Carry>> {
    let (range, part_bytes) = (&part.range, part.bytes);
    let ok = |b: bool| b.then_some(None);
    let mut send = |kind: UnitKind, input_bytes: u64| -> bool {
        send(Piece::Unit(Unit { slice, file: Arc::clone(file), kind, input_bytes }))
    };
    match file.format {
        SourceFormat::Jsonl => {
            let count = Arc::new(AtomicU64::new(0));
            let mut origin = 0;
            let opened = match range {
                Range::Bytes { start, end } => {
                    let opened = match &from {
                        Some(c) if c.pos >= *start => {
                            origin = c.pos;
                            let r =
                                slices::LineRange::open_at(file, c.pos, *end, Arc::clone(&count));
                            r.map(|r| (r, c.line))
                        }
                        _ => {
                            origin = *start;
                            slices::LineRange::open(file, *start, *end, Arc::clone(&count))
                        }
                    };
                    opened.map(|(r, l)| {
                        let r: Box<dyn std::io::BufRead + Send> =
                            Box::new(std::io::BufReader::with_capacity(1 << 20, r));
                        jsonl::Chunker::range(r, l, opts.chunk_bytes, opts.chunk_lines)
                    })
                }
                _ => jsonl::open(file, Arc::clone(&count))
                    .map(|r| jsonl::Chunker::new(r, opts.chunk_bytes, opts.chunk_lines)),
            };
            let mut chunker = match opened {
                Ok(c) => c,
                Err(e) => {
                    let k = failure(file, "unreadable_file", None, format!("cannot open: {e}"));
                    return ok(send(k, part_bytes));
                }
            };
            let mut last = 0;
            let mut failed = false;
            for c in chunker.by_ref() {
                let now = count.load(Ordering::Relaxed).min(part_bytes);
                let bytes = now.saturating_sub(last);
                last = now;
                let kind = match c {
                    jsonl::Cut::Chunk(c) => UnitKind::Lines(c),
                    jsonl::Cut::Failed { line, message } => {
                        failed = true;
                        failure(file, "truncated_file", Some(line), message)
                    }
                    jsonl::Cut::Empty => {
                        failure(file, "empty_file", None, "the file holds no records".into())
                    }
                };
                if !send(kind, bytes) {
                    return None;
                }
            }
            // Compressed bytes read after the last chunk (trailers, buffering) still count
            // towards the progress bar: an empty unit carries them.
            let rest = part_bytes.saturating_sub(last);
            let empty = jsonl::Chunk { data: Vec::new(), first_line: 0 };
            if rest > 0 && !send(UnitKind::Lines(empty), rest) {
                return None;
            }
            let carry = (matches!(range, Range::Bytes { .. }) && !failed).then(|| Carry {
                file: (part.source, part.file),
                pos: origin + count.load(Ordering::Relaxed),
                line: chunker.next_line(),
            });
            Some(carry)
        }
        SourceFormat::Parquet => match parquet::row_groups(file) {
            Ok(groups) if groups.is_empty() || groups.iter().all(|&n| n == 0) => {
                let k = failure(file, "empty_file", None, "the Parquet file holds no rows".into());
                ok(send(k, part_bytes))
            }
            Ok(groups) => {
                let (start, end) = match range {
                    Range::RowGroups { start, end } => (*start, (*end).min(groups.len())),
                    _ => (0, groups.len()),
                };
                let mut first_row: u64 = groups[..start].iter().sum();
                let per = part_bytes / (end - start).max(1) as u64;
                for (index, rows) in groups.iter().enumerate().take(end).skip(start) {
                    let kind = UnitKind::RowGroup { index, first_row, rows: *rows };
                    if !send(kind, per) {
                        return None;
                    }
                    first_row += rows;
                }
                Some(None)
            }
            Err(e) => ok(send(failure(file, "corrupt_file", None, e.to_string()), part_bytes)),
        },
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
