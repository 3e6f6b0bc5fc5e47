//! The reduce step's document counts per unit hash, within a memory budget. Slices are added
//! in input order; each entry is `(hash, documents, first document's ordinal)`. When the map
//! outgrows the budget it is written, sorted by hash, as a run to the scratch directory;
//! [`UnitCounts::finish`] merges the runs, summing the counts and keeping the smallest first
//! ordinal.

use std::io::Write;
use std::path::Path;

use crate::error::Result;
use crate::stage::exact_dedup::HashKeyed;
use crate::stage::spill::Runs;

/// One unit: documents that hold it and the ordinal of the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

    fn decode(b: &[u8]) -> Entry {
        Entry {
            hash: u128::from_le_bytes(b[..16].try_into().expect("16")),
            documents: u64::from_le_bytes(b[16..24].try_into().expect("8")),
            first: u64::from_le_bytes(b[24..32].try_into().expect("8")),
        }
    }
}

/// Counts of every unit seen, in memory up to a budget and in sorted runs beyond it.
pub struct UnitCounts {
    map: HashKeyed<(u64, u64)>,
    budget: u64,
    runs: Runs,
    /// The most bytes the map held.
    pub peak_bytes: u64,
}

impl UnitCounts {
    pub fn new(budget: u64) -> Self {
        UnitCounts {
            map: HashKeyed::default(),
            budget,
            runs: Runs::new("units-run", RECORD),
            peak_bytes: 0,
        }
    }

    pub fn set_dir(&mut self, dir: &Path) {
        self.runs.set_dir(dir);
    }

    /// Runs written so far.
    pub fn runs(&self) -> usize {
        self.runs.count
    }

    /// Bytes written to runs.
    pub fn bytes_spilled(&self) -> u64 {
        self.runs.bytes
    }

    pub fn held_bytes(&self) -> u64 {
        self.map.capacity() as u64 * ENTRY_BYTES
    }

    /// Adds a unit that `documents` documents hold, the first at ordinal `first`.
    pub fn add(&mut self, hash: u128, documents: u64, first: u64) -> Result<()> {
        // a new key in a full table would double it: spill first if the double is over budget
        let full = self.map.len() >= self.map.capacity();
        if full && (self.map.capacity() as u64 * 2 + 1) * ENTRY_BYTES > self.budget {
            if let Some(e) = self.map.get_mut(&hash) {
                e.0 += documents;
                e.1 = e.1.min(first);
                return Ok(());
            }
            self.spill()?;
        }
        let e = self.map.entry(hash).or_insert((0, first));
        e.0 += documents;
        e.1 = e.1.min(first);
        self.peak_bytes = self.peak_bytes.max(self.held_bytes());
        Ok(())
    }

    /// The map's entries, sorted by hash (the map is left empty).
    fn drain_sorted(&mut self) -> Vec<Entry> {
        let mut entries: Vec<Entry> = self
            .map
            .drain()
            .map(|(hash, (documents, first))| Entry { hash, documents, first })
            .collect();
        self.map = HashKeyed::default();
        entries.sort_unstable();
        entries
    }

    fn spill(&mut self) -> Result<()> {
        if self.map.is_empty() {
            return Ok(());
        }
        let entries = self.drain_sorted();
        self.runs.write(|w| entries.iter().try_for_each(|e| e.write(w)))
    }

    /// Every unit with its total count, sorted by hash, through `f` (runs removed once read);
    /// returns how many distinct units there were.
    pub fn finish(&mut self, mut f: impl FnMut(Entry)) -> Result<u64> {
        if self.runs.count == 0 {
            let entries = self.drain_sorted();
            let n = entries.len() as u64;
            entries.into_iter().for_each(f);
            return Ok(n);
        }
        self.spill()?;
        let (mut n, mut cur) = (0, None::<Entry>);
        self.runs.merge(Entry::decode, |e| {
            match &mut cur {
                Some(c) if c.hash == e.hash => {
                    c.documents += e.documents;
                    c.first = c.first.min(e.first);
                }
                _ => {
                    if let Some(c) = cur.replace(e) {
                        f(c);
                        n += 1;
                    }
                }
            }
            Ok(())
        })?;
        if let Some(c) = cur {
            f(c);
            n += 1;
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
