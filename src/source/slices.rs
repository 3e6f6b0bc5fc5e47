//! Slices: the plan's deterministic cut of the input into pieces of about `slice_bytes` input
//! bytes, in input order. A slice is whole small files, a range of a Parquet file's row groups,
//! or a byte range of a plain JSONL file (lines are assigned by where they start); a compressed
//! JSONL file cannot be entered in the middle, so it is never split. Slices depend only on the
//! files and `output.slice_bytes`, never on the task count: a task runs a contiguous range of
//! slices, every slice writes its own shards, and the result is the same for any task split.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::{Compression, InputFile, PlannedSource, parquet};
use crate::config::SourceFormat;
use crate::error::{Error, Result};

/// The part of one file a slice reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Range {
    /// The whole file.
    Whole,
    /// Parquet row groups `[start, end)`.
    RowGroups {
        /// First row group.
        start: usize,
        /// One past the last.
        end: usize,
    },
    /// Plain JSONL: the lines that start at a byte offset in `[start, end)`.
    Bytes {
        /// First byte.
        start: u64,
        /// One past the last.
        end: u64,
    },
}

/// One file's part in a slice.
#[derive(Debug, Clone, Serialize)]
pub struct Part {
    /// Index of the source.
    pub source: usize,
    /// Index of the file in its source.
    pub file: usize,
    /// What of the file.
    pub range: Range,
    /// Input bytes the part accounts for.
    pub bytes: u64,
}

/// A slice: consecutive parts, about `slice_bytes` of input.
#[derive(Debug, Clone, Serialize)]
pub struct Slice {
    /// Position in the input.
    pub index: usize,
    /// Its parts, in input order.
    pub parts: Vec<Part>,
}

impl Slice {
    /// Input bytes of the slice.
    pub fn bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.bytes).sum()
    }
}

/// Cuts the input into slices of about `slice_bytes`.
pub fn plan(sources: &[PlannedSource], slice_bytes: u64) -> Result<Vec<Slice>> {
    let target = slice_bytes.max(1);
    let mut slices: Vec<Slice> = Vec::new();
    let mut current: Vec<Part> = Vec::new();
    let mut current_bytes = 0u64;
    let close = |current: &mut Vec<Part>, current_bytes: &mut u64, slices: &mut Vec<Slice>| {
        if !current.is_empty() {
            slices.push(Slice { index: slices.len(), parts: std::mem::take(current) });
            *current_bytes = 0;
        }
    };
    for (si, s) in sources.iter().enumerate() {
        for (fi, f) in s.files.iter().enumerate() {
            let pieces = file_pieces(f, target)?;
            for (range, bytes) in pieces {
                let whole = range == Range::Whole;
                if !whole {
                    // a piece of a large file is a slice of its own
                    close(&mut current, &mut current_bytes, &mut slices);
                    current.push(Part { source: si, file: fi, range, bytes });
                    close(&mut current, &mut current_bytes, &mut slices);
                    continue;
                }
                if current_bytes > 0 && current_bytes + bytes > target {
                    close(&mut current, &mut current_bytes, &mut slices);
                }
                current.push(Part { source: si, file: fi, range, bytes });
                current_bytes += bytes;
                if current_bytes >= target {
                    close(&mut current, &mut current_bytes, &mut slices);
                }
            }
        }
    }
    close(&mut current, &mut current_bytes, &mut slices);
    Ok(slices)
}

/// A file cut into pieces of about `target` bytes (one `Whole` piece when it is small or
/// cannot be split).
fn file_pieces(f: &InputFile, target: u64) -> Result<Vec<(Range, u64)>> {
    if f.bytes <= target {
        return Ok(vec![(Range::Whole, f.bytes)]);
    }
    match (f.format, f.compression) {
        (SourceFormat::Parquet, _) => {
            let Ok(groups) = parquet::row_group_bytes(f) else {
                // unreadable: one piece, whose reading reports the error
                return Ok(vec![(Range::Whole, f.bytes)]);
            };
            if groups.len() <= 1 {
                return Ok(vec![(Range::Whole, f.bytes)]);
            }
            let mut out = Vec::new();
            let (mut start, mut acc) = (0, 0u64);
            for (i, b) in groups.iter().enumerate() {
                acc += b;
                if acc >= target || i + 1 == groups.len() {
                    out.push((Range::RowGroups { start, end: i + 1 }, acc));
                    start = i + 1;
                    acc = 0;
                }
            }
            Ok(out)
        }
        (SourceFormat::Jsonl, Compression::None) => {
            let n = f.bytes.div_ceil(target);
            Ok((0..n)
                .map(|k| {
                    let start = k * target;
                    let end = ((k + 1) * target).min(f.bytes);
                    (Range::Bytes { start, end }, end - start)
                })
                .collect())
        }
        (SourceFormat::Jsonl, _) => Ok(vec![(Range::Whole, f.bytes)]),
    }
}

/// Reads the lines of a plain JSONL file that start in `[start, end)`: seeks to `start`,
/// skips the line in progress there (it belongs to the range before), and stops after the line
/// in progress at `end`.
pub struct LineRange {
    inner: BufReader<File>,
    pos: u64,
    end: u64,
    done: bool,
    last: u8,
    count: Arc<AtomicU64>,
}

impl LineRange {
    /// Opens `file` at `start`; returns the reader and the 1-based number of its first line.
    pub fn open(
        file: &InputFile,
        start: u64,
        end: u64,
        count: Arc<AtomicU64>,
    ) -> Result<(Self, u64)> {
        let io = |e| Error::io(&file.path, e);
        let mut f = File::open(&file.path).map_err(io)?;
        // line numbers stay true: count the lines before the range
        let mut first_line = 1;
        let mut pos = 0;
        if start > 0 {
            let mut r = BufReader::with_capacity(1 << 20, &mut f);
            let mut left = start - 1;
            while left > 0 {
                let buf = r.fill_buf().map_err(io)?;
                if buf.is_empty() {
                    break;
                }
                let take = buf.len().min(left as usize);
                first_line += memchr::memchr_iter(b'\n', &buf[..take]).count() as u64;
                r.consume(take);
                left -= take as u64;
            }
            // the byte before `start`: a line starts at `start` only after a newline
            let mut last = [0u8];
            r.read_exact(&mut last).map_err(io)?;
            pos = start;
            drop(r);
            f.seek(SeekFrom::Start(start)).map_err(io)?;
            let mut inner = BufReader::with_capacity(1 << 20, f);
            if last[0] == b'\n' {
                first_line += 1;
            } else {
                let mut skipped = Vec::new();
                pos += inner.read_until(b'\n', &mut skipped).map_err(io)? as u64;
                first_line += 1;
            }
            count.fetch_add(pos - start, Ordering::Relaxed);
            let done = pos >= end;
            return Ok((LineRange { inner, pos, end, done, last: b'\n', count }, first_line));
        }
        let inner = BufReader::with_capacity(1 << 20, f);
        Ok((LineRange { inner, pos, end, done: end == 0, last: b'\n', count }, first_line))
    }
}

impl LineRange {
    /// Opens `file` at `pos`, where the range before it in the same process stopped (a line
    /// start; the caller knows its number), so no line is counted twice.
    pub fn open_at(file: &InputFile, pos: u64, end: u64, count: Arc<AtomicU64>) -> Result<Self> {
        let io = |e| Error::io(&file.path, e);
        let mut f = File::open(&file.path).map_err(io)?;
        f.seek(SeekFrom::Start(pos)).map_err(io)?;
        let inner = BufReader::with_capacity(1 << 20, f);
        Ok(LineRange { inner, pos, end, done: pos >= end, last: b'\n', count })
    }
}

impl Read for LineRange {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done || buf.is_empty() || (self.pos >= self.end && self.last == b'\n') {
            return Ok(0);
        }
        let avail = self.inner.fill_buf()?;
        if avail.is_empty() {
            self.done = true;
            return Ok(0);
        }
        let mut n = avail.len().min(buf.len());
        if self.pos >= self.end {
            // finish the line that started before `end`
            if let Some(i) = memchr::memchr(b'\n', &avail[..n]) {
                n = i + 1;
                self.done = true;
            }
        } else if self.pos + n as u64 > self.end {
            // up to `end`, then the rest of that line
            let to_end = (self.end - self.pos) as usize;
            if let Some(i) = memchr::memchr(b'\n', &avail[to_end.saturating_sub(1)..n]) {
                n = to_end.saturating_sub(1) + i + 1;
                self.done = self.pos + n as u64 >= self.end;
            }
        }
        buf[..n].copy_from_slice(&avail[..n]);
        self.last = avail[n - 1];
        self.inner.consume(n);
        self.pos += n as u64;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &std::path::Path, bytes: u64) -> InputFile {
        InputFile {
            path: path.to_path_buf(),
            source: 0,
            format: SourceFormat::Jsonl,
            compression: Compression::None,
            bytes,
        }
    }

    #[test]
    fn byte_ranges_cover_every_line_once_with_true_line_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        // lines of 1..40 bytes (newline included), and a last line without a newline
        let mut x: u64 = 7;
        let mut text = Vec::new();
        for _ in 0..500 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            let len = 1 + (x >> 59) as usize * 2;
            text.extend(std::iter::repeat_n(b'x', len - 1));
            text.push(b'\n');
        }
        text.extend_from_slice(b"tail");
        std::fs::write(&path, &text).unwrap();
        let f = file(&path, text.len() as u64);
        for (target, carry) in
            [1u64, 2, 7, 40, 333, 5000, 100_000].into_iter().flat_map(|t| [(t, false), (t, true)])
        {
            let mut got = Vec::new();
            let mut line = 1;
            let mut pos = 0;
            for (range, _) in file_pieces(&f, target).unwrap() {
                let (start, end) = match range {
                    Range::Bytes { start, end } => (start, end),
                    Range::Whole => (0, f.bytes),
                    other => panic!("{other:?}"),
                };
                let count = Arc::new(AtomicU64::new(0));
                // with `carry`, a range goes on where the one before stopped, as `units::cut`
                // does within one process
                let (mut r, first, origin) = if carry && start > 0 {
                    (LineRange::open_at(&f, pos, end, Arc::clone(&count)).unwrap(), line, pos)
                } else {
                    let (r, l) = LineRange::open(&f, start, end, Arc::clone(&count)).unwrap();
                    (r, l, start)
                };
                let mut part = Vec::new();
                r.read_to_end(&mut part).unwrap();
                if !part.is_empty() {
                    assert_eq!(first, line, "target {target}, range {start}..{end}");
                }
                line += part.iter().filter(|&&b| b == b'\n').count() as u64;
                pos = origin + count.load(Ordering::Relaxed);
                got.extend(part);
            }
            assert_eq!(got, text, "target {target}");
        }
    }
}
