//! The reduce step's document counts per unit hash, within a memory budget. Slices are added
//! in input order; each entry is `(hash, documents, first document's ordinal)`. When the map
//! outgrows the budget it is written, sorted by hash, as a run to the scratch directory;
//! [`UnitCounts::finish`] merges the runs, summing the counts (the earliest run holds the
//! first ordinal), and keeps the units found in more than `max_documents` documents.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::stage::exact_dedup::HashKeyed;

/// One unit: documents that hold it and the ordinal of the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub hash: u128,
    pub documents: u64,
    pub first: u64,
}

const RECORD: usize = 32;
/// Bytes one map entry costs (key, value and the table's own share).
pub const ENTRY_BYTES: u64 = 56;

impl Entry {
    fn write(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(&self.hash.to_le_bytes())?;
        w.write_all(&self.documents.to_le_bytes())?;
        w.write_all(&self.first.to_le_bytes())
    }

    fn read(r: &mut impl Read) -> std::io::Result<Option<Entry>> {
        let mut b = [0u8; RECORD];
        match r.read_exact(&mut b) {
            Ok(()) => Ok(Some(Entry {
                hash: u128::from_le_bytes(b[..16].try_into().expect("16")),
                documents: u64::from_le_bytes(b[16..24].try_into().expect("8")),
                first: u64::from_le_bytes(b[24..].try_into().expect("8")),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Counts of every unit seen, in memory up to a budget and in sorted runs beyond it.
pub struct UnitCounts {
    map: HashKeyed<(u64, u64)>,
    budget: u64,
    dir: Option<PathBuf>,
    runs: usize,
    /// Bytes written to runs.
    pub bytes_spilled: u64,
    /// The most bytes the map held.
    pub peak_bytes: u64,
}

impl UnitCounts {
    pub fn new(budget: u64) -> Self {
        UnitCounts {
            map: HashKeyed::default(),
            budget,
            dir: None,
            runs: 0,
            bytes_spilled: 0,
            peak_bytes: 0,
        }
    }

    pub fn set_dir(&mut self, dir: &Path) {
        self.dir = Some(dir.to_path_buf());
    }

    pub fn runs(&self) -> usize {
        self.runs
    }

    pub fn held_bytes(&self) -> u64 {
        self.map.capacity() as u64 * ENTRY_BYTES
    }

    /// Adds a unit that `documents` documents hold, the first at ordinal `first`; units come
    /// in input order, so an entry's first ordinal is the one it was made with.
    pub fn add(&mut self, hash: u128, documents: u64, first: u64) -> Result<()> {
        // a new key in a full table would double it: spill first if the double is over budget
        let full = self.map.len() >= self.map.capacity();
        if full && (self.map.capacity() as u64 * 2 + 1) * ENTRY_BYTES > self.budget {
            if let Some(e) = self.map.get_mut(&hash) {
                e.0 += documents;
                return Ok(());
            }
            self.spill()?;
        }
        self.map.entry(hash).or_insert((0, first)).0 += documents;
        self.peak_bytes = self.peak_bytes.max(self.held_bytes());
        Ok(())
    }

    fn run_path(&self, run: usize) -> Result<PathBuf> {
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| Error::Internal("line_dedup: no scratch directory".into()))?;
        Ok(dir.join(format!("units-run-{run:05}.bin")))
    }

    fn spill(&mut self) -> Result<()> {
        if self.map.is_empty() {
            return Ok(());
        }
        let mut entries: Vec<Entry> = self
            .map
            .drain()
            .map(|(hash, (documents, first))| Entry { hash, documents, first })
            .collect();
        self.map = HashKeyed::default();
        entries.sort_unstable_by_key(|e| e.hash);
        let path = self.run_path(self.runs)?;
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        for e in &entries {
            e.write(&mut w).map_err(|err| Error::io(&path, err))?;
        }
        w.flush().map_err(|e| Error::io(&path, e))?;
        self.bytes_spilled += (entries.len() * RECORD) as u64;
        self.runs += 1;
        Ok(())
    }

    /// Every unit with its total count, sorted by hash, through `f` (runs removed once read);
    /// returns how many distinct units there were.
    pub fn finish(&mut self, mut f: impl FnMut(Entry)) -> Result<u64> {
        if self.runs == 0 {
            let mut entries: Vec<Entry> = self
                .map
                .drain()
                .map(|(hash, (documents, first))| Entry { hash, documents, first })
                .collect();
            entries.sort_unstable_by_key(|e| e.hash);
            let n = entries.len() as u64;
            entries.into_iter().for_each(f);
            return Ok(n);
        }
        self.spill()?;
        let mut readers = Vec::with_capacity(self.runs);
        let mut heap = BinaryHeap::new();
        for run in 0..self.runs {
            let path = self.run_path(run)?;
            let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
            let mut r = BufReader::with_capacity(1 << 16, file);
            if let Some(e) = Entry::read(&mut r).map_err(|err| Error::io(&path, err))? {
                heap.push(Reverse((e.hash, run, e.documents, e.first)));
            }
            readers.push((r, path));
        }
        let mut n = 0;
        let mut cur: Option<Entry> = None;
        while let Some(Reverse((hash, run, documents, first))) = heap.pop() {
            match &mut cur {
                // runs pop in run order for equal hashes: the first keeps its ordinal
                Some(c) if c.hash == hash => c.documents += documents,
                _ => {
                    if let Some(c) = cur.take() {
                        f(c);
                        n += 1;
                    }
                    cur = Some(Entry { hash, documents, first });
                }
            }
            let (r, path) = &mut readers[run];
            if let Some(e) = Entry::read(r).map_err(|err| Error::io(&*path, err))? {
                heap.push(Reverse((e.hash, run, e.documents, e.first)));
            }
        }
        if let Some(c) = cur {
            f(c);
            n += 1;
        }
        for (_, path) in readers {
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(c: &mut UnitCounts) -> Vec<Entry> {
        let mut v = Vec::new();
        c.finish(|e| v.push(e)).unwrap();
        v
    }

    #[test]
    fn spilled_runs_sum_to_the_in_memory_counts() {
        let dir = tempfile::tempdir().unwrap();
        let (mut big, mut small) = (UnitCounts::new(1 << 30), UnitCounts::new(ENTRY_BYTES * 7));
        small.set_dir(dir.path());
        let mut x = 7u64;
        for ord in 0..2000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let h = (x % 97) as u128 * 0x1_0000_0001;
            big.add(h, 1 + ord % 3, ord).unwrap();
            small.add(h, 1 + ord % 3, ord).unwrap();
        }
        assert!(small.runs() > 10);
        assert!(small.peak_bytes <= ENTRY_BYTES * 7, "{} bytes held", small.peak_bytes);
        let want = all(&mut big);
        assert_eq!(want.len(), 97);
        assert_eq!(all(&mut small), want);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "runs removed");
    }
}
