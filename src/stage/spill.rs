//! What the counted dedup stages (`minhash_dedup`, `line_dedup`) share to keep their reduce
//! steps within a memory budget and to save their state: sorted runs of fixed-size records
//! in the scratch directory ([`Runs`]), a k-way merge of them ([`merge`]), and the byte codec
//! of their slice deltas and plans.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Sorted runs of `record`-byte records in a scratch directory, named `<stem>-<run>.bin`.
pub struct Runs {
    dir: Option<PathBuf>,
    stem: String,
    record: usize,
    /// Runs written.
    pub count: usize,
    /// Bytes written.
    pub bytes: u64,
}

impl Runs {
    pub fn new(stem: impl Into<String>, record: usize) -> Self {
        Runs { dir: None, stem: stem.into(), record, count: 0, bytes: 0 }
    }

    /// Where the runs go ([`crate::stage::Decider::use_scratch`]).
    pub fn set_dir(&mut self, dir: &Path) {
        self.dir = Some(dir.to_path_buf());
    }

    fn path(&self, run: usize) -> Result<PathBuf> {
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| Error::Internal(format!("{}: no scratch directory", self.stem)))?;
        Ok(dir.join(format!("{}-{run:05}.bin", self.stem)))
    }

    /// Writes one run: `write` puts the records, already sorted, into the writer.
    pub fn write(
        &mut self,
        write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
    ) -> Result<()> {
        let path = self.path(self.count)?;
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        write(&mut w).and_then(|()| w.flush()).map_err(|e| Error::io(&path, e))?;
        self.bytes += std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?.len();
        self.count += 1;
        Ok(())
    }

    /// Merges every run in record order (equal records: the earlier run first), decoding each
    /// record with `decode`; the run files are removed once read.
    pub fn merge<T: Ord>(
        &mut self,
        decode: impl Fn(&[u8]) -> T,
        visit: impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        let mut readers = Vec::with_capacity(self.count);
        for run in 0..self.count {
            let path = self.path(run)?;
            let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
            readers.push((BufReader::with_capacity(1 << 16, file), path));
        }
        let record = self.record;
        let mut buf = vec![0u8; record];
        let mut next = |run: usize| -> Result<Option<T>> {
            let (r, path) = &mut readers[run];
            match r.read_exact(&mut buf) {
                Ok(()) => Ok(Some(decode(&buf))),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
                Err(e) => Err(Error::io(&*path, e)),
            }
        };
        merge(self.count, &mut next, visit)?;
        for run in 0..self.count {
            let path = self.path(run)?;
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
        self.count = 0;
        Ok(())
    }
}

/// k-way merge of `n` sorted sources (`next(source)` gives its next record): `visit` sees every
/// record in ascending order, equal records in source order.
pub fn merge<T: Ord>(
    n: usize,
    next: &mut impl FnMut(usize) -> Result<Option<T>>,
    mut visit: impl FnMut(T) -> Result<()>,
) -> Result<()> {
    let mut heap = BinaryHeap::with_capacity(n);
    for s in 0..n {
        if let Some(t) = next(s)? {
            heap.push(Reverse((t, s)));
        }
    }
    while let Some(Reverse((t, s))) = heap.pop() {
        visit(t)?;
        if let Some(t) = next(s)? {
            heap.push(Reverse((t, s)));
        }
    }
    Ok(())
}

/// Appends a length-prefixed string (u32 little-endian length, then the bytes).
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

pub fn read_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// Reads what [`push_str`] wrote.
pub fn read_str(r: &mut impl Read) -> std::io::Result<String> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    let mut s = vec![0u8; u32::from_le_bytes(b) as usize];
    r.read_exact(&mut s)?;
    String::from_utf8(s).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// The write pass's per-slice delta of a dedup stage: the slice's row count, so that a task
/// starting mid-input knows the ordinal of its first row.
pub fn row_count(delta: &[u8], stage: &str) -> Result<u64> {
    let rows: [u8; 8] = delta
        .try_into()
        .map_err(|_| Error::Internal(format!("{stage}: a saved row count is damaged")))?;
    Ok(u64::from_le_bytes(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_gives_every_record_in_order_ties_in_source_order() {
        let sources =
            [vec![(1, 'a'), (4, 'a'), (4, 'b')], vec![(0, 'c'), (4, 'c'), (9, 'c')], vec![]];
        let mut at = [0usize; 3];
        let mut next = |s: usize| -> Result<Option<(u32, char)>> {
            at[s] += 1;
            Ok(sources[s].get(at[s] - 1).copied())
        };
        let mut got = Vec::new();
        merge(3, &mut next, |t| {
            got.push(t);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, [(0, 'c'), (1, 'a'), (4, 'a'), (4, 'b'), (4, 'c'), (9, 'c')]);
    }
}
